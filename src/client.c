/* client.c -- see client.h. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

struct block {
    int family;
    unsigned char addr[16];
    int bits;
};

struct sg_proxies {
    struct block *blocks;
    size_t n;
};

/* text[0..len) as an address; false if it is not one. */
static bool parse_addr(const char *text, size_t len, int *family,
                       unsigned char *addr)
{
    char buf[INET6_ADDRSTRLEN + 1];

    while (len && (*text == ' ' || *text == '\t'))
        text++, len--;
    while (len && (text[len - 1] == ' ' || text[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, addr) == 1)
        return *family = AF_INET, true;
    if (inet_pton(AF_INET6, buf, addr) == 1)
        return *family = AF_INET6, true;
    return false;
}

static bool parse_block(const char *s, size_t len, struct block *b)
{
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    int max;
    char *end;

    if (!parse_addr(s, alen, &b->family, b->addr))
        return false;
    max = b->family == AF_INET ? 32 : 128;
    b->bits = max;
    if (slash) {
        char num[8];
        size_t nlen = len - alen - 1;
        if (nlen == 0 || nlen >= sizeof(num))
            return false;
        memcpy(num, slash + 1, nlen);
        num[nlen] = '\0';
        if (strspn(num, "0123456789") != nlen)
            return false; /* strtol would take " 8", "+8", "-0" */
        b->bits = (int)strtol(num, &end, 10);
        if (b->bits > max)
            return false;
    }
    return true;
}

int sg_proxies_parse(const char *text, struct sg_proxies **out, char *err,
                     size_t errlen)
{
    struct sg_proxies *p;
    const char *s = text;

    *out = NULL;
    if (!text || !*text)
        return SG_OK;
    if (!(p = calloc(1, sizeof(*p))) ||
        !(p->blocks = calloc(strlen(text) / 2 + 1, sizeof(*p->blocks)))) {
        sg_proxies_free(p);
        return SG_ENOMEM;
    }
    while (*s) {
        size_t n = strcspn(s, ", \t");
        if (n && !parse_block(s, n, &p->blocks[p->n++])) {
            snprintf(err, errlen,
                     "trusted_proxies: \"%.*s\" is not an "
                     "address or CIDR block",
                     (int)(n > 64 ? 64 : n), s);
            sg_proxies_free(p);
            return SG_EINVAL;
        }
        s += n;
        s += strspn(s, ", \t");
    }
    *out = p;
    return SG_OK;
}

void sg_proxies_free(struct sg_proxies *p)
{
    if (p)
        free(p->blocks);
    free(p);
}

static bool in_block(const struct block *b, int family, const unsigned char *a)
{
    int full = b->bits / 8, rest = b->bits % 8;

    if (b->family != family || memcmp(b->addr, a, (size_t)full) != 0)
        return false;
    return !rest || ((b->addr[full] ^ a[full]) & (0xff << (8 - rest))) == 0;
}

bool sg_proxies_contain(const struct sg_proxies *p, const char *addr,
                        size_t len)
{
    unsigned char a[16];
    int family;

    if (!p || !parse_addr(addr, len, &family, a))
        return false;
    for (size_t i = 0; i < p->n; i++)
        if (in_block(&p->blocks[i], family, a))
            return true;
    return false;
}

const char *sg_client_ip_of(const struct sg_proxies *p, const char *remote,
                            const char *forwarded_for, char *out, size_t outlen)
{
    const char *end, *start;
    unsigned char a[16];
    int family;

    if (!remote)
        remote = "";
    snprintf(out, outlen, "%s", remote);
    if (!forwarded_for || !sg_proxies_contain(p, remote, strlen(remote)))
        return out;
    /* Walk X-Forwarded-For from the right, past trusted proxies. */
    end = forwarded_for + strlen(forwarded_for);
    while (end > forwarded_for) {
        start = end;
        while (start > forwarded_for && start[-1] != ',')
            start--;
        if (!parse_addr(start, (size_t)(end - start), &family, a))
            return out; /* garbage: keep the last trusted hop */
        inet_ntop(family, a, out, (socklen_t)outlen);
        if (!sg_proxies_contain(p, start, (size_t)(end - start)))
            return out;
        end = start > forwarded_for ? start - 1 : start;
    }
    return out;
}

const char *sg_client_bucket_of(const char *ip, int v6_bits, char *out,
                                size_t outlen)
{
    /* IPv4 written as IPv6: mapped (RFC 4291 2.5.5.2) and the NAT64
     * well-known prefix (RFC 6052 2.1), where each IPv4 client behind the
     * gateway is its own host */
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0,    0,
                                             0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0,
                                            0, 0,    0,    0,    0, 0};
    unsigned char a[16];
    char text[INET6_ADDRSTRLEN];
    int family;

    snprintf(out, outlen, "%s", ip);
    if (!parse_addr(ip, strlen(ip), &family, a))
        return out;
    if (family == AF_INET6 && (memcmp(a, mapped, sizeof(mapped)) == 0 ||
                               memcmp(a, nat64, sizeof(nat64)) == 0)) {
        inet_ntop(AF_INET, a + 12, out, (socklen_t)outlen);
        return out;
    }
    if (family == AF_INET) {
        inet_ntop(AF_INET, a, out, (socklen_t)outlen);
        return out;
    }
    if (v6_bits < 1 || v6_bits > 128)
        v6_bits = 128;
    for (int i = 0; i < 16; i++) {
        int keep = v6_bits - 8 * i;
        a[i] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    }
    inet_ntop(AF_INET6, a, text, sizeof(text));
    if (v6_bits == 128)
        snprintf(out, outlen, "%s", text);
    else
        snprintf(out, outlen, "%s/%d", text, v6_bits);
    return out;
}
