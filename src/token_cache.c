/* token_cache.c -- see token_cache.h.
 *
 * Direct-mapped: an FNV-1a hash of a token's tail picks one of SLOTS
 * entries, and a new token simply replaces whatever was there. A slot
 * holds a copy of the token, compared in constant time on lookup, since a
 * cached token is someone's credential and a byte-by-byte compare would
 * time it. Tokens longer than TOKEN_MAX (far longer than sessiongate
 * issues) are not cached. About 110 KiB per worker.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "token_cache.h"

#define SLOTS     64
#define TOKEN_MAX 1024

struct slot {
    size_t len; /* 0: empty */
    char token[TOKEN_MAX];
    struct sg_claims claims;
};

struct sg_token_cache {
    struct slot slots[SLOTS];
};

/* The hash of the token's last bytes: the end of its signature, as random
 * as the whole and a fraction of the work. */
#define HASHED_TAIL 16

static size_t slot_of(const char *token, size_t len)
{
    uint64_t h = 14695981039346656037ULL;

    for (size_t i = len > HASHED_TAIL ? len - HASHED_TAIL : 0; i < len; i++)
        h = (h ^ (unsigned char)token[i]) * 1099511628211ULL;
    return (size_t)(h % SLOTS);
}

struct sg_token_cache *sg_token_cache_new(void)
{
    return calloc(1, sizeof(struct sg_token_cache));
}

void sg_token_cache_free(struct sg_token_cache *c)
{
    if (c) {
        sg_wipe(c, sizeof(*c));
        free(c);
    }
}

bool sg_token_cache_get(struct sg_token_cache *c, const char *token, size_t len,
                        int64_t now, int64_t skew, struct sg_claims *out)
{
    const struct slot *s;

    if (!c || len == 0 || len > TOKEN_MAX)
        return false;
    s = &c->slots[slot_of(token, len)];
    if (!sg_ct_equal(s->token, s->len, token, len))
        return false;
    /* the time checks of sg_token_verify (RFC 7519 4.1.4, 4.1.5) */
    if (now - skew >= s->claims.exp || now + skew < s->claims.nbf)
        return false;
    *out = s->claims;
    return true;
}

void sg_token_cache_put(struct sg_token_cache *c, const char *token, size_t len,
                        const struct sg_claims *claims)
{
    struct slot *s;

    if (!c || len == 0 || len > TOKEN_MAX)
        return;
    s = &c->slots[slot_of(token, len)];
    memcpy(s->token, token, len);
    s->len = len;
    s->claims = *claims;
}
