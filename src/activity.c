/* activity.c -- the write-behind buffer of verify_mode = local
 * (activity.h). SG_TOUCH_MAX sessions, searched linearly: a worker sees
 * few distinct sessions between two flushes, and one store call takes
 * them all. */
#include <stdlib.h>
#include <string.h>

#include "activity.h"
#include "log.h"

struct entry {
    char uid[SG_USER_ID_LEN + 1];
    char sid[SG_SESSION_ID_LEN + 1];
    long long count;
    int64_t last_ms;
};

struct sg_activity {
    struct entry e[SG_TOUCH_MAX];
    int n;
    int64_t first_ms; /* the oldest request not yet written */
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
                        int64_t now_ms)
{
    size_t ulen = strlen(uid), slen = strlen(sid);
    struct entry *e;

    if (ulen > SG_USER_ID_LEN || slen > SG_SESSION_ID_LEN)
        return true; /* not one of ours: nothing to write */
    for (int i = 0; i < a->n; i++) {
        e = &a->e[i];
        if (!strcmp(e->sid, sid) && !strcmp(e->uid, uid)) {
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
    e->count = 1;
    e->last_ms = now_ms;
    return true;
}

int64_t sg_activity_due(const struct sg_activity *a, int64_t now_ms,
                        int64_t flush_ms)
{
    int64_t left;

    if (!a || a->n == 0)
        return -1;
    left = a->first_ms + flush_ms - now_ms;
    return left > 0 ? left : 0;
}

int sg_activity_flush(struct sg_activity *a, struct sg_store *s, int64_t now_ms)
{
    struct sg_touch t[SG_TOUCH_MAX];
    int ended = 0;

    if (!a || a->n == 0)
        return SG_OK;
    for (int i = 0; i < a->n; i++) {
        t[i].uid = a->e[i].uid, t[i].sid = a->e[i].sid;
        t[i].count = a->e[i].count, t[i].last_ms = a->e[i].last_ms;
    }
    if (sg_store_touch(s, t, a->n, now_ms, &ended) != SG_OK)
        return SG_ESTORE; /* kept: the next flush tries again */
    if (ended)
        sg_log_info("activity: %d session(s) found idled out: ended", ended);
    a->n = 0;
    return SG_OK;
}
