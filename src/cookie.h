/* cookie.h -- the browser transport: token cookies and CSRF checks.
 *
 * With cookie_auth on, sign-in and refresh set the access and refresh
 * tokens as HttpOnly, SameSite=Lax, Path=/ cookies named with the
 * __Host- prefix (which requires Secure; with cookie_secure off, for
 * plain-HTTP development, the prefix is dropped with the attribute).
 *
 * A cookie is sent by the browser whoever made the page that triggered
 * the request, so a state-changing request authenticated by cookie must
 * prove it comes from this site: it must carry the custom header
 * X-Sessiongate-CSRF (a cross-site form cannot set headers, and a
 * cross-site script cannot without a CORS preflight, which sessiongate
 * never grants) and, when the browser sends Origin (or else Referer), that
 * origin must be this site's or one of allowed_origins.
 */
#ifndef SG_COOKIE_H
#define SG_COOKIE_H

#include "config.h"
#include "request.h"
#include "response.h"

enum sg_cookie { SG_COOKIE_ACCESS, SG_COOKIE_REFRESH };

const char *sg_cookie_name(const struct sg_config *cfg, enum sg_cookie which);

/* Find the value of cookie name in a Cookie header. 0 or SG_ENOTFOUND. */
int sg_cookie_find(const char *header, const char *name, const char **value,
                   size_t *len);

/* Set (max_age > 0) or clear (value "" and max_age 0) a token cookie. */
void sg_cookie_set(struct sg_response *res, const struct sg_config *cfg,
                   enum sg_cookie which, const char *value, int64_t max_age);

/* The CSRF check above. */
bool sg_csrf_ok(const struct sg_config *cfg, const struct sg_request *req);

#endif
