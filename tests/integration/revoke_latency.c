/*
 * revoke_latency -- how long a session signed out on one host is still
 * accepted by another, for tests/integration/revocation.sh (issue 17).
 *
 *   revoke_latency --port-a PA --port-b PB [--count N] [--users U]
 *                  [--bound-ms MS] [--tag T] [--password PW]
 *                  [--mount /api/v1] [--max-seconds S]
 *
 * Host A (127.0.0.1:PA) and host B (127.0.0.1:PB) share one Redis and
 * one signing key; B runs verify_mode = local. The client registers U
 * users on A (rl-T-I@example.com) and signs in N sessions there, round
 * robin, keeping the access tokens. Then, for each session in turn:
 *
 *   1. GET B/auth/verify until 200 (B has accepted the token);
 *   2. POST A/auth/signout, expecting 200; t0 = when its answer is read;
 *   3. GET B/auth/verify, back to back, until 401; t1 = when the first
 *      401 is read; the latency is t1 - t0. Given up MS after t0: the
 *      session is counted "never" refused within the bound;
 *   4. GET B/auth/verify once more: a 200 after the 401 counts as
 *      "reaccepted".
 *
 * Whether B answered from its table or through Redis cannot be told
 * from an answer (both carry the same headers); the suite asks B's
 * GET /ready (checks.revocations) around the run.
 *
 * Prints, to stdout:
 *   created sessions=N users=U seconds=S
 *   result count=N refused=R never=V not_accepted=X signout_failed=F
 *          reaccepted=A other_status=O       (one line)
 *   latency_ms count=R min=.. p50=.. p90=.. p99=.. max=..
 * Percentiles are nearest-rank over the refused sessions. Exit status 0
 * once the loop ran (the suite judges the figures), 1 when the sessions
 * cannot be created or a host cannot be reached, 2 on bad arguments.
 *
 * Plain POSIX sockets, HTTP/1.1 keep-alive, one connection per host,
 * Content-Length and chunked bodies, a server's "Connection: close"
 * honoured. Loopback only: the address is 127.0.0.1, not an option. Each
 * request has a 30 s bound and the whole run --max-seconds (default 150),
 * so that a broken stack cannot hold it forever.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define IO_TIMEOUT_MS 30000
#define BUF_MAX       (256 * 1024)
#define TOKEN_MAX     4096

struct conn {
    int port;
    int fd;
    char *buf; /* bytes read and not yet consumed: buf[off, len) */
    size_t off, len;
    unsigned long long received; /* bytes read since it was created */
    double last_used;
};

struct reply {
    int status;
    int close;     /* the server will close the connection */
    char *body;    /* NUL-terminated */
    size_t body_len;
};

static double deadline_s;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
    fprintf(stderr, "usage: revoke_latency --port-a PA --port-b PB "
                    "[--count N] [--users U] [--bound-ms MS] [--tag T]\n"
                    "       [--password PW] [--mount PATH] "
                    "[--max-seconds S]\n");
    return 2;
}

static int parse_long(const char *s, long lo, long hi, long *out)
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

/* ---- connections ------------------------------------------------------ */

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->off = c->len = 0;
}

static int conn_open(struct conn *c)
{
    struct sockaddr_in sa;
    int one = 1;

    conn_close(c);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)c->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        conn_close(c);
        return -1;
    }
    c->last_used = now_s();
    return 0;
}

/* Wait until fd is readable (or writable), at most IO_TIMEOUT_MS. */
static int wait_fd(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    int n;

    do
        n = poll(&p, 1, IO_TIMEOUT_MS);
    while (n < 0 && errno == EINTR);
    return n > 0 ? 0 : -1;
}

static int send_all(struct conn *c, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n;

        if (wait_fd(c->fd, POLLOUT) < 0)
            return -1;
        n = send(c->fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* More bytes into c->buf; 0, or -1 on close, error or timeout. */
static int fill(struct conn *c)
{
    ssize_t n;

    if (c->off > 0 && c->off == c->len)
        c->off = c->len = 0;
    if (c->len == BUF_MAX) {
        if (c->off == 0)
            return -1; /* a response larger than we ever expect */
        memmove(c->buf, c->buf + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
    }
    if (wait_fd(c->fd, POLLIN) < 0)
        return -1;
    do
        n = recv(c->fd, c->buf + c->len, BUF_MAX - c->len, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return -1;
    c->len += (size_t)n;
    c->received += (unsigned long long)n;
    return 0;
}

/* The next line (CRLF stripped, NUL-terminated in place); NULL on error. */
static char *read_line(struct conn *c)
{
    for (;;) {
        char *start = c->buf + c->off;
        char *nl = memchr(start, '\n', c->len - c->off);

        if (nl) {
            *nl = '\0';
            if (nl > start && nl[-1] == '\r')
                nl[-1] = '\0';
            c->off = (size_t)(nl + 1 - c->buf);
            return start;
        }
        if (fill(c) < 0)
            return NULL;
    }
}

/* n bytes of body appended to r->body. */
static int read_body(struct conn *c, struct reply *r, size_t n)
{
    char *b;

    if (n > BUF_MAX || r->body_len + n > BUF_MAX)
        return -1;
    if (!(b = realloc(r->body, r->body_len + n + 1)))
        return -1;
    r->body = b;
    while (n > 0) {
        size_t have = c->len - c->off, take;

        if (have == 0 && fill(c) < 0)
            return -1;
        have = c->len - c->off;
        take = have < n ? have : n;
        memcpy(r->body + r->body_len, c->buf + c->off, take);
        r->body_len += take;
        c->off += take;
        n -= take;
    }
    r->body[r->body_len] = '\0';
    return 0;
}

static int read_chunked(struct conn *c, struct reply *r)
{
    for (;;) {
        char *line = read_line(c), *end;
        unsigned long size;

        if (!line)
            return -1;
        errno = 0;
        size = strtoul(line, &end, 16);
        if (errno || end == line)
            return -1;
        if (size == 0)
            break;
        if (read_body(c, r, size) < 0 || !(line = read_line(c)) || *line)
            return -1;
    }
    for (;;) { /* trailers, up to the empty line */
        char *line = read_line(c);
        if (!line)
            return -1;
        if (!*line)
            return 0;
    }
}

/* One response: status, the headers we care for, the body. */
static int read_reply(struct conn *c, struct reply *r)
{
    char *line = read_line(c);
    long length = -1;
    int chunked = 0, minor = 1;

    memset(r, 0, sizeof(*r));
    if (!line || sscanf(line, "HTTP/1.%d %d", &minor, &r->status) != 2)
        return -1;
    r->close = minor == 0;
    while ((line = read_line(c)) && *line) {
        char *v = strchr(line, ':');

        if (!v)
            return -1;
        *v++ = '\0';
        while (*v == ' ' || *v == '\t')
            v++;
        if (!strcasecmp(line, "Content-Length")) {
            if (parse_long(v, 0, BUF_MAX, &length) < 0)
                return -1;
        } else if (!strcasecmp(line, "Transfer-Encoding")) {
            chunked = strcasecmp(v, "chunked") == 0;
        } else if (!strcasecmp(line, "Connection")) {
            if (!strcasecmp(v, "close"))
                r->close = 1;
            else if (!strcasecmp(v, "keep-alive"))
                r->close = 0;
        }
    }
    if (!line)
        return -1;
    if (chunked)
        return read_chunked(c, r);
    if (length >= 0)
        return read_body(c, r, (size_t)length);
    r->close = 1; /* a body up to the close: never sent to us, but valid */
    while (fill(c) == 0)
        ;
    return read_body(c, r, c->len - c->off);
}

/* One request on c's kept connection (a new one if there is none, or if
 * a kept one turns out closed before any byte of the answer arrived: the
 * server's idle timeout; only then is the request sent again). */
static int request(struct conn *c, const char *method, const char *path,
                   const char *token, const char *body, struct reply *r)
{
    char head[TOKEN_MAX + 1024];
    size_t blen = body ? strlen(body) : 0;
    int n, tries;

    memset(r, 0, sizeof(*r));
    if (now_s() > deadline_s) {
        fprintf(stderr, "revoke_latency: --max-seconds reached\n");
        exit(1);
    }
    n = snprintf(head, sizeof(head),
                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 "User-Agent: revoke_latency\r\n%s%s%s"
                 "Content-Length: %zu\r\n%s\r\n",
                 method, path, token ? "Authorization: Bearer " : "",
                 token ? token : "", token ? "\r\n" : "", blen,
                 body ? "Content-Type: application/json\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof(head))
        return -1;
    for (tries = 0; tries < 2; tries++) {
        unsigned long long before;

        /* an idle keep-alive connection may be closed under us (lighttpd
         * after 5 s): a POST goes on a fresh one rather than risk that */
        if (c->fd >= 0 && body && now_s() - c->last_used > 1.0)
            conn_close(c);
        if (c->fd < 0 && conn_open(c) < 0)
            return -1;
        before = c->received;
        if (send_all(c, head, (size_t)n) == 0 &&
            (blen == 0 || send_all(c, body, blen) == 0) &&
            read_reply(c, r) == 0) {
            c->last_used = now_s();
            if (r->close)
                conn_close(c);
            return 0;
        }
        free(r->body);
        r->body = NULL;
        /* an answer started arriving: the request ran; never resend it */
        if (c->received != before) {
            conn_close(c);
            return -1;
        }
        conn_close(c);
    }
    return -1;
}

/* The string value of "key":"..." in a JSON body (no escapes expected:
 * tokens are base64url). Copied into out; 0 or -1. */
static int json_string(const char *body, const char *key, char *out, size_t cap)
{
    char pat[64];
    const char *p, *end;

    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    if (!(p = strstr(body, pat)))
        return -1;
    p += strlen(pat);
    if (!(end = strchr(p, '"')) || (size_t)(end - p) >= cap)
        return -1;
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* nearest rank: the smallest value with at least p of them at or below */
static double percentile(const double *sorted, long n, double p)
{
    long rank = (long)((double)n * p + 0.999999);

    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

/* ---- the run ----------------------------------------------------------- */

struct opts {
    long port_a, port_b, count, users, bound_ms, max_seconds;
    const char *tag, *password, *mount;
};

struct counts {
    long refused, never, not_accepted, signout_failed, reaccepted, other;
};

static int create_sessions(const struct opts *o, struct conn *a, char **tokens)
{
    char path[256], body[512], email[160];
    struct reply r;
    double t0 = now_s();

    for (long u = 0; u < o->users; u++) {
        snprintf(email, sizeof(email), "rl-%s-%ld@example.com", o->tag, u);
        snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}",
                 email, o->password);
        snprintf(path, sizeof(path), "%s/auth/register", o->mount);
        if (request(a, "POST", path, NULL, body, &r) < 0 || r.status != 201) {
            fprintf(stderr, "revoke_latency: register %s: %d %s\n", email,
                    r.status, r.body ? r.body : "(no answer)");
            free(r.body);
            return -1;
        }
        free(r.body);
    }
    snprintf(path, sizeof(path), "%s/auth/signin", o->mount);
    for (long i = 0; i < o->count; i++) {
        snprintf(email, sizeof(email), "rl-%s-%ld@example.com", o->tag,
                 i % o->users);
        snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}",
                 email, o->password);
        if (request(a, "POST", path, NULL, body, &r) < 0 || r.status != 200 ||
            !(tokens[i] = malloc(TOKEN_MAX)) ||
            json_string(r.body, "access_token", tokens[i], TOKEN_MAX) < 0) {
            fprintf(stderr, "revoke_latency: sign-in %ld of %s: %d %s\n", i,
                    email, r.status, r.body ? r.body : "(no answer)");
            free(r.body);
            return -1;
        }
        free(r.body);
    }
    printf("created sessions=%ld users=%ld seconds=%.1f\n", o->count, o->users,
           now_s() - t0);
    fflush(stdout);
    return 0;
}

/* Steps 1 to 4 for one token; the latency in *ms, or -1 if not refused. */
static void one_session(const struct opts *o, struct conn *a, struct conn *b,
                        const char *token, struct counts *k, double *ms)
{
    char verify[256], signout[256];
    double bound = (double)o->bound_ms / 1000.0, t0, give_up;
    struct timespec pause = {0, 10 * 1000 * 1000};
    struct reply r;
    int ok = 0;

    snprintf(verify, sizeof(verify), "%s/auth/verify", o->mount);
    snprintf(signout, sizeof(signout), "%s/auth/signout", o->mount);
    *ms = -1;
    give_up = now_s() + bound;
    while (!ok && now_s() < give_up) { /* 1: B accepts the token */
        if (request(b, "GET", verify, token, NULL, &r) == 0) {
            ok = r.status == 200;
            if (!ok && r.status != 503)
                k->other++;
        }
        free(r.body);
        if (!ok)
            nanosleep(&pause, NULL);
    }
    if (!ok) {
        k->not_accepted++;
        return;
    }
    /* 2: sign out on A, with the empty body browsers send */
    if (request(a, "POST", signout, token, "", &r) < 0 || r.status != 200) {
        k->signout_failed++;
        free(r.body);
        return;
    }
    free(r.body);
    t0 = now_s();
    for (;;) { /* 3: B refuses it */
        int st = request(b, "GET", verify, token, NULL, &r) == 0 ? r.status : 0;
        double t1 = now_s();

        free(r.body);
        if (st == 401) {
            *ms = (t1 - t0) * 1000.0;
            k->refused++;
            break;
        }
        if (st != 200 && st != 503)
            k->other++;
        if (t1 - t0 > bound) {
            k->never++;
            return;
        }
        if (st != 200) /* no answer, or a 503: not worth hammering */
            nanosleep(&pause, NULL);
    }
    /* 4: and goes on refusing it */
    if (request(b, "GET", verify, token, NULL, &r) == 0 && r.status == 200)
        k->reaccepted++;
    free(r.body);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = !v;

        if (bad)
            return -1;
        if (!strcmp(a, "--port-a"))
            bad = parse_long(v, 1, 65535, &o->port_a);
        else if (!strcmp(a, "--port-b"))
            bad = parse_long(v, 1, 65535, &o->port_b);
        else if (!strcmp(a, "--count"))
            bad = parse_long(v, 1, 100000, &o->count);
        else if (!strcmp(a, "--users"))
            bad = parse_long(v, 1, 10000, &o->users);
        else if (!strcmp(a, "--bound-ms"))
            bad = parse_long(v, 1, 600000, &o->bound_ms);
        else if (!strcmp(a, "--max-seconds"))
            bad = parse_long(v, 1, 3600, &o->max_seconds);
        else if (!strcmp(a, "--tag")) {
            o->tag = v; /* goes into an email address and a JSON string */
            bad = strlen(v) > 64 || strpbrk(v, "\"\\@ ") != NULL;
        } else if (!strcmp(a, "--password")) {
            o->password = v; /* goes into a JSON string */
            bad = strlen(v) > 200 || strpbrk(v, "\"\\") != NULL;
        } else if (!strcmp(a, "--mount")) {
            o->mount = v;
            bad = strlen(v) > 100 || v[0] != '/';
        } else
            bad = 1;
        if (bad)
            return -1;
    }
    return o->port_a && o->port_b ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct opts o = {.count = 1000,
                     .users = 10,
                     .bound_ms = 8000,
                     .max_seconds = 150,
                     .tag = "x",
                     .password = "correct horse battery",
                     .mount = "/api/v1"};
    struct conn a = {.fd = -1}, b = {.fd = -1};
    struct counts k = {0};
    double *lat;
    char **tokens;
    long n = 0;

    if (parse_args(argc, argv, &o) < 0)
        return usage();
    signal(SIGPIPE, SIG_IGN);
    deadline_s = now_s() + (double)o.max_seconds;
    a.port = (int)o.port_a, b.port = (int)o.port_b;
    a.buf = malloc(BUF_MAX);
    b.buf = malloc(BUF_MAX);
    tokens = calloc((size_t)o.count, sizeof(*tokens));
    lat = calloc((size_t)o.count, sizeof(*lat));
    if (!a.buf || !b.buf || !tokens || !lat) {
        fprintf(stderr, "revoke_latency: out of memory\n");
        return 1;
    }
    if (create_sessions(&o, &a, tokens) < 0)
        return 1;
    for (long i = 0; i < o.count; i++) {
        double ms;

        one_session(&o, &a, &b, tokens[i], &k, &ms);
        if (ms >= 0)
            lat[n++] = ms;
        free(tokens[i]);
    }
    printf("result count=%ld refused=%ld never=%ld not_accepted=%ld "
           "signout_failed=%ld reaccepted=%ld other_status=%ld\n",
           o.count, k.refused, k.never, k.not_accepted, k.signout_failed,
           k.reaccepted, k.other);
    if (n > 0) {
        qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
        printf("latency_ms count=%ld min=%.2f p50=%.2f p90=%.2f p99=%.2f "
               "max=%.2f\n",
               n, lat[0], percentile(lat, n, 0.50), percentile(lat, n, 0.90),
               percentile(lat, n, 0.99), lat[n - 1]);
    } else {
        printf("latency_ms count=0\n");
    }
    conn_close(&a);
    conn_close(&b);
    free(a.buf);
    free(b.buf);
    free(tokens);
    free(lat);
    return 0;
}
