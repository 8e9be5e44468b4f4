/* cli.h -- the operator command line, in the server's own binary.
 *
 *   sessiongate user add EMAIL [--name NAME] [--role ROLE]...
 *   sessiongate user passwd EMAIL
 *   sessiongate user del EMAIL
 *   sessiongate user list
 *   sessiongate user roles EMAIL ROLE...
 *   sessiongate sessions list EMAIL
 *   sessiongate sessions revoke EMAIL [SESSION_ID]
 *
 * Every command takes --config FILE (else $SESSIONGATE_CONFIG, else the
 * default path). Passwords are read from standard input only.
 */
#ifndef SG_CLI_H
#define SG_CLI_H

#include "sg.h"

/* True when argv[1] is a CLI command group ("user" or "sessions"), so
 * that main hands the whole command line to sg_cli_main. */
bool sg_cli_is_command(int argc, char **argv);

/* Run one CLI command; argv is main's (argv[0] the program, argv[1] the
 * group, argv[2] the command). Results go to stdout, messages to stderr.
 * Returns the exit status: 0 success, 1 failure (a rejected value such as
 * an invalid email or a weak password, an unknown user or session, a bad
 * config, Redis unreachable), 2 usage error. */
int sg_cli_main(int argc, char **argv);

#endif
