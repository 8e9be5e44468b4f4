/* response.h -- the JSON envelope, statuses and headers of one answer.
 *
 * Handlers fill a struct sg_response through these functions and never
 * print: the transport serialises it. Every API error code of API.md has
 * one entry in a table in response.c (status, reason phrase, code, default
 * message), and sg_response_fail() is the one place where an internal
 * SG_E* failure becomes a client-visible answer.
 */
#ifndef SG_RESPONSE_H
#define SG_RESPONSE_H

#include <json-c/json.h>

#include "buf.h"

enum sg_api_error {
    SG_API_BAD_REQUEST,
    SG_API_SESSION_MISMATCH,
    SG_API_UNAUTHORIZED,
    SG_API_INVALID_CREDENTIALS,
    SG_API_REFRESH_REUSED,
    SG_API_FORBIDDEN,
    SG_API_REGISTRATION_CLOSED,
    SG_API_NOT_FOUND,
    SG_API_METHOD_NOT_ALLOWED,
    SG_API_EMAIL_TAKEN,
    SG_API_PAYLOAD_TOO_LARGE,
    SG_API_UNSUPPORTED_MEDIA_TYPE,
    SG_API_WEAK_PASSWORD,
    SG_API_INVALID_EMAIL,
    SG_API_RATE_LIMITED,
    SG_API_INTERNAL,
    SG_API_STORE_UNAVAILABLE,
};

struct sg_response {
    int status;
    /* static text; NULL: the JSON envelope's */
    const char *content_type;
    struct sg_buf headers; /* extra "Name: value\r\n" lines */
    struct sg_buf body;
};

void sg_response_init(struct sg_response *res);
/* Empty it for the next request, keeping its memory. */
void sg_response_reset(struct sg_response *res);
/* Zero what the response holds (tokens in Set-Cookie and the body),
 * keeping its memory for the next request. */
void sg_response_wipe(struct sg_response *res);
void sg_response_free(struct sg_response *res);

/* Add a header. The value must not contain CR or LF (SG_EINVAL): values
 * that come from a client are validated before they get here. */
int sg_response_header(struct sg_response *res, const char *name,
                       const char *value);
int sg_response_headerf(struct sg_response *res, const char *name,
                        const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A header whose value is a decimal number (the rate-limit headers, on
 * every limited request: no printf). */
int sg_response_header_num(struct sg_response *res, const char *name,
                           long long value);

/* Success: status and {"success":true,"data":data}. Takes ownership of
 * data (json_object_put), which may be NULL for an empty object. */
int sg_response_ok(struct sg_response *res, int status, json_object *data);

/* The same envelope written directly, for the hot path: begin writes
 * {"success":true,"data": and sets the status, the caller appends the
 * data's JSON to res->body, end closes it. end takes the caller's result
 * (SG_OK or an error, passed through) and returns the outcome. */
int sg_response_ok_begin(struct sg_response *res, int status);
int sg_response_ok_end(struct sg_response *res, int rc);

/* A body that is not the plain envelope (JWKS): root serialised as is,
 * ownership taken. */
int sg_response_json(struct sg_response *res, int status, json_object *root);

/* Failure: the table's status and {"success":false,"error":{code,
 * message}}; message NULL means the table's default. data, if not NULL,
 * is added as "data" beside "error" (ownership taken). Adds Retry-After
 * for STORE_UNAVAILABLE and WWW-Authenticate for UNAUTHORIZED. Replaces
 * any body already written. */
int sg_response_error(struct sg_response *res, enum sg_api_error err,
                      const char *message, json_object *data);

/* Map an internal SG_E* code to its answer (SG_ESTORE -> 503
 * STORE_UNAVAILABLE, SG_ENOMEM and the rest -> 500 INTERNAL_ERROR). */
int sg_response_fail(struct sg_response *res, int sg_err);

/* The code string and status of an API error, for tests and logs. */
const char *sg_response_code(enum sg_api_error err);
int sg_response_status(enum sg_api_error err);

/* "OK", "Not Found", ... ("Unknown" for anything else). */
const char *sg_response_reason(int status);

/* The head of a CGI/FastCGI response: Status line with reason phrase,
 * Content-Type, Cache-Control, X-Content-Type-Options, X-Request-ID, the
 * extra headers, and the blank line. */
int sg_response_head(const struct sg_response *res, const char *request_id,
                     struct sg_buf *out);

#endif
