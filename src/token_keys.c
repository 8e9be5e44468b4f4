/* token_keys.c -- loading the token keys, once per worker, and JWKS.
 *
 * HS256 takes a secret file (at least 32 bytes, RFC 7518 3.2); RS256 and
 * ES256 take a PEM private key with its kid, plus extra public keys
 * ("kid=path, ...") that still verify during a rotation. Every key is
 * parsed and checked here, once: for libjwt's signer we keep a canonical
 * PKCS#8 PEM re-encoded from the key we checked; for verification,
 * public-only EVP_PKEYs. The JWKS document (RFC 7517) is built here too,
 * so /.well-known/jwks.json only copies it. Nothing here logs a key.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "config.h"
#include "crypto.h"
#include "token_impl.h"

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
        sg_wipe(buf, len);
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
    if (!(k->hmac = sg_hmac_sha256_new(secret, len)))
        return load_error(err, errlen, SG_ENOMEM, "out of memory");
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
    if (eq == NULL || !sg_token_kid_ok(entry, kid_len))
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
    if ((asym || *kid) && !sg_token_kid_ok(kid, strlen(kid)))
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
        sg_wipe(k->sign_key, (size_t)k->sign_key_len);
        free(k->sign_key);
    }
    sg_hmac_free(k->hmac);
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
