/* utf8.c -- see utf8.h.
 *
 * Every JSON text sessiongate writes must be UTF-8 (RFC 8259 section 8.1),
 * and the bytes it writes come partly from clients (a name, a User-Agent)
 * and from Redis (values an older version stored). So the request body
 * is refused unless it is well-formed, stored headers are repaired on
 * the way in, and the writers repair again on the way out. This file is
 * the one definition of "well-formed" all three use.
 *
 * The decoder follows Unicode table 3-7 byte by byte instead of decoding
 * a code point and range-checking it afterwards: the second byte's range
 * depends on the lead byte (E0 needs A0..BF to rule out overlongs, ED
 * needs 80..9F to rule out surrogates, F0 needs 90..BF, F4 needs 80..8F
 * to stay at or below U+10FFFF), and checking it as the byte arrives is
 * what makes "maximal subpart" fall out for free: the bytes accepted so
 * far are exactly the subpart to replace. C0, C1 and F5..FF never start
 * a character (RFC 3629 section 3: "The octet values C0, C1, F5 to FF
 * never appear"); a lone continuation byte never does either.
 */
#include <stdint.h>
#include <string.h>

#include "utf8.h"

size_t sg_utf8_next(const char *s, size_t len, bool *well_formed)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char c = p[0], lo = 0x80, hi = 0xbf;
    size_t n, i;

    *well_formed = true;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0; /* E0 80..9F would be an overlong form */
        else if (c == 0xed)
            hi = 0x9f; /* ED A0..BF would be a surrogate */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90; /* F0 80..8F would be an overlong form */
        else if (c == 0xf4)
            hi = 0x8f; /* F4 90..BF would be past U+10FFFF */
    } else {
        *well_formed = false;
        return 1;
    }
    for (i = 1; i < n; i++) {
        if (i >= len || p[i] < lo || p[i] > hi) {
            *well_formed = false;
            return i;
        }
        lo = 0x80, hi = 0xbf;
    }
    return n;
}

bool sg_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    bool ok;

    while (i < len) {
        /* The common case, ASCII, a word at a time; memcpy keeps the
         * unaligned load defined and compiles to one instruction. */
        for (uint64_t w; i + 8 <= len; i += 8) {
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ull)
                break;
        }
        while (i < len && p[i] < 0x80)
            i++;
        if (i == len)
            break;
        i += sg_utf8_next(s + i, len - i, &ok);
        if (!ok)
            return false;
    }
    return true;
}

/* C0 controls, DEL, and the C1 controls U+0080..U+009F (C2 80..C2 9F),
 * which some terminals obey (U+009B is CSI). */
static bool is_control(const unsigned char *p, size_t n)
{
    return (n == 1 && (p[0] < 0x20 || p[0] == 0x7f)) ||
           (n == 2 && p[0] == 0xc2 && p[1] <= 0x9f);
}

bool sg_utf8_is_text(const char *s, size_t len)
{
    size_t i = 0, n;
    bool ok = true;

    while (ok && i < len) {
        n = sg_utf8_next(s + i, len - i, &ok);
        ok = ok && !is_control((const unsigned char *)s + i, n);
        i += n;
    }
    return ok;
}

size_t sg_utf8_sanitize(char *out, size_t outsize, const char *in,
                        size_t inlen)
{
    size_t o = 0, i = 0, n, wlen;
    const char *w;
    bool ok;

    if (outsize == 0)
        return 0;
    while (i < inlen) {
        n = sg_utf8_next(in + i, inlen - i, &ok);
        w = in + i, wlen = n;
        if (!ok || is_control((const unsigned char *)in + i, n))
            w = SG_UTF8_REPLACEMENT, wlen = SG_UTF8_REPLACEMENT_LEN;
        if (wlen > outsize - 1 - o)
            break; /* cut before a character that does not fit whole */
        memcpy(out + o, w, wlen);
        o += wlen;
        i += n;
    }
    out[o] = '\0';
    return o;
}
