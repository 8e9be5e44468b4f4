/* harness.c -- see harness.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "params.h"

/* Low PBKDF2 work (the tests hash many passwords); limits small enough
 * to reach in a few requests; everything else the defaults. */
static const char defaults[] =
    "redis = unix:/nonexistent/redis.sock\n"
    "jwt_secret_file = %s/tests/unit/keys/hs256.secret\n"
    "pbkdf2_iterations = 1000\n"
    "max_sessions_per_user = 3\n"
    "ratelimit_signin = 5/1m ip\n"
    "ratelimit_signin_failure = 3/15m account\n"
    "ratelimit_register = 20/1h ip\n"
    "ratelimit_refresh = 30/1m session\n"
    "ratelimit_user = 100/1m user\n"
    "ratelimit_refresh_failure = 30/1m ip\n"
    "%s";

struct harness *harness_new(const char *extra_config)
{
    const char *srcdir = getenv("SG_SRCDIR") ? getenv("SG_SRCDIR") : ".";
    struct harness *h = calloc(1, sizeof(*h));
    char text[4096], err[256];
    int n;

    if (!h)
        return NULL;
    n = snprintf(text, sizeof(text), defaults, srcdir,
                 extra_config ? extra_config : "");
    if (n < 0 || (size_t)n >= sizeof(text) ||
        !(h->cfg =
              sg_config_parse("test", text, (size_t)n, err, sizeof(err))) ||
        !(h->ctx = sg_ctx_new(h->cfg, err, sizeof(err)))) {
        printf("# harness: %s\n", n < 0 ? "config too long" : err);
        harness_free(h);
        return NULL;
    }
    h->store = h->ctx->store;
    sg_response_init(&h->res);
    h->now = HARNESS_EPOCH_MS;
    h->addr = "192.0.2.1";
    h->user_agent = "harness/1";
    return h;
}

void harness_free(struct harness *h)
{
    if (!h)
        return;
    json_object_put(h->json);
    sg_response_free(&h->res);
    sg_ctx_free(h->ctx);
    sg_config_free(h->cfg);
    free(h);
}

int harness_call_env(struct harness *h, const char *method, const char *path,
                     const char *token, const char *body,
                     const char *const *extra)
{
    const char *kv[2 * TEST_ENV_MAX + 1];
    char bearer[1100], length[24];
    struct sg_request req;
    size_t n = 0;

    snprintf(bearer, sizeof(bearer), "Bearer %s", token ? token : "");
    snprintf(length, sizeof(length), "%zu", body ? strlen(body) : 0);
    kv[n++] = "REQUEST_METHOD", kv[n++] = method;
    kv[n++] = "PATH_INFO", kv[n++] = path;
    kv[n++] = "REMOTE_ADDR", kv[n++] = h->addr;
    kv[n++] = "HTTP_USER_AGENT", kv[n++] = h->user_agent;
    if (token)
        kv[n++] = "HTTP_AUTHORIZATION", kv[n++] = bearer;
    if (body) {
        kv[n++] = "CONTENT_TYPE", kv[n++] = "application/json";
        kv[n++] = "CONTENT_LENGTH", kv[n++] = length;
    }
    for (; extra && *extra && n < SG_ARRAY_LEN(kv) - 2; extra++)
        kv[n++] = *extra;
    kv[n] = NULL;
    sg_request_init(&req, test_env(kv), h->cfg->max_body_bytes, h->now);
    req.body = body ? body : "";
    req.body_len = body ? strlen(body) : 0;
    sg_response_reset(&h->res);
    sg_app_handle(h->ctx, &req, &h->res);
    sg_request_release(&req);
    json_object_put(h->json);
    h->json = json_tokener_parse(h->res.body.data ? h->res.body.data : "");
    return h->res.status;
}

int harness_call(struct harness *h, const char *method, const char *path,
                 const char *token, const char *body)
{
    return harness_call_env(h, method, path, token, body, NULL);
}

const char *harness_header(struct harness *h, const char *name)
{
    static char value[512];
    const char *p = h->res.headers.data, *end;
    size_t len = strlen(name), vlen;

    for (; p && (end = strstr(p, "\r\n")); p = end + 2) {
        if (strncmp(p, name, len) || p[len] != ':' || p[len + 1] != ' ')
            continue;
        vlen = (size_t)(end - (p + len + 2));
        if (vlen >= sizeof(value))
            return NULL;
        memcpy(value, p + len + 2, vlen);
        value[vlen] = '\0';
        return value;
    }
    return NULL;
}

static json_object *member_at(struct harness *h, const char *path)
{
    char part[64];
    json_object *o = h->json;

    while (o && *path) {
        size_t len = strcspn(path, ".");
        char *end;
        long i;
        if (len >= sizeof(part))
            return NULL;
        memcpy(part, path, len);
        part[len] = '\0';
        path += len + (path[len] == '.');
        i = strtol(part, &end, 10);
        if (json_object_is_type(o, json_type_array) && !*end && end != part)
            o = json_object_array_get_idx(o, (size_t)i);
        else if (!json_object_object_get_ex(o, part, &o))
            return NULL;
    }
    return o;
}

const char *harness_str(struct harness *h, const char *path)
{
    json_object *o = member_at(h, path);

    return json_object_is_type(o, json_type_string) ? json_object_get_string(o)
                                                    : NULL;
}

long long harness_int(struct harness *h, const char *path)
{
    json_object *o = member_at(h, path);

    return json_object_is_type(o, json_type_int) ? json_object_get_int64(o)
                                                 : -999999;
}

bool harness_bool(struct harness *h, const char *path)
{
    json_object *o = member_at(h, path);

    return json_object_is_type(o, json_type_boolean) &&
           json_object_get_boolean(o);
}

const char *harness_code(struct harness *h)
{
    const char *code = harness_str(h, "error.code");

    return code ? code : "";
}

int harness_register(struct harness *h, const char *email, const char *password,
                     char *uid)
{
    char body[512];
    int status;

    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}",
             email, password);
    status = harness_call(h, "POST", "/auth/register", NULL, body);
    if (status == 201 && uid)
        snprintf(uid, SG_USER_ID_LEN + 1, "%s",
                 harness_str(h, "data.user.id") ? harness_str(h, "data.user.id")
                                                : "");
    return status;
}

/* The tokens of a 200 sign-in or refresh answer into t. */
static void take_tokens(struct harness *h, struct tokens *t)
{
    const char *access = harness_str(h, "data.access_token");
    const char *refresh = harness_str(h, "data.refresh_token");
    const char *sid = harness_str(h, "data.session_id");
    const char *uid = harness_str(h, "data.user.id");

    snprintf(t->access, sizeof(t->access), "%s", access ? access : "");
    snprintf(t->refresh, sizeof(t->refresh), "%s", refresh ? refresh : "");
    snprintf(t->sid, sizeof(t->sid), "%s", sid ? sid : "");
    if (uid)
        snprintf(t->uid, sizeof(t->uid), "%s", uid);
}

int harness_signin(struct harness *h, const char *email, const char *password,
                   struct tokens *t)
{
    char body[512];
    int status;

    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}",
             email, password);
    status = harness_call(h, "POST", "/auth/signin", NULL, body);
    if (status == 200 && t) {
        memset(t, 0, sizeof(*t));
        take_tokens(h, t);
    }
    return status;
}

int harness_refresh(struct harness *h, const char *refresh_token,
                    struct tokens *t)
{
    char body[256];
    int status;

    snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", refresh_token);
    status = harness_call(h, "POST", "/auth/refresh", NULL, body);
    if (status == 200 && t)
        take_tokens(h, t);
    return status;
}
