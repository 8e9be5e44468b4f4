/* Unit tests for response.c: envelopes, error table, headers. */
#include <string.h>

#include "response.h"
#include "tap.h"

/* sg_i64_str, which writes the numbers of headers and Redis commands */
static void test_numbers(void)
{
    char out[SG_I64_STR_MAX];

    TAP_IS_INT(sg_i64_str(out, 0), 1, "0: one digit");
    TAP_IS_STR(out, "0", "0");
    sg_i64_str(out, 1795392000123LL);
    TAP_IS_STR(out, "1795392000123", "a time in ms");
    sg_i64_str(out, -42);
    TAP_IS_STR(out, "-42", "negative");
    TAP_IS_INT(sg_i64_str(out, -9223372036854775807LL - 1), 20,
               "LLONG_MIN fits");
    TAP_IS_STR(out, "-9223372036854775808", "LLONG_MIN");
    sg_i64_str(out, 9223372036854775807LL);
    TAP_IS_STR(out, "9223372036854775807", "LLONG_MAX");
}

int main(void)
{
    struct sg_response res;
    struct sg_buf head = {0};

    test_numbers();
    sg_response_init(&res);
    TAP_IS_INT(sg_response_ok(&res, 201, NULL), SG_OK, "ok envelope");
    TAP_IS_INT(res.status, 201, "status kept");
    TAP_IS_STR(res.body.data, "{\"success\":true,\"data\":{}}",
               "empty data is an object");

    sg_response_reset(&res);
    sg_response_error(&res, SG_API_NOT_FOUND, NULL, NULL);
    TAP_IS_INT(res.status, 404, "not found status");
    TAP_IS_STR(res.body.data,
               "{\"success\":false,\"error\":{\"code\":\"NOT_FOUND\","
               "\"message\":\"Not found.\"}}",
               "error envelope");

    sg_response_reset(&res);
    sg_response_error(&res, SG_API_UNAUTHORIZED, "nope/x", NULL);
    TAP_OK(strstr(res.headers.data,
                  "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n"),
           "401 carries WWW-Authenticate");
    TAP_OK(strstr(res.body.data, "nope/x") != NULL, "no slash escaping");

    sg_response_reset(&res);
    sg_response_fail(&res, SG_ESTORE);
    TAP_IS_INT(res.status, 503, "store failure is 503");
    TAP_OK(strstr(res.headers.data, "Retry-After: 1\r\n") != NULL,
           "503 carries Retry-After");
    TAP_OK(strstr(res.body.data, "STORE_UNAVAILABLE") != NULL, "503 code");

    sg_response_reset(&res);
    sg_response_fail(&res, SG_ENOMEM);
    TAP_IS_INT(res.status, 500, "anything else is 500");

    TAP_IS_INT(sg_response_header(&res, "X-A", "a\r\nb"), SG_EINVAL,
               "CRLF in a header value refused");
    TAP_IS_INT(sg_response_header(&res, "X:A", "a"), SG_EINVAL,
               "colon in a header name refused");

    sg_response_reset(&res);
    sg_response_ok(&res, 200, NULL);
    sg_response_headerf(&res, "X-RateLimit-Limit", "%d", 10);
    TAP_IS_INT(sg_response_head(&res, "rid", &head), SG_OK, "head built");
    TAP_IS_STR(head.data,
               "Status: 200 OK\r\n"
               "Content-Type: application/json; charset=utf-8\r\n"
               "Cache-Control: no-store\r\n"
               "X-Content-Type-Options: nosniff\r\n"
               "X-Request-ID: rid\r\n"
               "X-RateLimit-Limit: 10\r\n\r\n",
               "response head");
    TAP_IS_STR(sg_response_reason(422), "Unprocessable Entity", "reason");
    TAP_IS_STR(sg_response_reason(299), "Unknown", "unknown reason");
    for (int e = SG_API_BAD_REQUEST; e <= SG_API_STORE_UNAVAILABLE; e++)
        TAP_OK(strcmp(sg_response_reason(sg_response_status(e)), "Unknown"),
               sg_response_code(e));
    sg_buf_free(&head);
    sg_response_free(&res);
    return tap_done();
}
