/* Unit tests for token_cache.c: exact-bytes hits, the time checks on a
 * hit, and what is never cached. */
#include <string.h>

#include "tap.h"
#include "token_cache.h"

int main(void)
{
    struct sg_token_cache *c = sg_token_cache_new();
    struct sg_claims in = {
        .sub = "u1", .iat = 1000, .nbf = 1000, .exp = 1900, .roles = "user"};
    struct sg_claims out;
    char tok[] = "aaa.bbb.ccc", other[] = "aaa.bbb.ccd", big[2000];

    TAP_OK(c != NULL, "cache");
    TAP_OK(!sg_token_cache_get(c, tok, strlen(tok), 1500, 0, &out),
           "empty cache misses");
    sg_token_cache_put(c, tok, strlen(tok), &in);
    TAP_OK(sg_token_cache_get(c, tok, strlen(tok), 1500, 0, &out), "hit");
    TAP_IS_STR(out.sub, "u1", "claims returned");
    TAP_OK(!sg_token_cache_get(c, other, strlen(other), 1500, 0, &out),
           "one byte different misses");
    TAP_OK(!sg_token_cache_get(c, tok, strlen(tok) - 1, 1500, 0, &out),
           "a prefix misses");
    TAP_OK(!sg_token_cache_get(c, tok, strlen(tok), 1900, 0, &out),
           "expired at exp");
    TAP_OK(sg_token_cache_get(c, tok, strlen(tok), 1929, 30, &out),
           "inside the skew after exp");
    TAP_OK(!sg_token_cache_get(c, tok, strlen(tok), 1930, 30, &out),
           "past the skew");
    TAP_OK(!sg_token_cache_get(c, tok, strlen(tok), 999, 0, &out),
           "before nbf");
    TAP_OK(sg_token_cache_get(c, tok, strlen(tok), 990, 10, &out),
           "inside the skew before nbf");
    memset(big, 'x', sizeof(big));
    sg_token_cache_put(c, big, sizeof(big), &in);
    TAP_OK(!sg_token_cache_get(c, big, sizeof(big), 1500, 0, &out),
           "long tokens are not cached");
    TAP_OK(!sg_token_cache_get(c, "", 0, 1500, 0, &out), "empty token");
    sg_token_cache_free(c);
    TAP_OK(!sg_token_cache_get(NULL, tok, strlen(tok), 1500, 0, &out),
           "no cache misses");
    return tap_done();
}
