/* Unit tests for audit.c: how values are escaped, so that no input can
 * end a line or forge a field, and the lines themselves (stderr caught in
 * a file): fixed fields first, an email only as a hash, nothing with
 * audit = off. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "params.h"
#include "tap.h"

static void check_field(const char *value, const char *want, const char *name)
{
    struct sg_buf b = {0};

    TAP_IS_INT(sg_audit_field(&b, "k", value), SG_OK, name);
    TAP_IS_STR(b.data, want, name);
    sg_buf_free(&b);
}

static void test_escaping(void)
{
    check_field(NULL, " k=-", "NULL: -");
    check_field("", " k=-", "empty: -");
    check_field("abc-1.2:3/4@5+6_", " k=abc-1.2:3/4@5+6_", "plain: bare");
    check_field("2001:db8::/64", " k=2001:db8::/64", "an address block: bare");
    check_field("a b", " k=\"a b\"", "a blank: quoted");
    check_field("x client=6.6.6.6", " k=\"x client=6.6.6.6\"",
                "a field inside a value stays inside its quotes");
    check_field("x\" client=6.6.6.6", " k=\"x\\\" client=6.6.6.6\"",
                "a quote cannot close the value");
    check_field("a\\", " k=\"a\\\\\"", "a backslash cannot escape the end");
    check_field("a\nb\r\tc", " k=\"a\\x0ab\\x0d\\x09c\"",
                "no newline, CR or tab reaches the line");
    check_field("\xc3\xa9\x7f", " k=\"\\xc3\\xa9\\x7f\"",
                "bytes outside printable ASCII as \\xHH");
}

/* Run fn with stderr in a file; the file's text into out. */
static void catch_stderr(void (*fn)(void), char *out, size_t cap)
{
    char path[] = "/tmp/sg-test-audit.XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    ssize_t n = 0;

    out[0] = '\0';
    if (fd < 0 || saved < 0)
        return;
    dup2(fd, 2);
    fn();
    dup2(saved, 2);
    close(saved);
    if (lseek(fd, 0, SEEK_SET) == 0)
        n = read(fd, out, cap - 1);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
}

static struct sg_config *cfg;

static void signin_failure(void)
{
    const char *env[] = {
        "REQUEST_METHOD",    "POST",  "REMOTE_ADDR", "192.0.2.1",
        "HTTP_X_REQUEST_ID", "req-1", NULL};
    struct sg_ctx ctx = {.cfg = cfg};
    struct sg_request req;
    struct sg_response res;
    struct sg_signin si;

    memset(&si, 0, sizeof(si));
    sg_response_init(&res);
    res.status = 401;
    sg_request_init(&req, test_env(env), 1024, 1795392000000);
    sg_audit_signin(&ctx, &req, &res, &si, "x client=6.6.6.6@example.com",
                    SG_OK);
    sg_request_release(&req);
    sg_response_free(&res);
}

static void test_lines(void)
{
    char text[2048];
    const char *line;

    cfg = sg_config_new_default();
    catch_stderr(signin_failure, text, sizeof(text));
    line = strstr(text, " audit: ");
    TAP_OK(line != NULL, "audit = on: a line");
    TAP_OK(line && !strncmp(line,
                            " audit: event=signin_failure "
                            "client=192.0.2.1 user=- email_hash=",
                            60),
           "event and client first, at fixed places");
    TAP_OK(line && strstr(line, " reason=bad_credentials request=req-1\n"),
           "reason, then the request id last");
    TAP_OK(!strstr(text, "6.6.6.6") && !strstr(text, "example.com"),
           "the email tried is only a hash");
    TAP_OK(strchr(text, '\n') == text + strlen(text) - 1, "one line");
    cfg->audit = false;
    catch_stderr(signin_failure, text, sizeof(text));
    TAP_IS_STR(text, "", "audit = off: nothing");
    sg_config_free(cfg);
}

int main(void)
{
    test_escaping();
    test_lines();
    return tap_done();
}
