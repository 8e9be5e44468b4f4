/* Unit tests for the browser side of the handlers (cookie_auth = on)
 * through the whole pipeline, against the fake store: the token cookies
 * sign-in and refresh set, the CSRF rule for cookie-authenticated
 * changes and cookie refreshes, a planted second refresh cookie, and
 * sign-out clearing the cookies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tap.h"

#define PW "correct horse battery"

static bool has(const char *where, const char *what)
{
    return where && strstr(where, what);
}

/* "Set-Cookie: NAME=VALUE;" among the last answer's headers. */
static bool sets_cookie(struct harness *h, const char *name, const char *value)
{
    char line[1200];

    snprintf(line, sizeof(line), "Set-Cookie: %s=%s;", name, value);
    return has(h->res.headers.data, line);
}

int main(void)
{
    struct harness *h = harness_new("cookie_auth = on\n");
    struct tokens t, r;
    char access[1100], refresh[400], both[600];
    const char *with_access[] = {"HTTP_COOKIE", access, NULL};
    const char *with_access_csrf[] = {"HTTP_COOKIE", access,
                                      "HTTP_X_SESSIONGATE_CSRF", "1", NULL};
    const char *refresh_csrf[] = {"HTTP_COOKIE", refresh,
                                  "HTTP_X_SESSIONGATE_CSRF", "1", NULL};
    const char *refresh_no_csrf[] = {"HTTP_COOKIE", refresh, NULL};
    const char *refresh_other_site[] = {
        "HTTP_COOKIE", refresh,       "HTTP_X_SESSIONGATE_CSRF",
        "1",           "HTTP_ORIGIN", "https://evil.example",
        "HTTP_HOST",   "sg.example",  "HTTPS",
        "on",          NULL};
    const char *refresh_same_site[] = {
        "HTTP_COOKIE", refresh,       "HTTP_X_SESSIONGATE_CSRF",
        "1",           "HTTP_ORIGIN", "https://sg.example",
        "HTTP_HOST",   "sg.example",  "HTTPS",
        "on",          NULL};
    const char *two_refresh[] = {"HTTP_COOKIE", both, "HTTP_X_SESSIONGATE_CSRF",
                                 "1", NULL};

    TAP_OK(h != NULL, "harness");
    if (!h)
        return tap_done();
    harness_register(h, "ria@example.com", PW, NULL);
    TAP_IS_INT(harness_signin(h, "ria@example.com", PW, &t), 200, "ria in");
    TAP_OK(sets_cookie(h, "__Host-sg_access", t.access),
           "sign-in sets the access cookie");
    TAP_OK(sets_cookie(h, "__Secure-sg_refresh", t.refresh),
           "and the refresh cookie");
    TAP_OK(has(h->res.headers.data, "Path=/auth/refresh") &&
               has(h->res.headers.data, "HttpOnly") &&
               has(h->res.headers.data, "Secure") &&
               has(h->res.headers.data, "SameSite=Lax"),
           "the refresh cookie goes only to /auth/refresh, HttpOnly, Secure");

    snprintf(access, sizeof(access), "__Host-sg_access=%s", t.access);
    snprintf(refresh, sizeof(refresh), "__Secure-sg_refresh=%s", t.refresh);
    TAP_IS_INT(harness_call_env(h, "GET", "/auth/me", NULL, NULL, with_access),
               200, "GET by the access cookie: 200");
    TAP_IS_INT(
        harness_call_env(h, "DELETE", "/sessions", NULL, NULL, with_access),
        403, "DELETE by cookie without the CSRF header: 403");
    TAP_IS_STR(harness_code(h), "FORBIDDEN", "FORBIDDEN");
    TAP_IS_INT(harness_call_env(h, "DELETE", "/sessions", NULL, NULL,
                                with_access_csrf),
               200, "with the header: 200");

    TAP_IS_INT(harness_call_env(h, "POST", "/auth/refresh", NULL, NULL,
                                refresh_no_csrf),
               403, "refresh by cookie without the CSRF header: 403");
    TAP_IS_INT(harness_call_env(h, "POST", "/auth/refresh", NULL, NULL,
                                refresh_other_site),
               403, "from another site's origin: 403");
    TAP_OK(fake_store_session_live(h->store, t.uid, t.sid, h->now),
           "the session untouched");
    TAP_IS_INT(harness_call_env(h, "POST", "/auth/refresh", NULL, NULL,
                                refresh_same_site),
               200, "from this site: 200");
    r = t;
    snprintf(r.refresh, sizeof(r.refresh), "%s",
             harness_str(h, "data.refresh_token"));
    TAP_OK(strcmp(r.refresh, t.refresh) != 0, "rotated");
    TAP_OK(sets_cookie(h, "__Secure-sg_refresh", r.refresh),
           "the new refresh token in its cookie");
    snprintf(refresh, sizeof(refresh), "__Secure-sg_refresh=%s", r.refresh);
    TAP_IS_INT(
        harness_call_env(h, "POST", "/auth/refresh", NULL, "{}", refresh_csrf),
        200, "an empty object uses the cookie too");
    snprintf(r.refresh, sizeof(r.refresh), "%s",
             harness_str(h, "data.refresh_token"));

    /* a sibling subdomain may plant a second refresh cookie */
    snprintf(both, sizeof(both),
             "__Secure-sg_refresh=%s; __Secure-sg_refresh=%s", r.refresh,
             r.refresh);
    TAP_IS_INT(
        harness_call_env(h, "POST", "/auth/refresh", NULL, NULL, two_refresh),
        401, "two refresh cookies: neither is used, 401");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Remaining"), "29",
               "counted as a token that matched nothing");
    TAP_OK(fake_store_session_live(h->store, t.uid, t.sid, h->now),
           "and the session is not ended");

    TAP_IS_INT(harness_call_env(h, "POST", "/auth/signout", NULL, NULL,
                                with_access_csrf),
               200, "sign-out by cookie: 200");
    TAP_OK(has(h->res.headers.data, "Set-Cookie: __Host-sg_access=;") &&
               has(h->res.headers.data, "Set-Cookie: __Secure-sg_refresh=;") &&
               has(h->res.headers.data, "Max-Age=0"),
           "sign-out clears both cookies");
    TAP_IS_INT(harness_call_env(h, "GET", "/auth/me", NULL, NULL, with_access),
               401, "signed out: the cookie's token 401");
    harness_free(h);
    return tap_done();
}
