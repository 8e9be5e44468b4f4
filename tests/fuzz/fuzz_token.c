/* fuzz_token.c -- token.c: sg_token_verify on hostile tokens.
 *
 * The first input byte picks what the rest is:
 *
 *   'R'  a compact JWS verified with RS256 keys (current kid "rsa1",
 *        previous "rsa2", from tests/unit/keys)
 *   'E'  the same with ES256 keys ("ec1", "ec2")
 *   'S'  a JOSE header JSON, a newline, and a claims JSON: the harness
 *        base64url-encodes both and signs them with the HS256 secret, so
 *        that the claim checks behind the signature are fuzzed too
 *   else a compact JWS verified with the HS256 secret (kid "hs1")
 *
 * The keys are loaded once from a config built in memory; the HS256
 * secret is written to a temporary directory for sg_token_keys_load and
 * removed at once. Key files are found under $SG_SRCDIR (default ".");
 * without them the 'R' and 'E' inputs are skipped. The clock is fixed at
 * NOW. Checked besides memory safety: the result is one of the documented
 * codes, and an accepted token's claims keep every limit of token.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "config.h"
#include "crypto.h"
#include "token.h"

#define NOW    1700000000LL
#define SECRET "fuzz-hs256-secret-0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct keyset {
    struct sg_config *cfg;
    struct sg_token_keys *keys;
};

static struct keyset hs256, rs256, es256;
static bool loaded;

static void load(struct keyset *ks, const char *text)
{
    char err[512] = "";

    ks->cfg =
        sg_config_parse("fuzz.conf", text, strlen(text), err, sizeof(err));
    if (!ks->cfg ||
        sg_token_keys_load(ks->cfg, &ks->keys, err, sizeof(err)) != SG_OK) {
        fprintf(stderr, "fuzz_token: keys not loaded: %s\n", err);
        sg_token_keys_free(ks->keys);
        sg_config_free(ks->cfg);
        ks->keys = NULL;
        ks->cfg = NULL;
    }
}

static void load_all(void)
{
    const char *srcdir = getenv("SG_SRCDIR");
    const char *tmp = getenv("TMPDIR");
    char dir[512], secret[600], text[2048];
    FILE *f;

    srcdir = srcdir && *srcdir ? srcdir : ".";
    snprintf(dir, sizeof(dir), "%s/sg-fuzz-token-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        abort();
    snprintf(secret, sizeof(secret), "%s/hs256.secret", dir);
    if (!(f = fopen(secret, "w")) || fputs(SECRET "\n", f) < 0 || fclose(f))
        abort();
    snprintf(text, sizeof(text),
             "jwt_algorithm = HS256\njwt_secret_file = %s\njwt_kid = hs1\n"
             "jwt_issuer = https://auth.example\njwt_audience = api\n",
             secret);
    load(&hs256, text);
    unlink(secret);
    rmdir(dir);
    if (!hs256.keys)
        abort(); /* needs nothing but a temporary directory */

    snprintf(text, sizeof(text),
             "jwt_algorithm = RS256\n"
             "jwt_private_key_file = %s/tests/unit/keys/rsa1.pem\n"
             "jwt_kid = rsa1\n"
             "jwt_public_keys = rsa2=%s/tests/unit/keys/rsa2.pub.pem\n"
             "jwt_issuer = https://auth.example\njwt_audience = api\n",
             srcdir, srcdir);
    load(&rs256, text);
    snprintf(text, sizeof(text),
             "jwt_algorithm = ES256\n"
             "jwt_private_key_file = %s/tests/unit/keys/ec1.pem\n"
             "jwt_kid = ec1\n"
             "jwt_public_keys = ec2=%s/tests/unit/keys/ec2.pub.pem\n"
             "jwt_issuer = https://auth.example\njwt_audience = api\n",
             srcdir, srcdir);
    load(&es256, text);
    loaded = true;
}

static bool all_of(const char *s, size_t min, size_t max, const char *extra)
{
    size_t len = strlen(s);

    if (len < min || len > max)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr(extra, c)))
            return false;
    }
    return true;
}

/* What token.h promises of the claims of an accepted token. */
static void check_claims(const struct sg_config *cfg, const struct sg_claims *c)
{
    if (!all_of(c->sub, 1, SG_TOKEN_SUB_MAX, "._:@+-") ||
        strlen(c->sid) != SG_TOKEN_SID_LEN ||
        strspn(c->sid, "0123456789abcdef") != SG_TOKEN_SID_LEN ||
        !all_of(c->jti, 22, SG_TOKEN_JTI_MAX, "-_") ||
        strlen(c->roles) > SG_TOKEN_ROLES_MAX ||
        (c->roles[0] && !all_of(c->roles, 1, SG_TOKEN_ROLES_MAX, "._:-,")) ||
        NOW - cfg->clock_skew >= c->exp || NOW + cfg->clock_skew < c->nbf)
        abort();
}

static void verify(const struct keyset *ks, const char *token, size_t len)
{
    struct sg_claims c;
    int rc;

    if (!ks->keys)
        return;
    rc = sg_token_verify(ks->keys, ks->cfg, token, len, NOW, &c);
    if (rc == SG_OK)
        check_claims(ks->cfg, &c);
    else if (rc != SG_EINVAL && rc != SG_EAUTH && rc != SG_ENOMEM)
        abort();
}

/* 'S': header '\n' claims, encoded and signed here with the secret. */
static void verify_signed(const char *s, size_t len)
{
    const char *nl = memchr(s, '\n', len);
    size_t hlen, clen, h64, n;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    char *token;

    if (!nl)
        return;
    hlen = (size_t)(nl - s);
    clen = len - hlen - 1;
    h64 = sg_base64url_len(hlen);
    n = h64 + 1 + sg_base64url_len(clen);
    if (!(token = malloc(n + 1 + 64)))
        abort();
    if (sg_base64url_encode(s, hlen, token, h64 + 1))
        abort();
    token[h64] = '.';
    if (sg_base64url_encode(nl + 1, clen, token + h64 + 1, n - h64))
        abort();
    if (!HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET),
              (const unsigned char *)token, n, mac, &mac_len))
        abort();
    token[n] = '.';
    if (sg_base64url_encode(mac, mac_len, token + n + 1, 64))
        abort();
    verify(&hs256, token, strlen(token));
    free(token);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *rest = (const char *)data + 1;
    char *copy;

    if (!loaded)
        load_all();
    if (size == 0)
        return 0;
    /* A copy of exactly the token's size: it need not be NUL-terminated,
     * and ASan sees any read past it. */
    if (!(copy = malloc(size - 1 ? size - 1 : 1)))
        abort();
    memcpy(copy, rest, size - 1);
    switch (data[0]) {
    case 'R':
        verify(&rs256, copy, size - 1);
        break;
    case 'E':
        verify(&es256, copy, size - 1);
        break;
    case 'S':
        verify_signed(copy, size - 1);
        break;
    default:
        verify(&hs256, (const char *)data, size);
        break;
    }
    free(copy);
    return 0;
}
