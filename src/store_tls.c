/* store_tls.c -- TLS to Redis, with OpenSSL over hiredis 0.14's socket.
 *
 * Debian 12's hiredis 0.14 has no TLS. It still connects (with its
 * timeout), formats commands into its output buffer and parses replies
 * with its reader; only the bytes in between go through OpenSSL here
 * instead of read(2) and write(2). The socket stays blocking with the
 * SO_RCVTIMEO / SO_SNDTIMEO that redisSetTimeout set, so a TLS read
 * times out like a plain one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "store_impl.h"

/* The oldest OpenSSL error on this thread's queue as text (never secret:
 * OpenSSL names reasons, files and functions), the queue then cleared. */
static void openssl_reason(char *out, size_t cap, const char *fallback)
{
    unsigned long e = ERR_peek_last_error();

    if (e)
        ERR_error_string_n(e, out, cap);
    else
        snprintf(out, cap, "%s", fallback);
    ERR_clear_error();
}

SSL_CTX *sg_tls_ctx_new(const struct sg_config *cfg, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    char why[200];
    const char *step = "TLS context";

    if (!ctx)
        goto fail;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* a record's header and body in one read(2), not two: a reply is
     * one or two small records */
    SSL_CTX_set_read_ahead(ctx, 1);
    step = cfg->redis_tls_ca_file ? cfg->redis_tls_ca_file
                                  : "the system's trusted CAs";
    if (cfg->redis_tls_ca_file ? SSL_CTX_load_verify_locations(
                                     ctx, cfg->redis_tls_ca_file, NULL) != 1
                               : SSL_CTX_set_default_verify_paths(ctx) != 1)
        goto fail;
    if (cfg->redis_tls_cert_file) {
        step = cfg->redis_tls_cert_file;
        if (SSL_CTX_use_certificate_chain_file(ctx, cfg->redis_tls_cert_file) !=
            1)
            goto fail;
        step = cfg->redis_tls_key_file;
        if (SSL_CTX_use_PrivateKey_file(ctx, cfg->redis_tls_key_file,
                                        SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1)
            goto fail;
    }
    return ctx;
fail:
    openssl_reason(why, sizeof(why), "failed");
    snprintf(err, errlen, "redis_tls: %s: %s", step, why);
    SSL_CTX_free(ctx);
    return NULL;
}

void sg_tls_ctx_free(SSL_CTX *ctx)
{
    SSL_CTX_free(ctx);
}

/* hiredis keeps the reason of a failed call in c->errstr: so do we, so
 * that the store logs one line whichever layer failed. */
static void set_error(redisContext *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_error(redisContext *c, const char *fmt, ...)
{
    va_list ap;

    c->err = REDIS_ERR_IO;
    va_start(ap, fmt);
    vsnprintf(c->errstr, sizeof(c->errstr), fmt, ap);
    va_end(ap);
}

/* Why an SSL call returned rc, into c->errstr. */
static void io_error(redisContext *c, SSL *ssl, int rc, const char *op)
{
    char why[120];
    int e = SSL_get_error(ssl, rc), saved = errno;

    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && saved == 0))
        snprintf(why, sizeof(why), "%s: connection closed", op);
    else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_WANT_READ ||
             e == SSL_ERROR_WANT_WRITE)
        snprintf(why, sizeof(why), "%s: %s", op,
                 saved == EAGAIN || saved == EWOULDBLOCK ? "timed out"
                                                         : strerror(saved));
    else {
        char r[100];
        openssl_reason(r, sizeof(r), "TLS error");
        snprintf(why, sizeof(why), "%s: %s", op, r);
    }
    ERR_clear_error();
    set_error(c, "TLS %s", why);
}

SSL *sg_tls_connect(SSL_CTX *ctx, redisContext *c, const char *name)
{
    SSL *ssl = SSL_new(ctx);
    unsigned char ip[16];
    bool is_ip =
        inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
    int rc;

    if (!ssl) {
        set_error(c, "TLS: %s", "out of memory");
        return NULL;
    }
    /* an address is matched against the certificate's IP entries and is
     * no SNI name (RFC 6066 section 3); a name against its DNS names */
    if (!SSL_set_fd(ssl, c->fd) ||
        !(is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name)
                : SSL_set_tlsext_host_name(ssl, name) &&
                      SSL_set1_host(ssl, name))) {
        set_error(c, "TLS: cannot set the server name %s", name);
        SSL_free(ssl);
        return NULL;
    }
    rc = SSL_connect(ssl);
    if (rc != 1) {
        long v = SSL_get_verify_result(ssl);
        if (v != X509_V_OK)
            set_error(c, "TLS: the server's certificate: %s",
                      X509_verify_cert_error_string(v));
        else
            io_error(c, ssl, rc, "handshake");
        ERR_clear_error();
        SSL_free(ssl);
        return NULL;
    }
    return ssl;
}

void sg_tls_close(SSL *ssl)
{
    SSL_free(ssl); /* no close_notify: it could block on a dead peer */
}

/* redisGetReply over TLS: a reply already parsed, else write what the
 * output buffer holds and read until the reader has a whole reply. */
int sg_tls_get_reply(redisContext *c, SSL *ssl, void **reply)
{
    char buf[16 * 1024];
    int n;

    *reply = NULL;
    if (redisGetReplyFromReader(c, reply) != REDIS_OK)
        return REDIS_ERR;
    if (*reply)
        return REDIS_OK;
    while (sdslen(c->obuf) > 0) {
        size_t len = sdslen(c->obuf);
        n = SSL_write(ssl, c->obuf, len > INT_MAX ? INT_MAX : (int)len);
        if (n <= 0) {
            io_error(c, ssl, n, "write");
            return REDIS_ERR;
        }
        sdsrange(c->obuf, n, -1);
    }
    do {
        n = SSL_read(ssl, buf, sizeof(buf));
        if (n <= 0) {
            io_error(c, ssl, n, "read");
            return REDIS_ERR;
        }
        if (redisReaderFeed(c->reader, buf, (size_t)n) != REDIS_OK) {
            set_error(c, "%s", c->reader->errstr);
            return REDIS_ERR;
        }
        if (redisGetReplyFromReader(c, reply) != REDIS_OK)
            return REDIS_ERR;
    } while (!*reply);
    return REDIS_OK;
}

/* A kept connection found readable while idle. Over TLS that is not
 * always the end: TLS 1.3 servers send session tickets after the
 * handshake. Those records are consumed without blocking; anything else
 * (application data nobody asked for, an alert, EOF) means dead. */
bool sg_tls_idle_ok(SSL *ssl, int fd)
{
    int flags = fcntl(fd, F_GETFL), rc, e;
    char b;

    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return false;
    rc = SSL_peek(ssl, &b, 1);
    e = rc > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl, rc);
    ERR_clear_error();
    if (fcntl(fd, F_SETFL, flags) < 0)
        return false;
    return rc <= 0 && e == SSL_ERROR_WANT_READ;
}
