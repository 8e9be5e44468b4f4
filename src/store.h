/* store.h -- the Redis connection of one worker.
 *
 * Each worker holds one persistent hiredis connection, opened lazily on
 * first use and reopened after any error with a capped exponential
 * backoff (50 ms doubling to 1 s). While the store is down, or inside a
 * backoff window, every call fails fast with SG_ESTORE, so a request
 * costs at most one command timeout and the API answers 503
 * STORE_UNAVAILABLE; the first call after Redis returns reconnects, with
 * no restart. Only the store files include hiredis.h: the rest of the
 * program sees this header and the typed operations built on it.
 */
#ifndef SG_STORE_H
#define SG_STORE_H

#include "config.h"
#include "revoke.h"

struct sg_store;

/* A store for cfg (borrowed; must outlive the store). Reads the Redis
 * password file, if any, now. Does not connect. NULL with a reason in err
 * (never the password) when the password file cannot be read. */
struct sg_store *sg_store_new(const struct sg_config *cfg, char *err,
                              size_t errlen);
void sg_store_free(struct sg_store *s);

/* Connect now if not connected and not inside a backoff window. 0 or
 * SG_ESTORE. */
SG_MUST_CHECK int sg_store_connect(struct sg_store *s);

/* True while a connection is open. */
bool sg_store_connected(const struct sg_store *s);

/* The readiness probe, in one round trip: PING, SET of a probe key with a
 * short TTL, GET of it, DEL, and FUNCTION LIST of sessiongate's library
 * (SCRIPT EXISTS of every script where Redis has no functions), loading
 * it in a second round trip when Redis lacks it. 0 when all
 * answered as expected, else SG_ESTORE with a short reason (no secrets)
 * in *detail. */
SG_MUST_CHECK int sg_store_probe(struct sg_store *s, const char **detail);

/* The text, the build-time SHA1 and the function name of script id (0,
 * 1, ...), NULL past the last: for tests that check they agree. */
const char *sg_store_script_source(int id);
const char *sg_store_script_sha(int id);
const char *sg_store_script_fn(int id);

/* The function library FUNCTION LOAD is given: malloc'd, *len bytes
 * without the terminating NUL; NULL when out of memory. */
char *sg_store_library(size_t *len);

/* Drop the connection (after fork in a parent that used it, or when a
 * reply makes no sense) so the next call reconnects. */
void sg_store_disconnect(struct sg_store *s);

/* ---- users (store_users.c) ------------------------------------------- */

#define SG_USER_ID_LEN 32  /* 128 random bits, lowercase hex */
#define SG_EMAIL_MAX   254 /* RFC 5321 path limit */
#define SG_NAME_MAX    200
#define SG_ROLES_MAX   255
#define SG_HASH_MAX    128

struct sg_user {
    char id[SG_USER_ID_LEN + 1];
    char email[SG_EMAIL_MAX + 1]; /* as registered, lowercased */
    char name[SG_NAME_MAX + 1];
    char roles[SG_ROLES_MAX + 1];   /* comma separated */
    int64_t created_at;             /* ms */
    char password[SG_HASH_MAX + 1]; /* stored hash; never sent out */
};

/* Create u, atomically claiming its email: SG_EEXIST if taken. */
SG_MUST_CHECK int sg_store_user_create(struct sg_store *s,
                                       const struct sg_user *u);

/* Load a user by (lowercased) email or by id. SG_ENOTFOUND, SG_ESTORE. */
SG_MUST_CHECK int sg_store_user_by_email(struct sg_store *s, const char *email,
                                         struct sg_user *u);
SG_MUST_CHECK int sg_store_user_by_id(struct sg_store *s, const char *uid,
                                      struct sg_user *u);

/* Replace one field of a user record ("password", "roles", "name"). */
SG_MUST_CHECK int sg_store_user_set(struct sg_store *s, const char *uid,
                                    const char *field, const char *value);

/* Delete a user record, its email index and its entry in the user set.
 * End its sessions first (sg_store_operator with SG_OP_SESSIONS_END). */
SG_MUST_CHECK int sg_store_user_delete(struct sg_store *s,
                                       const struct sg_user *u);

/* Call fn for each user id (SSCAN of the user set); stops early when fn
 * returns non-zero. */
SG_MUST_CHECK int sg_store_user_each(struct sg_store *s,
                                     int (*fn)(void *arg, const char *uid),
                                     void *arg);

/* ---- sessions (store_sessions.c) -------------------------------------- */

#define SG_SESSION_ID_LEN 64
#define SG_IP_MAX         63
#define SG_UA_MAX         512

struct sg_session {
    char id[SG_SESSION_ID_LEN + 1];
    int64_t created_at, last_access, expires_at; /* ms */
    char ip[SG_IP_MAX + 1];
    char user_agent[SG_UA_MAX + 1];
    long long request_count;
};

struct sg_session_new {
    const char *uid;
    const struct sg_session *session; /* id, times, ip, user_agent */
    const char *addr; /* the client's address bucket, remembered as known */
    const char *attempt_key, *attempt; /* sign-in's failure window entry,
                                        * taken out (NULL: none) */
    const char *refresh_hash;
    int64_t refresh_exp; /* ms */
    int64_t idle_ms;
    int max_sessions;
};

/* Create a session at sign-in, ending the oldest ones past max_sessions.
 * *evicted gets how many were ended. */
SG_MUST_CHECK int sg_store_session_create(struct sg_store *s,
                                          const struct sg_session_new *n,
                                          int *evicted);

/* ---- rate limits of unauthenticated routes (store_limits.c) ------------ */

enum sg_limit_mode {
    SG_LIMIT_HIT,  /* count the request if it is allowed */
    SG_LIMIT_PEEK, /* only look */
    SG_LIMIT_ADD,  /* count it whatever (a failure) */
};

struct sg_limit_check {
    const char *key;
    int limit;
    int64_t window_ms;
    enum sg_limit_mode mode;
    /* out */
    bool allowed;
    long long remaining;
    int64_t reset_ms;
};

#define SG_LIMIT_CHECKS_MAX 4

/* Evaluate up to SG_LIMIT_CHECKS_MAX sliding windows in one round trip. */
SG_MUST_CHECK int sg_store_limits(struct sg_store *s, int64_t now,
                                  struct sg_limit_check *checks, int n);

/* A window log as the operator CLI lists it (sg_store_limit_windows). */
struct sg_limit_window {
    const char *key;      /* the whole key, key_prefix included */
    const int64_t *times; /* its entries' times (ms), oldest first */
    size_t n;
    int64_t ttl_ms; /* the key's remaining life; -1: none */
};

/* Call fn with each window log whose key matches pattern (a SCAN MATCH
 * glob: the caller escapes the key_prefix in it), on every master of a
 * cluster: SCAN with COUNT 1000, never KEYS. w and what it points to are
 * fn's only for the call. A key may come twice (SCAN promises each key
 * at least once); a key of another type, or gone, is skipped. Stops early
 * when fn returns non-zero. SG_OK, SG_ESTORE, SG_ENOMEM, or SG_ENOTFOUND
 * when a cluster has slots no master serves (the answer would miss
 * their keys). */
SG_MUST_CHECK int
sg_store_limit_windows(struct sg_store *s, const char *pattern,
                       int (*fn)(void *arg, const struct sg_limit_window *w),
                       void *arg);

/* Delete the window at key; *deleted tells whether there was one.
 * SG_OK or SG_ESTORE. */
SG_MUST_CHECK int sg_store_limit_clear(struct sg_store *s, const char *key,
                                       bool *deleted);

/* A refresh token's 256-bit secret XORed with a pad only the token it
 * replaced derives (hex). */
#define SG_WRAP_HEX 64

struct sg_refresh {
    const char *uid, *sid;
    const char *presented_hash, *new_hash;
    const char *new_wrap; /* the new token's secret, wrapped (hex) */
    int64_t now, idle_ms, lifetime_ms, grace_ms;
    struct sg_limit_check limit; /* the session's window (no key: none) */
    struct sg_limit_check fail;  /* the address's window (no key: none) */
    /* out */
    char roles[SG_ROLES_MAX + 1];
    int64_t refresh_exp;
    bool grace; /* the token rotated last, within grace_ms: nothing rotated */
    char wrap[SG_WRAP_HEX + 1]; /* if grace: the current token's wrap */
    char current_hash[65];      /* if grace: the current token's hash */
};

/* Rotate a refresh token: 0 rotated, or (r->grace) the token presented is
 * the one rotated last, less than grace_ms ago: nothing rotated, r->wrap
 * and r->current_hash give back the session's current token; SG_EAUTH
 * unknown, ended or expired;
 * SG_EREUSED a rotated token replayed (the session has been ended);
 * SG_ELIMIT refused by a full window, nothing rotated: r->limit.allowed
 * false when the token matched and the session's window is full,
 * r->fail.allowed false when it matched nothing and the address's window
 * is full. The session's window counts only tokens that matched, the
 * address's only those that did not; each one's result is in r->limit or
 * r->fail (remaining -1 when the token did not reach it). */
SG_MUST_CHECK int sg_store_refresh(struct sg_store *s, struct sg_refresh *r);

/* A rate-limit window entry "MS:NONCE:SEQ": 20 + 1 + 16 + 1 + 20 bytes
 * at most, and the NUL. */
#define SG_MEMBER_MAX 64

/* How long an address a user signed in from stays known: each address
 * on its own, from its last sign-in. */
#define SG_KNOWN_ADDR_MS (30 * 24 * 3600 * 1000LL)

/* What a sign-in reads, in one round trip (signin.lua). ip and account
 * are the windows (key, limit, window_ms set; a limit of 0 skips one):
 * both are hit, the account's as a failure until the sign-in succeeds
 * and sg_store_session_create takes member out again. email is the normalised
 * address
 * ("" when it is not one); addr is the client's address bucket. */
struct sg_signin {
    const char *email, *addr;
    int64_t now;
    struct sg_limit_check ip, account;
    /* out */
    bool found; /* the email has an account, in user */
    bool known; /* addr is one the user signed in from */
    struct sg_user user;
    char member[SG_MEMBER_MAX]; /* this attempt's window entry */
};

/* Run the sign-in reads (store_users.c): the same Redis work whether or
 * not the email has an account. 0 (with found, known, user and the windows'
 * results) or SG_ESTORE. */
SG_MUST_CHECK int sg_store_signin(struct sg_store *s, struct sg_signin *si);

/* ---- authenticated calls (store_sessions.c) ---------------------------- */

enum sg_auth_op {
    SG_OP_VERIFY,
    SG_OP_ME,
    SG_OP_SIGNOUT,
    SG_OP_SESSIONS_LIST,
    SG_OP_SESSION_END,
    SG_OP_SESSIONS_END,
};

enum sg_auth_status {
    SG_AUTH_OK = 1,
    SG_AUTH_DENIED = 0,   /* revoked token or ended session */
    SG_AUTH_LIMITED = -1, /* rate limit hit */
    SG_AUTH_FORBIDDEN = -2,
    SG_AUTH_NOT_FOUND = -3,
};

/* One authenticated request in one round trip: revocation, session,
 * rate limit, touch, and the operation. */
struct sg_auth_call {
    const char *uid, *sid, *jti;
    int64_t now, idle_ms;
    int limit; /* 0: no rate limit */
    int64_t window_ms;
    const char *limit_key;  /* full key of the window */
    bool forbidden;         /* the route needs a role the token lacks */
    const char *target_uid; /* admin: whose sessions */
    const char *target_sid; /* SESSION_END */
    int64_t revoke_ms;      /* SIGNOUT: the token's remaining life */
    /* out */
    enum sg_auth_status status;
    long long remaining; /* -1: no limit */
    int64_t reset_ms;
    struct sg_user user;         /* ME (password left empty) */
    struct sg_session *sessions; /* SESSIONS_LIST; caller frees */
    size_t nsessions;
    long long terminated; /* SESSIONS_END */
};

/* 0 with c->status set, or SG_ESTORE. */
SG_MUST_CHECK int sg_store_auth(struct sg_store *s, enum sg_auth_op op,
                                struct sg_auth_call *c);

/* The operator CLI's entry to SG_OP_SESSIONS_LIST, SG_OP_SESSIONS_END and
 * SG_OP_SESSION_END on user uid (target_sid for one session), with no
 * caller session: same scripts, no authentication, no rate limit. Built
 * on sg_store_auth in the core (store_ops.c), not by each store. */
SG_MUST_CHECK int sg_store_operator(struct sg_store *s, enum sg_auth_op op,
                                    const char *uid, const char *target_sid,
                                    int64_t now, struct sg_auth_call *c);

/* ---- activity written behind (store_sessions.c) -------------------------- */

#define SG_TOUCH_MAX 48 /* sessions a call */

struct sg_touch {
    const char *uid, *sid; /* the token's (checked hex) */
    const char *limit_key; /* ratelimit_user's counter, NULL: no limit */
    long long count;       /* requests since the last flush */
    int64_t last_ms;       /* the last of them */
    /* out, with a limit_key: the counter once the requests are added */
    long long remaining;
    int64_t reset_ms;
};

/* Give n (at most SG_TOUCH_MAX) sessions their requests in one round
 * trip (touch.lua): the session's last access and count, and the count of
 * its ratelimit_user counter (cfg's limit and window), whose remaining and
 * reset come back in t. A session found idled out is ended and published.
 * *ended gets how many. SG_OK or SG_ESTORE. */
SG_MUST_CHECK int sg_store_touch(struct sg_store *s, struct sg_touch *t, int n,
                                 int64_t now, int *ended);

/* ---- the revocation stream (store_revoke.c) ---------------------------- */

#define SG_STREAM_ID_MAX 48

/* Where one reader is in the stream; zero it before the first step. */
struct sg_revoke_follow {
    char last_id[SG_STREAM_ID_MAX]; /* "" : from the start */
    char epoch[33];
    unsigned long connects; /* the store's connect count last checked */
    int64_t lifetime_ms;    /* the access token lifetime */
    unsigned long long applied, skipped, full;
    bool more; /* the last read was a whole batch: more may be waiting */
};

/* One step of the host's revocation reader: read what the stream holds
 * after f->last_id (waiting up to block_ms for it), add it to t and stamp
 * t's heartbeat with the time of Redis' answer, unless that answer was a
 * whole batch (f->more: the caller reads again at once). The store's command timeout must exceed block_ms. After
 * each (re)connection the stream's epoch is checked first: Redis having
 * lost its data distrusts t for one token lifetime. SG_OK, or SG_ESTORE
 * (nothing stamped). */
SG_MUST_CHECK int sg_store_revoke_follow(struct sg_store *s,
                                         struct sg_revoke_follow *f,
                                         struct sg_revoke *t, int block_ms,
                                         int64_t now_ms);

#endif
