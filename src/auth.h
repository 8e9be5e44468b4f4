/* auth.h -- authenticating a request: the bearer token, then one store
 * call that checks revocation and the session and does the route's work.
 *
 * sg_app_handle() runs both for every route whose row asks for a token
 * (router.h), before the handler: the verified claims are left in
 * req->claims and the store call's results in the call the handler gets.
 * That call is the request's only Redis round trip.
 */
#ifndef SG_AUTH_H
#define SG_AUTH_H

#include "ctx.h"
#include "request.h"
#include "response.h"

/* Find the access token: "Authorization: Bearer TOKEN", else (with
 * cookie_auth on) the access cookie, which sets *from_cookie. 0 and the
 * token, or SG_EAUTH when there is none. */
int sg_auth_token(const struct sg_config *cfg, const struct sg_request *req,
                  const char **token, size_t *len, bool *from_cookie);

/* Verify the request's token (signature, algorithm, claims) into out and
 * note in req whether it came from a cookie. SG_EAUTH when missing or
 * invalid. No Redis. */
int sg_auth_verify_token(struct sg_ctx *ctx, struct sg_request *req,
                         struct sg_claims *out);

/* Run op for the authenticated request, c's operation-specific fields
 * already set, counting the request in limit's window (NULL: none).
 * Fills the common fields, adds X-Session-ID and the rate limit headers,
 * and on any outcome but success writes the error answer (401, 403, 404,
 * 429, 503) and returns false. */
bool sg_auth_run(struct sg_ctx *ctx, struct sg_request *req,
                 struct sg_response *res, enum sg_auth_op op,
                 const struct sg_rate_policy *limit, struct sg_auth_call *c);

#endif
