/* addr.c -- addresses of Redis and of the FastCGI listener (addr.h). */
#include <string.h>
#include <sys/un.h>

#include "addr.h"

_Static_assert(sizeof(((struct sockaddr_un *)0)->sun_path) ==
                   SG_ADDR_PATH_MAX + 1,
               "SG_ADDR_PATH_MAX follows sun_path");

static const char expected[] =
    "expected \"unix:/absolute/path\" or \"host:port\" with a port from 1 "
    "to 65535";

/* Digits only, 1 to 65535: no sign, no space, no base prefix. */
static int parse_port(const char *s)
{
    long v = 0;
    size_t i;

    for (i = 0; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9' || i == 5)
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    return i > 0 && v >= 1 && v <= 65535 ? (int)v : 0;
}

/* A name, an IPv4 address, or an IPv6 address in brackets. */
static const char *parse_host(const char *host, size_t len, struct sg_addr *out)
{
    if (len == 0)
        return expected;
    if (host[0] == '[') {
        if (len <= 2 || host[len - 1] != ']' ||
            memchr(host + 1, '[', len - 2) || memchr(host + 1, ']', len - 2))
            return expected;
        host++;
        len -= 2;
    } else if (memchr(host, ':', len)) {
        return "an IPv6 address needs brackets, as in [::1]:6379";
    } else if (memchr(host, '[', len) || memchr(host, ']', len)) {
        return expected;
    }
    if (len > SG_ADDR_HOST_MAX)
        return "host name too long";
    memcpy(out->host, host, len);
    out->host[len] = '\0';
    return NULL;
}

const char *sg_addr_parse(const char *text, struct sg_addr *out)
{
    const char *colon, *s;
    size_t n;

    memset(out, 0, sizeof(*out));
    for (s = text; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f)
            return expected;
    if (strncmp(text, "unix:", 5) == 0) {
        if (text[5] != '/')
            return expected;
        if ((n = strlen(text + 5)) > SG_ADDR_PATH_MAX)
            return "unix socket path too long";
        out->is_unix = true;
        memcpy(out->path, text + 5, n + 1);
        return NULL;
    }
    colon = strrchr(text, ':');
    if (!colon || !(out->port = parse_port(colon + 1)))
        return expected;
    return parse_host(text, (size_t)(colon - text), out);
}

const char *sg_addr_parse_list(const char *text, struct sg_addr *out,
                               size_t max, size_t *n)
{
    char item[SG_ADDR_HOST_MAX + 16];
    const char *why;
    size_t len;

    *n = 0;
    for (;;) {
        text += strspn(text, ", \t");
        if (!*text)
            break;
        len = strcspn(text, ", \t");
        if (len >= sizeof(item))
            return "an address too long";
        if (*n == max)
            return "too many addresses";
        memcpy(item, text, len);
        item[len] = '\0';
        if ((why = sg_addr_parse(item, &out[*n])))
            return why;
        if (out[*n].is_unix)
            return "expected host:port addresses, not unix sockets";
        ++*n;
        text += len;
    }
    return *n ? NULL : "expected one or more host:port addresses";
}
