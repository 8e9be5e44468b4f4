/* activity.c -- the write-behind buffer of verify_mode = local
 * (activity.h). SG_TOUCH_MAX sessions, searched linearly: a worker sees
 * few distinct sessions between two flushes, and one store call takes
 * them all. As many views of counters, the oldest replaced. */
#include <stdlib.h>
#include <string.h>

#include "activity.h"
#include "keys.h"
#include "log.h"

struct entry {
    char uid[SG_USER_ID_LEN + 1];
    char sid[SG_SESSION_ID_LEN + 1];
    char limit_key[SG_KEY_MAX]; /* "": no limit */
    long long count;
    int64_t last_ms;
};

/* A counter as the last flush left it. */
struct view {
    char key[SG_KEY_MAX]; /* "": free */
    long long remaining;
    int64_t reset_ms, learned_ms;
};

struct sg_activity {
    struct entry e[SG_TOUCH_MAX];
    int n;
    int64_t first_ms;  /* the oldest request not yet written */
    int64_t failed_ms; /* the last flush that failed; 0: it did not */
    unsigned failures; /* flushes failed in a row */
    struct view v[SG_TOUCH_MAX];
};

struct sg_activity *sg_activity_new(void)
{
    return calloc(1, sizeof(struct sg_activity));
}

void sg_activity_free(struct sg_activity *a)
{
    free(a);
}

bool sg_activity_record(struct sg_activity *a, const char *uid, const char *sid,
                        const char *limit_key, int64_t now_ms)
{
    size_t ulen = strlen(uid), slen = strlen(sid);
    size_t klen = limit_key ? strlen(limit_key) : 0;
    struct entry *e;

    if (ulen > SG_USER_ID_LEN || slen > SG_SESSION_ID_LEN ||
        klen >= SG_KEY_MAX)
        return true; /* not one of ours: nothing to write */
    for (int i = 0; i < a->n; i++) {
        e = &a->e[i];
        if (!strcmp(e->sid, sid) && !strcmp(e->uid, uid) &&
            !strcmp(e->limit_key, limit_key ? limit_key : "")) {
            e->count++;
            if (now_ms > e->last_ms)
                e->last_ms = now_ms;
            return true;
        }
    }
    if (a->n == SG_TOUCH_MAX)
        return false;
    if (a->n == 0)
        a->first_ms = now_ms;
    e = &a->e[a->n++];
    memcpy(e->uid, uid, ulen + 1);
    memcpy(e->sid, sid, slen + 1);
    memcpy(e->limit_key, limit_key ? limit_key : "", klen + 1);
    e->count = 1;
    e->last_ms = now_ms;
    return true;
}

void sg_activity_quota(const struct sg_activity *a, const char *limit_key,
                       int limit, int64_t window_ms, int64_t now_ms,
                       long long *remaining, int64_t *reset_ms)
{
    long long pending = 0, left = limit;
    int64_t reset = now_ms + window_ms;

    for (int i = 0; i < a->n; i++)
        if (!strcmp(a->e[i].limit_key, limit_key))
            pending += a->e[i].count;
    for (int i = 0; i < SG_TOUCH_MAX; i++) {
        const struct view *v = &a->v[i];
        /* past its reset a slot has freed: the view no longer says how
         * many are left, the next flush will */
        if (v->key[0] && !strcmp(v->key, limit_key) && now_ms < v->reset_ms) {
            left = v->remaining, reset = v->reset_ms;
            break;
        }
    }
    *remaining = left > pending ? left - pending : 0;
    *reset_ms = reset;
}

/* Keep what a flush answered of the counter key. */
static void learn(struct sg_activity *a, const char *key, long long remaining,
                  int64_t reset_ms, int64_t now_ms)
{
    struct view *v = &a->v[0];

    for (int i = 0; i < SG_TOUCH_MAX; i++) {
        if (!strcmp(a->v[i].key, key)) {
            v = &a->v[i];
            break;
        }
        if (a->v[i].learned_ms < v->learned_ms)
            v = &a->v[i]; /* a free one (0) or the oldest */
    }
    memcpy(v->key, key, strlen(key) + 1); /* < SG_KEY_MAX: recorded */
    v->remaining = remaining, v->reset_ms = reset_ms, v->learned_ms = now_ms;
}

int64_t sg_activity_due(const struct sg_activity *a, int64_t now_ms,
                        int64_t flush_ms)
{
    int64_t from, left;

    if (!a || a->n == 0)
        return -1;
    /* after a failed flush the next waits a whole interval, so a worker
     * does not spin on a Redis that is away */
    from = a->failed_ms > a->first_ms ? a->failed_ms : a->first_ms;
    left = from + flush_ms - now_ms;
    return left > 0 ? left : 0;
}

int sg_activity_flush(struct sg_activity *a, struct sg_store *s, int64_t now_ms)
{
    struct sg_touch t[SG_TOUCH_MAX];
    int ended = 0;

    if (!a || a->n == 0)
        return SG_OK;
    for (int i = 0; i < a->n; i++) {
        const struct entry *e = &a->e[i];
        t[i].uid = e->uid, t[i].sid = e->sid;
        t[i].limit_key = e->limit_key[0] ? e->limit_key : NULL;
        t[i].count = e->count, t[i].last_ms = e->last_ms;
        t[i].remaining = -1, t[i].reset_ms = 0;
    }
    if (sg_store_touch(s, t, a->n, now_ms, &ended) != SG_OK) {
        /* kept: the next flush tries again, an interval later; said once
         * per outage */
        if (a->failures++ == 0)
            sg_log_warn("activity: cannot write requests behind; kept for "
                        "the next try");
        a->failed_ms = now_ms > 0 ? now_ms : 1;
        return SG_ESTORE;
    }
    if (a->failures)
        sg_log_info("activity: requests written behind again after %u "
                    "failed tr%s",
                    a->failures, a->failures == 1 ? "y" : "ies");
    a->failures = 0, a->failed_ms = 0;
    if (ended)
        sg_log_info("activity: %d session(s) found idled out: ended", ended);
    for (int i = 0; i < a->n; i++)
        if (t[i].limit_key && t[i].remaining >= 0)
            learn(a, t[i].limit_key, t[i].remaining, t[i].reset_ms, now_ms);
    a->n = 0;
    return SG_OK;
}
