/* Unit tests for fcgi_record.c: the requests it parses are parsed exactly
 * as libfcgi parses them (each case, and hundreds of random ones, are fed
 * to both over a socketpair and the parameters and body compared), the
 * ones it leaves alone are the ones it must, and its answers are records
 * a FastCGI client reads back to the bytes given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fastcgi.h>
#include <fcgiapp.h>

#include "fcgi_record.h"
#include "tap.h"

struct input {
    unsigned char p[65536];
    size_t n;
};

static void rec(struct input *in, unsigned type, unsigned id,
                const void *content, size_t len, unsigned pad)
{
    unsigned char *h = in->p + in->n;

    h[0] = FCGI_VERSION_1, h[1] = (unsigned char)type;
    h[2] = (unsigned char)(id >> 8), h[3] = (unsigned char)id;
    h[4] = (unsigned char)(len >> 8), h[5] = (unsigned char)len;
    h[6] = (unsigned char)pad, h[7] = 0;
    memcpy(h + 8, content, len);
    memset(h + 8 + len, 0xAA, pad);
    in->n += 8 + len + pad;
}

static void begin(struct input *in, unsigned id, unsigned role, bool keep)
{
    unsigned char b[8] = {(unsigned char)(role >> 8), (unsigned char)role,
                          keep ? FCGI_KEEP_CONN : 0};

    rec(in, FCGI_BEGIN_REQUEST, id, b, sizeof(b), 0);
}

/* One name-value pair, long lengths in four bytes. */
static size_t pair(unsigned char *w, const char *name, const char *value,
                   size_t vlen)
{
    size_t nlen = strlen(name), k = 0;
    size_t lens[2] = {nlen, vlen};

    for (int i = 0; i < 2; i++) {
        if (lens[i] < 128) {
            w[k++] = (unsigned char)lens[i];
        } else {
            w[k++] = (unsigned char)(0x80 | lens[i] >> 24);
            w[k++] = (unsigned char)(lens[i] >> 16);
            w[k++] = (unsigned char)(lens[i] >> 8);
            w[k++] = (unsigned char)lens[i];
        }
    }
    memcpy(w + k, name, nlen);
    memcpy(w + k + nlen, value, vlen);
    return k + nlen + vlen;
}

/* s[0..len) as records of type, split where cuts says (0-ended list). */
static void stream(struct input *in, unsigned type, unsigned id,
                   const unsigned char *s, size_t len, const size_t *cuts,
                   unsigned pad)
{
    size_t at = 0;

    for (; cuts && *cuts && *cuts < len; cuts++) {
        rec(in, type, id, s + at, *cuts - at, pad);
        at = *cuts;
    }
    if (len > at)
        rec(in, type, id, s + at, len - at, pad);
    rec(in, type, id, "", 0, 0);
}

/* What libfcgi makes of the same bytes: the parameters (a copy) and the
 * body. false: it refused them. */
struct reading {
    char *env[4096];
    size_t nenv;
    char body[65536];
    size_t body_len;
    bool keep;
};

static bool libfcgi_reads(const struct input *in, struct reading *r)
{
    FCGX_Request fr;
    int sv[2], n;
    bool ok = false;

    memset(r, 0, sizeof(*r));
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
        write(sv[0], in->p, in->n) != (ssize_t)in->n)
        return false;
    shutdown(sv[0], SHUT_WR);
    FCGX_InitRequest(&fr, -1, 0);
    fr.ipcFd = sv[1];
    fr.keepConnection = 1;
    if (FCGX_Accept_r(&fr) == 0) {
        for (char **e = fr.envp; *e && r->nenv < 4096; e++)
            r->env[r->nenv++] = strdup(*e);
        while ((n = FCGX_GetStr(r->body + r->body_len,
                                (int)(sizeof(r->body) - r->body_len),
                                fr.in)) > 0)
            r->body_len += (size_t)n;
        r->keep = fr.keepConnection != 0;
        fr.keepConnection = 0;
        FCGX_Finish_r(&fr);
        ok = true;
    } else {
        close(sv[1]);
    }
    FCGX_Free(&fr, 0);
    close(sv[0]);
    return ok;
}

static void reading_free(struct reading *r)
{
    for (size_t i = 0; i < r->nenv; i++)
        free(r->env[i]);
}

/* Parsed here and by libfcgi alike. */
static bool same_as_libfcgi(const struct input *in,
                            const struct sg_fcgi_request *q)
{
    struct reading r;
    size_t i;
    bool same;

    if (!libfcgi_reads(in, &r))
        return false;
    for (i = 0; q->envp[i] && i < r.nenv; i++)
        if (strcmp(q->envp[i], r.env[i]) != 0)
            break;
    same = i == r.nenv && !q->envp[i] && q->in_len == r.body_len &&
           memcmp(q->in, r.body, r.body_len) == 0 && q->keep_conn == r.keep;
    reading_free(&r);
    return same;
}

static struct sg_fcgi_parser ps;

static enum sg_fcgi_parse parse(const struct input *in,
                                struct sg_fcgi_request *q)
{
    return sg_fcgi_parse(&ps, in->p, in->n, q);
}

static void test_plain(void)
{
    struct input in = {0};
    struct sg_fcgi_request q;
    unsigned char params[512];
    size_t n = 0;

    begin(&in, 1, FCGI_RESPONDER, false);
    n += pair(params + n, "REQUEST_METHOD", "POST", 4);
    n += pair(params + n, "CONTENT_LENGTH", "3", 1);
    n += pair(params + n, "EMPTY", "", 0);
    stream(&in, FCGI_PARAMS, 1, params, n, NULL, 0);
    stream(&in, FCGI_STDIN, 1, (const unsigned char *)"abc", 3, NULL, 0);
    TAP_IS_INT(parse(&in, &q), SG_FCGI_PARSED, "plain: parsed");
    TAP_IS_INT(q.id, 1, "plain: the request id");
    TAP_OK(!q.authorizer && !q.keep_conn, "plain: responder, no keep");
    TAP_IS_INT(q.len, in.n, "plain: all of it taken");
    TAP_IS_STR(q.envp[0], "FCGI_ROLE=RESPONDER", "plain: the role first");
    TAP_IS_STR(q.envp[1], "REQUEST_METHOD=POST", "plain: a parameter");
    TAP_IS_STR(q.envp[3], "EMPTY=", "plain: an empty value");
    TAP_OK(q.envp[4] == NULL, "plain: envp ends");
    TAP_OK(q.in_len == 3 && memcmp(q.in, "abc", 3) == 0, "plain: stdin");
    TAP_OK(same_as_libfcgi(&in, &q), "plain: as libfcgi reads it");
}

/* Pairs across records, four-byte lengths, padding, stdin in pieces, the
 * authorizer role and FCGI_KEEP_CONN, and a next request behind. */
static void test_split(void)
{
    static char big[300];
    struct input in = {0};
    struct sg_fcgi_request q;
    unsigned char params[1024];
    size_t n = 0, cuts[] = {3, 20, 21, 200, 0}, in_cuts[] = {1, 5, 0};
    size_t len;

    memset(big, 'x', sizeof(big));
    begin(&in, 258, FCGI_AUTHORIZER, true);
    n += pair(params + n, "HTTP_COOKIE", big, sizeof(big));
    n += pair(params + n, "FCGI_ROLE", "RESPONDER", 9);
    n += pair(params + n, "A=B", "c=d", 3);
    stream(&in, FCGI_PARAMS, 258, params, n, cuts, 5);
    stream(&in, FCGI_STDIN, 258, (const unsigned char *)"0123456789", 10,
           in_cuts, 3);
    len = in.n;
    begin(&in, 259, FCGI_RESPONDER, true); /* the next one, pipelined */
    TAP_IS_INT(parse(&in, &q), SG_FCGI_PARSED, "split: parsed");
    TAP_IS_INT(q.id, 258, "split: a two-byte request id");
    TAP_OK(q.authorizer && q.keep_conn, "split: authorizer, kept");
    TAP_IS_INT(q.len, len, "split: the next request left alone");
    TAP_IS_STR(q.envp[0], "FCGI_ROLE=AUTHORIZER", "split: our role first");
    TAP_IS_INT(strlen(q.envp[1]), strlen("HTTP_COOKIE=") + sizeof(big),
               "split: a long value whole");
    TAP_IS_STR(q.envp[3], "A=B=c=d", "split: names are not split");
    TAP_OK(q.in_len == 10 && memcmp(q.in, "0123456789", 10) == 0,
           "split: stdin joined");
    in.n = len;
    TAP_OK(same_as_libfcgi(&in, &q), "split: as libfcgi reads it");
}

static void test_not_ours(void)
{
    struct input in;
    struct sg_fcgi_request q;
    unsigned char params[64];
    size_t n = pair(params, "A", "b", 1);
    struct {
        const char *what;
        int step; /* where the case differs from a plain request */
    } cases[] = {
        {"a management record first", 0}, {"the FILTER role", 1},
        {"an unknown role", 2},           {"PARAMS of another id", 3},
        {"ABORT_REQUEST between", 4},     {"a version 2 record", 5},
        {"a pair past its stream", 6},    {"no end of stdin", 7},
        {"a record cut short", 8},        {"request id 0", 9},
        {"a long BEGIN_REQUEST", 10},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int step = cases[i].step;
        unsigned char bad_pair[] = {1, 20, 'A', 'b'};
        unsigned char b9[9] = {0, 1, 0};

        memset(&in, 0, sizeof(in));
        if (step == 0)
            rec(&in, FCGI_GET_VALUES, 0, "", 0, 0);
        if (step == 10)
            rec(&in, FCGI_BEGIN_REQUEST, 1, b9, 9, 0);
        else
            begin(&in, step == 9 ? 0 : 1,
                  step == 1 ? FCGI_FILTER : step == 2 ? 7 : FCGI_RESPONDER,
                  false);
        if (step == 4)
            rec(&in, FCGI_ABORT_REQUEST, 1, "", 0, 0);
        if (step == 6)
            stream(&in, FCGI_PARAMS, 1, bad_pair, sizeof(bad_pair), NULL, 0);
        else
            stream(&in, FCGI_PARAMS, step == 3 ? 2 : 1, params, n, NULL, 0);
        if (step == 5)
            in.p[in.n - 8] = 2;
        if (step != 7)
            stream(&in, FCGI_STDIN, 1, (const unsigned char *)"", 0, NULL, 0);
        if (step == 8)
            in.n -= 1;
        TAP_IS_INT(parse(&in, &q), SG_FCGI_OTHER, cases[i].what);
    }
}

/* Random requests, random cuts and padding: parsed as libfcgi does. */
static void test_random(void)
{
    int same = 0, runs = 300;

    srand(17);
    for (int r = 0; r < runs; r++) {
        struct input in = {0};
        struct sg_fcgi_request q;
        unsigned char params[16384], body[2048];
        size_t n = 0, cuts[8] = {0}, body_len = (size_t)rand() % 2048;
        int pairs = rand() % 40;

        for (int i = 0; i < pairs; i++) {
            char name[32], value[700];
            size_t vlen = (size_t)rand() % (rand() % 4 ? 40 : 700);

            snprintf(name, sizeof(name), "N%d_%d", i, rand() % 100);
            for (size_t k = 0; k < vlen; k++)
                value[k] = (char)(' ' + rand() % 95);
            n += pair(params + n, name, value, vlen);
        }
        for (int k = 0; k < 7 && n; k++)
            cuts[k] = (k ? cuts[k - 1] : 0) + 1 + (size_t)rand() % (n / 4 + 1);
        for (size_t k = 0; k < body_len; k++)
            body[k] = (unsigned char)rand();
        begin(&in, 1 + (unsigned)rand() % 65535, 1 + (unsigned)rand() % 2,
              rand() % 2);
        stream(&in, FCGI_PARAMS, (unsigned)(in.p[2] << 8 | in.p[3]), params,
               n, cuts, (unsigned)rand() % 8);
        stream(&in, FCGI_STDIN, (unsigned)(in.p[2] << 8 | in.p[3]), body,
               body_len, cuts, (unsigned)rand() % 8);
        if (parse(&in, &q) == SG_FCGI_PARSED && q.len == in.n &&
            same_as_libfcgi(&in, &q))
            same++;
    }
    TAP_IS_INT(same, runs, "random requests: all parsed as libfcgi does");
}

/* Read records back as a client does: the STDOUT stream's bytes, and
 * that END_REQUEST closes it. */
static bool read_answer(const struct sg_buf *out, unsigned id, char *got,
                        size_t *got_len)
{
    const unsigned char *p = (const unsigned char *)out->data;
    size_t off = 0;
    bool ended_stdout = false;

    *got_len = 0;
    while (off + 8 <= out->len) {
        const unsigned char *h = p + off;
        size_t len = (size_t)h[4] << 8 | h[5];

        if (h[0] != 1 || ((unsigned)h[2] << 8 | h[3]) != id ||
            off + 8 + len + h[6] > out->len)
            return false;
        if (h[1] == FCGI_STDOUT && len == 0)
            ended_stdout = true;
        else if (h[1] == FCGI_STDOUT && !ended_stdout && (len + h[6]) % 8 == 0)
            memcpy(got + *got_len, h + 8, len), *got_len += len;
        else if (h[1] == FCGI_END_REQUEST && ended_stdout && len == 8)
            return off + 16 == out->len && h[8 + 4] == FCGI_REQUEST_COMPLETE;
        else
            return false;
        off += 8 + len + h[6];
    }
    return false;
}

static void test_answer(void)
{
    static char body[140000], got[150000];
    struct sg_buf out = {0};
    const char head[] = "Status: 200 OK\r\nContent-Type: application/json\r\n\r\n";
    size_t got_len;

    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (char)('a' + i % 26);
    TAP_IS_INT(sg_fcgi_answer(&out, 7, head, strlen(head), body, 100), SG_OK,
               "answer: framed");
    TAP_OK(read_answer(&out, 7, got, &got_len) &&
               got_len == strlen(head) + 100 &&
               memcmp(got, head, strlen(head)) == 0 &&
               memcmp(got + strlen(head), body, 100) == 0,
           "answer: head and body read back, then END_REQUEST");
    sg_buf_reset(&out);
    TAP_IS_INT(sg_fcgi_answer(&out, 65535, head, strlen(head), body,
                              sizeof(body)),
               SG_OK, "a large answer: framed");
    TAP_OK(read_answer(&out, 65535, got, &got_len) &&
               got_len == strlen(head) + sizeof(body) &&
               memcmp(got + strlen(head), body, sizeof(body)) == 0,
           "a large answer: in records of at most 64 KiB, read back whole");
    sg_buf_reset(&out);
    TAP_IS_INT(sg_fcgi_answer(&out, 1, NULL, 0, NULL, 0), SG_OK,
               "no answer: framed");
    TAP_OK(read_answer(&out, 1, got, &got_len) && got_len == 0,
           "no answer: the stream's end and END_REQUEST alone");
    sg_buf_free(&out);
}

static void test_wipe(void)
{
    struct input in = {0};
    struct sg_fcgi_request q;
    unsigned char params[256];
    const char secret[] = "sg_at=secret-token-value";
    size_t n = pair(params, "HTTP_COOKIE", secret, strlen(secret)), cuts[] = {5, 0};

    begin(&in, 1, FCGI_RESPONDER, false);
    stream(&in, FCGI_PARAMS, 1, params, n, cuts, 0);
    stream(&in, FCGI_STDIN, 1, (const unsigned char *)"password", 8, cuts, 0);
    TAP_IS_INT(parse(&in, &q), SG_FCGI_PARSED, "wipe: parsed");
    sg_fcgi_parser_wipe(&ps);
    TAP_OK(!memmem(ps.params.data, ps.params.cap, secret, strlen(secret)) &&
               !memmem(ps.raw.data, ps.raw.cap, "secret-token", 12) &&
               !memmem(ps.in.data, ps.in.cap, "password", 8),
           "wipe: no parameter or body left in the parser");
}

int main(void)
{
    FCGX_Init();
    test_plain();
    test_split();
    test_not_ours();
    test_random();
    test_answer();
    test_wipe();
    sg_fcgi_parser_free(&ps);
    return tap_done();
}
