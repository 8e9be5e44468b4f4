/* token.c -- JWT access tokens (RFC 7519): issue with libjwt, verify here.
 *
 * The only file that includes <jwt.h>. Issuing uses libjwt 1.10.2 as is.
 * Verifying does not call jwt_decode(), for two reasons:
 *
 * - Cost. libjwt 1.x takes keys as PEM text and parses them on every
 *   call; with OpenSSL 3 PEM_read_bio_PUBKEY alone costs about 470 us,
 *   against 26 us for an RS256 and 66 us for an ES256 verification with a
 *   key parsed once (measured here). Verification runs on every request.
 * - Everything that decides acceptance is the caller's job in libjwt 1.x
 *   anyway: it takes the algorithm from the token (an HS512 token
 *   verifies against an HS256 secret), compares HMACs with strcmp(),
 *   alloca()s the whole token, reads a non-integer "exp" as 0 and checks
 *   no claims.
 *
 * So verification is: shape and size first (RFC 7515 7.1), then the
 * header, whose "alg" must be exactly the configured one and whose "kid"
 * picks the key; then the signature with OpenSSL on keys parsed at load
 * (HMAC compared in constant time); only then is the payload parsed, with
 * json-c, type-strictly, and every claim checked (RFC 7519 4.1). The
 * round-trip tests verify what libjwt issued for every algorithm.
 *
 * Keys are read and parsed once (sg_token_keys_load). For libjwt's signer
 * we keep a canonical PKCS#8 PEM re-encoded from the key we checked; for
 * verification, public-only EVP_PKEYs. The JWKS document is built at load
 * too, so /.well-known/jwks.json only copies it.
 *
 * Nothing here logs a token or a key.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jwt.h>
#include <json.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "crypto.h"
#include "token.h"

/* Key files: the secret must be at least as long as the hash output (RFC
 * 7518 3.2); anything larger than these caps is a mistake, not a key. */
#define SECRET_MIN   32
#define SECRET_MAX   4096
#define PEM_MAX      (64 * 1024)
#define RSA_BITS_MAX 4096 /* bounds the signature buffer */

/* Tokens: a JOSE header is small; jti carries 128 random bits (API.md),
 * 22 base64url characters; ES256 signatures are R || S (RFC 7518 3.4). */
#define HEADER_SEGMENT_MAX 1024
#define CLAIMS_MAX         (SG_TOKEN_MAX_LEN / 4 * 3)
#define JTI_BYTES          16
#define JTI_MIN            22
#define ES256_SIG_LEN      64

/* A key that verifies: the current one or a jwt_public_keys entry. */
struct verify_key {
    char kid[SG_TOKEN_KID_MAX + 1];
    EVP_PKEY *pkey; /* public part only */
};

struct sg_token_keys {
    jwt_alg_t alg;
    char kid[SG_TOKEN_KID_MAX + 1]; /* "" when none is configured */
    unsigned char *sign_key;        /* HS256 secret or PKCS#8 PEM */
    int sign_key_len;
    struct verify_key *verify; /* asymmetric only; [0] is the current key */
    size_t nverify;
    char *jwks;
};

/* ---- character classes ---------------------------------------------- */

static bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

static bool is_b64url(unsigned char c)
{
    return is_alnum(c) || c == '-' || c == '_';
}

static bool is_kid_char(unsigned char c)
{
    return is_alnum(c) || c == '.' || c == '_' || c == '-';
}

static bool is_sub_char(unsigned char c)
{
    return is_alnum(c) || (c != '\0' && strchr("._:@+-", c) != NULL);
}

static bool is_role_char(unsigned char c)
{
    return is_alnum(c) || (c != '\0' && strchr("._:-", c) != NULL);
}

static bool is_sid_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* True when s[0..len) is min..max characters all in class. */
static bool span_ok(const char *s, size_t len, size_t min, size_t max,
                    bool (*class)(unsigned char))
{
    if (len < min || len > max)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!class((unsigned char)s[i]))
            return false;
    }
    return true;
}

/* Copy the NUL-terminated s into dst (max + 1 bytes) if it passes
 * span_ok. A NULL s (claim absent or not a string) fails. */
static bool copy_checked(char *dst, const char *s, size_t min, size_t max,
                         bool (*class)(unsigned char))
{
    size_t len;

    if (s == NULL)
        return false;
    len = strnlen(s, max + 1);
    if (!span_ok(s, len, min, max, class))
        return false;
    memcpy(dst, s, len + 1);
    return true;
}

/* ---- loading keys ---------------------------------------------------- */

static int load_error(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int load_error(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    ERR_clear_error();
    return rc;
}

static const char *read_error(int rc)
{
    switch (rc) {
    case SG_ETOOBIG:
        return "file too large";
    case SG_ENOMEM:
        return "out of memory";
    default:
        return "cannot read file";
    }
}

static int read_small_file(const char *key, const char *path, size_t max,
                           bool strip, char **out, size_t *len, char *err,
                           size_t errlen)
{
    int rc;

    if (path == NULL || *path == '\0')
        return load_error(err, errlen, SG_EINVAL, "%s: not set", key);
    rc = sg_config_read_file(path, max, strip, out, len);
    if (rc != SG_OK)
        return load_error(err, errlen, rc == SG_ETOOBIG ? SG_EINVAL : rc,
                          "%s: %s: %s", key, path, read_error(rc));
    return SG_OK;
}

static void free_secret(char *buf, size_t len)
{
    if (buf) {
        OPENSSL_cleanse(buf, len);
        free(buf);
    }
}

/* Refuse any passphrase prompt: keys must be readable unattended. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

/* Parse a PEM private (want_private) or public key from text. */
static EVP_PKEY *parse_pem(const char *text, size_t len, bool want_private)
{
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    EVP_PKEY *pkey;

    if (bio == NULL)
        return NULL;
    pkey = want_private
               ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)
               : PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    return pkey;
}

/* NULL when pkey suits alg, else why not (RFC 7518 3.3: RSA >= 2048 bits,
 * and we stop at RSA_BITS_MAX; 3.4: ES256 is P-256). */
static const char *key_mismatch(const EVP_PKEY *pkey, jwt_alg_t alg)
{
    char group[32];

    if (alg == JWT_ALG_RS256) {
        if (!EVP_PKEY_is_a(pkey, "RSA"))
            return "not an RSA key (RS256)";
        if (EVP_PKEY_get_bits(pkey) < 2048)
            return "RSA key shorter than 2048 bits";
        if (EVP_PKEY_get_bits(pkey) > RSA_BITS_MAX)
            return "RSA key longer than 4096 bits";
        return NULL;
    }
    if (!EVP_PKEY_is_a(pkey, "EC"))
        return "not an EC key (ES256)";
    if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                        sizeof(group), NULL) ||
        strcmp(group, "prime256v1") != 0)
        return "EC key not on curve P-256 (ES256)";
    return NULL;
}

/* Re-encode the private key as unencrypted PKCS#8 PEM into a new
 * NUL-terminated buffer, through a secure-memory BIO (wiped when freed). */
static int private_pem(EVP_PKEY *pkey, char **out, int *len)
{
    BIO *bio = BIO_new(BIO_s_secmem());
    char *data;
    long n;
    int ok;

    if (bio == NULL)
        return SG_ENOMEM;
    ok = PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
    n = BIO_get_mem_data(bio, &data);
    if (!ok || n <= 0 || (*out = malloc((size_t)n + 1)) == NULL) {
        BIO_free(bio);
        return ok ? SG_ENOMEM : SG_ECRYPTO;
    }
    memcpy(*out, data, (size_t)n);
    (*out)[n] = '\0';
    *len = (int)n;
    BIO_free(bio);
    return SG_OK;
}

/* ---- JWKS (RFC 7517 section 5, RFC 7518 section 6) -------------------- */

/* Add name: base64url of the big-endian integer param, padded to pad bytes
 * (EC coordinates must be full length, RFC 7518 6.2.1.2) or minimal
 * (RSA n and e, RFC 7518 6.3.1). */
static int jwk_put_bn(json_object *jwk, const char *name, const EVP_PKEY *pkey,
                      const char *param, int pad)
{
    BIGNUM *bn = NULL;
    unsigned char *bin = NULL;
    char *b64 = NULL;
    int n, rc = SG_ECRYPTO;

    if (!EVP_PKEY_get_bn_param(pkey, param, &bn))
        return SG_ECRYPTO;
    n = pad ? pad : BN_num_bytes(bn);
    bin = malloc((size_t)n);
    b64 = malloc(sg_base64url_len((size_t)n) + 1);
    if (bin == NULL || b64 == NULL)
        rc = SG_ENOMEM;
    else if (BN_bn2binpad(bn, bin, n) == n &&
             sg_base64url_encode(bin, (size_t)n, b64,
                                 sg_base64url_len((size_t)n) + 1) == SG_OK)
        rc = json_object_object_add(jwk, name, json_object_new_string(b64))
                 ? SG_ENOMEM
                 : SG_OK;
    BN_free(bn);
    free(bin);
    free(b64);
    return rc;
}

static int jwk_put_str(json_object *jwk, const char *name, const char *value)
{
    json_object *s = json_object_new_string(value);

    if (s == NULL || json_object_object_add(jwk, name, s) != 0) {
        json_object_put(s);
        return SG_ENOMEM;
    }
    return SG_OK;
}

/* Append the public JWK of pkey to the keys array. */
static int jwks_add(json_object *keys, const EVP_PKEY *pkey, const char *kid,
                    jwt_alg_t alg)
{
    json_object *jwk = json_object_new_object();
    int rc;

    if (jwk == NULL)
        return SG_ENOMEM;
    if (alg == JWT_ALG_RS256) {
        rc = jwk_put_str(jwk, "kty", "RSA");
        if (rc == SG_OK)
            rc = jwk_put_bn(jwk, "n", pkey, OSSL_PKEY_PARAM_RSA_N, 0);
        if (rc == SG_OK)
            rc = jwk_put_bn(jwk, "e", pkey, OSSL_PKEY_PARAM_RSA_E, 0);
    } else {
        rc = jwk_put_str(jwk, "kty", "EC");
        if (rc == SG_OK)
            rc = jwk_put_str(jwk, "crv", "P-256");
        if (rc == SG_OK)
            rc = jwk_put_bn(jwk, "x", pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32);
        if (rc == SG_OK)
            rc = jwk_put_bn(jwk, "y", pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
    }
    if (rc == SG_OK)
        rc = jwk_put_str(jwk, "kid", kid);
    if (rc == SG_OK)
        rc = jwk_put_str(jwk, "use", "sig");
    if (rc == SG_OK)
        rc = jwk_put_str(jwk, "alg", jwt_alg_str(alg));
    if (rc == SG_OK && json_object_array_add(keys, jwk) != 0)
        rc = SG_ENOMEM;
    if (rc != SG_OK)
        json_object_put(jwk);
    return rc;
}

/* ---- building the key set -------------------------------------------- */

/* A new EVP_PKEY holding only the public part of pkey. */
static EVP_PKEY *public_part(EVP_PKEY *pkey)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    EVP_PKEY *pub = NULL;
    int n = i2d_PUBKEY(pkey, &der);

    if (n > 0) {
        p = der;
        pub = d2i_PUBKEY(NULL, &p, n);
    }
    OPENSSL_free(der);
    return pub;
}

/* Record the public part of pkey as the verification key named kid, and
 * add it to the JWKS. */
static int add_verify_key(struct sg_token_keys *k, json_object *keys,
                          EVP_PKEY *pkey, const char *kid, size_t kid_len)
{
    struct verify_key *v = &k->verify[k->nverify];

    for (size_t i = 0; i < k->nverify; i++) {
        if (strlen(k->verify[i].kid) == kid_len &&
            memcmp(k->verify[i].kid, kid, kid_len) == 0)
            return SG_EEXIST;
    }
    memcpy(v->kid, kid, kid_len);
    v->kid[kid_len] = '\0';
    if ((v->pkey = public_part(pkey)) == NULL)
        return SG_ECRYPTO;
    k->nverify++;
    return jwks_add(keys, v->pkey, v->kid, k->alg);
}

static int load_secret(struct sg_token_keys *k, const struct sg_config *cfg,
                       char *err, size_t errlen)
{
    char *secret;
    size_t len;
    int rc;

    rc = read_small_file("jwt_secret_file", cfg->jwt_secret_file, SECRET_MAX,
                         true, &secret, &len, err, errlen);
    if (rc != SG_OK)
        return rc;
    if (len < SECRET_MIN) {
        free_secret(secret, len);
        return load_error(err, errlen, SG_EINVAL,
                          "jwt_secret_file: %s: secret is %zu bytes, HS256 "
                          "needs at least %d",
                          cfg->jwt_secret_file, len, SECRET_MIN);
    }
    k->sign_key = (unsigned char *)secret;
    k->sign_key_len = (int)len;
    return SG_OK;
}

/* Read the private key, keep it as PKCS#8 PEM for signing and its public
 * half as the first verification key. */
static int load_private_key(struct sg_token_keys *k, json_object *keys,
                            const struct sg_config *cfg, char *err,
                            size_t errlen)
{
    const char *path = cfg->jwt_private_key_file, *why;
    EVP_PKEY *pkey;
    char *text;
    size_t len;
    int rc;

    rc = read_small_file("jwt_private_key_file", path, PEM_MAX, false, &text,
                         &len, err, errlen);
    if (rc != SG_OK)
        return rc;
    pkey = parse_pem(text, len, true);
    free_secret(text, len);
    if (pkey == NULL)
        return load_error(err, errlen, SG_EINVAL,
                          "jwt_private_key_file: %s: not an unencrypted PEM "
                          "private key",
                          path);
    if ((why = key_mismatch(pkey, k->alg)) != NULL) {
        EVP_PKEY_free(pkey);
        return load_error(err, errlen, SG_EINVAL,
                          "jwt_private_key_file: %s: %s", path, why);
    }
    rc = private_pem(pkey, (char **)&k->sign_key, &k->sign_key_len);
    if (rc == SG_OK)
        rc = add_verify_key(k, keys, pkey, k->kid, strlen(k->kid));
    EVP_PKEY_free(pkey);
    if (rc != SG_OK)
        return load_error(err, errlen, rc, "jwt_private_key_file: %s: %s", path,
                          "cannot encode key");
    return SG_OK;
}

/* Load one "kid=path" entry of jwt_public_keys (entry[0..len)). */
static int load_public_key(struct sg_token_keys *k, json_object *keys,
                           const char *entry, size_t len, char *err,
                           size_t errlen)
{
    const char *eq = memchr(entry, '=', len), *why;
    char path[4096], *text;
    size_t kid_len, path_len, text_len;
    EVP_PKEY *pkey;
    int rc;

    kid_len = eq ? (size_t)(eq - entry) : 0;
    while (kid_len > 0 &&
           (entry[kid_len - 1] == ' ' || entry[kid_len - 1] == '\t'))
        kid_len--;
    if (eq == NULL ||
        !span_ok(entry, kid_len, 1, SG_TOKEN_KID_MAX, is_kid_char))
        return load_error(err, errlen, SG_EINVAL,
                          "jwt_public_keys: entries are kid=path with a kid "
                          "of 1..%d [A-Za-z0-9._-]",
                          SG_TOKEN_KID_MAX);
    for (eq++; eq < entry + len && (*eq == ' ' || *eq == '\t'); eq++)
        ;
    path_len = (size_t)(entry + len - eq);
    if (path_len == 0 || path_len >= sizeof(path))
        return load_error(err, errlen, SG_EINVAL,
                          "jwt_public_keys: %.*s: bad path", (int)kid_len,
                          entry);
    memcpy(path, eq, path_len);
    path[path_len] = '\0';
    rc = read_small_file("jwt_public_keys", path, PEM_MAX, false, &text,
                         &text_len, err, errlen);
    if (rc != SG_OK)
        return rc;
    pkey = parse_pem(text, text_len, false);
    free(text);
    if (pkey == NULL)
        return load_error(err, errlen, SG_EINVAL,
                          "jwt_public_keys: %s: not a PEM public key", path);
    why = key_mismatch(pkey, k->alg);
    rc = why ? SG_EINVAL : add_verify_key(k, keys, pkey, entry, kid_len);
    EVP_PKEY_free(pkey);
    if (rc == SG_EEXIST)
        why = "kid used twice";
    if (rc != SG_OK)
        return load_error(err, errlen, rc == SG_EEXIST ? SG_EINVAL : rc,
                          "jwt_public_keys: %s: %s", path,
                          why ? why : "cannot encode key");
    return SG_OK;
}

/* Split jwt_public_keys on commas and load every entry. */
static int load_public_keys(struct sg_token_keys *k, json_object *keys,
                            const char *list, char *err, size_t errlen)
{
    const char *p = list, *end;
    size_t len;
    int rc;

    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        end = strchr(p, ',');
        len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len > 0) {
            rc = load_public_key(k, keys, p, len, err, errlen);
            if (rc != SG_OK)
                return rc;
        }
        p = end ? end + 1 : p + len;
        if (!end)
            break;
    }
    return SG_OK;
}

/* Upper bound on the verification keys: the current one plus one per
 * comma separated entry. */
static size_t count_entries(const char *list)
{
    size_t n = 2;

    for (; list && *list; list++)
        n += *list == ',';
    return n;
}

/* Check alg and kid, size the tables. */
static int keys_new(const struct sg_config *cfg, struct sg_token_keys **out,
                    char *err, size_t errlen)
{
    const char *alg = cfg->jwt_algorithm ? cfg->jwt_algorithm : "HS256";
    const char *kid = cfg->jwt_kid ? cfg->jwt_kid : "";
    struct sg_token_keys *k;
    bool asym;

    if (strcmp(alg, "HS256") && strcmp(alg, "RS256") && strcmp(alg, "ES256"))
        return load_error(err, errlen, SG_EINVAL,
                          "jwt_algorithm: %s: use HS256, RS256 or ES256", alg);
    asym = strcmp(alg, "HS256") != 0;
    if ((asym || *kid) &&
        !span_ok(kid, strlen(kid), 1, SG_TOKEN_KID_MAX, is_kid_char))
        return load_error(err, errlen, SG_EINVAL,
                          "jwt_kid: %s needs a kid of 1..%d [A-Za-z0-9._-]",
                          alg, SG_TOKEN_KID_MAX);
    if (!asym && cfg->jwt_public_keys &&
        strspn(cfg->jwt_public_keys, " \t,") != strlen(cfg->jwt_public_keys))
        return load_error(err, errlen, SG_EINVAL,
                          "jwt_public_keys: only for RS256 and ES256");
    if ((k = calloc(1, sizeof(*k))) == NULL)
        return load_error(err, errlen, SG_ENOMEM, "out of memory");
    k->alg = jwt_str_alg(alg);
    memcpy(k->kid, kid, strlen(kid) + 1);
    if (asym && !(k->verify = calloc(count_entries(cfg->jwt_public_keys),
                                     sizeof(*k->verify)))) {
        free(k);
        return load_error(err, errlen, SG_ENOMEM, "out of memory");
    }
    *out = k;
    return SG_OK;
}

int sg_token_keys_load(const struct sg_config *cfg, struct sg_token_keys **out,
                       char *err, size_t errlen)
{
    struct sg_token_keys *k = NULL;
    json_object *root = NULL, *keys;
    int rc;

    *out = NULL;
    rc = keys_new(cfg, &k, err, errlen);
    if (rc != SG_OK)
        return rc;
    root = json_object_new_object();
    keys = json_object_new_array();
    if (root == NULL || keys == NULL ||
        json_object_object_add(root, "keys", keys) != 0) {
        json_object_put(keys);
        rc = load_error(err, errlen, SG_ENOMEM, "out of memory");
        goto out;
    }
    if (k->alg == JWT_ALG_HS256)
        rc = load_secret(k, cfg, err, errlen);
    else
        rc = load_private_key(k, keys, cfg, err, errlen);
    if (rc == SG_OK && k->alg != JWT_ALG_HS256 && cfg->jwt_public_keys)
        rc = load_public_keys(k, keys, cfg->jwt_public_keys, err, errlen);
    if (rc != SG_OK)
        goto out;
    k->jwks = strdup(json_object_to_json_string_ext(
        root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    if (k->jwks == NULL) {
        rc = load_error(err, errlen, SG_ENOMEM, "out of memory");
        goto out;
    }
    *out = k;
    k = NULL;
out:
    json_object_put(root);
    sg_token_keys_free(k);
    return rc;
}

void sg_token_keys_free(struct sg_token_keys *k)
{
    if (k == NULL)
        return;
    if (k->sign_key) {
        OPENSSL_cleanse(k->sign_key, (size_t)k->sign_key_len);
        free(k->sign_key);
    }
    for (size_t i = 0; i < k->nverify; i++)
        EVP_PKEY_free(k->verify[i].pkey);
    free(k->verify);
    free(k->jwks);
    free(k);
}

int sg_token_jwks(const struct sg_token_keys *k, char **json_out)
{
    *json_out = strdup(k->jwks);
    return *json_out ? SG_OK : SG_ENOMEM;
}

bool sg_token_has_role(const struct sg_claims *claims, const char *role)
{
    size_t len = strlen(role);
    const char *p = claims->roles;

    while (len > 0 && *p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == len && memcmp(p, role, len) == 0)
            return true;
        if (!comma)
            break;
        p = comma + 1;
    }
    return false;
}

/* ---- issuing ---------------------------------------------------------- */

/* True when csv is "" or role(,role)* with every role within limits. */
static bool roles_csv_ok(const char *csv)
{
    size_t total = strlen(csv), n;

    if (total > SG_TOKEN_ROLES_MAX)
        return false;
    while (*csv) {
        n = strcspn(csv, ",");
        if (!span_ok(csv, n, 1, SG_TOKEN_ROLE_MAX, is_role_char))
            return false;
        csv += n;
        if (*csv == ',' && *++csv == '\0')
            return false; /* trailing comma */
    }
    return true;
}

/* The claims of a new token, checked as verify will check them. */
static int new_claims(const struct sg_config *cfg, const char *sub,
                      const char *sid, const char *roles_csv, int64_t now,
                      struct sg_claims *c)
{
    unsigned char jti[JTI_BYTES];
    int rc;

    memset(c, 0, sizeof(*c));
    if (roles_csv == NULL)
        roles_csv = "";
    if (!copy_checked(c->sub, sub, 1, SG_TOKEN_SUB_MAX, is_sub_char) ||
        !copy_checked(c->sid, sid, SG_TOKEN_SID_LEN, SG_TOKEN_SID_LEN,
                      is_sid_char) ||
        !roles_csv_ok(roles_csv) || cfg->access_token_ttl <= 0)
        return SG_EINVAL;
    memcpy(c->roles, roles_csv, strlen(roles_csv) + 1);
    rc = sg_random_bytes(jti, sizeof(jti));
    if (rc != SG_OK)
        return rc;
    rc = sg_base64url_encode(jti, sizeof(jti), c->jti, sizeof(c->jti));
    if (rc != SG_OK)
        return rc;
    c->iat = c->nbf = now;
    c->exp = now + cfg->access_token_ttl;
    return SG_OK;
}

/* Add "roles": [..] built from the (checked) comma separated list. */
static int add_roles(jwt_t *jwt, const char *csv)
{
    json_object *root = json_object_new_object();
    json_object *roles = json_object_new_array();
    size_t n;
    int rc = ENOMEM;

    if (root == NULL || roles == NULL ||
        json_object_object_add(root, "roles", roles) != 0) {
        json_object_put(roles);
        goto out;
    }
    for (; *csv; csv += n + (csv[n] == ',')) {
        n = strcspn(csv, ",");
        if (json_object_array_add(roles,
                                  json_object_new_string_len(csv, (int)n)) != 0)
            goto out;
    }
    rc = jwt_add_grants_json(
        jwt, json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
out:
    json_object_put(root);
    return rc;
}

/* Fill the header and claims of jwt (libjwt adds "typ" and "alg"). */
static int add_grants(jwt_t *jwt, const struct sg_token_keys *k,
                      const struct sg_config *cfg, const struct sg_claims *c)
{
    int rc = 0;

    if (k->kid[0])
        rc = jwt_add_header(jwt, "kid", k->kid); /* RFC 7515 4.1.4 */
    if (!rc && cfg->jwt_issuer && *cfg->jwt_issuer)
        rc = jwt_add_grant(jwt, "iss", cfg->jwt_issuer);
    if (!rc && cfg->jwt_audience && *cfg->jwt_audience)
        rc = jwt_add_grant(jwt, "aud", cfg->jwt_audience);
    if (!rc)
        rc = jwt_add_grant(jwt, "sub", c->sub);
    if (!rc)
        rc = jwt_add_grant(jwt, "sid", c->sid);
    if (!rc)
        rc = jwt_add_grant(jwt, "jti", c->jti);
    if (!rc)
        rc = jwt_add_grant_int(jwt, "iat", (long)c->iat);
    if (!rc)
        rc = jwt_add_grant_int(jwt, "nbf", (long)c->nbf);
    if (!rc)
        rc = jwt_add_grant_int(jwt, "exp", (long)c->exp);
    if (!rc)
        rc = add_roles(jwt, c->roles);
    return rc;
}

int sg_token_issue(const struct sg_token_keys *k, const struct sg_config *cfg,
                   const char *sub, const char *sid, const char *roles_csv,
                   int64_t now, char **token_out, struct sg_claims *claims_out)
{
    struct sg_claims c;
    jwt_t *jwt = NULL;
    int rc;

    *token_out = NULL;
    rc = new_claims(cfg, sub, sid, roles_csv, now, &c);
    if (rc != SG_OK)
        return rc;
    if (jwt_new(&jwt) != 0)
        return SG_ENOMEM;
    rc = jwt_set_alg(jwt, k->alg, k->sign_key, k->sign_key_len);
    if (rc == 0)
        rc = add_grants(jwt, k, cfg, &c);
    if (rc == 0 && (*token_out = jwt_encode_str(jwt)) == NULL)
        rc = errno ? errno : EINVAL;
    jwt_free(jwt);
    ERR_clear_error();
    if (rc != 0)
        return rc == ENOMEM ? SG_ENOMEM : SG_ECRYPTO;
    if (claims_out)
        *claims_out = c;
    return SG_OK;
}

/* ---- verifying -------------------------------------------------------- */

/* Where the three segments of a compact JWS are. */
struct jws_parts {
    size_t header_len; /* header is token[0..header_len) */
    size_t signed_len; /* JWS signing input: header '.' payload */
    const char *payload;
    size_t payload_len;
    const char *sig;
    size_t sig_len;
};

/* RFC 7515 7.1 compact serialization: exactly three non-empty base64url
 * segments. This refuses JWE (five segments) and unsecured JWTs (RFC
 * 7519 6.1: empty signature) before anything is decoded. */
static int split_token(const char *t, size_t len, struct jws_parts *p)
{
    size_t dots[2], ndots = 0;

    if (len == 0 || len > SG_TOKEN_MAX_LEN)
        return SG_EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (t[i] == '.') {
            if (ndots == 2)
                return SG_EINVAL;
            dots[ndots++] = i;
        } else if (!is_b64url((unsigned char)t[i])) {
            return SG_EINVAL;
        }
    }
    if (ndots != 2 || dots[0] == 0 || dots[1] == dots[0] + 1 ||
        dots[1] == len - 1 || dots[0] > HEADER_SEGMENT_MAX)
        return SG_EINVAL;
    p->header_len = dots[0];
    p->signed_len = dots[1];
    p->payload = t + dots[0] + 1;
    p->payload_len = dots[1] - dots[0] - 1;
    p->sig = t + dots[1] + 1;
    p->sig_len = len - dots[1] - 1;
    return SG_OK;
}

/* Decode a base64url segment into buf and parse it as one JSON object,
 * nothing before or after it. NULL if it is anything else. */
static json_object *parse_segment(json_tokener *tok, const char *seg,
                                  size_t len, unsigned char *buf, size_t cap)
{
    json_object *obj;
    size_t n;

    if (sg_base64url_decode(seg, len, buf, cap, &n) != SG_OK)
        return NULL;
    json_tokener_reset(tok);
    obj = json_tokener_parse_ex(tok, (const char *)buf, (int)n);
    if (obj != NULL && (json_tokener_get_parse_end(tok) != n ||
                        !json_object_is_type(obj, json_type_object))) {
        json_object_put(obj);
        obj = NULL;
    }
    return obj;
}

/* The string member name of obj with its length, or NULL if it is absent
 * or not a string. */
static const char *member_string(json_object *obj, const char *name,
                                 size_t *len)
{
    json_object *v;

    if (!json_object_object_get_ex(obj, name, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    *len = (size_t)json_object_get_string_len(v);
    return json_object_get_string(v);
}

/* Copy the string member name into dst (max + 1 bytes) if it is min..max
 * characters of class. Embedded NULs fail the class check. */
static bool member_checked(json_object *obj, const char *name, char *dst,
                           size_t min, size_t max, bool (*class)(unsigned char))
{
    size_t len = 0;
    const char *s = member_string(obj, name, &len);

    if (s == NULL || !span_ok(s, len, min, max, class))
        return false;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return true;
}

/* The JOSE header (RFC 7515 4.1): SG_OK when it names our algorithm and
 * a key of ours, which *pkey gets (NULL for HS256: the secret); else
 * SG_EAUTH. */
static int header_key(const struct sg_token_keys *k, json_object *hdr,
                      EVP_PKEY **pkey)
{
    char alg[8], typ[8], kid[SG_TOKEN_KID_MAX + 1] = "";
    bool has_kid = json_object_object_get_ex(hdr, "kid", NULL);

    *pkey = NULL;
    /* 4.1.11: "crit" lists extensions that must be understood; we
     * understand none. */
    if (json_object_object_get_ex(hdr, "crit", NULL))
        return SG_EAUTH;
    /* 4.1.1: alg is required and case-sensitive; RFC 8725 2.1, 3.1: only
     * the configured one, which also refuses "none". */
    if (!member_checked(hdr, "alg", alg, 1, sizeof(alg) - 1, is_alnum) ||
        strcmp(alg, jwt_alg_str(k->alg)) != 0)
        return SG_EAUTH;
    /* 4.1.9 and RFC 8725 3.11: if typed, typed as a JWT. */
    if (json_object_object_get_ex(hdr, "typ", NULL) &&
        !(member_checked(hdr, "typ", typ, 1, sizeof(typ) - 1, is_alnum) &&
          strcasecmp(typ, "JWT") == 0))
        return SG_EAUTH;
    /* 4.1.4: kid picks the key; an unknown one fails. */
    if (has_kid &&
        !member_checked(hdr, "kid", kid, 1, SG_TOKEN_KID_MAX, is_kid_char))
        return SG_EAUTH;
    if (k->alg == JWT_ALG_HS256)
        return !has_kid || strcmp(kid, k->kid) == 0 ? SG_OK : SG_EAUTH;
    for (size_t i = 0; has_kid && i < k->nverify; i++) {
        if (strcmp(kid, k->verify[i].kid) == 0) {
            *pkey = k->verify[i].pkey;
            return SG_OK;
        }
    }
    return SG_EAUTH;
}

/* RFC 7518 3.2: HMAC-SHA256 of the signing input, compared in constant
 * time. */
static bool hmac_ok(const struct sg_token_keys *k, const char *input,
                    size_t input_len, const unsigned char *sig, size_t sig_len)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    bool ok;

    if (HMAC(EVP_sha256(), k->sign_key, k->sign_key_len,
             (const unsigned char *)input, input_len, mac, &mac_len) == NULL)
        return false;
    ok = sg_ct_equal(mac, mac_len, sig, sig_len);
    OPENSSL_cleanse(mac, sizeof(mac));
    return ok;
}

/* RFC 7518 3.4: an ES256 signature is R || S; OpenSSL verifies the DER
 * ECDSA-Sig-Value. der needs 72 bytes. */
static int ecdsa_to_der(const unsigned char *rs, unsigned char *der,
                        size_t *der_len)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, ES256_SIG_LEN / 2, NULL);
    BIGNUM *s = BN_bin2bn(rs + ES256_SIG_LEN / 2, ES256_SIG_LEN / 2, NULL);
    unsigned char *p = der;
    int n = 0;

    if (sig != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(sig, r, s)) {
        r = s = NULL; /* now owned by sig */
        n = i2d_ECDSA_SIG(sig, &p);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    *der_len = n > 0 ? (size_t)n : 0;
    return n > 0 ? SG_OK : SG_ECRYPTO;
}

/* RFC 7515 5.2 step 8 with RFC 7518 3.3 (RS256) or 3.4 (ES256). */
static bool pkey_signature_ok(const struct sg_token_keys *k, EVP_PKEY *pkey,
                              const char *input, size_t input_len,
                              const unsigned char *sig, size_t sig_len)
{
    unsigned char der[80];
    EVP_MD_CTX *ctx;
    bool ok;

    if (k->alg == JWT_ALG_ES256) {
        if (sig_len != ES256_SIG_LEN || ecdsa_to_der(sig, der, &sig_len) != 0)
            return false;
        sig = der;
    }
    if ((ctx = EVP_MD_CTX_new()) == NULL)
        return false;
    ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
         EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)input,
                          input_len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static bool signature_ok(const struct sg_token_keys *k, EVP_PKEY *pkey,
                         const char *token, const struct jws_parts *p)
{
    unsigned char sig[RSA_BITS_MAX / 8];
    size_t sig_len = 0;
    bool ok;

    if (sg_base64url_decode(p->sig, p->sig_len, sig, sizeof(sig), &sig_len) !=
        SG_OK)
        return false;
    if (k->alg == JWT_ALG_HS256)
        ok = hmac_ok(k, token, p->signed_len, sig, sig_len);
    else
        ok = pkey_signature_ok(k, pkey, token, p->signed_len, sig, sig_len);
    ERR_clear_error();
    return ok;
}

/* RFC 7519 4.1.3: aud is one string or an array of strings; ours must be
 * the string or one of the array's members. */
static bool audience_ok(json_object *claims, const char *ours)
{
    size_t ours_len = strlen(ours), len;
    json_object *aud, *v;
    const char *s;

    if ((s = member_string(claims, "aud", &len)) != NULL)
        return len == ours_len && memcmp(s, ours, len) == 0;
    if (!json_object_object_get_ex(claims, "aud", &aud) ||
        !json_object_is_type(aud, json_type_array))
        return false;
    for (size_t i = 0; i < json_object_array_length(aud); i++) {
        v = json_object_array_get_idx(aud, i);
        if (json_object_is_type(v, json_type_string) &&
            (size_t)json_object_get_string_len(v) == ours_len &&
            memcmp(json_object_get_string(v), ours, ours_len) == 0)
            return true;
    }
    return false;
}

/* "roles" must be an array of role strings; joined with commas into
 * out[SG_TOKEN_ROLES_MAX + 1]. */
static bool roles_ok(json_object *claims, char *out)
{
    json_object *roles, *v;
    size_t len = 0, n;

    out[0] = '\0';
    if (!json_object_object_get_ex(claims, "roles", &roles) ||
        !json_object_is_type(roles, json_type_array))
        return false;
    for (size_t i = 0; i < json_object_array_length(roles); i++) {
        v = json_object_array_get_idx(roles, i);
        if (!json_object_is_type(v, json_type_string))
            return false;
        n = (size_t)json_object_get_string_len(v);
        if (!span_ok(json_object_get_string(v), n, 1, SG_TOKEN_ROLE_MAX,
                     is_role_char) ||
            len + (i > 0) + n > SG_TOKEN_ROLES_MAX)
            return false;
        if (i > 0)
            out[len++] = ',';
        memcpy(out + len, json_object_get_string(v), n);
        out[len += n] = '\0';
    }
    return true;
}

/* A NumericDate (RFC 7519 2) that is an integer: we issue nothing else,
 * so fractions and strings are refused rather than rounded. */
static bool numeric_date(json_object *claims, const char *name, int64_t *out)
{
    json_object *v;

    if (!json_object_object_get_ex(claims, name, &v) ||
        !json_object_is_type(v, json_type_int))
        return false;
    *out = json_object_get_int64(v);
    return true;
}

static int check_claims(json_object *claims, const struct sg_config *cfg,
                        int64_t now, struct sg_claims *c)
{
    int64_t skew = cfg->clock_skew > 0 ? cfg->clock_skew : 0;
    const char *iss = cfg->jwt_issuer, *aud = cfg->jwt_audience, *s;
    size_t len = 0;

    /* 4.1.1 iss and 4.1.3 aud: exactly the configured values. */
    s = member_string(claims, "iss", &len);
    if (iss && *iss && !(s && len == strlen(iss) && memcmp(s, iss, len) == 0))
        return SG_EAUTH;
    if (aud && *aud && !audience_ok(claims, aud))
        return SG_EAUTH;
    /* 4.1.4 exp: now must be before it; 4.1.5 nbf: not before it; both
     * with the configured leeway. 4.1.6 iat: present. Written so that a
     * huge exp from the token cannot overflow. */
    if (!numeric_date(claims, "exp", &c->exp) ||
        !numeric_date(claims, "nbf", &c->nbf) ||
        !numeric_date(claims, "iat", &c->iat) || now - skew >= c->exp ||
        now + skew < c->nbf)
        return SG_EAUTH;
    /* 4.1.2 sub, sid (the session, as in OpenID Connect), 4.1.7 jti. */
    if (!member_checked(claims, "sub", c->sub, 1, SG_TOKEN_SUB_MAX,
                        is_sub_char) ||
        !member_checked(claims, "sid", c->sid, SG_TOKEN_SID_LEN,
                        SG_TOKEN_SID_LEN, is_sid_char) ||
        !member_checked(claims, "jti", c->jti, JTI_MIN, SG_TOKEN_JTI_MAX,
                        is_b64url) ||
        !roles_ok(claims, c->roles))
        return SG_EAUTH;
    return SG_OK;
}

/* Header, key and signature; on success *claims is the parsed payload. */
static int verify_jws(const struct sg_token_keys *k, json_tokener *tok,
                      const char *token, const struct jws_parts *p,
                      json_object **claims)
{
    unsigned char buf[CLAIMS_MAX];
    json_object *hdr;
    EVP_PKEY *pkey;
    int rc;

    hdr = parse_segment(tok, token, p->header_len, buf, sizeof(buf));
    if (hdr == NULL)
        return SG_EINVAL;
    rc = header_key(k, hdr, &pkey);
    json_object_put(hdr);
    if (rc != SG_OK || !signature_ok(k, pkey, token, p))
        return SG_EAUTH;
    /* Signed by us: a payload that is not a JSON object is refused, not
     * garbage. */
    *claims = parse_segment(tok, p->payload, p->payload_len, buf, sizeof(buf));
    return *claims ? SG_OK : SG_EAUTH;
}

int sg_token_verify(const struct sg_token_keys *k, const struct sg_config *cfg,
                    const char *token, size_t len, int64_t now,
                    struct sg_claims *out)
{
    struct jws_parts parts;
    json_object *claims = NULL;
    json_tokener *tok;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = split_token(token, len, &parts);
    if (rc != SG_OK)
        return rc;
    /* Headers and claims are flat; depth 4 is room to spare. */
    if ((tok = json_tokener_new_ex(4)) == NULL)
        return SG_ENOMEM;
    json_tokener_set_flags(tok,
                           JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    rc = verify_jws(k, tok, token, &parts, &claims);
    if (rc == SG_OK)
        rc = check_claims(claims, cfg, now, out);
    json_object_put(claims);
    json_tokener_free(tok);
    if (rc != SG_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}
