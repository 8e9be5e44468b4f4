/* store_limits.c -- sliding-window rate limits in Redis.
 *
 * Each window is a zset of request timestamps (a sliding-window log):
 * exact counts, an exact reset time for X-RateLimit-Reset, and memory
 * bounded by the limit. The authenticated routes evaluate their window
 * inside the route's script (prelude.lua); the others come here, several
 * windows at once (see ratelimit.lua). The operator CLI lists and
 * clears windows here too: SCAN (never KEYS) with the caller's MATCH, on
 * every master of a cluster.
 */
#include <stdio.h>
#include <stdlib.h>
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

/* ---- the operator's view of the windows -------------------------------- */

/* Its entries (oldest first) and remaining life, then fn. A key gone since
 * the scan saw it, or of another type, is no window: skipped. 0, 1 when
 * fn asked to stop, or SG_ESTORE / SG_ENOMEM. */
static int visit_window(struct sg_store *s, const redisReply *name,
                        int (*fn)(void *arg, const struct sg_limit_window *w),
                        void *arg)
{
    char key[SG_KEY_MAX];
    const char *range[] = {"ZRANGE", key, "0", "-1", "WITHSCORES"};
    const char *pttl[] = {"PTTL", key};
    struct sg_limit_window w = {.key = key};
    int64_t *times = NULL;
    redisReply *r;
    long long ttl;
    bool ok;
    int rc = 0;

    if (!sg_store_reply_copy(name, key, sizeof(key)))
        return 0; /* not one of ours: ours fit */
    if (!(r = sg_store_argv(s, 2, pttl, NULL)))
        return SG_ESTORE;
    ok = sg_store_reply_int(r, &ttl);
    freeReplyObject(r);
    if (!ok || ttl == -2)
        return ok ? 0 : SG_ESTORE;
    if (!(r = sg_store_argv(s, 5, range, NULL)))
        return SG_ESTORE;
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
        freeReplyObject(r);
        return 0;
    }
    w.n = r->elements / 2;
    if (w.n && !(times = calloc(w.n, sizeof(*times))))
        rc = SG_ENOMEM;
    for (size_t i = 0; rc == 0 && times && i < w.n; i++) {
        const redisReply *e = r->element[2 * i + 1];
        char buf[32];
        if (!sg_store_reply_copy(e, buf, sizeof(buf)))
            rc = SG_ESTORE;
        else
            times[i] = (int64_t)strtod(buf, NULL);
    }
    freeReplyObject(r);
    w.times = times;
    w.ttl_ms = ttl < 0 ? -1 : ttl;
    if (rc == 0)
        rc = fn(arg, &w) ? 1 : 0;
    free(times);
    return rc;
}

/* SCAN of the node the store holds (a cluster's master: the link is
 * taken again before each step, since visiting a key may route to
 * another). A slot that moves to another master during the scan may be
 * missed or seen twice, as SCAN's own guarantee allows for a key that
 * changes meanwhile. 0, 1 when stopped, or SG_E*. */
static int scan_node(struct sg_store *s, size_t node, const char *pattern,
                     int (*fn)(void *arg, const struct sg_limit_window *w),
                     void *arg)
{
    char cursor[32] = "0";
    const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"};
    redisReply *r;
    int rc = 0;

    do {
        if (!s->cluster) {
            r = sg_store_argv(s, 6, argv, NULL);
        } else {
            /* SCAN names no key: sent as it is to the node selected */
            sg_cluster_select(s, node);
            if (sg_store_connect(s) != SG_OK)
                return SG_ESTORE;
            r = sg_store_command(s, "SCAN %s MATCH %s COUNT 1000", cursor,
                                 pattern);
            if (!r)
                sg_store_fail(s, s->c->errstr);
        }
        if (!r)
            return SG_ESTORE;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[1]->type != REDIS_REPLY_ARRAY ||
            !sg_store_reply_copy(r->element[0], cursor, sizeof(cursor))) {
            freeReplyObject(r);
            return SG_ESTORE;
        }
        for (size_t i = 0; rc == 0 && i < r->element[1]->elements; i++)
            rc = visit_window(s, r->element[1]->element[i], fn, arg);
        freeReplyObject(r);
    } while (rc == 0 && strcmp(cursor, "0") != 0);
    return rc;
}

int sg_store_limit_windows(struct sg_store *s, const char *pattern,
                           int (*fn)(void *arg,
                                     const struct sg_limit_window *w),
                           void *arg)
{
    size_t n = 1;
    int rc = 0;

    if (s->cluster) {
        if (sg_cluster_each_node(s, &n) != SG_OK)
            return SG_ESTORE;
        if (sg_cluster_uncovered(s))
            return SG_ENOTFOUND;
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = scan_node(s, i, pattern, fn, arg);
    return rc < 0 ? rc : SG_OK;
}

int sg_store_limit_clear(struct sg_store *s, const char *key, bool *deleted)
{
    const char *argv[] = {"DEL", key};
    redisReply *r = sg_store_argv(s, 2, argv, NULL);
    long long n;
    bool ok;

    if (!r)
        return SG_ESTORE;
    ok = r->type == REDIS_REPLY_INTEGER && sg_store_reply_int(r, &n);
    freeReplyObject(r);
    *deleted = ok && n > 0;
    return ok ? SG_OK : SG_ESTORE;
}
