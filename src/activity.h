/* activity.h -- requests answered in verify_mode = local, written behind.
 *
 * A worker that answers GET /auth/verify from the host's revocation table
 * (auth.c) records the session's request here instead of touching it in
 * Redis; sg_activity_flush gives every recorded session its requests and
 * last access, and their users' ratelimit_user counters their counts, in
 * one round trip (sg_store_touch), at most every activity_flush, after an
 * answer is sent or while the worker waits for the next connection: never
 * on a request's path. Idle expiry is thus late by at most activity_flush
 * (plus a kept FastCGI connection's wait); a session found idled out by
 * the flush is ended and published.
 *
 * The limit is enforced from what the flushes answer: each gives the
 * counter's remaining and reset, which the worker keeps (a "view") and
 * counts its own requests since against. docs/RATE_LIMITS.md says how far
 * a user can overshoot.
 */
#ifndef SG_ACTIVITY_H
#define SG_ACTIVITY_H

#include "store.h"

struct sg_activity;

struct sg_activity *sg_activity_new(void);
void sg_activity_free(struct sg_activity *a);

/* Count one request of session sid of user uid (lowercase hex, checked
 * by the token's verification) at now_ms, in the counter limit_key (NULL:
 * no limit). false when the buffer is full: flush, then record again. */
bool sg_activity_record(struct sg_activity *a, const char *uid, const char *sid,
                        const char *limit_key, int64_t now_ms);

/* The counter limit_key as this worker knows it at now_ms: requests left
 * (before this one) and when a slot frees, from the last flush's answer
 * less what was recorded since; with no answer yet, limit less what was
 * recorded, freeing a window from now. */
void sg_activity_quota(const struct sg_activity *a, const char *limit_key,
                       int limit, int64_t window_ms, int64_t now_ms,
                       long long *remaining, int64_t *reset_ms);

/* Milliseconds until a flush is due (0: now), or -1 with nothing to
 * write. */
int64_t sg_activity_due(const struct sg_activity *a, int64_t now_ms,
                        int64_t flush_ms);

/* Write what is recorded (SG_OK; the buffer is then empty) or keep it for
 * the next try (SG_ESTORE). */
int sg_activity_flush(struct sg_activity *a, struct sg_store *s,
                      int64_t now_ms);

#endif
