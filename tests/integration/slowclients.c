/*
 * slowclients -- hold many slow HTTP clients open against a loopback server
 * (slowloris-style), for tests/integration/slowclients.sh.
 *
 *   slowclients --port P [--count N] [--mode idle|drip] [--seconds S]
 *               [--interval-ms MS]
 *
 * Opens N TCP connections to 127.0.0.1:P (at most 64 connects in flight,
 * so that the server's listen queue is not what refuses them) and keeps
 * them open for S seconds:
 *   idle  connect and send nothing;
 *   drip  send a request line and headers one byte per connection every MS
 *         milliseconds, never ending the headers (the request never
 *         completes).
 * A connection the server closes is counted and opened again, as a
 * slowloris does. Once every connection has been opened once it prints
 * "connected N", then once a second "open=O closed=C connects=K" (O:
 * connections open now; C: closed by the server so far; K: connects so
 * far), flushing stdout each time; at the end it closes everything and
 * prints "done ...". Exit status 0, or 2 on bad arguments or when the
 * file descriptor limit is below N + 16 (raise `ulimit -n` first).
 *
 * Loopback only: the address is 127.0.0.1, not an option. S is at most
 * 600 and N at most 20000, so that a forgotten run ends by itself.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

enum state { ST_NONE, ST_CONNECTING, ST_OPEN };

struct conn {
    int fd;
    enum state st;
    size_t sent; /* bytes of the request sent so far (drip) */
};

/* The request a dripping client sends, a byte at a time; past its end it
 * keeps sending the value of the last header, so the headers never end. */
static const char REQUEST[] = "GET /api/v1/health HTTP/1.1\r\n"
                              "Host: 127.0.0.1\r\n"
                              "User-Agent: slowclients\r\n"
                              "X-Slow: ";

static volatile sig_atomic_t stop_now;

static void on_signal(int sig)
{
    (void)sig;
    stop_now = 1;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
    fprintf(stderr, "usage: slowclients --port P [--count N] [--mode idle|drip] "
                    "[--seconds S] [--interval-ms MS]\n");
    return 2;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* start_connect: a non-blocking connect to 127.0.0.1:port; 0 or -1. */
static int start_connect(struct conn *c, int port)
{
    struct sockaddr_in sa;
    int fd, one = 1;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        c->st = ST_OPEN;
    } else if (errno == EINPROGRESS) {
        c->st = ST_CONNECTING;
    } else {
        close(fd);
        return -1;
    }
    c->fd = fd;
    c->sent = 0;
    return 0;
}

static void drop(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->st = ST_NONE;
    c->sent = 0;
}

int main(int argc, char **argv)
{
    long port = 0, count = 1000, seconds = 10, interval_ms = 1000;
    int drip = 0, i, announced = 0;
    long open_now, closed = 0, connects = 0, in_flight, next_drip = 0, opened_once = 0;
    struct conn *conns;
    struct pollfd *pfds;
    struct rlimit rl;
    double start, end, next_report, next_drip_round;
    char buf[4096];

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--mode") == 0 && v) {
            if (strcmp(v, "drip") == 0)
                drip = 1;
            else if (strcmp(v, "idle") == 0)
                drip = 0;
            else
                return usage();
        } else if (strcmp(a, "--port") == 0 && v) {
            if (parse_int(v, 1, 65535, &port) < 0)
                return usage();
        } else if (strcmp(a, "--count") == 0 && v) {
            if (parse_int(v, 1, 20000, &count) < 0)
                return usage();
        } else if (strcmp(a, "--seconds") == 0 && v) {
            if (parse_int(v, 1, 600, &seconds) < 0)
                return usage();
        } else if (strcmp(a, "--interval-ms") == 0 && v) {
            if (parse_int(v, 10, 60000, &interval_ms) < 0)
                return usage();
        } else {
            return usage();
        }
        i++;
    }
    if (port == 0)
        return usage();
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)count + 16) {
        fprintf(stderr, "slowclients: the file descriptor limit (%lu) is below %ld: raise ulimit -n\n",
                (unsigned long)rl.rlim_cur, count + 16);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);

    conns = calloc((size_t)count, sizeof(*conns));
    pfds = calloc((size_t)count, sizeof(*pfds));
    if (!conns || !pfds) {
        fprintf(stderr, "slowclients: out of memory\n");
        return 2;
    }
    for (i = 0; i < count; i++) {
        conns[i].fd = -1;
        conns[i].st = ST_NONE;
    }

    start = now_s();
    end = start + (double)seconds;
    next_report = start + 1.0;
    next_drip_round = start;
    while (!stop_now && now_s() < end) {
        double t;
        int n, timeout_ms;

        /* (re)connect, at most 64 connects in flight */
        in_flight = 0;
        for (i = 0; i < count; i++)
            if (conns[i].st == ST_CONNECTING)
                in_flight++;
        for (i = 0; i < count && in_flight < 64; i++) {
            if (conns[i].st != ST_NONE)
                continue;
            if (start_connect(&conns[i], (int)port) == 0) {
                connects++;
                if (conns[i].st == ST_CONNECTING)
                    in_flight++;
            }
        }

        /* drip: one byte to each open connection per interval, spread
         * over the interval */
        t = now_s();
        if (drip && t >= next_drip_round) {
            long batch = count / 10 + 1;
            long k;

            for (k = 0; k < batch; k++) {
                struct conn *c = &conns[next_drip];
                char byte;

                if (c->st == ST_OPEN) {
                    byte = c->sent < sizeof(REQUEST) - 1 ? REQUEST[c->sent] : 'a';
                    if (send(c->fd, &byte, 1, MSG_NOSIGNAL) == 1) {
                        c->sent++;
                    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                        drop(c);
                        closed++;
                    }
                }
                next_drip = (next_drip + 1) % count;
            }
            next_drip_round = t + (double)interval_ms / 10000.0;
        }

        /* wait for connects to complete and for closes */
        for (i = 0; i < count; i++) {
            pfds[i].fd = conns[i].fd;
            pfds[i].events = conns[i].st == ST_CONNECTING ? POLLOUT : POLLIN;
            pfds[i].revents = 0;
        }
        timeout_ms = drip ? (int)(interval_ms / 10) : 100;
        if (timeout_ms > 100)
            timeout_ms = 100;
        n = poll(pfds, (nfds_t)count, timeout_ms);
        if (n < 0 && errno != EINTR)
            break;
        for (i = 0; n > 0 && i < count; i++) {
            struct conn *c = &conns[i];

            if (pfds[i].fd < 0 || pfds[i].revents == 0)
                continue;
            if (c->st == ST_CONNECTING) {
                int err = 0;
                socklen_t len = sizeof(err);

                if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
                    drop(c);
                    continue;
                }
                c->st = ST_OPEN;
                opened_once++;
                continue;
            }
            /* open: the server answered (a timeout page) or closed */
            if (pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t r = recv(c->fd, buf, sizeof(buf), 0);

                if (r > 0)
                    continue; /* read what it says; the close follows */
                if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                    continue;
                drop(c);
                closed++;
            }
        }

        open_now = 0;
        for (i = 0; i < count; i++)
            if (conns[i].st == ST_OPEN)
                open_now++;
        if (!announced && opened_once >= count) {
            printf("connected %ld\n", open_now);
            fflush(stdout);
            announced = 1;
        }
        t = now_s();
        if (t >= next_report) {
            printf("open=%ld closed=%ld connects=%ld\n", open_now, closed, connects);
            fflush(stdout);
            next_report = t + 1.0;
        }
    }

    open_now = 0;
    for (i = 0; i < count; i++) {
        if (conns[i].st == ST_OPEN)
            open_now++;
        drop(&conns[i]);
    }
    printf("done open=%ld closed=%ld connects=%ld seconds=%.1f\n", open_now, closed, connects,
           now_s() - start);
    fflush(stdout);
    free(conns);
    free(pfds);
    return 0;
}
