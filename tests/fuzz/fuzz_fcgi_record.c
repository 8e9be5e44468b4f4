/* fuzz_fcgi_record.c -- fcgi_record.c: the FastCGI records of a request
 * read without libfcgi, and the answer framed back.
 *
 * Input: the bytes a web server would send on a connection, e.g. a
 * BEGIN_REQUEST, PARAMS and STDIN records (see corpus/fcgi_record/).
 * Every length in them comes from the peer. Checked besides memory
 * safety: a parsed request took no more than the input; its id is not 0;
 * envp is NULL-ended after at most the pairs the input could hold, its
 * first string the role and every other one NUL-ended within the
 * parser's buffer; the body lies in
 * the input or the parser. The answer to it, framed with the input as
 * body, reads back as records of that id ending in END_REQUEST.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sg_fcgi_parser ps;
static struct sg_buf out;

static void check_answer(unsigned id, const uint8_t *data, size_t size)
{
    const unsigned char *p;
    size_t off = 0, body = 0;

    sg_buf_reset(&out);
    if (sg_fcgi_answer(&out, id, "Status: 200\r\n\r\n", 15, (const char *)data,
                       size) != SG_OK)
        return;
    p = (const unsigned char *)out.data;
    while (off < out.len) {
        size_t len = (size_t)p[off + 4] << 8 | p[off + 5];

        if (off + 8 + len + p[off + 6] > out.len ||
            ((unsigned)p[off + 2] << 8 | p[off + 3]) != id)
            abort();
        if (p[off + 1] == 6) /* FCGI_STDOUT */
            body += len;
        else if (p[off + 1] != 3 || off + 16 != out.len) /* END_REQUEST last */
            abort();
        off += 8 + len + p[off + 6];
    }
    if (body != 15 + size)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_fcgi_request q;
    size_t n = 0;

    switch (sg_fcgi_parse(&ps, data, size, &q)) {
    case SG_FCGI_PARSED:
        if (q.len > size || q.id == 0 || q.id > 65535)
            abort();
        if (strncmp(q.envp[0], "FCGI_ROLE=", 10) != 0)
            abort();
        /* the server's strings lie in the parser's buffer, NUL-ended
         * there (a name may hold a NUL: cut short, as libfcgi's are) */
        for (n = 1; q.envp[n]; n++)
            if (q.envp[n] < ps.params.data ||
                q.envp[n] + strlen(q.envp[n]) >= ps.params.data + ps.params.len)
                abort();
        if (n > size / 2 + 1)
            abort();
        if (!((const uint8_t *)q.in >= data &&
              (const uint8_t *)q.in + q.in_len <= data + size) &&
            !(q.in == ps.in.data && q.in_len == ps.in.len) && q.in_len != 0)
            abort();
        check_answer(q.id, data, size);
        break;
    case SG_FCGI_OTHER:
    case SG_FCGI_NOMEM:
        break;
    default:
        abort();
    }
    sg_fcgi_parser_wipe(&ps);
    return 0;
}
