/* metrics.h -- counters shared by every process of a server, and GET
 * /metrics, which shows them in the Prometheus text format.
 *
 * The counters live in one block of anonymous shared memory that the
 * first process maps before it forks anything (sg_metrics_start, called
 * by server.c), so every worker, and every worker that replaces one,
 * adds to the same numbers, as nginx's stub_status and php-fpm's
 * scoreboard do. Counting is a relaxed atomic add into the slot of the
 * calling process: no lock, no system call, no allocation. A process
 * that never mapped the block (CGI, the CLI, metrics = off) counts
 * nothing and answers /metrics with 404.
 *
 * Every layer counts (the store its reconnects, the master its worker
 * restarts), so the block is reached through one process-wide pointer,
 * like the log level, rather than through the context; and this file
 * knows nothing of routes (a route is an index, its label the caller's),
 * so that counting links without the app. handle_metrics.c turns the
 * route table into those indexes and labels, and answers GET /metrics.
 */
#ifndef SG_METRICS_H
#define SG_METRICS_H

#include "buf.h"

/* The plain counters: each one a (family, label value) pair of the
 * exposition (metrics.c has the table). */
enum sg_counter {
    SG_C_SIGNIN_OK,
    SG_C_SIGNIN_BAD_CREDENTIALS,
    SG_C_SIGNIN_LIMITED, /* the address's window, or a locked account */
    SG_C_SIGNIN_ERROR,
    SG_C_REFRESH_ROTATED,
    SG_C_REFRESH_GRACE,
    SG_C_REFRESH_REUSED,
    SG_C_REFRESH_INVALID, /* expired, ended, forged or malformed */
    SG_C_REFRESH_LIMITED,
    SG_C_REFRESH_ERROR,
    SG_C_LIMITED_SIGNIN, /* rate-limit refusals, by policy */
    SG_C_LIMITED_SIGNIN_FAILURE,
    SG_C_LIMITED_REGISTER,
    SG_C_LIMITED_REFRESH,
    SG_C_LIMITED_REFRESH_FAILURE,
    SG_C_LIMITED_USER,
    SG_C_ENDED_SIGNOUT, /* sessions ended, by reason */
    SG_C_ENDED_USER,
    SG_C_ENDED_ADMIN,
    SG_C_ENDED_LIMIT,
    SG_C_ENDED_REUSE,
    SG_C_AUTHZ_ALLOW, /* FastCGI authorizer answers */
    SG_C_AUTHZ_DENY,
    SG_C_AUTHZ_REDIRECT,
    SG_C_AUTHZ_ERROR,
    SG_C_REDIS_CONNECTION_ERROR, /* a link dropped (sg_store_fail) */
    SG_C_REDIS_REPLY_ERROR,      /* a script answered an error */
    SG_C_REDIS_RECONNECT,        /* a link made again after a failure */
    SG_C_WORKER_RESTART,         /* a worker or reader died unasked */
    SG_C_REGISTERED,
    SG_C_COUNT
};

/* Request-duration histogram bounds, in seconds (the "le" labels). */
#define SG_METRICS_BUCKETS 12
extern const double sg_metrics_bounds[SG_METRICS_BUCKETS];

/* Map the block (once; later calls do nothing) when on is true. Called
 * before the first fork of a server; a failure is logged and the server
 * runs without metrics. */
void sg_metrics_start(bool on);
/* Unmap it (tests; a server keeps it to its end). */
void sg_metrics_stop(void);
/* Whether this process counts. */
bool sg_metrics_on(void);

/* Add n to a counter (nothing when off). */
void sg_metrics_add(enum sg_counter c, uint64_t n);

/* A refusal by the rate-limit policy of that name ("signin",
 * "signin_failure", "register", "refresh", "refresh_failure", "user": the
 * names sg_ratelimit_key is given). */
void sg_metrics_limited(const char *policy);

/* A master reaped a worker; expected is false when nobody asked it to
 * stop (a crash, a SIGKILL): that one is a restart. */
void sg_metrics_worker_exit(bool expected);

/* Route indexes: the rows of a route table (below SG_METRICS_ROUTE_NONE),
 * no route, and the FastCGI authorizer role. */
#define SG_METRICS_ROUTE_NONE  32
#define SG_METRICS_ROUTE_AUTHZ 33
#define SG_METRICS_ROUTES      34

/* Time one request: the start stamp (0 when off), then the request's
 * route index, its status and that stamp (an authorizer answer is also
 * counted by its result). */
int64_t sg_metrics_begin(void);
void sg_metrics_observe(unsigned route, int status, int64_t start_ns);

/* The bucket a duration falls in: 0..SG_METRICS_BUCKETS-1, or
 * SG_METRICS_BUCKETS for over the last bound. */
int sg_metrics_bucket(int64_t ns);

/* Append the exposition of the counters to out; labels[i] names route
 * index i (SG_METRICS_ROUTE_NONE entries; NULL: none), and indexes with
 * the same label are summed into one series. SG_ENOMEM, or SG_ENOTFOUND
 * when this process has no block. */
int sg_metrics_render(struct sg_buf *out, const char *const *labels);

/* ---- handle_metrics.c: the app's side ----------------------------------- */

struct sg_ctx;
struct sg_auth_call;
struct sg_request;
struct sg_response;
struct sg_route;

/* sg_metrics_observe for a row of sg_app_routes (NULL: none matched). */
void sg_metrics_request(const struct sg_route *route, bool authorizer,
                        int status, int64_t start_ns);

/* GET /metrics (a row of app.c's table): the exposition to a client in
 * metrics_allow when metrics is on and this process has the block, else
 * the 404 any unknown route gets. */
int sg_handle_metrics(struct sg_ctx *ctx, struct sg_request *req,
                      struct sg_response *res, struct sg_auth_call *call);

#endif
