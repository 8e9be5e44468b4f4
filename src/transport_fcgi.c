/* transport_fcgi.c -- the FastCGI accept loop (responder and authorizer).
 *
 * One request at a time per process, as fcgiwrap and php-cgi do: the web
 * server or the master spreads load over processes. The stop and reload
 * signals are blocked while a request is served and let in by each wait
 * (ppoll(2)), so SIGTERM and SIGHUP end a worker's wait for a connection
 * at once while a request being served always completes.
 *
 * A worker that serves one connection at a time must never wait on a peer
 * without a bound, or a peer that sends half a record (or never reads its
 * answer) takes the worker for good. libfcgi has no timeouts and reads a
 * request's parameters inside FCGX_Accept_r, so the connection is
 * accepted here, not by libfcgi (whose accept cannot be bounded: timeouts
 * set on a listening socket reach TCP connections, not unix ones), and
 * handed to libfcgi in the request's ipcFd, the way libfcgi itself keeps
 * an FCGI_KEEP_CONN connection between requests. Before that, the worker
 * waits (poll and MSG_PEEK, nothing consumed) until the request's records
 * up to its parameters' end are all in the socket, at most
 * fcgi_io_timeout; libfcgi then parses them without blocking. When all
 * of the request is in (its stdin's end too: nearly always), and it is a
 * plain one (fcgi_record.h), it does not go to libfcgi at all: it is
 * parsed into buffers kept for the worker's life, read out of the socket
 * and answered with one send, which halves the instructions of a request
 * served without Redis (docs/PERFORMANCE.md). A body not
 * yet all in, and an answer larger than a socket takes at once, are
 * bounded by SO_RCVTIMEO and SO_SNDTIMEO on the connection: each read or
 * write waits at most fcgi_io_timeout (the common request, all in at once
 * with a small answer, needs neither). libfcgi is given no listening
 * socket (-1), so if it drops a malformed request it cannot go on to
 * accept one behind our back.
 *
 * The request body is read into one buffer kept for the life of the
 * worker; bodies over max_body_bytes are never read (libfcgi drains the
 * connection when the request is finished).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <fastcgi.h>
#include <fcgiapp.h>
#include <openssl/crypto.h>

#include "clock.h"
#include "app.h"
#include "buf.h"
#include "fcgi_record.h"
#include "log.h"
#include "transport.h"

/* The most of a request's head (BEGIN_REQUEST and PARAMS records) looked
 * at before it is handed to libfcgi. Heads from web servers are a few KiB;
 * a larger one is handed over as it is and read under the per-read
 * timeout. Kept well under a socket's receive queue, which must be able
 * to hold it. */
#define HEAD_PEEK_MAX (32 * 1024)

#ifndef POLLRDHUP
#define POLLRDHUP 0 /* not Linux: a half-closed peer is seen at the timeout */
#endif

enum head {
    HEAD_PARTIAL,   /* more records to come */
    HEAD_READY,     /* up to the empty PARAMS record, or as much as fits */
    HEAD_MALFORMED, /* not FastCGI version 1 */
    HEAD_CLOSED,    /* the peer closed (or reset) before the head was in */
    HEAD_TIMEOUT,   /* fcgi_io_timeout passed first */
    HEAD_STOP,      /* a stop or reload came while a kept one was idle */
};

/* What ended a request early, for its one log line. */
enum stall { STALL_NONE, STALL_READ, STALL_WRITE, STALL_ERROR };

/* The most of an answer written to a connection whose writes are not
 * bounded (its first request's): less than any socket takes without
 * waiting for the peer to read (a unix socket's send buffer is 200 KiB by
 * default and never under 4 KiB; a fresh TCP one's, 16 KiB). */
#define ANSWER_AT_ONCE 2048

struct conn_loop {
    struct sg_ctx *ctx;
    const volatile sig_atomic_t *stop, *reload;
    sigset_t wait_mask; /* the mask while waiting: stop signals let in */
    int epfd;           /* the listening socket's epoll set, or -1 */
    int64_t timeout_ms;
    const char *web_server_addrs; /* $FCGI_WEB_SERVER_ADDRS, or NULL */
    struct sg_fcgi_parser parser; /* the requests read without libfcgi */
    struct sg_buf answer;         /* their answers, framed */
    char peek[HEAD_PEEK_MAX];
};

/* One accepted connection. */
struct conn {
    int fd;
    bool kept;     /* it has served a request (FCGI_KEEP_CONN) */
    bool bounded;  /* its reads and writes time out */
    bool complete; /* the request, its stdin's end included, was peeked */
};

void sg_fcgi_init(void)
{
    FCGX_Init();
}

bool sg_fcgi_fd0_is_listener(void)
{
    return !FCGX_IsCGI();
}

void sg_fcgi_interrupt(void)
{
    FCGX_ShutdownPending();
}

/* libfcgi's FCGI_WEB_SERVER_ADDRS, which its accept honoured: when set
 * (comma-separated IPv4 addresses), an IPv4 peer not in it is refused. */
static bool peer_allowed(const char *list, const struct sockaddr_storage *sa)
{
    const struct in_addr *peer = &((const struct sockaddr_in *)sa)->sin_addr;

    if (!list || !*list || sa->ss_family != AF_INET)
        return true;
    while (*list) {
        size_t n = strcspn(list, ",");
        char one[INET_ADDRSTRLEN];
        struct in_addr allowed;

        if (n < sizeof(one)) {
            memcpy(one, list, n);
            one[n] = '\0';
            if (inet_pton(AF_INET, one, &allowed) == 1 &&
                allowed.s_addr == peer->s_addr)
                return true;
        }
        list += n + (list[n] == ',');
    }
    return false;
}

/* Accept one connection. -1 with errno when there is none. */
static int accept_conn(const struct conn_loop *l, int listen_fd)
{
    struct sockaddr_storage sa = {0}; /* an unnamed peer may fill nothing */
    socklen_t len = sizeof(sa);
    int fd, one = 1;

    fd = accept4(listen_fd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC);
    if (fd < 0)
        return -1;
    if (!peer_allowed(l->web_server_addrs, &sa)) {
        sg_log_debug("fastcgi: peer not in FCGI_WEB_SERVER_ADDRS: closed");
        close(fd);
        errno = ECONNABORTED;
        return -1;
    }
    /* as libfcgi does: answers are written in records, no reply comes */
    if (sa.ss_family == AF_INET || sa.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Bound each read and write of c by fcgi_io_timeout, once per
 * connection: before a read that could wait (a request not all in, a
 * kept connection) or a write that could (an answer larger than a socket
 * takes at once, a kept connection whose peer may not be reading).
 * Otherwise every byte libfcgi reads is already in the socket and what it
 * writes fits: the two calls are saved. false: it failed (logged). */
static bool bound_conn(const struct conn_loop *l, struct conn *c)
{
    struct timeval tv = {.tv_sec = (time_t)(l->timeout_ms / 1000),
                         .tv_usec = (suseconds_t)(l->timeout_ms % 1000 * 1000)};

    if (c->bounded)
        return true;
    if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
        sg_log_error("fastcgi: cannot set the connection's timeouts: %s",
                     strerror(errno));
        return false;
    }
    c->bounded = true;
    return true;
}

/* A signal, a connection that went away before it was accepted, or one
 * another worker took first (the listening socket does not block). */
static bool accept_can_retry(int err)
{
    return err == EINTR || err == ECONNABORTED || err == EPROTO ||
           err == ECONNRESET || err == EAGAIN || err == EWOULDBLOCK;
}

/* Walk the records in p[0..n) (FastCGI 1.0, section 3.3: an 8-byte header
 * of version, type, request id, content and padding length, then the
 * content and the padding). full: p is as much as will be looked at.
 * *complete: the request's stdin ends in p too, so reading all of the
 * request waits for nothing. */
static enum head scan_head(const unsigned char *p, size_t n, bool full,
                           bool *complete)
{
    size_t off = 0;
    bool params_end = false;

    *complete = false;
    while (n - off >= FCGI_HEADER_LEN) {
        const unsigned char *h = p + off;
        size_t content = (size_t)h[4] << 8 | h[5];
        size_t record = FCGI_HEADER_LEN + content + h[6];

        if (h[0] != FCGI_VERSION_1)
            return HEAD_MALFORMED;
        if (n - off < record)
            break;
        /* a management record (section 4) that may want an answer before
         * the peer goes on: libfcgi answers it, reading under SO_RCVTIMEO */
        if (h[2] == 0 && h[3] == 0)
            return HEAD_READY;
        /* section 3.4: an empty record ends a stream, PARAMS then STDIN */
        if (h[1] == FCGI_PARAMS && content == 0)
            params_end = true;
        if (h[1] == FCGI_STDIN && content == 0 && params_end) {
            *complete = true;
            return HEAD_READY;
        }
        off += record;
    }
    return params_end || full ? HEAD_READY : HEAD_PARTIAL;
}

/* poll(2) one descriptor for at most ms (< 0: no bound), with the stop
 * signals let in for the wait alone: a signal that came while a request
 * was served is acted on here, at once (EINTR). */
static int wait_for(const struct conn_loop *l, struct pollfd *pfd, int64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
                          .tv_nsec = (long)(ms % 1000 * 1000000)};

    return ppoll(pfd, 1, ms < 0 ? NULL : &ts, &l->wait_mask);
}

/* Wait up to ms (< 0: no bound) for a connection on the listening socket:
 * > 0 one may be there, 0 the time is up, < 0 with errno (EINTR: a stop
 * signal). All the workers of a host wait on the one socket. poll(2)
 * would wake every idle one for each connection, all but one to find
 * nothing (measured: a third more CPU per request at 16 connections);
 * an epoll set of each worker's own with EPOLLEXCLUSIVE wakes one, as
 * accept(2) on a blocking socket did (nginx does the same). Kernels
 * before 4.5 refuse the flag: poll(2) then. */
static int wait_listen(struct conn_loop *l, int listen_fd, int64_t ms)
{
    struct pollfd pfd = {.fd = listen_fd, .events = POLLIN};
    struct epoll_event ev;

    if (l->epfd < 0)
        return wait_for(l, &pfd, ms);
    return epoll_pwait(l->epfd, &ev, 1,
                       ms < 0 ? -1 : (int)(ms > INT_MAX ? INT_MAX : ms),
                       &l->wait_mask);
}

/* Wait until c holds the request's head, without consuming any of it.
 * A kept connection has served a request already (FCGI_KEEP_CONN), so a
 * stop need not wait for it. *seen: how many bytes had come. */
static enum head wait_head(struct conn_loop *l, struct conn *c, size_t *seen)
{
    int fd = c->fd;
    bool kept = c->kept;
    int64_t deadline = sg_monotonic_ms() + l->timeout_ms;
    size_t cap = sizeof(l->peek);
    bool hangup = false;

    *seen = 0;
    for (;;) {
        ssize_t n = recv(fd, l->peek, cap, MSG_PEEK | MSG_DONTWAIT);
        struct pollfd pfd = {.fd = fd, .events = POLLIN | POLLRDHUP};
        int64_t left;
        enum head st;

        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                       errno != EINTR))
            return HEAD_CLOSED;
        if (n > 0) {
            *seen = (size_t)n;
            st = scan_head((const unsigned char *)l->peek, (size_t)n,
                           (size_t)n == cap, &c->complete);
            if (st != HEAD_PARTIAL)
                return st;
        }
        if (hangup)
            return HEAD_CLOSED; /* what came is all that will */
        if ((left = deadline - sg_monotonic_ms()) <= 0)
            return HEAD_TIMEOUT;
        /* a kept connection's wait does not hold back work between
         * requests (the activity written behind): it waits no longer */
        if (kept && *seen == 0) {
            int64_t due = sg_app_next_tick(l->ctx, sg_now_ms());
            if (due == 0) {
                sg_app_tick(l->ctx, sg_now_ms());
                continue;
            }
            if (due > 0 && due < left)
                left = due;
        }
        if (wait_for(l, &pfd, left) < 0) {
            if (errno != EINTR)
                return HEAD_CLOSED;
            if (kept && *seen == 0 && (*l->stop || *l->reload))
                return HEAD_STOP;
            continue;
        }
        hangup = (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
    }
}

static bool timed_out(int err)
{
    return err == EAGAIN || err == EWOULDBLOCK;
}

static long fcgi_read(void *arg, char *p, size_t n)
{
    return FCGX_GetStr(p, (int)n, ((FCGX_Request *)arg)->in);
}

/* Serve the accepted request; a peer that stops sending the body or stops
 * taking the answer makes it STALL_READ or STALL_WRITE. */
static enum stall serve_one(const struct conn_loop *l, struct conn *c,
                            FCGX_Request *fr, struct sg_buf *body,
                            struct sg_buf *head, struct sg_response *res)
{
    struct sg_ctx *ctx = l->ctx;
    struct sg_request req;
    enum stall stall = STALL_NONE;

    sg_request_init(&req, fr->envp, ctx->cfg->max_body_bytes, sg_now_ms());
    sg_response_reset(res);
    sg_buf_reset(head);
    if (req.content_length &&
        sg_request_read_body(&req, body, fcgi_read, fr) != SG_OK) {
        if (timed_out(FCGX_GetError(fr->in)))
            stall = STALL_READ; /* no answer: nobody is sending or reading */
        else
            sg_response_error(res, SG_API_BAD_REQUEST,
                              "The body is shorter than Content-Length.", NULL);
    } else {
        sg_app_handle(ctx, &req, res);
    }
    if (stall == STALL_NONE &&
        sg_response_head(res, req.request_id, head) == SG_OK) {
        size_t n = head->len + (req.head ? 0 : res->body.len);

        /* a write that could wait for the peer is bounded */
        if (n > ANSWER_AT_ONCE && !bound_conn(l, c)) {
            stall = STALL_ERROR;
        } else {
            FCGX_PutStr(head->data, (int)head->len, fr->out);
            if (!req.head && res->body.len)
                FCGX_PutStr(res->body.data, (int)res->body.len, fr->out);
            /* closed as FCGX_Finish_r would (stderr first), to see the
             * error */
            FCGX_FClose(fr->err);
            FCGX_FClose(fr->out);
            if (timed_out(FCGX_GetError(fr->out)))
                stall = STALL_WRITE;
        }
    }
    sg_request_release(&req);
    /* kept for the next request: the body may hold a password, the
     * answer tokens (Set-Cookie and body) */
    sg_buf_wipe(body);
    sg_buf_wipe(head);
    sg_response_wipe(res);
    return stall;
}

/* The STDIN stream of a request parsed here, read as the body. */
struct stdin_reader {
    const char *p;
    size_t left;
};

static long stdin_read(void *arg, char *p, size_t n)
{
    struct stdin_reader *r = arg;

    if (n > r->left)
        n = r->left;
    memcpy(p, r->p, n);
    r->p += n, r->left -= n;
    return (long)n;
}

/* Write all of p[0..n) to c (bounded by then, when it could wait). */
static enum stall send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return timed_out(errno) ? STALL_WRITE : STALL_ERROR;
        p += k, n -= (size_t)k;
    }
    return STALL_NONE;
}

/* Serve a request sg_fcgi_parse took apart, its bytes already consumed:
 * the same steps as serve_one, with the answer framed here and written
 * with one send. */
static enum stall serve_parsed(struct conn_loop *l, struct conn *c,
                               const struct sg_fcgi_request *fq,
                               struct sg_buf *body, struct sg_buf *head,
                               struct sg_response *res)
{
    struct sg_ctx *ctx = l->ctx;
    struct sg_request req;
    struct stdin_reader in = {.p = fq->in, .left = fq->in_len};
    struct sg_buf *out = &l->answer;
    enum stall stall = STALL_NONE;
    bool ok;

    sg_request_init(&req, fq->envp, ctx->cfg->max_body_bytes, sg_now_ms());
    sg_response_reset(res);
    sg_buf_reset(head);
    sg_buf_reset(out);
    if (req.content_length &&
        sg_request_read_body(&req, body, stdin_read, &in) != SG_OK)
        sg_response_error(res, SG_API_BAD_REQUEST,
                          "The body is shorter than Content-Length.", NULL);
    else
        sg_app_handle(ctx, &req, res);
    if (sg_response_head(res, req.request_id, head) == SG_OK)
        ok = sg_fcgi_answer(out, fq->id, head->data, head->len,
                            req.head ? NULL : res->body.data,
                            req.head ? 0 : res->body.len) == SG_OK;
    else /* no answer: the server sees the request end without one */
        ok = sg_fcgi_answer(out, fq->id, NULL, 0, NULL, 0) == SG_OK;
    if (!ok || (out->len > ANSWER_AT_ONCE && !bound_conn(l, c)))
        stall = STALL_ERROR;
    else
        stall = send_all(c->fd, out->data, out->len);
    sg_request_release(&req);
    sg_buf_wipe(body);
    sg_buf_wipe(head);
    sg_buf_wipe(out);
    sg_response_wipe(res);
    return stall;
}

/* Take the request c's peek holds out of the socket: the bytes peeked,
 * now read. false: the connection failed. */
static bool consume(struct conn_loop *l, int fd, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t k = recv(fd, l->peek + got, len - got, MSG_DONTWAIT);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        got += (size_t)k;
    }
    return true;
}

/* One line per dropped request, as the operator needs it: what stalled,
 * for how long, how far the peer had got. Nothing the peer sent. */
static void log_head_end(const struct conn_loop *l, enum head st, bool kept,
                         size_t seen)
{
    if (st == HEAD_TIMEOUT && !(kept && seen == 0))
        sg_log_warn("fastcgi: no complete request after %lld ms (%zu bytes "
                    "came): connection dropped",
                    (long long)l->timeout_ms, seen);
    else if (st == HEAD_MALFORMED)
        sg_log_warn("fastcgi: not a FastCGI 1 record: connection dropped");
    else if (st == HEAD_TIMEOUT || (st == HEAD_CLOSED && seen > 0))
        sg_log_debug("fastcgi: connection %s with %zu bytes of a request",
                     st == HEAD_CLOSED ? "closed" : "idle", seen);
}

/* Serve the requests of one connection (several with FCGI_KEEP_CONN).
 * Returns with the connection closed. Stop and reload signals are let in
 * only while it waits (wait_for): a request being read, served and
 * answered always completes, as libfcgi retries no read or write a
 * signal interrupts. */
static void serve_conn(struct conn_loop *l, FCGX_Request *fr, int fd,
                       struct sg_buf *body, struct sg_buf *head,
                       struct sg_response *res)
{
    struct conn c = {.fd = fd};

    /* A connection accepted is served, even if a stop or reload came with
     * it: closing it unread would reset the web server's request (500).
     * Only between kept requests does a stop or reload end it. */
    while (!c.kept || (!*l->stop && !*l->reload)) {
        size_t seen;
        enum head st = wait_head(l, &c, &seen);
        enum stall stall;

        /* all of a plain request in hand: read and answered here */
        if (st == HEAD_READY && c.complete) {
            struct sg_fcgi_request fq;
            enum sg_fcgi_parse ps = sg_fcgi_parse(
                &l->parser, (const unsigned char *)l->peek, seen, &fq);

            if (ps == SG_FCGI_PARSED) {
                /* a kept connection's peer may not be reading: its
                 * writes are bounded, as below */
                stall = consume(l, fd, fq.len) && (!c.kept || bound_conn(l, &c))
                            ? serve_parsed(l, &c, &fq, body, head, res)
                            : STALL_ERROR;
                sg_fcgi_parser_wipe(&l->parser);
                sg_wipe(l->peek, seen);
                if (stall == STALL_WRITE)
                    sg_log_warn("fastcgi: the peer took no answer for %lld "
                                "ms: request dropped",
                                (long long)l->timeout_ms);
                sg_app_tick(l->ctx, sg_now_ms()); /* the answer is out */
                if (stall != STALL_NONE || !fq.keep_conn)
                    break;
                c.kept = true;
                continue;
            }
            sg_fcgi_parser_wipe(&l->parser);
        }
        sg_wipe(l->peek, seen); /* a copy of cookies and tokens */
        if (st != HEAD_READY) {
            log_head_end(l, st, c.kept, seen);
            break;
        }
        /* reads that could wait for the peer are bounded */
        if ((c.kept || !c.complete) && !bound_conn(l, &c))
            break;
        /* Fields fcgiapp.h calls internal, used as libfcgi uses them
         * (2.4.0 to 2.4.7 alike): a request whose ipcFd is open is read
         * from it, and keepConnection stops the FCGX_Finish_r that
         * FCGX_Accept_r begins with from closing it. */
        fr->ipcFd = fd;
        fr->keepConnection = 1;
        if (FCGX_Accept_r(fr) < 0) {
            /* libfcgi refused the records (or, past what was peeked,
             * waited fcgi_io_timeout for more) and closed the connection */
            sg_log_warn("fastcgi: cannot read the request's parameters: "
                        "connection dropped");
            fr->ipcFd = -1;
            return;
        }
        stall = serve_one(l, &c, fr, body, head, res);
        if (stall == STALL_READ || stall == STALL_WRITE)
            sg_log_warn("fastcgi: the peer %s for %lld ms: request dropped",
                        stall == STALL_READ ? "sent no body" : "took no answer",
                        (long long)l->timeout_ms);
        if (stall != STALL_NONE) {
            /* what libfcgi still writes (the closing records) and
             * drains when it closes now fail at once */
            shutdown(fd, SHUT_RDWR);
        } else if (!fr->keepConnection && c.complete) {
            /* All of the request was in the socket: read to its end (no
             * wait), nothing is left unread, and the connection is closed
             * without libfcgi's shutdown and drain (`detached`, as
             * FCGX_Detach leaves it: three system calls a request). */
            while (FCGX_GetChar(fr->in) != EOF)
                ;
            if (FCGX_HasSeenEOF(fr->in) == EOF && !FCGX_GetError(fr->in))
                fr->detached = 1;
        }
        FCGX_Finish_r(fr);
        sg_app_tick(l->ctx, sg_now_ms()); /* the answer is out */
        if (fr->ipcFd < 0)
            return; /* closed: no FCGI_KEEP_CONN, or an error */
        c.kept = true;
    }
    close(fd);
    fr->ipcFd = -1;
}

enum sg_serve_end sg_fcgi_serve(struct sg_ctx *ctx, int listen_fd,
                                const volatile sig_atomic_t *stop,
                                const volatile sig_atomic_t *reload)
{
    struct conn_loop loop;
    FCGX_Request fr;
    struct sg_buf body = {0}, head = {0};
    struct sg_response res;
    enum sg_serve_end end = SG_SERVE_STOP;
    sigset_t stops, saved;
    int flags;

    loop.ctx = ctx;
    loop.stop = stop;
    loop.reload = reload;
    loop.timeout_ms = ctx->cfg->fcgi_io_timeout_ms;
    loop.web_server_addrs = getenv("FCGI_WEB_SERVER_ADDRS");
    memset(&loop.parser, 0, sizeof(loop.parser));
    memset(&loop.answer, 0, sizeof(loop.answer));
    /* -1: libfcgi never accepts by itself (see the top of the file) */
    if (FCGX_InitRequest(&fr, -1, 0) != 0)
        return SG_SERVE_ERROR;
    /* A connection wakes every worker polling the socket and one of them
     * accepts it: on a blocking socket the others would wait in accept(2)
     * for the next one, their work between requests (the activity
     * written behind) held until traffic comes. Non-blocking, they go
     * back to poll(2) and its deadline. Accepted connections do not
     * inherit the flag (Linux), and no spawner accepts on the socket it
     * hands its children. */
    if ((flags = fcntl(listen_fd, F_GETFL)) < 0 ||
        fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0)
        sg_log_warn("fastcgi: the listening socket stays blocking: %s",
                    strerror(errno));
    /* The stop signals wait while a request is served and are let in by
     * every wait for a connection or a request (wait_for). */
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGHUP);
    sigprocmask(SIG_BLOCK, &stops, &saved);
    loop.wait_mask = saved;
    sigdelset(&loop.wait_mask, SIGTERM);
    sigdelset(&loop.wait_mask, SIGINT);
    sigdelset(&loop.wait_mask, SIGHUP);
    loop.epfd = -1;
    {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE};
        int ep = epoll_create1(EPOLL_CLOEXEC);

        if (ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev) == 0)
            loop.epfd = ep;
        else if (ep >= 0)
            close(ep);
    }
    sg_response_init(&res);
    while (!*stop && !*reload) {
        int64_t due = sg_app_next_tick(ctx, sg_now_ms());
        int ready, fd;

        /* Every worker waits for a connection, never in accept(2): the
         * socket does not block, and work due between requests waits no
         * longer than its time. */
        ready = wait_listen(&loop, listen_fd, due);
        if (ready == 0) {
            sg_app_tick(ctx, sg_now_ms());
            continue;
        }
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            sg_log_error("fastcgi: waiting for a connection failed: %s",
                         strerror(errno));
            end = SG_SERVE_ERROR;
            break;
        }
        fd = accept_conn(&loop, listen_fd);

        if (fd < 0) {
            if (*stop || *reload || accept_can_retry(errno))
                continue;
            sg_log_error("fastcgi: accept failed: %s", strerror(errno));
            end = SG_SERVE_ERROR;
            break;
        }
        serve_conn(&loop, &fr, fd, &body, &head, &res);
    }
    if (end != SG_SERVE_ERROR && *reload && !*stop)
        end = SG_SERVE_RELOAD;
    sigprocmask(SIG_SETMASK, &saved, NULL);
    if (loop.epfd >= 0)
        close(loop.epfd);
    FCGX_Free(&fr, 0);
    sg_fcgi_parser_free(&loop.parser);
    sg_buf_free(&loop.answer);
    sg_response_free(&res);
    sg_buf_free(&body);
    sg_buf_free(&head);
    return end;
}
