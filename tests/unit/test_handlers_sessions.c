/* Unit tests for handle_sessions.c through the whole pipeline, against
 * the in-memory store of fake_store.c at a fixed clock: listing and
 * ending sessions, the eviction of the oldest past max_sessions_per_user,
 * and the admin routes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tap.h"

#define PW "correct horse battery"

static int verify(struct harness *h, const struct tokens *t)
{
    return harness_call(h, "GET", "/auth/verify", t->access, NULL);
}

/* uid's sessions as the admin route path names them. */
static const char *admin_path(const char *uid)
{
    static char path[128];

    snprintf(path, sizeof(path), "/admin/users/%s/sessions", uid);
    return path;
}

static const char *session_path(const char *sid)
{
    static char path[128];

    snprintf(path, sizeof(path), "/sessions/%s", sid);
    return path;
}

/* A new user signed in n times, a second apart, into t[0..n). */
static void user_with_sessions(struct harness *h, const char *email,
                               struct tokens *t, int n)
{
    char uid[SG_USER_ID_LEN + 1] = "";

    TAP_IS_INT(harness_register(h, email, PW, uid), 201, email);
    for (int i = 0; i < n; i++) {
        h->now += 1000;
        TAP_IS_INT(harness_signin(h, email, PW, &t[i]), 200, "signed in");
    }
}

static void test_list(struct harness *h)
{
    struct tokens t[2];

    fake_store_reset(h->store);
    h->addr = "192.0.2.50";
    h->user_agent = "phone/1";
    TAP_IS_INT(harness_register(h, "lea@example.com", PW, NULL), 201, "lea");
    TAP_IS_INT(harness_signin(h, "lea@example.com", PW, &t[0]), 200, "phone");
    h->now += 1000;
    h->user_agent = "laptop/2";
    TAP_IS_INT(harness_signin(h, "lea@example.com", PW, &t[1]), 200, "laptop");
    TAP_IS_INT(harness_call(h, "GET", "/sessions", t[1].access, NULL), 200,
               "GET /sessions: 200");
    TAP_IS_INT(harness_int(h, "data.count"), 2, "two sessions");
    TAP_IS_STR(harness_str(h, "data.sessions.0.id"), t[1].sid, "newest first");
    TAP_OK(harness_bool(h, "data.sessions.0.current"), "the caller's: current");
    TAP_IS_STR(harness_str(h, "data.sessions.1.id"), t[0].sid, "then older");
    TAP_OK(!harness_bool(h, "data.sessions.1.current"), "the other: not");
    TAP_IS_STR(harness_str(h, "data.sessions.1.user_agent"), "phone/1",
               "its user agent");
    TAP_IS_STR(harness_str(h, "data.sessions.1.ip_address"), "192.0.2.50",
               "its address");
    TAP_IS_INT(harness_int(h, "data.sessions.1.request_count"), 1,
               "request_count of an unused session");
    TAP_IS_INT(harness_int(h, "data.sessions.0.request_count"), 2,
               "this request counted in the caller's");
    TAP_OK(harness_str(h, "data.sessions.0.created_at") != NULL &&
               harness_str(h, "data.sessions.0.expires_at") != NULL &&
               harness_str(h, "data.sessions.0.last_access") != NULL,
           "its times");
    TAP_IS_STR(harness_header(h, "X-Session-ID"), t[1].sid, "X-Session-ID");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Limit"), "100",
               "the user's window");
    TAP_IS_INT(harness_call(h, "GET", "/sessions", t[0].access, NULL), 200,
               "from the other session");
    TAP_OK(harness_bool(h, "data.sessions.1.current") &&
               !harness_bool(h, "data.sessions.0.current"),
           "current follows the caller");
    TAP_IS_INT(harness_call(h, "GET", "/sessions", NULL, NULL), 401,
               "no token: 401");
}

static void test_end_one(struct harness *h)
{
    struct tokens t[2], other;
    const char *unknown =
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fake_store_reset(h->store);
    h->addr = "192.0.2.51";
    user_with_sessions(h, "max@example.com", t, 2);
    user_with_sessions(h, "ned@example.com", &other, 1);
    TAP_IS_INT(
        harness_call(h, "DELETE", session_path(t[0].sid), t[1].access, NULL),
        200, "DELETE /sessions/{id}: 200");
    TAP_IS_INT(harness_int(h, "data.terminated"), 1, "terminated 1");
    TAP_IS_INT(verify(h, &t[0]), 401, "its access token: 401");
    TAP_IS_INT(harness_refresh(h, t[0].refresh, NULL), 401,
               "its refresh token: 401");
    TAP_IS_INT(verify(h, &t[1]), 200, "the caller's lives on");
    TAP_IS_INT(
        harness_call(h, "DELETE", session_path(t[0].sid), t[1].access, NULL),
        404, "the ended one again: 404");
    TAP_IS_STR(harness_code(h), "NOT_FOUND", "NOT_FOUND");
    TAP_IS_INT(harness_call(h, "DELETE", session_path("zz"), t[1].access, NULL),
               404, "a malformed id: 404");
    TAP_IS_INT(
        harness_call(h, "DELETE", session_path(unknown), t[1].access, NULL),
        404, "an unknown id: 404");
    TAP_IS_INT(
        harness_call(h, "DELETE", session_path(other.sid), t[1].access, NULL),
        404, "another user's session: 404, the same answer");
    TAP_IS_INT(verify(h, &other), 200, "and it lives on");
    TAP_IS_INT(harness_call(h, "DELETE", session_path(unknown), NULL, NULL),
               401, "no token: 401 first");
    TAP_IS_INT(
        harness_call(h, "DELETE", session_path(t[1].sid), t[1].access, NULL),
        200, "the current session may end itself");
    TAP_IS_INT(verify(h, &t[1]), 401, "signed out of this device");
}

static void test_end_all(struct harness *h)
{
    struct tokens t[3];

    fake_store_reset(h->store);
    h->addr = "192.0.2.52";
    user_with_sessions(h, "ola@example.com", t, 3);
    TAP_IS_INT(harness_call(h, "DELETE", "/sessions", t[2].access, NULL), 200,
               "DELETE /sessions: 200");
    TAP_IS_INT(harness_int(h, "data.terminated"), 2,
               "every session but the current");
    TAP_IS_INT(verify(h, &t[0]), 401, "the first ended");
    TAP_IS_INT(verify(h, &t[1]), 401, "the second ended");
    TAP_IS_INT(verify(h, &t[2]), 200, "the current kept");
    TAP_IS_INT(harness_call(h, "DELETE", "/sessions", t[2].access, NULL), 200,
               "again");
    TAP_IS_INT(harness_int(h, "data.terminated"), 0, "nothing left to end");
    TAP_IS_INT(harness_call(h, "GET", "/sessions", t[2].access, NULL), 200,
               "list");
    TAP_IS_INT(harness_int(h, "data.count"), 1, "one session");
}

static void test_eviction(struct harness *h)
{
    struct tokens t[4], last;

    fake_store_reset(h->store);
    h->addr = "192.0.2.53";
    user_with_sessions(h, "pia@example.com", t, 3);
    TAP_IS_INT(fake_store_sessions(h->store, t[0].uid, h->now), 3,
               "three sessions, the maximum");
    h->now += 1000;
    TAP_IS_INT(harness_signin(h, "pia@example.com", PW, &t[3]), 200,
               "a fourth sign-in: 200");
    TAP_IS_INT(fake_store_sessions(h->store, t[0].uid, h->now), 3,
               "still three sessions");
    TAP_IS_INT(verify(h, &t[0]), 401, "the oldest was ended");
    TAP_IS_INT(harness_refresh(h, t[0].refresh, NULL), 401,
               "its refresh token too");
    TAP_IS_INT(verify(h, &t[1]), 200, "the second kept");
    TAP_IS_INT(verify(h, &t[2]), 200, "the third kept");
    TAP_IS_INT(verify(h, &t[3]), 200, "the new one works");

    /* an ended session makes room without evicting anyone */
    TAP_IS_INT(harness_call(h, "POST", "/auth/signout", t[1].access, NULL), 200,
               "one signs out");
    h->now += 1000;
    TAP_IS_INT(harness_signin(h, "pia@example.com", PW, &last), 200,
               "a sign-in into the free place");
    TAP_IS_INT(verify(h, &t[2]), 200, "no one evicted");
    TAP_IS_INT(fake_store_sessions(h->store, t[0].uid, h->now), 3, "three");

    h->cfg->max_sessions_per_user = 1;
    h->addr = "192.0.2.56"; /* the address's window is used up */
    h->now += 1000;
    TAP_IS_INT(harness_signin(h, "pia@example.com", PW, &last), 200,
               "max 1: a sign-in");
    TAP_IS_INT(verify(h, &last), 200, "the new session, never evicted");
    TAP_IS_INT(fake_store_sessions(h->store, t[0].uid, h->now), 1,
               "the only one left");
    TAP_IS_INT(verify(h, &t[3]), 401, "the others ended");
    h->cfg->max_sessions_per_user = 3;
}

static void test_admin(struct harness *h)
{
    struct tokens u[2], admin, admin2;
    char admin_uid[SG_USER_ID_LEN + 1];

    fake_store_reset(h->store);
    h->addr = "192.0.2.54";
    user_with_sessions(h, "quin@example.com", u, 2);
    TAP_IS_INT(harness_register(h, "root@example.com", PW, admin_uid), 201,
               "root registered");
    TAP_IS_INT(sg_store_user_set(h->store, admin_uid, "roles", "user,admin"),
               SG_OK, "root made admin (as the CLI does)");
    TAP_IS_INT(harness_signin(h, "root@example.com", PW, &admin), 200,
               "root signs in");

    TAP_IS_INT(harness_call(h, "GET", admin_path(u[0].uid), u[0].access, NULL),
               403, "a user on an admin route: 403");
    TAP_IS_STR(harness_code(h), "FORBIDDEN", "FORBIDDEN");
    TAP_IS_STR(harness_header(h, "X-RateLimit-Limit"), "100",
               "counted in the user's window");
    TAP_IS_INT(
        harness_call(h, "DELETE", admin_path(u[0].uid), u[0].access, NULL), 403,
        "DELETE as a user: 403");
    TAP_IS_INT(verify(h, &u[1]), 200, "and nothing ended");
    TAP_IS_INT(harness_call(h, "GET", admin_path(u[0].uid), NULL, NULL), 401,
               "no token: 401 before the role");
    TAP_IS_INT(harness_call(h, "GET", admin_path(u[0].uid), "x.y.z", NULL), 401,
               "a bad token: 401");

    TAP_IS_INT(harness_call(h, "GET", admin_path(u[0].uid), admin.access, NULL),
               200, "admin lists a user's sessions");
    TAP_IS_INT(harness_int(h, "data.count"), 2, "both");
    TAP_IS_STR(harness_str(h, "data.sessions.0.id"), u[1].sid, "newest first");
    TAP_OK(!harness_bool(h, "data.sessions.0.current") &&
               !harness_bool(h, "data.sessions.1.current"),
           "none is current");
    TAP_IS_STR(harness_header(h, "X-Session-ID"), admin.sid,
               "X-Session-ID is the admin's");
    TAP_IS_INT(harness_call(h, "GET",
                            admin_path("0123456789abcdef0123456789abcdef"),
                            admin.access, NULL),
               404, "an unknown user: 404");
    TAP_IS_STR(harness_code(h), "NOT_FOUND", "NOT_FOUND");
    TAP_IS_INT(harness_call(h, "GET", admin_path("nope"), admin.access, NULL),
               404, "a malformed id: 404");
    TAP_IS_INT(
        harness_call(h, "DELETE", admin_path(u[0].uid), admin.access, NULL),
        200, "admin signs the user out everywhere");
    TAP_IS_INT(harness_int(h, "data.terminated"), 2, "terminated 2");
    TAP_IS_INT(verify(h, &u[0]), 401, "the user's first session ended");
    TAP_IS_INT(verify(h, &u[1]), 401, "and the second");
    TAP_IS_INT(harness_refresh(h, u[1].refresh, NULL), 401,
               "its refresh token too");
    TAP_IS_INT(verify(h, &admin), 200, "the admin's session kept");

    /* roles are the token's: a new one comes with a refresh */
    h->addr = "192.0.2.55";
    h->now += 1000;
    TAP_IS_INT(harness_signin(h, "quin@example.com", PW, &u[0]), 200,
               "quin again");
    TAP_IS_INT(sg_store_user_set(h->store, u[0].uid, "roles", "admin"), SG_OK,
               "quin made admin");
    TAP_IS_INT(harness_call(h, "GET", admin_path(u[0].uid), u[0].access, NULL),
               403, "the old token still lacks the role");
    TAP_IS_INT(harness_refresh(h, u[0].refresh, &u[0]), 200, "a refresh");
    TAP_IS_INT(harness_call(h, "GET", admin_path(u[0].uid), u[0].access, NULL),
               200, "reads the roles again");

    TAP_IS_INT(harness_signin(h, "root@example.com", PW, &admin2), 200,
               "root on a second device");
    TAP_IS_INT(
        harness_call(h, "DELETE", admin_path(admin_uid), admin.access, NULL),
        200, "admin on their own user: all of them");
    TAP_IS_INT(harness_int(h, "data.terminated"), 2, "their own included");
    TAP_IS_INT(verify(h, &admin), 401, "so the caller's own ended");
}

int main(void)
{
    struct harness *h = harness_new(NULL);

    TAP_OK(h != NULL, "harness");
    if (!h)
        return tap_done();
    test_list(h);
    test_end_one(h);
    test_end_all(h);
    test_eviction(h);
    test_admin(h);
    harness_free(h);
    return tap_done();
}
