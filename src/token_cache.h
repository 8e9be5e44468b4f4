/* token_cache.h -- access tokens this worker has already verified.
 *
 * A client presents the same access token for its whole life (15 minutes
 * by default), and checking its signature and claims was half of the
 * verify path's instructions (docs/PERFORMANCE.md). The cache remembers
 * the claims of tokens that passed a full sg_token_verify, keyed by the
 * exact token bytes; a hit still re-checks exp and nbf against the clock,
 * and the Redis call that checks revocation and the session still runs on
 * every request, so a cached token is never trusted beyond what its
 * signature proved. The cache lives in the worker's context, so a config
 * or key reload starts with an empty one.
 */
#ifndef SG_TOKEN_CACHE_H
#define SG_TOKEN_CACHE_H

#include "token.h"

struct sg_token_cache;

struct sg_token_cache *sg_token_cache_new(void);
void sg_token_cache_free(struct sg_token_cache *c);

/* True, with the claims in out, when token[0..len) was verified before
 * and is still inside [nbf - skew, exp + skew) at now (seconds). */
bool sg_token_cache_get(struct sg_token_cache *c, const char *token, size_t len,
                        int64_t now, int64_t skew, struct sg_claims *out);

/* Remember a token that sg_token_verify accepted, with its claims. */
void sg_token_cache_put(struct sg_token_cache *c, const char *token, size_t len,
                        const struct sg_claims *claims);

#endif
