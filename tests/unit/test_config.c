/* test_config.c -- sessiongate.conf parsing, defaults, errors, small files.
 *
 * Errors are checked as whole strings, so a test pins the file name, the
 * line, the key and the reason at once. The last group parses the shipped
 * conf/sessiongate.conf (found through $SG_SRCDIR) with every key line
 * uncommented and requires exactly the table's keys, in its order, with
 * its defaults: the sample file and the code cannot drift apart.
 */
#include "config.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SG_SYSCONFDIR
#define SG_SYSCONFDIR "/etc"
#endif

static char errbuf[512];

static struct sg_config *parse_len(const char *text, size_t len)
{
    return sg_config_parse("t.conf", text, len, errbuf, sizeof(errbuf));
}

static struct sg_config *parse_ok(const char *text, const char *name)
{
    struct sg_config *cfg = parse_len(text, strlen(text));

    if (!TAP_OK(cfg != NULL, name))
        printf("#   %s\n", errbuf);
    return cfg;
}

static void expect_error_len(const char *text, size_t len, const char *want,
                             const char *name)
{
    struct sg_config *cfg = parse_len(text, len);

    TAP_IS_STR(cfg ? "(parsed)" : errbuf, want, name);
    sg_config_free(cfg);
}

static void expect_error(const char *text, const char *want, const char *name)
{
    expect_error_len(text, strlen(text), want, name);
}

static void test_defaults(void)
{
    struct sg_config *cfg = sg_config_new_default();

    if (!TAP_OK(cfg != NULL, "defaults: sg_config_new_default succeeds"))
        return;
    TAP_IS_INT(cfg->workers, -1, "defaults: workers unset (-1)");
    TAP_IS_INT(cfg->socket_mode, 0660, "defaults: socket_mode 0660");
    TAP_IS_INT(cfg->log_level, SG_LOG_INFO, "defaults: log_level info");
    TAP_IS_INT(cfg->max_body_bytes, 16384, "defaults: max_body_bytes 16k");
    TAP_IS_STR(cfg->trusted_proxies, NULL, "defaults: trusted_proxies unset");
    TAP_IS_STR(cfg->redis, "127.0.0.1:6379", "defaults: redis");
    TAP_IS_INT(cfg->redis_db, 0, "defaults: redis_db 0");
    TAP_IS_INT(cfg->redis_connect_timeout_ms, 1000,
               "defaults: redis_connect_timeout 1000 ms");
    TAP_IS_INT(cfg->redis_timeout_ms, 1000, "defaults: redis_timeout 1000 ms");
    TAP_IS_STR(cfg->key_prefix, "sg:", "defaults: key_prefix sg:");
    TAP_IS_INT(cfg->on_store_error, SG_FAIL_CLOSED,
               "defaults: on_store_error fail_closed");
    TAP_IS_STR(cfg->jwt_algorithm, "HS256", "defaults: jwt_algorithm HS256");
    TAP_IS_STR(cfg->jwt_secret_file, SG_SYSCONFDIR "/sessiongate/jwt.secret",
               "defaults: jwt_secret_file under SG_SYSCONFDIR");
    TAP_IS_STR(cfg->jwt_private_key_file, NULL, "defaults: no private key");
    TAP_IS_STR(cfg->jwt_kid, NULL, "defaults: no kid");
    TAP_IS_STR(cfg->jwt_issuer, "sessiongate", "defaults: jwt_issuer");
    TAP_IS_STR(cfg->jwt_audience, "sessiongate", "defaults: jwt_audience");
    TAP_IS_INT(cfg->access_token_ttl, 900, "defaults: access_token_ttl 15m");
    TAP_IS_INT(cfg->refresh_token_ttl, 30 * 86400,
               "defaults: refresh_token_ttl 30d");
    TAP_IS_INT(cfg->clock_skew, 30, "defaults: clock_skew 30s");
    TAP_IS_INT(cfg->session_idle_timeout, 86400,
               "defaults: session_idle_timeout 24h");
    TAP_IS_INT(cfg->session_lifetime, 30 * 86400,
               "defaults: session_lifetime 30d");
    TAP_IS_INT(cfg->max_sessions_per_user, 5, "defaults: 5 sessions per user");
    TAP_OK(cfg->registration_open, "defaults: registration open");
    TAP_IS_INT(cfg->password_min_length, 8, "defaults: password_min_length 8");
    TAP_IS_STR(cfg->path, NULL, "defaults: no path");
    sg_config_free(cfg);
}

/* OWASP Password Storage Cheat Sheet (2023): PBKDF2-HMAC-SHA256, 600000. */
static void test_owasp_iterations(void)
{
    struct sg_config *cfg = sg_config_new_default();

    TAP_IS_INT(cfg ? cfg->pbkdf2_iterations : 0, 600000,
               "defaults: pbkdf2_iterations is the OWASP 2023 figure 600000");
    sg_config_free(cfg);
}

static void test_empty_file_is_defaults(void)
{
    struct sg_config *def = sg_config_new_default();
    struct sg_config *cfg = parse_ok("", "empty file parses");
    char *a = def ? sg_config_dump(def) : NULL;
    char *b = cfg ? sg_config_dump(cfg) : NULL;

    TAP_IS_STR(b, a, "empty file gives the defaults");
    TAP_IS_STR(cfg ? cfg->path : "x", NULL, "sg_config_parse sets no path");
    free(a);
    free(b);
    sg_config_free(def);
    sg_config_free(cfg);
}

static const char every_key[] =
    "# a comment\n"
    "   # an indented comment\n"
    "\n"
    "  \t\n"
    "workers = 4\n"
    "socket_mode = 0666\n"
    "log_level = debug\n"
    "max_body_bytes = 64K\n"
    "trusted_proxies = 10.0.0.0/8, 192.168.0.0/16\n"
    "redis = unix:/run/redis/redis.sock\n"
    "redis_password_file = /etc/sg/redis.pw\n"
    "redis_db = 1000\n"
    "redis_connect_timeout = 250ms\n"
    "redis_timeout = 2s\n"
    "key_prefix = app1:\n"
    "on_store_error = verify_signature_only\n"
    "jwt_algorithm = ES256\n"
    "jwt_secret_file =\n"
    "jwt_private_key_file = /etc/sg/es256.pem\n"
    "jwt_kid = k2026\n"
    "jwt_public_keys = k2025=/etc/sg/old.pem\n"
    "jwt_issuer = https://auth.example/#not-a-comment\n"
    "\tjwt_audience\t=\tapi   \n"
    "access_token_ttl = 5m\n"
    "refresh_token_ttl = 7d\n"
    "clock_skew = 0\n"
    "session_idle_timeout = 3600\n"
    "session_lifetime = 12h\n"
    "max_sessions_per_user = 1000\n"
    "registration = closed\n"
    "password_min_length = 12\n"
    "pbkdf2_iterations=1000\n";

static void check_every_key(const struct sg_config *cfg)
{
    TAP_IS_INT(cfg->workers, 4, "int: workers = 4");
    TAP_IS_INT(cfg->socket_mode, 0666, "mode: socket_mode = 0666");
    TAP_IS_INT(cfg->log_level, SG_LOG_DEBUG, "enum: log_level = debug");
    TAP_IS_INT(cfg->max_body_bytes, 65536, "size: 64K is 65536");
    TAP_IS_STR(cfg->trusted_proxies, "10.0.0.0/8, 192.168.0.0/16",
               "string: inner blanks kept");
    TAP_IS_STR(cfg->redis, "unix:/run/redis/redis.sock", "string: redis unix");
    TAP_IS_STR(cfg->redis_password_file, "/etc/sg/redis.pw",
               "string: redis_password_file");
    TAP_IS_INT(cfg->redis_db, 1000, "int: redis_db at its maximum");
    TAP_IS_INT(cfg->redis_connect_timeout_ms, 250, "duration: 250ms in ms");
    TAP_IS_INT(cfg->redis_timeout_ms, 2000, "duration: 2s is 2000 ms");
    TAP_IS_STR(cfg->key_prefix, "app1:", "string: key_prefix");
    TAP_IS_INT(cfg->on_store_error, SG_VERIFY_SIGNATURE_ONLY,
               "enum: on_store_error");
    TAP_IS_STR(cfg->jwt_algorithm, "ES256", "enum string: jwt_algorithm");
    TAP_IS_STR(cfg->jwt_secret_file, NULL, "string: empty value unsets");
    TAP_IS_STR(cfg->jwt_private_key_file, "/etc/sg/es256.pem",
               "string: jwt_private_key_file");
    TAP_IS_STR(cfg->jwt_kid, "k2026", "string: jwt_kid");
    TAP_IS_STR(cfg->jwt_public_keys, "k2025=/etc/sg/old.pem",
               "string: '=' inside a value is kept");
    TAP_IS_STR(cfg->jwt_issuer, "https://auth.example/#not-a-comment",
               "string: '#' inside a value is kept");
    TAP_IS_STR(cfg->jwt_audience, "api", "tabs around key and value trimmed");
    TAP_IS_INT(cfg->access_token_ttl, 300, "duration: 5m is 300 s");
    TAP_IS_INT(cfg->refresh_token_ttl, 7 * 86400, "duration: 7d in s");
    TAP_IS_INT(cfg->clock_skew, 0, "duration: 0 allowed for clock_skew");
    TAP_IS_INT(cfg->session_idle_timeout, 3600, "duration: bare 3600 is s");
    TAP_IS_INT(cfg->session_lifetime, 12 * 3600, "duration: 12h in s");
    TAP_IS_INT(cfg->max_sessions_per_user, 1000, "int: max_sessions_per_user");
    TAP_OK(!cfg->registration_open, "bool: registration = closed");
    TAP_IS_INT(cfg->password_min_length, 12, "int: password_min_length");
    TAP_IS_INT(cfg->pbkdf2_iterations, 1000, "int: no blanks around '='");
}

static void test_every_key(void)
{
    struct sg_config *cfg = parse_ok(every_key, "every key set parses");

    if (cfg)
        check_every_key(cfg);
    sg_config_free(cfg);
}

/* Single values at the edges of each type. */
static void test_value_forms(void)
{
    static const struct {
        const char *text;
        size_t offset;
        size_t size; /* of the field: int or 64 bits */
        long long want;
        const char *name;
    } cases[] = {
#define F(field)   offsetof(struct sg_config, field), sizeof(int)
#define F64(field) offsetof(struct sg_config, field), sizeof(int64_t)
        {"workers = 0", F(workers), 0, "int: workers = 0"},
        {"workers = 256", F(workers), 256, "int: workers at its maximum"},
        {"workers =", F(workers), -1, "int: empty workers is unset"},
        {"socket_mode = 0", F(socket_mode), 0, "mode: 0"},
        {"socket_mode = 0777", F(socket_mode), 0777, "mode: 0777"},
        {"socket_mode = 660", F(socket_mode), 0660, "mode: 660 is octal"},
        {"max_body_bytes = 256", offsetof(struct sg_config, max_body_bytes),
         sizeof(size_t), 256, "size: bare bytes at the minimum"},
        {"max_body_bytes = 1m", offsetof(struct sg_config, max_body_bytes),
         sizeof(size_t), 1048576, "size: 1m at the maximum"},
        {"max_body_bytes = 1M", offsetof(struct sg_config, max_body_bytes),
         sizeof(size_t), 1048576, "size: 1M"},
        {"max_body_bytes = 2k", offsetof(struct sg_config, max_body_bytes),
         sizeof(size_t), 2048, "size: 2k"},
        {"redis_timeout = 10ms", F64(redis_timeout_ms), 10,
         "duration: 10ms at the minimum"},
        {"redis_timeout = 60s", F64(redis_timeout_ms), 60000,
         "duration: 60s at the maximum"},
        {"access_token_ttl = 1d", F64(access_token_ttl), 86400,
         "duration: 1d at the maximum"},
        {"session_idle_timeout = 2000ms", F64(session_idle_timeout), 2,
         "duration: whole seconds in ms"},
        {"refresh_token_ttl = 365d", F64(refresh_token_ttl), 365 * 86400,
         "duration: 365d at the maximum"},
        {"password_min_length = 1024", F(password_min_length), 1024,
         "int: password_min_length at its maximum"},
        {"pbkdf2_iterations = 10000000", F(pbkdf2_iterations), 10000000,
         "int: pbkdf2_iterations at its maximum"},
#undef F
#undef F64
    };
    size_t i;

    for (i = 0; i < SG_ARRAY_LEN(cases); i++) {
        struct sg_config *cfg = parse_ok(cases[i].text, cases[i].name);
        const char *field;
        long long got = 0;

        if (!cfg)
            continue;
        field = (const char *)cfg + cases[i].offset;
        if (cases[i].size == sizeof(int))
            got = *(const int *)field;
        else if (cases[i].size == sizeof(int64_t))
            got = *(const int64_t *)field;
        TAP_IS_INT(got, cases[i].want, cases[i].name);
        sg_config_free(cfg);
    }
}

static void test_strings_and_bools(void)
{
    static const char *const redis_ok[] = {
        "localhost:6379",     "10.0.0.5:1",           "[::1]:65535",
        "redis.example:6380", "unix:/run/redis.sock",
    };
    char text[128];
    struct sg_config *cfg;
    size_t i;

    for (i = 0; i < SG_ARRAY_LEN(redis_ok); i++) {
        snprintf(text, sizeof(text), "redis = %s", redis_ok[i]);
        cfg = parse_ok(text, "redis address accepted");
        TAP_IS_STR(cfg ? cfg->redis : NULL, redis_ok[i], text);
        sg_config_free(cfg);
    }
    cfg = parse_ok("registration = open\nlog_level = error\n"
                   "on_store_error = fail_closed\njwt_algorithm = HS256\n",
                   "enums at their other values parse");
    if (cfg) {
        TAP_OK(cfg->registration_open, "bool: registration = open");
        TAP_IS_INT(cfg->log_level, SG_LOG_ERROR, "enum: log_level = error");
    }
    sg_config_free(cfg);
    cfg = parse_ok("key_prefix = "
                   "0123456789012345678901234567890123456789012345678901234567"
                   "890123\n",
                   "key_prefix of 64 characters accepted");
    sg_config_free(cfg);    cfg = parse_ok("mount = /api/v1\n", "mount /api/v1");
    TAP_IS_STR(cfg ? cfg->mount : NULL, "/api/v1", "mount kept as written");
    sg_config_free(cfg);
    cfg = parse_ok("mount =\n", "empty mount: SCRIPT_NAME says");
    TAP_OK(cfg && !cfg->mount, "empty mount is unset");
    sg_config_free(cfg);
    {
        static const char *const bad[] = {
            "api",     "/api/",   "/",         "/api//v1", "/api/./v1",
            "/api/..", "/api%20", "/a;b",      "/a?b",     "/a b",
        };
        char line[64], want[64];
        for (size_t k = 0; k < SG_ARRAY_LEN(bad); k++) {
            snprintf(line, sizeof(line), "mount = %s\n", bad[k]);
            snprintf(want, sizeof(want), "refused: mount = %s", bad[k]);
            cfg = parse_len(line, strlen(line));
            TAP_OK(cfg == NULL && strstr(errbuf, "mount"), want);
            sg_config_free(cfg);
        }
    }
}

static void test_line_errors(void)
{
    expect_error("nosuch = 1\n", "t.conf:1: nosuch: unknown key",
                 "error: unknown key");
    expect_error("Workers = 1\n", "t.conf:1: Workers: unknown key",
                 "error: keys are case-sensitive");
    expect_error("log_level = info\n\nlog_level = debug\n",
                 "t.conf:3: log_level: repeated key (first set on line 1)",
                 "error: repeated key");
    expect_error("workers = 1\nworkers\n",
                 "t.conf:2: missing '=': expected \"key = value\"",
                 "error: missing '='");
    expect_error("  = 3\n", "t.conf:1: missing key before '='",
                 "error: missing key");
    expect_error("redis_password = hunter2\n",
                 "t.conf:1: redis_password: secrets are not accepted inline: "
                 "use redis_password_file",
                 "error: inline redis_password refused");
    TAP_OK(!strstr(errbuf, "hunter2"), "inline secret not echoed");
    expect_error("jwt_secret = 0123456789abcdef0123456789abcdef\n",
                 "t.conf:1: jwt_secret: secrets are not accepted inline: use "
                 "jwt_secret_file",
                 "error: inline jwt_secret refused");
    expect_error("redis =\n", "t.conf:1: redis: a value is required",
                 "error: empty redis");
    expect_error("key_prefix =   \n",
                 "t.conf:1: key_prefix: a value is required",
                 "error: blank key_prefix");
    expect_error("log_level =\n", "t.conf:1: log_level: a value is required",
                 "error: empty enum");
    expect_error("max_body_bytes =\n",
                 "t.conf:1: max_body_bytes: a value is required",
                 "error: empty size");
}

static void test_int_errors(void)
{
    static const struct {
        const char *text, *want, *name;
    } cases[] = {
        {"workers = x",
         "t.conf:1: workers: expected an integer from 0 to 256, got \"x\"",
         "error: int not a number"},
        {"workers = 257",
         "t.conf:1: workers: expected an integer from 0 to 256, got \"257\"",
         "error: int above its range"},
        {"workers = -1",
         "t.conf:1: workers: expected an integer from 0 to 256, got \"-1\"",
         "error: -1 is not a way to write unset"},
        {"workers = 4x",
         "t.conf:1: workers: expected an integer from 0 to 256, got \"4x\"",
         "error: int with trailing garbage"},
        {"workers = +4",
         "t.conf:1: workers: expected an integer from 0 to 256, got \"+4\"",
         "error: int with a sign"},
        {"redis_db = 99999999999999999999999",
         "t.conf:1: redis_db: expected an integer from 0 to 1000, got "
         "\"99999999999999999999999\"",
         "error: int overflow"},
        {"max_sessions_per_user = 0",
         "t.conf:1: max_sessions_per_user: expected an integer from 1 to "
         "1000, got \"0\"",
         "error: int below its range"},
        {"password_min_length = 7",
         "t.conf:1: password_min_length: expected an integer from 8 to 1024, "
         "got \"7\"",
         "error: password_min_length below 8"},
        {"pbkdf2_iterations = 999",
         "t.conf:1: pbkdf2_iterations: expected an integer from 1000 to "
         "10000000, got \"999\"",
         "error: pbkdf2_iterations below 1000"},
        {"socket_mode = 0888",
         "t.conf:1: socket_mode: expected an octal mode from 0 to 0777, got "
         "\"0888\"",
         "error: mode with a non-octal digit"},
        {"socket_mode = 01000",
         "t.conf:1: socket_mode: expected an octal mode from 0 to 0777, got "
         "\"01000\"",
         "error: mode above 0777"},
        {"socket_mode = 0x1b6",
         "t.conf:1: socket_mode: expected an octal mode from 0 to 0777, got "
         "\"0x1b6\"",
         "error: mode in hex"},
        {"socket_mode = -0660",
         "t.conf:1: socket_mode: expected an octal mode from 0 to 0777, got "
         "\"-0660\"",
         "error: negative mode"},
    };
    size_t i;

    for (i = 0; i < SG_ARRAY_LEN(cases); i++)
        expect_error(cases[i].text, cases[i].want, cases[i].name);
}

static void test_size_errors(void)
{
    static const char *const bad[] = {"16kb",
                                      "2m",
                                      "255",
                                      "1g",
                                      "-1",
                                      "k",
                                      "1 k",
                                      "99999999999999999999999k",
                                      "18014398509481984m"};
    char text[128], want[256];
    size_t i;

    for (i = 0; i < SG_ARRAY_LEN(bad); i++) {
        snprintf(text, sizeof(text), "max_body_bytes = %s\n", bad[i]);
        snprintf(want, sizeof(want),
                 "t.conf:1: max_body_bytes: expected a size from 256 to 1m "
                 "(k = KiB, m = MiB), got \"%s\"",
                 bad[i]);
        expect_error(text, want, "error: bad size refused");
    }
}

static void test_duration_errors(void)
{
    static const char *const bad[] = {
        "10s",           "2d",    "15 m", "15M",  "-5m",
        "1.5h",          "15min", "m",    "15mm", "99999999999999999999d",
        "106751991168d",
    };
    char text[128], want[256];
    size_t i;

    for (i = 0; i < SG_ARRAY_LEN(bad); i++) {
        snprintf(text, sizeof(text), "access_token_ttl = %s\n", bad[i]);
        snprintf(want, sizeof(want),
                 "t.conf:1: access_token_ttl: expected a duration from 30s to "
                 "1d, got \"%s\"",
                 bad[i]);
        expect_error(text, want, "error: bad duration refused");
    }
    expect_error("redis_timeout = 5ms",
                 "t.conf:1: redis_timeout: expected a duration from 10ms to "
                 "1m, got \"5ms\"",
                 "error: millisecond duration below its range");
    expect_error("clock_skew = 1500ms",
                 "t.conf:1: clock_skew: expected a whole number of seconds, "
                 "got \"1500ms\"",
                 "error: fraction of a second for a key kept in seconds");
}

static void test_word_errors(void)
{
    expect_error("log_level = verbose",
                 "t.conf:1: log_level: expected one of error|warn|info|debug, "
                 "got \"verbose\"",
                 "error: bad enum");
    expect_error("log_level = INFO",
                 "t.conf:1: log_level: expected one of error|warn|info|debug, "
                 "got \"INFO\"",
                 "error: enums are case-sensitive");
    expect_error("jwt_algorithm = none",
                 "t.conf:1: jwt_algorithm: expected one of HS256|RS256|ES256, "
                 "got \"none\"",
                 "error: jwt_algorithm none refused");
    expect_error("jwt_algorithm = HS512",
                 "t.conf:1: jwt_algorithm: expected one of HS256|RS256|ES256, "
                 "got \"HS512\"",
                 "error: unsupported jwt_algorithm");
    expect_error("on_store_error = fail_open",
                 "t.conf:1: on_store_error: expected one of "
                 "fail_closed|verify_signature_only, got \"fail_open\"",
                 "error: bad on_store_error");
    expect_error("registration = yes",
                 "t.conf:1: registration: expected one of open|closed, got "
                 "\"yes\"",
                 "error: bool key takes only its own words");
}

static void test_redis_errors(void)
{
    static const char *const bad[] = {
        "localhost",       "localhost:",      "localhost:0", "localhost:65536",
        "localhost:6379x", ":6379",           "[::1:6379",   "[]:6379",
        "[::1]6379",       "unix:redis.sock", "unix:",       "redis host:6379",
        "a]:6379",
    };
    char text[512], want[256];
    size_t i;

    for (i = 0; i < SG_ARRAY_LEN(bad); i++) {
        snprintf(text, sizeof(text), "\nredis = %s\n", bad[i]);
        snprintf(want, sizeof(want),
                 "t.conf:2: redis: expected \"unix:/absolute/path\" or "
                 "\"host:port\" with a port from 1 to 65535, got \"%s\"",
                 bad[i]);
        expect_error(text, want, "error: bad redis address refused");
    }
    expect_error("redis = ::1:6379",
                 "t.conf:1: redis: an IPv6 address needs brackets, as in "
                 "[::1]:6379, got \"::1:6379\"",
                 "error: bare IPv6 redis address");
    snprintf(text, sizeof(text), "redis = %0256d:6379", 0);
    snprintf(want, sizeof(want),
             "t.conf:1: redis: host name too long, got \"%.60s...\"", text + 8);
    expect_error(text, want, "error: redis host name over 255 bytes");
    snprintf(text, sizeof(text), "redis = unix:/%0120d", 0);
    snprintf(want, sizeof(want),
             "t.conf:1: redis: unix socket path too long, got \"%.60s...\"",
             text + 8);
    expect_error(text, want,
                 "error: unix socket path over sun_path, value cut to 60");
}

static void test_key_prefix_errors(void)
{
    static const char *const bad[] = {
        "a{b}",
        "user{",
        "a b",
        "01234567890123456789012345678901234567890123456789012345678901234",
    };
    char text[128], want[256];
    size_t i;

    for (i = 0; i < SG_ARRAY_LEN(bad); i++) {
        snprintf(text, sizeof(text), "key_prefix = %s\n", bad[i]);
        snprintf(want, sizeof(want),
                 "t.conf:1: key_prefix: expected 1 to 64 characters, none of "
                 "them whitespace, '{' or '}', got \"%.60s%s\"",
                 bad[i], strlen(bad[i]) > 60 ? "..." : "");
        expect_error(text, want, "error: bad key_prefix refused");
    }
}

static void test_cross_key_errors(void)
{
    struct sg_config *cfg;

    expect_error("jwt_kid = a\njwt_algorithm = RS256\n",
                 "t.conf:2: jwt_algorithm: RS256 needs jwt_private_key_file",
                 "error: RS256 without a private key file");
    expect_error("jwt_algorithm = ES256\njwt_private_key_file = /k.pem\n",
                 "t.conf:1: jwt_algorithm: ES256 needs jwt_kid",
                 "error: ES256 without a kid");
    expect_error("log_level = info\njwt_secret_file =\n",
                 "t.conf:2: jwt_algorithm: HS256 needs jwt_secret_file",
                 "error: HS256 with jwt_secret_file emptied");
    cfg = parse_ok("jwt_algorithm = RS256\n"
                   "jwt_private_key_file = /nonexistent.pem\njwt_kid = a\n",
                   "a missing key file is not a parse error");
    sg_config_free(cfg);
}

static void test_sentinel_keys(void)
{
    struct sg_config *cfg;

    expect_error("redis_sentinels = s1:26379\n",
                 "t.conf:1: redis_sentinels: needs redis_master_name",
                 "error: sentinels without the master's name");
    expect_error("redis_master_name = mymaster\n",
                 "t.conf:1: redis_master_name: needs redis_sentinels",
                 "error: a master name without sentinels");
    expect_error("redis_sentinel_password_file = /p\n",
                 "t.conf:1: redis_sentinel_password_file: needs "
                 "redis_sentinels",
                 "error: a sentinel password without sentinels");
    expect_error("redis_sentinels = unix:/s.sock\nredis_master_name = m\n",
                 "t.conf:1: redis_sentinels: expected host:port addresses, "
                 "not unix sockets, got \"unix:/s.sock\"",
                 "error: a sentinel on a unix socket");
    expect_error("redis_sentinels = s:1\nredis_master_name = my master\n",
                 "t.conf:2: redis_master_name: expected 1 to 64 letters, "
                 "digits or -_.:, got \"my master\"",
                 "error: a blank in the master's name");
    cfg = parse_ok("redis = unix:/run/redis.sock\nredis_tls = on\n"
                   "redis_sentinels = s1:26379, s2:26379\n"
                   "redis_master_name = mymaster\n",
                   "sentinels over TLS: `redis` (unused) may be a socket");
    if (cfg)
        TAP_IS_STR(cfg->redis_master_name, "mymaster", "the master's name");
    sg_config_free(cfg);
}

static void test_cluster_keys(void)
{
    struct sg_config *cfg;

    cfg = parse_ok("redis_cluster = 10.0.0.1:7000, 10.0.0.2:7000\n",
                   "a cluster from two seeds");
    if (cfg)
        TAP_IS_STR(cfg->redis_cluster, "10.0.0.1:7000, 10.0.0.2:7000",
                   "the seeds, as written");
    sg_config_free(cfg);
    cfg = parse_ok("redis = unix:/run/redis.sock\nredis_tls = on\n"
                   "redis_cluster = n1:7000\n",
                   "a cluster over TLS: `redis` (unused) may be a socket");
    sg_config_free(cfg);
    expect_error("redis_cluster = unix:/c.sock\n",
                 "t.conf:1: redis_cluster: expected host:port addresses, "
                 "not unix sockets, got \"unix:/c.sock\"",
                 "error: a seed on a unix socket");
    expect_error("redis_cluster = n1:7000\nredis_sentinels = s:1\n"
                 "redis_master_name = m\n",
                 "t.conf:2: redis_sentinels: cannot be used with redis_cluster",
                 "error: a cluster and sentinels");
    expect_error("redis_db = 2\nredis_cluster = n1:7000\n",
                 "t.conf:1: redis_db: must be 0 with redis_cluster (a cluster "
                 "has only database 0)",
                 "error: a cluster and another database");
    expect_error("redis_cluster = n1:7000\nverify_mode = local\n",
                 "t.conf:2: verify_mode: local is not supported with "
                 "redis_cluster yet (docs/CLUSTER.md)",
                 "error: a cluster in local mode");
    expect_error("redis_cluster = n1:7000\nratelimit_user = 10/1m ip\n",
                 "t.conf:2: ratelimit_user: cannot count by ip with "
                 "redis_cluster: one address's count across users lives in "
                 "no user's slot (docs/CLUSTER.md)",
                 "error: a cluster and a per-user limit by address");
    cfg = parse_ok("redis_cluster = n1:7000\nratelimit_user = 10/1m session\n",
                   "a cluster and a per-user limit by session");
    sg_config_free(cfg);
}

static void test_tls_keys(void)
{
    struct sg_config *cfg;

    expect_error("redis = unix:/run/redis.sock\nredis_tls = on\n",
                 "t.conf:2: redis_tls: needs a host:port redis address "
                 "(Redis serves its unix socket without TLS)",
                 "error: TLS to a unix socket");
    expect_error("redis_tls = on\nredis_tls_cert_file = /c.pem\n",
                 "t.conf:2: redis_tls_cert_file: needs redis_tls_key_file too",
                 "error: a client certificate without its key");
    expect_error("redis_tls = on\nredis_tls_key_file = /c.key\n",
                 "t.conf:2: redis_tls_key_file: needs redis_tls_cert_file too",
                 "error: a client key without its certificate");
    expect_error("log_level = info\nredis_tls_ca_file = /ca.pem\n",
                 "t.conf:2: redis_tls_ca_file: needs redis_tls = on",
                 "error: a TLS file with TLS off");
    expect_error("redis_tls_server_name = redis.example\n",
                 "t.conf:1: redis_tls_server_name: needs redis_tls = on",
                 "error: a TLS server name with TLS off");
    cfg = parse_ok("redis = redis.example:6380\nredis_tls = on\n"
                   "redis_tls_cert_file = /c.pem\nredis_tls_key_file = /c.key\n",
                   "TLS with a client certificate");
    if (cfg) {
        TAP_OK(cfg->redis_tls, "redis_tls is on");
        TAP_OK(cfg->redis_tls_ca_file == NULL,
               "no CA file: the system's trusted CAs");
        TAP_IS_STR(cfg->redis_tls_key_file, "/c.key", "the key file");
    }
    sg_config_free(cfg);
}

static void test_file_shape_errors(void)
{
    char long_line[4200];
    struct sg_config *cfg;

    expect_error("log_level = debug\r\nworkers = x\r\n",
                 "t.conf:2: workers: expected an integer from 0 to 256, got "
                 "\"x\"",
                 "error: CRLF line counted, CR not in the value");
    cfg = parse_ok("log_level = debug\r\nworkers = 3\r\n", "CRLF file parses");
    TAP_IS_INT(cfg ? cfg->workers : 0, 3, "CRLF: value read without CR");
    sg_config_free(cfg);
    cfg = parse_ok("workers = 3", "last line without a newline parses");
    TAP_IS_INT(cfg ? cfg->workers : 0, 3, "no final newline: value read");
    sg_config_free(cfg);

    expect_error_len("log_level = debug\nworkers = 1\0\n", 31,
                     "t.conf:2: NUL byte in line", "error: NUL byte");
    memset(long_line, '#', sizeof(long_line));
    memcpy(long_line, "\n", 1);
    long_line[4097] = '\n'; /* line 2 is 4096 bytes: fine */
    long_line[4098] = '\0';
    cfg = parse_ok(long_line, "a 4096-byte line is accepted");
    sg_config_free(cfg);
    long_line[4097] = '\r'; /* still 4096 bytes before the CRLF */
    long_line[4098] = '\n';
    long_line[4099] = '\0';
    cfg = parse_ok(long_line, "a 4096-byte line with CRLF is accepted");
    sg_config_free(cfg);
    long_line[4097] = '#';
    long_line[4098] = '\n';
    expect_error_len(long_line, 4099, "t.conf:2: line longer than 4096 bytes",
                     "error: 4097-byte line refused");
}

static void test_error_buffer(void)
{
    char small[16];

    TAP_OK(sg_config_parse("t.conf", "x", 1, NULL, 0) == NULL,
           "error with no buffer: NULL, no crash");
    TAP_OK(sg_config_parse("t.conf", "workers = x", 11, small, sizeof(small)) ==
               NULL,
           "error with a small buffer: NULL");
    TAP_IS_STR(small, "t.conf:1: worke", "error message cut to the buffer");
    expect_error("jwt_issuer = a\njwt_audience = \x1b[31m\nworkers = \x1b[2J",
                 "t.conf:3: workers: expected an integer from 0 to 256, got "
                 "\"?[2J\"",
                 "error: control bytes in a value shown as '?'");
}

static void test_parse_duration(void)
{
    static const struct {
        const char *text;
        int rc;
        int64_t ms;
    } cases[] = {
        {"500ms", 0, 500},
        {"30s", 0, 30000},
        {"15m", 0, 900000},
        {"24h", 0, 86400000},
        {"30d", 0, 2592000000LL},
        {"90", 0, 90000},
        {"0", 0, 0},
        {"0ms", 0, 0},
        {"007s", 0, 7000},
        {"9223372036854775807ms", 0, INT64_MAX},
        {"106751991167d", 0, 106751991167LL * 86400000},
        {"9223372036854775808ms", SG_EINVAL, -1},
        {"106751991168d", SG_EINVAL, -1},
        {"9223372036854775807", SG_EINVAL, -1},
        {"", SG_EINVAL, -1},
        {"-1", SG_EINVAL, -1},
        {"+1", SG_EINVAL, -1},
        {" 1", SG_EINVAL, -1},
        {"1 s", SG_EINVAL, -1},
        {"1S", SG_EINVAL, -1},
        {"1sec", SG_EINVAL, -1},
        {"1.5s", SG_EINVAL, -1},
        {"s", SG_EINVAL, -1},
        {"1w", SG_EINVAL, -1},
        {"0x10", SG_EINVAL, -1},
    };
    char name[96];
    size_t i;

    for (i = 0; i < SG_ARRAY_LEN(cases); i++) {
        int64_t ms = -1;
        int rc = sg_config_parse_duration_ms(cases[i].text, &ms);

        snprintf(name, sizeof(name), "parse_duration_ms(\"%s\") returns %d",
                 cases[i].text, cases[i].rc);
        TAP_IS_INT(rc, cases[i].rc, name);
        snprintf(name, sizeof(name), "parse_duration_ms(\"%s\") gives %lld",
                 cases[i].text, (long long)cases[i].ms);
        TAP_IS_INT(ms, cases[i].ms, name);
    }
}

static char tmpdir[64];

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0)
        printf("# cannot write %s\n", path);
}

static void test_read_file(void)
{
    char path[128], *out = (char *)"x";
    size_t len = 99;

    snprintf(path, sizeof(path), "%s/secret", tmpdir);
    write_file(path, "s3cret\n\r\n", 9);
    TAP_IS_INT(sg_config_read_file(path, 64, true, &out, &len), 0,
               "read_file: strip succeeds");
    TAP_IS_STR(out, "s3cret", "read_file: trailing CR/LF stripped");
    TAP_IS_INT(len, 6, "read_file: stripped length");
    free(out);
    TAP_IS_INT(sg_config_read_file(path, 9, false, &out, &len), 0,
               "read_file: a file of exactly max bytes is read");
    TAP_IS_INT(len, 9, "read_file: unstripped length");
    TAP_OK(out && memcmp(out, "s3cret\n\r\n", 10) == 0,
           "read_file: unstripped bytes, NUL-terminated");
    free(out);
    TAP_IS_INT(sg_config_read_file(path, 8, false, &out, &len), SG_ETOOBIG,
               "read_file: over max is SG_ETOOBIG");
    TAP_OK(out == NULL, "read_file: no buffer on failure");
    snprintf(path, sizeof(path), "%s/empty", tmpdir);
    write_file(path, "", 0);
    TAP_IS_INT(sg_config_read_file(path, 8, true, &out, &len), 0,
               "read_file: empty file");
    TAP_IS_INT(len, 0, "read_file: empty file has length 0");
    free(out);
    snprintf(path, sizeof(path), "%s/missing", tmpdir);
    TAP_IS_INT(sg_config_read_file(path, 8, true, &out, &len), SG_EIO,
               "read_file: missing file is SG_EIO");
    TAP_IS_INT(sg_config_read_file(tmpdir, 1 << 20, true, &out, &len), SG_EIO,
               "read_file: directory is SG_EIO");
    snprintf(path, sizeof(path), "%s/fifo", tmpdir);
    if (mkfifo(path, 0600) == 0)
        TAP_IS_INT(sg_config_read_file(path, 8, true, &out, &len), SG_EIO,
                   "read_file: FIFO refused without blocking");
}

static void test_load(void)
{
    static const char text[] = "log_level = warn\n";
    char path[128], want[256], big[4096];
    struct sg_config *cfg;
    FILE *f;
    int i;

    snprintf(path, sizeof(path), "%s/ok.conf", tmpdir);
    write_file(path, text, sizeof(text) - 1);
    cfg = sg_config_load(path, errbuf, sizeof(errbuf));
    TAP_OK(cfg != NULL, "load: a good file loads");
    TAP_IS_STR(cfg ? cfg->path : NULL, path, "load: path recorded");
    TAP_IS_INT(cfg ? (int)cfg->log_level : -1, SG_LOG_WARN, "load: value read");
    sg_config_free(cfg);

    snprintf(path, sizeof(path), "%s/bad.conf", tmpdir);
    write_file(path, "\nworkers = many\n", 16);
    snprintf(want, sizeof(want),
             "%s:2: workers: expected an integer from 0 to 256, got \"many\"",
             path);
    TAP_OK(sg_config_load(path, errbuf, sizeof(errbuf)) == NULL,
           "load: bad file refused");
    TAP_IS_STR(errbuf, want, "load: error names path, line and key");

    snprintf(path, sizeof(path), "%s/nope.conf", tmpdir);
    snprintf(want, sizeof(want), "%s: No such file or directory", path);
    TAP_OK(sg_config_load(path, errbuf, sizeof(errbuf)) == NULL,
           "load: missing file refused");
    TAP_IS_STR(errbuf, want, "load: missing file error");
    snprintf(want, sizeof(want), "%s: Is a directory", tmpdir);
    TAP_OK(sg_config_load(tmpdir, errbuf, sizeof(errbuf)) == NULL,
           "load: directory refused");
    TAP_IS_STR(errbuf, want, "load: directory error");

    snprintf(path, sizeof(path), "%s/big.conf", tmpdir);
    memset(big, '#', sizeof(big));
    big[sizeof(big) - 1] = '\n';
    if ((f = fopen(path, "wb"))) {
        for (i = 0; i < 257; i++)
            fwrite(big, 1, sizeof(big), f);
        fclose(f);
    }
    snprintf(want, sizeof(want), "%s: larger than 1048576 bytes", path);
    TAP_OK(sg_config_load(path, errbuf, sizeof(errbuf)) == NULL,
           "load: file over 1 MiB refused");
    TAP_IS_STR(errbuf, want, "load: too big error");
}

static void test_dump_round_trip(void)
{
    struct sg_config *a = parse_ok(every_key, "dump: source config parses");
    char *text = a ? sg_config_dump(a) : NULL;
    struct sg_config *b = text ? parse_ok(text, "dump: output parses") : NULL;
    char *again = b ? sg_config_dump(b) : NULL;

    TAP_IS_STR(again, text, "dump: parse(dump(cfg)) dumps the same");
    TAP_OK(text && strncmp(text, "workers = 4\n", 12) == 0,
           "dump: first line is the first key");
    TAP_OK(text && strstr(text, "\njwt_secret_file =\n"),
           "dump: unset string written empty");
    TAP_OK(text && strstr(text, "\nsocket_mode = 0666\n") &&
               strstr(text, "\nmax_body_bytes = 64k\n") &&
               strstr(text, "\nredis_connect_timeout = 250ms\n") &&
               strstr(text, "\nregistration = closed\n"),
           "dump: values spelled as in the file");
    if (b)
        check_every_key(b);
    free(text);
    free(again);
    sg_config_free(a);
    sg_config_free(b);
}

/* "# key = value" -> "key = value"; sets *key to the key's length. */
static const char *uncomment(const char *line, size_t len, size_t *keylen)
{
    size_t i = 2;

    *keylen = 0;
    if (len < 3 || line[0] != '#' || line[1] != ' ')
        return NULL;
    while (i < len && ((line[i] >= 'a' && line[i] <= 'z') || line[i] == '_' ||
                       (line[i] >= '0' && line[i] <= '9')))
        i++;
    *keylen = i - 2;
    while (i < len && line[i] == ' ')
        i++;
    return *keylen > 0 && i < len && line[i] == '=' ? line + 2 : NULL;
}

/* The sample with its key lines uncommented and "= /etc/" in values turned
 * into "= " SG_SYSCONFDIR "/", as make install does; keys gets "k1\nk2\n". */
static char *uncomment_sample(const char *text, size_t len, char *keys,
                              size_t keyscap)
{
    size_t cap = 2 * len + 1024, n = 0, k = 0, keylen;
    char line[1024], *out = malloc(cap), *etc;
    const char *end = text + len, *nl, *s;

    while (out && text < end) {
        nl = memchr(text, '\n', (size_t)(end - text));
        nl = nl ? nl : end;
        snprintf(line, sizeof(line), "%.*s", (int)(nl - text), text);
        text = nl + 1;
        if (!(s = uncomment(line, strlen(line), &keylen))) {
            n += (size_t)snprintf(out + n, cap - n, "%s\n", line);
            continue;
        }
        k += (size_t)snprintf(keys + k, keyscap - k, "%.*s\n", (int)keylen, s);
        if ((etc = strstr(line, "= /etc/")))
            n += (size_t)snprintf(out + n, cap - n, "%.*s= %s/%s\n",
                                  (int)(etc - s), s, SG_SYSCONFDIR, etc + 7);
        else
            n += (size_t)snprintf(out + n, cap - n, "%s\n", s);
    }
    return out;
}

static void dump_keys(const char *dump, char *keys, size_t cap)
{
    size_t k = 0;

    keys[0] = '\0';
    while (*dump && k < cap) {
        k += (size_t)snprintf(keys + k, cap - k, "%.*s\n",
                              (int)strcspn(dump, " "), dump);
        dump = strchr(dump, '\n') + 1;
    }
}

static void test_sample_file(void)
{
    const char *srcdir = getenv("SG_SRCDIR");
    char path[1024], sample_keys[2048] = "", table_keys[2048] = "";
    char *text = NULL, *uncommented = NULL, *want = NULL, *got = NULL;
    struct sg_config *def = sg_config_new_default(), *cfg = NULL;
    size_t len = 0;

    snprintf(path, sizeof(path), "%s/conf/sessiongate.conf",
             srcdir ? srcdir : ".");
    if (!TAP_OK(sg_config_read_file(path, 1 << 20, false, &text, &len) == 0,
                "sample: conf/sessiongate.conf read (set SG_SRCDIR)"))
        printf("#   %s\n", path);
    if (text)
        uncommented =
            uncomment_sample(text, len, sample_keys, sizeof(sample_keys));
    if (uncommented)
        cfg = parse_ok(uncommented, "sample: every key uncommented parses");
    want = def ? sg_config_dump(def) : NULL;
    got = cfg ? sg_config_dump(cfg) : NULL;
    if (want)
        dump_keys(want, table_keys, sizeof(table_keys));
    TAP_IS_STR(sample_keys, table_keys,
               "sample: documents every key, in the table's order");
    TAP_IS_STR(got, want, "sample: every value shown is the default");
    free(text);
    free(uncommented);
    free(want);
    free(got);
    sg_config_free(def);
    sg_config_free(cfg);
}

static void remove_tmpdir(void)
{
    static const char *const names[] = {"secret",  "empty",    "fifo",
                                        "ok.conf", "bad.conf", "big.conf"};
    char path[128];
    size_t i;

    for (i = 0; i < SG_ARRAY_LEN(names); i++) {
        snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sg-test-config.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        printf("Bail out! mkdtemp failed\n");
        return 1;
    }
    test_defaults();
    test_owasp_iterations();
    test_empty_file_is_defaults();
    test_every_key();
    test_value_forms();
    test_strings_and_bools();
    test_line_errors();
    test_int_errors();
    test_size_errors();
    test_duration_errors();
    test_word_errors();
    test_redis_errors();
    test_key_prefix_errors();
    test_cross_key_errors();
    test_tls_keys();
    test_sentinel_keys();
    test_cluster_keys();
    test_file_shape_errors();
    test_error_buffer();
    test_parse_duration();
    test_read_file();
    test_load();
    test_dump_round_trip();
    test_sample_file();
    remove_tmpdir();
    return tap_done();
}
