/* cli.c -- the operator command line: its parsing and its commands' table.
 *
 * `sessiongate user ...`, `sessiongate sessions ...` and `sessiongate bans
 * ...` run in the server's binary and go through the same store
 * operations as the API, so what the CLI writes is exactly what the
 * server reads. Each command is one row of a table (its words, how many
 * operands it takes, which options of its own) and one function
 * (cli_users.c, cli_bans.c). The CLI needs no token keys, so it builds
 * only what it uses, a store and an email checker, rather than a worker
 * context.
 *
 * The command line is read in one pass, by hand rather than by getopt:
 * options may come before, between or after the command words (the words
 * are the arguments that are not options, in their order), "--" ends the
 * options (an email may begin with "-"), and an option given twice with
 * two values, an unknown option or one the command does not take is a
 * usage error of one line, exit status 2, before anything is read or
 * connected to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_impl.h"
#include "log.h"

#ifndef SG_SYSCONFDIR
#define SG_SYSCONFDIR "/etc"
#endif

#define EXIT_USAGE 2

static const struct sg_cli_command commands[] = {
    {"user", "add", 1, 1, SG_CLI_OPT_NAME | SG_CLI_OPT_ROLE, sg_cli_user_add},
    {"user", "passwd", 1, 1, SG_CLI_OPT_KEEP, sg_cli_user_passwd},
    {"user", "del", 1, 1, 0, sg_cli_user_del},
    {"user", "show", 1, 1, 0, sg_cli_user_show},
    {"user", "list", 0, 0, 0, sg_cli_user_list},
    {"user", "roles", 2, 1 << 16, 0, sg_cli_user_roles},
    {"sessions", "list", 1, 1, 0, sg_cli_sessions_list},
    {"sessions", "revoke", 1, 2, 0, sg_cli_sessions_revoke},
    {"bans", "list", 0, 0, 0, sg_cli_bans_list},
    {"bans", "clear", 0, 1, SG_CLI_OPT_ALL, sg_cli_bans_clear},
};

enum option_id { O_CONFIG, O_JSON, O_HELP, O_NAME, O_ROLE, O_KEEP, O_ALL };

struct option_def {
    const char *name; /* "--name" */
    char letter;      /* "-l", or 0 */
    bool value;       /* takes one */
    unsigned only;    /* SG_CLI_OPT_* of the commands that take it; 0: all */
    enum option_id id;
};

static const struct option_def options[] = {
    {"--config", 'c', true, 0, O_CONFIG},
    {"--json", 0, false, 0, O_JSON},
    {"--help", 'h', false, 0, O_HELP},
    {"--name", 'n', true, SG_CLI_OPT_NAME, O_NAME},
    {"--role", 'r', true, SG_CLI_OPT_ROLE, O_ROLE},
    {"--keep-sessions", 0, false, SG_CLI_OPT_KEEP, O_KEEP},
    {"--all", 0, false, SG_CLI_OPT_ALL, O_ALL},
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sessiongate user add EMAIL [--name NAME] [--role ROLE]...\n"
            "       sessiongate user passwd EMAIL [--keep-sessions]\n"
            "       sessiongate user del EMAIL\n"
            "       sessiongate user show EMAIL\n"
            "       sessiongate user list\n"
            "       sessiongate user roles EMAIL ROLE...\n"
            "       sessiongate sessions list EMAIL\n"
            "       sessiongate sessions revoke EMAIL [SESSION_ID]\n"
            "       sessiongate bans list\n"
            "       sessiongate bans clear ADDRESS|EMAIL|sha256:HASH|--all\n"
            "\n"
            "Options of every command, before, between or after its words:\n"
            "  -c, --config FILE  the configuration, else $SESSIONGATE_CONFIG,"
            "\n"
            "                     else %s/sessiongate/sessiongate.conf\n"
            "      --json         print one JSON document instead of lines\n"
            "  -h, --help         print this and exit\n"
            "\n"
            "\"--\" ends the options (for an email that begins with \"-\").\n"
            "`bans` are sign-in's rate-limit windows (ratelimit_signin and\n"
            "ratelimit_signin_failure) per client address or account.\n"
            "Passwords are read from standard input (its first line, or\n"
            "typed twice at a terminal), never from the command line. Exit\n"
            "status: 0 done, 1 failed, 2 usage error.\n",
            SG_SYSCONFDIR);
}

/* One line on stderr, "sessiongate: WHAT[ ARG][: MORE]" with arg escaped;
 * returns the usage status. */
static int usage_error(const char *what, const char *arg, const char *more)
{
    fprintf(stderr, "sessiongate: %s", what);
    if (arg)
        fputc(' ', stderr), sg_cli_put_escaped(stderr, arg);
    if (more)
        fprintf(stderr, ": %s", more);
    fputs(" (see sessiongate user --help)\n", stderr);
    return EXIT_USAGE;
}

/* The option arg names ("--name", "--name=VALUE", "-n", "-nVALUE"), its
 * value if written in arg (else NULL) in *inline_value; NULL if none. */
static const struct option_def *find_option(const char *arg,
                                            const char **inline_value)
{
    *inline_value = NULL;
    for (size_t i = 0; i < SG_ARRAY_LEN(options); i++) {
        const struct option_def *o = &options[i];
        size_t len = strlen(o->name);
        if (arg[1] == '-' && strncmp(arg, o->name, len) == 0 &&
            (arg[len] == '\0' || arg[len] == '=')) {
            *inline_value = arg[len] ? arg + len + 1 : NULL;
            return o;
        }
        if (arg[1] != '-' && o->letter && arg[1] == o->letter &&
            (arg[2] == '\0' || o->value)) {
            *inline_value = arg[2] ? arg + 2 : NULL;
            return o;
        }
    }
    return NULL;
}

/* A value for an option that takes one once: the same twice is fine. */
static int set_once(const char **slot, const char *name, const char *value)
{
    if (*slot && (!value || strcmp(*slot, value) != 0))
        return usage_error(name, NULL, "given twice with different values");
    *slot = value;
    return 0;
}

/* Record option o with value v; 0 or the usage status. */
static int apply_option(struct sg_cli *c, const struct option_def *o,
                        const char *v, bool *help)
{
    switch (o->id) {
    case O_CONFIG:
        return set_once(&c->config_path, o->name, v);
    case O_NAME:
        return set_once(&c->name, o->name, v);
    case O_ROLE:
        if (c->nroles == SG_CLI_ROLE_ARGS_MAX)
            return usage_error(o->name, NULL, "given too often");
        c->roles[c->nroles++] = v;
        return 0;
    case O_JSON:
        c->json = true;
        return 0;
    case O_HELP:
        *help = true;
        return 0;
    case O_KEEP:
        c->keep_sessions = true;
        return 0;
    case O_ALL:
        c->all = true;
        return 0;
    }
    return 0;
}

/* Read argv's options into c and move its words to argv[1..*nwords], in
 * order. *given gets the SG_CLI_OPT_* seen. 0 or the usage status. */
static int read_options(struct sg_cli *c, int argc, char **argv, int *nwords,
                        unsigned *given, bool *help)
{
    bool ended = false;
    int rc;

    *nwords = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        const struct option_def *o;
        if (!ended && strcmp(a, "--") == 0) {
            ended = true;
            continue;
        }
        if (ended || a[0] != '-' || a[1] == '\0') {
            argv[1 + (*nwords)++] = argv[i];
            continue;
        }
        if (!(o = find_option(a, &v)))
            return usage_error("unknown option", a, NULL);
        if (v && !o->value)
            return usage_error(o->name, NULL, "takes no value");
        if (o->value && !v && i + 1 >= argc)
            return usage_error(o->name, NULL, "needs a value");
        if (o->value && !v)
            v = argv[++i];
        if ((rc = apply_option(c, o, v, help)))
            return rc;
        *given |= o->only;
    }
    return 0;
}

/* The command of words[0..n), checked against the options given. 0 or
 * the usage status. */
static int find_command(struct sg_cli *c, char **words, int n, unsigned given)
{
    char what[64];

    if (n < 2)
        return usage_error("no command after", words[0], NULL);
    for (size_t i = 0; !c->cmd && i < SG_ARRAY_LEN(commands); i++)
        if (strcmp(words[0], commands[i].group) == 0 &&
            strcmp(words[1], commands[i].name) == 0)
            c->cmd = &commands[i];
    if (!c->cmd)
        return usage_error("unknown command", words[1], NULL);
    snprintf(what, sizeof(what), "not an option of %s %s", c->cmd->group,
             c->cmd->name);
    for (size_t i = 0; i < SG_ARRAY_LEN(options); i++)
        if (options[i].only & given & ~c->cmd->options)
            return usage_error(options[i].name, NULL, what);
    c->operands = words + 2;
    c->noperands = n - 2;
    if (c->noperands < c->cmd->min_operands)
        return usage_error("missing operand", NULL, NULL);
    if (c->noperands > c->cmd->max_operands)
        return usage_error("unexpected operand",
                           c->operands[c->cmd->max_operands], NULL);
    snprintf(what, sizeof(what), "%s %s takes one operand or --all",
             c->cmd->group, c->cmd->name);
    if ((c->cmd->options & SG_CLI_OPT_ALL) && c->all == (c->noperands > 0))
        return usage_error(what, NULL, NULL);
    return 0;
}

/* The whole command line into c. 0 to go on, else the exit status + 1. */
static int parse_command_line(struct sg_cli *c, int argc, char **argv)
{
    unsigned given = 0;
    bool help = false;
    int n, rc;

    if ((rc = read_options(c, argc, argv, &n, &given, &help)))
        return rc + 1;
    if (help) {
        usage(stdout);
        return 1;
    }
    if (n < 1) /* sg_cli_is_command saw a word: "--" took it away */
        return usage_error("which command?", NULL, NULL) + 1;
    if ((rc = find_command(c, argv + 1, n, given)))
        return rc + 1;
    if (!c->config_path)
        c->config_path = getenv("SESSIONGATE_CONFIG");
    if (!c->config_path)
        c->config_path = SG_SYSCONFDIR "/sessiongate/sessiongate.conf";
    return 0;
}

static bool is_group(const char *word)
{
    for (size_t i = 0; i < SG_ARRAY_LEN(commands); i++)
        if (strcmp(word, commands[i].group) == 0)
            return true;
    return false;
}

bool sg_cli_is_command(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const struct option_def *o;
        const char *v;
        if (strcmp(argv[i], "--") == 0)
            return i + 1 < argc && is_group(argv[i + 1]);
        if (argv[i][0] != '-' || argv[i][1] == '\0')
            return is_group(argv[i]);
        /* only the CLI's own options may come before its words: any
         * other is the server's (--listen ...) */
        if (!(o = find_option(argv[i], &v)) || o->only)
            return false;
        if (o->value && !v)
            i++;
    }
    return false;
}

bool sg_cli_reserve(void **array, size_t *cap, size_t n, size_t size)
{
    size_t grown = *cap ? 2 * *cap : 64;
    void *p;

    if (n < *cap)
        return true;
    if (!(p = realloc(*array, grown * size)))
        return false;
    *array = p;
    *cap = grown;
    return true;
}

/* The config, the email checker and a connected store. */
static int open_services(struct sg_cli *c)
{
    char err[512];

    if (!(c->cfg = sg_config_load(c->config_path, err, sizeof(err))))
        return sg_cli_fail("%s", err);
    /* The store's warnings promise retries a one-shot command never makes;
     * its failures are reported here instead. */
    sg_log_set_level(c->cfg->log_level == SG_LOG_DEBUG ? SG_LOG_DEBUG
                                                       : SG_LOG_ERROR);
    if (!(c->email = sg_email_new(false)))
        return sg_cli_fail("cannot compile the email pattern");
    if (!(c->store = sg_store_new(c->cfg, err, sizeof(err))))
        return sg_cli_fail("%s", err);
    if (sg_store_connect(c->store) != SG_OK)
        return sg_cli_fail("cannot connect to Redis at %s: is it running?",
                           c->cfg->redis_cluster     ? c->cfg->redis_cluster
                           : c->cfg->redis_sentinels ? c->cfg->redis_sentinels
                                                     : c->cfg->redis);
    return 0;
}

int sg_cli_main(int argc, char **argv)
{
    struct sg_cli c = {0};
    int rc;

    if ((rc = parse_command_line(&c, argc, argv)))
        return rc - 1;
    if (!(rc = open_services(&c)))
        rc = c.cmd->run(&c);
    sg_store_free(c.store);
    sg_email_free(c.email);
    sg_config_free(c.cfg);
    if (fflush(stdout) != 0 && !rc)
        rc = sg_cli_fail("cannot write the output");
    return rc;
}
