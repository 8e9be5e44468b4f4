/* notify_recv.c -- stands in for systemd's end of $NOTIFY_SOCKET, for
 * tests/integration/systemd.sh.
 *
 *   notify_recv PATH
 *
 * Binds a unix datagram socket at PATH (removed first if it is a stale
 * socket) and, until SIGTERM or SIGINT, writes one line per message to
 * stdout: the sender's PID (from its credentials, as systemd checks
 * NotifyAccess=main), a tab, and the message with its newlines as spaces,
 * e.g. "1234\tREADY=1 MAINPID=1234 STATUS=serving, 2 workers". Each line
 * is one write(2), so a test may read the file while it grows. No
 * libraries.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* struct ucred */
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
    stop = 1;
}

/* Receive one message with its sender's credentials: its length, or -1. */
static ssize_t receive(int fd, char *buf, size_t size, pid_t *pid)
{
    union {
        struct cmsghdr align;
        char space[CMSG_SPACE(sizeof(struct ucred))];
    } control;
    struct iovec iov = {.iov_base = buf, .iov_len = size};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control.space,
                         .msg_controllen = sizeof(control.space)};
    ssize_t n = recvmsg(fd, &msg, 0);

    *pid = 0;
    for (struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; c;
         c = CMSG_NXTHDR(&msg, c)) {
        struct ucred cred;
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_CREDENTIALS)
            continue;
        memcpy(&cred, CMSG_DATA(c), sizeof(cred));
        *pid = cred.pid;
    }
    return n;
}

int main(int argc, char **argv)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct sigaction act = {.sa_handler = on_stop}; /* no SA_RESTART */
    char buf[4096], line[4200];
    struct stat st;
    int fd, one = 1;

    if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "usage: notify_recv PATH (shorter than %zu)\n",
                sizeof(sa.sun_path));
        return 2;
    }
    memcpy(sa.sun_path, argv[1], strlen(argv[1]) + 1); /* fits: above */
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);
    if (lstat(argv[1], &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(argv[1]);
    if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "notify_recv: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    while (!stop) {
        pid_t pid;
        ssize_t n = receive(fd, buf, sizeof(buf) - 1, &pid);
        int len;

        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "notify_recv: %s\n", strerror(errno));
            return 1;
        }
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] == '\n' || buf[i] == '\0')
                buf[i] = ' ';
        len =
            snprintf(line, sizeof(line), "%ld\t%.*s\n", (long)pid, (int)n, buf);
        if (write(STDOUT_FILENO, line, (size_t)len) < 0)
            return 1;
    }
    unlink(argv[1]);
    return 0;
}
