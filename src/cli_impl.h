/* cli_impl.h -- what the operator CLI's files share; nothing else
 * includes it.
 *
 * cli.c parses the command line into a struct cli and runs one command;
 * cli_users.c holds the user and session commands, cli_bans.c the
 * sign-in lock-outs, cli_password.c reads a new password, cli_out.c
 * prints (escaped text, JSON, messages).
 */
#ifndef SG_CLI_IMPL_H
#define SG_CLI_IMPL_H

#include <stdio.h>

#include <json-c/json.h>

#include "config.h"
#include "email.h"
#include "json.h"
#include "password.h"
#include "store.h"

#define SG_CLI_ROLE_ARGS_MAX 128 /* more could not fit in SG_ROLES_MAX */

struct sg_cli;

/* The options a command takes besides the global ones (a bit each). */
enum {
    SG_CLI_OPT_NAME = 1 << 0, /* --name NAME */
    SG_CLI_OPT_ROLE = 1 << 1, /* --role ROLE, repeatable */
    SG_CLI_OPT_KEEP = 1 << 2, /* --keep-sessions */
    SG_CLI_OPT_ALL = 1 << 3,  /* --all */
};

struct sg_cli_command {
    const char *group, *name;
    int min_operands, max_operands;
    unsigned options; /* SG_CLI_OPT_* it takes */
    int (*run)(struct sg_cli *c);
};

struct sg_cli {
    const struct sg_cli_command *cmd;
    const char *config_path;
    bool json;                               /* --json */
    const char *name;                        /* --name, or NULL */
    const char *roles[SG_CLI_ROLE_ARGS_MAX]; /* --role values */
    int nroles;
    bool keep_sessions; /* --keep-sessions */
    bool all;           /* --all */
    char **operands;
    int noperands;
    struct sg_config *cfg;
    struct sg_store *store;
    struct sg_email *email;
};

/* ---- commands (cli_users.c, cli_bans.c) ---------------------------------
 * Each returns the exit status: 0 done, 1 failed (reason printed). */
int sg_cli_user_add(struct sg_cli *c);
int sg_cli_user_passwd(struct sg_cli *c);
int sg_cli_user_del(struct sg_cli *c);
int sg_cli_user_show(struct sg_cli *c);
int sg_cli_user_list(struct sg_cli *c);
int sg_cli_user_roles(struct sg_cli *c);
int sg_cli_sessions_list(struct sg_cli *c);
int sg_cli_sessions_revoke(struct sg_cli *c);
int sg_cli_bans_list(struct sg_cli *c);
int sg_cli_bans_clear(struct sg_cli *c);

/* Call fn with the email of each user (cli_users.c; every user record is
 * read, as `user list` does); stops at fn's first non-zero, which is
 * returned. 0, or the failure status with the reason printed. */
int sg_cli_users_each_email(struct sg_cli *c,
                            int (*fn)(void *arg, const char *email), void *arg);

/* Room for one more element of size bytes in *array, which holds n of
 * the *cap it has room for (grown by doubling, from 64): true, or false
 * when out of memory (*array unchanged). In cli.c. */
bool sg_cli_reserve(void **array, size_t *cap, size_t n, size_t size);

/* ---- a new password (cli_password.c) ------------------------------------ */

#define SG_CLI_PASSWORD_BUF (SG_PASSWORD_MAX_BYTES + 2) /* room for "\r" */

/* Read a new password into pw[SG_CLI_PASSWORD_BUF] (the first line of
 * stdin, or typed twice at a terminal) and check the policy. 0, or the
 * failure status with the reason printed and pw wiped. */
int sg_cli_new_password(const struct sg_cli *c, char *pw, size_t *len);

/* The same, hashed into hash; the password is wiped. */
int sg_cli_new_password_hash(const struct sg_cli *c,
                             char hash[SG_HASH_MAX + 1]);

/* ---- output (cli_out.c) ------------------------------------------------- */

/* "sessiongate: MESSAGE" on stderr; returns the failure status, 1. Only
 * validated text goes through fmt: other text through sg_cli_fail_arg. */
int sg_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "sessiongate: WHAT: ARG" with arg escaped; returns 1. */
int sg_cli_fail_arg(const char *what, const char *arg);

/* "Redis at ... is unreachable or answered an error"; returns 1. */
int sg_cli_store_fail(const struct sg_cli *c);

/* Write s to f with control characters, backslashes, hidden code points
 * (C1 controls, bidirectional marks) and bytes that are not UTF-8
 * escaped (\t, \n, \r, \\, \xHH, \uHHHH). */
void sg_cli_put_escaped(FILE *f, const char *s);

/* s escaped, then the character after (a tab or a newline). */
void sg_cli_put_field(const char *s, char after);

/* Print doc as one JSON document on stdout, hidden code points written as
 * \uHHHH escapes, and release it (NULL: out of memory). 0 or 1. */
int sg_cli_put_json(json_object *doc);

/* A listing of n items of size bytes at items: each printed as a line by
 * put_line, or with --json one array of what to_json makes of each. 0,
 * or 1 when out of memory. */
int sg_cli_put_list(const struct sg_cli *c, const void *items, size_t n,
                    size_t size,
                    void (*put_line)(const struct sg_cli *c, const void *item),
                    json_object *(*to_json)(const struct sg_cli *c,
                                            const void *item));

/* {key: n}, printed as sg_cli_put_json does. */
int sg_cli_put_json_count(const char *key, long long n);

/* sg_time_rfc3339 (json.h), as an expression. */
const char *sg_cli_rfc3339(int64_t ms, char out[SG_TIME_RFC3339_MAX]);

#endif
