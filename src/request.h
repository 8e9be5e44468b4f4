/* request.h -- one client request, independent of FastCGI or CGI.
 *
 * The transport builds a struct sg_request from the server's parameters
 * through a lookup callback, reads the body (never more than the limit),
 * and hands it to the application. Every string is borrowed from the
 * transport and lives until the response is written; the request owns
 * only its parsed JSON body, released by sg_request_release().
 */
#ifndef SG_REQUEST_H
#define SG_REQUEST_H

#include <json-c/json.h>

#include "buf.h"
#include "sg.h"
#include "token.h"

#define SG_REQUEST_ID_MAX   128
#define SG_ROUTE_PARAMS_MAX 2

struct sg_route;

struct sg_request {
    const char *method;
    const char *path; /* the route path (sg_router_path), not NUL-ended */
    size_t path_len;
    const char *path_info;   /* PATH_INFO (decoded by the server) */
    const char *script_name; /* SCRIPT_NAME: the mount, unless configured */
    const char *mount;       /* the mount routed under (set by the app) */
    const char *query;       /* "" when none */
    const char *content_type;
    const char *authorization;
    const char *cookie;
    const char *user_agent;
    const char *remote_addr;
    const char *forwarded_for;
    const char *session_header; /* X-Session-ID sent by the client */
    const char *origin;
    const char *referer;
    const char *csrf_header;  /* X-Sessiongate-CSRF, see cookie.h */
    const char *host;         /* Host */
    const char *scheme;       /* "http" or "https" */
    const char *accept;       /* Accept */
    const char *request_uri;  /* as the client asked, for redirects */
    const char *require_role; /* SG_REQUIRE_ROLE, set by the server config */
    bool authorizer;          /* FastCGI Authorizer role */
    bool head;                /* HEAD: answer as GET, send no body */

    size_t content_length; /* as announced by the server */
    bool body_too_large;   /* announced length over max_body_bytes */
    bool body_invalid;     /* CONTENT_LENGTH unparsable */
    const char *body;      /* body_len bytes, NUL-terminated */
    size_t body_len;

    int64_t now_ms; /* request start, from the transport's clock */
    char request_id[SG_REQUEST_ID_MAX + 1];

    /* set by the router and the app */
    const struct sg_route *route; /* the row being run */
    const char *params[SG_ROUTE_PARAMS_MAX];
    size_t param_lens[SG_ROUTE_PARAMS_MAX];

    /* set by sg_request_parse_json */
    json_object *json;

    /* set for authenticated routes, from the verified access token:
     * claims points to token once it has been verified */
    struct sg_claims token;
    const struct sg_claims *claims;
    bool token_from_cookie;

    /* the client IP, resolved on first use by sg_client_ip(), and its
     * rate-limit bucket (sg_client_bucket()) */
    char client_ip[64];
    char client_bucket[64];
};

/* Fill req from the server's parameters, envp: "NAME=value" strings up to
 * a NULL (a FastCGI request's envp, or CGI's environ), read in one pass;
 * the request borrows the values. max_body is the configured body
 * limit: CONTENT_LENGTH above it sets body_too_large and the transport
 * must not read the body. Generates a request id unless the client sent a
 * sane one. Never fails: odd input is recorded and judged by the router. */
void sg_request_init(struct sg_request *req, char *const *envp, size_t max_body,
                     int64_t now_ms);

/* Read up to n bytes of the body into p: the count read, 0 at the end, or
 * negative on error (EINTR is the reader's business). */
typedef long (*sg_read_fn)(void *arg, char *p, size_t n);

/* Read the announced body (content_length bytes) into buf, which is reset
 * first and kept by the caller between requests, and point req->body at
 * it. SG_EINVAL if the stream ends early, SG_ENOMEM. */
int sg_request_read_body(struct sg_request *req, struct sg_buf *buf,
                         sg_read_fn read, void *arg);

/* True when s is acceptable as an echoed X-Request-ID: 1 to 128 of
 * [A-Za-z0-9._-]. */
bool sg_request_id_is_sane(const char *s);

/* Whether the Content-Type is application/json (parameters such as
 * charset=utf-8 allowed, case-insensitive). */
bool sg_request_is_json(const struct sg_request *req);

/* Parse the body as one JSON object into req->json. SG_EINVAL (with a
 * human reason in *why) for anything else: text that is not well-formed
 * UTF-8 (RFC 8259 section 8.1, RFC 3629), invalid JSON, trailing bytes,
 * a non-object, a raw control character inside a string (section 7), an
 * escaped surrogate that is not half of a pair (section 8.2), \u0000 in
 * any member name, or a key repeated at the top level (json-c would keep
 * the last one silently; a repeated field is ambiguous, so it is
 * refused). So every string in req->json is well-formed UTF-8, and every
 * name is one the client wrote. */
int sg_request_parse_json(struct sg_request *req, const char **why);

/* A top-level string field of the JSON body. SG_ENOTFOUND when absent
 * (or null), SG_EINVAL when not a string, contains NUL, or is longer than
 * max bytes. *out (well-formed UTF-8, see sg_request_parse_json, and
 * NUL-terminated at *len) borrows from req->json. */
int sg_request_json_string(const struct sg_request *req, const char *name,
                           size_t max, const char **out, size_t *len);

/* Release what the request owns (the parsed body), wiping its top-level
 * strings (passwords, refresh tokens) first. */
void sg_request_release(struct sg_request *req);

#endif
