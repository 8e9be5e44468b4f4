/* token.c -- JWT access tokens (RFC 7519): issue with libjwt, verify here.
 *
 * With token_keys.c, the only files that include <jwt.h>. Issuing uses
 * libjwt 1.10.2 as is.
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
 * Keys are read and parsed once, in token_keys.c (sg_token_keys_load),
 * which also builds the JWKS document.
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
#include "token_impl.h"

/* Tokens: a JOSE header is small; jti carries 128 random bits (API.md),
 * 22 base64url characters; ES256 signatures are R || S (RFC 7518 3.4). */
#define HEADER_SEGMENT_MAX 1024
#define CLAIMS_MAX         (SG_TOKEN_MAX_LEN / 4 * 3)
#define JTI_BYTES          16
#define JTI_MIN            22
#define ES256_SIG_LEN      64

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

bool sg_token_kid_ok(const char *s, size_t len)
{
    return span_ok(s, len, 1, SG_TOKEN_KID_MAX, is_kid_char);
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
                      sg_is_hex_char) ||
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
    unsigned char mac[32];
    bool ok;

    if (!k->hmac)
        return false;
    sg_hmac_sha256(k->hmac, input, input_len, mac);
    ok = sg_ct_equal(mac, sizeof(mac), sig, sig_len);
    sg_wipe(mac, sizeof(mac));
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
    /* HS256 runs on the low-level SHA-256, which never touches OpenSSL's
     * error queue: clearing it would load every error string (a million
     * instructions, a fifth of a CGI verify) for nothing */
    if (k->alg == JWT_ALG_HS256)
        return hmac_ok(k, token, p->signed_len, sig, sig_len);
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
                        SG_TOKEN_SID_LEN, sg_is_hex_char) ||
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
