/* store_impl.h -- what the store files share; nothing else includes it.
 *
 * The typed operations (users, sessions, limits) live in store_*.c files
 * next to store.c and reach the connection through these helpers, so that
 * reconnect and backoff are handled in one place.
 */
#ifndef SG_STORE_IMPL_H
#define SG_STORE_IMPL_H

#include <hiredis/hiredis.h>

#include "store.h"

struct sg_store {
    const struct sg_config *cfg;
    redisContext *c;
    char *password; /* from redis_password_file, wiped on free */
    size_t password_len;
    int64_t retry_at_ms; /* monotonic; no connect attempt before */
    int64_t backoff_ms;
};

/* Run one command given as an argument vector, connecting first if
 * needed. Returns the reply (the caller frees it with freeReplyObject),
 * which may be a Redis error reply, or NULL when the store is unavailable:
 * the connection is then dropped and a backoff window opened. */
redisReply *sg_store_argv(struct sg_store *s, int argc, const char **argv,
                          const size_t *lens);

/* Record a transport failure: log it, drop the connection, back off. */
void sg_store_fail(struct sg_store *s, const char *what);

#endif
