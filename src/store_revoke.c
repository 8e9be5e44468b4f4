/* store_revoke.c -- following the revocation stream into the host's table
 * (revoke.h), for verify_mode = local (issue 17).
 *
 * One process per host calls sg_store_revoke_follow in a loop. A step
 * reads what was appended after the last id it applied (XREAD ... BLOCK,
 * so an idle stream costs one command per block_ms), adds each entry to
 * the table and stamps the table's heartbeat: the stamp is the proof,
 * as of then, that the table holds every end Redis has. A step that
 * fails stamps nothing, so workers stop trusting the table once the
 * last stamp is older than revocation_max_lag.
 *
 * After each (re)connection, before trusting what follows, a step checks
 * the stream's epoch (Prevocations:epoch, a random value set once with
 * SET NX): a different epoch means Redis lost its data since (a restart
 * without persistence, a flush), so ends published before may be gone
 * and the table is distrusted for one access token lifetime. A stream
 * whose newest id is older than the last one applied was rolled back (a
 * restart from an older snapshot): the reader goes on from its newest id.
 * Entries trimmed while the reader was away are older than any access
 * token that could still be refused (see revoke.lua), so a gap in ids is
 * no loss.
 */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "crypto.h"
#include "keys.h"
#include "log.h"
#include "store_impl.h"

/* "MS-SEQ" of a stream id: two 20-digit numbers, a dash, the NUL. */
_Static_assert(SG_STREAM_ID_MAX >= 42, "SG_STREAM_ID_MAX holds an id");

/* a < b for stream ids "MS-SEQ" (digits only: compare as numbers) */
static bool id_less(const char *a, const char *b)
{
    unsigned long long am = 0, as = 0, bm = 0, bs = 0;

    sscanf(a, "%llu-%llu", &am, &as);
    sscanf(b, "%llu-%llu", &bm, &bs);
    return am < bm || (am == bm && as < bs);
}

/* One entry [id, [field, value, ...]]: its session key and deadline. */
static bool entry_fields(const redisReply *e, char *id, size_t idcap,
                         unsigned char key[SG_REVOKE_KEY_LEN], long long *until)
{
    const redisReply *f;
    bool have_key = false, have_until = false;

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        !sg_store_reply_copy(e->element[0], id, idcap))
        return false;
    f = e->element[1];
    if (f->type != REDIS_REPLY_ARRAY || f->elements % 2)
        return false;
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const redisReply *n = f->element[i], *v = f->element[i + 1];

        if (n->type != REDIS_REPLY_STRING || n->len != 1)
            continue;
        if (n->str[0] == 's' && v->type == REDIS_REPLY_STRING)
            have_key = sg_revoke_key(v->str, v->len, key);
        else if (n->str[0] == 'u')
            have_until = sg_store_reply_int(v, until);
    }
    return have_key && have_until;
}

int sg_store_revoke_apply(struct sg_revoke *t, const redisReply *r,
                          struct sg_revoke_follow *f, int64_t now_ms)
{
    const redisReply *entries;

    f->more = false;
    if (r->type == REDIS_REPLY_NIL)
        return SG_OK; /* XREAD BLOCK timed out: nothing new */
    /* XREAD of one stream: [[stream, [entry...]]] */
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
        r->element[0]->type != REDIS_REPLY_ARRAY ||
        r->element[0]->elements != 2 ||
        r->element[0]->element[1]->type != REDIS_REPLY_ARRAY)
        return SG_ESTORE;
    entries = r->element[0]->element[1];
    f->more = entries->elements >= SG_REVOKE_READ_COUNT;
    for (size_t i = 0; i < entries->elements; i++) {
        unsigned char key[SG_REVOKE_KEY_LEN];
        char id[SG_STREAM_ID_MAX];
        long long until = 0;

        if (!entry_fields(entries->element[i], id, sizeof(id), key, &until)) {
            /* not ours: skip it, but never read it again */
            if (entries->element[i]->type == REDIS_REPLY_ARRAY &&
                entries->element[i]->elements == 2 &&
                sg_store_reply_copy(entries->element[i]->element[0], id,
                                    sizeof(id)))
                memcpy(f->last_id, id, sizeof(id));
            f->skipped++;
            continue;
        }
        if (!sg_revoke_add(t, key, until, now_ms))
            f->full++;
        memcpy(f->last_id, id, sizeof(id));
        f->applied++;
    }
    return SG_OK;
}

/* After a (re)connection: the epoch, and the stream's newest id. */
static int check_stream(struct sg_store *s, struct sg_revoke_follow *f,
                        struct sg_revoke *t, const char *stream,
                        const char *epoch_key, int64_t now_ms)
{
    char fresh[33], seen[sizeof(f->epoch)], newest[SG_STREAM_ID_MAX];
    const char *set[] = {"SET", epoch_key, fresh, "NX"};
    const char *get[] = {"GET", epoch_key};
    const char *last[] = {"XREVRANGE", stream, "+", "-", "COUNT", "1"};
    redisReply *r;
    bool ok;

    if (sg_random_hex(fresh, sizeof(fresh), 16) != SG_OK)
        return SG_ESTORE;
    if (!(r = sg_store_argv(s, 4, set, NULL)))
        return SG_ESTORE;
    freeReplyObject(r);
    if (!(r = sg_store_argv(s, 2, get, NULL)))
        return SG_ESTORE;
    ok = sg_store_reply_copy(r, seen, sizeof(seen));
    freeReplyObject(r);
    if (!ok)
        return SG_ESTORE;
    if (f->epoch[0] && strcmp(f->epoch, seen)) {
        sg_log_error("revocations: Redis lost its data (new epoch): "
                     "verifying in roundtrip mode for one token lifetime");
        sg_revoke_distrust(t, now_ms + f->lifetime_ms);
        f->last_id[0] = '\0'; /* read the new stream from its start */
    }
    memcpy(f->epoch, seen, sizeof(seen));
    if (!(r = sg_store_argv(s, 6, last, NULL)))
        return SG_ESTORE;
    ok = r->type == REDIS_REPLY_ARRAY;
    newest[0] = '\0';
    if (ok && r->elements == 1 && r->element[0]->type == REDIS_REPLY_ARRAY &&
        r->element[0]->elements == 2)
        ok = sg_store_reply_copy(r->element[0]->element[0], newest,
                                 sizeof(newest));
    freeReplyObject(r);
    if (!ok)
        return SG_ESTORE;
    if (f->last_id[0] && newest[0] && id_less(newest, f->last_id)) {
        sg_log_error("revocations: the stream went back to %s (from %s): "
                     "Redis restarted from an older snapshot",
                     newest, f->last_id);
        memcpy(f->last_id, newest, sizeof(newest));
    }
    return SG_OK;
}

int sg_store_revoke_follow(struct sg_store *s, struct sg_revoke_follow *f,
                           struct sg_revoke *t, int block_ms, int64_t now_ms)
{
    char epoch_key[SG_KEY_MAX], block[24];
    int64_t sent;
    const char *stream = s->revocations;
    const char *argv[] = {"XREAD", "COUNT",   SG_REVOKE_READ_COUNT_STR, "BLOCK",
                          block,   "STREAMS", stream,         NULL};
    redisReply *r;
    int rc;

    if (sg_key_revocations_epoch(epoch_key, s->cfg->key_prefix))
        return SG_EINVAL;
    if (sg_store_connect(s) != SG_OK)
        return SG_ESTORE;
    if (f->connects != s->connects) {
        if (check_stream(s, f, t, stream, epoch_key, now_ms) != SG_OK)
            return SG_ESTORE;
        f->connects = s->connects;
    }
    sg_i64_str(block, block_ms);
    argv[7] = f->last_id[0] ? f->last_id : "0-0";
    sent = sg_monotonic_ms();
    if (!(r = sg_store_argv(s, 8, argv, NULL)))
        return SG_ESTORE;
    rc = r->type == REDIS_REPLY_ERROR ? SG_ESTORE
                                      : sg_store_revoke_apply(t, r, f, now_ms);
    freeReplyObject(r);
    if (rc != SG_OK) {
        sg_store_disconnect(s); /* an answer that makes no sense */
        return rc;
    }
    /* current as of the answer, not of the question: an XREAD that
     * blocked its whole time proves nothing came meanwhile */
    if (!f->more) /* a whole batch proves nothing: more may wait */
        sg_revoke_heartbeat(t, now_ms + (sg_monotonic_ms() - sent));
    return SG_OK;
}
