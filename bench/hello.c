/* hello.c -- the benchmark's ceiling: a FastCGI responder that answers
 * every request with a fixed JSON body. No parsing, no Redis, no logging:
 * nothing any FastCGI app could do less of behind the same web server.
 *
 * It starts the ways sessiongate starts, so that tests/stack.sh runs it in
 * sessiongate's place unchanged (SG_BIN=bench/hello):
 *   --listen unix:PATH   standalone (nginx): creates the socket (mode 0666)
 *   fd 0 a listening socket   spawned by the web server (lighttpd)
 *   otherwise            plain CGI: one answer on stdout, then exit
 * Workers: --workers N, else `workers = N` in the file named by --config
 * or $SESSIONGATE_CONFIG, else 2 standalone and 0 spawned. With N > 0 a
 * master forks N workers that all accept on the socket (sessiongate's
 * process model) and forwards SIGTERM/SIGINT to them; with 0 it serves
 * in-process. Other sessiongate options are accepted and ignored.
 *
 * A request whose REQUEST_URI contains "/redis" first makes one Redis
 * round trip (PING, on a connection kept per worker, to the unix socket
 * of `redis = unix:PATH` in that config): the ceiling of any app that
 * needs one round trip per request, as sessiongate's verify does.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>

#define MAX_WORKERS 256

static const char RESPONSE[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json; charset=utf-8\r\n"
    "Cache-Control: no-store\r\n"
    "\r\n"
    "{\"success\":true,\"data\":{\"status\":\"ok\"}}\n";

static const char RESPONSE_502[] =
    "Status: 502 Bad Gateway\r\n"
    "Content-Type: application/json; charset=utf-8\r\n"
    "\r\n"
    "{\"success\":false}\n";

static pid_t children[MAX_WORKERS];
static char redis_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int redis_fd = -1;
static int n_children;
static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
    (void)sig;
    stopping = 1;
}

/* The value of `key = value` in a sessiongate config file, trimmed, into
 * out; false if the file or the key is missing. */
static bool config_value(const char *path, const char *key, char *out,
                         size_t outlen)
{
    char line[512];
    size_t klen = strlen(key);
    bool found = false;
    FILE *f;

    if (!path || !(f = fopen(path, "r")))
        return false;
    while (fgets(line, sizeof(line), f)) {
        char *p = line, *end;

        p += strspn(p, " \t");
        if (strncmp(p, key, klen) != 0)
            continue;
        p += klen;
        p += strspn(p, " \t");
        if (*p++ != '=')
            continue;
        p += strspn(p, " \t");
        end = p + strcspn(p, " \t\r\n#");
        if ((size_t)(end - p) >= outlen)
            continue;
        memcpy(out, p, (size_t)(end - p));
        out[end - p] = '\0';
        found = true;
    }
    fclose(f);
    return found;
}

/* `workers = N` from a sessiongate config file, or -1. */
static int workers_from_config(const char *path)
{
    char v[16], *end;
    long n;

    if (!config_value(path, "workers", v, sizeof(v)))
        return -1;
    n = strtol(v, &end, 10);
    return (end != v && !*end && n >= 0 && n <= MAX_WORKERS) ? (int)n : -1;
}

/* One PING to Redis and its +PONG, reconnecting if needed. */
static bool redis_ping(void)
{
    static const char ping[] = "*1\r\n$4\r\nPING\r\n";
    char buf[64];
    size_t got = 0;

    if (redis_fd < 0) {
        struct sockaddr_un sa;

        if (!redis_path[0])
            return false;
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        memcpy(sa.sun_path, redis_path, strlen(redis_path) + 1);
        redis_fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (redis_fd < 0)
            return false;
        if (connect(redis_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
            goto fail;
    }
    if (write(redis_fd, ping, sizeof(ping) - 1) != (ssize_t)sizeof(ping) - 1)
        goto fail;
    while (got < 7) { /* "+PONG\r\n" */
        ssize_t n = read(redis_fd, buf + got, sizeof(buf) - got);

        if (n <= 0)
            goto fail;
        got += (size_t)n;
    }
    if (memcmp(buf, "+PONG\r\n", 7) == 0)
        return true;
fail:
    close(redis_fd);
    redis_fd = -1;
    return false;
}

static int serve(int listen_fd)
{
    FCGX_Request req;

    if (FCGX_InitRequest(&req, listen_fd, 0) != 0)
        return 1;
    while (!stopping && FCGX_Accept_r(&req) >= 0) {
        const char *uri = FCGX_GetParam("REQUEST_URI", req.envp);

        if (uri && strstr(uri, "/redis") && !redis_ping())
            FCGX_PutStr(RESPONSE_502, (int)sizeof(RESPONSE_502) - 1, req.out);
        else
            FCGX_PutStr(RESPONSE, (int)sizeof(RESPONSE) - 1, req.out);
        FCGX_Finish_r(&req);
    }
    return 0;
}

static pid_t spawn(int listen_fd)
{
    pid_t pid = fork();

    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        _exit(serve(listen_fd));
    }
    return pid;
}

/* Fork the workers, respawn any that dies, and stop them all on
 * SIGTERM/SIGINT. */
static int master(int listen_fd, int workers)
{
    struct sigaction sa;
    int i, status;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    for (i = 0; i < workers; i++)
        if ((children[n_children] = spawn(listen_fd)) > 0)
            n_children++;
    while (!stopping) {
        pid_t pid = wait(&status);

        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (i = 0; i < n_children && !stopping; i++)
            if (children[i] == pid) {
                sleep(1); /* no busy loop if workers die at once */
                children[i] = spawn(listen_fd);
            }
    }
    for (i = 0; i < n_children; i++)
        if (children[i] > 0)
            kill(children[i], SIGTERM);
    while (wait(&status) > 0 || errno == EINTR)
        ;
    return 0;
}

int main(int argc, char **argv)
{
    const char *listen_addr = NULL, *config = getenv("SESSIONGATE_CONFIG");
    char redis[sizeof(redis_path) + 8];
    int workers = -1, listen_fd = 0, i, rc;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--listen") && i + 1 < argc)
            listen_addr = argv[++i];
        else if (!strcmp(argv[i], "--workers") && i + 1 < argc)
            workers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--config") && i + 1 < argc)
            config = argv[++i];
    }
    if (workers < 0)
        workers = workers_from_config(config);
    if (config_value(config, "redis", redis, sizeof(redis)) &&
        !strncmp(redis, "unix:", 5) && strlen(redis + 5) < sizeof(redis_path))
        memcpy(redis_path, redis + 5, strlen(redis + 5) + 1);
    if (workers > MAX_WORKERS)
        workers = MAX_WORKERS;

    if (!listen_addr && FCGX_IsCGI()) {
        const char *uri = getenv("REQUEST_URI");

        if (uri && strstr(uri, "/redis") && !redis_ping())
            fputs(RESPONSE_502, stdout);
        else
            fputs(RESPONSE, stdout);
        return 0;
    }
    if (FCGX_Init() != 0)
        return 1;
    if (listen_addr) {
        const char *path = listen_addr;

        if (!strncmp(path, "unix:", 5))
            path += 5;
        if (path[0] == '/')
            unlink(path);
        listen_fd = FCGX_OpenSocket(path, 1024);
        if (listen_fd < 0) {
            fprintf(stderr, "hello: cannot listen on %s\n", listen_addr);
            return 1;
        }
        if (path[0] == '/')
            chmod(path, 0666);
        if (workers < 0)
            workers = 2;
    }
    if (workers <= 0)
        return serve(listen_fd);
    rc = master(listen_fd, workers);
    if (listen_addr && !strncmp(listen_addr, "unix:/", 6))
        unlink(listen_addr + 5);
    return rc;
}
