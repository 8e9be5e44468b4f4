/* handle_account.c -- POST /auth/register, /auth/signin, /auth/refresh.
 *
 * Sign-in answers the identical 401 INVALID_CREDENTIALS for an unknown
 * email and a wrong password, and spends the same PBKDF2 work on both (a
 * dummy verify), so neither the answer nor its timing tells whether an
 * account exists. A successful sign-in with a hash of older parameters
 * re-hashes the password with the configured ones.
 *
 * A refresh token is base64url of the user id, the session id and 256
 * random bits (80 bytes, 107 characters): the ids locate the session
 * without an index, the secret makes the token unguessable, and only the
 * SHA-256 of the whole token is stored. Clients treat it as opaque.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "audit.h"
#include "cookie.h"
#include "crypto.h"
#include "handlers.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "password.h"
#include "ratelimit.h"
#include "user.h"
#include "utf8.h"

#define USER_ID_BYTES        (SG_USER_ID_LEN / 2)
#define SESSION_ID_BYTES     (SG_SESSION_ID_LEN / 2)
#define REFRESH_SECRET_BYTES 32
#define REFRESH_RAW_BYTES                                                      \
    (USER_ID_BYTES + SESSION_ID_BYTES + REFRESH_SECRET_BYTES)
#define REFRESH_TOKEN_MAX 128 /* base64url of 80 bytes is 107 */

/* A required string field, or a 400 written. */
static bool body_string(const struct sg_request *req, struct sg_response *res,
                        const char *name, size_t max, const char **s,
                        size_t *len)
{
    char msg[96];

    switch (sg_request_json_string(req, name, max, s, len)) {
    case SG_OK:
        return true;
    case SG_ENOTFOUND:
        snprintf(msg, sizeof(msg), "The field \"%s\" is required.", name);
        break;
    default:
        snprintf(msg, sizeof(msg), "The field \"%s\" must be a string.", name);
    }
    sg_response_error(res, SG_API_BAD_REQUEST, msg, NULL);
    return false;
}

/* The optional display name into out (SG_NAME_MAX + 1 bytes): UTF-8 text
 * of up to SG_NAME_MAX bytes with no control characters (C0, DEL, C1).
 * It is taken only if sg_utf8_sanitize leaves it as it is, so the rule
 * for what may be stored is the one in utf8.c; the body parser has
 * already refused ill-formed UTF-8. */
static bool body_name(const struct sg_request *req, struct sg_response *res,
                      char *out)
{
    const char *s;
    size_t len;
    int rc = sg_request_json_string(req, "name", SG_NAME_MAX, &s, &len);

    out[0] = '\0';
    if (rc == SG_ENOTFOUND)
        return true;
    if (rc == SG_OK && !sg_utf8_is_text(s, len))
        rc = SG_EINVAL;
    if (rc == SG_OK)
        memcpy(out, s, len + 1);
    if (rc != SG_OK) {
        out[0] = '\0';
        sg_response_error(res, SG_API_BAD_REQUEST,
                          "The field \"name\" must be UTF-8 text of at most "
                          "200 bytes without control characters.",
                          NULL);
        return false;
    }
    return true;
}

/* Apply one policy (hit mode) and add its headers. SG_ELIMIT when the
 * request was refused (the 429 is written). */
static int limit_one(struct sg_ctx *ctx, struct sg_request *req,
                     struct sg_response *res, const char *name,
                     const struct sg_rate_policy *p, const char *sid)
{
    char key[SG_KEY_MAX];
    struct sg_limit_check c;
    int rc;

    if (!p->limit)
        return SG_OK;
    if ((rc = sg_ratelimit_key(ctx, req, name, p, NULL, sid, NULL, key)))
        return rc;
    sg_ratelimit_check(&c, p, key, SG_LIMIT_HIT);
    if ((rc = sg_store_limits(ctx->store, req->now_ms, &c, 1)) != SG_OK)
        return rc;
    sg_ratelimit_headers(res, c.limit, c.remaining, c.reset_ms);
    if (!c.allowed) {
        sg_metrics_limited(name);
        sg_ratelimit_refuse(res, req->now_ms, c.reset_ms);
        return SG_ELIMIT;
    }
    return SG_OK;
}

int sg_handle_register(struct sg_ctx *ctx, struct sg_request *req,
                       struct sg_response *res, struct sg_auth_call *call)
{
    const struct sg_config *cfg = ctx->cfg;
    struct sg_user u = {0};
    const char *email, *pw;
    size_t email_len, pw_len;
    enum sg_password_policy policy;
    int rc;

    if (!cfg->registration_open)
        return sg_response_error(res, SG_API_REGISTRATION_CLOSED, NULL, NULL);
    if (req->route->limit == SG_RL_REGISTER &&
        (rc = limit_one(ctx, req, res, "register", &cfg->ratelimit_register,
                        NULL)) != SG_OK)
        return rc == SG_ELIMIT ? SG_OK : rc;
    if (!body_string(req, res, "email", 4096, &email, &email_len) ||
        !body_string(req, res, "password", 1 << 20, &pw, &pw_len) ||
        !body_name(req, res, u.name))
        return SG_OK;
    if (sg_email_normalize(ctx->email, email, email_len, u.email,
                           sizeof(u.email)) != SG_OK)
        return sg_response_error(res, SG_API_INVALID_EMAIL, NULL, NULL);
    policy = sg_password_check_policy(pw, pw_len, cfg->password_min_length);
    if (policy != SG_PASSWORD_OK)
        return sg_response_error(res, SG_API_WEAK_PASSWORD,
                                 sg_password_policy_str(policy), NULL);
    rc = sg_user_create(ctx->store, &u, pw, pw_len, cfg->pbkdf2_iterations,
                        req->now_ms);
    if (rc == SG_EEXIST)
        return sg_response_error(res, SG_API_EMAIL_TAKEN, NULL, NULL);
    if (rc != SG_OK)
        return rc;
    sg_log_info("registered user %s (request %s)", u.id, req->request_id);
    sg_audit_register(ctx, req, u.id, u.email);
    json_object *data = json_object_new_object();
    if (!data)
        return SG_ENOMEM;
    json_object_object_add(data, "user", sg_json_user(&u));
    return sg_response_ok(res, 201, data);
}

/* The refresh token of uid/sid with secret into out, its hash into hash:
 * a new one when secret is NULL. */
static int refresh_token(const char *uid, const char *sid,
                         const unsigned char *secret, char *out, size_t outlen,
                         char hash[65])
{
    unsigned char raw[REFRESH_RAW_BYTES],
        *sec = raw + USER_ID_BYTES + SESSION_ID_BYTES;
    int rc = SG_ECRYPTO;

    if (secret)
        memcpy(sec, secret, REFRESH_SECRET_BYTES);
    if (sg_hex_decode(uid, USER_ID_BYTES, raw) &&
        sg_hex_decode(sid, SESSION_ID_BYTES, raw + USER_ID_BYTES) &&
        (secret || sg_random_bytes(sec, REFRESH_SECRET_BYTES) == SG_OK) &&
        sg_base64url_encode(raw, sizeof(raw), out, outlen) == SG_OK)
        rc = sg_sha256_hex(out, strlen(out), hash);
    sg_wipe(raw, sizeof(raw));
    return rc;
}

/* The reuse grace (refresh.lua) gives a token's successor back to
 * whoever presents the token again soon after its rotation. Redis keeps
 * hashes only, so the successor's secret is stored XORed with a pad
 * keyed by the token it replaced: what Redis holds (that token's SHA-256
 * and the wrap) opens nothing; the token itself does. Each pad wraps
 * one secret. wrap: the secret of the token in `to` wrapped under tok,
 * as hex; unwrap: the token that wrap (under tok) holds, checked
 * against its stored hash. */
static int grace_pad(const char *tok, size_t len,
                     unsigned char pad[REFRESH_SECRET_BYTES])
{
    static const char label[] = "sessiongate refresh reuse grace v1";
    struct sg_hmac *h = sg_hmac_sha256_new(tok, len);

    if (!h)
        return SG_ENOMEM;
    sg_hmac_sha256(h, label, sizeof(label) - 1, pad);
    sg_hmac_free(h);
    return SG_OK;
}

static int wrap_successor(const char *tok, size_t len, const char *to,
                          char wrap[SG_WRAP_HEX + 1])
{
    unsigned char raw[REFRESH_RAW_BYTES], pad[REFRESH_SECRET_BYTES];
    unsigned char *sec = raw + USER_ID_BYTES + SESSION_ID_BYTES;
    size_t n = 0;
    int rc = sg_base64url_decode(to, strlen(to), raw, sizeof(raw), &n);

    if (rc == SG_OK && n != sizeof(raw))
        rc = SG_ECRYPTO;
    if (rc == SG_OK && (rc = grace_pad(tok, len, pad)) == SG_OK) {
        for (size_t i = 0; i < sizeof(pad); i++)
            sec[i] ^= pad[i];
        rc = sg_hex_encode(sec, REFRESH_SECRET_BYTES, wrap, SG_WRAP_HEX + 1);
    }
    sg_wipe(raw, sizeof(raw));
    sg_wipe(pad, sizeof(pad));
    return rc;
}

static int unwrap_successor(const char *tok, size_t len,
                            const struct sg_refresh *rf, char *out,
                            size_t outlen)
{
    unsigned char sec[REFRESH_SECRET_BYTES], pad[REFRESH_SECRET_BYTES];
    char hash[65];
    int rc = sg_hex_decode(rf->wrap, sizeof(sec), sec)
                 ? grace_pad(tok, len, pad)
                 : SG_ECRYPTO;

    if (rc == SG_OK) {
        for (size_t i = 0; i < sizeof(sec); i++)
            sec[i] ^= pad[i];
        rc = refresh_token(rf->uid, rf->sid, sec, out, outlen, hash);
    }
    if (rc == SG_OK && !sg_ct_equal(hash, 64, rf->current_hash, 64))
        rc = SG_ECRYPTO;
    sg_wipe(sec, sizeof(sec));
    sg_wipe(pad, sizeof(pad));
    return rc;
}

/* The token pair of a sign-in or a refresh, as the data object. */
static int token_pair(struct sg_ctx *ctx, struct sg_request *req,
                      struct sg_response *res, const char *uid, const char *sid,
                      const char *roles, const char *refresh,
                      int64_t refresh_exp, json_object **out)
{
    struct sg_claims claims;
    char *access = NULL;
    json_object *d;
    int rc;

    rc = sg_token_issue(ctx->keys, ctx->cfg, uid, sid, roles,
                        req->now_ms / 1000, &access, &claims);
    if (rc != SG_OK)
        return rc == SG_ENOMEM ? rc : SG_ECRYPTO;
    if (!(d = json_object_new_object())) {
        free(access);
        return SG_ENOMEM;
    }
    json_object_object_add(d, "access_token", json_object_new_string(access));
    json_object_object_add(d, "token_type", json_object_new_string("Bearer"));
    json_object_object_add(d, "expires_in",
                           json_object_new_int64(claims.exp - claims.iat));
    json_object_object_add(d, "refresh_token", json_object_new_string(refresh));
    json_object_object_add(
        d, "refresh_expires_in",
        json_object_new_int64((refresh_exp - req->now_ms) / 1000));
    json_object_object_add(d, "session_id", json_object_new_string(sid));
    if (ctx->cfg->cookie_auth) {
        sg_cookie_set(res, ctx->cfg, req->mount, SG_COOKIE_ACCESS, access,
                      claims.exp - claims.iat);
        sg_cookie_set(res, ctx->cfg, req->mount, SG_COOKIE_REFRESH, refresh,
                      (refresh_exp - req->now_ms) / 1000);
        sg_cookie_clear_legacy(res, ctx->cfg, req);
    }
    free(access);
    sg_response_header(res, "X-Session-ID", sid);
    *out = d;
    return SG_OK;
}

static void upgrade_hash(struct sg_ctx *ctx, const struct sg_user *u,
                         const char *pw, size_t pw_len)
{
    char hash[SG_PASSWORD_HASH_SIZE];

    if (sg_password_hash(pw, pw_len, ctx->cfg->pbkdf2_iterations, hash,
                         sizeof(hash)) == SG_OK &&
        sg_store_user_set(ctx->store, u->id, "password", hash) == SG_OK)
        sg_log_info("user %s: password hash upgraded to %d iterations", u->id,
                    ctx->cfg->pbkdf2_iterations);
    sg_wipe(hash, sizeof(hash));
}

/* Record a new session for u and answer with its token pair; attempt,
 * when not NULL, is the sign-in whose failure-window entry it takes out. */
static int start_session(struct sg_ctx *ctx, struct sg_request *req,
                         struct sg_response *res, const struct sg_user *u,
                         const struct sg_signin *attempt)
{
    const struct sg_config *cfg = ctx->cfg;
    struct sg_session s = {0};
    char refresh[REFRESH_TOKEN_MAX], hash[65];
    struct sg_session_new n = {
        .uid = u->id,
        .session = &s,
        .addr = sg_client_bucket(ctx, req),
        .attempt_key = attempt ? attempt->account.key : NULL,
        .attempt = attempt ? attempt->member : NULL,
    };
    json_object *data = NULL;
    int evicted = 0, rc;

    if (sg_random_hex(s.id, sizeof(s.id), SG_SESSION_ID_LEN / 2) != SG_OK ||
        refresh_token(u->id, s.id, NULL, refresh, sizeof(refresh), hash))
        return SG_ECRYPTO;
    s.created_at = s.last_access = req->now_ms;
    s.expires_at = req->now_ms + cfg->session_lifetime * 1000;
    /* Stored, then shown by GET /sessions: ill-formed UTF-8 and controls
     * replaced, cut on a character boundary (utf8.h). REMOTE_ADDR is the
     * server's word, but it costs nothing to hold it to the same rule. */
    const char *ip = sg_client_ip(ctx, req);
    const char *ua = req->user_agent ? req->user_agent : "";
    sg_utf8_sanitize(s.ip, sizeof(s.ip), ip, strlen(ip));
    sg_utf8_sanitize(s.user_agent, sizeof(s.user_agent), ua, strlen(ua));
    n.refresh_hash = hash;
    n.refresh_exp = req->now_ms + cfg->refresh_token_ttl * 1000;
    if (n.refresh_exp > s.expires_at)
        n.refresh_exp = s.expires_at;
    n.idle_ms = cfg->session_idle_timeout * 1000;
    n.max_sessions = cfg->max_sessions_per_user;
    if ((rc = sg_store_session_create(ctx->store, &n, &evicted)) != SG_OK)
        goto out;
    if (evicted)
        sg_log_info("user %s: %d oldest session(s) ended (limit %d)", u->id,
                    evicted, cfg->max_sessions_per_user);
    sg_audit_session_end(ctx, req, SG_END_LIMIT, u->id, NULL, evicted);
    rc = token_pair(ctx, req, res, u->id, s.id, u->roles, refresh,
                    n.refresh_exp, &data);
    if (rc == SG_OK) {
        json_object_object_add(data, "user", sg_json_user(u));
        rc = sg_response_ok(res, 200, data);
    }
out:
    sg_wipe(refresh, sizeof(refresh));
    return rc;
}

/* The sign-in windows, both counted now: every attempt per IP, and per
 * account as a failure until it succeeds (start_session takes it out),
 * read with the account in one round trip (sg_store_signin). */
static int signin_reads(struct sg_ctx *ctx, struct sg_request *req,
                        const char *account, const char *email,
                        struct sg_signin *si, char *ip_key, char *account_key)
{
    const struct sg_config *cfg = ctx->cfg;

    memset(si, 0, sizeof(*si));
    si->email = email;
    si->addr = sg_client_bucket(ctx, req);
    si->now = req->now_ms;
    if (cfg->ratelimit_signin.limit &&
        sg_ratelimit_key(ctx, req, "signin", &cfg->ratelimit_signin, account,
                         NULL, NULL, ip_key) == SG_OK)
        sg_ratelimit_check(&si->ip, &cfg->ratelimit_signin, ip_key,
                           SG_LIMIT_HIT);
    if (account && cfg->ratelimit_signin_failure.limit &&
        sg_ratelimit_key(ctx, req, "signin_failure",
                         &cfg->ratelimit_signin_failure, account, NULL, NULL,
                         account_key) == SG_OK)
        sg_ratelimit_check(&si->account, &cfg->ratelimit_signin_failure,
                           account_key, SG_LIMIT_HIT);
    return sg_store_signin(ctx->store, si);
}

/* The password check, spending the same work when there is no account
 * (unknown email, or an address that is no email). SG_OK, SG_EAUTH. */
static int check_password(struct sg_ctx *ctx, const struct sg_signin *si,
                          const char *pw, size_t pw_len, bool *rehash)
{
    const int iter = ctx->cfg->pbkdf2_iterations;
    int rc;

    if (!si->found) {
        sg_password_dummy_verify(pw, pw_len, iter);
        return SG_EAUTH;
    }
    rc = sg_password_verify(pw, pw_len, si->user.password, iter, rehash);
    if (rc == SG_EINVAL)
        sg_log_error("user %s: stored password hash is unreadable",
                     si->user.id);
    return rc == SG_OK ? SG_OK : SG_EAUTH;
}

/* Sign-in answers must not tell whether an account exists, is locked, or
 * knows the client's address (docs/RATE_LIMITS.md): every attempt past
 * the per-IP window does the same Redis work (signin.lua) and the same
 * password hashing, and a locked account answers 429 unless the right
 * password comes from an address its user signed in from, which only the
 * user can do. The headers describe the window that decides. */
int sg_handle_signin(struct sg_ctx *ctx, struct sg_request *req,
                     struct sg_response *res, struct sg_auth_call *call)
{
    const char *email = NULL, *pw;
    size_t email_len = 0, pw_len, i;
    char account[SG_EMAIL_MAX + 1], norm[SG_EMAIL_MAX + 1];
    char ip_key[SG_KEY_MAX], account_key[SG_KEY_MAX];
    struct sg_signin si;
    bool rehash = false, have_account, locked;
    int rc;

    have_account = sg_request_json_string(req, "email", SG_EMAIL_MAX, &email,
                                          &email_len) == SG_OK;
    for (i = 0; have_account && i < email_len; i++)
        account[i] =
            (email[i] >= 'A' && email[i] <= 'Z') ? email[i] + 32 : email[i];
    account[have_account ? email_len : 0] = '\0';
    if (!have_account || sg_email_normalize(ctx->email, email, email_len, norm,
                                            sizeof(norm)) != SG_OK)
        norm[0] = '\0';
    rc = signin_reads(ctx, req, have_account ? account : NULL, norm, &si,
                      ip_key, account_key);
    if (rc != SG_OK)
        goto out;
    if (si.ip.key && !si.ip.allowed) {
        sg_ratelimit_headers(res, si.ip.limit, si.ip.remaining, si.ip.reset_ms);
        rc = sg_ratelimit_refuse(res, req->now_ms, si.ip.reset_ms);
        goto out;
    }
    if (!body_string(req, res, "email", 4096, &email, &email_len) ||
        !body_string(req, res, "password", 1 << 20, &pw, &pw_len)) {
        if (si.ip.key)
            sg_ratelimit_headers(res, si.ip.limit, si.ip.remaining,
                                 si.ip.reset_ms);
        goto out;
    }
    rc = check_password(ctx, &si, pw, pw_len, &rehash);
    locked = si.account.key && !si.account.allowed;
    if (locked && !(rc == SG_OK && si.known)) {
        /* a locked window is not added to: it stays bounded */
        sg_ratelimit_headers(res, si.account.limit, 0, si.account.reset_ms);
        rc = sg_ratelimit_refuse(res, req->now_ms, si.account.reset_ms);
        goto out;
    }
    if (si.ip.key)
        sg_ratelimit_headers(res, si.ip.limit, si.ip.remaining, si.ip.reset_ms);
    if (rc != SG_OK) { /* counted as a failure by signin.lua already */
        rc = sg_response_error(res, SG_API_INVALID_CREDENTIALS, NULL, NULL);
    } else {
        if (rehash)
            upgrade_hash(ctx, &si.user, pw, pw_len);
        rc = start_session(ctx, req, res, &si.user,
                           si.account.key && si.account.allowed ? &si : NULL);
    }
out:
    sg_audit_signin(ctx, req, res, &si, have_account ? account : NULL, rc);
    sg_wipe(si.user.password, sizeof(si.user.password));
    return rc;
}

/* The user and session a refresh token names, as hex ids. */
static bool parse_refresh(const char *t, size_t len, char *uid, char *sid)
{
    unsigned char raw[REFRESH_RAW_BYTES];
    size_t n = 0;
    bool ok = len == sg_base64url_len(sizeof(raw)) &&
              sg_base64url_decode(t, len, raw, sizeof(raw), &n) == SG_OK &&
              n == sizeof(raw);

    ok = ok &&
         sg_hex_encode(raw, USER_ID_BYTES, uid, SG_USER_ID_LEN + 1) == SG_OK &&
         sg_hex_encode(raw + USER_ID_BYTES, SESSION_ID_BYTES, sid,
                       SG_SESSION_ID_LEN + 1) == SG_OK;
    sg_wipe(raw, sizeof(raw));
    return ok;
}

/* The headers of the window that decided a refresh's answer, and its
 * 429 when that window is full. */
static void window_answer(struct sg_response *res, const struct sg_request *req,
                          const struct sg_limit_check *w)
{
    if (w->key && w->remaining >= 0)
        sg_ratelimit_headers(res, w->limit, w->remaining, w->reset_ms);
    if (!w->allowed)
        sg_ratelimit_refuse(res, req->now_ms, w->reset_ms);
}

/* Two windows (docs/RATE_LIMITS.md): the session's counts refreshes
 * whose token matched, inside refresh.lua, so that whoever knows a
 * session id cannot use up its budget; the client address's counts
 * tokens that matched nothing (malformed, forged, stale), so that a valid
 * token is never refused for what others at its address sent. */
int sg_handle_refresh(struct sg_ctx *ctx, struct sg_request *req,
                      struct sg_response *res, struct sg_auth_call *call)
{
    const struct sg_config *cfg = ctx->cfg;
    char uid[SG_USER_ID_LEN + 1], sid[SG_SESSION_ID_LEN + 1];
    char presented[65], hash[65], refresh[REFRESH_TOKEN_MAX];
    char wrap[SG_WRAP_HEX + 1];
    char fail_key[SG_KEY_MAX], limit_key[SG_KEY_MAX];
    struct sg_refresh rf = {.uid = uid, .sid = sid};
    json_object *data = NULL;
    const char *tok = NULL;
    size_t len = 0;
    bool from_cookie = false, valid;
    int rc, found;

    /* the body's token, else (cookie_auth) the refresh cookie */
    found = sg_request_json_string(req, "refresh_token", 4096, &tok, &len);
    if (found == SG_ENOTFOUND && cfg->cookie_auth && req->cookie &&
        (sg_cookie_find(req->cookie, sg_cookie_name(cfg, SG_COOKIE_REFRESH),
                        &tok, &len) == SG_OK ||
         (sg_cookie_legacy_refresh(cfg) &&
          sg_cookie_find(req->cookie, sg_cookie_legacy_refresh(cfg), &tok,
                         &len) == SG_OK))) {
        from_cookie = true;
        found = SG_OK;
    }
    valid = found == SG_OK && parse_refresh(tok, len, uid, sid);
    /* two refresh cookies: one may be planted (see cookie.h); use none */
    if (from_cookie &&
        (sg_cookie_repeated(req->cookie,
                            sg_cookie_name(cfg, SG_COOKIE_REFRESH)) ||
         (sg_cookie_legacy_refresh(cfg) &&
          sg_cookie_repeated(req->cookie, sg_cookie_legacy_refresh(cfg)))))
        valid = false;
    if (cfg->ratelimit_refresh_failure.limit &&
        sg_ratelimit_key(ctx, req, "refresh_failure",
                         &cfg->ratelimit_refresh_failure, NULL, NULL, NULL,
                         fail_key) == SG_OK)
        sg_ratelimit_check(&rf.fail, &cfg->ratelimit_refresh_failure, fail_key,
                           SG_LIMIT_HIT);
    if (found != SG_OK || !valid || (from_cookie && !sg_csrf_ok(cfg, req))) {
        /* no session to ask: the address's window alone (a malformed
         * token counts in it, a missing one or a CSRF failure does not) */
        if (rf.fail.key) {
            rf.fail.mode =
                found == SG_OK && !valid ? SG_LIMIT_HIT : SG_LIMIT_PEEK;
            if ((rc = sg_store_limits(ctx->store, req->now_ms, &rf.fail, 1)))
                return rc;
            window_answer(res, req, &rf.fail);
            if (!rf.fail.allowed)
                return sg_audit_refresh(ctx, req, NULL, SG_ELIMIT), SG_OK;
        }
        if (found != SG_OK)
            return body_string(req, res, "refresh_token", 4096, &tok, &len),
                   SG_OK;
        if (!valid) {
            sg_audit_refresh(ctx, req, NULL, SG_EAUTH);
            return sg_response_error(res, SG_API_UNAUTHORIZED,
                                     "The refresh token is not valid.", NULL);
        }
        return sg_response_error(res, SG_API_FORBIDDEN,
                                 "Cookie-authenticated changes need the "
                                 "X-Sessiongate-CSRF header and a same-site "
                                 "origin.",
                                 NULL);
    }
    if (sg_sha256_hex(tok, len, presented) != SG_OK ||
        refresh_token(uid, sid, NULL, refresh, sizeof(refresh), hash) !=
            SG_OK ||
        wrap_successor(tok, len, refresh, wrap) != SG_OK) {
        sg_wipe(refresh, sizeof(refresh));
        return SG_ECRYPTO;
    }
    rf.presented_hash = presented, rf.new_hash = hash, rf.new_wrap = wrap;
    rf.grace_ms = cfg->refresh_reuse_grace_ms;
    rf.now = req->now_ms;
    rf.idle_ms = cfg->session_idle_timeout * 1000;
    rf.lifetime_ms = cfg->refresh_token_ttl * 1000;
    if (cfg->ratelimit_refresh.limit &&
        sg_ratelimit_key(ctx, req, "refresh", &cfg->ratelimit_refresh, NULL,
                         sid, uid, limit_key) == SG_OK)
        sg_ratelimit_check(&rf.limit, &cfg->ratelimit_refresh, limit_key,
                           SG_LIMIT_HIT);
    rc = sg_store_refresh(ctx->store, &rf);
    sg_audit_refresh(ctx, req, &rf, rc);
    sg_wipe(wrap, sizeof(wrap));
    if (rc == SG_OK && rf.grace) {
        /* the pair of the rotation that won: its refresh token, and a new
         * access token of the same session */
        if (unwrap_successor(tok, len, &rf, refresh, sizeof(refresh)) !=
            SG_OK) {
            sg_log_error("user %s: session %.8s...: the stored wrap of its "
                         "refresh token does not open (request %s)",
                         uid, sid, req->request_id);
            rc = SG_EAUTH;
        } else {
            sg_log_info("user %s: refresh token presented again within the "
                        "reuse grace; session %.8s... kept (request %s)",
                        uid, sid, req->request_id);
        }
    }
    if (rc == SG_ESTORE) {
        sg_wipe(refresh, sizeof(refresh));
        return rc;
    }
    /* exactly one window describes the answer */
    window_answer(res, req, rf.limit.remaining >= 0 ? &rf.limit : &rf.fail);
    if (rc == SG_EREUSED) {
        sg_log_warn("user %s: rotated refresh token reused; session %.8s... "
                    "ended (request %s)",
                    uid, sid, req->request_id);
        rc = sg_response_error(res, SG_API_REFRESH_REUSED, NULL, NULL);
    } else if (rc == SG_EAUTH) {
        rc = sg_response_error(res, SG_API_UNAUTHORIZED,
                               "The refresh token is not valid.", NULL);
    } else if (rc == SG_ELIMIT) {
        rc = SG_OK; /* window_answer wrote the 429 */
    } else if (rc == SG_OK) {
        rc = token_pair(ctx, req, res, uid, sid, rf.roles, refresh,
                        rf.refresh_exp, &data);
        if (rc == SG_OK)
            rc = sg_response_ok(res, 200, data);
    }
    sg_wipe(refresh, sizeof(refresh));
    return rc;
}
