/* handle_auth.c -- POST /auth/signout, GET /auth/verify, GET /auth/me,
 * GET /.well-known/jwks.json.
 *
 * app.c authenticates each of them and runs its store call before the
 * handler (see router.h), so these only render. /auth/verify
 * is the target of nginx auth_request: besides its JSON it puts the
 * identity in X-User-ID, X-Session-ID and X-User-Roles for
 * auth_request_set.
 */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cookie.h"
#include "handlers.h"
#include "json.h"
#include "log.h"

int sg_handle_signout(struct sg_ctx *ctx, struct sg_request *req,
                      struct sg_response *res, struct sg_auth_call *c)
{
    json_object *data;

    sg_audit_session_end(ctx, req, SG_END_SIGNOUT, c->uid, c->sid, 1);
    if (ctx->cfg->cookie_auth) {
        sg_cookie_set(res, ctx->cfg, req->mount, SG_COOKIE_ACCESS, "", 0);
        sg_cookie_set(res, ctx->cfg, req->mount, SG_COOKIE_REFRESH, "", 0);
        sg_cookie_clear_legacy(res, ctx->cfg, req);
    }
    if (!(data = json_object_new_object()))
        return SG_ENOMEM;
    json_object_object_add(data, "signed_out", json_object_new_boolean(1));
    json_object_object_add(data, "session_id",
                           json_object_new_string(req->claims->sid));
    return sg_response_ok(res, 200, data);
}

/* {"user_id","session_id","roles","expires_at"}, written without a json-c
 * tree: this answers every request nginx or an authorizer protects. */
static int verify_body(struct sg_response *res, const struct sg_claims *cl)
{
    struct sg_buf *b = &res->body;
    char exp[SG_TIME_RFC3339_MAX];
    bool bad; /* any append ran out of memory */

    sg_time_rfc3339(exp, cl->exp * 1000);
    bad = sg_response_ok_begin(res, 200) != SG_OK;
    bad |= sg_buf_puts(b, "{\"user_id\":") != SG_OK;
    bad |= sg_json_put_string(b, cl->sub, strlen(cl->sub)) != SG_OK;
    bad |= sg_buf_puts(b, ",\"session_id\":") != SG_OK;
    bad |= sg_json_put_string(b, cl->sid, strlen(cl->sid)) != SG_OK;
    bad |= sg_buf_puts(b, ",\"roles\":") != SG_OK;
    bad |= sg_json_put_roles(b, cl->roles) != SG_OK;
    bad |= sg_buf_puts(b, ",\"expires_at\":") != SG_OK;
    bad |= sg_json_put_string(b, exp, strlen(exp)) != SG_OK;
    bad |= sg_buf_append(b, "}", 1) != SG_OK;
    return sg_response_ok_end(res, bad ? SG_ENOMEM : SG_OK);
}

int sg_handle_verify(struct sg_ctx *ctx, struct sg_request *req,
                     struct sg_response *res, struct sg_auth_call *c)
{
    const struct sg_claims *cl = req->claims;

    sg_response_header(res, "X-User-ID", cl->sub);
    sg_response_header(res, "X-User-Roles", cl->roles);
    if (req->authorizer) {
        /* FastCGI 6.3: Variable-NAME headers become the protected
         * application's environment; the body is not sent on */
        sg_response_header(res, "Variable-USER_ID", cl->sub);
        sg_response_header(res, "Variable-SESSION_ID", cl->sid);
        sg_response_header(res, "Variable-USER_ROLES", cl->roles);
    }
    return verify_body(res, cl);
}

int sg_handle_me(struct sg_ctx *ctx, struct sg_request *req,
                 struct sg_response *res, struct sg_auth_call *c)
{
    json_object *data;

    if (!(data = json_object_new_object()))
        return SG_ENOMEM;
    json_object_object_add(data, "user", sg_json_user(&c->user));
    return sg_response_ok(res, 200, data);
}

/* JWKS consumers read "keys" at the top level (RFC 7517 section 5), and
 * API clients read the envelope: the document carries both, which RFC
 * 7517 allows (members a consumer does not understand are ignored). */
int sg_handle_jwks(struct sg_ctx *ctx, struct sg_request *req,
                   struct sg_response *res, struct sg_auth_call *c)
{
    json_object *root, *keys = NULL, *data;
    char *text = NULL;
    int rc;

    if ((rc = sg_token_jwks(ctx->keys, &text)) != SG_OK)
        return rc;
    root = json_tokener_parse(text);
    free(text);
    if (!root || !json_object_object_get_ex(root, "keys", &keys) ||
        !(data = json_object_new_object())) {
        json_object_put(root);
        return SG_ENOMEM;
    }
    json_object_object_add(data, "keys", json_object_get(keys));
    json_object_object_add(root, "success", json_object_new_boolean(1));
    json_object_object_add(root, "data", data);
    return sg_response_json(res, 200, root);
}
