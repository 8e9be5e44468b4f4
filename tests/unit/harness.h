/* harness.h -- requests through the real router, authentication and
 * handlers (sg_app_handle), against the fake store (fake_store.h), for
 * the handler tests.
 *
 * A harness owns a config (test defaults plus the lines a test adds), a
 * context built on it, the last response, and the clock: every request
 * runs at h->now, which only the test moves.
 */
#ifndef SG_TEST_HARNESS_H
#define SG_TEST_HARNESS_H

#include "app.h"
#include "fake_store.h"

/* 2026-11-22: far from the wall clock, so nothing can lean on it. */
#define HARNESS_EPOCH_MS 1795392000000LL

struct harness {
    struct sg_config *cfg; /* writable: tests flip settings */
    struct sg_ctx *ctx;
    struct sg_store *store; /* ctx->store: the fake */
    struct sg_response res;
    json_object *json; /* the last answer's body, parsed */
    int64_t now;       /* ms */
    const char *addr;  /* REMOTE_ADDR of the next requests */
    const char *user_agent;
};

/* What a sign-in or refresh hands a client (and its user id). */
struct tokens {
    char access[1024];
    char refresh[160];
    char sid[SG_SESSION_ID_LEN + 1];
    char uid[SG_USER_ID_LEN + 1];
};

/* A harness whose config is the test defaults plus extra_config ("key =
 * value\n" lines, or NULL). NULL (with the reason printed) on failure. */
struct harness *harness_new(const char *extra_config);
void harness_free(struct harness *h);

/* Run one request: method, path, the bearer token (NULL: none), the JSON
 * body (NULL: none). Returns the status. */
int harness_call(struct harness *h, const char *method, const char *path,
                 const char *token, const char *body);

/* The same with extra server parameters, {"NAME", "value", ..., NULL}. */
int harness_call_env(struct harness *h, const char *method, const char *path,
                     const char *token, const char *body,
                     const char *const *extra);

/* The first value of header name in the last answer, NULL when absent;
 * valid until the next call. */
const char *harness_header(struct harness *h, const char *name);

/* A member of the last answer's JSON by dotted path ("data.user.email",
 * "data.sessions.0.id"): the string (NULL if absent or not a string), or
 * the integer (-999999 if absent). */
const char *harness_str(struct harness *h, const char *path);
long long harness_int(struct harness *h, const char *path);
bool harness_bool(struct harness *h, const char *path);

/* The error code of the last answer ("" for a success). */
const char *harness_code(struct harness *h);

/* POST /auth/register; returns the status and, on 201, the new id into
 * uid (SG_USER_ID_LEN + 1 bytes, may be NULL). */
int harness_register(struct harness *h, const char *email, const char *password,
                     char *uid);

/* POST /auth/signin; on 200 the answer's tokens into t. */
int harness_signin(struct harness *h, const char *email, const char *password,
                   struct tokens *t);

/* POST /auth/refresh with refresh_token; on 200 the answer's tokens into
 * t (may be NULL; its uid is kept). */
int harness_refresh(struct harness *h, const char *refresh_token,
                    struct tokens *t);

#endif
