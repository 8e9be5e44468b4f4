/* Handler tests of verify_mode = local against the fake store: GET
 * /auth/verify answers from the host's revocation table with no store
 * call while the table is trusted, asks the store when it is not, and
 * the requests it answered reach the session when the activity is
 * written behind. */
#include <stdio.h>
#include <string.h>

#include "activity.h"
#include "app.h"
#include "ctx.h"
#include "harness.h"
#include "revoke.h"
#include "tap.h"

#define PW "correct horse battery"

static const char *hdr(struct harness *h, const char *name)
{
    const char *v = harness_header(h, name);
    return v ? v : "(none)";
}

/* ratelimit_user in local mode: each worker counts against what its last
 * flush learned; the flush counts every answered request. */
static void local_limit(void)
{
    struct harness *h = harness_new("verify_mode = local\n");
    struct sg_revoke *table = sg_revoke_map(1024);
    struct sg_activity *w1 = sg_activity_new(), *w2 = sg_activity_new();
    struct tokens a;
    unsigned long calls;
    char want[32];

    if (!TAP_OK(h && table && w1 && w2, "limit: harness"))
        return;
    h->cfg->ratelimit_user.limit = 5; /* 5/5m: the token outlives 2 windows */
    h->cfg->ratelimit_user.window_ms = 300 * 1000;
    h->ctx->revoke = table, h->ctx->activity = w1;
    TAP_IS_INT(harness_register(h, "lim@example.com", PW, NULL), 201,
               "limit: register");
    TAP_IS_INT(harness_signin(h, "lim@example.com", PW, &a), 200,
               "limit: sign in");
    sg_revoke_heartbeat(table, h->now);
    calls = fake_store_calls(h->store);
    for (int i = 0; i < 5; i++) {
        snprintf(want, sizeof(want), "%d", 4 - i);
        TAP_IS_INT(harness_call(h, "GET", "/auth/verify", a.access, NULL),
                   200, "limit: a local verify");
        TAP_IS_STR(hdr(h, "X-RateLimit-Limit"), "5", "... its limit");
        TAP_IS_STR(hdr(h, "X-RateLimit-Remaining"), want, "... remaining");
    }
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", a.access, NULL), 429,
               "limit: the sixth, refused by the worker");
    TAP_IS_STR(harness_code(h), "RATE_LIMITED", "... RATE_LIMITED");
    TAP_IS_STR(hdr(h, "X-RateLimit-Remaining"), "0", "... none left");
    TAP_IS_STR(hdr(h, "Retry-After"), "300",
               "... a window, before any flush");
    TAP_IS_INT((int)(fake_store_calls(h->store) - calls), 0,
               "limit: no store call");

    TAP_IS_INT(sg_activity_flush(w1, h->store, h->now), SG_OK, "flush");
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", a.access, NULL), 429,
               "limit: still refused once the counter answered");
    TAP_IS_STR(hdr(h, "Retry-After"), "360",
               "... until the counter frees a slot (docs/RATE_LIMITS.md)");

    /* another worker of the host knows nothing yet: the overshoot */
    h->ctx->activity = w2;
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", a.access, NULL), 200,
               "limit: another worker, before its first flush: 200");
    TAP_IS_INT(sg_activity_flush(w2, h->store, h->now), SG_OK,
               "its flush counts it all the same");
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", a.access, NULL), 429,
               "... and the worker refuses from then on");

    h->now += 2 * 300 * 1000; /* both windows pass */
    sg_revoke_heartbeat(table, h->now);
    h->ctx->activity = w1;
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", a.access, NULL), 200,
               "limit: two windows later, 200 again");
    TAP_IS_INT(sg_activity_flush(w1, h->store, h->now), SG_OK, "flush");
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", a.access, NULL), 200,
               "limit: the counter started afresh");
    TAP_IS_STR(hdr(h, "X-RateLimit-Remaining"), "3", "... 2 counted");

    sg_activity_free(w1), sg_activity_free(w2);
    h->ctx->activity = NULL, h->ctx->revoke = NULL;
    sg_revoke_unmap(table);
    harness_free(h);
}

/* A flush that fails (Redis away) keeps the requests and the next try
 * waits a whole interval: a worker does not spin on a Redis that is away. */
static void flush_backoff(void)
{
    struct harness *h = harness_new("verify_mode = local\n");
    struct sg_revoke *table = sg_revoke_map(1024);
    struct sg_activity *w = sg_activity_new();
    const int64_t every = 1000;
    struct tokens a;

    if (!TAP_OK(h && table && w, "backoff: harness"))
        return;
    h->ctx->revoke = table, h->ctx->activity = w;
    h->cfg->activity_flush_ms = every;
    TAP_IS_INT(harness_register(h, "off@example.com", PW, NULL), 201,
               "backoff: register");
    TAP_IS_INT(harness_signin(h, "off@example.com", PW, &a), 200,
               "backoff: sign in");
    sg_revoke_heartbeat(table, h->now);
    TAP_IS_INT((int)sg_app_next_tick(h->ctx, h->now), -1,
               "backoff: nothing due before a request");
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", a.access, NULL), 200,
               "backoff: a local verify");
    TAP_IS_INT((int)sg_app_next_tick(h->ctx, h->now), (int)every,
               "backoff: written behind an interval later");
    h->now += every;
    TAP_IS_INT((int)sg_app_next_tick(h->ctx, h->now), 0, "backoff: due");
    fake_store_set_down(h->store, true);
    sg_app_tick(h->ctx, h->now);
    TAP_IS_INT((int)sg_app_next_tick(h->ctx, h->now), (int)every,
               "backoff: a failed flush waits an interval, not 0");
    h->now += every - 1;
    TAP_IS_INT((int)sg_app_next_tick(h->ctx, h->now), 1, "... all of it");
    h->now += 1;
    sg_app_tick(h->ctx, h->now);
    TAP_IS_INT((int)sg_app_next_tick(h->ctx, h->now), (int)every,
               "backoff: and again after the second failure");
    fake_store_set_down(h->store, false);
    h->now += every;
    sg_app_tick(h->ctx, h->now);
    TAP_IS_INT((int)sg_app_next_tick(h->ctx, h->now), -1,
               "backoff: written once Redis is back; nothing due");
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", a.access, NULL), 200,
               "backoff: the next verify");
    TAP_IS_INT((int)sg_app_next_tick(h->ctx, h->now), (int)every,
               "backoff: due an interval after it, as before the outage");

    sg_activity_free(w);
    h->ctx->activity = NULL, h->ctx->revoke = NULL;
    sg_revoke_unmap(table);
    harness_free(h);
}

int main(void)
{
    struct harness *h = harness_new("verify_mode = local\n");
    struct sg_revoke *table = sg_revoke_map(1024);
    struct tokens a, b;
    unsigned char key[SG_REVOKE_KEY_LEN];
    unsigned long calls;

    if (!TAP_OK(h && table, "harness and table"))
        return tap_done();
    h->ctx->revoke = table;
    h->ctx->activity = sg_activity_new();
    TAP_IS_INT(harness_register(h, "local@example.com", PW, NULL), 201,
               "register");
    TAP_IS_INT(harness_signin(h, "local@example.com", PW, &a), 200,
               "sign in a");
    TAP_IS_INT(harness_signin(h, "local@example.com", PW, &b), 200,
               "sign in b");

    calls = fake_store_calls(h->store);
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", a.access, NULL), 200,
               "no heartbeat yet: verify asks the store");
    TAP_OK(fake_store_calls(h->store) > calls, "... and the store answered");

    sg_revoke_heartbeat(table, h->now);
    calls = fake_store_calls(h->store);
    for (int i = 0; i < 3; i++)
        harness_call(h, "GET", "/auth/verify", a.access, NULL);
    TAP_IS_INT(h->res.status, 200, "trusted table: 200");
    TAP_IS_INT((int)(fake_store_calls(h->store) - calls), 0,
               "... with no store call");
    TAP_OK(harness_header(h, "X-Session-ID") &&
               !strcmp(harness_header(h, "X-Session-ID"), a.sid),
           "... and the session's id");

    TAP_OK(sg_revoke_key(b.sid, strlen(b.sid), key) &&
               sg_revoke_add(table, key, h->now + 900000, h->now),
           "b published as ended");
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", b.access, NULL), 401,
               "an ended session's token: 401 from the table");
    TAP_IS_STR(harness_code(h), "UNAUTHORIZED", "... UNAUTHORIZED");

    TAP_IS_INT(harness_call(h, "GET", "/ready", NULL, NULL), 200, "/ready");
    TAP_IS_STR(harness_str(h, "data.checks.revocations"), "current",
               "... says the table is current");
    h->now += 4000; /* past revocation_max_lag (3s) since the heartbeat */
    harness_call(h, "GET", "/ready", NULL, NULL);
    TAP_IS_STR(harness_str(h, "data.checks.revocations"), "behind",
               "/ready: the table is behind");
    calls = fake_store_calls(h->store);
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", a.access, NULL), 200,
               "stale table: verify asks the store");
    TAP_OK(fake_store_calls(h->store) > calls, "... and the store answered");

    /* the three local verifies, written behind */
    TAP_IS_INT((int)sg_activity_due(h->ctx->activity, h->now, 1000), 0,
               "a flush is due");
    TAP_IS_INT(sg_activity_flush(h->ctx->activity, h->store, h->now), SG_OK,
               "flush");
    TAP_IS_INT((int)sg_activity_due(h->ctx->activity, h->now, 1000), -1,
               "nothing left to write");
    harness_call(h, "GET", "/sessions", a.access, NULL);
    TAP_IS_INT((int)harness_int(h, "data.sessions.0.request_count") +
                   (int)harness_int(h, "data.sessions.1.request_count"),
               /* a: sign-in 1 + store verify 2 + local 3 + list 1;
                * b: sign-in 1 */
               1 + 2 + 3 + 1 + 1, "every request counted once");

    sg_activity_free(h->ctx->activity);
    h->ctx->activity = NULL;
    h->ctx->revoke = NULL;
    sg_revoke_unmap(table);
    harness_free(h);
    local_limit();
    flush_backoff();
    return tap_done();
}
