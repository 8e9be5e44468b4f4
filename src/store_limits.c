/* store_limits.c -- sliding-window rate limits in Redis.
 *
 * Each window is a zset of request timestamps (a sliding-window log):
 * exact counts, an exact reset time for X-RateLimit-Reset, and memory
 * bounded by the limit. The authenticated routes evaluate their window
 * inside the route's script (prelude.lua); the others come here, several
 * windows at once (see ratelimit.lua).
 */
#include <stdio.h>
#include <string.h>

#include "store_impl.h"

static const char *const mode_words[] = {"hit", "peek", "add"};

int sg_store_limits(struct sg_store *s, int64_t now,
                    struct sg_limit_check *checks, int n)
{
    char nums[SG_LIMIT_CHECKS_MAX][2][24], nowbuf[24];
    char members[SG_LIMIT_CHECKS_MAX][SG_MEMBER_MAX];
    const char *argv[SG_LIMIT_CHECKS_MAX * 5 + 1];
    int argc = 0;
    long long v[3] = {0, 0, 0};
    redisReply *r;
    int rc = SG_OK;

    if (n < 1 || n > SG_LIMIT_CHECKS_MAX)
        return SG_EINVAL;
    for (int i = 0; i < n; i++)
        argv[argc++] = checks[i].key;
    snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
    argv[argc++] = nowbuf;
    for (int i = 0; i < n; i++) {
        snprintf(nums[i][0], 24, "%d", checks[i].limit);
        snprintf(nums[i][1], 24, "%lld", (long long)checks[i].window_ms);
        sg_store_member(s, now, members[i]);
        argv[argc++] = nums[i][0], argv[argc++] = nums[i][1];
        argv[argc++] = mode_words[checks[i].mode];
        argv[argc++] = members[i];
    }
    if (!(r = sg_store_eval(s, SG_SCRIPT_RATELIMIT, n, argc, argv, NULL)))
        return SG_ESTORE;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)n * 3) {
        freeReplyObject(r);
        return SG_ESTORE;
    }
    for (int i = 0; i < n && rc == SG_OK; i++) {
        for (int k = 0; k < 3; k++)
            if (!sg_store_reply_int(r->element[3 * i + k], &v[k]))
                rc = SG_ESTORE;
        checks[i].allowed = v[0] == 1;
        checks[i].remaining = v[1];
        checks[i].reset_ms = v[2];
    }
    freeReplyObject(r);
    return rc;
}
