/* fake_store_sessions.c -- sessions, refresh rotation and the
 * authenticated calls of the in-memory store (see fake_store.c): what
 * session_create.lua, refresh.lua, prelude.lua and the route scripts do
 * to a session's keys, and what store_sessions.c reads of their replies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_store_impl.h"
#include "keys.h"

/* ---- sessions: the keys one session is made of ------------------------ */

static struct fake_session *session_find(struct sg_store *s, const char *uid,
                                         const char *sid)
{
    for (int i = 0; i < FAKE_SESSIONS; i++) {
        struct fake_session *ss = &s->sessions[i];
        if ((ss->hash || ss->indexed) && !strcmp(ss->uid, uid) &&
            !strcmp(ss->f.id, sid))
            return ss;
    }
    return NULL;
}

static bool hash_live(const struct fake_session *ss, int64_t now)
{
    return ss && ss->hash && now <= ss->hash_until;
}

/* The session's hash if it exists at now (else NULL). */
static struct fake_session *session_hash(struct sg_store *s, const char *uid,
                                         const char *sid, int64_t now)
{
    struct fake_session *ss = session_find(s, uid, sid);

    return hash_live(ss, now) ? ss : NULL;
}

/* A slot with no key left is free again. */
static void settle(struct fake_session *ss)
{
    if (!ss->hash && !ss->indexed)
        memset(ss, 0, sizeof(*ss));
}

/* DEL prefix..sid, prefix..sid..':rt' */
static void session_del(struct fake_session *ss)
{
    ss->hash = false;
    ss->nrotated = 0;
}

/* ZREM of the user's index */
static void session_unindex(struct fake_session *ss)
{
    ss->indexed = false;
    settle(ss);
}

/* prelude.lua's end_session() */
static void end_session(struct sg_store *s, const char *uid, const char *sid)
{
    struct fake_session *ss = session_find(s, uid, sid);

    if (ss) {
        session_del(ss);
        session_unindex(ss);
    }
}

/* PEXPIRE of the session hash */
static void session_expire(struct fake_session *ss, int64_t now, int64_t ms)
{
    ss->hash_until = now + ms;
    if (ms <= 0)
        ss->hash = false;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* uid's index in ZRANGE order (score, then id) or, reversed, ZREVRANGE
 * order; returns how many. */
static int by_score(const void *a, const void *b)
{
    const struct fake_session *x = *(struct fake_session *const *)a;
    const struct fake_session *y = *(struct fake_session *const *)b;

    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return strcmp(x->f.id, y->f.id);
}

static int index_of(struct sg_store *s, const char *uid, bool newest_first,
                    struct fake_session **out)
{
    int n = 0;

    for (int i = 0; i < FAKE_SESSIONS; i++)
        if (s->sessions[i].indexed && !strcmp(s->sessions[i].uid, uid))
            out[n++] = &s->sessions[i];
    qsort(out, (size_t)n, sizeof(*out), by_score);
    for (int i = 0; newest_first && i < n / 2; i++) {
        struct fake_session *t = out[i];
        out[i] = out[n - 1 - i], out[n - 1 - i] = t;
    }
    return n;
}

/* ---- session_create.lua ----------------------------------------------- */

static struct fake_session *session_new(struct sg_store *s, const char *uid,
                                        const char *sid)
{
    struct fake_session *ss = session_find(s, uid, sid);

    for (int i = 0; !ss && i < FAKE_SESSIONS; i++)
        if (!s->sessions[i].hash && !s->sessions[i].indexed)
            ss = &s->sessions[i];
    if (!ss)
        fake_full("sessions");
    if (!ss->hash && !ss->indexed) {
        memset(ss, 0, sizeof(*ss));
        fake_put(ss->uid, sizeof(ss->uid), uid, "user id");
        fake_put(ss->f.id, sizeof(ss->f.id), sid, "session id");
    }
    return ss;
}

/* ZREM of this sign-in's entry from the account's failure window (or,
 * with no window, of "" from the known addresses, as the script's
 * stand-in key makes it). */
static void attempt_taken_out(struct sg_store *s,
                              const struct sg_session_new *n)
{
    const char *m = n->attempt ? n->attempt : "";

    if (n->attempt_key)
        fake_window_rem(s, n->attempt_key, m);
    else
        fake_addr_rem(s, n->uid, m);
}

static int evict_oldest(struct sg_store *s, const char *uid, const char *sid,
                        int max)
{
    struct fake_session *index[FAKE_SESSIONS];
    int n, evicted = 0;

    while ((n = index_of(s, uid, false, index)) > max) {
        /* the oldest other session, never the new one */
        struct fake_session *oldest =
            strcmp(index[0]->f.id, sid) ? index[0] : index[1];
        session_del(oldest);
        session_unindex(oldest);
        evicted++;
    }
    return evicted;
}

int sg_store_session_create(struct sg_store *s, const struct sg_session_new *n,
                            int *evicted)
{
    const struct sg_session *in = n->session;
    const char *p = s->cfg->key_prefix;
    const int64_t now = in->created_at, exp = in->expires_at;
    struct fake_session *index[FAKE_SESSIONS], *ss;
    char k[SG_KEY_MAX];
    int count;

    if (sg_key_user_sessions(k, p, n->uid) ||
        sg_key_session(k, p, n->uid, in->id) ||
        sg_key_session_prefix(k, p, n->uid) || sg_key_known_addrs(k, p, n->uid))
        return SG_EINVAL;
    if (!fake_reach(s))
        return SG_ESTORE;
    count = index_of(s, n->uid, false, index);
    for (int i = 0; i < count; i++) { /* dead entries pruned */
        if (!hash_live(index[i], now)) {
            session_del(index[i]);
            session_unindex(index[i]);
        }
    }
    attempt_taken_out(s, n);
    ss = session_new(s, n->uid, in->id);
    ss->hash = true;
    ss->f.created_at = ss->f.last_access = now;
    ss->f.expires_at = exp;
    fake_put(ss->f.ip, sizeof(ss->f.ip), in->ip, "ip");
    fake_put(ss->f.user_agent, sizeof(ss->f.user_agent), in->user_agent,
             "user agent");
    ss->f.request_count = 1;
    fake_put(ss->refresh_hash, sizeof(ss->refresh_hash), n->refresh_hash,
             "refresh hash");
    ss->refresh_exp = n->refresh_exp;
    fake_addr_seen(s, n->uid, n->addr, now);
    session_expire(ss, now, min64(n->idle_ms, exp - now));
    ss->indexed = true, ss->score = now;
    *evicted = evict_oldest(s, n->uid, in->id, n->max_sessions);
    return SG_OK;
}

/* ---- refresh.lua ------------------------------------------------------ */

/* The script's reply: n elements (always 7), then as store.h's struct
 * sg_refresh reads them. */
struct refresh_reply {
    int n;
    int status;
    const char *roles;
    int64_t refresh_exp;
    long long remaining;
    int64_t reset;
    const char *wrap, *current;
};

static struct refresh_reply no_match(struct sg_store *s,
                                     const struct sg_refresh *rf, const char *m,
                                     int status)
{
    struct refresh_reply r = {7, status, "", 0, -1, 0, "", ""};
    int limit = rf->fail.key ? rf->fail.limit : 0;
    struct window_answer a;

    if (limit == 0)
        return r;
    a = fake_window(s, rf->fail.key, rf->now, limit, rf->fail.window_ms,
                    SG_LIMIT_HIT, m);
    r.status = !a.allowed && status != -4 ? -6 : status;
    r.remaining = a.remaining, r.reset = a.reset;
    return r;
}

/* The session's window, then the touch of a request; false when the
 * window is full. */
static bool matched(struct sg_store *s, const struct sg_refresh *rf,
                    struct fake_session *ss, const char *m,
                    struct refresh_reply *r)
{
    const int64_t exp = ss->f.expires_at;
    int limit = rf->limit.key ? rf->limit.limit : 0;

    r->remaining = -1, r->reset = 0;
    if (limit > 0) {
        struct window_answer a =
            fake_window(s, rf->limit.key, rf->now, limit, rf->limit.window_ms,
                        SG_LIMIT_HIT, m);
        r->remaining = a.remaining, r->reset = a.reset;
        if (!a.allowed)
            return false;
    }
    ss->f.last_access = rf->now;
    ss->f.request_count++;
    session_expire(ss, rf->now, min64(rf->idle_ms, exp - rf->now));
    return true;
}

static bool was_rotated(const struct fake_session *ss, const char *hash,
                        int64_t now)
{
    if (!ss->nrotated || now > ss->rotated_until)
        return false;
    for (int i = 0; i < ss->nrotated; i++)
        if (fake_same(ss->rotated[i], hash))
            return true;
    return false;
}

static const char *roles_of(struct sg_store *s, const char *uid)
{
    const struct sg_user *u = fake_user_by_id(s, uid);

    return u ? u->roles : "";
}

/* The presented token is not the current one: the previous one within
 * the grace, a rotated one (reuse: the session ends), or nothing. */
static struct refresh_reply not_current(struct sg_store *s,
                                        const struct sg_refresh *rf,
                                        struct fake_session *ss, const char *m)
{
    const int64_t now = rf->now;
    struct refresh_reply r = {7, 2, "", 0, -1, 0, "", ""};

    if (rf->grace_ms > 0 && ss->prev_hash[0] &&
        fake_same(ss->prev_hash, rf->presented_hash) && ss->prev_wrap[0] &&
        now < ss->rotated_at + rf->grace_ms) {
        if (now >= ss->refresh_exp)
            return no_match(s, rf, m, -5);
        if (!matched(s, rf, ss, m, &r))
            return r.status = -1, r;
        r.roles = roles_of(s, rf->uid);
        r.refresh_exp = ss->refresh_exp;
        r.wrap = ss->prev_wrap, r.current = ss->refresh_hash;
        return r;
    }
    if (was_rotated(ss, rf->presented_hash, now)) {
        session_del(ss);
        session_unindex(ss);
        return no_match(s, rf, m, -4);
    }
    return no_match(s, rf, m, 0);
}

static struct refresh_reply rotate(struct sg_store *s,
                                   const struct sg_refresh *rf, const char *m)
{
    struct fake_session *ss = session_hash(s, rf->uid, rf->sid, rf->now);
    struct refresh_reply r = {7, 1, "", 0, -1, 0, "", ""};
    const int64_t now = rf->now;
    int64_t exp;

    if (!ss || now >= (exp = ss->f.expires_at))
        return no_match(s, rf, m, 0);
    if (!fake_same(ss->refresh_hash, rf->presented_hash))
        return not_current(s, rf, ss, m);
    if (now >= ss->refresh_exp)
        return no_match(s, rf, m, -5);
    if (!matched(s, rf, ss, m, &r))
        return r.status = -1, r;
    r.refresh_exp = min64(now + rf->lifetime_ms, exp);
    if (ss->nrotated && now > ss->rotated_until)
        ss->nrotated = 0; /* the :rt set had expired */
    if (!was_rotated(ss, rf->presented_hash, now)) { /* SADD */
        if (ss->nrotated == FAKE_ROTATED)
            fake_full("rotated refresh tokens of a session");
        fake_put(ss->rotated[ss->nrotated++], 65, rf->presented_hash, "hash");
    }
    ss->rotated_until = now + (exp - now);
    fake_put(ss->prev_hash, sizeof(ss->prev_hash), rf->presented_hash, "hash");
    fake_put(ss->refresh_hash, sizeof(ss->refresh_hash), rf->new_hash, "hash");
    fake_put(ss->prev_wrap, sizeof(ss->prev_wrap), rf->new_wrap, "wrap");
    ss->refresh_exp = r.refresh_exp;
    ss->rotated_at = now;
    r.roles = roles_of(s, rf->uid);
    return r;
}

/* The reply read as store_sessions.c reads it. A reply of five elements
 * is no answer there (SG_ESTORE), whatever the script did first. */
static int refresh_answer(const struct refresh_reply *r, struct sg_refresh *rf)
{
    int status = r->status, rc;
    struct sg_limit_check *w;

    rf->limit.allowed = rf->fail.allowed = true;
    rf->limit.remaining = rf->fail.remaining = -1;
    rf->grace = false;
    if (r->n != 7)
        return SG_ESTORE;
    if (status == 2 &&
        (strlen(r->wrap) != SG_WRAP_HEX || strlen(r->current) != 64))
        status = 0; /* not a wrap this build made: no grace */
    if (status == 2) {
        fake_put(rf->wrap, sizeof(rf->wrap), r->wrap, "wrap");
        fake_put(rf->current_hash, sizeof(rf->current_hash), r->current,
                 "hash");
    }
    rf->grace = status == 2;
    rc = status == 1 || status == 2     ? SG_OK
         : status == -1 || status == -6 ? SG_ELIMIT
         : status == -4                 ? SG_EREUSED
                                        : SG_EAUTH;
    w = status == 1 || status == 2 || status == -1 ? &rf->limit : &rf->fail;
    w->allowed = status != -1 && status != -6;
    w->remaining = r->remaining;
    w->reset_ms = r->reset;
    if (rc == SG_OK)
        fake_put(rf->roles, sizeof(rf->roles), r->roles, "roles");
    rf->refresh_exp = r->refresh_exp;
    return rc;
}

int sg_store_refresh(struct sg_store *s, struct sg_refresh *rf)
{
    const char *p = s->cfg->key_prefix;
    char k[SG_KEY_MAX], m[SG_MEMBER_MAX];
    struct refresh_reply r;

    if (sg_key_session(k, p, rf->uid, rf->sid) ||
        sg_key_rotated(k, p, rf->uid, rf->sid) ||
        sg_key_user_sessions(k, p, rf->uid) || sg_key_user(k, p, rf->uid))
        return SG_EAUTH;
    fake_member(s, rf->now, m);
    if (!fake_reach(s))
        return SG_ESTORE;
    r = rotate(s, rf, m);
    return refresh_answer(&r, rf);
}

/* ---- prelude.lua and the authenticated routes' scripts ---------------- */

static bool revoked(struct sg_store *s, const char *uid, const char *jti,
                    int64_t now)
{
    for (int i = 0; i < FAKE_REVOKED; i++)
        if (s->revoked[i].used && now <= s->revoked[i].until &&
            !strcmp(s->revoked[i].uid, uid) && !strcmp(s->revoked[i].jti, jti))
            return true;
    return false;
}

/* SET P{u:ID}:rv:JTI 1 PX ms */
static void revoke(struct sg_store *s, const char *uid, const char *jti,
                   int64_t now, int64_t ms)
{
    int slot = -1;

    for (int i = 0; i < FAKE_REVOKED && slot < 0; i++) /* the key */
        if (s->revoked[i].used && !strcmp(s->revoked[i].uid, uid) &&
            !strcmp(s->revoked[i].jti, jti))
            slot = i;
    for (int i = 0; i < FAKE_REVOKED && slot < 0; i++) /* or a free one */
        if (!s->revoked[i].used || now > s->revoked[i].until)
            slot = i;
    if (slot < 0)
        fake_full("revoked tokens");
    s->revoked[slot].used = true;
    fake_put(s->revoked[slot].uid, FAKE_ID_MAX, uid, "user id");
    fake_put(s->revoked[slot].jti, FAKE_ID_MAX, jti, "jti");
    s->revoked[slot].until = now + ms;
}

/* The prelude: false with the reply's status when the route's own work
 * is not to run. */
static bool prelude(struct sg_store *s, struct sg_auth_call *c,
                    const char *user_key)
{
    struct fake_session *ss;
    int64_t exp;

    c->remaining = -1, c->reset_ms = 0;
    if (!c->sid[0]) /* the operator CLI: no session, no limit */
        return true;
    c->status = SG_AUTH_DENIED;
    if (revoked(s, c->uid, c->jti, c->now) ||
        !(ss = session_hash(s, c->uid, c->sid, c->now)))
        return false;
    exp = ss->f.expires_at;
    if (c->now >= exp) {
        end_session(s, c->uid, c->sid);
        return false;
    }
    if (c->limit) {
        struct window_answer a =
            fake_counter(s, c->limit_key ? c->limit_key : user_key, c->now,
                         c->limit, c->window_ms, 1, false);
        c->remaining = a.remaining, c->reset_ms = a.reset;
        if (!a.allowed)
            return c->status = SG_AUTH_LIMITED, false;
    }
    ss->f.last_access = c->now;
    ss->f.request_count++;
    session_expire(ss, c->now, min64(c->idle_ms, exp - c->now));
    if (c->forbidden)
        return c->status = SG_AUTH_FORBIDDEN, false;
    return true;
}

/* list_sessions(): the live sessions of uid's index, newest first, the
 * dead ones pruned; into c->sessions when rows. */
static int list_sessions(struct sg_store *s, const char *uid, int64_t now,
                         struct fake_session **live)
{
    struct fake_session *index[FAKE_SESSIONS];
    int n = index_of(s, uid, true, index), kept = 0;

    for (int i = 0; i < n; i++) {
        if (hash_live(index[i], now) && index[i]->f.expires_at > now) {
            live[kept++] = index[i];
        } else {
            session_del(index[i]);
            session_unindex(index[i]);
        }
    }
    return kept;
}

static void op_sessions_list(struct sg_store *s, struct sg_auth_call *c,
                             const char *uid)
{
    struct fake_session *live[FAKE_SESSIONS];
    int n = list_sessions(s, uid, c->now, live);

    c->status = SG_AUTH_OK;
    if (n && !(c->sessions = calloc((size_t)n, sizeof(*c->sessions))))
        abort();
    for (int i = 0; i < n; i++)
        c->sessions[i] = live[i]->f;
    c->nsessions = (size_t)n;
}

static void op_sessions_end(struct sg_store *s, struct sg_auth_call *c,
                            const char *uid, const char *keep)
{
    struct fake_session *live[FAKE_SESSIONS];
    int n = list_sessions(s, uid, c->now, live);

    c->status = SG_AUTH_OK;
    c->terminated = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(live[i]->f.id, keep)) {
            session_del(live[i]);
            session_unindex(live[i]);
            c->terminated++;
        }
    }
}

static void op_session_end(struct sg_store *s, struct sg_auth_call *c)
{
    struct fake_session *ss = session_find(s, c->uid, c->target_sid);

    c->status = SG_AUTH_NOT_FOUND;
    if (!ss || !ss->indexed || !hash_live(ss, c->now) ||
        ss->f.expires_at <= c->now)
        return;
    end_session(s, c->uid, c->target_sid);
    c->status = SG_AUTH_OK;
}

static void op_me(struct sg_store *s, struct sg_auth_call *c)
{
    const struct sg_user *u = fake_user_by_id(s, c->uid);

    memset(&c->user, 0, sizeof(c->user));
    if (!u) { /* {0, -1, 0} */
        c->status = SG_AUTH_DENIED, c->remaining = -1, c->reset_ms = 0;
        return;
    }
    c->status = SG_AUTH_OK;
    c->user = *u;
    memset(c->user.password, 0, sizeof(c->user.password));
}

static void run_op(struct sg_store *s, enum sg_auth_op op,
                   struct sg_auth_call *c)
{
    const char *target = c->target_uid;

    if (target && (op == SG_OP_SESSIONS_LIST || op == SG_OP_SESSIONS_END) &&
        !fake_user_by_id(s, target)) {
        c->status = SG_AUTH_NOT_FOUND;
        return;
    }
    switch (op) {
    case SG_OP_VERIFY:
        c->status = SG_AUTH_OK;
        break;
    case SG_OP_ME:
        op_me(s, c);
        break;
    case SG_OP_SIGNOUT:
        revoke(s, c->uid, c->jti, c->now, c->revoke_ms > 1 ? c->revoke_ms : 1);
        end_session(s, c->uid, c->sid);
        c->status = SG_AUTH_OK;
        break;
    case SG_OP_SESSIONS_LIST:
        op_sessions_list(s, c, target ? target : c->uid);
        break;
    case SG_OP_SESSION_END:
        op_session_end(s, c);
        break;
    case SG_OP_SESSIONS_END:
        op_sessions_end(s, c, target ? target : c->uid, target ? "" : c->sid);
        break;
    }
}

/* The keys store_sessions.c builds: a call whose keys do not fit is
 * answered "denied" without a round trip. */
static bool auth_keys_fit(const struct sg_config *cfg,
                          const struct sg_auth_call *c, char *user_key)
{
    const char *p = cfg->key_prefix;
    char k[SG_KEY_MAX];

    return !sg_key_session(k, p, c->uid, c->sid) &&
           !sg_key_revoked(k, p, c->uid, c->jti) &&
           !sg_key_user_sessions(k, p, c->uid) &&
           !sg_key_user(user_key, p, c->uid) &&
           !sg_key_session_prefix(k, p, c->uid) &&
           !(c->target_uid && (sg_key_user_sessions(k, p, c->target_uid) ||
                               sg_key_user(k, p, c->target_uid) ||
                               sg_key_session_prefix(k, p, c->target_uid)));
}

int sg_store_auth(struct sg_store *s, enum sg_auth_op op,
                  struct sg_auth_call *c)
{
    char user_key[SG_KEY_MAX];

    if (!auth_keys_fit(s->cfg, c, user_key)) {
        c->status = SG_AUTH_DENIED;
        return SG_OK;
    }
    if (!fake_reach(s))
        return SG_ESTORE;
    if (prelude(s, c, user_key))
        run_op(s, op, c);
    return SG_OK;
}

/* ---- for tests (fake_store.h) ----------------------------------------- */

int fake_store_sessions(const struct sg_store *s, const char *uid, int64_t now)
{
    int n = 0;

    for (int i = 0; i < FAKE_SESSIONS; i++)
        if (s->sessions[i].indexed && !strcmp(s->sessions[i].uid, uid) &&
            hash_live(&s->sessions[i], now))
            n++;
    return n;
}

bool fake_store_session_live(const struct sg_store *s, const char *uid,
                             const char *sid, int64_t now)
{
    for (int i = 0; i < FAKE_SESSIONS; i++)
        if (!strcmp(s->sessions[i].uid, uid) &&
            !strcmp(s->sessions[i].f.id, sid))
            return hash_live(&s->sessions[i], now);
    return false;
}

/* ---- touch.lua --------------------------------------------------------- */

int sg_store_touch(struct sg_store *s, struct sg_touch *t, int n,
                   int64_t now, int *ended)
{
    const int64_t idle = s->cfg->session_idle_timeout * 1000;
    const struct sg_rate_policy *p = &s->cfg->ratelimit_user;

    *ended = 0;
    if (n < 0 || n > SG_TOUCH_MAX)
        return SG_EINVAL;
    if (!fake_reach(s))
        return SG_ESTORE;
    for (int i = 0; i < n; i++) {
        struct fake_session *ss = session_find(s, t[i].uid, t[i].sid);
        int64_t exp = ss && hash_live(ss, now) ? ss->f.expires_at : 0;

        t[i].remaining = -1, t[i].reset_ms = 0;
        if (exp && now < exp && now - t[i].last_ms < idle) {
            if (ss->f.last_access < t[i].last_ms)
                ss->f.last_access = t[i].last_ms;
            ss->f.request_count += t[i].count;
            session_expire(ss, now,
                           min64(idle - (now - t[i].last_ms), exp - now));
            if (p->limit && t[i].limit_key) {
                struct window_answer a =
                    fake_counter(s, t[i].limit_key, now, p->limit,
                                 p->window_ms, (int)t[i].count, true);
                t[i].remaining = a.remaining, t[i].reset_ms = a.reset;
            }
        } else if (ss && ss->indexed) {
            session_del(ss);
            session_unindex(ss); /* published, in Redis */
            (*ended)++;
        }
    }
    return SG_OK;
}
