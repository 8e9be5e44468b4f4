/* fuzz_request.c -- request.c: server parameters and the JSON body.
 *
 * Input: the server's parameters as "NAME=value" lines, a blank line,
 * then the body, exactly as a CGI request would carry them:
 *
 *     REQUEST_METHOD=POST
 *     CONTENT_LENGTH=17
 *     CONTENT_TYPE=application/json
 *
 *     {"email":"a@b.c"}
 *
 * Every value and the body are copied into buffers of their exact size
 * (the body with the NUL the transport guarantees), so ASan sees any read
 * past them. Checked besides memory safety: the request id is always a
 * sane one, the path lies inside the parameter it came from, and every
 * string sg_request_json_string hands out keeps its contract.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

#define MAX_PARAMS 32
#define MAX_BODY   16384 /* the max_body_bytes default */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct params {
    char *env[MAX_PARAMS + 1]; /* "NAME=value", NULL-terminated */
    size_t n;
};

/* The first value of name, as sg_request_init must take it. */
static const char *lookup(const struct params *p, const char *name)
{
    size_t len = strlen(name);

    for (size_t i = 0; i < p->n; i++)
        if (strncmp(p->env[i], name, len) == 0 && p->env[i][len] == '=')
            return p->env[i] + len + 1;
    return NULL;
}

static char *dup_exact(const char *s, size_t len)
{
    char *copy = malloc(len + 1);

    if (copy) {
        memcpy(copy, s, len);
        copy[len] = '\0';
    }
    return copy;
}

/* Parse the "NAME=value" lines; returns where the body starts. */
static size_t read_params(const char *s, size_t size, struct params *p)
{
    size_t i = 0;

    while (i < size) {
        const char *line = s + i, *nl = memchr(line, '\n', size - i);
        size_t len = nl ? (size_t)(nl - line) : size - i;
        const char *eq = memchr(line, '=', len);

        i += len + (nl ? 1 : 0);
        if (len == 0)
            break; /* the blank line: the body follows */
        if (!eq || p->n == MAX_PARAMS)
            continue;
        if (!(p->env[p->n++] = dup_exact(line, len)))
            abort();
    }
    p->env[p->n] = NULL;
    return i;
}

static void check_json_strings(struct sg_request *req)
{
    static const char *const fields[] = {"email", "password", "name",
                                         "refresh_token", "nonexistent"};
    const char *s;
    size_t len;

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (sg_request_json_string(req, fields[i], 1024, &s, &len) == SG_OK &&
            (len > 1024 || memchr(s, '\0', len) || s[len] != '\0'))
            abort();
    }
    json_object_object_foreach(req->json, key, val)
    {
        (void)val;
        if (sg_request_json_string(req, key, 8, &s, &len) == SG_OK &&
            (len > 8 || s[len] != '\0'))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct params p = {.n = 0};
    struct sg_request req;
    const char *why = NULL, *uri;
    size_t body_at = read_params((const char *)data, size, &p);
    char *body = dup_exact((const char *)data + body_at, size - body_at);

    if (!body)
        abort();
    sg_request_init(&req, p.env, MAX_BODY, 1700000000000LL);
    if (!sg_request_id_is_sane(req.request_id) || !req.method || !req.query ||
        !req.remote_addr || !req.scheme)
        abort();
    uri = lookup(&p, "REQUEST_URI");
    if ((uri && *uri && req.request_uri != uri) ||
        (req.path_info && req.path_info != lookup(&p, "PATH_INFO")) ||
        (req.script_name && req.script_name != lookup(&p, "SCRIPT_NAME")))
        abort();
    if (req.body_too_large && req.content_length > 0)
        abort();
    (void)sg_request_is_json(&req);

    req.body = body;
    req.body_len = size - body_at;
    if (sg_request_parse_json(&req, &why) == SG_OK) {
        if (!req.json || !json_object_is_type(req.json, json_type_object))
            abort();
        check_json_strings(&req);
    } else if (!why || req.json) {
        abort();
    }
    sg_request_release(&req);

    free(body);
    for (size_t i = 0; i < p.n; i++)
        free(p.env[i]);
    return 0;
}
