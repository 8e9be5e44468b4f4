/* metrics.c -- the shared counter block and its Prometheus exposition.
 *
 * The block is an array of slots, one per process modulo SG_SLOTS (the
 * slot of a process is its pid's remainder, taken again in every child
 * by a pthread_atfork handler, so the request path makes no getpid()
 * call). Each slot starts on its own cache line and a process only ever
 * adds to its own slot: the counters every request touches (requests,
 * the histogram) are written by one core, instead of bouncing one line
 * between all of them on every request, which a counter shared by 8
 * workers on 2 cores would. Two processes whose pids share a remainder
 * share a slot, which costs them that bouncing but no count: every add is
 * atomic. A scrape sums the slots, about 0.5 MB of reads, rarely.
 *
 * Counts are never reset while the block lives: a respawned worker adds
 * to the slot its predecessor left, so Prometheus sees counters that only
 * grow until the master itself restarts (sessiongate_start_time_seconds
 * then changes).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <stdlib.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "dev"
#endif

#define SG_SLOTS     64
#define ROUTE_LABELS SG_METRICS_ROUTES
#define CACHE_LINE   64

/* The statuses the API answers with (response.c); any other is counted
 * as status="other". */
static const int statuses[] = {200, 201, 204, 302, 400, 401, 403, 404,
                               405, 409, 413, 415, 422, 429, 500, 503};
#define NSTATUS (SG_ARRAY_LEN(statuses) + 1)

const double sg_metrics_bounds[SG_METRICS_BUCKETS] = {
    .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5};
/* the same in nanoseconds, for the request path (no floating point) */
static const int64_t bounds_ns[SG_METRICS_BUCKETS] = {
    500000,   1000000,   2500000,   5000000,   10000000,   25000000,
    50000000, 100000000, 250000000, 500000000, 1000000000, 2500000000};

struct slot {
    _Alignas(CACHE_LINE) _Atomic uint64_t counters[SG_C_COUNT];
    _Atomic uint64_t requests[ROUTE_LABELS][NSTATUS];
    /* per route: the buckets (not cumulative), then over the last bound */
    _Atomic uint64_t buckets[ROUTE_LABELS][SG_METRICS_BUCKETS + 1];
    _Atomic uint64_t sum_ns[ROUTE_LABELS];
};

struct block {
    int64_t start_ms; /* wall clock, when mapped */
    struct slot slots[SG_SLOTS];
};

static struct block *block;
static unsigned slot_index;

/* ---- counting ---------------------------------------------------------- */

static void take_slot(void)
{
    slot_index = (unsigned)getpid() % SG_SLOTS;
}

void sg_metrics_start(bool on)
{
    static bool registered;
    void *p;

    if (!on || block)
        return;
    p = mmap(NULL, sizeof(struct block), PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        sg_log_error("metrics: cannot map the counters (%zu bytes): "
                     "/metrics is off",
                     sizeof(struct block));
        return;
    }
    block = p;
    block->start_ms = sg_now_ms();
    take_slot();
    if (!registered && pthread_atfork(NULL, NULL, take_slot) == 0)
        registered = true;
}

void sg_metrics_stop(void)
{
    if (block)
        munmap(block, sizeof(*block));
    block = NULL;
}

bool sg_metrics_on(void)
{
    return block != NULL;
}

static inline void add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void sg_metrics_add(enum sg_counter c, uint64_t n)
{
    if (block && (unsigned)c < SG_C_COUNT)
        add(&block->slots[slot_index].counters[c], n);
}

void sg_metrics_limited(const char *policy)
{
    static const struct {
        const char *name;
        enum sg_counter c;
    } policies[] = {
        {"signin", SG_C_LIMITED_SIGNIN},
        {"signin_failure", SG_C_LIMITED_SIGNIN_FAILURE},
        {"register", SG_C_LIMITED_REGISTER},
        {"refresh", SG_C_LIMITED_REFRESH},
        {"refresh_failure", SG_C_LIMITED_REFRESH_FAILURE},
        {"user", SG_C_LIMITED_USER},
    };

    for (size_t i = 0; block && i < SG_ARRAY_LEN(policies); i++)
        if (!strcmp(policy, policies[i].name))
            sg_metrics_add(policies[i].c, 1);
}

void sg_metrics_worker_exit(bool expected)
{
    if (!expected)
        sg_metrics_add(SG_C_WORKER_RESTART, 1);
}

static int64_t monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts); /* the vDSO: no system call */
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t sg_metrics_begin(void)
{
    return block ? monotonic_ns() : 0;
}

int sg_metrics_bucket(int64_t ns)
{
    int i = 0;

    while (i < SG_METRICS_BUCKETS && ns > bounds_ns[i])
        i++;
    return i;
}

static size_t status_index(int status)
{
    size_t i = 0;

    while (i < SG_ARRAY_LEN(statuses) && statuses[i] != status)
        i++;
    return i; /* the last: other */
}

static enum sg_counter authorizer_answer(int status)
{
    if (status == 200)
        return SG_C_AUTHZ_ALLOW;
    if (status == 302)
        return SG_C_AUTHZ_REDIRECT;
    if (status == 401 || status == 403 || status == 429)
        return SG_C_AUTHZ_DENY;
    return SG_C_AUTHZ_ERROR;
}

void sg_metrics_observe(unsigned route, int status, int64_t start_ns)
{
    bool authorizer = route == SG_METRICS_ROUTE_AUTHZ;
    struct slot *s;
    size_t r = route < ROUTE_LABELS ? route : SG_METRICS_ROUTE_NONE;
    int64_t ns;

    if (!block)
        return;
    s = &block->slots[slot_index];
    ns = monotonic_ns() - start_ns;
    if (ns < 0)
        ns = 0;
    add(&s->requests[r][status_index(status)], 1);
    add(&s->buckets[r][sg_metrics_bucket(ns)], 1);
    add(&s->sum_ns[r], (uint64_t)ns);
    if (authorizer)
        add(&s->counters[authorizer_answer(status)], 1);
}

/* ---- the exposition ---------------------------------------------------- */

enum family {
    F_SIGNINS,
    F_REFRESHES,
    F_LIMITED,
    F_ENDED,
    F_AUTHZ,
    F_REDIS_ERRORS,
    F_REDIS_RECONNECTS,
    F_RESTARTS,
    F_REGISTRATIONS,
    F_COUNT
};

static const struct {
    const char *name, *help, *label; /* label NULL: a single series */
} families[F_COUNT] = {
    [F_SIGNINS] = {"sessiongate_signins_total", "Sign-in attempts by result.",
                   "result"},
    [F_REFRESHES] = {"sessiongate_refreshes_total",
                     "Refresh token presentations by result.", "result"},
    [F_LIMITED] = {"sessiongate_ratelimit_refusals_total",
                   "Requests refused by a rate-limit policy.", "policy"},
    [F_ENDED] = {"sessiongate_sessions_ended_total",
                 "Sessions ended by reason (expiry happens in Redis and is "
                 "not counted).",
                 "reason"},
    [F_AUTHZ] = {"sessiongate_authorizer_answers_total",
                 "FastCGI authorizer answers by result.", "result"},
    [F_REDIS_ERRORS] = {"sessiongate_redis_errors_total",
                        "Redis failures: a dropped connection, or an error "
                        "reply.",
                        "kind"},
    [F_REDIS_RECONNECTS] = {"sessiongate_redis_reconnects_total",
                            "Redis connections made again after a failure.",
                            NULL},
    [F_RESTARTS] = {"sessiongate_worker_restarts_total",
                    "Workers (or the revocation reader) that died unasked "
                    "and were replaced.",
                    NULL},
    [F_REGISTRATIONS] = {"sessiongate_registrations_total",
                         "Accounts registered.", NULL},
};

static const struct {
    enum family f;
    const char *value;
} counters[SG_C_COUNT] = {
    [SG_C_SIGNIN_OK] = {F_SIGNINS, "ok"},
    [SG_C_SIGNIN_BAD_CREDENTIALS] = {F_SIGNINS, "bad_credentials"},
    [SG_C_SIGNIN_LIMITED] = {F_SIGNINS, "limited"},
    [SG_C_SIGNIN_ERROR] = {F_SIGNINS, "error"},
    [SG_C_REFRESH_ROTATED] = {F_REFRESHES, "rotated"},
    [SG_C_REFRESH_GRACE] = {F_REFRESHES, "grace"},
    [SG_C_REFRESH_REUSED] = {F_REFRESHES, "reused"},
    [SG_C_REFRESH_INVALID] = {F_REFRESHES, "invalid"},
    [SG_C_REFRESH_LIMITED] = {F_REFRESHES, "limited"},
    [SG_C_REFRESH_ERROR] = {F_REFRESHES, "error"},
    [SG_C_LIMITED_SIGNIN] = {F_LIMITED, "signin"},
    [SG_C_LIMITED_SIGNIN_FAILURE] = {F_LIMITED, "signin_failure"},
    [SG_C_LIMITED_REGISTER] = {F_LIMITED, "register"},
    [SG_C_LIMITED_REFRESH] = {F_LIMITED, "refresh"},
    [SG_C_LIMITED_REFRESH_FAILURE] = {F_LIMITED, "refresh_failure"},
    [SG_C_LIMITED_USER] = {F_LIMITED, "user"},
    [SG_C_ENDED_SIGNOUT] = {F_ENDED, "signout"},
    [SG_C_ENDED_USER] = {F_ENDED, "user"},
    [SG_C_ENDED_ADMIN] = {F_ENDED, "admin"},
    [SG_C_ENDED_LIMIT] = {F_ENDED, "limit"},
    [SG_C_ENDED_REUSE] = {F_ENDED, "reuse"},
    [SG_C_AUTHZ_ALLOW] = {F_AUTHZ, "allow"},
    [SG_C_AUTHZ_DENY] = {F_AUTHZ, "deny"},
    [SG_C_AUTHZ_REDIRECT] = {F_AUTHZ, "redirect"},
    [SG_C_AUTHZ_ERROR] = {F_AUTHZ, "error"},
    [SG_C_REDIS_CONNECTION_ERROR] = {F_REDIS_ERRORS, "connection"},
    [SG_C_REDIS_REPLY_ERROR] = {F_REDIS_ERRORS, "reply"},
    [SG_C_REDIS_RECONNECT] = {F_REDIS_RECONNECTS, NULL},
    [SG_C_WORKER_RESTART] = {F_RESTARTS, NULL},
    [SG_C_REGISTERED] = {F_REGISTRATIONS, NULL},
};

/* The sums over the slots of what is rendered. */
struct totals {
    uint64_t counters[SG_C_COUNT];
    uint64_t requests[ROUTE_LABELS][NSTATUS];
    uint64_t buckets[ROUTE_LABELS][SG_METRICS_BUCKETS + 1];
    uint64_t sum_ns[ROUTE_LABELS];
};

static uint64_t load(const _Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* The label of route index r (labels: the caller's, for the table's
 * rows; NULL for a row there is none of). */
static const char *route_label(const char *const *labels, size_t r)
{
    if (r == SG_METRICS_ROUTE_AUTHZ)
        return "authorizer";
    if (r < SG_METRICS_ROUTE_NONE && labels[r])
        return labels[r];
    return "none";
}

/* Sum the slots. Rows with the same label (GET and DELETE /sessions)
 * are one series: each is added to the first row of its label. */
static void sum_slots(struct totals *t, const char *const *labels)
{
    size_t first[ROUTE_LABELS];

    for (size_t r = 0; r < ROUTE_LABELS; r++) {
        first[r] = r;
        for (size_t q = 0; q < r; q++)
            if (!strcmp(route_label(labels, q), route_label(labels, r))) {
                first[r] = q;
                break;
            }
    }
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < SG_SLOTS; i++) {
        const struct slot *s = &block->slots[i];
        for (size_t c = 0; c < SG_C_COUNT; c++)
            t->counters[c] += load(&s->counters[c]);
        for (size_t r = 0; r < ROUTE_LABELS; r++) {
            size_t to = first[r];
            for (size_t k = 0; k < NSTATUS; k++)
                t->requests[to][k] += load(&s->requests[r][k]);
            for (size_t b = 0; b <= SG_METRICS_BUCKETS; b++)
                t->buckets[to][b] += load(&s->buckets[r][b]);
            t->sum_ns[to] += load(&s->sum_ns[r]);
        }
    }
}

static int head(struct sg_buf *out, const char *name, const char *help,
                const char *type)
{
    return sg_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                         type);
}

/* A label value as the text format wants it: \, " and newline escaped
 * (the values are ours: route patterns and fixed words). */
static int label_value(struct sg_buf *out, const char *v)
{
    int rc = SG_OK;

    for (; *v && rc == SG_OK; v++) {
        if (*v == '\\' || *v == '"')
            rc = sg_buf_printf(out, "\\%c", *v);
        else if (*v == '\n')
            rc = sg_buf_puts(out, "\\n");
        else
            rc = sg_buf_append(out, v, 1);
    }
    return rc;
}

static int render_counters(struct sg_buf *out, const struct totals *t)
{
    int rc = SG_OK;

    for (int f = 0; f < F_COUNT && rc == SG_OK; f++) {
        rc = head(out, families[f].name, families[f].help, "counter");
        for (int c = 0; c < SG_C_COUNT && rc == SG_OK; c++) {
            if (counters[c].f != (enum family)f)
                continue;
            rc = sg_buf_puts(out, families[f].name);
            if (rc == SG_OK && families[f].label)
                rc = sg_buf_printf(out, "{%s=\"%s\"}", families[f].label,
                                   counters[c].value);
            if (rc == SG_OK)
                rc = sg_buf_printf(out, " %llu\n",
                                   (unsigned long long)t->counters[c]);
        }
    }
    return rc;
}

static int render_requests(struct sg_buf *out, const struct totals *t,
                           const char *const *labels)
{
    int rc = head(out, "sessiongate_requests_total",
                  "Requests answered, by route pattern and status.", "counter");

    for (size_t r = 0; r < ROUTE_LABELS && rc == SG_OK; r++)
        for (size_t k = 0; k < NSTATUS && rc == SG_OK; k++) {
            if (!t->requests[r][k])
                continue;
            rc = sg_buf_puts(out, "sessiongate_requests_total{route=\"");
            if (rc == SG_OK)
                rc = label_value(out, route_label(labels, r));
            if (rc == SG_OK && k < SG_ARRAY_LEN(statuses))
                rc = sg_buf_printf(out, "\",status=\"%d\"} ", statuses[k]);
            else if (rc == SG_OK)
                rc = sg_buf_puts(out, "\",status=\"other\"} ");
            if (rc == SG_OK)
                rc = sg_buf_printf(out, "%llu\n",
                                   (unsigned long long)t->requests[r][k]);
        }
    return rc;
}

/* One route's histogram: cumulative buckets, +Inf, sum and count. */
static int render_route_histogram(struct sg_buf *out, const char *route,
                                  const uint64_t *buckets, uint64_t sum_ns)
{
    static const char name[] = "sessiongate_request_duration_seconds";
    uint64_t total = 0;
    int rc = SG_OK;

    for (int b = 0; b <= SG_METRICS_BUCKETS && rc == SG_OK; b++) {
        total += buckets[b];
        rc = sg_buf_printf(out, "%s_bucket{route=\"", name);
        if (rc == SG_OK)
            rc = label_value(out, route);
        if (rc == SG_OK && b < SG_METRICS_BUCKETS)
            rc = sg_buf_printf(out, "\",le=\"%g\"} %llu\n",
                               sg_metrics_bounds[b], (unsigned long long)total);
        else if (rc == SG_OK)
            rc = sg_buf_printf(out, "\",le=\"+Inf\"} %llu\n",
                               (unsigned long long)total);
    }
    if (rc == SG_OK)
        rc = sg_buf_printf(out, "%s_sum{route=\"", name);
    if (rc == SG_OK)
        rc = label_value(out, route);
    if (rc == SG_OK)
        rc = sg_buf_printf(out, "\"} %.9f\n%s_count{route=\"", sum_ns / 1e9,
                           name);
    if (rc == SG_OK)
        rc = label_value(out, route);
    if (rc == SG_OK)
        rc = sg_buf_printf(out, "\"} %llu\n", (unsigned long long)total);
    return rc;
}

static int render_histogram(struct sg_buf *out, const struct totals *t,
                            const char *const *labels)
{
    int rc = head(out, "sessiongate_request_duration_seconds",
                  "Time from the request's parameters to its answer, by "
                  "route pattern.",
                  "histogram");

    for (size_t r = 0; r < ROUTE_LABELS && rc == SG_OK; r++) {
        uint64_t n = 0;
        for (int b = 0; b <= SG_METRICS_BUCKETS; b++)
            n += t->buckets[r][b];
        if (n)
            rc = render_route_histogram(out, route_label(labels, r),
                                        t->buckets[r], t->sum_ns[r]);
    }
    return rc;
}

int sg_metrics_render(struct sg_buf *out, const char *const *labels)
{
    struct totals *t;
    int rc;

    if (!block)
        return SG_ENOTFOUND;
    if (!(t = malloc(sizeof(*t))))
        return SG_ENOMEM;
    sum_slots(t, labels);
    rc = head(out, "sessiongate_build_info", "The running version; always 1.",
              "gauge");
    if (rc == SG_OK)
        rc = sg_buf_puts(
            out, "sessiongate_build_info{version=\"" PACKAGE_VERSION "\"} 1\n");
    if (rc == SG_OK)
        rc = head(out, "sessiongate_start_time_seconds",
                  "When the counters started (the first process's start), "
                  "as Unix time.",
                  "gauge");
    if (rc == SG_OK)
        rc = sg_buf_printf(out, "sessiongate_start_time_seconds %.3f\n",
                           block->start_ms / 1000.0);
    if (rc == SG_OK)
        rc = render_requests(out, t, labels);
    if (rc == SG_OK)
        rc = render_histogram(out, t, labels);
    if (rc == SG_OK)
        rc = render_counters(out, t);
    free(t);
    return rc;
}
