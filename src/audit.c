/* audit.c -- see audit.h. Each function counts first (metrics.c does
 * nothing when the counters are off), then writes its line unless audit
 * = off. A line is built in a buffer and written by one sg_log_audit()
 * call: one write(2), so lines of several workers never interleave. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "crypto.h"
#include "log.h"
#include "metrics.h"

#define SID_SHOWN   8  /* hex digits of a session id in a line */
#define EMAIL_SHOWN 16 /* hex digits of an email's SHA-256 */

static bool bare(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c && strchr("._:/@+-", c));
}

int sg_audit_field(struct sg_buf *out, const char *key, const char *value)
{
    const unsigned char *v = (const unsigned char *)value;
    size_t i;
    int rc;

    if (!value || !*value)
        value = "-", v = (const unsigned char *)value;
    for (i = 0; v[i] && bare(v[i]); i++)
        ;
    rc = sg_buf_printf(out, " %s=", key);
    if (rc == SG_OK && !v[i])
        return sg_buf_puts(out, value);
    if (rc == SG_OK)
        rc = sg_buf_append(out, "\"", 1);
    for (i = 0; rc == SG_OK && v[i]; i++) {
        if (v[i] == '"' || v[i] == '\\')
            rc = sg_buf_printf(out, "\\%c", v[i]);
        else if (v[i] < 0x20 || v[i] >= 0x7f)
            rc = sg_buf_printf(out, "\\x%02x", v[i]);
        else
            rc = sg_buf_append(out, (const char *)&v[i], 1);
    }
    return rc == SG_OK ? sg_buf_append(out, "\"", 1) : rc;
}

/* ---- a line ------------------------------------------------------------ */

struct line {
    struct sg_buf b;
    int bad; /* an append ran out of memory: the line is not written */
};

/* "event=EVENT client=ADDRESS": fixed places, for fail2ban. */
static void begin(struct line *l, struct sg_ctx *ctx, struct sg_request *req,
                  const char *event)
{
    memset(l, 0, sizeof(*l));
    l->bad |= sg_buf_puts(&l->b, "event=");
    l->bad |= sg_buf_puts(&l->b, event);
    l->bad |= sg_audit_field(&l->b, "client", sg_client_ip(ctx, req));
}

static void field(struct line *l, const char *key, const char *value)
{
    l->bad |= sg_audit_field(&l->b, key, value);
}

static void field_num(struct line *l, const char *key, long long n)
{
    char s[SG_I64_STR_MAX];

    sg_i64_str(s, n);
    field(l, key, s);
}

/* A session id as its first SID_SHOWN digits. */
static void field_sid(struct line *l, const char *sid)
{
    char shown[SID_SHOWN + 1];

    if (!sid)
        return;
    snprintf(shown, sizeof(shown), "%s", sid);
    field(l, "session", shown);
}

/* The first EMAIL_SHOWN hex digits of the SHA-256 of email. */
static void field_email(struct line *l, const char *email)
{
    char hash[65];

    if (!email || !*email || sg_sha256_hex(email, strlen(email), hash)) {
        field(l, "email_hash", NULL);
        return;
    }
    hash[EMAIL_SHOWN] = '\0';
    field(l, "email_hash", hash);
}

static void end(struct line *l, struct sg_request *req)
{
    field(l, "request", req->request_id);
    if (!l->bad)
        sg_log_audit("%s", l->b.data);
    sg_buf_free(&l->b);
}

/* ---- the events -------------------------------------------------------- */

void sg_audit_signin(struct sg_ctx *ctx, struct sg_request *req,
                     const struct sg_response *res, const struct sg_signin *si,
                     const char *account, int rc)
{
    bool by_address = si->ip.key && !si->ip.allowed;
    const char *event, *reason = NULL;
    struct line l;

    if (rc != SG_OK) {
        sg_metrics_add(SG_C_SIGNIN_ERROR, 1);
        return;
    }
    switch (res->status) {
    case 200:
        sg_metrics_add(SG_C_SIGNIN_OK, 1);
        event = "signin_success";
        break;
    case 401:
        sg_metrics_add(SG_C_SIGNIN_BAD_CREDENTIALS, 1);
        event = "signin_failure", reason = "bad_credentials";
        break;
    case 429:
        sg_metrics_add(SG_C_SIGNIN_LIMITED, 1);
        sg_metrics_limited(by_address ? "signin" : "signin_failure");
        event = "signin_locked";
        reason = by_address ? "address_limit" : "account_locked";
        break;
    default:
        return; /* a malformed request (400): no attempt was made */
    }
    if (!ctx->cfg->audit)
        return;
    begin(&l, ctx, req, event);
    field(&l, "user", si->found && !by_address ? si->user.id : NULL);
    field_email(&l, account);
    if (reason)
        field(&l, "reason", reason);
    end(&l, req);
}

void sg_audit_register(struct sg_ctx *ctx, struct sg_request *req,
                       const char *uid, const char *email)
{
    struct line l;

    sg_metrics_add(SG_C_REGISTERED, 1);
    if (!ctx->cfg->audit)
        return;
    begin(&l, ctx, req, "register");
    field(&l, "user", uid);
    field_email(&l, email);
    end(&l, req);
}

void sg_audit_refresh(struct sg_ctx *ctx, struct sg_request *req,
                      const struct sg_refresh *rf, int rc)
{
    struct line l;

    switch (rc) {
    case SG_OK:
        sg_metrics_add(
            rf && rf->grace ? SG_C_REFRESH_GRACE : SG_C_REFRESH_ROTATED, 1);
        return;
    case SG_EAUTH:
        sg_metrics_add(SG_C_REFRESH_INVALID, 1);
        return;
    case SG_ELIMIT:
        sg_metrics_add(SG_C_REFRESH_LIMITED, 1);
        sg_metrics_limited(rf && rf->limit.key && !rf->limit.allowed
                               ? "refresh"
                               : "refresh_failure");
        return;
    case SG_EREUSED:
        break;
    default:
        sg_metrics_add(SG_C_REFRESH_ERROR, 1);
        return;
    }
    sg_metrics_add(SG_C_REFRESH_REUSED, 1);
    sg_metrics_add(SG_C_ENDED_REUSE, 1);
    if (!ctx->cfg->audit || !rf)
        return;
    begin(&l, ctx, req, "refresh_reuse");
    field(&l, "user", rf->uid);
    field_sid(&l, rf->sid);
    field(&l, "reason", "session_ended");
    end(&l, req);
}

void sg_audit_session_end(struct sg_ctx *ctx, struct sg_request *req,
                          enum sg_end_reason reason, const char *uid,
                          const char *sid, long long n)
{
    static const struct {
        enum sg_counter counter;
        const char *reason;
    } reasons[] = {
        [SG_END_SIGNOUT] = {SG_C_ENDED_SIGNOUT, NULL},
        [SG_END_USER] = {SG_C_ENDED_USER, "user"},
        [SG_END_ADMIN] = {SG_C_ENDED_ADMIN, "admin"},
        [SG_END_LIMIT] = {SG_C_ENDED_LIMIT, "limit"},
    };
    struct line l;

    if (n <= 0 || (unsigned)reason >= SG_ARRAY_LEN(reasons))
        return;
    sg_metrics_add(reasons[reason].counter, (uint64_t)n);
    if (!ctx->cfg->audit)
        return;
    begin(&l, ctx, req, reason == SG_END_SIGNOUT ? "signout" : "session_ended");
    field(&l, "user", uid);
    field_sid(&l, sid);
    if (reasons[reason].reason) {
        field(&l, "reason", reasons[reason].reason);
        field_num(&l, "count", n);
    }
    if (reason == SG_END_ADMIN && req->claims)
        field(&l, "by", req->claims->sub);
    end(&l, req);
}

void sg_audit_admin(struct sg_ctx *ctx, struct sg_request *req,
                    const char *action, const char *target_uid)
{
    struct line l;

    if (!ctx->cfg->audit)
        return;
    begin(&l, ctx, req, "admin_action");
    field(&l, "user", req->claims ? req->claims->sub : NULL);
    field(&l, "action", action);
    field(&l, "target", target_uid);
    end(&l, req);
}
