/* response.c -- envelope, error table and response head.
 *
 * The error table is the single mapping from API.md's error codes to
 * HTTP statuses. Bodies are built with json-c and serialised without
 * pretty-printing or slash escaping; the envelope is assembled around the
 * handler's data object so handlers only ever build their own payload.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "response.h"

static const struct {
    int status;
    const char *code;
    const char *message;
} api_errors[] = {
    [SG_API_BAD_REQUEST] = {400, "BAD_REQUEST", "The request is malformed."},
    [SG_API_SESSION_MISMATCH] = {400, "SESSION_MISMATCH",
                                 "X-Session-ID does not match the token."},
    [SG_API_UNAUTHORIZED] = {401, "UNAUTHORIZED",
                             "A valid access token is required."},
    [SG_API_INVALID_CREDENTIALS] = {401, "INVALID_CREDENTIALS",
                                    "Wrong email or password."},
    [SG_API_REFRESH_REUSED] = {401, "REFRESH_REUSED",
                               "This refresh token was already used; the "
                               "session has been revoked."},
    [SG_API_FORBIDDEN] = {403, "FORBIDDEN", "You are not allowed to do this."},
    [SG_API_REGISTRATION_CLOSED] = {403, "REGISTRATION_CLOSED",
                                    "Registration is closed."},
    [SG_API_NOT_FOUND] = {404, "NOT_FOUND", "Not found."},
    [SG_API_METHOD_NOT_ALLOWED] = {405, "METHOD_NOT_ALLOWED",
                                   "Method not allowed on this route."},
    [SG_API_EMAIL_TAKEN] = {409, "EMAIL_TAKEN",
                            "An account with this email already exists."},
    [SG_API_PAYLOAD_TOO_LARGE] = {413, "PAYLOAD_TOO_LARGE",
                                  "The request body is too large."},
    [SG_API_UNSUPPORTED_MEDIA_TYPE] = {415, "UNSUPPORTED_MEDIA_TYPE",
                                       "The body must be application/json."},
    [SG_API_WEAK_PASSWORD] = {422, "WEAK_PASSWORD",
                              "The password does not meet the policy."},
    [SG_API_INVALID_EMAIL] = {422, "INVALID_EMAIL",
                              "The email address is not valid."},
    [SG_API_RATE_LIMITED] = {429, "RATE_LIMITED",
                             "Too many requests; try again later."},
    [SG_API_INTERNAL] = {500, "INTERNAL_ERROR", "Internal error."},
    [SG_API_STORE_UNAVAILABLE] = {503, "STORE_UNAVAILABLE",
                                  "The session store is unavailable; try "
                                  "again shortly."},
};

static const struct {
    int status;
    const char *reason;
} reasons[] = {
    {200, "OK"},
    {201, "Created"},
    {204, "No Content"},
    {302, "Found"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {409, "Conflict"},
    {413, "Payload Too Large"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Entity"},
    {429, "Too Many Requests"},
    {500, "Internal Server Error"},
    {503, "Service Unavailable"},
};

void sg_response_init(struct sg_response *res)
{
    memset(res, 0, sizeof(*res));
    res->status = 200;
}

void sg_response_reset(struct sg_response *res)
{
    res->status = 200;
    res->content_type = NULL;
    sg_buf_reset(&res->headers);
    sg_buf_reset(&res->body);
}

void sg_response_wipe(struct sg_response *res)
{
    sg_buf_wipe(&res->headers);
    sg_buf_wipe(&res->body);
}

void sg_response_free(struct sg_response *res)
{
    sg_buf_free(&res->headers);
    sg_buf_free(&res->body);
}

int sg_response_header(struct sg_response *res, const char *name,
                       const char *value)
{
    size_t nlen = strcspn(name, "\r\n: "), vlen = strcspn(value, "\r\n");
    char *p;

    if (name[nlen] || value[vlen])
        return SG_EINVAL;
    /* one reserve for "NAME: VALUE\r\n" (a verify adds five) */
    if (vlen > SIZE_MAX / 2 - nlen ||
        !(p = sg_buf_room(&res->headers, nlen + vlen + 4)))
        return SG_ENOMEM;
    memcpy(p, name, nlen);
    memcpy(p + nlen, ": ", 2);
    memcpy(p + nlen + 2, value, vlen);
    memcpy(p + nlen + 2 + vlen, "\r\n", 2);
    sg_buf_added(&res->headers, nlen + vlen + 4);
    return SG_OK;
}

int sg_response_headerf(struct sg_response *res, const char *name,
                        const char *fmt, ...)
{
    char value[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(value))
        return SG_ETOOBIG;
    return sg_response_header(res, name, value);
}

int sg_response_header_num(struct sg_response *res, const char *name,
                           long long value)
{
    char num[24];

    sg_i64_str(num, value);
    return sg_response_header(res, name, num);
}

/* Serialise the envelope root into the body, replacing what was there. */
static int put_envelope(struct sg_response *res, json_object *root)
{
    size_t len;
    const char *s;
    int rc;

    if (!root)
        return SG_ENOMEM;
    s = json_object_to_json_string_length(
        root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    sg_buf_reset(&res->body);
    rc = s ? sg_buf_append(&res->body, s, len) : SG_ENOMEM;
    json_object_put(root);
    return rc;
}

int sg_response_json(struct sg_response *res, int status, json_object *root)
{
    res->status = status;
    return put_envelope(res, root);
}

int sg_response_ok(struct sg_response *res, int status, json_object *data)
{
    json_object *root = json_object_new_object();

    if (!root) {
        json_object_put(data);
        return SG_ENOMEM;
    }
    res->status = status;
    json_object_object_add(root, "success", json_object_new_boolean(1));
    json_object_object_add(root, "data",
                           data ? data : json_object_new_object());
    return put_envelope(res, root);
}

int sg_response_ok_begin(struct sg_response *res, int status)
{
    res->status = status;
    sg_buf_reset(&res->body);
    return sg_buf_puts(&res->body, "{\"success\":true,\"data\":");
}

int sg_response_ok_end(struct sg_response *res, int rc)
{
    if (rc == SG_OK)
        rc = sg_buf_append(&res->body, "}", 1);
    if (rc != SG_OK)
        sg_buf_reset(&res->body);
    return rc;
}

int sg_response_error(struct sg_response *res, enum sg_api_error err,
                      const char *message, json_object *data)
{
    json_object *root = json_object_new_object();
    json_object *error = json_object_new_object();

    if (!root || !error) {
        json_object_put(root);
        json_object_put(error);
        json_object_put(data);
        return SG_ENOMEM;
    }
    res->status = api_errors[err].status;
    json_object_object_add(error, "code",
                           json_object_new_string(api_errors[err].code));
    json_object_object_add(
        error, "message",
        json_object_new_string(message ? message : api_errors[err].message));
    json_object_object_add(root, "success", json_object_new_boolean(0));
    json_object_object_add(root, "error", error);
    if (data)
        json_object_object_add(root, "data", data);
    if (err == SG_API_STORE_UNAVAILABLE)
        sg_response_header(res, "Retry-After", "1");
    else if (err == SG_API_UNAUTHORIZED)
        sg_response_header(res, "WWW-Authenticate",
                           "Bearer error=\"invalid_token\"");
    return put_envelope(res, root);
}

int sg_response_fail(struct sg_response *res, int sg_err)
{
    switch (sg_err) {
    case SG_ESTORE:
        return sg_response_error(res, SG_API_STORE_UNAVAILABLE, NULL, NULL);
    case SG_EAUTH:
        return sg_response_error(res, SG_API_UNAUTHORIZED, NULL, NULL);
    case SG_EINVAL:
        return sg_response_error(res, SG_API_BAD_REQUEST, NULL, NULL);
    case SG_ETOOBIG:
        return sg_response_error(res, SG_API_PAYLOAD_TOO_LARGE, NULL, NULL);
    case SG_ENOTFOUND:
        return sg_response_error(res, SG_API_NOT_FOUND, NULL, NULL);
    case SG_ELIMIT:
        return sg_response_error(res, SG_API_RATE_LIMITED, NULL, NULL);
    default:
        return sg_response_error(res, SG_API_INTERNAL, NULL, NULL);
    }
}

const char *sg_response_code(enum sg_api_error err)
{
    return api_errors[err].code;
}

int sg_response_status(enum sg_api_error err)
{
    return api_errors[err].status;
}

const char *sg_response_reason(int status)
{
    for (size_t i = 0; i < SG_ARRAY_LEN(reasons); i++)
        if (reasons[i].status == status)
            return reasons[i].reason;
    return "Unknown";
}

int sg_response_head(const struct sg_response *res, const char *request_id,
                     struct sg_buf *out)
{
    char status[24];

    sg_i64_str(status, res->status); /* no printf: every answer has one */
    if (sg_buf_puts(out, "Status: ") || sg_buf_puts(out, status) ||
        sg_buf_puts(out, " ") ||
        sg_buf_puts(out, sg_response_reason(res->status)) ||
        sg_buf_puts(out, "\r\nContent-Type: ") ||
        sg_buf_puts(out, res->content_type
                             ? res->content_type
                             : "application/json; charset=utf-8") ||
        sg_buf_puts(out, "\r\n"
                         "Cache-Control: no-store\r\n"
                         "X-Content-Type-Options: nosniff\r\n"
                         "X-Request-ID: ") ||
        sg_buf_puts(out, request_id) || sg_buf_puts(out, "\r\n") ||
        sg_buf_append(out, res->headers.data ? res->headers.data : "",
                      res->headers.len) ||
        sg_buf_puts(out, "\r\n"))
        return SG_ENOMEM;
    return SG_OK;
}
