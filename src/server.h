/* server.h -- processes: in-process serving, or a master and workers.
 *
 * With workers = 0 the process serves FastCGI itself and reloads its
 * config between requests on SIGHUP. With workers = N the process becomes
 * a master that forks N workers accepting on the same listening socket,
 * respawns any that die (throttled when they die at start), drains them
 * on SIGTERM, and on SIGHUP re-reads the config and, if it is good,
 * replaces the workers one at a time; a bad config is logged and the
 * running workers keep serving.
 *
 * Under systemd (standalone mode only) the listening socket may be one
 * systemd passed (socket activation), and the process tells systemd through
 * $NOTIFY_SOCKET when it is ready, reloading and stopping (sd_notify(3)'s
 * protocol, spoken without libsystemd). Neither variable set reaches a
 * worker.
 */
#ifndef SG_SERVER_H
#define SG_SERVER_H

#include "config.h"

struct sg_notifier; /* server.c: $NOTIFY_SOCKET and what it was told */

struct sg_server {
    const char *config_path; /* re-read on SIGHUP */
    struct sg_config *cfg;   /* owned; replaced on reload */
    int listen_fd;
    int workers;           /* 0: serve in-process */
    const char *unix_path; /* standalone unix socket, unlinked at exit */
    bool standalone; /* our own service: tell systemd how it goes, if asked */
    struct sg_notifier *notifier; /* set while sg_server_run runs */
};

/* Open a listening socket for "unix:/path" (mode applied, a stale socket
 * file replaced, a live one refused) or "host:port". The fd, or -1 with a
 * reason in err. */
int sg_server_listen(const char *address, int mode, char *err, size_t errlen);

/* Socket activation (sd_listen_fds(3)): when $LISTEN_PID is this process
 * and $LISTEN_FDS >= 1, the first socket passed (fd 3), checked to be a
 * listening stream socket and made close-on-exec, with what it listens on
 * ("unix:/path" or "host:port") in name; further sockets are closed, with a
 * warning. -1 when nothing was passed; -2 with a reason in err when what
 * was passed cannot be served on. LISTEN_PID, LISTEN_FDS and
 * LISTEN_FDNAMES are unset in every case. */
int sg_server_activated(char *name, size_t namelen, char *err, size_t errlen);

/* Serve until told to stop; returns the process exit status. Takes
 * ownership of srv->cfg. */
int sg_server_run(struct sg_server *srv);

/* Hold SIGTERM, SIGINT and SIGHUP from the start of a server process
 * until its handlers are installed (sg_server_run then takes them, even
 * if the process was started with them blocked), so that a signal sent
 * to a process just spawned is acted on, not fatal. Restore gives a
 * process that serves no FastCGI (CGI, the CLI) its own mask back. */
void sg_server_hold_signals(void);
void sg_server_restore_signals(void);

#endif
