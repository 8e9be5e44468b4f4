/* transport.h -- FastCGI and CGI: the only code that knows how the web
 * server hands over a request.
 *
 * Both build a struct sg_request from the server's parameters, read the
 * body (never past max_body_bytes), call sg_app_handle() and write the
 * response head and body back (no body for HEAD).
 */
#ifndef SG_TRANSPORT_H
#define SG_TRANSPORT_H

#include <signal.h>

#include "ctx.h"

enum sg_serve_end {
    SG_SERVE_STOP,   /* a stop was requested: exit */
    SG_SERVE_RELOAD, /* a reload was requested: rebuild ctx, serve again */
    SG_SERVE_ERROR,  /* the listening socket failed */
};

/* Initialise libfcgi; call once before anything else here. */
void sg_fcgi_init(void);

/* True when fd 0 is a listening socket, i.e. a web server (or spawn-fcgi)
 * started us as a FastCGI application. */
bool sg_fcgi_fd0_is_listener(void);

/* Serve FastCGI requests accepted on listen_fd, one at a time, until *stop
 * or *reload becomes non-zero (both set from signal handlers, which also
 * call sg_fcgi_interrupt()) or accept fails. A request in progress is
 * always finished first. No peer holds the process longer than the
 * config's fcgi_io_timeout without sending or taking a byte (or, before
 * its parameters are complete, at all): it is dropped, with one warning
 * in the log, and the next connection served. */
enum sg_serve_end sg_fcgi_serve(struct sg_ctx *ctx, int listen_fd,
                                const volatile sig_atomic_t *stop,
                                const volatile sig_atomic_t *reload);

/* Async-signal-safe: tell libfcgi a stop is pending (for SIGTERM; the
 * signal itself, caught without SA_RESTART, ends a blocked accept). */
void sg_fcgi_interrupt(void);

/* Serve the one CGI request described by the environment and stdin. */
int sg_cgi_serve(struct sg_ctx *ctx);

/* Answer a CGI request when no context could be built (bad config): a
 * 500 JSON error, so the client still gets the envelope. */
void sg_cgi_fail(void);

#endif
