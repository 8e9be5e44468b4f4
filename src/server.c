/* server.c -- the process model.
 *
 * The master blocks its signals and waits for them with sigtimedwait(),
 * so it has no signal handlers and no races: each wake-up reaps children,
 * acts on the signal, respawns empty slots and advances a rolling
 * replacement by one step. Workers restore the signal mask and install
 * handlers without SA_RESTART, so a SIGTERM ends a wait for a connection
 * at once while the request in progress completes (fcgiwrap's pattern).
 *
 * A worker is never shared state with the master: it builds its own
 * context (and Redis connection) after fork, from the master's current
 * config, and asks the kernel to SIGTERM it if the master dies.
 *
 * Under systemd the listening socket may come from a .socket unit
 * (sd_listen_fds(3)), and a standalone server reports to $NOTIFY_SOCKET
 * (sd_notify(3)): READY=1 once the master has forked its workers (the
 * socket has listened since before, so a connection made meanwhile waits
 * in its backlog; in-process, once the context is built), RELOADING=1
 * when a SIGHUP reload begins and READY=1 when it is over (the config
 * refused, or every worker of the old generation replaced), STOPPING=1
 * when SIGTERM begins the drain. Both protocols are a few lines over
 * plain sockets, so there is no libsystemd to link; the variables are
 * dropped before any fork, so that no worker takes them for its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "activity.h"
#include "addr.h"
#include "clock.h"
#include "ctx.h"
#include "revoke.h"
#include "store.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "transport.h"

#define MAX_WORKERS      256
#define DRAIN_TIMEOUT_MS 10000
#define QUICK_DEATH_MS   1000

static volatile sig_atomic_t stop_flag, reload_flag;

struct slot {
    pid_t pid;
    unsigned gen;
    bool retiring;
    int64_t started_ms;
    int64_t respawn_at_ms;
};

static void on_stop(int sig)
{
    stop_flag = 1;
    sg_fcgi_interrupt();
}

static void on_reload(int sig)
{
    reload_flag = 1;
}

static void set_handler(int sig, void (*fn)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a signal must end a blocked accept */
    sigaction(sig, &sa, NULL);
}

/* From the start of main() until the handlers are in place, a stop or
 * reload waits instead of killing the process with the default action (a
 * web server may signal a process it has only just spawned). A server
 * then takes them whatever mask it was started with, as daemons do; a
 * process that serves no FastCGI gets its own mask back. */
static sigset_t start_mask;
static bool held;

static void stop_signals(sigset_t *s)
{
    sigemptyset(s);
    sigaddset(s, SIGTERM);
    sigaddset(s, SIGINT);
    sigaddset(s, SIGHUP);
}

void sg_server_hold_signals(void)
{
    sigset_t s;

    stop_signals(&s);
    sigprocmask(SIG_BLOCK, &s, &start_mask);
    held = true;
}

void sg_server_restore_signals(void)
{
    if (held)
        sigprocmask(SIG_SETMASK, &start_mask, NULL);
    held = false;
}

/* The handlers are in: let the stop signals in (those held meanwhile
 * are acted on now). */
static void take_signals(void)
{
    sigset_t s;

    stop_signals(&s);
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    held = false;
}

static void install_worker_signals(bool reload_in_process)
{
    set_handler(SIGTERM, on_stop);
    set_handler(SIGINT, on_stop);
    set_handler(SIGHUP, reload_in_process ? on_reload : SIG_IGN);
    set_handler(SIGPIPE, SIG_IGN);
    set_handler(SIGCHLD, SIG_DFL);
}

/* ---- listening socket ------------------------------------------------ */

static int listen_unix(const char *path, int mode, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int fd;

    memcpy(sa.sun_path, path, strlen(path) + 1); /* fits: sg_addr_parse */
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        goto fail;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            snprintf(err, errlen, "%s: another process is listening", path);
            close(fd);
            return -1;
        }
        unlink(path); /* stale socket of a dead instance */
        close(fd);
        if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
            goto fail;
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        chmod(path, (mode_t)mode) < 0 || listen(fd, 1024) < 0)
        goto fail;
    return fd;
fail:
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

/* A numeric address only: the listener binds what it is told. */
static int listen_tcp(const char *address, const struct sg_addr *a, char *err,
                      size_t errlen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags =
                                 AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *ai = NULL;
    char port[8];
    int fd = -1, one = 1, rc;

    snprintf(port, sizeof(port), "%d", a->port);
    if ((rc = getaddrinfo(a->host, port, &hints, &ai)) != 0) {
        snprintf(err, errlen, "%s: %s", address, gai_strerror(rc));
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
        snprintf(err, errlen, "%s: %s", address, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

int sg_server_listen(const char *address, int mode, char *err, size_t errlen)
{
    struct sg_addr a;
    const char *why = sg_addr_parse(address, &a);

    if (why) {
        snprintf(err, errlen, "%s: %s", address, why);
        return -1;
    }
    if (a.is_unix)
        return listen_unix(a.path, mode, err, errlen);
    return listen_tcp(address, &a, err, errlen);
}

/* ---- socket activation (sd_listen_fds(3)) ------------------------------ */

#define SD_LISTEN_FDS_START 3

/* Remove NAME from the environment as unsetenv(3) does, and zero its
 * bytes: they are this process's own (setproctitle-style daemons rewrite
 * the same block), and the kernel shows them as /proc/PID/environ, where a
 * worker must not look as if systemd's variables were meant for it.
 * Called before any fork and only for variables nothing here ever set. */
static void drop_env(const char *name)
{
    size_t n = strlen(name);
    char **to = environ;

    if (!environ)
        return;
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            memset(*e, 0, strlen(*e));
        else
            *to++ = *e;
    }
    *to = NULL;
}

static void drop_activation_env(void)
{
    drop_env("LISTEN_PID");
    drop_env("LISTEN_FDS");
    drop_env("LISTEN_FDNAMES");
}

/* A decimal number from the environment, or -1 (unset, malformed, or
 * beyond max). */
static long env_number(const char *name, long max)
{
    const char *s = getenv(name);
    char *end;
    long v;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    return *end || errno || v > max ? -1 : v;
}

/* What fd listens on, for the log: "unix:/path", "unix:@name" (abstract),
 * "host:port", or "fd N". */
static void describe_listener(int fd, char *name, size_t namelen)
{
    struct sockaddr_storage ss;
    const struct sockaddr_un *un = (const struct sockaddr_un *)&ss;
    const size_t path_at = offsetof(struct sockaddr_un, sun_path);
    socklen_t len = sizeof(ss);
    char host[NI_MAXHOST], port[NI_MAXSERV];

    memset(&ss, 0, sizeof(ss));
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
        ss.ss_family == AF_UNIX && len > path_at) {
        if (un->sun_path[0])
            snprintf(name, namelen, "unix:%.*s",
                     (int)strnlen(un->sun_path, len - path_at), un->sun_path);
        else
            snprintf(name, namelen, "unix:@%.*s", (int)(len - path_at - 1),
                     un->sun_path + 1);
    } else if (ss.ss_family != AF_UNIX &&
               getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host),
                           port, sizeof(port),
                           NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
        snprintf(name, namelen, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
                 host, port);
    } else {
        snprintf(name, namelen, "fd %d", fd);
    }
}

int sg_server_activated(char *name, size_t namelen, char *err, size_t errlen)
{
    long pid = env_number("LISTEN_PID", LONG_MAX);
    long fds = env_number("LISTEN_FDS", INT_MAX - SD_LISTEN_FDS_START);
    int fd = SD_LISTEN_FDS_START, type = -1, listening = 0;
    socklen_t len = sizeof(type);

    drop_activation_env();
    if (pid != (long)getpid() || fds < 1)
        return -1;
    if (fds > 1) {
        sg_log_warn("socket activation: %ld sockets passed; serving on the "
                    "first (fd %d), closing the others",
                    fds, fd);
        for (long i = 1; i < fds; i++)
            close(fd + (int)i);
    }
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
        (len = sizeof(listening),
         getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)) {
        snprintf(err, errlen, "socket activation: fd %d: %s", fd,
                 strerror(errno));
        return -2;
    }
    if (type != SOCK_STREAM || !listening) {
        snprintf(err, errlen,
                 "socket activation: fd %d is not a listening stream socket "
                 "(the .socket unit needs ListenStream= and Accept=no)",
                 fd);
        return -2;
    }
    /* as sg_server_listen's sockets: close-on-exec; the FastCGI loop
     * makes every listening socket non-blocking itself */
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        snprintf(err, errlen, "socket activation: fd %d: %s", fd,
                 strerror(errno));
        return -2;
    }
    describe_listener(fd, name, namelen);
    return fd;
}

/* ---- telling systemd (sd_notify(3)) ------------------------------------ */

struct sg_notifier {
    struct sockaddr_un addr; /* $NOTIFY_SOCKET */
    socklen_t len;           /* of addr; 0: nobody to tell */
    int workers;
    bool warned;    /* a failure to tell is logged once */
    bool ready;     /* READY=1 sent */
    bool reloading; /* RELOADING=1 sent, its READY=1 not yet */
};

/* Before any fork: keep $NOTIFY_SOCKET in n (a path, or '@' for the
 * abstract namespace) if this is a standalone server, for srv's reports,
 * and drop it and the socket activation variables from the environment
 * the workers will inherit. */
static void notifier_take(struct sg_server *srv, struct sg_notifier *n,
                          int workers)
{
    const char *path = getenv("NOTIFY_SOCKET");
    size_t len = path ? strlen(path) : 0;
    bool tell = srv->standalone;

    memset(n, 0, sizeof(*n));
    n->workers = workers;
    srv->notifier = n;
    if (tell && len > 1 && len < sizeof(n->addr.sun_path) &&
        (path[0] == '/' || path[0] == '@')) {
        n->addr.sun_family = AF_UNIX;
        memcpy(n->addr.sun_path, path, len);
        if (path[0] == '@')
            n->addr.sun_path[0] = '\0';
        /* a path's address counts its NUL, an abstract name's does not */
        n->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
                             (path[0] == '/'));
    } else if (tell && len) {
        sg_log_warn("NOTIFY_SOCKET is not a unix socket path or abstract "
                    "name: systemd is not told when sessiongate is ready");
    }
    drop_env("NOTIFY_SOCKET");
    drop_activation_env();
}

/* One datagram of "KEY=VALUE" lines; a failure is never fatal. */
static void notify(struct sg_notifier *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void notify(struct sg_notifier *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    int fd, len;

    if (!n->len)
        return;
    va_start(ap, fmt);
    len = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof(msg))
        return; /* our own short messages: cannot happen */
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || sendto(fd, msg, (size_t)len, MSG_NOSIGNAL,
                         (const struct sockaddr *)&n->addr, n->len) < 0) {
        if (!n->warned)
            sg_log_warn("cannot tell systemd (NOTIFY_SOCKET): %s",
                        strerror(errno));
        n->warned = true;
    }
    if (fd >= 0)
        close(fd);
}

/* READY=1 at the first call, and at the first after a reload began. */
static void notify_ready(struct sg_notifier *n, const char *note)
{
    if (n->ready && !n->reloading)
        return;
    if (n->workers > 0)
        notify(n, "READY=1\nMAINPID=%ld\nSTATUS=serving, %d worker%s%s",
               (long)getpid(), n->workers, n->workers == 1 ? "" : "s", note);
    else
        notify(n, "READY=1\nMAINPID=%ld\nSTATUS=serving in-process%s",
               (long)getpid(), note);
    n->ready = true;
    n->reloading = false;
}

/* MONOTONIC_USEC: the reload's start, which systemd 253's
 * Type=notify-reload matches with the SIGHUP it sent. */
static void notify_reloading(struct sg_notifier *n)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    notify(n,
           "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the "
           "configuration",
           (unsigned long long)now.tv_sec * 1000000ULL +
               (unsigned long long)now.tv_nsec / 1000ULL);
    n->reloading = true;
}

static void notify_stopping(struct sg_notifier *n)
{
    notify(n, "STOPPING=1\nSTATUS=stopping: finishing the requests in hand");
}

/* ---- reload ------------------------------------------------------------ */

/* Load and vet the config file; replace srv->cfg only if it is good. */
static bool reload_config(struct sg_server *srv)
{
    char err[512];
    struct sg_config *cfg;
    struct sg_ctx *ctx;

    notify_reloading(srv->notifier);
    if (!srv->config_path) {
        sg_log_warn("reload: no config file to re-read");
        notify_ready(srv->notifier, "; nothing to reload");
        return false;
    }
    cfg = sg_config_load(srv->config_path, err, sizeof(err));
    if (cfg && !(ctx = sg_ctx_new(cfg, err, sizeof(err)))) {
        sg_config_free(cfg);
        cfg = NULL;
    } else if (cfg) {
        sg_ctx_free(ctx);
    }
    if (!cfg) {
        sg_log_error("reload failed, keeping the running configuration: %s",
                     err);
        notify_ready(srv->notifier, "; reload failed, configuration kept");
        return false;
    }
    sg_config_free(srv->cfg);
    srv->cfg = cfg;
    sg_log_set_level(cfg->log_level);
    sg_log_info("reloaded %s", srv->config_path);
    return true;
}

/* ---- in-process serving ------------------------------------------------ */

static int serve_in_process(struct sg_server *srv)
{
    char err[512];
    struct sg_ctx *ctx;
    enum sg_serve_end end;
    struct sg_notifier notifier;

    notifier_take(srv, &notifier, 0);
    install_worker_signals(true);
    take_signals(); /* a signal held since main() acts now */
    if (!(ctx = sg_ctx_new(srv->cfg, err, sizeof(err)))) {
        sg_log_error("%s", err);
        return 1;
    }
    for (;;) {
        notify_ready(&notifier, "");
        end = sg_fcgi_serve(ctx, srv->listen_fd, &stop_flag, &reload_flag);
        if (end != SG_SERVE_RELOAD)
            break;
        reload_flag = 0;
        sg_ctx_free(ctx);
        ctx = NULL;
        reload_config(srv);
        if (!(ctx = sg_ctx_new(srv->cfg, err, sizeof(err)))) {
            sg_log_error("%s", err);
            break;
        }
    }
    notify_stopping(&notifier);
    sg_ctx_free(ctx);
    return end == SG_SERVE_ERROR || !ctx ? 1 : 0;
}

/* ---- master and workers ------------------------------------------------ */

struct master {
    struct sg_server *srv;
    struct slot slots[MAX_WORKERS + 1]; /* and the reader, last */
    int n;                              /* workers */
    int total;                          /* n, plus 1 when there is a reader */
    struct sg_revoke *table;            /* verify_mode = local, else NULL */
    struct sg_notifier notifier;        /* systemd's, for srv->notifier */
    unsigned gen;
    pid_t pid;
    sigset_t waited, orig_mask;
};

static void worker_main(struct master *m)
{
    char err[512];
    struct sg_ctx *ctx;
    enum sg_serve_end end;

    install_worker_signals(false); /* before the mask lets them in */
    sigprocmask(SIG_SETMASK, &m->orig_mask, NULL);
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
    if (getppid() != m->pid)
        exit(0); /* the master died before we could ask to follow it */
    if (!(ctx = sg_ctx_new(m->srv->cfg, err, sizeof(err)))) {
        sg_log_error("worker: %s", err);
        exit(1);
    }
    ctx->revoke = m->table;
    if (m->table && !(ctx->activity = sg_activity_new()))
        ctx->revoke = NULL; /* no buffer: every verify asks Redis */
    end = sg_fcgi_serve(ctx, m->srv->listen_fd, &stop_flag, &reload_flag);
    if (ctx->activity &&
        sg_activity_flush(ctx->activity, ctx->store, sg_now_ms()) != SG_OK)
        sg_log_warn("worker: exiting with requests not written behind");
    sg_activity_free(ctx->activity);
    sg_ctx_free(ctx);
    sg_config_free(m->srv->cfg);
    exit(end == SG_SERVE_ERROR ? 1 : 0);
}

/* The host's revocation reader (verify_mode = local): follows the
 * revocation stream into the shared table until told to stop. Its own
 * store, whose command timeout outlasts a blocking read. */
#define READER_BLOCK_MS 1000
static void reader_main(struct master *m)
{
    struct sg_config cfg = *m->srv->cfg; /* borrowed pointers: not freed */
    struct sg_revoke_follow f = {0};
    struct timespec pause = {0, 100 * 1000 * 1000};
    struct sg_store *store;
    char err[512];
    size_t fixed;

    install_worker_signals(false);
    sigprocmask(SIG_SETMASK, &m->orig_mask, NULL);
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
    if (getppid() != m->pid)
        exit(0);
    cfg.redis_timeout_ms += READER_BLOCK_MS;
    if (!(store = sg_store_new(&cfg, err, sizeof(err)))) {
        sg_log_error("revocation reader: %s", err);
        exit(1);
    }
    f.lifetime_ms = cfg.access_token_ttl * 1000;
    /* the one writer: slots its predecessor died writing are free again
     * (the master respawns a reader only once the last one is reaped) */
    fixed = sg_revoke_repair(m->table);
    if (fixed)
        sg_log_warn("revocation reader: %zu slot(s) left half written by "
                    "the reader before: freed",
                    fixed);
    sg_log_info("revocation reader %ld: following the stream", (long)getpid());
    while (!stop_flag)
        if (sg_store_revoke_follow(store, &f, m->table, READER_BLOCK_MS,
                                   sg_now_ms()) != SG_OK)
            nanosleep(&pause, NULL); /* the store backs off; so do we */
    sg_store_free(store);
    exit(0);
}

static void spawn(struct master *m, struct slot *s)
{
    pid_t pid = fork();

    if (pid < 0) {
        sg_log_error("fork: %s", strerror(errno));
        s->respawn_at_ms = sg_monotonic_ms() + QUICK_DEATH_MS;
        return;
    }
    if (pid == 0 && s == &m->slots[m->n])
        reader_main(m);
    if (pid == 0)
        worker_main(m);
    s->pid = pid;
    s->gen = m->gen;
    s->retiring = false;
    s->started_ms = sg_monotonic_ms();
    s->respawn_at_ms = 0;
}

static void log_exit(pid_t pid, int status, bool expected)
{
    if (WIFSIGNALED(status))
        sg_log_warn("worker %ld killed by signal %d", (long)pid,
                    WTERMSIG(status));
    else if (WEXITSTATUS(status) != 0 || !expected)
        sg_log_warn("worker %ld exited with status %d", (long)pid,
                    WEXITSTATUS(status));
}

static void reap(struct master *m)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < m->total; i++) {
            struct slot *s = &m->slots[i];
            bool clean;
            if (s->pid != pid)
                continue;
            clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            log_exit(pid, status, s->retiring || stop_flag);
            sg_metrics_worker_exit(s->retiring || stop_flag);
            s->pid = 0;
            if (!clean && sg_monotonic_ms() - s->started_ms < QUICK_DEATH_MS)
                s->respawn_at_ms = sg_monotonic_ms() + QUICK_DEATH_MS;
        }
    }
}

static void respawn_and_roll(struct master *m)
{
    int64_t now = sg_monotonic_ms();
    bool rolling = false;

    for (int i = 0; i < m->total; i++) {
        struct slot *s = &m->slots[i];
        if (!s->pid && now >= s->respawn_at_ms)
            spawn(m, s);
        if (s->pid && s->retiring)
            rolling = true;
    }
    /* Replace one worker of an older generation at a time. */
    for (int i = 0; i < m->total && !rolling; i++) {
        struct slot *s = &m->slots[i];
        if (s->pid && s->gen != m->gen) {
            s->retiring = true;
            kill(s->pid, SIGTERM);
            rolling = true;
        }
    }
}

/* READY=1 once the first workers are forked, and after a reload once
 * no worker of an older generation is left. */
static void master_notify_ready(struct master *m)
{
    for (int i = 0; i < m->total; i++)
        if (m->slots[i].pid && m->slots[i].gen != m->gen)
            return;
    notify_ready(&m->notifier, "");
}

static bool any_alive(const struct master *m)
{
    for (int i = 0; i < m->total; i++)
        if (m->slots[i].pid)
            return true;
    return false;
}

static void drain(struct master *m)
{
    int64_t deadline = sg_monotonic_ms() + DRAIN_TIMEOUT_MS;
    struct timespec tick = {0, 100 * 1000 * 1000};

    sg_log_info("stopping: draining %d workers", m->n);
    for (int i = 0; i < m->total; i++)
        if (m->slots[i].pid)
            kill(m->slots[i].pid, SIGTERM);
    for (reap(m); any_alive(m); reap(m)) {
        if (sg_monotonic_ms() > deadline) {
            sg_log_warn("drain timed out: killing the remaining workers");
            for (int i = 0; i < m->total; i++)
                if (m->slots[i].pid)
                    kill(m->slots[i].pid, SIGKILL);
            deadline = INT64_MAX;
        }
        sigtimedwait(&m->waited, NULL, &tick);
    }
}

static int run_master(struct sg_server *srv)
{
    static struct master m; /* large; one per process */
    struct timespec tick = {1, 0};

    m.srv = srv;
    m.n = srv->workers > MAX_WORKERS ? MAX_WORKERS : srv->workers;
    m.total = m.n;
    m.pid = getpid();
    notifier_take(srv, &m.notifier, m.n);
    if (srv->cfg->verify_mode == SG_VERIFY_LOCAL) {
        /* mapped before any fork: every worker and reader shares it */
        m.table = sg_revoke_map((size_t)srv->cfg->revocation_table_slots);
        if (!m.table)
            sg_log_error("verify_mode = local: cannot map the revocation "
                         "table; verifying in roundtrip mode");
        else
            m.total = m.n + 1;
    }
    sigemptyset(&m.waited);
    sigaddset(&m.waited, SIGCHLD);
    sigaddset(&m.waited, SIGTERM);
    sigaddset(&m.waited, SIGINT);
    sigaddset(&m.waited, SIGHUP);
    sigprocmask(SIG_BLOCK, &m.waited, &m.orig_mask);
    /* what workers unblock once their handlers are in */
    sigdelset(&m.orig_mask, SIGTERM);
    sigdelset(&m.orig_mask, SIGINT);
    sigdelset(&m.orig_mask, SIGHUP);
    held = false;
    set_handler(SIGPIPE, SIG_IGN);
    sg_log_info("master %ld: starting %d workers", (long)m.pid, m.n);
    for (;;) {
        respawn_and_roll(&m);
        master_notify_ready(&m);
        int sig = sigtimedwait(&m.waited, NULL, &tick);
        reap(&m);
        if (sig == SIGTERM || sig == SIGINT) {
            stop_flag = 1;
            break;
        }
        if (sig == SIGHUP && reload_config(srv))
            m.gen++;
    }
    notify_stopping(&m.notifier);
    drain(&m);
    sg_revoke_unmap(m.table);
    return 0;
}

int sg_server_run(struct sg_server *srv)
{
    int rc;

    sg_metrics_start(srv->cfg->metrics); /* before any fork: all share it */
    if (srv->workers > 0) {
        rc = run_master(srv);
    } else {
        if (srv->cfg->verify_mode == SG_VERIFY_LOCAL)
            sg_log_warn("verify_mode = local needs workers >= 1 (a master "
                        "to run the revocation reader): verifying in "
                        "roundtrip mode");
        rc = serve_in_process(srv);
    }
    if (srv->unix_path)
        unlink(srv->unix_path);
    sg_config_free(srv->cfg);
    srv->cfg = NULL;
    return rc;
}
