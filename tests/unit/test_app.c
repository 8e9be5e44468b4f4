/* Unit tests for app.c: the request pipeline up to the store, with Redis
 * deliberately unreachable. The order of checks (route, method, framing,
 * media type, JSON, token, session header, CSRF) and the authorizer's
 * answers are all decided before any Redis call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "params.h"
#include "tap.h"

static struct sg_ctx *ctx;
static struct sg_response res;

static int run(const char **kv, const char *body)
{
    struct sg_request req;

    sg_request_init(&req, test_env(kv), ctx->cfg->max_body_bytes,
                    1795392000000);
    req.body = body ? body : "";
    req.body_len = body ? strlen(body) : 0;
    sg_response_reset(&res);
    sg_app_handle(ctx, &req, &res);
    sg_request_release(&req);
    return res.status;
}

static bool has(const char *where, const char *what)
{
    return where && strstr(where, what);
}

static void test_pipeline(void)
{
    const char *health[] = {"REQUEST_METHOD", "GET", "PATH_INFO", "/health",
                            NULL};
    const char *post_health[] = {"REQUEST_METHOD", "POST", "PATH_INFO",
                                 "/health", NULL};
    const char *nope[] = {"REQUEST_METHOD", "GET", "PATH_INFO", "/nope", NULL};
    const char *signin_json[] = {"REQUEST_METHOD",
                                 "POST",
                                 "PATH_INFO",
                                 "/auth/signin",
                                 "CONTENT_TYPE",
                                 "application/json",
                                 "CONTENT_LENGTH",
                                 "9",
                                 NULL};
    const char *signin_text[] = {"REQUEST_METHOD",
                                 "POST",
                                 "PATH_INFO",
                                 "/auth/signin",
                                 "CONTENT_TYPE",
                                 "text/plain",
                                 "CONTENT_LENGTH",
                                 "2",
                                 NULL};
    const char *signin_big[] = {
        "REQUEST_METHOD", "POST",         "PATH_INFO",
        "/auth/signin",   "CONTENT_TYPE", "application/json",
        "CONTENT_LENGTH", "999999",       NULL};
    const char *signin_badlen[] = {
        "REQUEST_METHOD", "POST", "PATH_INFO", "/auth/signin",
        "CONTENT_LENGTH", "x",    NULL};

    TAP_IS_INT(run(health, NULL), 200, "GET /health");
    TAP_IS_INT(run(nope, NULL), 404, "unknown route");
    TAP_OK(has(res.body.data, "NOT_FOUND"), "404 code");
    TAP_IS_INT(run(post_health, NULL), 405, "POST /health");
    TAP_OK(has(res.headers.data, "Allow: GET, HEAD\r\n"), "Allow header");
    TAP_IS_INT(run(signin_big, NULL), 413, "over max_body_bytes");
    TAP_IS_INT(run(signin_badlen, NULL), 400, "unparsable Content-Length");
    TAP_IS_INT(run(signin_text, "{}"), 415, "text/plain body");
    TAP_IS_INT(run(signin_json, NULL), 400, "empty body");
    TAP_IS_INT(run(signin_json, "{\"email\":"), 400, "malformed JSON");
    TAP_OK(has(res.body.data, "BAD_REQUEST"), "400 code");
    TAP_IS_INT(run(signin_json, "{\"a\":1,\"a\":2}"), 400, "repeated field");
}

static void test_auth(const char *token, const char *sid)
{
    char bearer[1200], cookie[1200];
    const char *none[] = {"REQUEST_METHOD", "GET", "PATH_INFO", "/auth/verify",
                          NULL};
    const char *garbage[] = {"REQUEST_METHOD",
                             "GET",
                             "PATH_INFO",
                             "/auth/verify",
                             "HTTP_AUTHORIZATION",
                             "Bearer abc.def.ghi",
                             NULL};
    const char *basic[] = {"REQUEST_METHOD",
                           "GET",
                           "PATH_INFO",
                           "/auth/verify",
                           "HTTP_AUTHORIZATION",
                           "Basic dXNlcjpwYXNz",
                           NULL};
    const char *good[] = {
        "REQUEST_METHOD",     "GET",  "PATH_INFO", "/auth/verify",
        "HTTP_AUTHORIZATION", bearer, NULL};
    const char *mismatch[] = {"REQUEST_METHOD",
                              "GET",
                              "PATH_INFO",
                              "/auth/verify",
                              "HTTP_AUTHORIZATION",
                              bearer,
                              "HTTP_X_SESSION_ID",
                              "0000",
                              NULL};
    const char *matching[] = {"REQUEST_METHOD",
                              "GET",
                              "PATH_INFO",
                              "/auth/verify",
                              "HTTP_AUTHORIZATION",
                              bearer,
                              "HTTP_X_SESSION_ID",
                              sid,
                              NULL};
    const char *csrf[] = {"REQUEST_METHOD", "DELETE", "PATH_INFO", "/sessions",
                          "HTTP_COOKIE",    cookie,   NULL};
    const char *csrf_ok[] = {"REQUEST_METHOD",
                             "DELETE",
                             "PATH_INFO",
                             "/sessions",
                             "HTTP_COOKIE",
                             cookie,
                             "HTTP_X_SESSIONGATE_CSRF",
                             "1",
                             NULL};

    snprintf(bearer, sizeof(bearer), "Bearer %s", token);
    snprintf(cookie, sizeof(cookie), "x=1; __Host-sg_access=%s", token);
    TAP_IS_INT(run(none, NULL), 401, "no token");
    TAP_OK(has(res.headers.data,
               "WWW-Authenticate: Bearer error=\"invalid_token\""),
           "401 has WWW-Authenticate");
    TAP_IS_INT(run(garbage, NULL), 401, "garbage token");
    TAP_IS_INT(run(basic, NULL), 401, "Basic is not Bearer");
    TAP_IS_INT(run(mismatch, NULL), 503, "mismatch checks the session too");
    TAP_IS_INT(run(matching, NULL), 503, "valid token, Redis down: 503");
    TAP_OK(has(res.headers.data, "Retry-After: 1"), "503 Retry-After");
    TAP_IS_INT(run(good, NULL), 503, "fail_closed by default");
    ((struct sg_config *)ctx->cfg)->on_store_error = SG_VERIFY_SIGNATURE_ONLY;
    TAP_IS_INT(run(good, NULL), 200, "verify_signature_only: 200");
    TAP_IS_INT(run(mismatch, NULL), 400, "X-Session-ID mismatch");
    TAP_OK(has(res.body.data, "SESSION_MISMATCH"), "mismatch code");
    TAP_OK(has(res.headers.data, "X-Session-ID: "),
           "mismatch names the session");
    TAP_OK(has(res.headers.data, "X-Sessiongate-Degraded: signature-only"),
           "degraded answer is marked");
    ((struct sg_config *)ctx->cfg)->on_store_error = SG_FAIL_CLOSED;
    TAP_IS_INT(run(csrf, NULL), 401, "cookie ignored when cookie_auth off");
    ((struct sg_config *)ctx->cfg)->cookie_auth = true;
    TAP_IS_INT(run(csrf, NULL), 403, "cookie DELETE without CSRF header");
    TAP_IS_INT(run(csrf_ok, NULL), 503, "cookie DELETE with header: on");
}

static void test_authorizer(const char *token)
{
    char bearer[1200];
    const char *anon[] = {"FCGI_ROLE", "AUTHORIZER",  "REQUEST_METHOD",
                          "GET",       "REQUEST_URI", "/private/a b",
                          NULL};
    const char *browser[] = {"FCGI_ROLE",   "AUTHORIZER",    "REQUEST_METHOD",
                             "GET",         "REQUEST_URI",   "/private/a b",
                             "HTTP_ACCEPT", "text/html,*/*", NULL};
    const char *admin[] = {"FCGI_ROLE",
                           "AUTHORIZER",
                           "REQUEST_METHOD",
                           "GET",
                           "HTTP_AUTHORIZATION",
                           bearer,
                           "SG_REQUIRE_ROLE",
                           "admin",
                           NULL};

    const char *no_role[] = {
        "FCGI_ROLE", "AUTHORIZER",         "REQUEST_METHOD",
        "GET",       "HTTP_AUTHORIZATION", bearer,
        NULL};

    snprintf(bearer, sizeof(bearer), "Bearer %s", token);
    TAP_IS_INT(run(anon, NULL), 401, "authorizer: no token");
    TAP_IS_INT(run(browser, NULL), 401, "browser: 401 without signin_url");
    ((struct sg_config *)ctx->cfg)->signin_url = strdup("/login");
    TAP_IS_INT(run(browser, NULL), 302, "browser: redirect");
    TAP_OK(has(res.headers.data, "Location: /login?next=/private/a%20b\r\n"),
           "Location carries next");
    TAP_IS_INT(run(anon, NULL), 401, "API client still 401");
    ((struct sg_config *)ctx->cfg)->on_store_error = SG_VERIFY_SIGNATURE_ONLY;
    TAP_IS_INT(run(no_role, NULL), 200, "signature-only authorizer: 200");
    TAP_OK(has(res.headers.data, "Variable-USER_ID: user1\r\n"),
           "Variable-USER_ID");
    TAP_OK(has(res.headers.data, "X-Sessiongate-Degraded: signature-only"),
           "signature-only answer is marked");
    /* the role is checked whether or not the store answers */
    TAP_IS_INT(run(admin, NULL), 403, "signature-only: role still required");
    TAP_OK(has(res.body.data, "FORBIDDEN"), "403 code");
    ((struct sg_config *)ctx->cfg)->on_store_error = SG_FAIL_CLOSED;
}

/* A route added to a table is checked as its row says: the handler of a
 * bearer route never runs without a valid token and its store call (here
 * Redis is unreachable: 503, not the handler's 200). */
static int added_calls;

static int added(struct sg_ctx *c, struct sg_request *q, struct sg_response *r,
                 struct sg_auth_call *call)
{
    added_calls++;
    return sg_response_ok(r, 200, NULL);
}

static void test_added_route(const char *token)
{
    static const struct sg_route table[] = {
        {"GET", "/added", 0, SG_BEARER, SG_OP_ME, SG_RL_USER, added},
        {"GET", "/added/admin", 0, SG_ADMIN, SG_OP_SESSIONS_LIST, SG_RL_USER,
         added},
        {"GET", "/added/open", 0, SG_OPEN, 0, SG_RL_NONE, added},
    };
    struct sg_router *saved = ctx->router;
    char auth[1024];
    const char *none[] = {"REQUEST_METHOD", "GET", "PATH_INFO", "/added", NULL};
    const char *bad[] = {
        "REQUEST_METHOD",     "GET",          "PATH_INFO", "/added",
        "HTTP_AUTHORIZATION", "Bearer x.y.z", NULL};
    const char *good[] = {"REQUEST_METHOD",     "GET", "PATH_INFO", "/added",
                          "HTTP_AUTHORIZATION", auth,  NULL};
    const char *admin[] = {
        "REQUEST_METHOD",     "GET", "PATH_INFO", "/added/admin",
        "HTTP_AUTHORIZATION", auth,  NULL};
    const char *open[] = {"REQUEST_METHOD", "GET", "PATH_INFO", "/added/open",
                          NULL};

    snprintf(auth, sizeof(auth), "Bearer %s", token);
    ctx->router = sg_router_new(table, SG_ARRAY_LEN(table), false);
    TAP_OK(ctx->router != NULL, "a table with an added route");
    added_calls = 0;
    TAP_OK(run(none, NULL) == 401, "added bearer route, no token: 401");
    TAP_OK(run(bad, NULL) == 401, "added bearer route, bad token: 401");
    TAP_OK(run(good, NULL) == 503,
           "added bearer route, good token: its store call runs first (503)");
    TAP_OK(run(admin, NULL) == 503, "added admin route: the store call too");
    TAP_OK(added_calls == 0, "the handler never ran");
    TAP_OK(run(open, NULL) == 200 && added_calls == 1,
           "an open route runs its handler");
    sg_router_free(ctx->router);
    ctx->router = saved;
}

int main(void)
{
    const char *srcdir = getenv("SG_SRCDIR") ? getenv("SG_SRCDIR") : ".";
    char text[1024], err[256], *token = NULL;
    struct sg_claims claims;
    struct sg_config *cfg;

    snprintf(text, sizeof(text),
             "redis = unix:/nonexistent/redis.sock\n"
             "redis_connect_timeout = 10ms\n"
             "jwt_secret_file = %s/tests/unit/keys/hs256.secret\n",
             srcdir);
    cfg = sg_config_parse("test", text, strlen(text), err, sizeof(err));
    TAP_OK(cfg != NULL, "config");
    ctx = sg_ctx_new(cfg, err, sizeof(err));
    TAP_OK(ctx != NULL, "context");
    if (!ctx) {
        printf("# %s\n", err);
        return tap_done();
    }
    sg_response_init(&res);
    TAP_IS_INT(
        sg_token_issue(
            ctx->keys, cfg, "user1",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaa",
            "user", 1795392000, &token, &claims),
        SG_OK, "sg_token_issue");
    test_pipeline();
    test_auth(token, claims.sid);
    test_authorizer(token);
    test_added_route(token);
    free(token);
    sg_response_free(&res);
    sg_ctx_free(ctx);
    sg_config_free(cfg);
    return tap_done();
}
