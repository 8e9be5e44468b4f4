/* ratelimit.h -- the configured policies applied to requests.
 *
 * A policy (config.h) is a limit, a window and what it counts per. This
 * file turns a policy and a request into the Redis key of its window and
 * writes the X-RateLimit-* headers; the counting itself happens in Redis
 * (store_limits.c for unauthenticated routes, prelude.lua for the rest).
 */
#ifndef SG_RATELIMIT_H
#define SG_RATELIMIT_H

#include "ctx.h"
#include "keys.h"
#include "request.h"
#include "response.h"

/* The window key of policy name/p for this request into out
 * (SG_KEY_MAX). account is the email tried (sign-in), sid and uid the
 * session and user when known (NULL when not): a request without what
 * the policy counts per is counted per client IP. */
int sg_ratelimit_key(struct sg_ctx *ctx, struct sg_request *req,
                     const char *name, const struct sg_rate_policy *p,
                     const char *account, const char *sid, const char *uid,
                     char *out);

/* Fill a check for policy p on key. */
void sg_ratelimit_check(struct sg_limit_check *c,
                        const struct sg_rate_policy *p, const char *key,
                        enum sg_limit_mode mode);

/* X-RateLimit-Limit, -Remaining, -Reset (epoch seconds) of a window. */
void sg_ratelimit_headers(struct sg_response *res, int limit,
                          long long remaining, int64_t reset_ms);

/* Answer 429 RATE_LIMITED with Retry-After for a window that refused. */
int sg_ratelimit_refuse(struct sg_response *res, int64_t now_ms,
                        int64_t reset_ms);

#endif
