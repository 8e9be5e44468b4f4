/* Unit tests for handle_account.c and handle_auth.c through the whole
 * pipeline (router, auth.c, the handlers), against the in-memory store of
 * fake_store.c at a fixed clock: registration, sign-in and its limits,
 * refresh rotation, reuse and grace, sign-out, verify, me, and the
 * store's outage. tests/integration/ runs the same against Redis. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "harness.h"
#include "tap.h"

#define PW "correct horse battery"

static bool has(const char *where, const char *what)
{
    return where && strstr(where, what);
}

static bool is_hex(const char *s, size_t len)
{
    return s && strlen(s) == len && sg_is_hex(s, len);
}

/* What a client sees of a refusal, values that move left out: status,
 * body, and the names of the headers with the limit and Retry-After. */
static void answer_shape(struct harness *h, char *out, size_t cap)
{
    const char *hd = h->res.headers.data ? h->res.headers.data : "";
    size_t n = (size_t)snprintf(out, cap, "%d|%s|%s|%s|", h->res.status,
                                h->res.body.data,
                                harness_header(h, "X-RateLimit-Limit"),
                                harness_header(h, "Retry-After"));

    for (const char *end; n < cap - 1 && (end = strstr(hd, "\r\n"));
         hd = end + 2)
        n += (size_t)snprintf(out + n, cap - n, "%.*s,", (int)strcspn(hd, ":"),
                              hd);
}

static void test_register(struct harness *h)
{
    char uid[SG_USER_ID_LEN + 1];

    TAP_IS_INT(harness_register(h, "Ann@Example.COM", PW, uid), 201,
               "register: 201");
    TAP_OK(is_hex(uid, SG_USER_ID_LEN), "register: a 128-bit hex id");
    TAP_IS_STR(harness_str(h, "data.user.email"), "ann@example.com",
               "register: email lowercased");
    TAP_IS_STR(harness_str(h, "data.user.roles.0"), "user",
               "register: role user");
    TAP_OK(!has(h->res.body.data, "password") &&
               !has(h->res.body.data, "pbkdf2"),
           "register: no password hash in the answer");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Limit"), "20",
               "register: its window's headers");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Remaining"), "19",
               "register: one counted");

    TAP_IS_INT(harness_register(h, "ann@example.com", "another password", NULL),
               409, "register again: 409");
    TAP_IS_STR(harness_code(h), "EMAIL_TAKEN", "EMAIL_TAKEN");
    TAP_IS_INT(harness_register(h, "ANN@example.com", PW, NULL), 409,
               "emails compare case-insensitively");
    TAP_IS_INT(harness_register(h, "not an email", PW, NULL), 422,
               "register: bad email 422");
    TAP_IS_STR(harness_code(h), "INVALID_EMAIL", "INVALID_EMAIL");
    TAP_IS_INT(harness_register(h, "bob@example.com", "short", NULL), 422,
               "register: short password 422");
    TAP_IS_STR(harness_code(h), "WEAK_PASSWORD", "WEAK_PASSWORD");
    TAP_IS_INT(harness_call(h, "POST", "/auth/register", NULL,
                            "{\"email\":\"bob@example.com\"}"),
               400, "register: no password 400");
    TAP_IS_STR(harness_code(h), "BAD_REQUEST", "BAD_REQUEST");
    TAP_IS_STR(harness_str(h, "error.message"),
               "The field \"password\" is required.", "names the field");
    TAP_IS_INT(harness_call(h, "POST", "/auth/register", NULL,
                            "{\"email\":\"bob@example.com\",\"password\":"
                            "\"" PW "\",\"name\":\"a\\u0007b\"}"),
               400, "register: a control character in name 400");
    TAP_IS_INT(harness_call(h, "POST", "/auth/register", NULL,
                            "{\"email\":\"bob@example.com\",\"password\":1}"),
               400, "register: password not a string 400");
    TAP_IS_INT(harness_call(h, "POST", "/auth/register", NULL,
                            "{\"email\":\"bob@example.com\",\"password\":"
                            "\"" PW "\",\"name\":\"Bob\"}"),
               201, "register with a name");
    TAP_IS_STR(harness_str(h, "data.user.name"), "Bob", "name kept");

    h->cfg->registration_open = false;
    TAP_IS_INT(harness_register(h, "carl@example.com", PW, NULL), 403,
               "registration closed: 403");
    TAP_IS_STR(harness_code(h), "REGISTRATION_CLOSED", "REGISTRATION_CLOSED");
    h->cfg->registration_open = true;

    h->cfg->ratelimit_register.limit = 1; /* fewer than counted above */
    TAP_IS_INT(harness_register(h, "dora@example.com", PW, NULL), 429,
               "register past its window: 429");
    TAP_IS_STR(harness_code(h), "RATE_LIMITED", "RATE_LIMITED");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Remaining"), "0",
               "no request left");
    TAP_IS_STR(harness_header(h, "Retry-After"), "3600",
               "Retry-After: when the oldest leaves the hour");
    h->addr = "192.0.2.77";
    TAP_IS_INT(harness_register(h, "dora@example.com", PW, NULL), 201,
               "another address has its own window");
    h->cfg->ratelimit_register.limit = 20;
}

/* Sign-in's answer, and the same work for an unknown email. */
static void test_signin(struct harness *h)
{
    struct tokens t;
    unsigned long calls;
    char wrong[2048], unknown[2048], remaining[24];

    h->addr = "192.0.2.10";
    TAP_IS_INT(harness_register(h, "eve@example.com", PW, NULL), 201,
               "eve registered");
    TAP_IS_INT(harness_signin(h, "EVE@example.com", PW, &t), 200,
               "sign-in: 200");
    TAP_IS_STR(harness_str(h, "data.token_type"), "Bearer", "token_type");
    TAP_IS_INT(harness_int(h, "data.expires_in"), 900, "expires_in 15 min");
    TAP_IS_INT(harness_int(h, "data.refresh_expires_in"), 30 * 86400,
               "refresh_expires_in 30 days");
    TAP_OK(is_hex(t.sid, SG_SESSION_ID_LEN), "a session id");
    TAP_IS_INT(strlen(t.refresh), 107, "an opaque 107-character refresh token");
    TAP_IS_STR(harness_header(h, "X-Session-ID"), t.sid, "X-Session-ID");
    TAP_IS_STR(harness_str(h, "data.user.email"), "eve@example.com", "user");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Limit"), "5",
               "the address's window decides");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Remaining"), "4", "one counted");
    TAP_OK(fake_store_session_live(h->store, t.uid, t.sid, h->now),
           "the session is stored");
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", t.access, NULL), 200,
               "its access token verifies");

    calls = fake_store_calls(h->store);
    TAP_IS_INT(harness_signin(h, "eve@example.com", "wrong password", NULL),
               401, "wrong password: 401");
    TAP_IS_STR(harness_code(h), "INVALID_CREDENTIALS", "INVALID_CREDENTIALS");
    TAP_IS_INT(fake_store_calls(h->store) - calls, 1,
               "wrong password: one store call");
    answer_shape(h, wrong, sizeof(wrong));
    TAP_IS_STR(harness_header(h, "X-RateLimit-Remaining"), "3",
               "wrong password: counted per address");
    calls = fake_store_calls(h->store);
    TAP_IS_INT(harness_signin(h, "nobody@example.com", "wrong password", NULL),
               401, "unknown email: 401");
    TAP_IS_INT(fake_store_calls(h->store) - calls, 1,
               "unknown email: one store call too");
    answer_shape(h, unknown, sizeof(unknown));
    TAP_IS_STR(unknown, wrong,
               "unknown email: the same body and headers as a wrong password");
    snprintf(remaining, sizeof(remaining), "%s",
             harness_header(h, "X-RateLimit-Remaining"));
    TAP_IS_STR(remaining, "2", "unknown email: counted per address too");
    TAP_IS_INT(harness_call(h, "POST", "/auth/signin", NULL,
                            "{\"email\":\"eve@example.com\"}"),
               400, "sign-in without a password: 400");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Remaining"), "1",
               "counted in the address's window all the same");
    TAP_IS_INT(harness_signin(h, "eve@example.com", PW, NULL), 200,
               "the fifth attempt of the minute");
    TAP_IS_INT(harness_signin(h, "eve@example.com", PW, NULL), 429,
               "the sixth: 429");
    TAP_IS_STR(harness_code(h), "RATE_LIMITED", "RATE_LIMITED");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Limit"), "5", "limit 5");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Remaining"), "0", "remaining 0");
    TAP_IS_STR(harness_header(h, "Retry-After"), "60", "Retry-After 60");
    {
        char reset[32];
        snprintf(reset, sizeof(reset), "%lld", HARNESS_EPOCH_MS / 1000 + 60);
        TAP_IS_STR(harness_header(h, "X-RateLimit-Reset"), reset,
                   "Reset: when the oldest attempt leaves the window");
    }
    h->addr = "192.0.2.11";
    TAP_IS_INT(harness_signin(h, "nobody@example.com", "wrong", NULL), 401,
               "another address is not limited");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Remaining"), "4",
               "it has a window of its own");
    h->addr = "192.0.2.10";
    h->now += 60 * 1000 + 1;
    TAP_IS_INT(harness_signin(h, "nobody@example.com", "wrong", NULL), 401,
               "a minute later the address may again");
}

/* The account's failure window: a lock-out that tells nothing, except to
 * the user at an address they signed in from. */
static void test_lockout(struct harness *h)
{
    struct tokens t;
    char ghost[2048], real[2048];

    fake_store_reset(h->store);
    h->addr = "198.51.100.1";
    TAP_IS_INT(harness_register(h, "finn@example.com", PW, NULL), 201,
               "finn registered");
    TAP_IS_INT(harness_signin(h, "finn@example.com", PW, &t), 200,
               "finn signs in from his address");
    h->addr = "198.51.100.2";
    TAP_IS_INT(harness_signin(h, "finn@example.com", "guess 1", NULL), 401,
               "failure 1");
    h->addr = "198.51.100.3";
    TAP_IS_INT(harness_signin(h, "FINN@example.com", "guess 2", NULL), 401,
               "failure 2 (another address, the same account)");
    TAP_IS_INT(harness_signin(h, "finn@example.com", PW, NULL), 200,
               "the right password before the lock");
    TAP_IS_INT(harness_signin(h, "finn@example.com", "guess 3", NULL), 401,
               "a success is not counted as a failure");
    TAP_IS_INT(harness_signin(h, "finn@example.com", "guess 4", NULL), 429,
               "past 3 failures: locked, 429");
    TAP_IS_STR(harness_code(h), "RATE_LIMITED", "RATE_LIMITED");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Limit"), "3",
               "the account's window's headers");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Remaining"), "0", "nothing left");
    TAP_IS_STR(harness_header(h, "Retry-After"), "900",
               "Retry-After: the 15 minutes of the window");
    h->addr = "198.51.100.5";
    TAP_IS_INT(harness_signin(h, "finn@example.com", PW, NULL), 429,
               "locked: the right password from a new address is 429 too");
    h->addr = "198.51.100.1";
    TAP_IS_INT(harness_signin(h, "finn@example.com", "guess 5", NULL), 429,
               "locked: a wrong one from a known address is 429");
    TAP_IS_INT(harness_signin(h, "finn@example.com", PW, NULL), 200,
               "locked: the right one from a known address signs in");

    /* an email without an account locks the same way */
    h->addr = "198.51.100.4";
    for (int i = 0; i < 3; i++)
        harness_signin(h, "ghost@example.com", "guess", NULL);
    TAP_IS_INT(harness_signin(h, "ghost@example.com", PW, NULL), 429,
               "an unknown email locks out too");
    answer_shape(h, ghost, sizeof(ghost));
    TAP_IS_INT(harness_signin(h, "finn@example.com", PW, NULL), 429,
               "as the real account does");
    answer_shape(h, real, sizeof(real));
    TAP_IS_STR(ghost, real, "with the same body and headers");
    h->now += 15 * 60 * 1000 + 1;
    TAP_IS_INT(harness_signin(h, "finn@example.com", PW, NULL), 200,
               "the window passes: no lock");
}

/* Refresh: rotation, the reuse grace, reuse ending the session. */
static void test_refresh(struct harness *h)
{
    struct tokens a, b, c, g;
    char old[160], mid[160];

    fake_store_reset(h->store);
    h->addr = "203.0.113.1";
    TAP_IS_INT(harness_register(h, "gus@example.com", PW, NULL), 201,
               "gus registered");
    TAP_IS_INT(harness_signin(h, "gus@example.com", PW, &a), 200, "signed in");
    b = a;
    h->now += 1000;
    TAP_IS_INT(harness_refresh(h, a.refresh, &b), 200, "refresh: 200");
    TAP_OK(strcmp(a.refresh, b.refresh) != 0, "a new refresh token");
    TAP_OK(strcmp(a.access, b.access) != 0, "a new access token");
    TAP_IS_STR(b.sid, a.sid, "the same session");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Limit"), "30",
               "the session's window's headers");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Remaining"), "29", "one counted");
    TAP_OK(harness_str(h, "data.user") == NULL, "no user in a refresh");
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", b.access, NULL), 200,
               "the new access token verifies");

    /* within the grace, the rotated token gets the current pair */
    g = a;
    h->now += 2000;
    TAP_IS_INT(harness_refresh(h, a.refresh, &g), 200,
               "the previous token within the grace: 200");
    TAP_IS_STR(g.refresh, b.refresh, "the session's current refresh token");
    TAP_OK(strcmp(g.access, b.access) != 0, "and a new access token");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Remaining"), "28",
               "counted in the session's window");
    TAP_IS_INT(harness_refresh(h, b.refresh, &c), 200,
               "the current token still rotates");
    TAP_OK(strcmp(c.refresh, b.refresh) != 0, "to a third one");
    snprintf(old, sizeof(old), "%s", a.refresh);
    snprintf(mid, sizeof(mid), "%s", b.refresh);
    TAP_IS_INT(harness_refresh(h, old, NULL), 401,
               "the token before the previous one: reuse at once");
    TAP_IS_STR(harness_code(h), "REFRESH_REUSED", "REFRESH_REUSED");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Remaining"), "29",
               "a failure shows the address's window");
    TAP_OK(!fake_store_session_live(h->store, a.uid, a.sid, h->now),
           "reuse ends the session");
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", c.access, NULL), 401,
               "its access tokens fail at once");
    TAP_IS_INT(harness_refresh(h, c.refresh, NULL), 401,
               "its current refresh token fails");
    TAP_IS_STR(harness_code(h), "UNAUTHORIZED", "UNAUTHORIZED");
    TAP_IS_INT(harness_refresh(h, mid, NULL), 401,
               "and its previous one, the session gone");

    /* after the grace the previous token is reuse */
    TAP_IS_INT(harness_signin(h, "gus@example.com", PW, &a), 200, "again");
    b = a;
    TAP_IS_INT(harness_refresh(h, a.refresh, &b), 200, "rotated");
    h->now += h->cfg->refresh_reuse_grace_ms;
    TAP_IS_INT(harness_refresh(h, a.refresh, NULL), 401,
               "the previous token after the grace: 401");
    TAP_IS_STR(harness_code(h), "REFRESH_REUSED", "REFRESH_REUSED");
    TAP_IS_INT(harness_call(h, "GET", "/auth/me", b.access, NULL), 401,
               "the session ended");

    /* no grace at all */
    h->cfg->refresh_reuse_grace_ms = 0;
    TAP_IS_INT(harness_signin(h, "gus@example.com", PW, &a), 200, "again");
    TAP_IS_INT(harness_refresh(h, a.refresh, &b), 200, "rotated");
    TAP_IS_INT(harness_refresh(h, a.refresh, NULL), 401,
               "refresh_reuse_grace 0: reuse at once");
    TAP_IS_STR(harness_code(h), "REFRESH_REUSED", "REFRESH_REUSED");
    h->cfg->refresh_reuse_grace_ms = 10000;
}

static void test_refresh_limits(struct harness *h)
{
    struct tokens a;
    char forged[160];

    fake_store_reset(h->store);
    h->addr = "203.0.113.2";
    harness_register(h, "hal@example.com", PW, NULL);
    TAP_IS_INT(harness_refresh(h, "not-a-token", NULL), 401,
               "malformed refresh token: 401");
    TAP_IS_STR(harness_str(h, "error.message"),
               "The refresh token is not valid.", "not valid");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Remaining"), "29",
               "counted in the address's failure window");
    TAP_IS_INT(harness_call(h, "POST", "/auth/refresh", NULL, "{}"), 400,
               "no refresh token: 400");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Remaining"), "29",
               "a missing token is only looked at");

    TAP_IS_INT(harness_signin(h, "hal@example.com", PW, &a), 200, "hal in");
    /* a well-formed token of hal's session with another secret */
    snprintf(forged, sizeof(forged), "%s", a.refresh);
    forged[80] = forged[80] == 'A' ? 'B' : 'A';
    TAP_IS_INT(harness_refresh(h, forged, NULL), 401, "a forged secret: 401");
    TAP_IS_STR(harness_code(h), "UNAUTHORIZED", "UNAUTHORIZED, not reuse");
    TAP_OK(fake_store_session_live(h->store, a.uid, a.sid, h->now),
           "a forged token does not end the session");

    h->cfg->ratelimit_refresh.limit = 2;
    TAP_IS_INT(harness_refresh(h, a.refresh, &a), 200, "refresh 1");
    TAP_IS_INT(harness_refresh(h, a.refresh, &a), 200, "refresh 2");
    TAP_IS_INT(harness_refresh(h, a.refresh, NULL), 429,
               "refresh 3 past the session's window: 429");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Limit"), "2",
               "the session's window's headers");
    TAP_OK(harness_header(h, "Retry-After") != NULL, "Retry-After");
    h->now += 60 * 1000 + 1;
    TAP_IS_INT(harness_refresh(h, a.refresh, &a), 200,
               "the refused token was not rotated away");
    h->cfg->ratelimit_refresh.limit = 30;

    h->cfg->ratelimit_refresh_failure.limit = 2;
    h->addr = "203.0.113.3";
    harness_refresh(h, forged, NULL);
    harness_refresh(h, "x", NULL);
    TAP_IS_INT(harness_refresh(h, forged, NULL), 429,
               "the address's failure window full: 429");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Limit"), "2", "its headers");
    TAP_IS_INT(harness_refresh(h, a.refresh, &a), 200,
               "a valid token is never refused for others' failures");
    h->cfg->ratelimit_refresh_failure.limit = 30;

    h->cfg->refresh_token_ttl = 60;
    TAP_IS_INT(harness_signin(h, "hal@example.com", PW, &a), 200, "hal in");
    TAP_IS_INT(harness_int(h, "data.refresh_expires_in"), 60,
               "a one-minute refresh token");
    h->now += 60 * 1000;
    TAP_IS_INT(harness_refresh(h, a.refresh, NULL), 401,
               "an expired refresh token: 401");
    TAP_IS_STR(harness_code(h), "UNAUTHORIZED", "UNAUTHORIZED");
    h->cfg->refresh_token_ttl = 30 * 86400;
}

/* Sign-out, verify and me, and the per-user window. */
static void test_signed_in(struct harness *h)
{
    struct tokens t, other;

    fake_store_reset(h->store);
    h->addr = "203.0.113.4";
    harness_register(h, "ida@example.com", PW, NULL);
    TAP_IS_INT(harness_signin(h, "ida@example.com", PW, &t), 200, "ida in");
    TAP_IS_INT(harness_signin(h, "ida@example.com", PW, &other), 200,
               "and in again");
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", t.access, NULL), 200,
               "verify: 200");
    TAP_IS_STR(harness_header(h, "X-User-ID"), t.uid, "X-User-ID");
    TAP_IS_STR(harness_header(h, "X-Session-ID"), t.sid, "X-Session-ID");
    TAP_IS_STR(harness_header(h, "X-User-Roles"), "user", "X-User-Roles");
    TAP_IS_STR(harness_str(h, "data.user_id"), t.uid, "data.user_id");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Limit"), "100",
               "the user's window");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Remaining"), "99", "counted");
    TAP_IS_INT(harness_call(h, "GET", "/auth/me", t.access, NULL), 200,
               "me: 200");
    TAP_IS_STR(harness_str(h, "data.user.email"), "ida@example.com", "me");
    TAP_IS_STR(harness_str(h, "data.user.id"), t.uid, "me: id");
    TAP_OK(!has(h->res.body.data, "password") &&
               !has(h->res.body.data, "pbkdf2"),
           "me: no password hash");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Remaining"), "98",
               "one window for the user's sessions");

    TAP_IS_INT(harness_call(h, "POST", "/auth/signout", t.access, NULL), 200,
               "signout: 200");
    TAP_OK(harness_bool(h, "data.signed_out"), "signed_out");
    TAP_IS_STR(harness_str(h, "data.session_id"), t.sid, "its session");
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", t.access, NULL), 401,
               "signed out: verify 401");
    TAP_IS_STR(harness_code(h), "UNAUTHORIZED", "UNAUTHORIZED");
    TAP_OK(has(harness_header(h, "WWW-Authenticate"), "invalid_token"),
           "WWW-Authenticate");
    TAP_IS_INT(harness_refresh(h, t.refresh, NULL), 401,
               "its refresh token: 401");
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", other.access, NULL), 200,
               "the other session lives on");

    TAP_IS_INT(harness_call(h, "GET", "/auth/me", NULL, NULL), 401,
               "no token: 401");
    h->cfg->ratelimit_user.limit = 2; /* 3 counted this minute */
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", other.access, NULL), 429,
               "past the user's window: 429");
    TAP_IS_STR(harness_code(h), "RATE_LIMITED", "RATE_LIMITED");
    TAP_IS_STR(harness_header(h, "X-Session-ID"), other.sid,
               "429 names the session");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Limit"), "2", "limit 2");
    TAP_OK(harness_header(h, "Retry-After") != NULL, "Retry-After");
    h->cfg->ratelimit_user.limit = 100;

    /* the idle timeout ends a session no request touches */
    h->cfg->session_idle_timeout = 60;
    TAP_IS_INT(harness_signin(h, "ida@example.com", PW, &t), 200, "ida in");
    h->now += 50 * 1000;
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", t.access, NULL), 200,
               "used within the idle timeout");
    h->now += 50 * 1000;
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", t.access, NULL), 200,
               "each request renews it");
    h->now += 60 * 1000 + 1;
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", t.access, NULL), 401,
               "idle past the timeout: 401");
    h->cfg->session_idle_timeout = 86400;
}

/* Redis down: 503 STORE_UNAVAILABLE with Retry-After, route by route. */
static void test_store_down(struct harness *h)
{
    struct tokens t;
    static const struct {
        const char *method, *path;
        bool token;
        const char *body;
    } routes[] = {
        {"POST", "/auth/register", false,
         "{\"email\":\"kim@example.com\",\"password\":\"" PW "\"}"},
        {"POST", "/auth/signin", false,
         "{\"email\":\"jo@example.com\",\"password\":\"" PW "\"}"},
        {"POST", "/auth/refresh", false, NULL},
        {"POST", "/auth/signout", true, NULL},
        {"GET", "/auth/verify", true, NULL},
        {"GET", "/auth/me", true, NULL},
        {"GET", "/sessions", true, NULL},
        {"DELETE", "/sessions", true, NULL},
        {"GET", "/ready", false, NULL},
    };
    char body[256], name[96];

    fake_store_reset(h->store);
    h->addr = "203.0.113.5";
    harness_register(h, "jo@example.com", PW, NULL);
    TAP_IS_INT(harness_signin(h, "jo@example.com", PW, &t), 200, "jo in");
    fake_store_set_down(h->store, true);
    for (size_t i = 0; i < SG_ARRAY_LEN(routes); i++) {
        const char *b = routes[i].body;
        if (!b) {
            snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}",
                     t.refresh);
            b = strcmp(routes[i].path, "/auth/refresh") ? NULL : body;
        }
        snprintf(name, sizeof(name), "store down: %s %s 503", routes[i].method,
                 routes[i].path);
        TAP_IS_INT(harness_call(h, routes[i].method, routes[i].path,
                                routes[i].token ? t.access : NULL, b),
                   503, name);
        TAP_IS_STR(harness_code(h), "STORE_UNAVAILABLE", "STORE_UNAVAILABLE");
        TAP_IS_STR(harness_header(h, "Retry-After"), "1", "Retry-After: 1");
    }
    TAP_IS_STR(harness_str(h, "data.checks.redis"), "unavailable",
               "/ready names what failed");
    TAP_IS_INT(harness_call(h, "GET", "/health", NULL, NULL), 200,
               "/health needs no store");
    fake_store_set_down(h->store, false);
    TAP_IS_INT(harness_call(h, "GET", "/ready", NULL, NULL), 200,
               "store back: /ready 200");
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", t.access, NULL), 200,
               "store back: the session was kept");
    TAP_IS_INT(harness_refresh(h, t.refresh, NULL), 200,
               "store back: the refresh token was not rotated");
}

/* A hash of older parameters is upgraded at the next sign-in. */
static void test_rehash(struct harness *h)
{
    struct sg_user u;
    char uid[SG_USER_ID_LEN + 1];

    fake_store_reset(h->store);
    h->addr = "203.0.113.6";
    TAP_IS_INT(harness_register(h, "lou@example.com", PW, uid), 201,
               "lou registered at 1000 iterations");
    h->cfg->pbkdf2_iterations = 2000;
    TAP_IS_INT(harness_signin(h, "lou@example.com", PW, NULL), 200,
               "signs in with the old hash");
    TAP_IS_INT(sg_store_user_by_id(h->store, uid, &u), SG_OK, "lou read");
    TAP_OK(!strncmp(u.password, "pbkdf2-sha256$2000$", 19),
           "the hash was upgraded to the configured iterations");
    TAP_IS_INT(harness_signin(h, "lou@example.com", PW, NULL), 200,
               "and signs in with the new one");
    TAP_IS_INT(harness_signin(h, "lou@example.com", "wrong password", NULL),
               401, "which still refuses a wrong password");
    h->cfg->pbkdf2_iterations = 1000;
}

/* Sign-in details: a name that is no email, a session shorter than the
 * refresh token's life, JWKS. */
static void test_signin_details(struct harness *h)
{
    fake_store_reset(h->store);
    h->addr = "203.0.113.7";
    TAP_IS_INT(harness_signin(h, "no email at all", PW, NULL), 401,
               "an address that is no email: 401");
    TAP_IS_STR(harness_code(h), "INVALID_CREDENTIALS", "INVALID_CREDENTIALS");
    harness_register(h, "mia@example.com", PW, NULL);
    h->cfg->session_lifetime = 3600;
    TAP_IS_INT(harness_signin(h, "mia@example.com", PW, NULL), 200, "mia in");
    TAP_IS_INT(harness_int(h, "data.refresh_expires_in"), 3600,
               "the refresh token ends with its session");
    h->cfg->session_lifetime = 30 * 86400;
    TAP_IS_INT(harness_call(h, "GET", "/.well-known/jwks.json", NULL, NULL),
               200, "JWKS: 200");
    TAP_OK(harness_bool(h, "success"), "JWKS: in the envelope");
    TAP_OK(json_object_array_length(json_object_object_get(h->json, "keys")) ==
               0,
           "JWKS: no public key for HS256");
}

/* verify_signature_only: while the store is down, verify answers from
 * the token alone, marked; once it is back, sessions count again. */
static void test_degraded(struct harness *h)
{
    struct tokens t;

    fake_store_reset(h->store);
    h->addr = "203.0.113.8";
    harness_register(h, "ned@example.com", PW, NULL);
    TAP_IS_INT(harness_signin(h, "ned@example.com", PW, &t), 200, "ned in");
    TAP_IS_INT(harness_call(h, "POST", "/auth/signout", t.access, NULL), 200,
               "ned signs out");
    h->cfg->on_store_error = SG_VERIFY_SIGNATURE_ONLY;
    fake_store_set_down(h->store, true);
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", t.access, NULL), 200,
               "store down: the signature alone passes");
    TAP_IS_STR(harness_header(h, "X-Sessiongate-Degraded"), "signature-only",
               "marked degraded");
    TAP_IS_INT(harness_call(h, "GET", "/auth/me", t.access, NULL), 503,
               "other routes still 503");
    fake_store_set_down(h->store, false);
    TAP_IS_INT(harness_call(h, "GET", "/auth/verify", t.access, NULL), 401,
               "store back: the signed-out session is refused again");
    TAP_OK(!harness_header(h, "X-Sessiongate-Degraded"), "no longer marked");
    TAP_OK(!h->ctx->degraded, "the worker left the degraded mode");
    h->cfg->on_store_error = SG_FAIL_CLOSED;
}

int main(void)
{
    struct harness *h = harness_new(NULL);

    TAP_OK(h != NULL, "harness");
    if (!h)
        return tap_done();
    test_register(h);
    test_signin(h);
    test_lockout(h);
    test_refresh(h);
    test_refresh_limits(h);
    test_signed_in(h);
    test_store_down(h);
    test_rehash(h);
    test_signin_details(h);
    test_degraded(h);
    harness_free(h);
    return tap_done();
}
