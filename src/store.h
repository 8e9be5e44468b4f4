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

struct sg_store;

/* A store for cfg (borrowed; must outlive the store). Reads the Redis
 * password file, if any, now. Does not connect. NULL with a reason in err
 * (never the password) when the password file cannot be read. */
struct sg_store *sg_store_new(const struct sg_config *cfg, char *err,
                              size_t errlen);
void sg_store_free(struct sg_store *s);

/* Connect now if not connected and not inside a backoff window. 0 or
 * SG_ESTORE. */
int sg_store_connect(struct sg_store *s);

/* True while a connection is open. */
bool sg_store_connected(const struct sg_store *s);

/* The readiness probe, in one round trip: PING, SET of a probe key with a
 * short TTL, GET of it, DEL. 0 when all four answered as expected, else
 * SG_ESTORE with a short reason (no secrets) in *detail. */
int sg_store_probe(struct sg_store *s, const char **detail);

/* Drop the connection (after fork in a parent that used it, or when a
 * reply makes no sense) so the next call reconnects. */
void sg_store_disconnect(struct sg_store *s);

#endif
