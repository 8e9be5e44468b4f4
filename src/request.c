/* request.c -- from server parameters to a struct sg_request.
 *
 * The path parameters (REQUEST_URI, SCRIPT_NAME, PATH_INFO) are kept as
 * the server gave them; sg_router_path() picks the route path from them
 * and the configured mount. Nothing here decodes percent-escapes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "request.h"
#include "utf8.h"

bool sg_request_id_is_sane(const char *s)
{
    size_t n = 0;

    if (!s)
        return false;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= SG_REQUEST_ID_MAX)
            return false;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return n > 0;
}

/* The server parameters sessiongate reads, found in one pass over the
 * environment (a FastCGI request's or CGI's): a request carries some 30,
 * and looking each name up apart would scan them all 22 times. */
enum param {
    P_METHOD, P_PATH_INFO, P_URI, P_QUERY, P_CONTENT_LENGTH, P_CONTENT_TYPE,
    P_AUTHORIZATION, P_COOKIE, P_USER_AGENT, P_REMOTE_ADDR, P_FORWARDED_FOR,
    P_SESSION, P_ORIGIN, P_REFERER, P_CSRF, P_HOST, P_ACCEPT, P_REQUIRE_ROLE,
    P_SCHEME, P_HTTPS, P_REQUEST_ID, P_ROLE, P_SCRIPT_NAME, P_COUNT
};

/* The longest name here: a longer one does not compile. */
#define PARAM_NAME_MAX 23
#define PARAM(name)                                                          \
    {name, sizeof(name) - 1 +                                                \
               0 * sizeof(char[sizeof(name) - 1 <= PARAM_NAME_MAX ? 1 : -1])}
static const struct {
    const char *name;
    size_t len;
} param_names[P_COUNT] = {
    [P_METHOD] = PARAM("REQUEST_METHOD"),
    [P_PATH_INFO] = PARAM("PATH_INFO"),
    [P_URI] = PARAM("REQUEST_URI"),
    [P_QUERY] = PARAM("QUERY_STRING"),
    [P_CONTENT_LENGTH] = PARAM("CONTENT_LENGTH"),
    [P_CONTENT_TYPE] = PARAM("CONTENT_TYPE"),
    [P_AUTHORIZATION] = PARAM("HTTP_AUTHORIZATION"),
    [P_COOKIE] = PARAM("HTTP_COOKIE"),
    [P_USER_AGENT] = PARAM("HTTP_USER_AGENT"),
    [P_REMOTE_ADDR] = PARAM("REMOTE_ADDR"),
    [P_FORWARDED_FOR] = PARAM("HTTP_X_FORWARDED_FOR"),
    [P_SESSION] = PARAM("HTTP_X_SESSION_ID"),
    [P_ORIGIN] = PARAM("HTTP_ORIGIN"),
    [P_REFERER] = PARAM("HTTP_REFERER"),
    [P_CSRF] = PARAM("HTTP_X_SESSIONGATE_CSRF"),
    [P_HOST] = PARAM("HTTP_HOST"),
    [P_ACCEPT] = PARAM("HTTP_ACCEPT"),
    [P_REQUIRE_ROLE] = PARAM("SG_REQUIRE_ROLE"),
    [P_SCHEME] = PARAM("REQUEST_SCHEME"),
    [P_HTTPS] = PARAM("HTTPS"),
    [P_REQUEST_ID] = PARAM("HTTP_X_REQUEST_ID"),
    [P_ROLE] = PARAM("FCGI_ROLE"),
    [P_SCRIPT_NAME] = PARAM("SCRIPT_NAME"),
};
#undef PARAM

/* The names chained by length (built on the first request): a parameter
 * is compared only with the names of its length, one or two, not all 23. */
static signed char first_of_len[PARAM_NAME_MAX + 1];
static signed char next_of_len[P_COUNT];

static void index_param_names(void)
{
    memset(first_of_len, -1, sizeof(first_of_len));
    for (int i = P_COUNT - 1; i >= 0; i--) {
        size_t len = param_names[i].len; /* <= PARAM_NAME_MAX (PARAM) */
        next_of_len[i] = first_of_len[len];
        first_of_len[len] = (signed char)i;
    }
}

/* v[P_*]: each parameter's value, NULL when absent. A name given twice
 * keeps its first value, as getenv() and FCGX_GetParam() would. */
static void read_params(char *const *envp, const char **v)
{
    static bool indexed;

    if (!indexed)
        index_param_names(), indexed = true;
    for (int i = 0; i < P_COUNT; i++)
        v[i] = NULL;
    for (; envp && *envp; envp++) {
        const char *e = *envp, *eq = strchr(e, '=');
        size_t len;

        if (!eq || (len = (size_t)(eq - e)) > PARAM_NAME_MAX)
            continue; /* no value, or longer than any name here */
        for (int i = first_of_len[len]; i >= 0; i = next_of_len[i]) {
            if (param_names[i].name[len - 1] == e[len - 1] && !v[i] &&
                memcmp(param_names[i].name, e, len) == 0) {
                v[i] = e + len + 1;
                break;
            }
        }
    }
}

/* An empty header is no header. */
static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

/* The route path is chosen later, knowing the configured mount
 * (sg_router_path); here only the query string. */
static void init_query(struct sg_request *req, const char *uri,
                       const char *query)
{
    const char *q;

    req->query = query ? query : "";
    if (!*req->query && uri && (q = strchr(uri, '?')))
        req->query = q + 1;
}

static void init_body(struct sg_request *req, const char *cl, size_t max_body)
{
    unsigned long long n;
    char *end;

    req->body = "";
    if (!cl || !*cl)
        return;
    errno = 0;
    n = strtoull(cl, &end, 10);
    if (errno || *end || *cl == '-' || *cl == '+') {
        req->body_invalid = true;
        return;
    }
    if (n > max_body) {
        req->body_too_large = true;
        return;
    }
    req->content_length = (size_t)n;
}

void sg_request_init(struct sg_request *req, char *const *envp,
                     size_t max_body, int64_t now_ms)
{
    const char *v[P_COUNT];
    const char *rid, *role;

    read_params(envp, v);
    rid = v[P_REQUEST_ID], role = v[P_ROLE];
    memset(req, 0, sizeof(*req));
    req->now_ms = now_ms;
    req->method = v[P_METHOD] ? v[P_METHOD] : "";
    req->head = strcmp(req->method, "HEAD") == 0;
    req->authorizer = role && strcmp(role, "AUTHORIZER") == 0;
    init_query(req, v[P_URI], v[P_QUERY]);
    req->path_info = nonempty(v[P_PATH_INFO]);
    req->script_name = nonempty(v[P_SCRIPT_NAME]);
    req->content_type = nonempty(v[P_CONTENT_TYPE]);
    req->authorization = nonempty(v[P_AUTHORIZATION]);
    req->cookie = nonempty(v[P_COOKIE]);
    req->user_agent = nonempty(v[P_USER_AGENT]);
    req->remote_addr = v[P_REMOTE_ADDR] ? v[P_REMOTE_ADDR] : "";
    req->forwarded_for = nonempty(v[P_FORWARDED_FOR]);
    req->session_header = nonempty(v[P_SESSION]);
    req->origin = nonempty(v[P_ORIGIN]);
    req->referer = nonempty(v[P_REFERER]);
    req->csrf_header = nonempty(v[P_CSRF]);
    req->host = nonempty(v[P_HOST]);
    req->accept = nonempty(v[P_ACCEPT]);
    req->request_uri = nonempty(v[P_URI]);
    req->require_role = nonempty(v[P_REQUIRE_ROLE]);
    req->scheme = nonempty(v[P_SCHEME]);
    if (!req->scheme)
        req->scheme = v[P_HTTPS] && !strcasecmp(v[P_HTTPS], "on") ? "https"
                                                                  : "http";
    init_body(req, v[P_CONTENT_LENGTH], max_body);
    if (sg_request_id_is_sane(rid))
        memcpy(req->request_id, rid, strlen(rid) + 1);
    else if (sg_random_hex(req->request_id, sizeof(req->request_id), 16))
        strcpy(req->request_id, "unavailable");
}

int sg_request_read_body(struct sg_request *req, struct sg_buf *buf,
                         sg_read_fn read, void *arg)
{
    char chunk[8192];
    int rc = SG_OK;

    sg_buf_reset(buf);
    while (rc == SG_OK && buf->len < req->content_length) {
        size_t want = req->content_length - buf->len;
        long n = read(arg, chunk, want < sizeof(chunk) ? want : sizeof(chunk));
        if (n <= 0)
            rc = SG_EINVAL;
        else if (sg_buf_append(buf, chunk, (size_t)n) != SG_OK)
            rc = SG_ENOMEM;
    }
    sg_wipe(chunk, sizeof(chunk)); /* it held the body: a password */
    req->body = buf->data ? buf->data : "";
    req->body_len = buf->len;
    return rc;
}

bool sg_request_is_json(const struct sg_request *req)
{
    const char *ct = req->content_type;
    static const char json[] = "application/json";

    if (!ct)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, json, sizeof(json) - 1))
        return false;
    ct += sizeof(json) - 1;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* What json-c (0.16, STRICT) lets through in a body it accepts, and the
 * RFC says a JSON text may not carry or that sessiongate must not act on:
 *
 * - RFC 8259 section 7: the control characters U+0000..U+001F MUST be
 *   escaped inside strings; json-c takes them raw.
 * - RFC 8259 section 8.2: an escaped surrogate that is not half of a pair
 *   (\ud800 alone or before anything but \udc00..\udfff, or a lone
 *   \udc00..\udfff) is no character; json-c quietly turns it into U+FFFD,
 *   so the server would act on text the client never sent.
 * - \u0000 in a member name: json-c keeps names as C strings, so it cuts
 *   {"email\u0000x": ...} to "email": a field the client did not name.
 *   (In values it is kept; sg_request_json_string refuses it there.)
 *
 * Invalid UTF-8 (RFC 8259 section 8.1, RFC 3629 section 3) is refused
 * before json-c sees the text; json-c's own UTF-8 flag counts bytes only.
 * The text is valid JSON when the scan below runs, so it tracks only
 * strings and depth, but it still never reads past len. */
static const char ctl_reason[] =
    "The body has a control character inside a string.";
static const char surrogate_reason[] =
    "The body has an unpaired surrogate escape.";

static bool is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The value of the four hex digits at s[0..len), or -1. */
static long hex4(const char *s, size_t len)
{
    long v = 0;

    if (len < 4)
        return -1;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* Check the string whose opening quote is s[*i - 1] and leave *i past
 * its closing quote. NULL when acceptable, else the reason; *nul tells
 * whether it holds \u0000. */
static const char *scan_string(const char *s, size_t len, size_t *i, bool *nul)
{
    bool want_low = false; /* the last escape was a high surrogate */
    long cp;

    *nul = false;
    while (*i < len && s[*i] != '"') {
        if ((unsigned char)s[*i] < 0x20)
            return ctl_reason;
        if (s[*i] != '\\' || *i + 1 >= len || s[*i + 1] != 'u') {
            if (want_low)
                return surrogate_reason;
            *i += s[*i] == '\\' ? 2 : 1;
            continue;
        }
        if ((cp = hex4(s + *i + 2, len - *i - 2)) < 0)
            return "The body is not valid JSON.";
        *i += 6;
        if (want_low != (cp >= 0xdc00 && cp <= 0xdfff))
            return surrogate_reason;
        want_low = !want_low && cp >= 0xd800 && cp <= 0xdbff;
        *nul |= cp == 0;
    }
    if (want_low)
        return surrogate_reason;
    (*i)++;
    return NULL;
}

/* Scan the raw text for the above, and count the keys of the top-level
 * object into *top_keys: a string at depth 1 followed by ':' is a key
 * (json-c keeps the last of a repeated key silently). NULL or a reason. */
static const char *scan_text(const char *s, size_t len, size_t *top_keys)
{
    size_t i = 0;
    int depth = 0;
    const char *why;
    bool nul;

    *top_keys = 0;
    while (i < len) {
        char c = s[i++];
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (c == '"') {
            if ((why = scan_string(s, len, &i, &nul)))
                return why;
            while (i < len && is_json_space(s[i]))
                i++;
            if (i < len && s[i] == ':') {
                if (nul)
                    return "The body has \\u0000 in a field name.";
                *top_keys += depth == 1;
            }
        }
    }
    return NULL;
}

int sg_request_parse_json(struct sg_request *req, const char **why)
{
    json_tokener *tok = json_tokener_new_ex(32);
    json_object *obj;
    size_t used, top_keys = 0;

    if (!tok)
        return SG_ENOMEM;
    if (!sg_utf8_valid(req->body, req->body_len)) {
        json_tokener_free(tok);
        *why = "The body is not valid UTF-8.";
        return SG_EINVAL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    obj = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
    used = json_tokener_get_parse_end(tok);
    if (!obj || json_tokener_get_error(tok) != json_tokener_success) {
        json_tokener_free(tok);
        json_object_put(obj);
        *why = "The body is not valid JSON.";
        return SG_EINVAL;
    }
    json_tokener_free(tok);
    while (used < req->body_len && is_json_space(req->body[used]))
        used++;
    if (used != req->body_len) {
        *why = "The body has data after the JSON value.";
    } else if (!json_object_is_type(obj, json_type_object)) {
        *why = "The body must be a JSON object.";
    } else if ((*why = scan_text(req->body, req->body_len, &top_keys))) {
        /* *why says what */
    } else if (top_keys != (size_t)json_object_object_length(obj)) {
        *why = "The body repeats a field.";
    } else {
        req->json = obj;
        return SG_OK;
    }
    json_object_put(obj);
    return SG_EINVAL;
}

int sg_request_json_string(const struct sg_request *req, const char *name,
                           size_t max, const char **out, size_t *len)
{
    json_object *v;

    if (!req->json || !json_object_object_get_ex(req->json, name, &v) || !v)
        return SG_ENOTFOUND;
    if (!json_object_is_type(v, json_type_string))
        return SG_EINVAL;
    *out = json_object_get_string(v);
    *len = (size_t)json_object_get_string_len(v);
    if (*len > max || memchr(*out, '\0', *len))
        return SG_EINVAL;
    return SG_OK;
}

void sg_request_release(struct sg_request *req)
{
    /* The top-level strings are the request's fields, passwords and
     * refresh tokens among them: wipe them before json-c frees them.
     * json-c owns the bytes; they are ours to zero, the object dying. */
    if (req->json) {
        json_object_object_foreach(req->json, key, v)
        {
            (void)key;
            if (json_object_is_type(v, json_type_string))
                sg_wipe((char *)json_object_get_string(v),
                                (size_t)json_object_get_string_len(v));
        }
    }
    json_object_put(req->json);
    req->json = NULL;
}
