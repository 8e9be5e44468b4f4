/* Unit tests for addr.c, the one parser of addresses, and for the
 * listener that reads its addresses through it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "server.h"
#include "tap.h"

static void test_forms(void)
{
    struct sg_addr a;

    TAP_OK(!sg_addr_parse("127.0.0.1:6379", &a) && !a.is_unix &&
               !strcmp(a.host, "127.0.0.1") && a.port == 6379,
           "IPv4 host and port");
    TAP_OK(!sg_addr_parse("[::1]:6380", &a) && !strcmp(a.host, "::1") &&
               a.port == 6380,
           "IPv6 literal: brackets taken off");
    TAP_OK(!sg_addr_parse("redis.example:1", &a) &&
               !strcmp(a.host, "redis.example") && a.port == 1,
           "name, lowest port");
    TAP_OK(!sg_addr_parse("h:65535", &a) && a.port == 65535, "highest port");
    TAP_OK(!sg_addr_parse("unix:/run/redis.sock", &a) && a.is_unix &&
               !strcmp(a.path, "/run/redis.sock"),
           "unix path");
}

static void test_refused(void)
{
    static const char *bad[] = {
        "h:0",  "h:65536", "h:+80",    "h:-1",      "h: 80",    "h:0x50",
        "h:",   ":80",     "h",        "[::1]6379", "[]:80",    "[[::1]]:80",
        "a]:1", "unix:",   "unix:rel", "h :80",     "h:123456", "h:80\n",
    };
    struct sg_addr a;
    char name[64];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(name, sizeof(name), "refused: \"%s\"", bad[i]);
        TAP_OK(sg_addr_parse(bad[i], &a) != NULL, name);
    }
    TAP_IS_STR(sg_addr_parse("::1:6379", &a),
               "an IPv6 address needs brackets, as in [::1]:6379",
               "bare IPv6: the reason says brackets");
}

static void test_lengths(void)
{
    char text[400];
    struct sg_addr a;

    snprintf(text, sizeof(text), "%0255d:80", 0);
    TAP_OK(!sg_addr_parse(text, &a) && strlen(a.host) == 255,
           "host of 255 bytes");
    snprintf(text, sizeof(text), "%0256d:80", 0);
    TAP_IS_STR(sg_addr_parse(text, &a), "host name too long",
               "host of 256 bytes");
    snprintf(text, sizeof(text), "unix:/%0106d", 0);
    TAP_OK(!sg_addr_parse(text, &a) && strlen(a.path) == 107,
           "unix path of 107 bytes");
    snprintf(text, sizeof(text), "unix:/%0107d", 0);
    TAP_IS_STR(sg_addr_parse(text, &a), "unix socket path too long",
               "unix path of 108 bytes");
}

/* --listen used to take "::1:PORT" (cut at the last colon) although the
 * redis key refused that form: both now read it the same way. */
static void test_listen(void)
{
    char err[256] = "";
    int fd;

    TAP_OK(sg_server_listen("::1:9", 0600, err, sizeof(err)) < 0 &&
               strstr(err, "needs brackets"),
           "listen: bare IPv6 refused with the parser's reason");
    TAP_OK(sg_server_listen("127.0.0.1:0x50", 0600, err, sizeof(err)) < 0 &&
               strstr(err, "expected"),
           "listen: a port that is not decimal refused");
    fd = sg_server_listen("127.0.0.1:0", 0600, err, sizeof(err));
    TAP_OK(fd < 0, "listen: port 0 refused (no random port)");
    if (fd >= 0)
        close(fd);
}

static void test_lists(void)
{
    struct sg_addr a[SG_SENTINELS_MAX];
    char many[SG_SENTINELS_MAX * 16 + 32] = "";
    size_t n = 99;

    TAP_OK(!sg_addr_parse_list("127.0.0.1:26379, 127.0.0.1:26380,[::1]:26381",
                               a, SG_SENTINELS_MAX, &n) &&
               n == 3 && a[0].port == 26379 && a[1].port == 26380 &&
               !strcmp(a[2].host, "::1"),
           "list: commas, blanks and an IPv6 address");
    TAP_OK(!sg_addr_parse_list(" s1:1\ts2:2 ", a, SG_SENTINELS_MAX, &n) &&
               n == 2 && !strcmp(a[1].host, "s2"),
           "list: blanks alone separate");
    TAP_IS_STR(sg_addr_parse_list("", a, SG_SENTINELS_MAX, &n),
               "expected one or more host:port addresses", "list: empty");
    TAP_IS_STR(sg_addr_parse_list(" , ", a, SG_SENTINELS_MAX, &n),
               "expected one or more host:port addresses",
               "list: separators only");
    TAP_IS_STR(sg_addr_parse_list("h:1, unix:/run/s.sock", a, SG_SENTINELS_MAX,
                                  &n),
               "expected host:port addresses, not unix sockets",
               "list: a unix socket refused");
    TAP_OK(sg_addr_parse_list("h:1, h:0", a, SG_SENTINELS_MAX, &n) != NULL,
           "list: a bad port refused");
    for (int i = 0; i <= SG_SENTINELS_MAX; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "h:%d,",
                 i + 1);
    TAP_IS_STR(sg_addr_parse_list(many, a, SG_SENTINELS_MAX, &n),
               "too many addresses", "list: one over the maximum refused");
    many[strlen(many) - strlen("h:17,")] = '\0';
    TAP_OK(!sg_addr_parse_list(many, a, SG_SENTINELS_MAX, &n) &&
               n == SG_SENTINELS_MAX,
           "list: the maximum accepted");
}

int main(void)
{
    test_forms();
    test_refused();
    test_lengths();
    test_lists();
    test_listen();
    return tap_done();
}
