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

static int parse(const char *body, const char **why)
{
    struct sg_request req = {0};
    int rc;

    req.body = body;
    req.body_len = strlen(body);
    rc = sg_request_parse_json(&req, why);
    sg_request_release(&req);
    return rc;
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
    return tap_done();
}
