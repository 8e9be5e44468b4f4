/* store_sessions.c -- sessions, refresh rotation and authenticated calls.
 *
 * A session is a hash whose TTL is the smaller of the idle timeout and
 * the time left to its absolute expiry, renewed on every authenticated
 * request: idle sessions vanish by themselves, and ending a session is
 * deleting its key, after which every token naming it fails. The user's
 * zset of session ids is an index pruned lazily by the scripts.
 *
 * Every authenticated request is one EVALSHA of prelude.lua plus the
 * route's script (see src/lua/), with the key and argument layout built
 * here in one place.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "log.h"
#include "store_impl.h"

/* buf must be an array of at least SG_I64_STR_MAX bytes */
#define I64(buf, v)                                                            \
    ((void)sizeof(char[sizeof(buf) >= SG_I64_STR_MAX ? 1 : -1]),               \
     sg_i64_str((buf), (long long)(v)))

/* The revocation stream's key for a script of uid's: the stream, or in a
 * cluster a key of the user's slot that revoke.lua does not write
 * (docs/CLUSTER.md). */
static int stream_key(const struct sg_store *s, const char *uid, char *buf,
                      const char **out)
{
    *out = s->revocations;
    if (!s->cluster)
        return SG_OK;
    *out = buf;
    return sg_key_no_revocations(buf, s->cfg->key_prefix, uid);
}

int sg_store_session_create(struct sg_store *s, const struct sg_session_new *n,
                            int *evicted)
{
    const struct sg_session *ss = n->session;
    const char *prefix = s->cfg->key_prefix;
    char zset[SG_KEY_MAX], key[SG_KEY_MAX], spfx[SG_KEY_MAX];
    char addrs[SG_KEY_MAX], known_ms[24], norev[SG_KEY_MAX];
    char now[24], exp[24], idle[24], max[24], rexp[24];
    const char *stream;
    long long ended = 0;
    redisReply *r;
    int rc;

    if (sg_key_user_sessions(zset, prefix, n->uid) ||
        sg_key_session(key, prefix, n->uid, ss->id) ||
        sg_key_session_prefix(spfx, prefix, n->uid) ||
        sg_key_known_addrs(addrs, prefix, n->uid) ||
        stream_key(s, n->uid, norev, &stream))
        return SG_EINVAL;
    I64(now, ss->created_at), I64(exp, ss->expires_at), I64(idle, n->idle_ms);
    I64(max, n->max_sessions), I64(rexp, n->refresh_exp);
    I64(known_ms, SG_KNOWN_ADDR_MS);
    /* clang-format off */
    const char *argv[] = {
        /* in a cluster the account's window is in another slot: its
         * entry is taken out below */
        zset, key, addrs,
        n->attempt_key && !s->cluster ? n->attempt_key : addrs, stream,
        now, exp, idle, max, spfx, ss->id, n->addr, known_ms,
        n->attempt ? n->attempt : "", s->token_ttl_ms,
        "uid", n->uid, "created_at", now, "last_access", now,
        "expires_at", exp, "ip", ss->ip, "user_agent", ss->user_agent,
        "request_count", "1", "refresh_hash", n->refresh_hash,
        "refresh_exp", rexp};
    /* clang-format on */
    r = sg_store_eval(s, SG_SCRIPT_SESSION_CREATE, 5, (int)SG_ARRAY_LEN(argv),
                      argv, NULL);
    if (!r)
        return SG_ESTORE;
    rc = sg_store_reply_int(r, &ended) && ended >= 0 && ended <= INT_MAX
             ? SG_OK
             : SG_ESTORE;
    *evicted = rc == SG_OK ? (int)ended : 0;
    freeReplyObject(r);
    if (rc == SG_OK && s->cluster && n->attempt_key && n->attempt) {
        /* the account's window, in another slot: this sign-in succeeded,
         * so its entry is no failure (an error leaves one entry more) */
        const char *zrem[] = {"ZREM", n->attempt_key, n->attempt};
        freeReplyObject(sg_store_argv(s, 3, zrem, NULL));
    }
    return rc;
}

/* A token refused by refresh.lua counts in its address's failure window,
 * which refresh.lua itself counts on one Redis (no_match). Refused for
 * the window, the status is -6, unless the token was reuse (-4). */
static void cluster_fail_window(struct sg_store *s, struct sg_refresh *rf,
                                long long *status, long long *remaining,
                                long long *reset)
{
    struct sg_limit_check f = rf->fail;

    f.mode = SG_LIMIT_HIT;
    if (sg_store_limits(s, rf->now, &f, 1) != SG_OK)
        return; /* Redis failed here: the refusal stands, uncounted */
    *remaining = f.remaining, *reset = f.reset_ms;
    if (!f.allowed && *status != -4)
        *status = -6;
}

int sg_store_refresh(struct sg_store *s, struct sg_refresh *rf)
{
    const char *prefix = s->cfg->key_prefix;
    char key[SG_KEY_MAX], rot[SG_KEY_MAX], zset[SG_KEY_MAX], user[SG_KEY_MAX];
    char now[24], idle[24], life[24], limit[24], window[24], flimit[24];
    char fwindow[24], grace[24], member[SG_MEMBER_MAX], norev[SG_KEY_MAX];
    const char *stream;
    long long status, rexp, remaining, reset;
    struct sg_limit_check *w;
    redisReply *r;
    int rc = SG_ESTORE;

    if (sg_key_session(key, prefix, rf->uid, rf->sid) ||
        sg_key_rotated(rot, prefix, rf->uid, rf->sid) ||
        sg_key_user_sessions(zset, prefix, rf->uid) ||
        sg_key_user(user, prefix, rf->uid) ||
        stream_key(s, rf->uid, norev, &stream))
        return SG_EAUTH;
    I64(now, rf->now), I64(idle, rf->idle_ms), I64(life, rf->lifetime_ms);
    I64(limit, rf->limit.key ? rf->limit.limit : 0);
    I64(window, rf->limit.window_ms);
    /* in a cluster the address's failure window is in another slot:
     * counted after the script (cluster_fail_window) */
    I64(flimit, rf->fail.key && !s->cluster ? rf->fail.limit : 0);
    I64(fwindow, rf->fail.window_ms);
    I64(grace, rf->grace_ms);
    sg_store_member(s, rf->now, member);
    /* clang-format off */
    const char *argv[] = {
        key, rot, zset, user, rf->limit.key ? rf->limit.key : key,
        rf->fail.key && !s->cluster ? rf->fail.key : key, stream,
        now, idle, rf->presented_hash, rf->new_hash, life, rf->sid,
        limit, window, member, flimit, fwindow, grace, rf->new_wrap,
        s->token_ttl_ms};
    /* clang-format on */
    r = sg_store_eval(s, SG_SCRIPT_REFRESH, 7, (int)SG_ARRAY_LEN(argv), argv,
                      NULL);
    if (!r)
        return SG_ESTORE;
    rf->limit.allowed = rf->fail.allowed = true;
    rf->limit.remaining = rf->fail.remaining = -1;
    rf->grace = false;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 7 &&
        sg_store_reply_int(r->element[0], &status) &&
        sg_store_reply_int(r->element[2], &rexp) &&
        sg_store_reply_int(r->element[3], &remaining) &&
        sg_store_reply_int(r->element[4], &reset)) {
        if (s->cluster && rf->fail.key && (status == 0 || status == -4 ||
                                           status == -5))
            cluster_fail_window(s, rf, &status, &remaining, &reset);
        if (status == 2 &&
            (!sg_store_reply_copy(r->element[5], rf->wrap, sizeof(rf->wrap)) ||
             strlen(rf->wrap) != SG_WRAP_HEX ||
             !sg_store_reply_copy(r->element[6], rf->current_hash,
                                  sizeof(rf->current_hash)) ||
             strlen(rf->current_hash) != 64))
            status = 0; /* not a wrap this build made: no grace */
        rf->grace = status == 2;
        rc = status == 1 || status == 2     ? SG_OK
             : status == -1 || status == -6 ? SG_ELIMIT
             : status == -4                 ? SG_EREUSED
                                            : SG_EAUTH;
        w = status == 1 || status == 2 || status == -1 ? &rf->limit : &rf->fail;
        w->allowed = status != -1 && status != -6;
        w->remaining = remaining;
        w->reset_ms = reset;
        if (rc == SG_OK &&
            !sg_store_reply_copy(r->element[1], rf->roles, sizeof(rf->roles)))
            rf->roles[0] = '\0';
        rf->refresh_exp = rexp;
    }
    freeReplyObject(r);
    return rc;
}

/* ---- authenticated calls ----------------------------------------------- */

static const enum sg_script_id op_script[] = {
    [SG_OP_VERIFY] = SG_SCRIPT_VERIFY,
    [SG_OP_ME] = SG_SCRIPT_ME,
    [SG_OP_SIGNOUT] = SG_SCRIPT_SIGNOUT,
    [SG_OP_SESSIONS_LIST] = SG_SCRIPT_SESSIONS_LIST,
    [SG_OP_SESSION_END] = SG_SCRIPT_SESSION_END,
    [SG_OP_SESSIONS_END] = SG_SCRIPT_SESSIONS_END,
};

static bool parse_session_rows(const redisReply *r, struct sg_auth_call *c)
{
    size_t n = (r->elements - 3) / 7;
    long long v[4];

    if ((r->elements - 3) % 7)
        return false;
    c->nsessions = 0;
    if (n == 0)
        return true;
    if (!(c->sessions = calloc(n, sizeof(*c->sessions))))
        return false;
    for (size_t i = 0; i < n; i++) {
        redisReply *const *e = r->element + 3 + 7 * i;
        struct sg_session *ss = &c->sessions[i];
        if (!sg_store_reply_copy(e[0], ss->id, sizeof(ss->id)) ||
            !sg_store_reply_int(e[1], &v[0]) ||
            !sg_store_reply_int(e[2], &v[1]) ||
            !sg_store_reply_int(e[3], &v[2]) ||
            !sg_store_reply_int(e[6], &v[3]))
            return false;
        sg_store_reply_copy(e[4], ss->ip, sizeof(ss->ip));
        sg_store_reply_copy(e[5], ss->user_agent, sizeof(ss->user_agent));
        ss->created_at = v[0], ss->last_access = v[1];
        ss->expires_at = v[2], ss->request_count = v[3];
    }
    c->nsessions = n;
    return true;
}

static bool parse_me(const redisReply *r, struct sg_auth_call *c)
{
    struct sg_user *u = &c->user;
    long long created;

    memset(u, 0, sizeof(*u));
    if (r->elements != 8 ||
        !sg_store_reply_copy(r->element[3], u->id, sizeof(u->id)) ||
        !sg_store_reply_copy(r->element[4], u->email, sizeof(u->email)) ||
        !sg_store_reply_int(r->element[7], &created))
        return false;
    sg_store_reply_copy(r->element[5], u->name, sizeof(u->name));
    sg_store_reply_copy(r->element[6], u->roles, sizeof(u->roles));
    u->created_at = created;
    return true;
}

/* Read the reply of an authenticated script into c. */
static bool parse_auth_reply(const redisReply *r, enum sg_auth_op op,
                             struct sg_auth_call *c)
{
    long long status, remaining, reset;

    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
        !sg_store_reply_int(r->element[0], &status) ||
        !sg_store_reply_int(r->element[1], &remaining) ||
        !sg_store_reply_int(r->element[2], &reset) ||
        status < SG_AUTH_NOT_FOUND || status > SG_AUTH_OK)
        return false; /* a status no script returns is no answer */
    c->status = (enum sg_auth_status)status;
    c->remaining = remaining;
    c->reset_ms = reset;
    if (status != SG_AUTH_OK)
        return true;
    switch (op) {
    case SG_OP_ME:
        return parse_me(r, c);
    case SG_OP_SESSIONS_LIST:
        return parse_session_rows(r, c);
    case SG_OP_SESSIONS_END:
        return r->elements == 4 &&
               sg_store_reply_int(r->element[3], &c->terminated);
    default:
        return true;
    }
}

/* The keys of one authenticated call, as prelude.lua lays them out. */
struct auth_keys {
    char session[SG_KEY_MAX], revoked[SG_KEY_MAX], zset[SG_KEY_MAX];
    char user[SG_KEY_MAX], spfx[SG_KEY_MAX];
    const char *limit, *stream;
    char norev[SG_KEY_MAX];
    char target_zset[SG_KEY_MAX], target_spfx[SG_KEY_MAX];
    char target_user[SG_KEY_MAX];
};

static int build_keys(struct sg_store *s, const struct sg_auth_call *c,
                      struct auth_keys *k)
{
    const char *p = s->cfg->key_prefix;

    if (sg_key_session(k->session, p, c->uid, c->sid) ||
        sg_key_revoked(k->revoked, p, c->uid, c->jti) ||
        sg_key_user_sessions(k->zset, p, c->uid) ||
        sg_key_user(k->user, p, c->uid) ||
        sg_key_session_prefix(k->spfx, p, c->uid) ||
        stream_key(s, c->uid, k->norev, &k->stream))
        return SG_EINVAL;
    k->limit = c->limit_key ? c->limit_key : k->user;
    if (c->target_uid &&
        (sg_key_user_sessions(k->target_zset, p, c->target_uid) ||
         sg_key_user(k->target_user, p, c->target_uid) ||
         sg_key_session_prefix(k->target_spfx, p, c->target_uid)))
        return SG_EINVAL;
    return SG_OK;
}

/* An admin route on another user, in a cluster, where that user's keys
 * are in another slot: the caller is authenticated, limited, touched and
 * checked for the role as by verify, then the route's script runs on the
 * target's slot as the operator CLI runs it (no session), with the target
 * named so that an unknown user is "not found". Two calls, not atomic: a
 * session of the caller's ended between them goes unnoticed for one
 * request (docs/CLUSTER.md). */
static int auth_one(struct sg_store *s, enum sg_auth_op op,
                    struct sg_auth_call *c);

static int auth_other_user(struct sg_store *s, enum sg_auth_op op,
                           struct sg_auth_call *c)
{
    struct sg_auth_call caller = *c, t;
    int rc;

    caller.target_uid = NULL;
    if ((rc = auth_one(s, SG_OP_VERIFY, &caller)) != SG_OK)
        return rc;
    c->status = caller.status;
    c->remaining = caller.remaining, c->reset_ms = caller.reset_ms;
    if (caller.status != SG_AUTH_OK)
        return SG_OK;
    memset(&t, 0, sizeof(t));
    t.uid = t.target_uid = c->target_uid;
    t.sid = "", t.jti = "-", t.now = c->now;
    if ((rc = auth_one(s, op, &t)) != SG_OK)
        return rc;
    c->status = t.status;
    c->sessions = t.sessions, c->nsessions = t.nsessions;
    c->terminated = t.terminated;
    return SG_OK;
}

int sg_store_auth(struct sg_store *s, enum sg_auth_op op,
                  struct sg_auth_call *c)
{
    if (s->cluster && c->target_uid && strcmp(c->target_uid, c->uid) != 0)
        return auth_other_user(s, op, c);
    return auth_one(s, op, c);
}

/* One authenticated call: every key in the caller's slot. */
static int auth_one(struct sg_store *s, enum sg_auth_op op,
                    struct sg_auth_call *c)
{
    struct auth_keys k;
    char now[24], idle[24], limit[24], window[24], extra[24];
    const char *argv[19]; /* 8 keys and 9 arguments at most */
    int argc = 0, nkeys = 6;
    redisReply *r;
    bool ok;

    if (build_keys(s, c, &k) != SG_OK) {
        c->status = SG_AUTH_DENIED;
        return SG_OK;
    }
    I64(now, c->now), I64(idle, c->idle_ms), I64(limit, c->limit);
    I64(window, c->window_ms);
    argv[argc++] = k.session, argv[argc++] = k.revoked;
    argv[argc++] = k.zset, argv[argc++] = k.user, argv[argc++] = k.limit;
    argv[argc++] = k.stream;
    if (c->target_uid) {
        argv[argc++] = k.target_zset, argv[argc++] = k.target_user;
        nkeys += 2;
    }
    argv[argc++] = now, argv[argc++] = idle, argv[argc++] = k.spfx;
    argv[argc++] = c->sid, argv[argc++] = limit, argv[argc++] = window;
    argv[argc++] = c->forbidden ? "1" : "0";
    argv[argc++] = s->token_ttl_ms;
    if (c->target_uid)
        argv[argc++] = k.target_spfx;
    else if (op == SG_OP_SESSION_END)
        argv[argc++] = c->target_sid;
    else if (op == SG_OP_SIGNOUT)
        I64(extra, c->revoke_ms), argv[argc++] = extra;
    if (!(r = sg_store_eval(s, op_script[op], nkeys, argc, argv, NULL)))
        return SG_ESTORE;
    ok = parse_auth_reply(r, op, c);
    freeReplyObject(r);
    if (!ok) {
        free(c->sessions);
        c->sessions = NULL;
        return SG_ESTORE;
    }
    return SG_OK;
}

/* ---- activity written behind ----------------------------------------- */

int sg_store_touch(struct sg_store *s, struct sg_touch *t, int n,
                   int64_t now, int *ended)
{
    const struct sg_rate_policy *p = &s->cfg->ratelimit_user;
    const char *prefix = s->cfg->key_prefix;
    static char keys[2 * SG_TOUCH_MAX][SG_KEY_MAX]; /* one per worker */
    char nums[4 + 2 * SG_TOUCH_MAX][SG_I64_STR_MAX];
    const char *argv[SG_SCRIPT_ARGS_MAX];
    int nk = 0, argc, rc = SG_ESTORE;
    long long e = 0;
    redisReply *r;

    *ended = 0;
    if (n <= 0 || n > SG_TOUCH_MAX)
        return n == 0 ? SG_OK : SG_EINVAL;
    argv[nk++] = s->revocations;
    for (int i = 0; i < n; i++) {
        char *ks = keys[2 * i], *ku = keys[2 * i + 1];
        if (sg_key_session(ks, prefix, t[i].uid, t[i].sid) ||
            sg_key_user_sessions(ku, prefix, t[i].uid))
            return SG_EINVAL;
        argv[nk++] = ks, argv[nk++] = ku;
        argv[nk++] = t[i].limit_key ? t[i].limit_key : "";
    }
    argc = nk;
    I64(nums[0], now), I64(nums[1], s->cfg->session_idle_timeout * 1000);
    I64(nums[2], p->limit), I64(nums[3], p->window_ms);
    argv[argc++] = nums[0], argv[argc++] = nums[1];
    argv[argc++] = s->token_ttl_ms;
    argv[argc++] = nums[2], argv[argc++] = nums[3];
    for (int i = 0; i < n; i++) {
        I64(nums[4 + 2 * i], t[i].count), I64(nums[5 + 2 * i], t[i].last_ms);
        argv[argc++] = t[i].sid;
        argv[argc++] = nums[4 + 2 * i], argv[argc++] = nums[5 + 2 * i];
    }
    if (!(r = sg_store_eval(s, SG_SCRIPT_TOUCH, nk, argc, argv, NULL)))
        return SG_ESTORE;
    /* {ended, then remaining and reset of each session's counter} */
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 + 2 * (size_t)n &&
        sg_store_reply_int(r->element[0], &e) && e >= 0) {
        rc = SG_OK;
        *ended = (int)e;
        for (int i = 0; i < n && rc == SG_OK; i++) {
            long long rem = 0, reset = 0;
            if (!sg_store_reply_int(r->element[1 + 2 * i], &rem) ||
                !sg_store_reply_int(r->element[2 + 2 * i], &reset))
                rc = SG_ESTORE;
            else
                t[i].remaining = rem, t[i].reset_ms = reset;
        }
    }
    freeReplyObject(r);
    return rc;
}
