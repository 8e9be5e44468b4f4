/* fcgi_record.c -- FastCGI 1.0 records of the common request (see
 * fcgi_record.h for why this exists beside libfcgi).
 *
 * A record (FastCGI 1.0, section 3.3) is an 8-byte header (version, type,
 * request id, content length, padding length, reserved), its content and
 * its padding. Every length here comes from the peer and is checked
 * against what is in hand before anything is read: a record that runs
 * past the input, or a name-value pair (section 3.4) that runs past its
 * stream, makes the request libfcgi's, which refuses it as it always did.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <fastcgi.h>

#include "fcgi_record.h"

/* The content of a STDOUT record, 8-byte aligned as libfcgi writes them. */
#define STDOUT_MAX 65528

/* A stream (PARAMS or STDIN) in hand: one record's content, in place, or
 * several copied together into spill. */
struct stream {
    const unsigned char *p;
    size_t len;
    int records;
    struct sg_buf *spill;
};

static int stream_add(struct stream *s, const unsigned char *c, size_t len)
{
    if (s->records++ == 0) {
        s->p = c, s->len = len;
        return SG_OK;
    }
    if (s->records == 2) { /* the first record's content, copied now */
        sg_buf_reset(s->spill);
        if (sg_buf_append(s->spill, (const char *)s->p, s->len) != SG_OK)
            return SG_ENOMEM;
    }
    if (sg_buf_append(s->spill, (const char *)c, len) != SG_OK)
        return SG_ENOMEM;
    s->p = (const unsigned char *)s->spill->data, s->len = s->spill->len;
    return SG_OK;
}

/* A name or value length: one byte below 128, else four with the top bit
 * set (section 3.4). */
static bool pair_len(const unsigned char **p, const unsigned char *end,
                     size_t *len)
{
    const unsigned char *q = *p;

    if (q >= end)
        return false;
    if (!(q[0] & 0x80)) {
        *len = q[0];
        *p = q + 1;
        return true;
    }
    if (end - q < 4)
        return false;
    *len = (size_t)(q[0] & 0x7f) << 24 | (size_t)q[1] << 16 |
           (size_t)q[2] << 8 | q[3];
    *p = q + 4;
    return true;
}

static bool envp_room(struct sg_fcgi_parser *ps, size_t n)
{
    char **v;
    size_t cap;

    if (n <= ps->envp_cap)
        return true;
    cap = ps->envp_cap ? ps->envp_cap : 64;
    while (cap < n)
        cap *= 2;
    if (!(v = realloc(ps->envp, cap * sizeof(*v))))
        return false;
    ps->envp = v, ps->envp_cap = cap;
    return true;
}

/* The pairs of a PARAMS stream as "NAME=value" strings, the role's first
 * (libfcgi puts FCGI_ROLE first, so a server's own FCGI_ROLE never wins).
 * A pair takes at least as many bytes as its string (two length bytes for
 * the '=' and the NUL), so one reserve of the stream's length holds them
 * all, and one of half of it their pointers. */
static enum sg_fcgi_parse take_pairs(struct sg_fcgi_parser *ps,
                                     const struct stream *s, bool authorizer)
{
    static const char responder[] = "FCGI_ROLE=RESPONDER",
                      authz[] = "FCGI_ROLE=AUTHORIZER";
    const unsigned char *p = s->p, *end = s->len ? s->p + s->len : s->p;
    char *start, *w;
    size_t n = 0;

    sg_buf_reset(&ps->params);
    if (!(w = start = sg_buf_room(&ps->params, s->len)) ||
        !envp_room(ps, s->len / 2 + 2))
        return SG_FCGI_NOMEM;
    while (p != end) {
        size_t name, value;

        if (!pair_len(&p, end, &name) || !pair_len(&p, end, &value) ||
            name > (size_t)(end - p) || value > (size_t)(end - p) - name)
            return SG_FCGI_OTHER;
        ps->envp[++n] = w;
        memcpy(w, p, name);
        w[name] = '=';
        memcpy(w + name + 1, p + name, value);
        w[name + 1 + value] = '\0';
        w += name + value + 2;
        p += name + value;
    }
    sg_buf_added(&ps->params, (size_t)(w - start));
    ps->envp[0] = (char *)(authorizer ? authz : responder);
    ps->envp[n + 1] = NULL;
    return SG_FCGI_PARSED;
}

enum sg_fcgi_parse sg_fcgi_parse(struct sg_fcgi_parser *ps,
                                 const unsigned char *p, size_t n,
                                 struct sg_fcgi_request *req)
{
    struct stream params = {.spill = &ps->raw}, in = {.spill = &ps->in};
    enum { BEGIN, PARAMS, STDIN } want = BEGIN;
    size_t off = 0;

    memset(req, 0, sizeof(*req));
    while (n - off >= FCGI_HEADER_LEN) {
        const unsigned char *h = p + off, *c = h + FCGI_HEADER_LEN;
        unsigned type = h[1], id = (unsigned)h[2] << 8 | h[3];
        size_t len = (size_t)h[4] << 8 | h[5];
        size_t record = FCGI_HEADER_LEN + len + h[6];
        enum sg_fcgi_parse st;

        if (h[0] != FCGI_VERSION_1 || n - off < record)
            return SG_FCGI_OTHER;
        off += record;
        if (want == BEGIN) {
            unsigned role;

            if (type != FCGI_BEGIN_REQUEST || id == 0 || len != 8)
                return SG_FCGI_OTHER;
            role = (unsigned)c[0] << 8 | c[1];
            if (role != FCGI_RESPONDER && role != FCGI_AUTHORIZER)
                return SG_FCGI_OTHER; /* FILTER, or unknown: libfcgi's */
            req->id = id;
            req->authorizer = role == FCGI_AUTHORIZER;
            req->keep_conn = (c[2] & FCGI_KEEP_CONN) != 0;
            want = PARAMS;
            continue;
        }
        if (id != req->id || type != (want == PARAMS ? FCGI_PARAMS : FCGI_STDIN))
            return SG_FCGI_OTHER;
        if (len > 0) {
            if (stream_add(want == PARAMS ? &params : &in, c, len) != SG_OK)
                return SG_FCGI_NOMEM;
            continue;
        }
        if (want == PARAMS) {
            if ((st = take_pairs(ps, &params, req->authorizer)) !=
                SG_FCGI_PARSED)
                return st;
            want = STDIN;
            continue;
        }
        req->len = off;
        req->envp = ps->envp;
        req->in = in.records ? (const char *)in.p : "";
        req->in_len = in.len;
        return SG_FCGI_PARSED;
    }
    return SG_FCGI_OTHER;
}

/* One record header. */
static void header(unsigned char *h, unsigned type, unsigned id, size_t len,
                   unsigned pad)
{
    h[0] = FCGI_VERSION_1;
    h[1] = (unsigned char)type;
    h[2] = (unsigned char)(id >> 8);
    h[3] = (unsigned char)id;
    h[4] = (unsigned char)(len >> 8);
    h[5] = (unsigned char)len;
    h[6] = (unsigned char)pad;
    h[7] = 0;
}

/* STDOUT records carrying s[0..len), each padded to 8 bytes. */
static void put_stdout(unsigned char **w, unsigned id, const char *s,
                       size_t len)
{
    while (len > 0) {
        size_t k = len < STDOUT_MAX ? len : STDOUT_MAX;
        unsigned pad = (unsigned)(-k & 7);

        header(*w, FCGI_STDOUT, id, k, pad);
        memcpy(*w + FCGI_HEADER_LEN, s, k);
        memset(*w + FCGI_HEADER_LEN + k, 0, pad);
        *w += FCGI_HEADER_LEN + k + pad;
        s += k, len -= k;
    }
}

int sg_fcgi_answer(struct sg_buf *out, unsigned id, const char *a,
                   size_t a_len, const char *b, size_t b_len)
{
    /* each record at most a header and 7 bytes of padding over its
     * content; then the empty STDOUT and END_REQUEST (header + 8) */
    size_t records = a_len / STDOUT_MAX + b_len / STDOUT_MAX + 2;
    size_t most = a_len + b_len + records * (FCGI_HEADER_LEN + 7) +
                  3 * FCGI_HEADER_LEN;
    unsigned char *start, *w;

    if (!(w = start = (unsigned char *)sg_buf_room(out, most)))
        return SG_ENOMEM;
    put_stdout(&w, id, a, a_len);
    put_stdout(&w, id, b, b_len);
    header(w, FCGI_STDOUT, id, 0, 0);
    w += FCGI_HEADER_LEN;
    header(w, FCGI_END_REQUEST, id, 8, 0);
    memset(w + FCGI_HEADER_LEN, 0, 8); /* app status 0, REQUEST_COMPLETE */
    w += 2 * FCGI_HEADER_LEN;
    sg_buf_added(out, (size_t)(w - start));
    return SG_OK;
}

void sg_fcgi_parser_wipe(struct sg_fcgi_parser *ps)
{
    sg_buf_wipe(&ps->params);
    sg_buf_wipe(&ps->raw);
    sg_buf_wipe(&ps->in);
}

void sg_fcgi_parser_free(struct sg_fcgi_parser *ps)
{
    sg_buf_free(&ps->params);
    sg_buf_free(&ps->raw);
    sg_buf_free(&ps->in);
    free(ps->envp);
    ps->envp = NULL;
    ps->envp_cap = 0;
}
