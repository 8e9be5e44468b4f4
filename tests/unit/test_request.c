/* Unit tests for request.c: path and query derivation, body framing,
 * request ids, media types and strict JSON bodies. */
#include <string.h>

#include "params.h"
#include "request.h"
#include "tap.h"

static void init(struct sg_request *req, const char **kv)
{
    sg_request_init(req, test_env(kv), 16384, 1000);
}

static void test_paths(void)
{
    struct sg_request req;
    const char *apache[] = {
        "REQUEST_METHOD", "GET",     "SCRIPT_NAME", "/api/v1",
        "PATH_INFO",      "/health", "REQUEST_URI", "/api/v1/health?x=1",
        "QUERY_STRING",   "x=1",     NULL};
    const char *nginx[] = {"REQUEST_METHOD", "GET", "REQUEST_URI",
                           "/api/v1/health?a=b&c", NULL};
    const char *empty_pi[] = {"PATH_INFO", "", "REQUEST_URI", "/x/y", NULL};
    const char *nothing[] = {NULL};

    init(&req, apache);
    TAP_IS_STR(req.path_info, "/health", "PATH_INFO kept");
    TAP_IS_STR(req.script_name, "/api/v1", "SCRIPT_NAME kept");
    TAP_IS_STR(req.request_uri, "/api/v1/health?x=1", "REQUEST_URI kept");
    TAP_OK(req.path == NULL, "the route path is the router's to choose");
    TAP_IS_STR(req.query, "x=1", "QUERY_STRING kept");
    TAP_IS_STR(req.method, "GET", "method");

    init(&req, nginx);
    TAP_IS_STR(req.query, "a=b&c", "query from REQUEST_URI");

    init(&req, empty_pi);
    TAP_OK(req.path_info == NULL, "empty PATH_INFO is none");

    init(&req, nothing);
    TAP_OK(!req.request_uri && !req.path_info, "no path at all");
    TAP_IS_STR(req.method, "", "no method is empty");
    TAP_IS_STR(req.remote_addr, "", "no REMOTE_ADDR is empty");
}

static void test_body_framing(void)
{
    struct sg_request req;
    const char *ok[] = {"CONTENT_LENGTH", "12", NULL};
    const char *big[] = {"CONTENT_LENGTH", "16385", NULL};
    const char *limit[] = {"CONTENT_LENGTH", "16384", NULL};
    const char *neg[] = {"CONTENT_LENGTH", "-1", NULL};
    const char *junk[] = {"CONTENT_LENGTH", "12abc", NULL};
    const char *huge[] = {"CONTENT_LENGTH", "99999999999999999999999", NULL};

    init(&req, ok);
    TAP_IS_INT(req.content_length, 12, "content length parsed");
    TAP_OK(!req.body_too_large && !req.body_invalid, "12 is fine");
    init(&req, limit);
    TAP_OK(!req.body_too_large, "exactly the limit is allowed");
    init(&req, big);
    TAP_OK(req.body_too_large, "one over the limit is too large");
    TAP_IS_INT(req.content_length, 0, "too large is never read");
    init(&req, neg);
    TAP_OK(req.body_invalid, "negative length is invalid");
    init(&req, junk);
    TAP_OK(req.body_invalid, "trailing junk is invalid");
    init(&req, huge);
    TAP_OK(req.body_invalid || req.body_too_large, "overflow is refused");
}

static void test_request_ids(void)
{
    struct sg_request req;
    const char *sane[] = {"HTTP_X_REQUEST_ID", "abc-123_X.y", NULL};
    const char *evil[] = {"HTTP_X_REQUEST_ID", "abc\r\nSet-Cookie: x", NULL};
    char long_id[200];
    const char *toolong[] = {"HTTP_X_REQUEST_ID", long_id, NULL};

    init(&req, sane);
    TAP_IS_STR(req.request_id, "abc-123_X.y", "sane id echoed");
    init(&req, evil);
    TAP_OK(strlen(req.request_id) == 32 && !strchr(req.request_id, '\r'),
           "header injection replaced by a generated id");
    memset(long_id, 'a', 129);
    long_id[129] = '\0';
    init(&req, toolong);
    TAP_IS_INT(strlen(req.request_id), 32, "129 chars replaced");
    long_id[128] = '\0';
    init(&req, toolong);
    TAP_IS_INT(strlen(req.request_id), 128, "128 chars echoed");
    TAP_OK(!sg_request_id_is_sane(""), "empty id is not sane");
    TAP_OK(!sg_request_id_is_sane(NULL), "no id is not sane");
}

static void test_media_type(void)
{
    struct sg_request req = {0};

    req.content_type = "application/json";
    TAP_OK(sg_request_is_json(&req), "application/json");
    req.content_type = "Application/JSON; charset=utf-8";
    TAP_OK(sg_request_is_json(&req), "case and charset");
    req.content_type = "application/jsonx";
    TAP_OK(!sg_request_is_json(&req), "prefix is not enough");
    req.content_type = "text/plain";
    TAP_OK(!sg_request_is_json(&req), "text/plain");
    req.content_type = NULL;
    TAP_OK(!sg_request_is_json(&req), "absent");
}

static int parse_len(const char *body, size_t len, const char **why)
{
    struct sg_request req = {0};
    int rc;

    req.body = body;
    req.body_len = len;
    rc = sg_request_parse_json(&req, why);
    sg_request_release(&req);
    return rc;
}

static int parse(const char *body, const char **why)
{
    return parse_len(body, strlen(body), why);
}

static void test_json(void)
{
    struct sg_request req = {0};
    const char *why = NULL, *s;
    size_t len;
    static const char nul_body[] = "{\"email\":\"a\\u0000b\"}";

    TAP_IS_INT(parse("{\"a\":1}", &why), SG_OK, "object parses");
    TAP_IS_INT(parse(" {\"a\":{\"a\":1,\"a\":2}} \n", &why), SG_OK,
               "nested repeats are not our business");
    TAP_IS_INT(parse("{\"a\":1,\"a\":2}", &why), SG_EINVAL, "repeated key");
    TAP_IS_STR(why, "The body repeats a field.", "repeated key reason");
    TAP_IS_INT(parse("{\"a\\\"\":1,\"a\\\"\":2}", &why), SG_EINVAL,
               "repeated escaped key");
    TAP_IS_INT(parse("{\"email\":", &why), SG_EINVAL, "truncated JSON");
    TAP_IS_INT(parse("{\"a\":1} x", &why), SG_EINVAL, "trailing data");
    TAP_IS_INT(parse("[1,2]", &why), SG_EINVAL, "array is not an object");
    TAP_IS_STR(why, "The body must be a JSON object.", "non-object reason");
    TAP_IS_INT(parse("{'a':1}", &why), SG_EINVAL, "single quotes");
    TAP_IS_INT(parse("{\"a\":1,}", &why), SG_EINVAL, "trailing comma");

    req.body = "{\"email\":\"x@y.z\",\"n\":5,\"z\":null}";
    req.body_len = strlen(req.body);
    TAP_IS_INT(sg_request_parse_json(&req, &why), SG_OK, "fields body");
    TAP_IS_INT(sg_request_json_string(&req, "email", 100, &s, &len), SG_OK,
               "string field");
    TAP_IS_STR(s, "x@y.z", "string field value");
    TAP_IS_INT(sg_request_json_string(&req, "n", 100, &s, &len), SG_EINVAL,
               "number is not a string");
    TAP_IS_INT(sg_request_json_string(&req, "z", 100, &s, &len), SG_ENOTFOUND,
               "null is absent");
    TAP_IS_INT(sg_request_json_string(&req, "q", 100, &s, &len), SG_ENOTFOUND,
               "missing is absent");
    TAP_IS_INT(sg_request_json_string(&req, "email", 3, &s, &len), SG_EINVAL,
               "over max is invalid");
    sg_request_release(&req);

    req.body = nul_body;
    req.body_len = strlen(nul_body);
    TAP_IS_INT(sg_request_parse_json(&req, &why), SG_OK, "NUL escape parses");
    TAP_IS_INT(sg_request_json_string(&req, "email", 100, &s, &len), SG_EINVAL,
               "embedded NUL refused");
    sg_request_release(&req);
}

/* RFC 8259 section 8.1: a JSON text is UTF-8; RFC 3629 section 3: no
 * overlong forms, no surrogates, nothing past U+10FFFF. json-c accepts
 * all of these (its VALIDATE_UTF8 flag checks only the byte count). */
static void test_json_utf8(void)
{
    static const struct {
        const char *body, *name;
    } bad[] = {
        {"{\"name\":\"\xc0\xaf\"}", "overlong '/'"},
        {"{\"name\":\"\xe0\x80\xaf\"}", "overlong 3-byte"},
        {"{\"name\":\"\xf0\x80\x80\xaf\"}", "overlong 4-byte"},
        {"{\"name\":\"\xed\xa0\x80\"}", "UTF-8 encoded surrogate"},
        {"{\"name\":\"\xed\xbf\xbf\"}", "UTF-8 encoded low surrogate"},
        {"{\"name\":\"\xf4\x90\x80\x80\"}", "past U+10FFFF"},
        {"{\"name\":\"\xe2\x82\"}", "truncated sequence"},
        {"{\"name\":\"\x80\"}", "lone continuation byte"},
        {"{\"name\":\"\xff\"}", "0xff"},
        {"{\"na\xe9me\":\"a\"}", "Latin-1 in a key"},
        {"{\"a\":1}\xc3", "invalid byte after the value"},
    };
    static const char nul_in_ws[] = "{\"a\":1}\0";
    const char *why = NULL;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        TAP_IS_INT(parse(bad[i].body, &why), SG_EINVAL, bad[i].name);
        TAP_IS_STR(why, "The body is not valid UTF-8.", "invalid UTF-8 reason");
    }
    TAP_IS_INT(parse_len(nul_in_ws, sizeof(nul_in_ws) - 1, &why), SG_EINVAL,
               "raw NUL after the value");
    TAP_IS_INT(parse("{\"name\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}",
                     &why),
               SG_OK, "2-, 3- and 4-byte characters accepted");
    TAP_IS_INT(parse("{\"n\xc3\xa4me\":\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"}",
                     &why),
               SG_OK, "non-ASCII key, U+FFFF and U+10FFFF accepted");
}

/* RFC 8259 section 7: the control characters U+0000..U+001F MUST be
 * escaped inside strings; json-c takes them raw even in STRICT mode. */
static void test_json_controls(void)
{
    static const char raw_nul[] = "{\"a\":\"x\0y\"}";
    const char *why = NULL;

    TAP_IS_INT(parse("{\"a\":\"x\x01y\"}", &why), SG_EINVAL,
               "raw U+0001 in a value");
    TAP_IS_STR(why, "The body has a control character inside a string.",
               "control character reason");
    TAP_IS_INT(parse("{\"a\":\"x\ty\"}", &why), SG_EINVAL,
               "raw tab in a value");
    TAP_IS_INT(parse("{\"a\nb\":1}", &why), SG_EINVAL, "raw LF in a key");
    TAP_IS_INT(parse("{\"a\":[\"\x1f\"]}", &why), SG_EINVAL,
               "raw U+001F nested");
    TAP_IS_INT(parse_len(raw_nul, sizeof(raw_nul) - 1, &why), SG_EINVAL,
               "raw NUL in a value");
    TAP_IS_INT(parse("{\"a\":\"x\\t\\n\\u001f\x7f\"}", &why), SG_OK,
               "escaped controls and DEL accepted");
    TAP_IS_INT(parse("{\t\"a\"\r\n:\n1 }", &why), SG_OK,
               "whitespace between tokens accepted");
}

/* \u0000 in a key: json-c cuts the key at the NUL, so "a\u0000b" would
 * be read as "a" (and could stand in for a field the client did not
 * name). RFC 8259 section 8.2: an unpaired surrogate escape is not a
 * character; json-c silently turns it into U+FFFD. Both are refused. */
static void test_json_escapes(void)
{
    const char *why = NULL;

    TAP_IS_INT(parse("{\"a\\u0000b\":1}", &why), SG_EINVAL,
               "\\u0000 in a key");
    TAP_IS_STR(why, "The body has \\u0000 in a field name.", "key NUL reason");
    TAP_IS_INT(parse("{\"email\\u0000\":\"x\",\"a\":1}", &why), SG_EINVAL,
               "\\u0000 at the end of a key");
    TAP_IS_INT(parse("{\"a\":{\"\\u0000\":1}}", &why), SG_EINVAL,
               "\\u0000 in a nested key");
    TAP_IS_INT(parse("{\"a\":\"\\ud800\"}", &why), SG_EINVAL,
               "lone high surrogate");
    TAP_IS_STR(why, "The body has an unpaired surrogate escape.",
               "surrogate reason");
    TAP_IS_INT(parse("{\"a\":\"\\ud800x\"}", &why), SG_EINVAL,
               "high surrogate, then a character");
    TAP_IS_INT(parse("{\"a\":\"\\ud800\\u0041\"}", &why), SG_EINVAL,
               "high surrogate, then a non-surrogate escape");
    TAP_IS_INT(parse("{\"a\":\"\\uD800\\uD800\"}", &why), SG_EINVAL,
               "two high surrogates");
    TAP_IS_INT(parse("{\"a\":\"\\udc00\"}", &why), SG_EINVAL,
               "lone low surrogate");
    TAP_IS_INT(parse("{\"\\udfff\":1}", &why), SG_EINVAL,
               "lone low surrogate in a key");
    TAP_IS_INT(parse("{\"a\":\"\\ud83d\\ude00\\u00e9\\u20AC\"}", &why),
               SG_OK, "surrogate pair and BMP escapes accepted");
    TAP_IS_INT(parse("{\"a\":\"\\\\ud800\"}", &why), SG_OK,
               "an escaped backslash before 'ud800' is no escape");
    TAP_IS_INT(parse("{\"a\":\"\\u0000\"}", &why), SG_OK,
               "\\u0000 in a value parses (sg_request_json_string refuses it)");
}

/* The one pass over the environment: exact names only, the first of a
 * repeated name, entries without '=' skipped, empty headers absent. */
static void test_environment(void)
{
    struct sg_request req;
    char *env[] = {"NOEQUALS",
                   "HTTP_AUTHORIZATION_X=Bearer wrong",
                   "HTTP_AUTHORIZATIO=Bearer wrong",
                   "HTTP_AUTHORIZATION=Bearer first",
                   "HTTP_AUTHORIZATION=Bearer second",
                   "HTTP_COOKIE=",
                   "REQUEST_METHOD=POST",
                   "HTTPS=on",
                   "FCGI_ROLE=AUTHORIZER",
                   "SG_REQUIRE_ROLE=admin",
                   "=value",
                   NULL};

    sg_request_init(&req, env, 16384, 1000);
    TAP_IS_STR(req.authorization, "Bearer first", "first value of a name");
    TAP_OK(req.cookie == NULL, "empty header is absent");
    TAP_IS_STR(req.method, "POST", "method after odd entries");
    TAP_IS_STR(req.scheme, "https", "HTTPS=on without REQUEST_SCHEME");
    TAP_OK(req.authorizer, "FCGI_ROLE AUTHORIZER");
    TAP_IS_STR(req.require_role, "admin", "SG_REQUIRE_ROLE");
    TAP_IS_STR(req.remote_addr, "", "no REMOTE_ADDR is empty");

    sg_request_init(&req, NULL, 16384, 1000);
    TAP_IS_STR(req.method, "", "no environment at all");
    TAP_IS_STR(req.scheme, "http", "default scheme");
}

int main(void)
{
    test_environment();
    test_paths();
    test_body_framing();
    test_request_ids();
    test_media_type();
    test_json();
    test_json_utf8();
    test_json_controls();
    test_json_escapes();
    return tap_done();
}
