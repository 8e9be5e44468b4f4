/* fake_store.c -- store.h in memory, for unit tests of the handlers:
 * the store's life, rate-limit windows, users and sign-in. Sessions,
 * refresh and the authenticated calls are in fake_store_sessions.c.
 *
 * Redis keeps sessiongate's state in the keys of keys.h, which the
 * scripts of src/lua/ read and change atomically. These files keep the
 * same state in fixed arrays (fake_store_impl.h) and change it the same
 * way: one function per script, following its script step by step, and
 * replies read as store_*.c reads them, quirks included. So a handler
 * test that passes here passes against Redis. One process, one thread:
 * every call is atomic, as a script is.
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
#include "fake_store_impl.h"
#include "keys.h"

void fake_full(const char *what)
{
    fprintf(stderr,
            "fake_store: %s: capacity exceeded (raise it in "
            "tests/unit/fake_store_impl.h)\n",
            what);
    abort();
}

void fake_put(char *out, size_t cap, const char *s, const char *what)
{
    size_t len = strlen(s);

    if (len >= cap)
        fake_full(what);
    memcpy(out, s, len + 1);
}

bool fake_same(const char *a, const char *b)
{
    return sg_ct_equal(a, strlen(a), b, strlen(b));
}

bool fake_reach(struct sg_store *s)
{
    s->calls++;
    s->connected = !s->down;
    return !s->down;
}

void fake_member(struct sg_store *s, int64_t now, char out[SG_MEMBER_MAX])
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
    return fake_reach(s) ? SG_OK : SG_ESTORE;
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
    *detail = fake_reach(s) ? "ok" : "unavailable";
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
        fake_full("rate-limit windows");
    fake_put(free_slot->key, sizeof(free_slot->key), key, "window key");
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
        fake_full("window entries");
    w->e[w->n].score = score;
    fake_put(w->e[w->n].member, SG_MEMBER_MAX, m, "window member");
    w->n++;
}

void fake_window_rem(struct sg_store *s, const char *key, const char *m)
{
    struct fake_window *w = window_find(s, key, false);

    for (int i = 0; w && i < w->n; i++) {
        if (!strcmp(w->e[i].member, m)) {
            w->e[i] = w->e[--w->n];
            return;
        }
    }
}

struct window_answer fake_window(struct sg_store *s, const char *key,
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

/* ---- counter.lua ------------------------------------------------------- */

struct window_answer fake_counter(struct sg_store *s, const char *key,
                                  int64_t now, int limit, int64_t length,
                                  int n, bool always)
{
    struct fake_counter *c = NULL, *free_slot = NULL;
    struct window_answer a;
    double t, est, reset, target;

    for (int i = 0; i < FAKE_WINDOWS && !c; i++) {
        struct fake_counter *k = &s->counters[i];
        if (k->key[0] && now >= k->until)
            k->key[0] = '\0'; /* expired */
        if (k->key[0] && !strcmp(k->key, key))
            c = k;
        else if (!free_slot && !k->key[0])
            free_slot = k;
    }
    if (!c) {
        if (!(c = free_slot))
            fake_full("rate-limit counters");
        fake_put(c->key, sizeof(c->key), key, "counter key");
        c->start = now, c->prev = c->cur = 0;
    } else if (now >= c->start + 2 * length) {
        c->start = now, c->prev = c->cur = 0;
    } else if (now >= c->start + length) {
        c->start += length, c->prev = c->cur, c->cur = 0;
    }
    t = (double)(now > c->start ? now : c->start);
#define EST(at) ((double)c->prev * ((double)(c->start + length) - (at)) / \
                     (double)length + (double)c->cur)
    a.allowed = EST(t) + n <= limit;
    if (a.allowed || always)
        c->cur += n;
    c->until = c->start + 2 * length;
    est = EST(t);
#undef EST
    /* floor and ceil of non-negative values, without libm */
    a.remaining = limit - est >= 0 ? (long long)(limit - est) : 0;
    target = (double)(limit - a.remaining - 1);
    if (c->cur <= target && c->prev > 0)
        reset = (double)(c->start + length) -
                (target - (double)c->cur) * (double)length / (double)c->prev;
    else if (c->cur > 0)
        reset = (double)(c->start + 2 * length) -
                (target > 0 ? target : 0) * (double)length / (double)c->cur;
    else
        reset = t;
    reset = reset > t ? reset : t;
    a.reset = (int64_t)reset + ((double)(int64_t)reset < reset);
    return a;
}

int sg_store_limits(struct sg_store *s, int64_t now,
                    struct sg_limit_check *checks, int n)
{
    char m[SG_MEMBER_MAX];

    if (n < 1 || n > SG_LIMIT_CHECKS_MAX)
        return SG_EINVAL;
    if (!fake_reach(s))
        return SG_ESTORE;
    for (int i = 0; i < n; i++) { /* ratelimit.lua */
        struct sg_limit_check *c = &checks[i];
        struct window_answer a;
        fake_member(s, now, m);
        a = fake_window(s, c->key, now, c->limit, c->window_ms, c->mode, m);
        c->allowed = a.allowed, c->remaining = a.remaining;
        c->reset_ms = a.reset;
    }
    return SG_OK;
}

/* ---- users (register.lua, store_users.c) -------------------------------- */

struct sg_user *fake_user_by_id(struct sg_store *s, const char *uid)
{
    for (int i = 0; i < FAKE_USERS; i++)
        if (s->users[i].used && !strcmp(s->users[i].u.id, uid))
            return &s->users[i].u;
    return NULL;
}

struct sg_user *fake_user_by_email(struct sg_store *s, const char *email)
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
    if (!fake_reach(s))
        return SG_ESTORE;
    if (fake_user_by_email(s, u->email)) /* SET NX of the email index failed */
        return SG_EEXIST;
    for (int i = 0; i < FAKE_USERS; i++) {
        if (!s->users[i].used) {
            s->users[i].used = true;
            s->users[i].u = *u;
            return SG_OK;
        }
    }
    fake_full("users");
    return SG_ESTORE;
}

int sg_store_user_by_id(struct sg_store *s, const char *uid, struct sg_user *u)
{
    char k[SG_KEY_MAX];
    const struct sg_user *found;

    if (sg_key_user(k, s->cfg->key_prefix, uid))
        return SG_ENOTFOUND;
    if (!fake_reach(s))
        return SG_ESTORE;
    if (!(found = fake_user_by_id(s, uid)))
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
    if (!fake_reach(s)) /* GET of the email index, then the record */
        return SG_ESTORE;
    if (!(found = fake_user_by_email(s, email)))
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
    if (!fake_reach(s))
        return SG_ESTORE;
    /* HSET on no user makes a hash without an id, which every read
     * takes for no user: the same as keeping nothing */
    if (!(u = fake_user_by_id(s, uid)))
        return SG_OK;
    if (!strcmp(field, "password"))
        fake_put(u->password, sizeof(u->password), value, "password hash");
    else if (!strcmp(field, "roles"))
        fake_put(u->roles, sizeof(u->roles), value, "roles");
    else if (!strcmp(field, "name"))
        fake_put(u->name, sizeof(u->name), value, "name");
    else
        fake_full("user fields (only password, roles and name are kept)");
    return SG_OK;
}

int sg_store_user_delete(struct sg_store *s, const struct sg_user *u)
{
    char k[SG_KEY_MAX];
    const char *p = s->cfg->key_prefix;

    if (sg_key_user(k, p, u->id) || sg_key_email(k, p, u->email) ||
        sg_key_users(k, p))
        return SG_EINVAL;
    if (!fake_reach(s) || !fake_reach(s)) /* DEL, then SREM */
        return SG_ESTORE;
    for (int i = 0; i < FAKE_USERS; i++)
        if (s->users[i].used && !strcmp(s->users[i].u.id, u->id))
            memset(&s->users[i], 0, sizeof(s->users[i]));
    return SG_OK;
}

int sg_store_user_each(struct sg_store *s,
                       int (*fn)(void *arg, const char *uid), void *arg)
{
    if (!fake_reach(s))
        return SG_ESTORE;
    for (int i = 0; i < FAKE_USERS; i++)
        if (s->users[i].used && fn(arg, s->users[i].u.id))
            return SG_OK;
    return SG_OK;
}

/* ---- known addresses (session_create.lua, signin.lua) ----------------- */

void fake_addr_seen(struct sg_store *s, const char *uid, const char *addr,
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
        fake_full("known addresses");
    s->addrs[slot].used = true;
    fake_put(s->addrs[slot].uid, sizeof(s->addrs[slot].uid), uid, "user id");
    fake_put(s->addrs[slot].addr, sizeof(s->addrs[slot].addr), addr, "address");
    s->addrs[slot].score = now;
    for (int i = 0; i < FAKE_ADDRS; i++)
        if (s->addrs[i].used && !strcmp(s->addrs[i].uid, uid) &&
            s->addrs[i].score <= now - SG_KNOWN_ADDR_MS)
            s->addrs[i].used = false;
}

void fake_addr_rem(struct sg_store *s, const char *uid, const char *addr)
{
    for (int i = 0; i < FAKE_ADDRS; i++)
        if (s->addrs[i].used && !strcmp(s->addrs[i].uid, uid) &&
            !strcmp(s->addrs[i].addr, addr))
            s->addrs[i].used = false;
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
    fake_member(s, si->now, si->member);
    if (!fake_reach(s))
        return SG_ESTORE;
    if (si->ip.key && si->ip.limit > 0)
        ip = fake_window(s, si->ip.key, si->now, si->ip.limit, si->ip.window_ms,
                         SG_LIMIT_HIT, si->member);
    if (si->account.key && si->account.limit > 0)
        account = fake_window(s, si->account.key, si->now, si->account.limit,
                              si->account.window_ms, SG_LIMIT_HIT, si->member);
    si->ip.allowed = ip.allowed, si->ip.remaining = ip.remaining;
    si->ip.reset_ms = ip.reset;
    si->account.allowed = account.allowed;
    si->account.remaining = account.remaining;
    si->account.reset_ms = account.reset;
    si->found = si->known = false;
    if ((u = fake_user_by_email(s, si->email)))
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
