/* fcgi_record.h -- the common FastCGI request read and answered without
 * libfcgi.
 *
 * Nearly every request a web server sends is one BEGIN_REQUEST, its
 * PARAMS stream and its STDIN stream, all of it in the socket at once.
 * libfcgi reads such a request through per-request streams, a malloc'd
 * string per parameter and an 8 KiB buffer per stream, all freed again at
 * the end: more than half of the instructions of a verify served from the
 * revocation table (docs/PERFORMANCE.md). The transport peeks the request
 * first (transport_fcgi.c); when all of it is in hand and it has that
 * simple shape, sg_fcgi_parse takes it apart into buffers kept for the
 * worker's life, and sg_fcgi_answer frames the answer. Anything else
 * (management records, another request id, the FILTER role, malformed
 * name-value pairs, a request larger than the peek) is left to libfcgi,
 * exactly as before, so both paths answer the same requests the same way.
 */
#ifndef SG_FCGI_RECORD_H
#define SG_FCGI_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Kept for a worker's life: a warm worker parses without allocating. */
struct sg_fcgi_parser {
    struct sg_buf params; /* "NAME=value" strings, each NUL-ended */
    struct sg_buf raw;    /* a PARAMS stream that spans records */
    struct sg_buf in;     /* a STDIN stream that spans records */
    char **envp;          /* into params, NULL-ended */
    size_t envp_cap;
};

/* One parsed request. Its strings are borrowed from the parser and from
 * the bytes parsed, until the next parse or wipe. */
struct sg_fcgi_request {
    unsigned id;      /* the request id, never 0 */
    bool authorizer;  /* FCGI_AUTHORIZER, else FCGI_RESPONDER */
    bool keep_conn;   /* FCGI_KEEP_CONN */
    size_t len;       /* bytes of the input the request took */
    char *const *envp; /* FCGI_ROLE first, then the server's, as libfcgi */
    const char *in;   /* the STDIN stream */
    size_t in_len;
};

enum sg_fcgi_parse {
    SG_FCGI_PARSED,  /* *req is the request at the start of the input */
    SG_FCGI_OTHER,   /* not that simple shape, or not all in: libfcgi's */
    SG_FCGI_NOMEM,
};

/* Parse the request at the start of p[0..n): BEGIN_REQUEST (responder or
 * authorizer), PARAMS records up to the empty one, STDIN records up to
 * the empty one, all of one request id, and nothing between them. Bytes
 * after it (a kept connection's next request) are not looked at. */
enum sg_fcgi_parse sg_fcgi_parse(struct sg_fcgi_parser *ps,
                                 const unsigned char *p, size_t n,
                                 struct sg_fcgi_request *req);

/* Append to out the answer to request id: STDOUT records carrying a then
 * b (either may be empty), the stream's empty record, and END_REQUEST
 * (application status 0, FCGI_REQUEST_COMPLETE). SG_OK or SG_ENOMEM. */
SG_MUST_CHECK int sg_fcgi_answer(struct sg_buf *out, unsigned id,
                                 const char *a, size_t a_len,
                                 const char *b, size_t b_len);

/* Zero what the parser holds (parameters carry cookies and tokens, STDIN
 * passwords), keeping its memory; sg_fcgi_parser_free releases it. */
void sg_fcgi_parser_wipe(struct sg_fcgi_parser *ps);
void sg_fcgi_parser_free(struct sg_fcgi_parser *ps);

#endif
