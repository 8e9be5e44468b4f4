/* cli_users.c -- the operator's user and session commands.
 *
 * They go through the same store operations as the API (same key layout,
 * same scripts, same password hashing), so what the CLI writes is exactly
 * what the server reads. Each prints tab-separated lines of escaped text
 * (cli_out.c), or with --json one document in the API's shapes (json.h:
 * a user never with its hash, a session without "current").
 */
#include <stdlib.h>
#include <string.h>

#include "cli_impl.h"
#include "clock.h"
#include "user.h"
#include "utf8.h"

#define ROLE_MAX 64

/* ---- checking values ---------------------------------------------------- */

static int parse_email(struct sg_cli *c, const char *arg,
                       char out[SG_EMAIL_MAX + 1])
{
    if (sg_email_normalize(c->email, arg, strlen(arg), out, SG_EMAIL_MAX + 1))
        return sg_cli_fail_arg("not a valid email address", arg);
    return 0;
}

/* The display name as registration takes it: at most SG_NAME_MAX bytes,
 * no control characters. */
static int parse_name(const char *arg, char out[SG_NAME_MAX + 1])
{
    size_t len = arg ? strlen(arg) : 0;

    /* the rule of the register route: what is stored is shown as JSON */
    if (len > SG_NAME_MAX || !sg_utf8_is_text(arg ? arg : "", len))
        return sg_cli_fail("a name is UTF-8 text of at most %d bytes, "
                           "without control characters",
                           SG_NAME_MAX);
    memcpy(out, arg ? arg : "", len + 1);
    return 0;
}

static bool has_role(const char *csv, const char *role, size_t len)
{
    while (*csv) {
        size_t n = strcspn(csv, ",");
        if (n == len && memcmp(csv, role, len) == 0)
            return true;
        csv += n + (csv[n] == ',');
    }
    return false;
}

/* Join roles into out, comma separated, without repeats. Each is 1 to
 * ROLE_MAX characters of [A-Za-z0-9._:-]; the whole at most SG_ROLES_MAX
 * bytes. No roles at all is the default role "user". */
static int join_roles(const char *const *roles, int n,
                      char out[SG_ROLES_MAX + 1])
{
    static const char allowed[] = "abcdefghijklmnopqrstuvwxyz"
                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-";
    size_t len = 0;

    snprintf(out, SG_ROLES_MAX + 1, "%s", n ? "" : "user");
    for (int i = 0; i < n; i++) {
        size_t rlen = strlen(roles[i]);
        if (rlen == 0 || rlen > ROLE_MAX || roles[i][strspn(roles[i], allowed)])
            return sg_cli_fail_arg(
                "not a valid role (1 to 64 of A-Z a-z 0-9 . _ : -)", roles[i]);
        if (has_role(out, roles[i], rlen))
            continue;
        if (len + (len > 0) + rlen > SG_ROLES_MAX)
            return sg_cli_fail("the roles come to more than %d bytes",
                               SG_ROLES_MAX);
        if (len)
            out[len++] = ',';
        memcpy(out + len, roles[i], rlen + 1);
        len += rlen;
    }
    return 0;
}

/* The user whose email is arg; 0 or the failure status, reason printed. */
static int find_user(struct sg_cli *c, const char *arg, struct sg_user *u)
{
    char email[SG_EMAIL_MAX + 1];
    int rc;

    if ((rc = parse_email(c, arg, email)))
        return rc;
    rc = sg_store_user_by_email(c->store, email, u);
    if (rc == SG_ENOTFOUND)
        return sg_cli_fail("no user with email %s", email);
    if (rc == SG_OK)
        sg_wipe(u->password, sizeof(u->password)); /* never needed here */
    return rc == SG_OK ? 0 : sg_cli_store_fail(c);
}

/* "how many sessions ended": a number, or {key: n} with --json. */
static int put_count(const struct sg_cli *c, const char *key, long long n)
{
    if (c->json)
        return sg_cli_put_json_count(key, n);
    printf("%lld\n", n);
    return 0;
}

/* SG_OP_SESSIONS_LIST or SG_OP_SESSIONS_END on the user uid, with no
 * caller session (sg_store_operator): true when it answered, else false
 * with nothing left to free. */
static bool operator_call(struct sg_cli *c, enum sg_auth_op op, const char *uid,
                          struct sg_auth_call *call)
{
    if (sg_store_operator(c->store, op, uid, NULL, sg_now_ms(), call) ==
            SG_OK &&
        call->status == SG_AUTH_OK)
        return true;
    free(call->sessions);
    call->sessions = NULL;
    return false;
}

/* id, email, roles, created_at, name: tab separated. */
static void put_user_line(const struct sg_cli *c, const void *item)
{
    const struct sg_user *u = item;
    char created[SG_TIME_RFC3339_MAX];

    sg_cli_put_field(u->id, '\t');
    sg_cli_put_field(u->email, '\t');
    sg_cli_put_field(u->roles, '\t');
    printf("%s\t", sg_cli_rfc3339(u->created_at, created));
    sg_cli_put_field(u->name, '\n');
}

/* ---- user commands ------------------------------------------------------ */

int sg_cli_user_add(struct sg_cli *c)
{
    struct sg_user u = {0}, existing;
    char pw[SG_CLI_PASSWORD_BUF];
    size_t len = 0;
    int rc;

    if ((rc = parse_email(c, c->operands[0], u.email)) ||
        (rc = parse_name(c->name, u.name)) ||
        (rc = join_roles(c->roles, c->nroles, u.roles)))
        return rc;
    /* Asked before the password is typed; creation is atomic anyway. */
    rc = sg_store_user_by_email(c->store, u.email, &existing);
    sg_wipe(existing.password, sizeof(existing.password));
    if (rc == SG_OK)
        return sg_cli_fail("a user with email %s already exists", u.email);
    if (rc != SG_ENOTFOUND)
        return sg_cli_store_fail(c);
    if ((rc = sg_cli_new_password(c, pw, &len)))
        return rc;
    rc = sg_user_create(c->store, &u, pw, len, c->cfg->pbkdf2_iterations,
                        sg_now_ms());
    sg_wipe(pw, sizeof(pw));
    if (rc == SG_EEXIST)
        return sg_cli_fail("a user with email %s already exists", u.email);
    if (rc == SG_EIO)
        return sg_cli_fail("cannot read random bytes");
    if (rc == SG_ECRYPTO)
        return sg_cli_fail("cannot hash the password");
    if (rc != SG_OK)
        return sg_cli_store_fail(c);
    if (c->json)
        return sg_cli_put_json(sg_json_user(&u));
    printf("%s\n", u.id);
    return 0;
}

/* A new password, then the end of every session of the user (unless
 * --keep-sessions): a password is reset because it leaked, and whoever
 * used it keeps no session. In that order, so that a sign-in with the
 * old password between the two still ends. Prints how many ended. */
int sg_cli_user_passwd(struct sg_cli *c)
{
    struct sg_auth_call call;
    struct sg_user u;
    char hash[SG_HASH_MAX + 1];
    int rc;

    if ((rc = find_user(c, c->operands[0], &u)) ||
        (rc = sg_cli_new_password_hash(c, hash)))
        return rc;
    rc = sg_store_user_set(c->store, u.id, "password", hash);
    sg_wipe(hash, sizeof(hash));
    if (rc != SG_OK)
        return sg_cli_store_fail(c);
    if (c->keep_sessions) /* nothing to tell, but a document is promised */
        return c->json ? sg_cli_put_json_count("sessions_ended", 0) : 0;
    if (!operator_call(c, SG_OP_SESSIONS_END, u.id, &call)) {
        sg_cli_fail("the password is changed, but the sessions could not be "
                    "ended: run `sessiongate sessions revoke` for the user");
        return sg_cli_store_fail(c);
    }
    return put_count(c, "sessions_ended", call.terminated);
}

int sg_cli_user_del(struct sg_cli *c)
{
    struct sg_auth_call call;
    struct sg_user u;
    int rc;

    if ((rc = find_user(c, c->operands[0], &u)))
        return rc;
    /* Sessions first: every token of the user fails from this moment. */
    if (!operator_call(c, SG_OP_SESSIONS_END, u.id, &call))
        return sg_cli_store_fail(c);
    return sg_store_user_delete(c->store, &u) == SG_OK ? 0
                                                       : sg_cli_store_fail(c);
}

int sg_cli_user_show(struct sg_cli *c)
{
    struct sg_user u;
    int rc;

    if ((rc = find_user(c, c->operands[0], &u)))
        return rc;
    if (c->json)
        return sg_cli_put_json(sg_json_user(&u));
    put_user_line(c, &u);
    return 0;
}

int sg_cli_user_roles(struct sg_cli *c)
{
    char roles[SG_ROLES_MAX + 1];
    struct sg_user u;
    int rc;

    if ((rc = join_roles((const char *const *)c->operands + 1, c->noperands - 1,
                         roles)) ||
        (rc = find_user(c, c->operands[0], &u)))
        return rc;
    return sg_store_user_set(c->store, u.id, "roles", roles) == SG_OK
               ? 0
               : sg_cli_store_fail(c);
}

struct user_list {
    struct sg_store *store;
    struct sg_user *users;
    size_t n, cap;
    int rc;
};

static int collect_user(void *arg, const char *uid)
{
    struct user_list *l = arg;
    int rc;

    if (!sg_cli_reserve((void **)&l->users, &l->cap, l->n, sizeof(*l->users))) {
        l->rc = SG_ENOMEM;
        return 1;
    }
    rc = sg_store_user_by_id(l->store, uid, &l->users[l->n]);
    if (rc == SG_ENOTFOUND) /* deleted since the scan saw it */
        return 0;
    if (rc != SG_OK) {
        l->rc = rc;
        return 1;
    }
    sg_wipe(l->users[l->n].password, SG_HASH_MAX + 1);
    l->n++;
    return 0;
}

static int by_email(const void *a, const void *b)
{
    return strcmp(((const struct sg_user *)a)->email,
                  ((const struct sg_user *)b)->email);
}

/* Every user, sorted by email, each once (SSCAN may return a member
 * twice): *users (the caller frees it) and *n. 0 or the failure status. */
static int all_users(struct sg_cli *c, struct sg_user **users, size_t *n)
{
    struct user_list l = {.store = c->store};
    int rc = sg_store_user_each(c->store, collect_user, &l);
    size_t kept = 0;

    if (rc == SG_OK)
        rc = l.rc;
    if (rc == SG_OK && l.n)
        qsort(l.users, l.n, sizeof(*l.users), by_email);
    for (size_t i = 0; rc == SG_OK && i < l.n; i++)
        if (!kept || strcmp(l.users[i].id, l.users[kept - 1].id) != 0)
            l.users[kept++] = l.users[i];
    *users = l.users;
    *n = kept;
    if (rc == SG_ENOMEM)
        return sg_cli_fail("out of memory");
    return rc == SG_OK ? 0 : sg_cli_store_fail(c);
}

int sg_cli_users_each_email(struct sg_cli *c,
                            int (*fn)(void *arg, const char *email), void *arg)
{
    struct sg_user *users = NULL;
    size_t n = 0;
    int rc = all_users(c, &users, &n);

    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = fn(arg, users[i].email);
    free(users);
    return rc;
}

static json_object *user_json(const struct sg_cli *c, const void *item)
{
    (void)c;
    return sg_json_user(item);
}

/* id, email, roles, created_at, name; tab separated, sorted by email. */
int sg_cli_user_list(struct sg_cli *c)
{
    struct sg_user *users = NULL;
    size_t n = 0;
    int rc = all_users(c, &users, &n);

    if (!rc)
        rc = sg_cli_put_list(c, users, n, sizeof(*users), put_user_line,
                             user_json);
    free(users);
    return rc;
}

/* ---- session commands --------------------------------------------------- */

/* The API's shape, less "current": no session is the caller's here. */
static json_object *session_json(const struct sg_cli *c, const void *item)
{
    json_object *o = sg_json_session(item, false);

    (void)c;
    if (o)
        json_object_object_del(o, "current");
    return o;
}

/* id, created_at, last_access, expires_at, ip, user_agent, request_count;
 * tab separated, newest first. */
static void put_session_line(const struct sg_cli *c, const void *item)
{
    const struct sg_session *s = item;
    char t1[SG_TIME_RFC3339_MAX], t2[SG_TIME_RFC3339_MAX],
        t3[SG_TIME_RFC3339_MAX];

    sg_cli_put_field(s->id, '\t');
    printf("%s\t%s\t%s\t", sg_cli_rfc3339(s->created_at, t1),
           sg_cli_rfc3339(s->last_access, t2),
           sg_cli_rfc3339(s->expires_at, t3));
    sg_cli_put_field(s->ip, '\t');
    sg_cli_put_field(s->user_agent, '\t');
    printf("%lld\n", s->request_count);
}

int sg_cli_sessions_list(struct sg_cli *c)
{
    struct sg_auth_call call;
    struct sg_user u;
    int rc;

    if ((rc = find_user(c, c->operands[0], &u)))
        return rc;
    if (!operator_call(c, SG_OP_SESSIONS_LIST, u.id, &call))
        return sg_cli_store_fail(c);
    rc =
        sg_cli_put_list(c, call.sessions, call.nsessions,
                        sizeof(*call.sessions), put_session_line, session_json);
    free(call.sessions);
    return rc;
}

static bool session_id_valid(const char *sid)
{
    return strlen(sid) == SG_SESSION_ID_LEN &&
           strspn(sid, "0123456789abcdef") == SG_SESSION_ID_LEN;
}

/* End one session of the user, or all of them; print how many ended. */
int sg_cli_sessions_revoke(struct sg_cli *c)
{
    const char *sid = c->noperands > 1 ? c->operands[1] : NULL;
    struct sg_auth_call call;
    struct sg_user u;
    int rc;

    if ((rc = find_user(c, c->operands[0], &u)))
        return rc;
    if (sid && !session_id_valid(sid))
        return sg_cli_fail_arg("no such session of that user", sid);
    if (sg_store_operator(c->store,
                          sid ? SG_OP_SESSION_END : SG_OP_SESSIONS_END, u.id,
                          sid, sg_now_ms(), &call) != SG_OK)
        return sg_cli_store_fail(c);
    if (sid && call.status == SG_AUTH_NOT_FOUND)
        return sg_cli_fail_arg("no such session of that user", sid);
    if (call.status != SG_AUTH_OK)
        return sg_cli_store_fail(c);
    return put_count(c, "sessions_ended", sid ? 1 : call.terminated);
}
