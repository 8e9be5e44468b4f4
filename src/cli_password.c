/* cli_password.c -- a new password for the operator CLI.
 *
 * Passwords come only from standard input, never from argv (which every
 * local user can read in /proc): the first line of a pipe, or typed twice
 * at a terminal with echo off. They are wiped once hashed; neither a
 * password nor a hash is ever printed.
 */
#include <signal.h>
#include <stdio.h>
#include <termios.h>
#include <unistd.h>

#include "cli_impl.h"
#include "crypto.h"

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
static int read_password(char pw[SG_CLI_PASSWORD_BUF], size_t *len)
{
    char again[SG_CLI_PASSWORD_BUF];
    size_t again_len;
    int rc;

    if (!isatty(STDIN_FILENO))
        return read_line(STDIN_FILENO, pw, SG_CLI_PASSWORD_BUF, len);
    if ((rc = read_tty("New password: ", pw, SG_CLI_PASSWORD_BUF, len)) !=
        SG_OK)
        return rc;
    rc = read_tty("Again: ", again, SG_CLI_PASSWORD_BUF, &again_len);
    if (rc == SG_OK && !sg_ct_equal(pw, *len, again, again_len))
        rc = SG_EAUTH;
    sg_wipe(again, sizeof(again));
    return rc;
}

/* Read a new password into pw[SG_CLI_PASSWORD_BUF] and check the policy. 0,
 * or the failure status with the reason printed and pw wiped. */
int sg_cli_new_password(const struct sg_cli *c, char *pw, size_t *len)
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
    sg_wipe(pw, SG_CLI_PASSWORD_BUF);
    if (policy != SG_PASSWORD_OK)
        return sg_cli_fail("weak password: %s", sg_password_policy_str(policy));
    if (rc == SG_ENOTFOUND)
        return sg_cli_fail("no password on standard input (its first line is "
                           "the password)");
    if (rc == SG_EAUTH)
        return sg_cli_fail("the two passwords differ");
    return sg_cli_fail("cannot read the password");
}

/* Read a new password, check the policy and hash it into hash. 0 or the
 * failure status, with the reason printed. The password is wiped. */
int sg_cli_new_password_hash(const struct sg_cli *c, char hash[SG_HASH_MAX + 1])
{
    char pw[SG_CLI_PASSWORD_BUF];
    size_t len = 0;
    int rc = sg_cli_new_password(c, pw, &len);

    if (rc)
        return rc;
    rc = sg_password_hash(pw, len, c->cfg->pbkdf2_iterations, hash,
                          SG_HASH_MAX + 1);
    sg_wipe(pw, sizeof(pw));
    return rc == SG_OK ? 0 : sg_cli_fail("cannot hash the password");
}
