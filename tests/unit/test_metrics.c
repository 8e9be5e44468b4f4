/* Unit tests for metrics.c: the histogram's bucketing, the text
 * exposition of what was counted (labels, merged rows, cumulative
 * buckets), and counts made in a forked child showing in the parent,
 * which is what the shared block is for. Durations are made far from any
 * bound (a start in the future is 0, one 10 s back is over the last), so
 * no check depends on the machine's speed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app.h"
#include "metrics.h"
#include "tap.h"

#define SEC 1000000000LL

static const char *labels[SG_METRICS_ROUTE_NONE];

static const struct sg_route *row(const char *method, const char *path)
{
    for (size_t i = 0; i < sg_app_routes_len; i++)
        if (!strcmp(sg_app_routes[i].method, method) &&
            !strcmp(sg_app_routes[i].path, path))
            return &sg_app_routes[i];
    return NULL;
}

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);

    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

static void test_buckets(void)
{
    TAP_IS_INT(sg_metrics_bucket(0), 0, "0 s: the first bucket");
    TAP_IS_INT(sg_metrics_bucket(500000), 0, "a bound is in its bucket (le)");
    TAP_IS_INT(sg_metrics_bucket(500001), 1, "just over: the next");
    TAP_IS_INT(sg_metrics_bucket(7 * 1000000), 4, "7 ms: le 0.01");
    TAP_IS_INT(sg_metrics_bucket(2500000000LL), 11, "2.5 s: the last bound");
    TAP_IS_INT(sg_metrics_bucket(2500000001LL), SG_METRICS_BUCKETS,
               "over the last bound: +Inf only");
    TAP_OK(sg_metrics_bounds[0] == .0005 &&
               sg_metrics_bounds[SG_METRICS_BUCKETS - 1] == 2.5,
           "bounds from 0.5 ms to 2.5 s");
}

static void test_off(void)
{
    struct sg_buf b = {0};

    TAP_OK(!sg_metrics_on(), "off until started");
    sg_metrics_add(SG_C_SIGNIN_OK, 1); /* nothing to count in: no crash */
    sg_metrics_request(NULL, false, 200, sg_metrics_begin());
    TAP_IS_INT(sg_metrics_render(&b, labels), SG_ENOTFOUND,
               "off: nothing to show");
    sg_metrics_start(false);
    TAP_OK(!sg_metrics_on(), "start(false) maps nothing (metrics = off)");
    sg_buf_free(&b);
}

static void count_some(void)
{
    const int64_t now = sg_metrics_begin();

    sg_metrics_request(row("GET", "/health"), false, 200, now + 60 * SEC);
    sg_metrics_request(row("GET", "/sessions"), false, 200, now + 60 * SEC);
    sg_metrics_request(row("DELETE", "/sessions"), false, 200, now - 10 * SEC);
    sg_metrics_request(NULL, false, 404, now);
    sg_metrics_request(row("GET", "/health"), false, 418, now);
    sg_metrics_request(row("GET", "/auth/verify"), true, 200, now);
    sg_metrics_request(row("GET", "/auth/verify"), true, 302, now);
    sg_metrics_add(SG_C_SIGNIN_OK, 2);
    sg_metrics_limited("user");
    sg_metrics_limited("no such policy");
    sg_metrics_worker_exit(true);
    sg_metrics_worker_exit(false);
}

static void test_render(void)
{
    struct sg_buf b = {0};
    const char *t;

    sg_metrics_start(true);
    TAP_OK(sg_metrics_on(), "started");
    count_some();
    TAP_IS_INT(sg_metrics_render(&b, labels), SG_OK, "rendered");
    t = b.data ? b.data : "";
    TAP_OK(has_line(t, "# TYPE sessiongate_requests_total counter"), "TYPE");
    TAP_OK(has_line(t, "sessiongate_requests_total{route=\"/health\","
                       "status=\"200\"} 1"),
           "a route by its pattern and status");
    TAP_OK(has_line(t, "sessiongate_requests_total{route=\"/sessions\","
                       "status=\"200\"} 2"),
           "GET and DELETE of one path: one label");
    TAP_OK(has_line(t, "sessiongate_requests_total{route=\"none\","
                       "status=\"404\"} 1"),
           "no route: none");
    TAP_OK(has_line(t, "sessiongate_requests_total{route=\"/health\","
                       "status=\"other\"} 1"),
           "a status outside the API's: other");
    TAP_OK(has_line(t, "sessiongate_requests_total{route=\"authorizer\","
                       "status=\"302\"} 1"),
           "the authorizer role: its own label");
    TAP_OK(!strstr(t, "route=\"/auth/verify\""),
           "authorizer requests are not /auth/verify's");
    TAP_OK(has_line(t, "sessiongate_request_duration_seconds_bucket{route=\""
                       "/sessions\",le=\"0.0005\"} 1"),
           "the fast one in the first bucket");
    TAP_OK(has_line(t, "sessiongate_request_duration_seconds_bucket{route=\""
                       "/sessions\",le=\"2.5\"} 1"),
           "buckets are cumulative; the slow one is in none");
    TAP_OK(has_line(t, "sessiongate_request_duration_seconds_bucket{route=\""
                       "/sessions\",le=\"+Inf\"} 2"),
           "+Inf holds both");
    TAP_OK(has_line(t, "sessiongate_request_duration_seconds_count{route=\""
                       "/sessions\"} 2"),
           "count");
    TAP_OK(strstr(t, "sessiongate_request_duration_seconds_sum{route=\""
                     "/sessions\"} 1") != NULL,
           "sum in seconds (10.x)");
    TAP_OK(has_line(t, "sessiongate_signins_total{result=\"ok\"} 2"),
           "a plain counter");
    TAP_OK(has_line(t, "sessiongate_signins_total{result=\"error\"} 0"),
           "zeros are shown");
    TAP_OK(has_line(t, "sessiongate_ratelimit_refusals_total{policy=\"user\"} "
                       "1"),
           "a refusal by policy name; an unknown name counts nothing");
    TAP_OK(has_line(t, "sessiongate_authorizer_answers_total{result=\"allow\"} "
                       "1") &&
               has_line(t, "sessiongate_authorizer_answers_total{result="
                           "\"redirect\"} 1"),
           "authorizer answers");
    TAP_OK(has_line(t, "sessiongate_worker_restarts_total 1"),
           "only an unexpected exit is a restart");
    TAP_OK(has_line(t, "sessiongate_build_info{version=\"" PACKAGE_VERSION
                       "\"} 1"),
           "build_info");
    TAP_OK(strstr(t, "\nsessiongate_start_time_seconds 1") != NULL,
           "start time");
    sg_buf_free(&b);
}

/* What a forked child counts, its parent sees: one block for all. */
static void test_shared_with_children(void)
{
    struct sg_buf b = {0};
    int status = -1;
    pid_t pid = fork();

    if (pid == 0) {
        for (int i = 0; i < 1000; i++)
            sg_metrics_add(SG_C_REGISTERED, 1);
        _exit(0);
    }
    for (int i = 0; i < 1000; i++)
        sg_metrics_add(SG_C_REGISTERED, 1);
    TAP_OK(pid > 0 && waitpid(pid, &status, 0) == pid && status == 0,
           "the child ran");
    TAP_IS_INT(sg_metrics_render(&b, labels), SG_OK, "rendered");
    TAP_OK(b.data && has_line(b.data, "sessiongate_registrations_total 2000"),
           "the parent sees the child's counts added to its own");
    sg_buf_free(&b);
    sg_metrics_stop();
    TAP_OK(!sg_metrics_on(), "stopped");
}

int main(void)
{
    for (size_t i = 0; i < sg_app_routes_len; i++)
        labels[i] = sg_app_routes[i].path;
    test_buckets();
    test_off();
    test_render();
    test_shared_with_children();
    return tap_done();
}
