/* store_impl.h -- what the store files share; nothing else includes it.
 *
 * The typed operations (users, sessions, limits) live in store_*.c files
 * next to store.c and reach the connection through these helpers, so that
 * reconnect and backoff are handled in one place.
 */
#ifndef SG_STORE_IMPL_H
#define SG_STORE_IMPL_H

#include <hiredis/hiredis.h>
#include <openssl/ssl.h>

#include "addr.h"
#include "buf.h"
#include "keys.h"
#include "store.h"

enum sg_script_id {
    SG_SCRIPT_VERIFY,
    SG_SCRIPT_ME,
    SG_SCRIPT_SIGNOUT,
    SG_SCRIPT_SESSIONS_LIST,
    SG_SCRIPT_SESSION_END,
    SG_SCRIPT_SESSIONS_END,
    SG_SCRIPT_REGISTER,
    SG_SCRIPT_SESSION_CREATE,
    SG_SCRIPT_REFRESH,
    SG_SCRIPT_RATELIMIT,
    SG_SCRIPT_SIGNIN,
    SG_SCRIPT_TOUCH,
    SG_SCRIPT_COUNT
};

struct sg_store {
    const struct sg_config *cfg;
    const char *exists_argv[SG_SCRIPT_COUNT + 2]; /* SCRIPT EXISTS sha... */
    redisContext *c;
    SSL_CTX *tls;        /* redis_tls = on: made once, from the config */
    SSL *ssl;            /* the TLS session on c's socket, with c */
    char label[80];      /* `redis`, or "master NAME": for the log */
    struct sg_addr addr; /* `redis`, parsed (no sentinels) */
    /* redis_sentinels: whom to ask, first the one that answered last */
    struct sg_addr *sentinels;
    size_t nsentinels, sentinel_first;
    char *sentinel_password; /* wiped on free */
    size_t sentinel_password_len;
    struct sg_addr master;                  /* the last address they gave */
    char master_host[SG_ADDR_HOST_MAX + 1]; /* the one logged last */
    int master_port;
    int64_t checked_ms; /* monotonic: the sentinels last asked */
    char *password;     /* from redis_password_file, wiped on free */
    size_t password_len;
    int64_t retry_at_ms; /* monotonic; no connect attempt before */
    int64_t backoff_ms;
    char nonce[17]; /* random per store: with seq, unique window entries */
    unsigned long long seq;
    struct sg_buf cmd;      /* the command being sent, as RESP */
    unsigned long connects; /* successful connects so far */
    bool scripts_only;      /* this server has no functions for us: EVALSHA */
    struct sg_cluster *cluster; /* redis_cluster: store_route.c; else NULL */
    /* what every script that ends sessions is given, built once */
    char revocations[SG_KEY_MAX];      /* the stream's key */
    char token_ttl_ms[SG_I64_STR_MAX]; /* access_token_ttl, in ms */
};

/* Run one command given as an argument vector, connecting first if
 * needed. Returns the reply (the caller frees it with freeReplyObject),
 * which may be a Redis error reply, or NULL when the store is unavailable:
 * the connection is then dropped and a backoff window opened. */
redisReply *sg_store_argv(struct sg_store *s, int argc, const char **argv,
                          const size_t *lens);

/* Record a transport failure: log it, drop the connection, back off. */
void sg_store_fail(struct sg_store *s, const char *what);

/* The connection primitives of store.c, for store_route.c: connect to a
 * and authenticate (false with the reason in why); one command from a
 * format; the command formatted in s->cmd sent; one reply read. */
bool sg_store_open(struct sg_store *s, const struct sg_addr *a, char *why,
                   size_t cap);
redisReply *sg_store_command(struct sg_store *s, const char *fmt, ...);
redisReply *sg_store_send(struct sg_store *s);
int sg_store_read_reply(struct sg_store *s, void **reply);

/* ---- Redis Cluster (store_route.c) ---------------------------------------
 * With redis_cluster the store's connection fields hold one master's link
 * at a time; these pick the master and swap its link in. */

/* Parse the seeds; s->cluster set. */
int sg_cluster_init(struct sg_store *s, char *err, size_t errlen);
/* Close every node's link (nothing without a cluster). */
void sg_cluster_free(struct sg_store *s);
/* Read the map again before the next command (nothing without one). */
void sg_cluster_stale(struct sg_store *s);
/* The key a command is routed by: an FCALL's or EVALSHA's first key,
 * else the first argument, unless the command names none (PING, FUNCTION,
 * SCRIPT, INFO, CLUSTER, ...). */
bool sg_cluster_route_key(int argc, const char **argv, const size_t *lens,
                          const char **key, size_t *len);
/* Hold the link of the master of the command's key (any master for a
 * command without one), reading the map first if needed. */
int sg_cluster_route(struct sg_store *s, int argc, const char **argv,
                     const size_t *lens);
/* Follow -MOVED and -ASK replies to r (which it takes) for the command in
 * s->cmd: the reply of the node that has the slot. NULL if none could be
 * had; *lost when that was a transport failure (the caller fails it). */
redisReply *sg_cluster_redirect(struct sg_store *s, redisReply *r, bool *lost);
/* The masters of the map (read if needed), and holding master i's link:
 * returns a string whose slot it serves, for a probe key. */
int sg_cluster_each_node(struct sg_store *s, size_t *count);
const char *sg_cluster_select(struct sg_store *s, size_t i);
/* Slots no master serves in the map (all of them without a map). */
size_t sg_cluster_uncovered(const struct sg_store *s);

/* Keys and arguments of one script call, at most (touch: 6 + 6 a
 * session, SG_TOUCH_MAX sessions). */
#define SG_SCRIPT_ARGS_MAX (6 + 6 * SG_TOUCH_MAX)

/* Run a script: FCALL of its function in sessiongate's library (Redis
 * 7), or EVALSHA where the server has no functions for us (Redis 6, an
 * ACL). Code the server lacks (a restart without persistence, FUNCTION
 * or SCRIPT FLUSH) is loaded and the call sent again: nothing ran the
 * first time. argv holds the nkeys keys
 * and then the arguments, argc in all. Same reply contract as
 * sg_store_argv. */
redisReply *sg_store_eval(struct sg_store *s, enum sg_script_id id, int nkeys,
                          int argc, const char **argv, const size_t *lens);

/* A member of a window log that no other request writes, on any worker
 * or host: "MS:NONCE:SEQ" (SG_MEMBER_MAX, store.h: never cut, so entries
 * of one millisecond never collide). */
void sg_store_member(struct sg_store *s, int64_t now, char out[SG_MEMBER_MAX]);

/* Entries one XREAD of the revocation stream asks for at most. */
#define SG_REVOKE_READ_COUNT     1000
#define SG_REVOKE_READ_COUNT_STR "1000"

/* Apply an XREAD reply of the revocation stream to t, advancing f and
 * setting f->more when it held SG_REVOKE_READ_COUNT entries
 * (store_revoke.c). SG_ESTORE for a reply of another shape. */
int sg_store_revoke_apply(struct sg_revoke *t, const redisReply *r,
                          struct sg_revoke_follow *f, int64_t now_ms);

/* TLS to Redis (store_tls.c). The context from the config's redis_tls_*
 * files, NULL with a reason in err; a session on c's connected socket,
 * verified against name, NULL with the reason in c->errstr. */
SSL_CTX *sg_tls_ctx_new(const struct sg_config *cfg, char *err, size_t errlen);
void sg_tls_ctx_free(SSL_CTX *ctx);
SSL *sg_tls_connect(SSL_CTX *ctx, redisContext *c, const char *name);
void sg_tls_close(SSL *ssl);
/* redisGetReply, the bytes through ssl. */
int sg_tls_get_reply(redisContext *c, SSL *ssl, void **reply);
/* A kept connection whose socket is readable while idle: true if what
 * arrived was TLS housekeeping (session tickets), consumed. */
bool sg_tls_idle_ok(SSL *ssl, int fd);

/* Copy a string reply into out[cap]; false if it is not a string or does
 * not fit. */
bool sg_store_reply_copy(const redisReply *r, char *out, size_t cap);

/* Parse an integer or a string of digits; false if neither. */
bool sg_store_reply_int(const redisReply *r, long long *out);

#endif
