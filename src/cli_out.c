/* cli_out.c -- what the operator CLI prints, and how.
 *
 * Whatever is printed that a client chose (a name, a user agent, an
 * address) or that comes back from Redis is escaped: control characters,
 * bidirectional overrides and invalid UTF-8 never reach the operator's
 * terminal raw, and a tab cannot shift the columns of the tab-separated
 * listings. --json output is one document built with json-c, whose
 * strings are repaired UTF-8 (sg_json_string); the code points a terminal
 * would obey are written there as \uHHHH escapes, which stand for the
 * same string, so `jq` reads back exactly what is stored.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli_impl.h"

int sg_cli_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("sessiongate: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int sg_cli_fail_arg(const char *what, const char *arg)
{
    fprintf(stderr, "sessiongate: %s: ", what);
    sg_cli_put_escaped(stderr, arg);
    fputc('\n', stderr);
    return 1;
}

int sg_cli_store_fail(const struct sg_cli *c)
{
    return sg_cli_fail("Redis at %s is unreachable or answered an error",
                       c->cfg->redis_cluster ? c->cfg->redis_cluster
                                             : c->cfg->redis);
}

/* The length of the well-formed UTF-8 sequence at p (1 to 4) with its code
 * point in *cp, or 0 for a byte that does not start one (overlong forms
 * and surrogates included). */
static size_t utf8_decode(const unsigned char *p, unsigned long *cp)
{
    unsigned long min;
    size_t n;

    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if ((p[0] & 0xe0) == 0xc0)
        n = 2, *cp = p[0] & 0x1f, min = 0x80;
    else if ((p[0] & 0xf0) == 0xe0)
        n = 3, *cp = p[0] & 0x0f, min = 0x800;
    else if ((p[0] & 0xf8) == 0xf0)
        n = 4, *cp = p[0] & 0x07, min = 0x10000;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
            return 0;
        *cp = *cp << 6 | (p[i] & 0x3f);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return n;
}

/* C1 controls (a terminal may obey U+009B as CSI), line separators and
 * the invisible marks that reorder text (Trojan Source, CVE-2021-42574). */
static bool hidden_code_point(unsigned long cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
           cp == 0x200f || cp == 0x2028 || cp == 0x2029 ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

void sg_cli_put_escaped(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned long cp;
    size_t n;

    while (*p) {
        n = utf8_decode(p, &cp);
        if (n == 0)
            fprintf(f, "\\x%02x", *p), n = 1;
        else if (cp == '\t' || cp == '\n' || cp == '\r' || cp == '\\')
            fprintf(f, "\\%c",
                    cp == '\t'   ? 't'
                    : cp == '\n' ? 'n'
                    : cp == '\r' ? 'r'
                                 : '\\');
        else if (cp < 0x20 || cp == 0x7f)
            fprintf(f, "\\x%02lx", cp);
        else if (hidden_code_point(cp))
            fprintf(f, "\\u%04lx", cp);
        else
            fwrite(p, 1, n, f);
        p += n;
    }
}

void sg_cli_put_field(const char *s, char after)
{
    sg_cli_put_escaped(stdout, s);
    putchar(after);
}

int sg_cli_put_json(json_object *doc)
{
    const unsigned char *p;
    unsigned long cp;
    size_t n;

    if (!doc)
        return sg_cli_fail("out of memory");
    p = (const unsigned char *)json_object_to_json_string_ext(
        doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!p) {
        json_object_put(doc);
        return sg_cli_fail("out of memory");
    }
    /* A hidden code point can only be inside a string (the syntax is
     * ASCII), where its escape means the same; json-c already escaped
     * U+0000..U+001F, and repaired strings hold no bytes that are not
     * UTF-8 (any left are written as they are). */
    for (; *p; p += n) {
        n = utf8_decode(p, &cp);
        if (n && hidden_code_point(cp))
            printf("\\u%04lx", cp);
        else
            fwrite(p, 1, n ? n : 1, stdout);
        n = n ? n : 1;
    }
    putchar('\n');
    json_object_put(doc);
    return 0;
}

int sg_cli_put_list(const struct sg_cli *c, const void *items, size_t n,
                    size_t size,
                    void (*put_line)(const struct sg_cli *c, const void *item),
                    json_object *(*to_json)(const struct sg_cli *c,
                                            const void *item))
{
    const char *p = items;
    json_object *doc;

    if (!c->json) {
        for (size_t i = 0; i < n; i++)
            put_line(c, p + i * size);
        return 0;
    }
    if (!(doc = json_object_new_array()))
        return sg_cli_fail("out of memory");
    for (size_t i = 0; i < n; i++)
        if (json_object_array_add(doc, to_json(c, p + i * size))) {
            json_object_put(doc);
            return sg_cli_fail("out of memory");
        }
    return sg_cli_put_json(doc);
}

int sg_cli_put_json_count(const char *key, long long n)
{
    json_object *o = json_object_new_object();

    if (o)
        json_object_object_add(o, key, json_object_new_int64(n));
    return sg_cli_put_json(o);
}

const char *sg_cli_rfc3339(int64_t ms, char out[SG_TIME_RFC3339_MAX])
{
    sg_time_rfc3339(out, ms);
    return out;
}
