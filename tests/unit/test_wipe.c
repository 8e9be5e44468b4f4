/* Unit tests for wiping: buffers that are kept between requests (the
 * request body, the answer, the Redis command) hold no secret once the
 * request is done. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "request.h"
#include "response.h"
#include "store_impl.h"
#include "tap.h"

static const char secret[] = "correct horse battery staple";

/* Whether the secret is anywhere in p[0..cap). */
static bool holds_secret(const char *p, size_t cap)
{
    return p && memmem(p, cap, secret, sizeof(secret) - 1) != NULL;
}

static void test_buf(void)
{
    struct sg_buf b = {0};

    TAP_OK(sg_buf_puts(&b, "{\"password\":\"") == SG_OK &&
               sg_buf_puts(&b, secret) == SG_OK &&
               sg_buf_puts(&b, "\"}") == SG_OK,
           "appends");
    TAP_OK(holds_secret(b.data, b.cap), "the buffer holds the secret");
    sg_buf_wipe(&b);
    TAP_IS_INT(b.len, 0, "wiped buffer is empty");
    TAP_OK(b.data != NULL && b.cap > 0, "wiped buffer keeps its memory");
    TAP_OK(!holds_secret(b.data, b.cap), "no secret after sg_buf_wipe");
    TAP_IS_INT(sg_buf_puts(&b, "reused"), SG_OK, "append after a wipe");
    TAP_IS_STR(b.data, "reused", "a wiped buffer is reusable");
    sg_buf_free(&b);
    TAP_OK(b.data == NULL && b.len == 0 && b.cap == 0, "freed buffer empty");
}

static void test_response(void)
{
    struct sg_response res;

    sg_response_init(&res);
    sg_response_header(&res, "Set-Cookie", secret);
    TAP_IS_INT(sg_buf_puts(&res.body, secret), SG_OK, "body append");
    sg_response_wipe(&res);
    TAP_OK(!holds_secret(res.headers.data, res.headers.cap),
           "no secret in kept headers");
    TAP_OK(!holds_secret(res.body.data, res.body.cap),
           "no secret in a kept body");
    sg_response_free(&res);
}

/* The parsed body: its top-level strings (the password) are wiped when
 * the request is released. A reference held here keeps the object alive
 * to look at it afterwards. */
static void test_request(void)
{
    char body[] = "{\"email\":\"a@example.com\",\"password\":"
                  "\"correct horse battery staple\"}";
    struct sg_request req = {0};
    const char *why = NULL, *pw;
    json_object *keep, *v;

    req.body = body, req.body_len = strlen(body);
    TAP_IS_INT(sg_request_parse_json(&req, &why), SG_OK, "body parses");
    keep = json_object_get(req.json);
    json_object_object_get_ex(keep, "password", &v);
    pw = json_object_get_string(v);
    TAP_IS_STR(pw, secret, "the password is in the parsed body");
    sg_request_release(&req);
    TAP_OK(req.json == NULL, "released");
    TAP_OK(!holds_secret(pw, sizeof(secret)),
           "the password was wiped on release");
    json_object_put(keep);
}

/* The Redis command buffer: a password hash sent with HSET (passwd,
 * register) must not stay in it, whether or not Redis answered. */
static void test_store(void)
{
    char text[] = "redis = unix:/nonexistent/redis.sock\n"
                  "redis_connect_timeout = 10ms\n";
    char err[256];
    struct sg_config *cfg =
        sg_config_parse("test", text, strlen(text), err, sizeof(err));
    struct sg_store *s = cfg ? sg_store_new(cfg, err, sizeof(err)) : NULL;
    const char *argv[] = {"HSET", "sg:{u:x}:user", "password", secret};

    TAP_OK(s != NULL, "store");
    if (!s) {
        sg_config_free(cfg);
        return;
    }
    TAP_OK(sg_store_argv(s, 4, argv, NULL) == NULL, "Redis is unreachable");
    TAP_OK(s->cmd.cap > 0, "the command was formatted");
    TAP_OK(!holds_secret(s->cmd.data, s->cmd.cap),
           "no secret in the command buffer after a failed command");
    sg_store_free(s);
    sg_config_free(cfg);
}

int main(void)
{
    test_buf();
    test_response();
    test_request();
    test_store();
    return tap_done();
}
