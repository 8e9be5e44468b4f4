/* fake_store_impl.h -- what the fake store's two files share; nothing
 * else includes it. The state Redis would hold, as fixed arrays, and the
 * helpers both files use (see fake_store.c).
 */
#ifndef SG_FAKE_STORE_IMPL_H
#define SG_FAKE_STORE_IMPL_H

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

/* counter.lua's key: "START PREV CUR". */
struct fake_counter {
    char key[SG_KEY_MAX]; /* "" for a free slot */
    int64_t start, until; /* until: its PX */
    long long prev, cur;
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
    struct fake_counter counters[FAKE_WINDOWS];
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

/* Abort on a capacity a test outgrew (what: which one). */
void fake_full(const char *what) __attribute__((noreturn));

/* Copy s into out[cap], aborting if it does not fit: the fake would
 * otherwise store something other than it was given. */
void fake_put(char *out, size_t cap, const char *s, const char *what);

/* Hashes compared as Redis compares strings; in constant time all the
 * same, since they stand for refresh tokens. */
bool fake_same(const char *a, const char *b);

/* One round trip: counted; false while the store is down. */
bool fake_reach(struct sg_store *s);

/* A window entry no other request writes, as sg_store_member's. */
void fake_member(struct sg_store *s, int64_t now, char out[SG_MEMBER_MAX]);

struct window_answer {
    bool allowed;
    long long remaining;
    int64_t reset;
};

/* window.lua's window(): prune, count, the oldest entry's reset, then
 * count this request if mode says so. */
struct window_answer fake_window(struct sg_store *s, const char *key,
                                 int64_t now, int limit, int64_t length,
                                 enum sg_limit_mode mode, const char *m);

/* counter.lua's counter(): n requests at now, counted if allowed or
 * always. */
struct window_answer fake_counter(struct sg_store *s, const char *key,
                                  int64_t now, int limit, int64_t length,
                                  int n, bool always);

/* ZREM of member m from window key. */
void fake_window_rem(struct sg_store *s, const char *key, const char *m);

/* The user record of an id or a (lowercased) email, NULL if none. */
struct sg_user *fake_user_by_id(struct sg_store *s, const char *uid);
struct sg_user *fake_user_by_email(struct sg_store *s, const char *email);

/* P{u:ID}:addrs: ZADD now addr and the prune of entries older than
 * SG_KNOWN_ADDR_MS; ZREM of addr. */
void fake_addr_seen(struct sg_store *s, const char *uid, const char *addr,
                    int64_t now);
void fake_addr_rem(struct sg_store *s, const char *uid, const char *addr);

#endif
