/* audit.h -- the security events: each is counted (metrics.h) and, when
 * an operator wants a trail of it, written as one "audit:" line.
 *
 * Handlers call these where the event happens, one call each; this file
 * alone decides which counter an outcome is and what its line says. A
 * line reads
 *
 *   2026-12-04T10:00:00Z sessiongate[123] audit: event=signin_failure
 *     client=192.0.2.1 user=- email_hash=5d41402abc4b2a76
 *     reason=bad_credentials request=3f2a...
 *
 * (one line): event first, client second, then the event's fields,
 * request last, so a filter anchored on "event=X client=" can never be
 * fooled by a later value. Values are bare when they are made of
 * [A-Za-z0-9._:/@+-] only, else quoted with \" \\ and \xHH escapes, so no
 * input can start a line or a field. Never a password, token, session
 * secret or email: an email tried is logged as email_hash, the first 16
 * hex digits of the SHA-256 of it lower-cased (the hash its per-account
 * rate-limit key holds), session ids as their first 8 hex digits, as
 * the rest of the log does. Lines are written whatever log_level says,
 * unless audit = off (docs/OPERATIONS.md).
 */
#ifndef SG_AUDIT_H
#define SG_AUDIT_H

#include "buf.h"
#include "ctx.h"
#include "request.h"
#include "response.h"

/* A sign-in has been answered (res): the outcome is read from rc (an
 * error the app will answer), the status and the windows in si; account
 * is the email tried, lower-cased (NULL when the body had none). */
void sg_audit_signin(struct sg_ctx *ctx, struct sg_request *req,
                     const struct sg_response *res, const struct sg_signin *si,
                     const char *account, int rc);

/* An account was registered; email is its normalised address. */
void sg_audit_register(struct sg_ctx *ctx, struct sg_request *req,
                       const char *uid, const char *email);

/* A refresh token was judged: rf the store call (NULL when the token named
 * no session and no store call was made) and rc its result (sg_store_refresh,
 * or SG_EAUTH / SG_ELIMIT for a token refused before it). */
void sg_audit_refresh(struct sg_ctx *ctx, struct sg_request *req,
                      const struct sg_refresh *rf, int rc);

enum sg_end_reason {
    SG_END_SIGNOUT, /* the session's own sign-out */
    SG_END_USER,    /* DELETE /sessions[/{id}] by its user */
    SG_END_ADMIN,   /* DELETE /admin/users/{id}/sessions */
    SG_END_LIMIT,   /* the oldest, past max_sessions_per_user */
};

/* n sessions of user uid ended for reason (sid: the one, or NULL for
 * several); by is the caller's user id when an admin did it. */
void sg_audit_session_end(struct sg_ctx *ctx, struct sg_request *req,
                          enum sg_end_reason reason, const char *uid,
                          const char *sid, long long n);

/* An admin read another user's data (action: "list_sessions"). */
void sg_audit_admin(struct sg_ctx *ctx, struct sg_request *req,
                    const char *action, const char *target_uid);

/* Append " key=value" to out, the value escaped as described above ("-"
 * for NULL or empty). For the lines, and the tests. */
SG_MUST_CHECK int sg_audit_field(struct sg_buf *out, const char *key,
                                 const char *value);

#endif
