/* cli.c -- the operator command line: users and their sessions.
 *
 * `sessiongate user ...` and `sessiongate sessions ...` run in the server's
 * binary and go through the same store operations as the API (same key
 * layout, same scripts, same password hashing), so what the CLI writes is
 * exactly what the server reads. Each command is one row of a table (its
 * words, how many operands it takes, whether it takes --name and --role)
 * and one function. The CLI needs no token keys, so it builds only what it
 * uses, a store and an email checker, rather than a worker context.
 *
 * Passwords come only from standard input, never from argv (which every
 * local user can read in /proc): the first line of a pipe, or typed twice
 * at a terminal with echo off. They are wiped once hashed; neither a
 * password nor a hash is ever printed.
 *
 * Whatever is printed that a client chose (a name, a user agent) or that
 * comes back from Redis is escaped: control characters, bidirectional
 * overrides and invalid UTF-8 never reach the operator's terminal raw, and
 * a tab cannot shift the columns of the tab-separated listings.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "config.h"
#include "crypto.h"
#include "ctx.h"
#include "email.h"
#include "json.h"
#include "log.h"
#include "password.h"
#include "store.h"
#include "user.h"
#include "utf8.h"

#ifndef SG_SYSCONFDIR
#define SG_SYSCONFDIR "/etc"
#endif

#define EXIT_USAGE    2
#define ROLE_MAX      64
#define ROLE_ARGS_MAX 128 /* more could not fit in SG_ROLES_MAX */
#define PASSWORD_BUF  (SG_PASSWORD_MAX_BYTES + 2) /* room for "\r" */

struct cli;

struct command {
    const char *group, *name;
    int min_operands, max_operands;
    bool name_and_roles; /* takes --name and --role */
    bool keep_option;    /* takes --keep-sessions */
    int (*run)(struct cli *c);
};

struct cli {
    const struct command *cmd;
    const char *config_path;
    const char *name;                 /* --name, or NULL */
    const char *roles[ROLE_ARGS_MAX]; /* --role values */
    int nroles;
    bool keep_sessions; /* --keep-sessions */
    char **operands;
    int noperands;
    struct sg_config *cfg;
    struct sg_store *store;
    struct sg_email *email;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sessiongate user add EMAIL [--name NAME] [--role ROLE]...\n"
            "       sessiongate user passwd EMAIL [--keep-sessions]\n"
            "       sessiongate user del EMAIL\n"
            "       sessiongate user list\n"
            "       sessiongate user roles EMAIL ROLE...\n"
            "       sessiongate sessions list EMAIL\n"
            "       sessiongate sessions revoke EMAIL [SESSION_ID]\n"
            "\n"
            "Each takes --config FILE (before or after the command words),\n"
            "else $SESSIONGATE_CONFIG, else\n"
            "%s/sessiongate/sessiongate.conf. Passwords are read from\n"
            "standard input (its first line, or typed twice at a terminal),\n"
            "never from the command line. Exit status: 0 done, 1 failed,\n"
            "2 usage error.\n",
            SG_SYSCONFDIR);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "sessiongate: MESSAGE" on stderr; returns the failure status. Only
 * validated text goes through fmt: other text goes through put_escaped. */
static int fail(const char *fmt, ...)
{
    va_list ap;

    fputs("sessiongate: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

/* ---- escaping ----------------------------------------------------------- */

/* The length of the well-formed UTF-8 sequence at p (1 to 4) with its code
 * point in *cp, or 0 for a byte that does not start one (overlong forms
 * and surrogates included). */
static size_t utf8_decode(const unsigned char *p, unsigned long *cp)
{
    unsigned long min;
    size_t n;

    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if ((p[0] & 0xe0) == 0xc0)
        n = 2, *cp = p[0] & 0x1f, min = 0x80;
    else if ((p[0] & 0xf0) == 0xe0)
        n = 3, *cp = p[0] & 0x0f, min = 0x800;
    else if ((p[0] & 0xf8) == 0xf0)
        n = 4, *cp = p[0] & 0x07, min = 0x10000;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
            return 0;
        *cp = *cp << 6 | (p[i] & 0x3f);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return n;
}

/* C1 controls (a terminal may obey U+009B as CSI), line separators and
 * the invisible marks that reorder text (Trojan Source, CVE-2021-42574). */
static bool hidden_code_point(unsigned long cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
           cp == 0x200f || cp == 0x2028 || cp == 0x2029 ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Write s to f with control characters, backslashes, hidden code points
 * and bytes that are not UTF-8 escaped (\t, \n, \r, \\, \xHH, \uHHHH). */
static void put_escaped(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned long cp;
    size_t n;

    while (*p) {
        n = utf8_decode(p, &cp);
        if (n == 0)
            fprintf(f, "\\x%02x", *p), n = 1;
        else if (cp == '\t' || cp == '\n' || cp == '\r' || cp == '\\')
            fprintf(f, "\\%c",
                    cp == '\t'   ? 't'
                    : cp == '\n' ? 'n'
                    : cp == '\r' ? 'r'
                                 : '\\');
        else if (cp < 0x20 || cp == 0x7f)
            fprintf(f, "\\x%02lx", cp);
        else if (hidden_code_point(cp))
            fprintf(f, "\\u%04lx", cp);
        else
            fwrite(p, 1, n, f);
        p += n;
    }
}

/* "sessiongate: WHAT: ARG" with arg escaped; returns the failure status. */
static int fail_arg(const char *what, const char *arg)
{
    fprintf(stderr, "sessiongate: %s: ", what);
    put_escaped(stderr, arg);
    fputc('\n', stderr);
    return 1;
}

/* sg_time_rfc3339 (json.h), as an expression. */
static const char *rfc3339(int64_t ms, char out[SG_TIME_RFC3339_MAX])
{
    sg_time_rfc3339(out, ms);
    return out;
}

/* ---- reading a password ------------------------------------------------- */

/* Read one line from fd into buf[0..cap), without its "\n" (or "\r\n"),
 * one byte at a time so that nothing after the line is consumed. 0, or
 * SG_ENOTFOUND at end of input with nothing read, SG_ETOOBIG for a line
 * over cap bytes, SG_EIO when read fails (EINTR included: a signal at the
 * prompt). */
static int read_line(int fd, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    ssize_t r;
    char ch;

    while ((r = read(fd, &ch, 1)) == 1 && ch != '\n') {
        if (n == cap)
            return SG_ETOOBIG;
        buf[n++] = ch;
    }
    if (r < 0)
        return SG_EIO;
    if (r == 0 && n == 0)
        return SG_ENOTFOUND;
    if (n && buf[n - 1] == '\r')
        n--;
    *len = n;
    return SG_OK;
}

static void ignore_signal(int sig)
{
    (void)sig;
}

/* Prompt on stderr and read a line from the terminal on stdin with echo
 * off. The terminal is restored even when a signal interrupts the read:
 * the handlers are installed without SA_RESTART, so read fails. */
static int read_tty(const char *prompt, char *buf, size_t cap, size_t *len)
{
    static const int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    struct sigaction sa = {.sa_handler = ignore_signal}, saved_sa[4];
    struct termios saved, quiet;
    int rc;

    if (tcgetattr(STDIN_FILENO, &saved) != 0)
        return SG_EIO;
    quiet = saved;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < SG_ARRAY_LEN(signals); i++)
        sigaction(signals[i], &sa, &saved_sa[i]);
    /* echo off before the prompt: what is typed once it shows is never
     * echoed (TCSAFLUSH drops what was typed before it) */
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) {
        rc = SG_EIO;
    } else {
        fputs(prompt, stderr);
        rc = read_line(STDIN_FILENO, buf, cap, len);
    }
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    fputc('\n', stderr);
    for (size_t i = 0; i < SG_ARRAY_LEN(signals); i++)
        sigaction(signals[i], &saved_sa[i], NULL);
    return rc;
}

/* The new password: the first line of stdin, or typed twice at a
 * terminal. 0, or SG_E* as read_line, or SG_EAUTH when the two differ. */
static int read_password(char pw[PASSWORD_BUF], size_t *len)
{
    char again[PASSWORD_BUF];
    size_t again_len;
    int rc;

    if (!isatty(STDIN_FILENO))
        return read_line(STDIN_FILENO, pw, PASSWORD_BUF, len);
    if ((rc = read_tty("New password: ", pw, PASSWORD_BUF, len)) != SG_OK)
        return rc;
    rc = read_tty("Again: ", again, PASSWORD_BUF, &again_len);
    if (rc == SG_OK && !sg_ct_equal(pw, *len, again, again_len))
        rc = SG_EAUTH;
    sg_wipe(again, sizeof(again));
    return rc;
}

/* Read a new password into pw[PASSWORD_BUF] and check the policy. 0,
 * or the failure status with the reason printed and pw wiped. */
static int new_password(const struct cli *c, char *pw, size_t *len)
{
    enum sg_password_policy policy = SG_PASSWORD_OK;
    int rc = read_password(pw, len);

    if (rc == SG_ETOOBIG)
        policy = SG_PASSWORD_TOO_LONG;
    else if (rc == SG_OK)
        policy =
            sg_password_check_policy(pw, *len, c->cfg->password_min_length);
    if (rc == SG_OK && policy == SG_PASSWORD_OK)
        return 0;
    sg_wipe(pw, PASSWORD_BUF);
    if (policy != SG_PASSWORD_OK)
        return fail("weak password: %s", sg_password_policy_str(policy));
    if (rc == SG_ENOTFOUND)
        return fail("no password on standard input (its first line is "
                    "the password)");
    if (rc == SG_EAUTH)
        return fail("the two passwords differ");
    return fail("cannot read the password");
}

/* Read a new password, check the policy and hash it into hash. 0 or the
 * failure status, with the reason printed. The password is wiped. */
static int new_password_hash(const struct cli *c, char hash[SG_HASH_MAX + 1])
{
    char pw[PASSWORD_BUF];
    size_t len = 0;
    int rc = new_password(c, pw, &len);

    if (rc)
        return rc;
    rc = sg_password_hash(pw, len, c->cfg->pbkdf2_iterations, hash,
                          SG_HASH_MAX + 1);
    sg_wipe(pw, sizeof(pw));
    return rc == SG_OK ? 0 : fail("cannot hash the password");
}

/* ---- checking values ---------------------------------------------------- */

static int store_fail(const struct cli *c)
{
    return fail("Redis at %s is unreachable or answered an error",
                c->cfg->redis);
}

static int parse_email(struct cli *c, const char *arg,
                       char out[SG_EMAIL_MAX + 1])
{
    if (sg_email_normalize(c->email, arg, strlen(arg), out, SG_EMAIL_MAX + 1))
        return fail_arg("not a valid email address", arg);
    return 0;
}

/* The display name as registration takes it: at most SG_NAME_MAX bytes,
 * no control characters. */
static int parse_name(const char *arg, char out[SG_NAME_MAX + 1])
{
    size_t len = arg ? strlen(arg) : 0;

    /* the rule of the register route: what is stored is shown as JSON */
    if (len > SG_NAME_MAX || !sg_utf8_is_text(arg ? arg : "", len))
        return fail("a name is UTF-8 text of at most %d bytes, without "
                    "control characters",
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
            return fail_arg("not a valid role (1 to 64 of A-Z a-z 0-9 . _ : -)",
                            roles[i]);
        if (has_role(out, roles[i], rlen))
            continue;
        if (len + (len > 0) + rlen > SG_ROLES_MAX)
            return fail("the roles come to more than %d bytes", SG_ROLES_MAX);
        if (len)
            out[len++] = ',';
        memcpy(out + len, roles[i], rlen + 1);
        len += rlen;
    }
    return 0;
}

/* The user whose email is arg; 0 or the failure status, reason printed. */
static int find_user(struct cli *c, const char *arg, struct sg_user *u)
{
    char email[SG_EMAIL_MAX + 1];
    int rc;

    if ((rc = parse_email(c, arg, email)))
        return rc;
    rc = sg_store_user_by_email(c->store, email, u);
    if (rc == SG_ENOTFOUND)
        return fail("no user with email %s", email);
    return rc == SG_OK ? 0 : store_fail(c);
}

/* ---- user commands ------------------------------------------------------ */

static int user_add(struct cli *c)
{
    struct sg_user u = {0}, existing;
    char pw[PASSWORD_BUF];
    size_t len = 0;
    int rc;

    if ((rc = parse_email(c, c->operands[0], u.email)) ||
        (rc = parse_name(c->name, u.name)) ||
        (rc = join_roles(c->roles, c->nroles, u.roles)))
        return rc;
    /* Asked before the password is typed; creation is atomic anyway. */
    rc = sg_store_user_by_email(c->store, u.email, &existing);
    if (rc == SG_OK)
        return fail("a user with email %s already exists", u.email);
    if (rc != SG_ENOTFOUND)
        return store_fail(c);
    if ((rc = new_password(c, pw, &len)))
        return rc;
    rc = sg_user_create(c->store, &u, pw, len, c->cfg->pbkdf2_iterations,
                        sg_now_ms());
    sg_wipe(pw, sizeof(pw));
    if (rc == SG_EEXIST)
        return fail("a user with email %s already exists", u.email);
    if (rc == SG_EIO)
        return fail("cannot read random bytes");
    if (rc == SG_ECRYPTO)
        return fail("cannot hash the password");
    if (rc != SG_OK)
        return store_fail(c);
    printf("%s\n", u.id);
    return 0;
}

/* A new password, then the end of every session of the user (unless
 * --keep-sessions): a password is reset because it leaked, and whoever
 * used it keeps no session. In that order, so that a sign-in with the
 * old password between the two still ends. Prints how many ended. */
static int user_passwd(struct cli *c)
{
    struct sg_auth_call call;
    struct sg_user u;
    char hash[SG_HASH_MAX + 1];
    int rc;

    if ((rc = find_user(c, c->operands[0], &u)) ||
        (rc = new_password_hash(c, hash)))
        return rc;
    rc = sg_store_user_set(c->store, u.id, "password", hash);
    sg_wipe(hash, sizeof(hash));
    if (rc != SG_OK)
        return store_fail(c);
    if (c->keep_sessions)
        return 0;
    if (sg_store_operator(c->store, SG_OP_SESSIONS_END, u.id, NULL,
                          sg_now_ms(), &call) != SG_OK ||
        call.status != SG_AUTH_OK) {
        fail("the password is changed, but the sessions could not be ended: "
             "run `sessiongate sessions revoke` for the user");
        return store_fail(c);
    }
    printf("%lld\n", call.terminated);
    return 0;
}

static int user_del(struct cli *c)
{
    struct sg_auth_call call;
    struct sg_user u;
    int rc;

    if ((rc = find_user(c, c->operands[0], &u)))
        return rc;
    /* Sessions first: every token of the user fails from this moment. */
    if (sg_store_operator(c->store, SG_OP_SESSIONS_END, u.id, NULL, sg_now_ms(),
                          &call) != SG_OK ||
        call.status != SG_AUTH_OK)
        return store_fail(c);
    return sg_store_user_delete(c->store, &u) == SG_OK ? 0 : store_fail(c);
}

static int user_roles(struct cli *c)
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
               : store_fail(c);
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
    struct sg_user *grown;
    int rc;

    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        if (!(grown = realloc(l->users, l->cap * sizeof(*grown)))) {
            l->rc = SG_ENOMEM;
            return 1;
        }
        l->users = grown;
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

/* id, email, roles, created_at, name; tab separated, sorted by email. */
static int user_list(struct cli *c)
{
    struct user_list l = {.store = c->store};
    char created[SG_TIME_RFC3339_MAX];
    int rc = sg_store_user_each(c->store, collect_user, &l);

    if (rc == SG_OK)
        rc = l.rc;
    if (rc == SG_OK && l.n)
        qsort(l.users, l.n, sizeof(*l.users), by_email);
    for (size_t i = 0; rc == SG_OK && i < l.n; i++) {
        const struct sg_user *u = &l.users[i];
        if (i && strcmp(u->id, l.users[i - 1].id) == 0)
            continue; /* SSCAN may return a member twice */
        put_escaped(stdout, u->id), putchar('\t');
        put_escaped(stdout, u->email), putchar('\t');
        put_escaped(stdout, u->roles), putchar('\t');
        printf("%s\t", rfc3339(u->created_at, created));
        put_escaped(stdout, u->name), putchar('\n');
    }
    free(l.users);
    if (rc == SG_ENOMEM)
        return fail("out of memory");
    return rc == SG_OK ? 0 : store_fail(c);
}

/* ---- session commands --------------------------------------------------- */

/* id, created_at, last_access, expires_at, ip, user_agent, request_count;
 * tab separated, newest first. */
static int sessions_list(struct cli *c)
{
    struct sg_auth_call call;
    struct sg_user u;
    char t1[SG_TIME_RFC3339_MAX], t2[SG_TIME_RFC3339_MAX],
        t3[SG_TIME_RFC3339_MAX];
    int rc;

    if ((rc = find_user(c, c->operands[0], &u)))
        return rc;
    if (sg_store_operator(c->store, SG_OP_SESSIONS_LIST, u.id, NULL,
                          sg_now_ms(), &call) != SG_OK ||
        call.status != SG_AUTH_OK) {
        free(call.sessions);
        return store_fail(c);
    }
    for (size_t i = 0; i < call.nsessions; i++) {
        const struct sg_session *s = &call.sessions[i];
        put_escaped(stdout, s->id);
        printf("\t%s\t%s\t%s\t", rfc3339(s->created_at, t1),
               rfc3339(s->last_access, t2), rfc3339(s->expires_at, t3));
        put_escaped(stdout, s->ip), putchar('\t');
        put_escaped(stdout, s->user_agent);
        printf("\t%lld\n", s->request_count);
    }
    free(call.sessions);
    return 0;
}

static bool session_id_valid(const char *sid)
{
    return strlen(sid) == SG_SESSION_ID_LEN &&
           strspn(sid, "0123456789abcdef") == SG_SESSION_ID_LEN;
}

/* End one session of the user, or all of them; print how many ended. */
static int sessions_revoke(struct cli *c)
{
    const char *sid = c->noperands > 1 ? c->operands[1] : NULL;
    struct sg_auth_call call;
    struct sg_user u;
    int rc;

    if ((rc = find_user(c, c->operands[0], &u)))
        return rc;
    if (sid && !session_id_valid(sid))
        return fail_arg("no such session of that user", sid);
    if (sg_store_operator(c->store,
                          sid ? SG_OP_SESSION_END : SG_OP_SESSIONS_END, u.id,
                          sid, sg_now_ms(), &call) != SG_OK)
        return store_fail(c);
    if (sid && call.status == SG_AUTH_NOT_FOUND)
        return fail_arg("no such session of that user", sid);
    if (call.status != SG_AUTH_OK)
        return store_fail(c);
    printf("%lld\n", sid ? 1 : call.terminated);
    return 0;
}

/* ---- command line ------------------------------------------------------- */

static const struct command commands[] = {
    {"user", "add", 1, 1, true, false, user_add},
    {"user", "passwd", 1, 1, false, true, user_passwd},
    {"user", "del", 1, 1, false, false, user_del},
    {"user", "list", 0, 0, false, false, user_list},
    {"user", "roles", 2, INT_MAX, false, false, user_roles},
    {"sessions", "list", 1, 1, false, false, sessions_list},
    {"sessions", "revoke", 1, 2, false, false, sessions_revoke},
};

/* The options every command takes, accepted before the command words too
 * ("sessiongate --config FILE user add ..."): how many of argv[1..] they
 * take, 0 if none, -1 if the last one lacks its value. *config is set. */
static int global_options(int argc, char **argv, const char **config)
{
    int i = 1;

    while (i < argc) {
        const char *a = argv[i];
        if (strcmp(a, "--config") == 0 || strcmp(a, "-c") == 0) {
            if (i + 1 >= argc)
                return -1;
            *config = argv[i + 1];
            i += 2;
        } else if (strncmp(a, "--config=", 9) == 0) {
            *config = a + 9;
            i++;
        } else if (strncmp(a, "-c", 2) == 0 && a[2]) {
            *config = a + 2;
            i++;
        } else {
            break;
        }
    }
    return i - 1;
}

static bool is_group(const char *word)
{
    return strcmp(word, "user") == 0 || strcmp(word, "sessions") == 0;
}

bool sg_cli_is_command(int argc, char **argv)
{
    const char *config = NULL;
    int n = global_options(argc, argv, &config);

    return n >= 0 && argc > n + 1 && is_group(argv[n + 1]);
}

static int usage_error(const struct cli *c, const char *what, const char *arg)
{
    fprintf(stderr, "sessiongate %s %s: %s", c->cmd->group, c->cmd->name, what);
    if (arg)
        fputs(" ", stderr), put_escaped(stderr, arg);
    fputs("\n", stderr);
    usage(stderr);
    return EXIT_USAGE;
}

/* Options and operands after the command words. 0 to go on, else the exit
 * status + 1 (as main's parse_args). */
static int parse_options(struct cli *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"name", required_argument, NULL, 'n'},
        {"role", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {"keep-sessions", no_argument, NULL, 'k'},
        {NULL, 0, NULL, 0},
    };
    bool extra = c->cmd->name_and_roles;
    int opt;

    optind = 0; /* GNU: start afresh, argv[0] being the command word */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":c:n:r:h", longopts, NULL)) != -1) {
        if (opt == 'c' && c->config_path) {
            return 1 + usage_error(c, "--config", "given twice");
        } else if (opt == 'c') {
            c->config_path = optarg;
        } else if (opt == 'n' && extra && !c->name) {
            c->name = optarg;
        } else if (opt == 'r' && extra && c->nroles < ROLE_ARGS_MAX) {
            c->roles[c->nroles++] = optarg;
        } else if (opt == 'h') {
            usage(stdout);
            return 1;
        } else if (opt == 'k' && c->cmd->keep_option) {
            c->keep_sessions = true;
        } else if (opt == 'k') {
            return 1 + usage_error(c, "--keep-sessions", "not allowed");
        } else if (opt == ':') {
            return 1 +
                   usage_error(c, "option needs a value:", argv[optind - 1]);
        } else if (opt == '?') {
            return 1 + usage_error(c, "unknown option:", argv[optind - 1]);
        } else {
            return 1 + usage_error(c, opt == 'n' ? "--name" : "--role",
                                   extra ? "given too often" : "not allowed");
        }
    }
    c->operands = argv + optind;
    c->noperands = argc - optind;
    if (c->noperands < c->cmd->min_operands)
        return 1 + usage_error(c, "missing operand", NULL);
    if (c->noperands > c->cmd->max_operands)
        return 1 + usage_error(c, "unexpected operand", c->operands[0]);
    if (!c->config_path)
        c->config_path = getenv("SESSIONGATE_CONFIG");
    if (!c->config_path)
        c->config_path = SG_SYSCONFDIR "/sessiongate/sessiongate.conf";
    return 0;
}

/* The config, the email checker and a connected store. */
static int open_services(struct cli *c)
{
    char err[512];

    if (!(c->cfg = sg_config_load(c->config_path, err, sizeof(err))))
        return fail("%s", err);
    /* The store's warnings promise retries a one-shot command never makes;
     * its failures are reported here instead. */
    sg_log_set_level(c->cfg->log_level == SG_LOG_DEBUG ? SG_LOG_DEBUG
                                                       : SG_LOG_ERROR);
    if (!(c->email = sg_email_new(false)))
        return fail("cannot compile the email pattern");
    if (!(c->store = sg_store_new(c->cfg, err, sizeof(err))))
        return fail("%s", err);
    if (sg_store_connect(c->store) != SG_OK)
        return fail("cannot connect to Redis at %s: is it running?",
                    c->cfg->redis_cluster     ? c->cfg->redis_cluster
                    : c->cfg->redis_sentinels ? c->cfg->redis_sentinels
                                              : c->cfg->redis);
    return 0;
}

int sg_cli_main(int argc, char **argv)
{
    struct cli c = {0};
    const char *config = NULL;
    int rc, n = global_options(argc, argv, &config);

    /* the command words then come first, as if the options followed them
     * (sg_cli_is_command said argv[n + 1] is a group) */
    if (n > 0) {
        argv[n] = argv[0];
        argv += n, argc -= n;
        c.config_path = config;
    }

    if (argc > 2 &&
        (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; argc > 2 && i < SG_ARRAY_LEN(commands); i++)
        if (strcmp(argv[1], commands[i].group) == 0 &&
            strcmp(argv[2], commands[i].name) == 0)
            c.cmd = &commands[i];
    if (!c.cmd) {
        if (argc > 2)
            fail_arg("unknown command", argv[2]);
        else
            fail("which %s command?", argv[1]);
        usage(stderr);
        return EXIT_USAGE;
    }
    if ((rc = parse_options(&c, argc - 2, argv + 2)))
        return rc - 1;
    if (!(rc = open_services(&c)))
        rc = c.cmd->run(&c);
    sg_store_free(c.store);
    sg_email_free(c.email);
    sg_config_free(c.cfg);
    if (fflush(stdout) != 0 && !rc)
        rc = fail("cannot write the output");
    return rc;
}
