/* Unit tests for utf8.c: Markus Kuhn's UTF-8 decoder stress test
 * (sections 1 to 5), an exhaustive comparison with a plain code point
 * decoder for every sequence of up to three bytes, Unicode's maximal
 * subpart example, and sanitize's cuts on character boundaries. */
#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "utf8.h"

#define LEN(s) (sizeof(s) - 1)
#define VALID(s) sg_utf8_valid(s, LEN(s))

static void test_kuhn(void)
{
    /* 1: correct text; 2: boundary conditions. */
    TAP_OK(VALID("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"), "1 kosme");
    TAP_OK(VALID("\0"), "2.1.1 U+0000 (NUL is a character)");
    TAP_OK(VALID("\xc2\x80"), "2.1.2 U+0080");
    TAP_OK(VALID("\xe0\xa0\x80"), "2.1.3 U+0800");
    TAP_OK(VALID("\xf0\x90\x80\x80"), "2.1.4 U+10000");
    TAP_OK(!VALID("\xf8\x88\x80\x80\x80"), "2.1.5 five bytes");
    TAP_OK(!VALID("\xfc\x84\x80\x80\x80\x80"), "2.1.6 six bytes");
    TAP_OK(VALID("\x7f"), "2.2.1 U+007F");
    TAP_OK(VALID("\xdf\xbf"), "2.2.2 U+07FF");
    TAP_OK(VALID("\xef\xbf\xbf"), "2.2.3 U+FFFF");
    TAP_OK(!VALID("\xf7\xbf\xbf\xbf"), "2.2.4 U+1FFFFF");
    TAP_OK(VALID("\xed\x9f\xbf"), "2.3.1 U+D7FF");
    TAP_OK(VALID("\xee\x80\x80"), "2.3.2 U+E000");
    TAP_OK(VALID("\xef\xbf\xbd"), "2.3.3 U+FFFD");
    TAP_OK(VALID("\xf4\x8f\xbf\xbf"), "2.3.4 U+10FFFF");
    TAP_OK(!VALID("\xf4\x90\x80\x80"), "2.3.5 U+110000");

    /* 3: malformed sequences. */
    TAP_OK(!VALID("\x80"), "3.1.1 first continuation byte");
    TAP_OK(!VALID("\xbf"), "3.1.2 last continuation byte");
    TAP_OK(!VALID("\x80\xbf\x80\xbf"), "3.1.3-8 continuation bytes");
    {
        bool any = false;
        char c[2] = {0, ' '};
        for (int b = 0x80; b <= 0xbf; b++)
            c[0] = (char)b, any |= sg_utf8_valid(c, 1);
        TAP_OK(!any, "3.1.9 each of the 64 continuation bytes alone");
        for (int b = 0xc0; b <= 0xff; b++)
            c[0] = (char)b, any |= sg_utf8_valid(c, 2);
        TAP_OK(!any, "3.2 every start byte followed by a space");
    }
    TAP_OK(!VALID("\xc0"), "3.3.1 2-byte, last byte missing");
    TAP_OK(!VALID("\xe0\x80"), "3.3.2 3-byte, last byte missing");
    TAP_OK(!VALID("\xf0\x80\x80"), "3.3.3 4-byte, last byte missing");
    TAP_OK(!VALID("\xdf"), "3.3.6 U+07FF, last byte missing");
    TAP_OK(!VALID("\xef\xbf"), "3.3.7 U+FFFF, last byte missing");
    TAP_OK(!VALID("\xf4\x8f\xbf"), "3.3.8 U+10FFFF, last byte missing");
    TAP_OK(!VALID("\xe2\x82" "abcdefghijk"), "truncated, then ASCII words");
    TAP_OK(!VALID("abcdefgh\xe2\x82"), "ASCII word, then truncated");
    TAP_OK(!VALID("\xfe"), "3.5.1 0xfe");
    TAP_OK(!VALID("\xff"), "3.5.2 0xff");
    TAP_OK(!VALID("\xfe\xfe\xff\xff"), "3.5.3 fe fe ff ff");

    /* 4: overlong forms (RFC 3629 section 10's '/' and NUL attacks). */
    TAP_OK(!VALID("\xc0\xaf"), "4.1.1 '/' in 2 bytes");
    TAP_OK(!VALID("\xe0\x80\xaf"), "4.1.2 '/' in 3 bytes");
    TAP_OK(!VALID("\xf0\x80\x80\xaf"), "4.1.3 '/' in 4 bytes");
    TAP_OK(!VALID("\xf8\x80\x80\x80\xaf"), "4.1.4 '/' in 5 bytes");
    TAP_OK(!VALID("\xc1\xbf"), "4.2.1 largest overlong, 2 bytes");
    TAP_OK(!VALID("\xe0\x9f\xbf"), "4.2.2 largest overlong, 3 bytes");
    TAP_OK(!VALID("\xf0\x8f\xbf\xbf"), "4.2.3 largest overlong, 4 bytes");
    TAP_OK(!VALID("\xc0\x80"), "4.3.1 NUL in 2 bytes");
    TAP_OK(!VALID("\xe0\x80\x80"), "4.3.2 NUL in 3 bytes");
    TAP_OK(!VALID("\xf0\x80\x80\x80"), "4.3.3 NUL in 4 bytes");

    /* 5: surrogates are not characters; noncharacters are. */
    TAP_OK(!VALID("\xed\xa0\x80"), "5.1.1 U+D800");
    TAP_OK(!VALID("\xed\xad\xbf"), "5.1.2 U+DB7F");
    TAP_OK(!VALID("\xed\xaf\xbf"), "5.1.4 U+DBFF");
    TAP_OK(!VALID("\xed\xb0\x80"), "5.1.5 U+DC00");
    TAP_OK(!VALID("\xed\xbf\xbf"), "5.1.7 U+DFFF");
    TAP_OK(!VALID("\xed\xa0\x80\xed\xb0\x80"), "5.2.1 U+D800 U+DC00 (CESU-8)");
    TAP_OK(!VALID("\xed\xaf\xbf\xed\xbf\xbf"), "5.2.8 U+DBFF U+DFFF");
    TAP_OK(VALID("\xef\xbf\xbe"), "5.3.1 U+FFFE is well-formed");
    TAP_OK(VALID("\xef\xb7\x90"), "5.3.3 U+FDD0 is well-formed");
    TAP_OK(VALID(""), "empty");
    TAP_OK(sg_utf8_valid("\xff", 0), "only len bytes are read");
}

/* The obvious decoder: code point first, ranges after. */
static bool reference_valid(const unsigned char *p, size_t len)
{
    size_t i = 0, n;
    uint32_t cp, min;

    while (i < len) {
        unsigned char c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0)
            n = 2, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            n = 3, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            n = 4, cp = c & 0x07, min = 0x10000;
        else
            return false;
        if (i + n > len)
            return false;
        for (size_t k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n;
    }
    return true;
}

/* Every 1-, 2- and 3-byte string, and every 4-byte string with a lead
 * byte of F0..F7 and continuation-like tails at the range edges. */
static void test_exhaustive(void)
{
    unsigned char b[4];
    unsigned long mismatches = 0;
    static const unsigned char edges[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90,
                                          0x9f, 0xa0, 0xbf, 0xc0, 0xff};

    for (uint32_t v = 0; v < (1u << 24); v++) {
        b[0] = (unsigned char)(v >> 16), b[1] = (unsigned char)(v >> 8);
        b[2] = (unsigned char)v;
        mismatches += sg_utf8_valid((char *)b, 3) != reference_valid(b, 3);
        if ((v & 0xffff) == 0)
            mismatches += sg_utf8_valid((char *)b, 1) != reference_valid(b, 1);
        if ((v & 0xff) == 0)
            mismatches += sg_utf8_valid((char *)b, 2) != reference_valid(b, 2);
    }
    TAP_IS_INT(mismatches, 0, "every sequence of 1 to 3 bytes");
    mismatches = 0;
    for (int lead = 0xf0; lead <= 0xf7; lead++)
        for (size_t x = 0; x < sizeof(edges); x++)
            for (size_t y = 0; y < sizeof(edges); y++)
                for (size_t z = 0; z < sizeof(edges); z++) {
                    b[0] = (unsigned char)lead, b[1] = edges[x];
                    b[2] = edges[y], b[3] = edges[z];
                    mismatches += sg_utf8_valid((char *)b, 4) !=
                                  reference_valid(b, 4);
                }
    TAP_IS_INT(mismatches, 0, "4-byte sequences at the range edges");
}

#define SANITIZE(in, size)                                                     \
    (sg_utf8_sanitize(out, (size), (in), LEN(in)), out)

static void test_sanitize(void)
{
    char out[64];

    TAP_IS_STR(SANITIZE("curl/8.5.0", sizeof(out)), "curl/8.5.0", "ASCII as is");
    TAP_IS_STR(SANITIZE("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", sizeof(out)),
               "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "UTF-8 as is");
    /* Unicode section 3.9, table 3-8. */
    TAP_IS_STR(SANITIZE("a\xf1\x80\x80\xe1\x80\xc2" "b\x80" "c\x80\xbf" "d",
                        sizeof(out)),
               "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "b\xef\xbf\xbd"
               "c\xef\xbf\xbd\xef\xbf\xbd" "d",
               "one U+FFFD per maximal subpart");
    TAP_IS_STR(SANITIZE("Jos\xe9", sizeof(out)), "Jos\xef\xbf\xbd", "Latin-1");
    TAP_IS_STR(SANITIZE("a\tb\r\n\x7f\xc2\x9b" "c", sizeof(out)),
               "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
               "\xef\xbf\xbd" "c",
               "C0, DEL and C1 controls replaced");
    TAP_IS_INT(sg_utf8_sanitize(out, sizeof(out), "a\0b", 3), 5,
               "NUL replaced, length returned");
    TAP_IS_STR(out, "a\xef\xbf\xbd" "b", "NUL replaced");

    /* Cuts: 6 bytes fit in size 7, and never half a character. */
    TAP_IS_STR(SANITIZE("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 7),
               "\xc3\xa9\xc3\xa9\xc3\xa9", "cut after a whole 2-byte character");
    TAP_IS_STR(SANITIZE("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 6),
               "\xc3\xa9\xc3\xa9", "cut before a 2-byte character");
    TAP_IS_STR(SANITIZE("ab\xe2\x82\xac", 5), "ab", "cut before a 3-byte one");
    TAP_IS_STR(SANITIZE("ab\xe2\x82\xac", 6), "ab\xe2\x82\xac", "exact fit");
    TAP_IS_STR(SANITIZE("a\xf0\x9f\x98\x80", 5), "a", "cut before a 4-byte one");
    TAP_IS_STR(SANITIZE("ab\xff", 5), "ab", "cut before a replacement");
    TAP_IS_STR(SANITIZE("abc", 1), "", "size 1: empty string");
    TAP_IS_INT(sg_utf8_sanitize(out, 0, "abc", 3), 0, "size 0 writes nothing");
    TAP_IS_STR(SANITIZE("", sizeof(out)), "", "empty input");
}

/* Whatever goes in, what comes out is well-formed, control-free, fits,
 * and is the input itself when the input was already clean and fits. */
static void test_sanitize_random(void)
{
    char in[40], out[48];
    uint32_t seed = 12345;
    unsigned long bad = 0, kept = 0;

    for (int round = 0; round < 200000; round++) {
        size_t inlen = (size_t)(round % 40), outsize = 1 + (size_t)(round % 47);
        for (size_t i = 0; i < inlen; i++) {
            seed = seed * 1103515245u + 12345u;
            /* bias toward bytes that make near-valid sequences */
            in[i] = (char)((seed >> 16) & 1 ? 0x80 | (seed >> 20 & 0x7f)
                                            : seed >> 24);
        }
        size_t n = sg_utf8_sanitize(out, outsize, in, inlen);
        bad += n >= outsize || out[n] != '\0' || !sg_utf8_valid(out, n) ||
               memchr(out, '\0', n) || memchr(out, '\x7f', n);
        for (size_t i = 0; i < n; i++)
            bad += (unsigned char)out[i] < 0x20;
        if (sg_utf8_valid(in, inlen) && inlen < outsize &&
            !memchr(in, '\x7f', inlen) && !memchr(in, '\xc2', inlen)) {
            bool ctl = false;
            for (size_t i = 0; i < inlen; i++)
                ctl |= (unsigned char)in[i] < 0x20;
            if (!ctl)
                bad += n != inlen || memcmp(in, out, n) != 0, kept++;
        }
    }
    TAP_IS_INT(bad, 0, "random input: output well-formed, clean and fits");
    TAP_OK(kept > 0, "random input: clean input kept as is");
}

int main(void)
{
    test_kuhn();
    test_exhaustive();
    test_sanitize();
    test_sanitize_random();
    return tap_done();
}
