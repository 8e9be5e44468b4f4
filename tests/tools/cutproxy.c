/* cutproxy.c -- a unix-socket proxy for Redis that loses one answer.
 *
 *   cutproxy LISTEN UPSTREAM ARMFILE
 *
 * Listens on the unix socket LISTEN (mode 0777) and relays each
 * connection to the unix socket UPSTREAM. While ARMFILE exists, the
 * first command whose bytes contain ARMFILE's contents (up to 255 bytes,
 * no newline) is relayed to the server, which runs it; its answer is then
 * swallowed and both connections are closed, as when a network or a
 * Redis killed at the wrong moment cuts a reply. ARMFILE is removed when
 * the cut is armed, and ARMFILE.cut is created once the answer has been
 * swallowed, so a test can tell the command did run upstream.
 *
 * A test tool: blocking writes, one process, bounded life (exits after
 * 10 minutes, or on SIGTERM).
 */
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAIRS 64
#define TAIL      255
#define LIFE_S    600

struct pair {
    int client, server;
    bool cutting;
    size_t tail_len;
    char tail[TAIL * 2 + 4096];
};

static struct pair pairs[MAX_PAIRS];
static const char *armfile;

static int unix_addr(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path))
        return -1;
    strcpy(sa->sun_path, path);
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w, n -= (size_t)w;
    }
    return 0;
}

static void close_pair(struct pair *p)
{
    close(p->client);
    close(p->server);
    p->client = p->server = -1;
}

/* ARMFILE's pattern, if armed and found in what the client sent. */
static bool arm_matches(struct pair *p, const char *buf, size_t n)
{
    char pat[TAIL + 1];
    ssize_t len;
    int fd;

    /* keep the last TAIL bytes sent before, so a split command matches */
    if (n > sizeof(p->tail) - TAIL) {
        buf += n - (sizeof(p->tail) - TAIL);
        n = sizeof(p->tail) - TAIL;
    }
    if (p->tail_len > TAIL) {
        memmove(p->tail, p->tail + p->tail_len - TAIL, TAIL);
        p->tail_len = TAIL;
    }
    memcpy(p->tail + p->tail_len, buf, n);
    p->tail_len += n;
    if ((fd = open(armfile, O_RDONLY)) < 0)
        return false;
    len = read(fd, pat, TAIL);
    close(fd);
    while (len > 0 && (pat[len - 1] == '\n' || pat[len - 1] == '\r'))
        len--;
    if (len <= 0 || !memmem(p->tail, p->tail_len, pat, (size_t)len))
        return false;
    unlink(armfile);
    return true;
}

static void mark_cut(void)
{
    char path[4096];
    int fd;

    snprintf(path, sizeof(path), "%s.cut", armfile);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0)
        close(fd);
}

int main(int argc, char **argv)
{
    struct sockaddr_un la, ua;
    struct pollfd pfd[1 + 2 * MAX_PAIRS];
    time_t end = time(NULL) + LIFE_S;
    char buf[65536];
    int lfd;

    if (argc != 4 || unix_addr(&la, argv[1]) || unix_addr(&ua, argv[2])) {
        fprintf(stderr, "usage: cutproxy LISTEN UPSTREAM ARMFILE\n");
        return 2;
    }
    armfile = argv[3];
    signal(SIGPIPE, SIG_IGN);
    unlink(argv[1]);
    if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
        bind(lfd, (struct sockaddr *)&la, sizeof(la)) < 0 ||
        chmod(argv[1], 0777) < 0 || listen(lfd, 64) < 0) {
        perror("cutproxy: listen");
        return 1;
    }
    for (int i = 0; i < MAX_PAIRS; i++)
        pairs[i].client = pairs[i].server = -1;
    while (time(NULL) < end) {
        int n = 0;

        pfd[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
        for (int i = 0; i < MAX_PAIRS; i++) {
            pfd[n++] = (struct pollfd){.fd = pairs[i].client, .events = POLLIN};
            pfd[n++] = (struct pollfd){.fd = pairs[i].server, .events = POLLIN};
        }
        if (poll(pfd, (nfds_t)n, 1000) < 0) {
            if (errno == EINTR)
                continue;
            perror("cutproxy: poll");
            return 1;
        }
        if (pfd[0].revents & POLLIN) {
            int c = accept(lfd, NULL, NULL), s = -1, i;

            for (i = 0; c >= 0 && i < MAX_PAIRS && pairs[i].client >= 0; i++)
                ;
            if (c >= 0 && i < MAX_PAIRS &&
                (s = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0 &&
                connect(s, (struct sockaddr *)&ua, sizeof(ua)) == 0) {
                pairs[i] = (struct pair){.client = c, .server = s};
            } else {
                if (c >= 0)
                    close(c);
                if (s >= 0)
                    close(s);
            }
        }
        for (int i = 0; i < MAX_PAIRS; i++) {
            struct pair *p = &pairs[i];
            short cev = pfd[1 + 2 * i].revents, sev = pfd[2 + 2 * i].revents;
            ssize_t r;

            if (p->client < 0)
                continue;
            if (cev & (POLLIN | POLLHUP | POLLERR)) {
                r = read(p->client, buf, sizeof(buf));
                if (r <= 0) {
                    close_pair(p);
                    continue;
                }
                if (!p->cutting && arm_matches(p, buf, (size_t)r))
                    p->cutting = true;
                if (write_all(p->server, buf, (size_t)r) < 0) {
                    close_pair(p);
                    continue;
                }
            }
            if (sev & (POLLIN | POLLHUP | POLLERR)) {
                r = read(p->server, buf, sizeof(buf));
                if (r <= 0 || p->cutting) {
                    if (r > 0 && p->cutting)
                        mark_cut();
                    close_pair(p);
                    continue;
                }
                if (write_all(p->client, buf, (size_t)r) < 0)
                    close_pair(p);
            }
        }
    }
    return 0;
}
