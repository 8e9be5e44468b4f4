/* test_token.c -- token.c, written as a security regression suite.
 *
 * Round trips for HS256, RS256 and ES256; then every way a token must be
 * refused: each claim, algorithm substitution (none, HS512, HS256 keyed
 * with the RSA public key), wrong keys, tampering, truncation, size,
 * malformed encodings, unknown kids; key rotation; key loading; JWKS.
 *
 * Hostile tokens are built by hand (forge()) so each check is exercised
 * on its own. The clock is fixed: NOW everywhere. Key files are found
 * under $SG_SRCDIR (default ".") in tests/unit/keys/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "config.h"
#include "crypto.h"
#include "tap.h"
#include "token.h"

#define NOW  1700000000LL
#define TTL  900
#define SKEW 30
#define ISS  "https://auth.example"
#define AUD  "api"
#define SID  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char paths[16][512];
static size_t npaths;

/* A key file's path under $SG_SRCDIR; lives until exit. */
static char *key_path(const char *name)
{
    const char *dir = getenv("SG_SRCDIR");
    char *p = paths[npaths++ % SG_ARRAY_LEN(paths)];

    snprintf(p, sizeof(paths[0]), "%s/tests/unit/keys/%s", dir ? dir : ".",
             name);
    return p;
}

static void make_cfg(struct sg_config *cfg, const char *alg, const char *key,
                     const char *kid)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->jwt_algorithm = (char *)alg;
    if (strcmp(alg, "HS256") == 0)
        cfg->jwt_secret_file = key_path(key);
    else
        cfg->jwt_private_key_file = key_path(key);
    cfg->jwt_kid = (char *)kid;
    cfg->jwt_public_keys = "";
    cfg->jwt_issuer = ISS;
    cfg->jwt_audience = AUD;
    cfg->access_token_ttl = TTL;
    cfg->clock_skew = SKEW;
}

static struct sg_token_keys *load(const struct sg_config *cfg)
{
    struct sg_token_keys *k = NULL;
    char err[256] = "";

    if (sg_token_keys_load(cfg, &k, err, sizeof(err)) != SG_OK)
        printf("# load: %s\n", err);
    return k;
}

static int verify(const struct sg_token_keys *k, const struct sg_config *cfg,
                  const char *token, int64_t now)
{
    struct sg_claims c;

    return sg_token_verify(k, cfg, token, strlen(token), now, &c);
}

/* ---- forging tokens ---------------------------------------------------- */

static void b64(const void *in, size_t len, char *out, size_t cap)
{
    if (sg_base64url_encode(in, len, out, cap) != SG_OK)
        abort();
}

/* header.payload signed with HMAC md (NULL: empty signature). */
static char *forge(const char *header, const char *payload, const EVP_MD *md,
                   const void *key, size_t keylen)
{
    static char token[12000];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    size_t n;

    b64(header, strlen(header), token, sizeof(token));
    n = strlen(token);
    token[n++] = '.';
    b64(payload, strlen(payload), token + n, sizeof(token) - n);
    n = strlen(token);
    if (md)
        HMAC(md, key, (int)keylen, (unsigned char *)token, n, mac, &maclen);
    token[n++] = '.';
    b64(mac, maclen, token + n, sizeof(token) - n);
    return token;
}

/* The standard claims as JSON members, one of them replaced by
 * name=value (value NULL: left out). */
static const char *payload_with(const char *name, const char *value)
{
    static const char *const claims[][2] = {
        {"iss", "\"" ISS "\""},
        {"aud", "\"" AUD "\""},
        {"sub", "\"u_42\""},
        {"sid", "\"" SID "\""},
        {"jti", "\"AAECAwQFBgcICQoLDA0ODw\""},
        {"iat", "1700000000"},
        {"nbf", "1700000000"},
        {"exp", "1700000900"},
        {"roles", "[\"user\",\"admin\"]"},
    };
    static char buf[4096];
    size_t n = 0;

    buf[n++] = '{';
    for (size_t i = 0; i < SG_ARRAY_LEN(claims); i++) {
        const char *v = claims[i][1];
        if (name && strcmp(name, claims[i][0]) == 0)
            v = value;
        if (v == NULL)
            continue;
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\"%s\":%s",
                              n > 1 ? "," : "", claims[i][0], v);
    }
    snprintf(buf + n, sizeof(buf) - n, "}");
    return buf;
}

/* A secret file's bytes (what the HS256 key is after stripping). */
static size_t read_secret(const char *name, char *out, size_t cap)
{
    FILE *f = fopen(key_path(name), "rb");
    size_t n = f ? fread(out, 1, cap - 1, f) : 0;

    if (f)
        fclose(f);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        n--;
    out[n] = '\0';
    return n;
}

#define HS256_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static struct {
    struct sg_config cfg;
    struct sg_token_keys *keys;
    char secret[256];
    size_t secret_len;
} hs;

/* A forged HS256 token with the right secret and one claim changed. */
static char *hs_token(const char *name, const char *value)
{
    return forge(HS256_HEADER, payload_with(name, value), EVP_sha256(),
                 hs.secret, hs.secret_len);
}

static int hs_verify(const char *name, const char *value, int64_t now)
{
    return verify(hs.keys, &hs.cfg, hs_token(name, value), now);
}

/* ---- round trips -------------------------------------------------------- */

static void round_trip(const char *alg, const char *key, const char *kid)
{
    struct sg_config cfg;
    struct sg_token_keys *k;
    struct sg_claims issued, got;
    char *token = NULL, msg[128], header[256];
    size_t hlen = 0;

    make_cfg(&cfg, alg, key, kid);
    k = load(&cfg);
    snprintf(msg, sizeof(msg), "%s: keys load", alg);
    if (!TAP_OK(k != NULL, msg))
        return;
    snprintf(msg, sizeof(msg), "%s: issue", alg);
    TAP_IS_INT(sg_token_issue(k, &cfg, "u_42", SID, "user,admin", NOW, &token,
                              &issued),
               SG_OK, msg);
    snprintf(msg, sizeof(msg), "%s: verify", alg);
    TAP_IS_INT(sg_token_verify(k, &cfg, token, strlen(token), NOW, &got), SG_OK,
               msg);
    TAP_IS_STR(got.sub, "u_42", "sub round trips");
    TAP_IS_STR(got.sid, SID, "sid round trips");
    TAP_IS_STR(got.roles, "user,admin", "roles round trip");
    TAP_IS_STR(got.jti, issued.jti, "jti round trips");
    TAP_IS_INT(strlen(got.jti), 22, "jti is 16 bytes of base64url");
    TAP_IS_INT(got.iat, NOW, "iat = now");
    TAP_IS_INT(got.nbf, NOW, "nbf = now");
    TAP_IS_INT(got.exp, NOW + TTL, "exp = now + ttl");
    TAP_OK(sg_token_has_role(&got, "admin") &&
               sg_token_has_role(&got, "user") &&
               !sg_token_has_role(&got, "adm") && !sg_token_has_role(&got, ""),
           "has_role");
    TAP_IS_INT(sg_base64url_decode(token, strcspn(token, "."),
                                   (unsigned char *)header, sizeof(header) - 1,
                                   &hlen),
               SG_OK, "sg_base64url_decode");
    header[hlen] = '\0';
    snprintf(msg, sizeof(msg), "\"kid\":\"%s\"", kid);
    TAP_OK(strstr(header, msg) != NULL, "header carries the kid");
    free(token);
    sg_token_keys_free(k);
}

static void test_round_trips(void)
{
    round_trip("HS256", "hs256.secret", "hs1");
    round_trip("RS256", "rsa1.pem", "k1");
    round_trip("ES256", "ec1.pem", "e1");
}

static void test_explicit_length(void)
{
    char *token = NULL, buf[SG_TOKEN_MAX_LEN + 16];
    struct sg_claims c;
    size_t len;

    TAP_IS_INT(
        sg_token_issue(hs.keys, &hs.cfg, "u_42", SID, "", NOW, &token, NULL),
        SG_OK, "sg_token_issue");
    len = strlen(token);
    memcpy(buf, token, len);
    memcpy(buf + len, "garbage", 8);
    TAP_IS_INT(sg_token_verify(hs.keys, &hs.cfg, buf, len, NOW, &c), SG_OK,
               "verify reads exactly len bytes");
    TAP_IS_STR(c.roles, "", "no roles is an empty list");
    free(token);
}

/* ---- claims (RFC 7519 4.1) ---------------------------------------------- */

static void test_time_claims(void)
{
    const int64_t exp = NOW + 900;

    TAP_IS_INT(hs_verify(NULL, NULL, NOW), SG_OK, "forged control verifies");
    TAP_IS_INT(hs_verify(NULL, NULL, exp - 1), SG_OK, "valid until exp");
    TAP_IS_INT(hs_verify(NULL, NULL, exp), SG_OK, "at exp, within skew: ok");
    TAP_IS_INT(hs_verify(NULL, NULL, exp + SKEW - 1), SG_OK,
               "expired within skew: ok");
    TAP_IS_INT(hs_verify(NULL, NULL, exp + SKEW), SG_EAUTH,
               "expired beyond skew: refused");
    TAP_IS_INT(hs_verify(NULL, NULL, exp + 86400), SG_EAUTH,
               "long expired: refused");
    TAP_IS_INT(hs_verify("nbf", "1700000100", NOW), SG_EAUTH,
               "nbf in the future beyond skew: refused");
    TAP_IS_INT(hs_verify("nbf", "1700000030", NOW), SG_OK,
               "nbf in the future within skew: ok");
    TAP_IS_INT(hs_verify("exp", NULL, NOW), SG_EAUTH, "missing exp refused");
    TAP_IS_INT(hs_verify("exp", "\"1700000900\"", NOW), SG_EAUTH,
               "string exp refused");
    TAP_IS_INT(hs_verify("exp", "1700000900.5", NOW), SG_EAUTH,
               "fractional exp refused");
    TAP_IS_INT(hs_verify("nbf", "\"0\"", NOW), SG_EAUTH, "string nbf refused");
    TAP_IS_INT(hs_verify("exp", "9223372036854775807", NOW), SG_OK,
               "huge exp does not overflow");
    TAP_IS_INT(hs_verify("nbf", NULL, NOW), SG_EAUTH, "missing nbf refused");
    TAP_IS_INT(hs_verify("iat", NULL, NOW), SG_EAUTH, "missing iat refused");
}

static void test_identity_claims(void)
{
    TAP_IS_INT(hs_verify("iss", "\"https://evil.example\"", NOW), SG_EAUTH,
               "wrong iss refused");
    TAP_IS_INT(hs_verify("iss", NULL, NOW), SG_EAUTH, "missing iss refused");
    TAP_IS_INT(hs_verify("aud", "\"other\"", NOW), SG_EAUTH,
               "wrong aud refused");
    TAP_IS_INT(hs_verify("aud", NULL, NOW), SG_EAUTH, "missing aud refused");
    TAP_IS_INT(hs_verify("aud", "[\"other\",\"api\"]", NOW), SG_OK,
               "aud array containing ours: ok");
    TAP_IS_INT(hs_verify("aud", "[\"other\",\"apis\"]", NOW), SG_EAUTH,
               "aud array without ours refused");
    TAP_IS_INT(hs_verify("aud", "[[\"api\"]]", NOW), SG_EAUTH,
               "nested aud array refused");
    TAP_IS_INT(hs_verify("aud", "42", NOW), SG_EAUTH, "numeric aud refused");
    TAP_IS_INT(hs_verify("sub", NULL, NOW), SG_EAUTH, "missing sub refused");
    TAP_IS_INT(hs_verify("sub", "\"\"", NOW), SG_EAUTH, "empty sub refused");
    TAP_IS_INT(hs_verify("sub", "\"u 42\"", NOW), SG_EAUTH,
               "sub with a space refused");
    TAP_IS_INT(hs_verify("sub", "\"u\\r\\nX-Evil: 1\"", NOW), SG_EAUTH,
               "sub with CR LF refused");
    TAP_IS_INT(hs_verify("sub", "42", NOW), SG_EAUTH, "numeric sub refused");
    TAP_IS_INT(hs_verify("sub", "\"u_42\\u0000x\"", NOW), SG_EAUTH,
               "sub with an escaped NUL refused");
    TAP_IS_INT(hs_verify("sid", NULL, NOW), SG_EAUTH, "missing sid refused");
    TAP_IS_INT(hs_verify("sid", "\"0123\"", NOW), SG_EAUTH,
               "short sid refused");
    TAP_IS_INT(hs_verify("sid",
                         "\"0123456789ABCDEF0123456789abcdef"
                         "0123456789abcdef0123456789abcdef\"",
                         NOW),
               SG_EAUTH, "uppercase sid refused");
    TAP_IS_INT(hs_verify("jti", NULL, NOW), SG_EAUTH, "missing jti refused");
    TAP_IS_INT(hs_verify("jti", "\"short\"", NOW), SG_EAUTH,
               "jti under 128 bits refused");
}

static void test_roles_claim(void)
{
    TAP_IS_INT(hs_verify("roles", NULL, NOW), SG_EAUTH,
               "missing roles refused");
    TAP_IS_INT(hs_verify("roles", "\"admin\"", NOW), SG_EAUTH,
               "roles as a string refused");
    TAP_IS_INT(hs_verify("roles", "[\"user\",1]", NOW), SG_EAUTH,
               "non-string role refused");
    TAP_IS_INT(hs_verify("roles", "[\"a,b\"]", NOW), SG_EAUTH,
               "role with a comma refused");
    TAP_IS_INT(hs_verify("roles", "[]", NOW), SG_OK, "empty roles: ok");
}

/* ---- algorithm confusion (RFC 8725 2.1, 3.1) ---------------------------- */

static void test_alg_none_and_hs512(void)
{
    const char *p = payload_with(NULL, NULL);
    char *t;

    t = forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", p, NULL, NULL, 0);
    TAP_IS_INT(verify(hs.keys, &hs.cfg, t, NOW), SG_EINVAL,
               "alg none with empty signature refused");
    t = forge("{\"alg\":\"none\"}", p, EVP_sha256(), hs.secret, hs.secret_len);
    TAP_IS_INT(verify(hs.keys, &hs.cfg, t, NOW), SG_EAUTH,
               "alg none with a signature refused");
    t = forge("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", p, EVP_sha512(), hs.secret,
              hs.secret_len);
    TAP_IS_INT(verify(hs.keys, &hs.cfg, t, NOW), SG_EAUTH,
               "HS512 token with the same secret refused");
    t = forge("{\"alg\":\"hs256\"}", p, EVP_sha256(), hs.secret, hs.secret_len);
    TAP_IS_INT(verify(hs.keys, &hs.cfg, t, NOW), SG_EAUTH,
               "alg is case-sensitive");
    t = forge("{\"typ\":\"JWT\"}", p, EVP_sha256(), hs.secret, hs.secret_len);
    TAP_IS_INT(verify(hs.keys, &hs.cfg, t, NOW), SG_EAUTH,
               "missing alg refused");
    t = forge("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", p, EVP_sha256(),
              hs.secret, hs.secret_len);
    TAP_IS_INT(verify(hs.keys, &hs.cfg, t, NOW), SG_EAUTH,
               "unknown crit header refused");
    t = forge("{\"alg\":\"HS256\",\"kid\":\"other\"}", p, EVP_sha256(),
              hs.secret, hs.secret_len);
    TAP_IS_INT(verify(hs.keys, &hs.cfg, t, NOW), SG_EAUTH,
               "HS256 with a foreign kid refused");
    t = forge("{\"alg\":\"HS256\",\"kid\":\"hs1\"}", p, EVP_sha256(), hs.secret,
              hs.secret_len);
    TAP_IS_INT(verify(hs.keys, &hs.cfg, t, NOW), SG_OK,
               "HS256 with our kid: ok");
    t = forge("{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", p, EVP_sha256(),
              hs.secret, hs.secret_len);
    TAP_IS_INT(verify(hs.keys, &hs.cfg, t, NOW), SG_EAUTH,
               "typ other than JWT refused");
    t = forge("{\"alg\":\"HS256\",\"typ\":\"jwt\"}", p, EVP_sha256(), hs.secret,
              hs.secret_len);
    TAP_IS_INT(verify(hs.keys, &hs.cfg, t, NOW), SG_OK,
               "typ is case-insensitive (RFC 7515 4.1.9)");
}

/* The classic: an HS256 token keyed with the RSA public key, sent to an
 * RS256 verifier that would hand its PEM to HMAC. */
static void test_alg_substitution(void)
{
    struct sg_config cfg;
    struct sg_token_keys *k;
    char pem[4096];
    size_t n;
    char *t;

    make_cfg(&cfg, "RS256", "rsa1.pem", "k1");
    k = load(&cfg);
    n = read_secret("rsa1.pub.pem", pem, sizeof(pem));
    pem[n++] = '\n'; /* as the file and libjwt's copy have it */
    t = forge("{\"alg\":\"HS256\",\"kid\":\"k1\"}", payload_with(NULL, NULL),
              EVP_sha256(), pem, n);
    TAP_IS_INT(verify(k, &cfg, t, NOW), SG_EAUTH,
               "HS256 keyed with the RSA public key refused by RS256");
    t = forge("{\"alg\":\"HS256\",\"kid\":\"k1\"}", payload_with(NULL, NULL),
              EVP_sha256(), pem, n - 1);
    TAP_IS_INT(verify(k, &cfg, t, NOW), SG_EAUTH,
               "same without the trailing newline refused");
    TAP_IS_INT(verify(k, &cfg, hs_token(NULL, NULL), NOW), SG_EAUTH,
               "HS256 token refused by RS256 config");
    sg_token_keys_free(k);
}

/* ---- keys, tampering, shape --------------------------------------------- */

static void test_wrong_key(void)
{
    struct sg_config cfg;
    struct sg_token_keys *k2;
    char *t = NULL;

    make_cfg(&cfg, "HS256", "short.secret", "hs1");
    t = forge(HS256_HEADER, payload_with(NULL, NULL), EVP_sha256(),
              "another-secret-of-more-than-32-bytes", 36);
    TAP_IS_INT(verify(hs.keys, &hs.cfg, t, NOW), SG_EAUTH,
               "HS256 with another secret refused");

    /* rsa2 signing under kid k1, which names rsa1 */
    make_cfg(&cfg, "RS256", "rsa2.pem", "k1");
    k2 = load(&cfg);
    TAP_IS_INT(sg_token_issue(k2, &cfg, "u_42", SID, "user", NOW, &t, NULL),
               SG_OK, "sg_token_issue");
    sg_token_keys_free(k2);
    make_cfg(&cfg, "RS256", "rsa1.pem", "k1");
    k2 = load(&cfg);
    TAP_IS_INT(verify(k2, &cfg, t, NOW), SG_EAUTH,
               "RS256 signed by another key refused");
    free(t);
    sg_token_keys_free(k2);
}

static void tamper_checks(struct sg_token_keys *k, struct sg_config *cfg,
                          const char *alg)
{
    char *t = NULL, msg[96], saved;
    size_t dot;

    TAP_IS_INT(sg_token_issue(k, cfg, "u_42", SID, "user", NOW, &t, NULL),
               SG_OK, "sg_token_issue");
    dot = strcspn(t, ".");
    saved = t[dot + 5];
    t[dot + 5] = saved == 'A' ? 'B' : 'A';
    snprintf(msg, sizeof(msg), "%s: tampered payload refused", alg);
    TAP_IS_INT(verify(k, cfg, t, NOW), SG_EAUTH, msg);
    t[dot + 5] = saved;
    TAP_IS_INT(verify(k, cfg, t, NOW), SG_OK, "untampered again: ok");
    t[strlen(t) - 3] = t[strlen(t) - 3] == 'A' ? 'B' : 'A';
    snprintf(msg, sizeof(msg), "%s: tampered signature refused", alg);
    TAP_IS_INT(verify(k, cfg, t, NOW), SG_EAUTH, msg);
    t[strlen(t) - 4] = '\0';
    snprintf(msg, sizeof(msg), "%s: truncated signature refused", alg);
    TAP_OK(verify(k, cfg, t, NOW) < 0, msg);
    t[strrchr(t, '.') - t] = '\0';
    snprintf(msg, sizeof(msg), "%s: token without signature refused", alg);
    TAP_IS_INT(verify(k, cfg, t, NOW), SG_EINVAL, msg);
    free(t);
}

static void test_tampering(void)
{
    struct sg_config cfg;
    struct sg_token_keys *k;

    tamper_checks(hs.keys, &hs.cfg, "HS256");
    make_cfg(&cfg, "RS256", "rsa1.pem", "k1");
    k = load(&cfg);
    tamper_checks(k, &cfg, "RS256");
    sg_token_keys_free(k);
    make_cfg(&cfg, "ES256", "ec1.pem", "e1");
    k = load(&cfg);
    tamper_checks(k, &cfg, "ES256");
    sg_token_keys_free(k);
}

static void test_shape(void)
{
    static char big[SG_TOKEN_MAX_LEN + 2];
    char *good = NULL, t[1024];
    struct sg_claims c;

    TAP_IS_INT(
        sg_token_issue(hs.keys, &hs.cfg, "u_42", SID, "user", NOW, &good, NULL),
        SG_OK, "sg_token_issue");
    memset(big, 'A', sizeof(big) - 1);
    big[10] = big[20] = '.';
    TAP_IS_INT(
        sg_token_verify(hs.keys, &hs.cfg, big, SG_TOKEN_MAX_LEN + 1, NOW, &c),
        SG_EINVAL, "token over 8 KiB refused unparsed");
    TAP_IS_INT(verify(hs.keys, &hs.cfg, "", NOW), SG_EINVAL,
               "empty token refused");
    TAP_IS_INT(verify(hs.keys, &hs.cfg, "..", NOW), SG_EINVAL,
               "empty segments refused");
    TAP_IS_INT(verify(hs.keys, &hs.cfg, "abc", NOW), SG_EINVAL,
               "one segment refused");
    snprintf(t, sizeof(t), "%s.", good);
    TAP_IS_INT(verify(hs.keys, &hs.cfg, t, NOW), SG_EINVAL,
               "extra trailing dot refused");
    snprintf(t, sizeof(t), "%s.AAAA.BBBB", good);
    TAP_IS_INT(verify(hs.keys, &hs.cfg, t, NOW), SG_EINVAL,
               "five segments (JWE shape) refused");
    snprintf(t, sizeof(t), "%s", good);
    t[strcspn(t, ".") + 3] = '+';
    TAP_IS_INT(verify(hs.keys, &hs.cfg, t, NOW), SG_EINVAL,
               "'+' (plain base64) refused");
    snprintf(t, sizeof(t), "%s=", good);
    TAP_IS_INT(verify(hs.keys, &hs.cfg, t, NOW), SG_EINVAL, "padding refused");
    snprintf(t, sizeof(t), "Bearer %s", good);
    TAP_IS_INT(verify(hs.keys, &hs.cfg, t, NOW), SG_EINVAL, "space refused");
    TAP_IS_INT(verify(hs.keys, &hs.cfg,
                      forge("not json", payload_with(NULL, NULL), EVP_sha256(),
                            hs.secret, hs.secret_len),
                      NOW),
               SG_EINVAL, "header that is not JSON refused");
    TAP_IS_INT(verify(hs.keys, &hs.cfg,
                      forge("[\"HS256\"]", payload_with(NULL, NULL),
                            EVP_sha256(), hs.secret, hs.secret_len),
                      NOW),
               SG_EINVAL, "header that is not an object refused");
    TAP_IS_INT(verify(hs.keys, &hs.cfg,
                      forge("{'alg':'HS256'}", payload_with(NULL, NULL),
                            EVP_sha256(), hs.secret, hs.secret_len),
                      NOW),
               SG_EINVAL, "non-strict JSON header refused");
    TAP_IS_INT(verify(hs.keys, &hs.cfg,
                      forge(HS256_HEADER "x", payload_with(NULL, NULL),
                            EVP_sha256(), hs.secret, hs.secret_len),
                      NOW),
               SG_EINVAL, "header with trailing bytes refused");
    TAP_IS_INT(verify(hs.keys, &hs.cfg,
                      forge(HS256_HEADER, "not json", EVP_sha256(), hs.secret,
                            hs.secret_len),
                      NOW),
               SG_EAUTH, "payload that is not JSON refused");
    free(good);
}

/* ---- rotation --------------------------------------------------------- */

static void rotation(const char *alg, const char *cur, const char *old,
                     const char *old_pub)
{
    struct sg_config cfg;
    struct sg_token_keys *k;
    char *old_token = NULL, *stray = NULL, list[1100], msg[96];

    make_cfg(&cfg, alg, old, "2025");
    k = load(&cfg);
    TAP_IS_INT(
        sg_token_issue(k, &cfg, "u_42", SID, "user", NOW, &old_token, NULL),
        SG_OK, "sg_token_issue");
    sg_token_keys_free(k);
    make_cfg(&cfg, alg, old, "stray");
    k = load(&cfg);
    TAP_IS_INT(sg_token_issue(k, &cfg, "u_42", SID, "user", NOW, &stray, NULL),
               SG_OK, "sg_token_issue");
    sg_token_keys_free(k);

    make_cfg(&cfg, alg, cur, "2026");
    snprintf(list, sizeof(list), " 2025 = %s ,", key_path(old_pub));
    cfg.jwt_public_keys = list;
    k = load(&cfg);
    snprintf(msg, sizeof(msg), "%s: token of the previous key verifies", alg);
    TAP_IS_INT(verify(k, &cfg, old_token, NOW), SG_OK, msg);
    snprintf(msg, sizeof(msg), "%s: unknown kid refused", alg);
    TAP_IS_INT(verify(k, &cfg, stray, NOW), SG_EAUTH, msg);
    sg_token_keys_free(k);

    make_cfg(&cfg, alg, cur, "2026");
    k = load(&cfg);
    snprintf(msg, sizeof(msg), "%s: retired key no longer verifies", alg);
    TAP_IS_INT(verify(k, &cfg, old_token, NOW), SG_EAUTH, msg);
    sg_token_keys_free(k);
    free(old_token);
    free(stray);
}

static void test_rotation(void)
{
    rotation("RS256", "rsa1.pem", "rsa2.pem", "rsa2.pub.pem");
    rotation("ES256", "ec1.pem", "ec2.pem", "ec2.pub.pem");
}

/* ---- loading -------------------------------------------------------------
 */

static int load_rc(const struct sg_config *cfg, char *err, size_t errlen)
{
    struct sg_token_keys *k = NULL;
    int rc = sg_token_keys_load(cfg, &k, err, errlen);

    TAP_OK(rc == SG_OK ? k != NULL : k == NULL, "keys out iff success");
    sg_token_keys_free(k);
    return rc;
}

static void expect_refused(struct sg_config *cfg, const char *what)
{
    char err[256] = "";

    TAP_IS_INT(load_rc(cfg, err, sizeof(err)), SG_EINVAL, what);
    printf("#   %s\n", err);
}

static void test_load_refusals(void)
{
    struct sg_config cfg;
    char err[256] = "", secret[64], list[1100];

    make_cfg(&cfg, "HS256", "short.secret", "");
    TAP_IS_INT(load_rc(&cfg, err, sizeof(err)), SG_EINVAL,
               "31-byte secret refused");
    read_secret("short.secret", secret, sizeof(secret));
    TAP_OK(strstr(err, "at least 32") != NULL, "error says why");
    TAP_OK(strstr(err, secret) == NULL && strstr(err, "only-31") == NULL,
           "error does not contain the secret");

    make_cfg(&cfg, "HS256", "does-not-exist", "");
    TAP_IS_INT(load_rc(&cfg, err, sizeof(err)), SG_EIO, "missing file: EIO");
    make_cfg(&cfg, "HS512", "hs256.secret", "");
    expect_refused(&cfg, "HS512 not offered");
    make_cfg(&cfg, "RS256", "ec1.pem", "k1");
    expect_refused(&cfg, "RS256 with an EC key refused");
    make_cfg(&cfg, "ES256", "rsa1.pem", "k1");
    expect_refused(&cfg, "ES256 with an RSA key refused");
    make_cfg(&cfg, "ES256", "ec-p384.pem", "k1");
    expect_refused(&cfg, "ES256 with a P-384 key refused");
    make_cfg(&cfg, "RS256", "rsa1024.pem", "k1");
    expect_refused(&cfg, "RS256 with a 1024-bit key refused");
    make_cfg(&cfg, "RS256", "rsa1.pub.pem", "k1");
    expect_refused(&cfg, "public key as private key refused");
    make_cfg(&cfg, "RS256", "rsa1.pem", "");
    expect_refused(&cfg, "RS256 without kid refused");
    make_cfg(&cfg, "RS256", "rsa1.pem", "bad kid");
    expect_refused(&cfg, "kid with a space refused");

    make_cfg(&cfg, "RS256", "rsa1.pem", "k1");
    cfg.jwt_public_keys = "nokid";
    expect_refused(&cfg, "jwt_public_keys entry without '=' refused");
    snprintf(list, sizeof(list), "k1=%s", key_path("rsa2.pub.pem"));
    cfg.jwt_public_keys = list;
    expect_refused(&cfg, "kid used twice refused");
    snprintf(list, sizeof(list), "k0=%s", key_path("ec1.pub.pem"));
    expect_refused(&cfg, "public key of the wrong kind refused");
    make_cfg(&cfg, "HS256", "hs256.secret", "");
    cfg.jwt_public_keys = list;
    expect_refused(&cfg, "jwt_public_keys with HS256 refused");
}

static void test_issue_refusals(void)
{
    char *t = NULL;

    TAP_IS_INT(
        sg_token_issue(hs.keys, &hs.cfg, "u_42", "abc", "", NOW, &t, NULL),
        SG_EINVAL, "issue refuses a bad sid");
    TAP_IS_INT(sg_token_issue(hs.keys, &hs.cfg, "u 42", SID, "", NOW, &t, NULL),
               SG_EINVAL, "issue refuses a bad sub");
    TAP_IS_INT(
        sg_token_issue(hs.keys, &hs.cfg, "u_42", SID, "a,,b", NOW, &t, NULL),
        SG_EINVAL, "issue refuses an empty role");
    TAP_IS_INT(
        sg_token_issue(hs.keys, &hs.cfg, "u_42", SID, "a,", NOW, &t, NULL),
        SG_EINVAL, "issue refuses a trailing comma");
    TAP_OK(t == NULL, "no token on failure");
}

/* ---- JWKS (RFC 7517, RFC 7518 6) ------------------------------------------
 */

static const char *member(json_object *o, const char *name)
{
    json_object *v;

    return json_object_object_get_ex(o, name, &v) ? json_object_get_string(v)
                                                  : NULL;
}

static json_object *jwks_of(const char *alg, const char *key, const char *kid,
                            const char *extra)
{
    struct sg_config cfg;
    struct sg_token_keys *k;
    json_object *doc, *keys = NULL;
    char *json = NULL;

    make_cfg(&cfg, alg, key, kid);
    cfg.jwt_public_keys = (char *)extra;
    k = load(&cfg);
    if (k == NULL || sg_token_jwks(k, &json) != SG_OK)
        return NULL;
    doc = json_tokener_parse(json);
    if (json_object_object_get_ex(doc, "keys", &keys))
        json_object_get(keys);
    json_object_put(doc);
    free(json);
    sg_token_keys_free(k);
    return keys;
}

static void test_jwks(void)
{
    char list[1100];
    json_object *keys, *jwk;
    char *json = NULL;

    snprintf(list, sizeof(list), "old=%s", key_path("rsa2.pub.pem"));
    keys = jwks_of("RS256", "rsa1.pem", "k1", list);
    TAP_IS_INT(json_object_array_length(keys), 2, "RSA JWKS has two keys");
    jwk = json_object_array_get_idx(keys, 0);
    TAP_IS_STR(member(jwk, "kty"), "RSA", "RSA kty");
    TAP_IS_STR(member(jwk, "kid"), "k1", "current kid first");
    TAP_IS_STR(member(jwk, "use"), "sig", "use sig");
    TAP_IS_STR(member(jwk, "alg"), "RS256", "alg RS256");
    TAP_IS_STR(member(jwk, "e"), "AQAB", "e = 65537");
    TAP_IS_INT(member(jwk, "n") ? strlen(member(jwk, "n")) : 0, 342,
               "n is 256 bytes of base64url");
    jwk = json_object_array_get_idx(keys, 1);
    TAP_IS_STR(member(jwk, "kid"), "old", "extra key's kid");
    TAP_OK(member(jwk, "n") && member(jwk, "d") == NULL,
           "extra key has n and no private part");
    json_object_put(keys);

    keys = jwks_of("ES256", "ec1.pem", "e1", "");
    TAP_IS_INT(json_object_array_length(keys), 1, "EC JWKS has one key");
    jwk = json_object_array_get_idx(keys, 0);
    TAP_IS_STR(member(jwk, "kty"), "EC", "EC kty");
    TAP_IS_STR(member(jwk, "crv"), "P-256", "crv P-256");
    TAP_IS_STR(member(jwk, "alg"), "ES256", "alg ES256");
    TAP_IS_STR(member(jwk, "kid"), "e1", "EC kid");
    TAP_OK(member(jwk, "x") && strlen(member(jwk, "x")) == 43 &&
               member(jwk, "y") && strlen(member(jwk, "y")) == 43,
           "x and y are 32 bytes each");
    TAP_OK(member(jwk, "d") == NULL, "no private part");
    json_object_put(keys);

    TAP_IS_INT(sg_token_jwks(hs.keys, &json), SG_OK, "HS256 JWKS");
    TAP_IS_STR(json, "{\"keys\":[]}", "HS256 publishes no keys");
    free(json);
}

int main(void)
{
    make_cfg(&hs.cfg, "HS256", "hs256.secret", "hs1");
    hs.keys = load(&hs.cfg);
    hs.secret_len = read_secret("hs256.secret", hs.secret, sizeof(hs.secret));
    if (!TAP_OK(hs.keys != NULL, "HS256 keys load"))
        return tap_done();

    test_round_trips();
    test_explicit_length();
    test_time_claims();
    test_identity_claims();
    test_roles_claim();
    test_alg_none_and_hs512();
    test_alg_substitution();
    test_wrong_key();
    test_tampering();
    test_shape();
    test_rotation();
    test_load_refusals();
    test_issue_refusals();
    test_jwks();
    sg_token_keys_free(hs.keys);
    return tap_done();
}
