/* config.c -- sessiongate.conf: parse, validate, defaults.
 *
 * Every key is one row of the options[] table below: its name, its type,
 * where it lives in struct sg_config, its default written as it would be
 * in the file, and its bounds or allowed words. Parsing, defaults, freeing
 * and sg_config_dump all walk that table, so adding a key is adding a row
 * (and a field, and a line in conf/sessiongate.conf, which the unit test
 * holds in step with the table).
 *
 * Defaults are not written twice: sg_config_new_default() runs each
 * default string through the same parser as a line of the file, so a
 * default that breaks its own bounds fails the unit tests at once.
 *
 * A file is parsed a line at a time into a copy on the stack (lines are
 * at most SG_CONFIG_MAX_LINE bytes), onto a config that already holds the
 * defaults; checks that involve two keys run after the last line. Nothing
 * here opens the files the *_file keys name: the services read them when
 * they start, so a missing key file is their error, not the parser's.
 *
 * Error messages quote the offending value (made printable and cut short)
 * so that an operator can find it, except for the keys that would carry a
 * secret inline, which are refused without echoing anything.
 */
#include "config.h"
#include "client.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "addr.h"

#ifndef SG_SYSCONFDIR
#define SG_SYSCONFDIR "/etc"
#endif

#define SG_CONFIG_MAX_LINE  4096      /* bytes, without the line end */
#define SG_CONFIG_MAX_FILE  (1 << 20) /* sg_config_load refuses more */
#define SG_CONFIG_MAX_SHOWN 64        /* bytes of a value quoted in errors */

#define KIB    1024
#define MIB    (1024 * 1024)
#define SEC    1000
#define MINUTE (60 * SEC)
#define HOUR   (60 * MINUTE)
#define DAY    (24 * (int64_t)HOUR)

/* Enum fields are written through an int pointer. */
_Static_assert(sizeof(enum sg_log_level) == sizeof(int), "enum size");
_Static_assert(sizeof(enum sg_store_error_policy) == sizeof(int), "enum size");

enum type {
    T_INT,     /* int, decimal; min..max */
    T_MODE,    /* int, octal file mode; min..max */
    T_SIZE,    /* size_t, bytes with an optional k/K/m/M suffix; min..max */
    T_SECONDS, /* int64_t seconds, written as a duration; min..max in ms */
    T_MILLIS,  /* int64_t milliseconds, written as a duration; min..max */
    T_ENUM,    /* int (an enum), one of words */
    T_BOOL,    /* bool, one of words (bool_words when words is NULL) */
    T_STRING,  /* char *, any text (one of words when words is set) */
    T_LIMIT,   /* struct sg_rate_policy, "LIMIT/WINDOW KEY" or "off" */
};

struct word {
    const char *word;
    int value;
};

struct option {
    const char *name;
    enum type type;
    size_t offset;
    const char *def;
    int64_t min, max;
    const struct word *words;                /* NULL-terminated */
    const char *(*check)(const char *value); /* a reason, or NULL if fine */
    bool optional; /* an empty value means "unset": NULL, or -1 for T_INT */
};

static const struct word bool_words[] = {
    {"on", 1},    {"off", 0}, {"yes", 1}, {"no", 0}, {"true", 1},
    {"false", 0}, {"1", 1},   {"0", 0},   {NULL, 0},
};
static const struct word log_levels[] = {
    {"error", SG_LOG_ERROR},
    {"warn", SG_LOG_WARN},
    {"info", SG_LOG_INFO},
    {"debug", SG_LOG_DEBUG},
    {NULL, 0},
};
static const struct word verify_modes[] = {
    {"roundtrip", SG_VERIFY_ROUNDTRIP},
    {"local", SG_VERIFY_LOCAL},
    {NULL, 0},
};
static const struct word store_error_policies[] = {
    {"fail_closed", SG_FAIL_CLOSED},
    {"verify_signature_only", SG_VERIFY_SIGNATURE_ONLY},
    {NULL, 0},
};
/* RFC 7518 section 3.1 names; never "none". */
static const struct word jwt_algorithms[] = {
    {"HS256", 0}, {"RS256", 0}, {"ES256", 0}, {NULL, 0}};
static const struct word registration_words[] = {
    {"open", 1}, {"closed", 0}, {NULL, 0}};

static const struct word limit_keys[] = {
    {"ip", SG_LIMIT_IP},
    {"account", SG_LIMIT_ACCOUNT},
    {"session", SG_LIMIT_SESSION},
    {"user", SG_LIMIT_USER},
    {NULL, 0},
};

static const char *check_redis(const char *value);
static const char *check_sentinels(const char *value);
static const char *check_cluster(const char *value);
static const char *check_master_name(const char *value);
static const char *check_key_prefix(const char *value);
static const char *check_mount(const char *value);
static const char *check_cidrs(const char *value);

/* One row per key: the macros name the type and fill the rest. min and max
 * are in the type's unit (a count, bytes, or milliseconds for durations);
 * an OPT_ row accepts an empty value as "unset". */
#define OFF(field) offsetof(struct sg_config, field)
#define ROW(key, type, field, def, lo, hi, words, check, optional)             \
    {                                                                          \
        key, type, OFF(field), def, lo, hi, words, check, optional             \
    }
#define INT(key, field, def, lo, hi)                                           \
    ROW(key, T_INT, field, def, lo, hi, NULL, NULL, false)
#define OPT_INT(key, field, lo, hi)                                            \
    ROW(key, T_INT, field, "", lo, hi, NULL, NULL, true)
#define MODE(key, field, def)                                                  \
    ROW(key, T_MODE, field, def, 0, 0777, NULL, NULL, false)
#define SIZE(key, field, def, lo, hi)                                          \
    ROW(key, T_SIZE, field, def, lo, hi, NULL, NULL, false)
#define SECONDS(key, field, def, lo, hi)                                       \
    ROW(key, T_SECONDS, field, def, lo, hi, NULL, NULL, false)
#define MILLIS(key, field, def, lo, hi)                                        \
    ROW(key, T_MILLIS, field, def, lo, hi, NULL, NULL, false)
#define ENUM(key, field, def, words)                                           \
    ROW(key, T_ENUM, field, def, 0, 0, words, NULL, false)
#define BOOL(key, field, def, words)                                           \
    ROW(key, T_BOOL, field, def, 0, 0, words, NULL, false)
#define STR(key, field, def, check)                                            \
    ROW(key, T_STRING, field, def, 0, 0, NULL, check, false)
#define LIMIT(key, field, def)                                                 \
    ROW(key, T_LIMIT, field, def, 1, 1000000, limit_keys, NULL, false)
#define OPT_STR(key, field, def)                                               \
    ROW(key, T_STRING, field, def, 0, 0, NULL, NULL, true)
#define STR_OF(key, field, def, words)                                         \
    ROW(key, T_STRING, field, def, 0, 0, words, NULL, false)

/* The order is the order of conf/sessiongate.conf and of sg_config_dump. */
static const struct option options[] = {
    /* process */
    OPT_INT("workers", workers, 0, 256),
    MODE("socket_mode", socket_mode, "0660"),
    ENUM("log_level", log_level, "info", log_levels),
    SIZE("max_body_bytes", max_body_bytes, "16k", 256, MIB),
    MILLIS("fcgi_io_timeout", fcgi_io_timeout_ms, "5s", 100, 10 * MINUTE),
    OPT_STR("trusted_proxies", trusted_proxies, ""),
    ROW("mount", T_STRING, mount, "", 0, 0, NULL, check_mount, true),
    /* redis */
    STR("redis", redis, "127.0.0.1:6379", check_redis),
    OPT_STR("redis_password_file", redis_password_file, ""),
    INT("redis_db", redis_db, "0", 0, 1000),
    ROW("redis_sentinels", T_STRING, redis_sentinels, "", 0, 0, NULL,
        check_sentinels, true),
    ROW("redis_master_name", T_STRING, redis_master_name, "", 0, 0, NULL,
        check_master_name, true),
    OPT_STR("redis_sentinel_password_file", redis_sentinel_password_file, ""),
    ROW("redis_cluster", T_STRING, redis_cluster, "", 0, 0, NULL,
        check_cluster, true),
    MILLIS("redis_connect_timeout", redis_connect_timeout_ms, "1s", 10,
           60 * SEC),
    MILLIS("redis_timeout", redis_timeout_ms, "1s", 10, 60 * SEC),
    BOOL("redis_tls", redis_tls, "off", NULL),
    OPT_STR("redis_tls_ca_file", redis_tls_ca_file, ""),
    OPT_STR("redis_tls_cert_file", redis_tls_cert_file, ""),
    OPT_STR("redis_tls_key_file", redis_tls_key_file, ""),
    OPT_STR("redis_tls_server_name", redis_tls_server_name, ""),
    STR("key_prefix", key_prefix, "sg:", check_key_prefix),
    ENUM("on_store_error", on_store_error, "fail_closed", store_error_policies),
    /* verify_mode = local: the host's revocation table (issue 17) */
    ENUM("verify_mode", verify_mode, "roundtrip", verify_modes),
    INT("revocation_table_slots", revocation_table_slots, "131072", 1024,
        1 << 24),
    MILLIS("revocation_max_lag", revocation_max_lag_ms, "3s", 1100, MINUTE),
    MILLIS("activity_flush", activity_flush_ms, "1s", 100, MINUTE),
    /* tokens */
    STR_OF("jwt_algorithm", jwt_algorithm, "HS256", jwt_algorithms),
    OPT_STR("jwt_secret_file", jwt_secret_file,
            SG_SYSCONFDIR "/sessiongate/jwt.secret"),
    OPT_STR("jwt_private_key_file", jwt_private_key_file, ""),
    OPT_STR("jwt_kid", jwt_kid, ""),
    OPT_STR("jwt_public_keys", jwt_public_keys, ""),
    STR("jwt_issuer", jwt_issuer, "sessiongate", NULL),
    STR("jwt_audience", jwt_audience, "sessiongate", NULL),
    SECONDS("access_token_ttl", access_token_ttl, "15m", 30 * SEC, DAY),
    SECONDS("refresh_token_ttl", refresh_token_ttl, "30d", MINUTE, 365 * DAY),
    MILLIS("refresh_reuse_grace", refresh_reuse_grace_ms, "10s", 0, 5 * MINUTE),
    SECONDS("clock_skew", clock_skew, "30s", 0, 5 * MINUTE),
    /* sessions */
    SECONDS("session_idle_timeout", session_idle_timeout, "24h", SEC,
            365 * DAY),
    SECONDS("session_lifetime", session_lifetime, "30d", SEC, 365 * DAY),
    INT("max_sessions_per_user", max_sessions_per_user, "5", 1, 1000),
    /* users */
    BOOL("registration", registration_open, "open", registration_words),
    INT("password_min_length", password_min_length, "8", 8, 1024),
    /* OWASP Password Storage Cheat Sheet (2023): PBKDF2-HMAC-SHA256 at
     * 600000 iterations. The low minimum is for tests. */
    INT("pbkdf2_iterations", pbkdf2_iterations, "600000", 1000, 10000000),
    /* browsers */
    BOOL("cookie_auth", cookie_auth, "off", NULL),
    BOOL("cookie_secure", cookie_secure, "on", NULL),
    OPT_STR("allowed_origins", allowed_origins, ""),
    OPT_STR("signin_url", signin_url, ""),
    /* rate limits */
    LIMIT("ratelimit_signin", ratelimit_signin, "10/1m ip"),
    LIMIT("ratelimit_signin_failure", ratelimit_signin_failure,
          "5/15m account"),
    LIMIT("ratelimit_register", ratelimit_register, "5/1h ip"),
    LIMIT("ratelimit_refresh", ratelimit_refresh, "30/1m session"),
    LIMIT("ratelimit_user", ratelimit_user, "600/1m user"),
    LIMIT("ratelimit_refresh_failure", ratelimit_refresh_failure, "30/1m ip"),
    INT("ipv6_prefix", ipv6_prefix, "64", 32, 128),
    /* observability (metrics.c, audit.c) */
    BOOL("metrics", metrics, "off", NULL),
    ROW("metrics_allow", T_STRING, metrics_allow, "127.0.0.1/32 ::1/128", 0, 0,
        NULL, check_cidrs, true),
    BOOL("audit", audit, "on", NULL),
};

/* Keys people write by habit that would put a secret in a file readable by
 * more eyes than the secret should be; refused without echoing the value. */
static const struct {
    const char *name;
    const char *instead;
} inline_secrets[] = {
    {"redis_password", "redis_password_file"},
    {"jwt_secret", "jwt_secret_file"},
    {"jwt_private_key", "jwt_private_key_file"},
};

/* What each algorithm needs besides itself (RFC 7518 section 3). */
static const struct {
    const char *algorithm;
    const char *needs;
} algorithm_needs[] = {
    {"HS256", "jwt_secret_file"}, {"RS256", "jwt_private_key_file"},
    {"RS256", "jwt_kid"},         {"ES256", "jwt_private_key_file"},
    {"ES256", "jwt_kid"},
};

struct parser {
    const char *name;
    char *err;
    size_t errlen;
    unsigned line;
    unsigned seen[SG_ARRAY_LEN(options)]; /* line each key was set on */
    struct sg_config *cfg;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char *trim(char *s)
{
    char *end;

    while (is_space(*s))
        s++;
    end = s + strlen(s);
    while (end > s && is_space(end[-1]))
        *--end = '\0';
    return s;
}

/* s made safe to print inside quotes: control bytes and '"' become '?',
 * and a long value is cut with "...". */
static const char *shown(char *buf, size_t cap, const char *s)
{
    size_t i;

    for (i = 0; s[i] && i + 4 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = c < 0x20 || c == 0x7f || c == '"' ? '?' : (char)c;
    }
    if (s[i]) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

static int fail(struct parser *p, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Write "name:line: key: reason" (or without the parts that are missing)
 * to the caller's buffer. Always SG_EINVAL, for "return fail(...)". */
static int fail(struct parser *p, const char *key, const char *fmt, ...)
{
    char keybuf[SG_CONFIG_MAX_SHOWN];
    va_list ap;
    int n;

    if (p->errlen == 0)
        return SG_EINVAL;
    if (p->line > 0)
        n = snprintf(p->err, p->errlen, "%s:%u: ", p->name, p->line);
    else
        n = snprintf(p->err, p->errlen, "%s: ", p->name);
    if (key && n >= 0 && (size_t)n < p->errlen)
        n += snprintf(p->err + n, p->errlen - n,
                      "%s: ", shown(keybuf, sizeof(keybuf), key));
    if (n >= 0 && (size_t)n < p->errlen) {
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errlen - n, fmt, ap);
        va_end(ap);
    }
    return SG_EINVAL;
}

/* ---- values: text to number, and back for messages and dumps ---------- */

static void format_size(char *buf, size_t cap, uint64_t bytes)
{
    if (bytes != 0 && bytes % MIB == 0)
        snprintf(buf, cap, "%" PRIu64 "m", bytes / MIB);
    else if (bytes != 0 && bytes % KIB == 0)
        snprintf(buf, cap, "%" PRIu64 "k", bytes / KIB);
    else
        snprintf(buf, cap, "%" PRIu64, bytes);
}

/* In the largest unit that divides ms exactly: 86400000 is "1d". */
static void format_duration(char *buf, size_t cap, int64_t ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"d", DAY}, {"h", HOUR}, {"m", MINUTE}, {"s", SEC}};
    size_t i;

    for (i = 0; i < SG_ARRAY_LEN(units); i++) {
        if (ms != 0 && ms % units[i].ms == 0) {
            snprintf(buf, cap, "%" PRId64 "%s", ms / units[i].ms,
                     units[i].unit);
            return;
        }
    }
    snprintf(buf, cap, ms == 0 ? "0s" : "%" PRId64 "ms", ms);
}

int sg_config_parse_duration_ms(const char *s, int64_t *ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"", SEC},     {"ms", 1},   {"s", SEC},
                 {"m", MINUTE}, {"h", HOUR}, {"d", DAY}};
    long long n;
    char *end;
    size_t i;

    if (!is_digit(*s)) /* strtoll would take blanks and signs */
        return SG_EINVAL;
    errno = 0;
    n = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return SG_EINVAL;
    for (i = 0; i < SG_ARRAY_LEN(units); i++) {
        if (strcmp(end, units[i].unit) != 0)
            continue;
        if (n > INT64_MAX / units[i].ms)
            return SG_EINVAL;
        *ms = (int64_t)n * units[i].ms;
        return 0;
    }
    return SG_EINVAL;
}

static int parse_size(const char *s, uint64_t *bytes)
{
    unsigned long long n;
    uint64_t unit = 1;
    char *end;

    if (!is_digit(*s))
        return SG_EINVAL;
    errno = 0;
    n = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return SG_EINVAL;
    if (*end == 'k' || *end == 'K')
        unit = KIB;
    else if (*end == 'm' || *end == 'M')
        unit = MIB;
    if (unit != 1)
        end++;
    if (*end != '\0' || n > UINT64_MAX / unit)
        return SG_EINVAL;
    *bytes = n * unit;
    return 0;
}

/* Digits only (a leading '-' in base 10), as strtol reads them, whole. */
static int parse_long(const char *s, int base, long *n)
{
    char *end;

    if (!is_digit(s[0]) && !(base == 10 && s[0] == '-' && is_digit(s[1])))
        return SG_EINVAL;
    errno = 0;
    *n = strtol(s, &end, base);
    return errno == ERANGE || *end != '\0' ? SG_EINVAL : 0;
}

static const struct word *find_word(const struct word *words, const char *s)
{
    for (; words->word; words++)
        if (strcmp(words->word, s) == 0)
            return words;
    return NULL;
}

static const char *word_for(const struct word *words, int value)
{
    for (; words->word; words++)
        if (words->value == value)
            return words->word;
    return "?";
}

/* ---- setting one key ----------------------------------------------------
 * Each setter gets a non-empty value and, when it refuses it, writes what
 * the key expects to why; apply() adds the value that was given. */

static int set_number(const struct option *opt, const char *value, void *field,
                      char *why, size_t whylen)
{
    int base = opt->type == T_MODE ? 8 : 10;
    long n;

    if (parse_long(value, base, &n) < 0 || n < opt->min || n > opt->max) {
        snprintf(why, whylen,
                 base == 8 ? "expected an octal mode from %#llo to %#llo"
                           : "expected an integer from %lld to %lld",
                 (long long)opt->min, (long long)opt->max);
        return SG_EINVAL;
    }
    *(int *)field = (int)n;
    return 0;
}

static int set_size(const struct option *opt, const char *value, void *field,
                    char *why, size_t whylen)
{
    char lo[32], hi[32];
    uint64_t n;

    if (parse_size(value, &n) < 0 || n < (uint64_t)opt->min ||
        n > (uint64_t)opt->max) {
        format_size(lo, sizeof(lo), (uint64_t)opt->min);
        format_size(hi, sizeof(hi), (uint64_t)opt->max);
        snprintf(why, whylen,
                 "expected a size from %s to %s (k = KiB, m = MiB)", lo, hi);
        return SG_EINVAL;
    }
    *(size_t *)field = (size_t)n;
    return 0;
}

static int set_duration(const struct option *opt, const char *value,
                        void *field, char *why, size_t whylen)
{
    char lo[32], hi[32];
    int64_t ms;

    if (sg_config_parse_duration_ms(value, &ms) < 0 || ms < opt->min ||
        ms > opt->max) {
        format_duration(lo, sizeof(lo), opt->min);
        format_duration(hi, sizeof(hi), opt->max);
        snprintf(why, whylen, "expected a duration from %s to %s", lo, hi);
        return SG_EINVAL;
    }
    if (opt->type == T_SECONDS && ms % SEC != 0) {
        snprintf(why, whylen, "expected a whole number of seconds");
        return SG_EINVAL;
    }
    *(int64_t *)field = opt->type == T_SECONDS ? ms / SEC : ms;
    return 0;
}

static int set_string(char **field, const char *value)
{
    char *copy = strdup(value);

    if (!copy)
        return SG_ENOMEM;
    free(*field);
    *field = copy;
    return 0;
}

/* T_ENUM, T_BOOL, and T_STRING with a list of allowed words. */
static int set_word(const struct option *opt, const char *value, void *field,
                    char *why, size_t whylen)
{
    const struct word *words = opt->words ? opt->words : bool_words;
    const struct word *w = find_word(words, value);
    int n;

    if (!w) {
        n = snprintf(why, whylen, "expected one of ");
        for (w = words; w->word && n >= 0 && (size_t)n < whylen; w++)
            n += snprintf(why + n, whylen - n, "%s%s", w->word,
                          w[1].word ? "|" : "");
        return SG_EINVAL;
    }
    if (opt->type == T_ENUM)
        *(int *)field = w->value;
    else if (opt->type == T_BOOL)
        *(bool *)field = w->value != 0;
    else
        return set_string(field, value);
    return 0;
}

/* "10/1m ip": a count in min..max, a window of 1 s to 1 day, a key. */
static int set_limit(const struct option *opt, const char *value, void *field,
                     char *why, size_t whylen)
{
    struct sg_rate_policy *p = field, r = {0};
    char dur[32], key[16], extra;
    long long n;
    int64_t ms;
    const struct word *w;

    if (strcmp(value, "off") == 0) {
        *p = r;
        return 0;
    }
    if (sscanf(value, "%lld/%31s %15s %c", &n, dur, key, &extra) != 3 ||
        n < opt->min || n > opt->max ||
        sg_config_parse_duration_ms(dur, &ms) < 0 || ms < SEC || ms > DAY ||
        !(w = find_word(limit_keys, key))) {
        snprintf(why, whylen,
                 "expected \"off\" or LIMIT/WINDOW KEY, e.g. \"10/1m ip\": "
                 "LIMIT 1 to 1000000, WINDOW 1s to 1d, KEY "
                 "ip|account|session|user");
        return SG_EINVAL;
    }
    r.limit = (int)n;
    r.window_ms = ms;
    r.key = (enum sg_limit_key)w->value;
    *p = r;
    return 0;
}

static int set_value(struct sg_config *cfg, const struct option *opt,
                     const char *value, char *why, size_t whylen)
{
    void *field = (char *)cfg + opt->offset;
    const char *reason;

    if (*value == '\0' && opt->optional && opt->type == T_STRING) {
        free(*(char **)field);
        *(char **)field = NULL;
        return 0;
    }
    if (*value == '\0' && opt->optional && opt->type == T_INT) {
        *(int *)field = -1;
        return 0;
    }
    if (*value == '\0') {
        snprintf(why, whylen, "a value is required");
        return SG_EINVAL;
    }
    switch (opt->type) {
    case T_INT:
    case T_MODE:
        return set_number(opt, value, field, why, whylen);
    case T_SIZE:
        return set_size(opt, value, field, why, whylen);
    case T_SECONDS:
    case T_MILLIS:
        return set_duration(opt, value, field, why, whylen);
    case T_ENUM:
    case T_BOOL:
        return set_word(opt, value, field, why, whylen);
    case T_LIMIT:
        return set_limit(opt, value, field, why, whylen);
    case T_STRING:
        if (opt->words)
            return set_word(opt, value, field, why, whylen);
        if (opt->check && (reason = opt->check(value))) {
            snprintf(why, whylen, "%s", reason);
            return SG_EINVAL;
        }
        return set_string(field, value);
    }
    return SG_EINVAL;
}

/* ---- checks of single values -------------------------------------------- */

/* Addresses and CIDR blocks, as trusted_proxies (client.c). */
static const char *check_cidrs(const char *value)
{
    struct sg_proxies *p = NULL;
    char err[160];
    int rc = sg_proxies_parse(value, &p, err, sizeof(err));

    sg_proxies_free(p);
    return rc ? "expected addresses or CIDR blocks (127.0.0.1/32, ::1/128)"
              : NULL;
}

/* "unix:/absolute/path" or "host:port" (addr.c). */
static const char *check_redis(const char *value)
{
    struct sg_addr a;

    return sg_addr_parse(value, &a);
}

/* "host:port, host:port, ...": TCP addresses (sentinels listen on TCP),
 * SG_SENTINELS_MAX at most, each as check_redis reads it. */
static const char *check_sentinels(const char *value)
{
    struct sg_addr a[SG_SENTINELS_MAX];
    size_t n;

    return sg_addr_parse_list(value, a, SG_SENTINELS_MAX, &n);
}

/* "host:port, ...": a cluster's seed nodes, SG_CLUSTER_SEEDS_MAX at most. */
static const char *check_cluster(const char *value)
{
    struct sg_addr a[SG_CLUSTER_SEEDS_MAX];
    size_t n;

    return sg_addr_parse_list(value, a, SG_CLUSTER_SEEDS_MAX, &n);
}

/* What a sentinel's config takes as a master's name, within reason. */
static const char *check_master_name(const char *value)
{
    size_t len = strlen(value), i;

    for (i = 0; i < len; i++)
        if (!isalnum((unsigned char)value[i]) && !strchr("-_.:", value[i]))
            break;
    if (len > 64 || i < len)
        return "expected 1 to 64 letters, digits or -_.:";
    return NULL;
}

/* Braces are refused because Redis Cluster reads "{...}" in a key as its
 * hash tag: a brace in the prefix would override the per-user tags the
 * store puts in its keys. */
static const char *check_key_prefix(const char *value)
{
    size_t len = strlen(value), i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c <= ' ' || c == 0x7f || c == '{' || c == '}')
            break;
    }
    if (len > 64 || i < len)
        return "expected 1 to 64 characters, none of them whitespace, "
               "'{' or '}'";
    return NULL;
}

/* A path prefix as a client writes it: "/api/v1", compared byte for
 * byte with the start of REQUEST_URI, so nothing that a server would
 * decode or normalise (escapes, dot segments, "//") and no query. */
static const char *check_mount(const char *value)
{
    static const char expected[] =
        "expected a path such as /api/v1: '/' and then segments of "
        "letters, digits and -._~!$&'()*+,=:@, without a trailing '/'";
    const char *p = value;

    if (*p != '/' || strlen(value) > 256)
        return expected;
    while (*p == '/') {
        /* no ';': the mount also goes into the refresh cookie's Path */
        size_t n = strspn(++p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
                               "vwxyz0123456789-._~!$&'()*+,=:@");
        if (n == 0 || (n == 1 && p[0] == '.') ||
            (n == 2 && p[0] == '.' && p[1] == '.'))
            return expected;
        p += n;
    }
    return *p ? expected : NULL;
}

/* ---- the file ------------------------------------------------------------ */

static const struct option *find_option(const char *name)
{
    size_t i;

    for (i = 0; i < SG_ARRAY_LEN(options); i++)
        if (strcmp(options[i].name, name) == 0)
            return &options[i];
    return NULL;
}

static int apply(struct parser *p, const char *key, const char *value)
{
    char why[256], valbuf[SG_CONFIG_MAX_SHOWN];
    const struct option *opt;
    size_t i;
    int rc;

    for (i = 0; i < SG_ARRAY_LEN(inline_secrets); i++)
        if (strcmp(key, inline_secrets[i].name) == 0)
            return fail(p, key, "secrets are not accepted inline: use %s",
                        inline_secrets[i].instead);
    if (!(opt = find_option(key)))
        return fail(p, key, "unknown key");
    /* sg_config_dump writes the line back as "key = value": a value that
     * fits only a tighter spelling would not parse back */
    if (strlen(opt->name) + strlen(" = ") + strlen(value) > SG_CONFIG_MAX_LINE)
        return fail(p, key, "value longer than %zu bytes",
                    SG_CONFIG_MAX_LINE - strlen(" = ") - strlen(opt->name));
    i = (size_t)(opt - options);
    if (p->seen[i])
        return fail(p, key, "repeated key (first set on line %u)", p->seen[i]);
    p->seen[i] = p->line;
    rc = set_value(p->cfg, opt, value, why, sizeof(why));
    if (rc == SG_ENOMEM) {
        fail(p, key, "out of memory");
        return SG_ENOMEM;
    }
    if (rc < 0 && *value == '\0')
        return fail(p, key, "%s", why);
    if (rc < 0)
        return fail(p, key, "%s, got \"%s\"", why,
                    shown(valbuf, sizeof(valbuf), value));
    return 0;
}

/* line is one NUL-terminated line without its line end; it is cut up in
 * place. No inline comments: a '#' after the '=' belongs to the value. */
static int parse_line(struct parser *p, char *line)
{
    char *s = trim(line), *eq;

    if (*s == '\0' || *s == '#')
        return 0;
    if (!(eq = strchr(s, '=')))
        return fail(p, NULL, "missing '=': expected \"key = value\"");
    *eq = '\0';
    s = trim(s);
    if (*s == '\0')
        return fail(p, NULL, "missing key before '='");
    return apply(p, s, trim(eq + 1));
}

static int parse_lines(struct parser *p, const char *text, size_t len)
{
    char line[SG_CONFIG_MAX_LINE + 1];
    const char *end = text + len, *nl;
    size_t n;
    int rc;

    while (text < end) {
        p->line++;
        nl = memchr(text, '\n', (size_t)(end - text));
        n = (size_t)((nl ? nl : end) - text);
        if (n > 0 && text[n - 1] == '\r') /* CRLF */
            n--;
        if (memchr(text, '\0', n))
            return fail(p, NULL, "NUL byte in line");
        if (n > SG_CONFIG_MAX_LINE)
            return fail(p, NULL, "line longer than %d bytes",
                        SG_CONFIG_MAX_LINE);
        memcpy(line, text, n);
        line[n] = '\0';
        if ((rc = parse_line(p, line)) < 0)
            return rc;
        text = nl ? nl + 1 : end;
    }
    return 0;
}

/* The line that set key, or 0 if it kept its default. */
static unsigned line_of(const struct parser *p, const char *key)
{
    return p->seen[find_option(key) - options];
}

/* redis_tls and its files: TLS needs a TCP address (Redis serves its unix
 * socket in plain text), a certificate goes with its key, and a TLS file
 * set while TLS is off is a mistake, not a no-op. */
static int check_tls(struct parser *p)
{
    const struct sg_config *c = p->cfg;
    static const char *const files[] = {
        "redis_tls_ca_file", "redis_tls_cert_file", "redis_tls_key_file",
        "redis_tls_server_name"};
    struct sg_addr a;

    if (!c->redis_tls) {
        for (size_t i = 0; i < SG_ARRAY_LEN(files); i++) {
            const struct option *o = find_option(files[i]);
            if (!*(char **)((const char *)c + o->offset))
                continue;
            p->line = line_of(p, files[i]);
            return fail(p, files[i], "needs redis_tls = on");
        }
        return 0;
    }
    if (!c->redis_sentinels && !c->redis_cluster &&
        sg_addr_parse(c->redis, &a) == NULL && a.is_unix) {
        p->line = line_of(p, "redis_tls");
        return fail(p, "redis_tls", "needs a host:port redis address "
                                    "(Redis serves its unix socket without TLS)");
    }
    if (!c->redis_tls_cert_file != !c->redis_tls_key_file) {
        const char *set = c->redis_tls_cert_file ? "redis_tls_cert_file"
                                                 : "redis_tls_key_file";
        p->line = line_of(p, set);
        return fail(p, set, "needs %s too",
                    c->redis_tls_cert_file ? "redis_tls_key_file"
                                           : "redis_tls_cert_file");
    }
    return 0;
}

/* Sentinels need the master's name and the name needs sentinels; a
 * sentinel password without sentinels is a mistake. */
static int check_sentinel_keys(struct parser *p)
{
    const struct sg_config *c = p->cfg;

    if (c->redis_sentinels && !c->redis_master_name) {
        p->line = line_of(p, "redis_sentinels");
        return fail(p, "redis_sentinels", "needs redis_master_name");
    }
    if (!c->redis_sentinels && c->redis_master_name) {
        p->line = line_of(p, "redis_master_name");
        return fail(p, "redis_master_name", "needs redis_sentinels");
    }
    if (!c->redis_sentinels && c->redis_sentinel_password_file) {
        p->line = line_of(p, "redis_sentinel_password_file");
        return fail(p, "redis_sentinel_password_file",
                    "needs redis_sentinels");
    }
    return 0;
}

/* A cluster is found from its seeds, not from sentinels; it has only
 * database 0; and what does not fit in one slot per call is refused
 * (docs/CLUSTER.md): the revocation stream of verify_mode = local, and a
 * per-user limit counted by address across users. */
static int check_cluster_keys(struct parser *p)
{
    const struct sg_config *c = p->cfg;

    if (!c->redis_cluster)
        return 0;
    if (c->redis_sentinels) {
        p->line = line_of(p, "redis_sentinels");
        return fail(p, "redis_sentinels", "cannot be used with redis_cluster");
    }
    if (c->redis_db != 0) {
        p->line = line_of(p, "redis_db");
        return fail(p, "redis_db",
                    "must be 0 with redis_cluster (a cluster has only "
                    "database 0)");
    }
    if (c->verify_mode == SG_VERIFY_LOCAL) {
        p->line = line_of(p, "verify_mode");
        return fail(p, "verify_mode",
                    "local is not supported with redis_cluster yet "
                    "(docs/CLUSTER.md)");
    }
    if (c->ratelimit_user.limit && c->ratelimit_user.key == SG_LIMIT_IP) {
        p->line = line_of(p, "ratelimit_user");
        return fail(p, "ratelimit_user",
                    "cannot count by ip with redis_cluster: one address's "
                    "count across users lives in no user's slot "
                    "(docs/CLUSTER.md)");
    }
    return 0;
}

/* Checks that involve more than one key, reported on the line that set
 * jwt_algorithm (or else the line that emptied the key it needs). */
static int check_config(struct parser *p)
{
    const struct option *alg = find_option("jwt_algorithm"), *needs;
    size_t i;

    if (check_tls(p) < 0 || check_sentinel_keys(p) < 0 ||
        check_cluster_keys(p) < 0)
        return -1;

    for (i = 0; i < SG_ARRAY_LEN(algorithm_needs); i++) {
        if (strcmp(p->cfg->jwt_algorithm, algorithm_needs[i].algorithm) != 0)
            continue;
        needs = find_option(algorithm_needs[i].needs);
        if (*(char **)((char *)p->cfg + needs->offset))
            continue;
        p->line = p->seen[alg - options] ? p->seen[alg - options]
                                         : p->seen[needs - options];
        return fail(p, alg->name, "%s needs %s", algorithm_needs[i].algorithm,
                    needs->name);
    }
    return 0;
}

struct sg_config *sg_config_new_default(void)
{
    struct sg_config *cfg = calloc(1, sizeof(*cfg));
    char why[256];
    size_t i;

    if (!cfg)
        return NULL;
    for (i = 0; i < SG_ARRAY_LEN(options); i++) {
        if (set_value(cfg, &options[i], options[i].def, why, sizeof(why))) {
            sg_config_free(cfg); /* out of memory, or a bad table row */
            return NULL;
        }
    }
    return cfg;
}

struct sg_config *sg_config_parse(const char *name, const char *text,
                                  size_t len, char *err, size_t errlen)
{
    struct parser p = {.name = name, .err = err, .errlen = errlen};

    if (errlen > 0)
        err[0] = '\0';
    if (!(p.cfg = sg_config_new_default())) {
        fail(&p, NULL, "out of memory");
        return NULL;
    }
    if (parse_lines(&p, text, len) < 0 || check_config(&p) < 0) {
        sg_config_free(p.cfg);
        return NULL;
    }
    return p.cfg;
}

static void load_error(struct parser *p, int rc)
{
    if (rc == SG_ETOOBIG)
        fail(p, NULL, "larger than %d bytes", SG_CONFIG_MAX_FILE);
    else if (rc == SG_ENOMEM)
        fail(p, NULL, "out of memory");
    else if (errno == EINVAL)
        fail(p, NULL, "not a regular file");
    else
        fail(p, NULL, "%s", strerror(errno));
}

struct sg_config *sg_config_load(const char *path, char *err, size_t errlen)
{
    struct parser p = {.name = path, .err = err, .errlen = errlen};
    struct sg_config *cfg;
    size_t len;
    char *text;
    int rc;

    rc = sg_config_read_file(path, SG_CONFIG_MAX_FILE, false, &text, &len);
    if (rc < 0) {
        load_error(&p, rc);
        return NULL;
    }
    cfg = sg_config_parse(path, text, len, err, errlen);
    sg_wipe(text, len); /* in case someone wrote a secret in it anyway */
    free(text);
    if (cfg && !(cfg->path = strdup(path))) {
        sg_config_free(cfg);
        fail(&p, NULL, "out of memory");
        return NULL;
    }
    return cfg;
}

void sg_config_free(struct sg_config *cfg)
{
    size_t i;

    if (!cfg)
        return;
    for (i = 0; i < SG_ARRAY_LEN(options); i++)
        if (options[i].type == T_STRING)
            free(*(char **)((char *)cfg + options[i].offset));
    free(cfg->path);
    free(cfg);
}

/* ---- dump ---------------------------------------------------------------- */

/* The value of opt in cfg as the file would spell it: in buf, or the
 * string field itself. */
static const char *format_value(const struct sg_config *cfg,
                                const struct option *opt, char *buf, size_t cap)
{
    const void *field = (const char *)cfg + opt->offset;
    const char *s;

    buf[0] = '\0';
    switch (opt->type) {
    case T_INT:
        if (!(opt->optional && *(const int *)field == -1))
            snprintf(buf, cap, "%d", *(const int *)field);
        break;
    case T_MODE:
        snprintf(buf, cap, "%04o", (unsigned)*(const int *)field);
        break;
    case T_SIZE:
        format_size(buf, cap, *(const size_t *)field);
        break;
    case T_SECONDS:
        snprintf(buf, cap, "%" PRId64 "s", *(const int64_t *)field);
        if (*(const int64_t *)field <= INT64_MAX / SEC)
            format_duration(buf, cap, *(const int64_t *)field * SEC);
        break;
    case T_MILLIS:
        format_duration(buf, cap, *(const int64_t *)field);
        break;
    case T_ENUM:
        return word_for(opt->words, *(const int *)field);
    case T_BOOL:
        return word_for(opt->words ? opt->words : bool_words,
                        *(const bool *)field);
    case T_STRING:
        s = *(char *const *)field;
        return s ? s : "";
    case T_LIMIT: {
        const struct sg_rate_policy *p = field;
        char d[24];
        if (!p->limit)
            return "off";
        format_duration(d, sizeof(d), p->window_ms);
        snprintf(buf, cap, "%d/%s %s", p->limit, d,
                 word_for(limit_keys, (int)p->key));
        break;
    }
    }
    return buf;
}

char *sg_config_dump(const struct sg_config *cfg)
{
    char buf[64], *out = NULL, *grown;
    const char *value;
    size_t len = 0, cap = 0, need, i;

    for (i = 0; i < SG_ARRAY_LEN(options); i++) {
        value = format_value(cfg, &options[i], buf, sizeof(buf));
        need = strlen(options[i].name) + strlen(value) + sizeof(" = \n");
        if (len + need > cap) {
            cap = (len + need) * 2;
            if (!(grown = realloc(out, cap))) {
                free(out);
                return NULL;
            }
            out = grown;
        }
        len += (size_t)snprintf(out + len, cap - len, "%s =%s%s\n",
                                options[i].name, *value ? " " : "", value);
    }
    return out ? out : calloc(1, 1);
}

/* ---- small files ----------------------------------------------------------
 */

static int read_fd(int fd, size_t max, char **out, size_t *outlen)
{
    struct stat st;
    size_t len = 0;
    ssize_t n;
    char *buf;

    if (fstat(fd, &st) < 0)
        return SG_EIO;
    if (!S_ISREG(st.st_mode)) {
        errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        return SG_EIO;
    }
    if ((uintmax_t)st.st_size > max || (uintmax_t)st.st_size >= SIZE_MAX) {
        errno = EFBIG;
        return SG_ETOOBIG;
    }
    if (!(buf = malloc((size_t)st.st_size + 1)))
        return SG_ENOMEM;
    /* Read what fstat promised; a file that grows meanwhile is cut there. */
    while (len < (size_t)st.st_size) {
        n = read(fd, buf + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            sg_wipe(buf, len);
            free(buf);
            return SG_EIO;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return 0;
}

int sg_config_read_file(const char *path, size_t max, bool strip, char **out,
                        size_t *outlen)
{
    size_t len;
    int fd, rc, saved;

    *out = NULL;
    /* O_NONBLOCK so that a FIFO cannot hang the open; it is refused next. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return SG_EIO;
    rc = read_fd(fd, max, out, &len);
    saved = errno;
    close(fd);
    errno = saved;
    if (rc < 0)
        return rc;
    while (strip && len > 0 &&
           ((*out)[len - 1] == '\n' || (*out)[len - 1] == '\r'))
        (*out)[--len] = '\0';
    if (outlen)
        *outlen = len;
    return 0;
}
