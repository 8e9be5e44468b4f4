/* stall_peer.c -- a FastCGI peer that stops half-way, for
 * tests/integration/stall.sh (issue 13).
 *
 *   stall_peer ADDRESS MODE [MS]
 *
 * ADDRESS is unix:/path or 127.0.0.1:PORT. MODE:
 *   half     4 bytes of a record header
 *   begin    a BEGIN_REQUEST record and nothing more
 *   params   BEGIN_REQUEST and parameters, without the empty PARAMS record
 *   body     a whole head announcing a 64-byte body, and 9 bytes of it
 *   noread   FCGI_KEEP_CONN requests, each sent once the previous one's
 *            answer has begun to arrive (so the server has read all of
 *            the previous request), none of the answers read: until the
 *            server blocks writing (on a unix socket: over TCP, the
 *            buffers on both sides hide how far the server got)
 *   twopart  a sign-in whose body comes in two parts MS ms apart; prints
 *            the answer's Status line and exits
 * The stalling modes print "sent" once their bytes are out, then wait,
 * reading nothing, until the server closes the connection and print
 * "closed MS" (ms since the connect, which the server's timeout cannot
 * precede; for noread, since the last answer grew),
 * or give up after 60 s ("open", exit 1). Every request carries a fake
 * bearer token and cookie: the server's logs must not show them.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <fastcgi.h>

#define GIVE_UP_MS   60000
#define SECRET_TOKEN "stall-secret-token-9f2c"

struct out {
    unsigned char data[8192];
    size_t len;
};

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *what)
{
    fprintf(stderr, "stall_peer: %s: %s\n", what, strerror(errno));
    exit(2);
}

static int connect_to(const char *address)
{
    int fd;

    if (strncmp(address, "unix:", 5) == 0) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(address + 5) >= sizeof(sa.sun_path))
            die("path too long");
        strcpy(sa.sun_path, address + 5);
        if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
            connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            die(address);
    } else {
        struct sockaddr_in sa = {.sin_family = AF_INET};
        const char *colon = strrchr(address, ':');
        char host[64];
        if (!colon || (size_t)(colon - address) >= sizeof(host))
            die("address");
        memcpy(host, address, (size_t)(colon - address));
        host[colon - address] = '\0';
        sa.sin_port = htons((unsigned short)atoi(colon + 1));
        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
            die("address");
        if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
            connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            die(address);
    }
    return fd;
}

static void record(struct out *o, int type, const void *content, size_t len)
{
    unsigned char *h = o->data + o->len;

    if (o->len + FCGI_HEADER_LEN + len > sizeof(o->data))
        abort();
    h[0] = FCGI_VERSION_1;
    h[1] = (unsigned char)type;
    h[2] = 0, h[3] = 1; /* request id 1 */
    h[4] = (unsigned char)(len >> 8), h[5] = (unsigned char)len;
    h[6] = h[7] = 0;
    memcpy(h + FCGI_HEADER_LEN, content, len);
    o->len += FCGI_HEADER_LEN + len;
}

static void begin(struct out *o, int flags)
{
    unsigned char body[8] = {0, FCGI_RESPONDER, (unsigned char)flags};

    record(o, FCGI_BEGIN_REQUEST, body, sizeof(body));
}

/* One PARAMS record holding NAME=VALUE pairs (names and values < 128),
 * up to a NULL name. */
static void params(struct out *o, const char *const (*kv)[2])
{
    unsigned char buf[4096];
    size_t n = 0;

    for (; kv[0][0]; kv++) {
        size_t k = strlen(kv[0][0]), v = strlen(kv[0][1]);
        if (k > 127 || v > 127 || n + 2 + k + v > sizeof(buf))
            abort();
        buf[n++] = (unsigned char)k;
        buf[n++] = (unsigned char)v;
        memcpy(buf + n, kv[0][0], k), n += k;
        memcpy(buf + n, kv[0][1], v), n += v;
    }
    record(o, FCGI_PARAMS, buf, n);
}

static void head(struct out *o, const char *method, const char *uri,
                 const char *length, int flags, bool terminated)
{
    const char *const kv[][2] = {
        {"REQUEST_METHOD", method},
        {"REQUEST_URI", uri},
        {"SCRIPT_NAME", "/api/v1"},
        {"SERVER_PROTOCOL", "HTTP/1.1"},
        {"REMOTE_ADDR", "127.0.0.1"},
        {"HTTP_HOST", "localhost"},
        {"CONTENT_TYPE", "application/json"},
        {"CONTENT_LENGTH", length},
        {"HTTP_AUTHORIZATION", "Bearer " SECRET_TOKEN},
        {"HTTP_COOKIE", "sg_refresh=" SECRET_TOKEN},
        {NULL, NULL},
    };

    begin(o, flags);
    params(o, kv);
    if (terminated)
        record(o, FCGI_PARAMS, "", 0);
}

static void send_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            die("send");
        c += w, n -= (size_t)w;
    }
}

/* Wait, reading nothing, until the server closes: 0, or -1 at give_up. */
static int wait_closed(int fd, long long give_up)
{
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLRDHUP};
        long long left = give_up - now_ms();
        if (left <= 0)
            return -1;
        if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
            die("poll");
        if (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR))
            return 0;
    }
}

static int unread(int fd)
{
    int n = 0;

    if (ioctl(fd, FIONREAD, &n) < 0)
        die("FIONREAD");
    return n;
}

/* Answers of requests sent with FCGI_KEEP_CONN, never read, until they
 * stop coming: the server is blocked writing. 0 when it closes, -1 if it
 * does not within GIVE_UP_MS of the last answer's growth. */
static int no_read(int fd, long long *since)
{
    struct out o = {0};
    int have = 0, at_send = -1, n;

    head(&o, "GET", "/api/v1/no-such-route", "", FCGI_KEEP_CONN, true);
    record(&o, FCGI_STDIN, "", 0);
    *since = now_ms();
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLRDHUP};
        if (now_ms() - *since > GIVE_UP_MS)
            return -1;
        if (have > at_send) { /* the last answer has begun: the next */
            send_all(fd, o.data, o.len);
            if (at_send < 0)
                printf("sent\n"), fflush(stdout);
            at_send = have;
        }
        /* a short poll: the queue's growth raises no event of its own
         * once data is waiting */
        poll(&pfd, 1, 10);
        if (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR))
            return 0;
        if ((n = unread(fd)) > have) {
            have = n;
            *since = now_ms();
        }
    }
}

static int two_part(int fd, int pause_ms)
{
    static const char body[] =
        "{\"email\":\"stall-two-part@example.com\",\"password\":\"not-it-1\"}";
    size_t half = sizeof(body) / 2, n = 0;
    char length[16], answer[4096], *status;
    struct out o = {0};
    struct timespec ts = {pause_ms / 1000, (long)(pause_ms % 1000) * 1000000};

    snprintf(length, sizeof(length), "%zu", sizeof(body) - 1);
    head(&o, "POST", "/api/v1/auth/signin", length, 0, true);
    record(&o, FCGI_STDIN, body, half);
    send_all(fd, o.data, o.len);
    nanosleep(&ts, NULL); /* the point of the test: a pause mid-body */
    o.len = 0;
    record(&o, FCGI_STDIN, body + half, sizeof(body) - 1 - half);
    record(&o, FCGI_STDIN, "", 0);
    send_all(fd, o.data, o.len);
    for (;;) {
        ssize_t r = recv(fd, answer + n, sizeof(answer) - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n == sizeof(answer) - 1)
            break;
    }
    answer[n] = '\0';
    /* the STDOUT record's content starts 8 bytes in, with the CGI head */
    status = n > FCGI_HEADER_LEN ? strstr(answer + FCGI_HEADER_LEN, "Status:")
                                 : NULL;
    if (!status) {
        printf("no answer\n");
        return 1;
    }
    printf("%.*s\n", (int)strcspn(status, "\r\n"), status);
    return 0;
}

int main(int argc, char **argv)
{
    struct out o = {0};
    const char *mode;
    long long since;
    int fd;

    if (argc < 3) {
        fprintf(stderr, "usage: stall_peer ADDRESS MODE [MS]\n");
        return 2;
    }
    mode = argv[2];
    since = now_ms();
    fd = connect_to(argv[1]);
    if (strcmp(mode, "twopart") == 0)
        return two_part(fd, argc > 3 ? atoi(argv[3]) : 300);
    if (strcmp(mode, "noread") == 0) {
        if (no_read(fd, &since) < 0) {
            printf("open\n");
            return 1;
        }
        printf("closed %lld\n", now_ms() - since);
        return 0;
    }
    if (strcmp(mode, "half") == 0) {
        begin(&o, 0);
        o.len = 4;
    } else if (strcmp(mode, "begin") == 0) {
        begin(&o, 0);
    } else if (strcmp(mode, "params") == 0) {
        head(&o, "GET", "/api/v1/health", "", 0, false);
    } else if (strcmp(mode, "body") == 0) {
        head(&o, "POST", "/api/v1/auth/signin", "64", 0, true);
        record(&o, FCGI_STDIN, "{\"email\":", 9);
    } else {
        fprintf(stderr, "stall_peer: unknown mode %s\n", mode);
        return 2;
    }
    send_all(fd, o.data, o.len);
    printf("sent\n");
    fflush(stdout);
    if (wait_closed(fd, since + GIVE_UP_MS) < 0) {
        printf("open\n");
        return 1;
    }
    printf("closed %lld\n", now_ms() - since);
    return 0;
}
