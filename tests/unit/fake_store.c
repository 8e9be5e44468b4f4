/* fake_store.c -- store.h in memory, for unit tests of the handlers.
 *
 * Redis keeps sessiongate's state in the keys of keys.h, which the
 * scripts of src/lua/ read and change atomically. This file keeps the
 * same state in fixed arrays and changes it the same way: one function
 * per script, following its script step by step, and replies read as
 * store_*.c reads them, quirks included (see refresh_answer). So a
 * handler test that passes here passes against Redis. One process, one
 * thread: every call is atomic, as a script is.
 *
 * Time is the `now` of each call (the request's clock, which tests fix),
 * never the wall clock. A key with a TTL lives while now <= its expiry
 * time, as Redis keeps a key until its clock is past that time. TTLs no
 * caller can observe are not kept: the session index's, the known
 * addresses' and a window's (their members are pruned by score, and the
 * key expires only once all of them would have been).
 *
 * Capacities are small and fixed; a test that outgrows one aborts with
 * a message rather than meeting a store that forgets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "fake_store.h"
#include "keys.h"

#define FAKE_USERS    32
#define FAKE_SESSIONS 64
#define FAKE_ROTATED  32
#define FAKE_WINDOWS  64
#define FAKE_ENTRIES  256
#define FAKE_REVOKED  64
#define FAKE_ADDRS    64
#define FAKE_ID_MAX   128 /* a user id or jti as a token may carry it */

/* A session's keys: its hash P{u:ID}:s:SID, its member of the user's
 * index P{u:ID}:sessions, and its rotated-hash set P{u:ID}:s:SID:rt. */
struct fake_session {
    bool hash, indexed;
    int64_t hash_until; /* the hash's expiry (PEXPIRE) */
    int64_t score;      /* in the index */
    char uid[FAKE_ID_MAX];
    struct sg_session f; /* id is the session id */
    char refresh_hash[65], prev_hash[65], prev_wrap[SG_WRAP_HEX + 1];
    int64_t refresh_exp, rotated_at;
    int nrotated; /* 0: no :rt set */
    int64_t rotated_until;
    char rotated[FAKE_ROTATED][65];
};

/* A rate-limit window: a zset of request times. */
struct fake_window {
    char key[SG_KEY_MAX]; /* "" for a free slot */
    int n;
    struct {
        int64_t score;
        char member[SG_MEMBER_MAX];
    } e[FAKE_ENTRIES];
};

struct sg_store {
    const struct sg_config *cfg;
    bool down, connected;
    unsigned long calls;
    unsigned long long seq;
    struct {
        bool used; /* the user hash, its email index, its users entry */
        struct sg_user u;
    } users[FAKE_USERS];
    struct fake_session sessions[FAKE_SESSIONS];
    struct fake_window windows[FAKE_WINDOWS];
    struct {
        bool used; /* P{u:ID}:rv:JTI */
        char uid[FAKE_ID_MAX], jti[FAKE_ID_MAX];
        int64_t until;
    } revoked[FAKE_REVOKED];
    struct {
        bool used; /* a member of P{u:ID}:addrs */
        char uid[FAKE_ID_MAX], addr[64];
        int64_t score;
    } addrs[FAKE_ADDRS];
};

static void full(const char *what)
{
    fprintf(stderr,
            "fake_store: %s: capacity exceeded (raise it in "
            "tests/unit/fake_store.c)\n",
            what);
    abort();
}

/* Copy s into out[cap], aborting if it does not fit: the fake would
 * otherwise store something other than it was given. */
static void put(char *out, size_t cap, const char *s, const char *what)
{
    size_t len = strlen(s);

    if (len >= cap)
        full(what);
    memcpy(out, s, len + 1);
}

/* Hashes are compared as Redis compares strings; in constant time all
 * the same, since they stand for refresh tokens. */
static bool same(const char *a, const char *b)
{
    return sg_ct_equal(a, strlen(a), b, strlen(b));
}

/* One round trip: counted, and refused while the store is down. */
static bool reach(struct sg_store *s)
{
    s->calls++;
    s->connected = !s->down;
    return !s->down;
}

static void member(struct sg_store *s, int64_t now, char out[SG_MEMBER_MAX])
{
    snprintf(out, SG_MEMBER_MAX, "%lld:fake:%llu", (long long)now, ++s->seq);
}

/* ---- the store's life ------------------------------------------------ */

struct sg_store *sg_store_new(const struct sg_config *cfg, char *err,
                              size_t errlen)
{
    struct sg_store *s = calloc(1, sizeof(*s));

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = cfg;
    return s;
}

void sg_store_free(struct sg_store *s)
{
    free(s);
}

int sg_store_connect(struct sg_store *s)
{
    return reach(s) ? SG_OK : SG_ESTORE;
}

bool sg_store_connected(const struct sg_store *s)
{
    return s->connected;
}

void sg_store_disconnect(struct sg_store *s)
{
    s->connected = false;
}

int sg_store_probe(struct sg_store *s, const char **detail)
{
    *detail = reach(s) ? "ok" : "unavailable";
    return s->down ? SG_ESTORE : SG_OK;
}

/* No scripts: the fake runs C that follows them. */
const char *sg_store_script_source(int id)
{
    return NULL;
}

const char *sg_store_script_sha(int id)
{
    return NULL;
}

/* ---- window.lua -------------------------------------------------------- */

static struct fake_window *window_find(struct sg_store *s, const char *key,
                                       bool create)
{
    struct fake_window *free_slot = NULL;

    for (int i = 0; i < FAKE_WINDOWS; i++) {
        if (!strcmp(s->windows[i].key, key) && key[0])
            return &s->windows[i];
        if (!free_slot && !s->windows[i].key[0])
            free_slot = &s->windows[i];
    }
    if (!create)
        return NULL;
    if (!free_slot)
        full("rate-limit windows");
    put(free_slot->key, sizeof(free_slot->key), key, "window key");
    free_slot->n = 0;
    return free_slot;
}

static void window_add(struct fake_window *w, int64_t score, const char *m)
{
    for (int i = 0; i < w->n; i++) {
        if (!strcmp(w->e[i].member, m)) { /* ZADD of a member: new score */
            w->e[i].score = score;
            return;
        }
    }
    if (w->n == FAKE_ENTRIES)
        full("window entries");
    w->e[w->n].score = score;
    put(w->e[w->n].member, SG_MEMBER_MAX, m, "window member");
    w->n++;
}

static void window_rem(struct sg_store *s, const char *key, const char *m)
{
    struct fake_window *w = window_find(s, key, false);

    for (int i = 0; w && i < w->n; i++) {
        if (!strcmp(w->e[i].member, m)) {
            w->e[i] = w->e[--w->n];
            return;
        }
    }
}

struct window_answer {
    bool allowed;
    long long remaining;
    int64_t reset;
};

/* window(): prune, count, the oldest entry's reset, then count this
 * request if mode says so. */
static struct window_answer window(struct sg_store *s, const char *key,
                                   int64_t now, int limit, int64_t length,
                                   enum sg_limit_mode mode, const char *m)
{
    struct fake_window *w = window_find(s, key, false);
    struct window_answer a = {.reset = now + length};
    long long count = 0;
    int kept = 0;

    for (int i = 0; w && i < w->n; i++) /* ZREMRANGEBYSCORE -inf now-len */
        if (w->e[i].score > now - length)
            w->e[kept++] = w->e[i];
    if (w)
        w->n = kept, count = kept;
    for (int i = 0; w && i < w->n; i++) /* ZRANGE 0 0 WITHSCORES */
        if (i == 0 || w->e[i].score + length < a.reset)
            a.reset = w->e[i].score + length;
    a.allowed = count < limit;
    if (mode == SG_LIMIT_ADD || (mode == SG_LIMIT_HIT && a.allowed)) {
        window_add(w ? w : window_find(s, key, true), now, m);
        count++;
    }
    a.remaining = limit - count > 0 ? limit - count : 0;
    return a;
}

int sg_store_limits(struct sg_store *s, int64_t now,
                    struct sg_limit_check *checks, int n)
{
    char m[SG_MEMBER_MAX];

    if (n < 1 || n > SG_LIMIT_CHECKS_MAX)
        return SG_EINVAL;
    if (!reach(s))
        return SG_ESTORE;
    for (int i = 0; i < n; i++) { /* ratelimit.lua */
        struct sg_limit_check *c = &checks[i];
        struct window_answer a;
        member(s, now, m);
        a = window(s, c->key, now, c->limit, c->window_ms, c->mode, m);
        c->allowed = a.allowed, c->remaining = a.remaining;
        c->reset_ms = a.reset;
    }
    return SG_OK;
}

/* ---- users (register.lua, store_users.c) -------------------------------- */

static struct sg_user *user_by_id(struct sg_store *s, const char *uid)
{
    for (int i = 0; i < FAKE_USERS; i++)
        if (s->users[i].used && !strcmp(s->users[i].u.id, uid))
            return &s->users[i].u;
    return NULL;
}

static struct sg_user *user_by_email(struct sg_store *s, const char *email)
{
    for (int i = 0; i < FAKE_USERS; i++)
        if (s->users[i].used && !strcmp(s->users[i].u.email, email))
            return &s->users[i].u;
    return NULL;
}

int sg_store_user_create(struct sg_store *s, const struct sg_user *u)
{
    char k[SG_KEY_MAX];
    const char *p = s->cfg->key_prefix;

    if (sg_key_email(k, p, u->email) || sg_key_user(k, p, u->id) ||
        sg_key_users(k, p))
        return SG_ETOOBIG;
    if (!reach(s))
        return SG_ESTORE;
    if (user_by_email(s, u->email)) /* SET NX of the email index failed */
        return SG_EEXIST;
    for (int i = 0; i < FAKE_USERS; i++) {
        if (!s->users[i].used) {
            s->users[i].used = true;
            s->users[i].u = *u;
            return SG_OK;
        }
    }
    full("users");
    return SG_ESTORE;
}

int sg_store_user_by_id(struct sg_store *s, const char *uid, struct sg_user *u)
{
    char k[SG_KEY_MAX];
    const struct sg_user *found;

    if (sg_key_user(k, s->cfg->key_prefix, uid))
        return SG_ENOTFOUND;
    if (!reach(s))
        return SG_ESTORE;
    if (!(found = user_by_id(s, uid)))
        return SG_ENOTFOUND;
    *u = *found;
    return SG_OK;
}

int sg_store_user_by_email(struct sg_store *s, const char *email,
                           struct sg_user *u)
{
    char k[SG_KEY_MAX];
    const struct sg_user *found;

    if (sg_key_email(k, s->cfg->key_prefix, email))
        return SG_ENOTFOUND;
    if (!reach(s)) /* GET of the email index, then the record */
        return SG_ESTORE;
    if (!(found = user_by_email(s, email)))
        return SG_ENOTFOUND;
    return sg_store_user_by_id(s, found->id, u);
}

int sg_store_user_set(struct sg_store *s, const char *uid, const char *field,
                      const char *value)
{
    char k[SG_KEY_MAX];
    struct sg_user *u;

    if (sg_key_user(k, s->cfg->key_prefix, uid))
        return SG_EINVAL;
    if (!reach(s))
        return SG_ESTORE;
    /* HSET on no user makes a hash without an id, which every read
     * takes for no user: the same as keeping nothing */
    if (!(u = user_by_id(s, uid)))
        return SG_OK;
    if (!strcmp(field, "password"))
        put(u->password, sizeof(u->password), value, "password hash");
    else if (!strcmp(field, "roles"))
        put(u->roles, sizeof(u->roles), value, "roles");
    else if (!strcmp(field, "name"))
        put(u->name, sizeof(u->name), value, "name");
    else
        full("user fields (only password, roles and name are kept)");
    return SG_OK;
}

int sg_store_user_delete(struct sg_store *s, const struct sg_user *u)
{
    char k[SG_KEY_MAX];
    const char *p = s->cfg->key_prefix;

    if (sg_key_user(k, p, u->id) || sg_key_email(k, p, u->email) ||
        sg_key_users(k, p))
        return SG_EINVAL;
    if (!reach(s) || !reach(s)) /* DEL, then SREM */
        return SG_ESTORE;
    for (int i = 0; i < FAKE_USERS; i++)
        if (s->users[i].used && !strcmp(s->users[i].u.id, u->id))
            memset(&s->users[i], 0, sizeof(s->users[i]));
    return SG_OK;
}

int sg_store_user_each(struct sg_store *s,
                       int (*fn)(void *arg, const char *uid), void *arg)
{
    if (!reach(s))
        return SG_ESTORE;
    for (int i = 0; i < FAKE_USERS; i++)
        if (s->users[i].used && fn(arg, s->users[i].u.id))
            return SG_OK;
    return SG_OK;
}

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
        full("sessions");
    if (!ss->hash && !ss->indexed) {
        memset(ss, 0, sizeof(*ss));
        put(ss->uid, sizeof(ss->uid), uid, "user id");
        put(ss->f.id, sizeof(ss->f.id), sid, "session id");
    }
    return ss;
}

/* The user's known sign-in addresses: ZADD now addr, then the ones older
 * than SG_KNOWN_ADDR_MS pruned. */
static void addr_seen(struct sg_store *s, const char *uid, const char *addr,
                      int64_t now)
{
    int slot = -1;

    for (int i = 0; i < FAKE_ADDRS; i++) {
        if (s->addrs[i].used && !strcmp(s->addrs[i].uid, uid) &&
            !strcmp(s->addrs[i].addr, addr))
            slot = i;
        else if (slot < 0 && !s->addrs[i].used)
            slot = i;
    }
    if (slot < 0)
        full("known addresses");
    s->addrs[slot].used = true;
    put(s->addrs[slot].uid, sizeof(s->addrs[slot].uid), uid, "user id");
    put(s->addrs[slot].addr, sizeof(s->addrs[slot].addr), addr, "address");
    s->addrs[slot].score = now;
    for (int i = 0; i < FAKE_ADDRS; i++)
        if (s->addrs[i].used && !strcmp(s->addrs[i].uid, uid) &&
            s->addrs[i].score <= now - SG_KNOWN_ADDR_MS)
            s->addrs[i].used = false;
}

static void addr_rem(struct sg_store *s, const char *uid, const char *addr)
{
    for (int i = 0; i < FAKE_ADDRS; i++)
        if (s->addrs[i].used && !strcmp(s->addrs[i].uid, uid) &&
            !strcmp(s->addrs[i].addr, addr))
            s->addrs[i].used = false;
}

/* ZREM of this sign-in's entry from the account's failure window (or,
 * with no window, of "" from the known addresses, as the script's
 * stand-in key makes it). */
static void attempt_taken_out(struct sg_store *s,
                              const struct sg_session_new *n)
{
    const char *m = n->attempt ? n->attempt : "";

    if (n->attempt_key)
        window_rem(s, n->attempt_key, m);
    else
        addr_rem(s, n->uid, m);
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
    if (!reach(s))
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
    put(ss->f.ip, sizeof(ss->f.ip), in->ip, "ip");
    put(ss->f.user_agent, sizeof(ss->f.user_agent), in->user_agent,
        "user agent");
    ss->f.request_count = 1;
    put(ss->refresh_hash, sizeof(ss->refresh_hash), n->refresh_hash,
        "refresh hash");
    ss->refresh_exp = n->refresh_exp;
    addr_seen(s, n->uid, n->addr, now);
    session_expire(ss, now, min64(n->idle_ms, exp - now));
    ss->indexed = true, ss->score = now;
    *evicted = evict_oldest(s, n->uid, in->id, n->max_sessions);
    return SG_OK;
}

/* ---- signin.lua ------------------------------------------------------- */

int sg_store_signin(struct sg_store *s, struct sg_signin *si)
{
    const char *p = s->cfg->key_prefix, *uid = "-";
    char k[SG_KEY_MAX];
    struct window_answer ip = {true, 0, 0}, account = {true, 0, 0};
    const struct sg_user *u;

    if (sg_key_email(k, p, si->email) || sg_key_user_head(k, p))
        return SG_EINVAL;
    member(s, si->now, si->member);
    if (!reach(s))
        return SG_ESTORE;
    if (si->ip.key && si->ip.limit > 0)
        ip = window(s, si->ip.key, si->now, si->ip.limit, si->ip.window_ms,
                    SG_LIMIT_HIT, si->member);
    if (si->account.key && si->account.limit > 0)
        account = window(s, si->account.key, si->now, si->account.limit,
                         si->account.window_ms, SG_LIMIT_HIT, si->member);
    si->ip.allowed = ip.allowed, si->ip.remaining = ip.remaining;
    si->ip.reset_ms = ip.reset;
    si->account.allowed = account.allowed;
    si->account.remaining = account.remaining;
    si->account.reset_ms = account.reset;
    si->found = si->known = false;
    if ((u = user_by_email(s, si->email)))
        uid = u->id;
    for (int i = 0; u && i < FAKE_ADDRS; i++)
        if (s->addrs[i].used && !strcmp(s->addrs[i].uid, uid) &&
            !strcmp(s->addrs[i].addr, si->addr) &&
            s->addrs[i].score > si->now - SG_KNOWN_ADDR_MS)
            si->known = true;
    if (u) {
        si->user = *u;
        si->found = true;
    }
    return SG_OK;
}

/* ---- refresh.lua ------------------------------------------------------ */

/* The script's reply: n elements (7, or 5 from no_match() with no
 * address window), then as store.h's struct sg_refresh reads them. */
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
    struct refresh_reply r = {5, status, "", 0, -1, 0, "", ""};
    int limit = rf->fail.key ? rf->fail.limit : 0;
    struct window_answer a;

    if (limit == 0)
        return r; /* {status, '', 0, -1, 0}: five elements */
    a = window(s, rf->fail.key, rf->now, limit, rf->fail.window_ms,
               SG_LIMIT_HIT, m);
    r.n = 7;
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
        struct window_answer a = window(s, rf->limit.key, rf->now, limit,
                                        rf->limit.window_ms, SG_LIMIT_HIT, m);
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
        if (same(ss->rotated[i], hash))
            return true;
    return false;
}

static const char *roles_of(struct sg_store *s, const char *uid)
{
    const struct sg_user *u = user_by_id(s, uid);

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
        same(ss->prev_hash, rf->presented_hash) && ss->prev_wrap[0] &&
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
    if (!same(ss->refresh_hash, rf->presented_hash))
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
            full("rotated refresh tokens of a session");
        put(ss->rotated[ss->nrotated++], 65, rf->presented_hash, "hash");
    }
    ss->rotated_until = now + (exp - now);
    put(ss->prev_hash, sizeof(ss->prev_hash), rf->presented_hash, "hash");
    put(ss->refresh_hash, sizeof(ss->refresh_hash), rf->new_hash, "hash");
    put(ss->prev_wrap, sizeof(ss->prev_wrap), rf->new_wrap, "wrap");
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
        put(rf->wrap, sizeof(rf->wrap), r->wrap, "wrap");
        put(rf->current_hash, sizeof(rf->current_hash), r->current, "hash");
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
        put(rf->roles, sizeof(rf->roles), r->roles, "roles");
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
    member(s, rf->now, m);
    if (!reach(s))
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
        full("revoked tokens");
    s->revoked[slot].used = true;
    put(s->revoked[slot].uid, FAKE_ID_MAX, uid, "user id");
    put(s->revoked[slot].jti, FAKE_ID_MAX, jti, "jti");
    s->revoked[slot].until = now + ms;
}

/* The prelude: false with the reply's status when the route's own work
 * is not to run. */
static bool prelude(struct sg_store *s, struct sg_auth_call *c,
                    const char *user_key)
{
    struct fake_session *ss;
    char m[SG_MEMBER_MAX] = "";
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
        struct window_answer a;
        member(s, c->now, m);
        a = window(s, c->limit_key ? c->limit_key : user_key, c->now, c->limit,
                   c->window_ms, SG_LIMIT_HIT, m);
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
    const struct sg_user *u = user_by_id(s, c->uid);

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
        !user_by_id(s, target)) {
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
    if (!reach(s))
        return SG_ESTORE;
    if (prelude(s, c, user_key))
        run_op(s, op, c);
    return SG_OK;
}

int sg_store_operator(struct sg_store *s, enum sg_auth_op op, const char *uid,
                      const char *target_sid, int64_t now,
                      struct sg_auth_call *c)
{
    memset(c, 0, sizeof(*c));
    c->uid = uid, c->sid = "", c->jti = "-";
    c->now = now;
    c->idle_ms = s->cfg->session_idle_timeout * 1000;
    c->target_sid = target_sid;
    return sg_store_auth(s, op, c);
}

/* ---- for tests (fake_store.h) ----------------------------------------- */

void fake_store_reset(struct sg_store *s)
{
    const struct sg_config *cfg = s->cfg;

    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
}

void fake_store_set_down(struct sg_store *s, bool down)
{
    s->down = down;
    if (down)
        s->connected = false;
}

unsigned long fake_store_calls(const struct sg_store *s)
{
    return s->calls;
}

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

int fake_store_window_count(const struct sg_store *s, const char *key,
                            int64_t now, int64_t window_ms)
{
    int n = 0;

    for (int i = 0; i < FAKE_WINDOWS; i++) {
        const struct fake_window *w = &s->windows[i];
        if (!w->key[0] || strcmp(w->key, key))
            continue;
        for (int j = 0; j < w->n; j++)
            n += w->e[j].score > now - window_ms;
    }
    return n;
}
