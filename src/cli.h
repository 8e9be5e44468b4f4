/* cli.h -- the operator command line, in the server's own binary.
 *
 *   sessiongate user add EMAIL [--name NAME] [--role ROLE]...
 *   sessiongate user passwd EMAIL [--keep-sessions]
 *   sessiongate user del EMAIL
 *   sessiongate user show EMAIL
 *   sessiongate user list
 *   sessiongate user roles EMAIL ROLE...
 *   sessiongate sessions list EMAIL
 *   sessiongate sessions revoke EMAIL [SESSION_ID]
 *   sessiongate bans list
 *   sessiongate bans clear ADDRESS|EMAIL|sha256:HASH|--all
 *
 * Every command takes --config FILE (else $SESSIONGATE_CONFIG, else the
 * default path) and --json, anywhere on the line; "--" ends the options.
 * Passwords are read from standard input only.
 */
#ifndef SG_CLI_H
#define SG_CLI_H

#include "sg.h"

/* True when the first argument that is not one of the CLI's own options
 * (--config FILE, --json, --help) is a command group ("user", "sessions",
 * "bans"), so that main hands the whole command line to sg_cli_main. */
bool sg_cli_is_command(int argc, char **argv);

/* Run one CLI command; argv is main's, whose arguments it reorders.
 * Results go to stdout (one JSON document with --json), messages to
 * stderr.
 * Returns the exit status: 0 success, 1 failure (a rejected value such as
 * an invalid email or a weak password, an unknown user or session, a bad
 * config, Redis unreachable), 2 usage error. */
int sg_cli_main(int argc, char **argv);

#endif
