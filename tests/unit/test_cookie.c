/* Unit tests for cookie.c: finding cookies, Set-Cookie, the CSRF rule. */
#include <string.h>

#include "config.h"
#include "cookie.h"
#include "tap.h"

int main(void)
{
    struct sg_config *cfg = sg_config_new_default();
    struct sg_request req = {0};
    struct sg_response res;
    const char *v;
    size_t n;

    TAP_IS_INT(sg_cookie_find("a=1; __Host-sg_access=tok; b=2",
                              "__Host-sg_access", &v, &n),
               SG_OK, "cookie found");
    TAP_OK(n == 3 && !memcmp(v, "tok", 3), "cookie value");
    TAP_IS_INT(
        sg_cookie_find("x__Host-sg_access=evil", "__Host-sg_access", &v, &n),
        SG_ENOTFOUND, "suffix of another name is not it");
    TAP_IS_INT(sg_cookie_find("a=1", "b", &v, &n), SG_ENOTFOUND, "absent");
    TAP_IS_INT(sg_cookie_find("", "b", &v, &n), SG_ENOTFOUND, "empty");
    TAP_OK(!sg_cookie_repeated("a=1; __Secure-sg_refresh=x", "__Secure-sg_refresh"),
           "one refresh cookie");
    TAP_OK(sg_cookie_repeated("__Secure-sg_refresh=x; a=1; __Secure-sg_refresh=y",
                              "__Secure-sg_refresh"),
           "a second one (planted from a sibling domain) is seen");
    TAP_OK(!sg_cookie_repeated("x__Secure-sg_refresh=y; __Secure-sg_refresh=x",
                               "__Secure-sg_refresh"),
           "a longer name is not a repeat");
    TAP_OK(!sg_cookie_repeated(NULL, "a"), "no header");

    TAP_IS_STR(sg_cookie_name(cfg, SG_COOKIE_ACCESS), "__Host-sg_access",
               "secure name");
    sg_response_init(&res);
    sg_cookie_set(&res, cfg, "/api/v1", SG_COOKIE_REFRESH, "r", 60);
    TAP_IS_STR(res.headers.data,
               "Set-Cookie: __Secure-sg_refresh=r; Path=/api/v1/auth/refresh; "
               "Max-Age=60; HttpOnly; Secure; SameSite=Lax\r\n",
               "refresh cookie: only its route receives it");
    sg_response_reset(&res);
    sg_cookie_set(&res, cfg, "/api/v1", SG_COOKIE_ACCESS, "a", 60);
    TAP_IS_STR(res.headers.data,
               "Set-Cookie: __Host-sg_access=a; Path=/; Max-Age=60; "
               "HttpOnly; Secure; SameSite=Lax\r\n",
               "access cookie: the whole site");
    sg_response_reset(&res);
    sg_cookie_set(&res, cfg, NULL, SG_COOKIE_REFRESH, "", 0);
    TAP_OK(strstr(res.headers.data, "Path=/auth/refresh; Max-Age=0;") != NULL,
           "no mount: the route under /");
    sg_response_reset(&res);
    sg_cookie_set(&res, cfg, "/a;b", SG_COOKIE_REFRESH, "x", 60);
    TAP_IS_STR(res.headers.data ? res.headers.data : "", "",
               "a mount that cannot stand in the attribute: no refresh "
               "cookie, rather than one outside the mount");
    sg_response_reset(&res);
    req.cookie = "__Host-sg_refresh=old";
    sg_cookie_clear_legacy(&res, cfg, &req);
    TAP_IS_STR(res.headers.data,
               "Set-Cookie: __Host-sg_refresh=; Path=/; Max-Age=0; HttpOnly; "
               "Secure; SameSite=Lax\r\n",
               "the pre-scope refresh cookie is cleared");
    req.cookie = NULL;
    cfg->cookie_secure = false;
    TAP_IS_STR(sg_cookie_name(cfg, SG_COOKIE_ACCESS), "sg_access",
               "no __Host- without Secure");
    sg_response_free(&res);

    req.scheme = "https", req.host = "app.example";
    TAP_OK(!sg_csrf_ok(cfg, &req), "no header: refused");
    req.csrf_header = "1";
    TAP_OK(sg_csrf_ok(cfg, &req), "header, no origin: allowed");
    req.origin = "https://app.example";
    TAP_OK(sg_csrf_ok(cfg, &req), "same origin");
    req.origin = "http://app.example";
    TAP_OK(!sg_csrf_ok(cfg, &req), "other scheme refused");
    req.origin = "https://evil.example";
    TAP_OK(!sg_csrf_ok(cfg, &req), "foreign origin refused");
    req.origin = "null";
    TAP_OK(!sg_csrf_ok(cfg, &req), "opaque origin refused");
    req.origin = NULL, req.referer = "https://app.example/page?x";
    TAP_OK(sg_csrf_ok(cfg, &req), "same-site referer");
    req.referer = "https://app.example.evil/";
    TAP_OK(!sg_csrf_ok(cfg, &req), "look-alike referer refused");
    req.referer = NULL, req.origin = "https://admin.example";
    cfg->allowed_origins = strdup("https://x.example, https://admin.example");
    TAP_OK(sg_csrf_ok(cfg, &req), "allowed origin");
    sg_config_free(cfg);
    return tap_done();
}
