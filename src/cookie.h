/* cookie.h -- the browser transport: token cookies and CSRF checks.
 *
 * With cookie_auth on, sign-in and refresh set the access and refresh
 * tokens as HttpOnly, SameSite=Lax cookies: the access token with
 * Path=/ (protected locations anywhere on the site read it) and the
 * __Host- prefix, the refresh token with Path=MOUNT/auth/refresh (no
 * other location, and no protected application, ever receives it) and
 * the __Secure- prefix (__Host- requires Path=/). Both prefixes require
 * Secure; with cookie_secure off, for plain-HTTP development, they are
 * dropped with the attribute.
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

/* The refresh cookie's name before it was scoped to its route
 * (__Host-sg_refresh, Path=/), still read so that signed-in browsers keep
 * their session across the upgrade; NULL without cookie_secure. */
const char *sg_cookie_legacy_refresh(const struct sg_config *cfg);

/* Find the value of cookie name in a Cookie header. 0 or SG_ENOTFOUND. */
int sg_cookie_find(const char *header, const char *name, const char **value,
                   size_t *len);

/* Whether the Cookie header holds name more than once: a sibling
 * subdomain can plant a __Secure- cookie with a Domain attribute beside
 * ours (only __Host- forbids it), and which one comes first is not ours
 * to choose. */
bool sg_cookie_repeated(const char *header, const char *name);

/* Set (max_age > 0) or clear (value "" and max_age 0) a token cookie.
 * mount is where the API is mounted (the refresh cookie's Path is
 * MOUNT/auth/refresh); NULL or "" for the site root. */
void sg_cookie_set(struct sg_response *res, const struct sg_config *cfg,
                   const char *mount, enum sg_cookie which, const char *value,
                   int64_t max_age);

/* Clear the legacy refresh cookie if the request carries it. */
void sg_cookie_clear_legacy(struct sg_response *res,
                            const struct sg_config *cfg,
                            const struct sg_request *req);

/* The CSRF check above. */
bool sg_csrf_ok(const struct sg_config *cfg, const struct sg_request *req);

#endif
