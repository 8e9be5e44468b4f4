/* Unit tests for json.c: times, roles, the user/session shapes, and
 * valid UTF-8 JSON out whatever bytes go in. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "tap.h"
#include "utf8.h"

static const char *str(json_object *o)
{
    return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

/* The hand-written strings and roles parse back, with json-c, to exactly
 * what went in, whatever bytes went in. */
static void test_writers(void)
{
    const char odd[] = "a\"b\\c\x01\n\x1f/\x7f\xc3\xa9z";
    struct sg_buf b = {0};
    json_object *o;

    TAP_IS_INT(sg_json_put_string(&b, odd, sizeof(odd) - 1), SG_OK,
               "put_string");
    o = json_tokener_parse(b.data);
    TAP_OK(o && json_object_is_type(o, json_type_string) &&
               json_object_get_string_len(o) == (int)sizeof(odd) - 1 &&
               !memcmp(json_object_get_string(o), odd, sizeof(odd) - 1),
           "escaped string parses back to the same bytes");
    json_object_put(o);

    sg_buf_reset(&b);
    TAP_IS_INT(sg_json_put_string(&b, "plain", 5), SG_OK, "sg_json_put_string");
    TAP_IS_STR(b.data, "\"plain\"", "plain string as is");

    sg_buf_reset(&b);
    TAP_IS_INT(sg_json_put_roles(&b, "a,,b\","), SG_OK, "sg_json_put_roles");
    TAP_IS_STR(b.data, "[\"a\",\"b\\\"\"]",
               "roles: empty skipped, quote escaped");
    sg_buf_reset(&b);
    TAP_IS_INT(sg_json_put_roles(&b, ""), SG_OK, "sg_json_put_roles");
    TAP_IS_STR(b.data, "[]", "no roles");
    sg_buf_free(&b);
}

/* Every byte written is valid UTF-8 JSON (RFC 8259 section 8.1), what
 * ever bytes went in: ill-formed input (RFC 3629 section 3) comes out as
 * U+FFFD, one per maximal subpart (Unicode section 3.9), and well-formed
 * characters around it are kept. */
static void test_writers_utf8(void)
{
    static const struct {
        const char *in, *out, *name;
    } cases[] = {
        {"a\xff"
         "b",
         "\"a\xef\xbf\xbd"
         "b\"",
         "0xff"},
        {"\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"",
         "overlong: two bytes replaced"},
        {"\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"",
         "encoded surrogate: three replaced"},
        {"x\xe2\x82", "\"x\xef\xbf\xbd\"", "truncated at the end: one"},
        {"\xe2\x82"
         "a",
         "\"\xef\xbf\xbd"
         "a\"",
         "truncated before ASCII: one"},
        {"\xf4\x90\x80\x80",
         "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"",
         "past U+10FFFF: four"},
        {"\xc3\xa9\x80\xe2\x82\xac", "\"\xc3\xa9\xef\xbf\xbd\xe2\x82\xac\"",
         "valid kept around a stray continuation"},
        {"\x01\"\xff", "\"\\u0001\\\"\xef\xbf\xbd\"",
         "escapes and replacement"},
    };
    struct sg_buf b = {0};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sg_buf_reset(&b);
        TAP_IS_INT(sg_json_put_string(&b, cases[i].in, strlen(cases[i].in)),
                   SG_OK, "put_string of ill-formed input");
        TAP_IS_STR(b.data, cases[i].out, cases[i].name);
    }
    sg_buf_free(&b);
}

/* Random bytes in: the output is well-formed UTF-8, has no raw control
 * byte, and json-c in strict mode parses it back to a string that is
 * the input itself whenever the input was well-formed. */
static void test_writers_random(void)
{
    char in[24];
    struct sg_buf b = {0};
    uint32_t seed = 42;
    unsigned long bad = 0;

    for (int round = 0; round < 50000; round++) {
        size_t len = (size_t)(round % 24);
        json_tokener *tok = json_tokener_new();
        json_object *o;

        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            in[i] = (char)(seed >> 16 & 1 ? 0x80 | (seed >> 20 & 0x7f)
                                          : seed >> 24);
        }
        sg_buf_reset(&b);
        bad += sg_json_put_string(&b, in, len) != SG_OK ||
               !sg_utf8_valid(b.data, b.len);
        for (size_t i = 0; i < b.len; i++)
            bad += (unsigned char)b.data[i] < 0x20;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        o = json_tokener_parse_ex(tok, b.data, (int)b.len);
        bad += !o || !json_object_is_type(o, json_type_string);
        if (o && sg_utf8_valid(in, len))
            bad += json_object_get_string_len(o) != (int)len ||
                   memcmp(json_object_get_string(o), in, len) != 0;
        json_object_put(o);
        json_tokener_free(tok);
    }
    TAP_IS_INT(bad, 0, "random input: valid UTF-8 JSON, same text when valid");
    sg_buf_free(&b);
}

static void test_json_string(void)
{
    json_object *o = sg_json_string("a\0\xc3\xa9\xc3", 5);

    TAP_OK(o && json_object_get_string_len(o) == 7 &&
               !memcmp(json_object_get_string(o), "a\0\xc3\xa9\xef\xbf\xbd", 7),
           "sg_json_string: NUL kept, truncated character replaced");
    TAP_IS_STR(str(o), "\"a\\u0000\xc3\xa9\xef\xbf\xbd\"",
               "and written as JSON");
    json_object_put(o);
}

/* Values already stored (by an older version, or by hand in Redis) may
 * not be UTF-8: the json-c shapes repair them, as json-c would write the
 * bytes as they are. */
static void test_shapes_utf8(void)
{
    struct sg_user u = {.id = "u1",
                        .email = "a@b.co",
                        .name = "Jos\xe9 \xc3\xa9",
                        .roles = "r\xff",
                        .created_at = 0};
    struct sg_session s = {
        .id = "s1", .ip = "::1", .user_agent = "Mozilla\xf0\x9f\x98"};
    json_object *o;

    o = sg_json_user(&u);
    TAP_IS_STR(str(o),
               "{\"id\":\"u1\",\"email\":\"a@b.co\",\"name\":"
               "\"Jos\xef\xbf\xbd \xc3\xa9\",\"roles\":[\"r\xef\xbf\xbd\"],"
               "\"created_at\":\"1970-01-01T00:00:00Z\"}",
               "stored Latin-1 name and role come out as U+FFFD");
    json_object_put(o);
    o = sg_json_session(&s, false);
    TAP_OK(strstr(str(o), "\"user_agent\":\"Mozilla\xef\xbf\xbd\""),
           "stored user agent cut inside a character ends in U+FFFD");
    json_object_put(o);
}

/* sg_time_rfc3339 writes its digits by hand: the same text as printf's
 * at 10,000 times spread over 0001..9999, at year 0 and around the epoch
 * (RFC 3339's 4-digit year, which glibc's %Y does not pad), and
 * strftime's outside years 0..9999. */
static void test_time_rfc3339(void)
{
    const int64_t day = 86400LL * 1000;
    char got[SG_TIME_RFC3339_MAX], want[96]; /* room for any int fields */
    int64_t samples[] = {0, 999, 1000, 951782400000 /* 2000-02-29 */,
                         -1000, -62135596800000 /* 0001-01-01 */,
                         253402300799000 /* 9999-12-31T23:59:59 */,
                         253402300800000 /* 10000-01-01 */,
                         -62167219200000 /* 0000-01-01 */,
                         -62162035200000 /* 0000-02-29 */,
                         -62167219201000 /* -0001-12-31T23:59:59 */,
                         -86401000, -86400000, -86399000, -1};
    bool same = true;

    for (int i = 0; i < 10000 + (int)SG_ARRAY_LEN(samples); i++) {
        /* a year, 2 h 12 min and 13 ms apart: every month, hour and
         * second comes up */
        int64_t step = 365 * day + 7919 * 1000 + 13;
        int64_t ms = i < 10000 ? -62135596800000 + (int64_t)i * step
                               : samples[i - 10000];
        time_t t = (time_t)(ms / 1000);
        struct tm tm;

        sg_time_rfc3339(got, ms);
        if (!gmtime_r(&t, &tm))
            strcpy(want, "1970-01-01T00:00:00Z");
        else if (tm.tm_year + 1900 >= 0 && tm.tm_year + 1900 <= 9999)
            snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02dZ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
        else if (!strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm))
            strcpy(want, "1970-01-01T00:00:00Z");
        if (strcmp(got, want) != 0) {
            printf("# %lld: %s, strftime %s\n", (long long)ms, got, want);
            same = false;
        }
    }
    TAP_OK(same, "rfc3339: as printf writes it, years 0 to 9999, strftime around");
}

int main(void)
{
    json_object *o;
    struct sg_user u = {.id = "u1",
                        .email = "a@b.co",
                        .name = "A",
                        .roles = "admin,user",
                        .created_at = 1795392000000,
                        .password = "pbkdf2-sha256$secret"};
    struct sg_session s = {.id = "s1",
                           .created_at = 0,
                           .last_access = 1000,
                           .expires_at = 86400000,
                           .ip = "::1",
                           .user_agent = "curl",
                           .request_count = 7};

    test_writers();
    test_writers_utf8();
    test_shapes_utf8();
    test_writers_random();
    test_json_string();
    o = sg_json_time(1795392000123);
    TAP_IS_STR(json_object_get_string(o), "2026-11-23T00:00:00Z", "RFC 3339");
    json_object_put(o);
    test_time_rfc3339();
    o = sg_json_roles("admin,user");
    TAP_IS_STR(str(o), "[\"admin\",\"user\"]", "roles array");
    json_object_put(o);
    o = sg_json_roles("");
    TAP_IS_STR(str(o), "[]", "no roles");
    json_object_put(o);
    o = sg_json_roles("a,,b,");
    TAP_IS_STR(str(o), "[\"a\",\"b\"]", "empty roles skipped");
    json_object_put(o);
    o = sg_json_user(&u);
    TAP_OK(!strstr(str(o), "pbkdf2") && !strstr(str(o), "password"),
           "never the password hash");
    TAP_IS_STR(str(o),
               "{\"id\":\"u1\",\"email\":\"a@b.co\",\"name\":\"A\",\"roles\":"
               "[\"admin\",\"user\"],\"created_at\":\"2026-11-23T00:00:00Z\"}",
               "user shape");
    json_object_put(o);
    o = sg_json_session(&s, true);
    TAP_IS_STR(str(o),
               "{\"id\":\"s1\",\"created_at\":\"1970-01-01T00:00:00Z\","
               "\"last_access\":\"1970-01-01T00:00:01Z\",\"expires_at\":"
               "\"1970-01-02T00:00:00Z\",\"ip_address\":\"::1\","
               "\"user_agent\":\"curl\",\"request_count\":7,\"current\":true}",
               "session shape");
    json_object_put(o);
    return tap_done();
}
