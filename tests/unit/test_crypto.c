/* test_crypto.c -- crypto.c: encodings against RFC 4648 vectors, strict
 * base64url decoding, constant-time compare, SHA-256 and randomness.
 */
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "tap.h"

/* RFC 4648 section 10 vectors, unpadded (base64url = base64 here: none of
 * them produce '+' or '/'). */
static const struct {
    const char *plain, *encoded;
} rfc4648[] = {
    {"", ""},
    {"f", "Zg"},
    {"fo", "Zm8"},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg"},
    {"fooba", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy"},
};

static void test_hex(void)
{
    const unsigned char in[] = {0x00, 0x01, 0xab, 0xff};
    char out[9], small[8];

    TAP_IS_INT(sg_hex_encode(in, sizeof(in), out, sizeof(out)), SG_OK,
               "hex encode");
    TAP_IS_STR(out, "0001abff", "hex is lowercase");
    TAP_IS_INT(sg_hex_encode(in, sizeof(in), small, sizeof(small)), SG_ETOOBIG,
               "hex encode refuses a short buffer");
    TAP_IS_INT(sg_hex_encode(in, 0, out, 1), SG_OK, "hex of nothing");
    TAP_IS_STR(out, "", "hex of nothing is empty");

    unsigned char back[4];
    TAP_OK(sg_hex_decode("0001abff", 4, back) && !memcmp(back, in, 4),
           "hex decode round trip");
    TAP_OK(!sg_hex_decode("0001ABff", 4, back), "hex decode: lowercase only");
    TAP_OK(!sg_hex_decode("0001abfg", 4, back), "hex decode: not hex");
    TAP_OK(sg_is_hex("0123456789abcdef", 16), "is_hex: every digit");
    TAP_OK(!sg_is_hex("0123456789abcdeF", 16), "is_hex: no uppercase");
    TAP_OK(!sg_is_hex("01 3", 4), "is_hex: no blank");
    TAP_OK(!sg_is_hex("ab\0c", 4), "is_hex: no NUL inside");
    TAP_OK(sg_is_hex("", 0), "is_hex: empty is vacuously hex");

    /* every byte, alone and in both places of a pair (a table lookup) */
    bool same = true;
    for (int c = 0; c < 256; c++) {
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        int v = c <= '9' ? c - '0' : c - 'a' + 10;
        char one = (char)c, hi[2] = {(char)c, '7'}, lo[2] = {'7', (char)c};
        unsigned char b;

        same &= sg_is_hex(&one, 1) == hex &&
                sg_is_hex_char((unsigned char)c) == hex;
        same &= sg_hex_decode(hi, 1, &b) == hex && (!hex || b == (v << 4 | 7));
        same &= sg_hex_decode(lo, 1, &b) == hex && (!hex || b == (7 << 4 | v));
    }
    TAP_OK(same, "hex: each of the 256 bytes is a digit when it should be");
}

static void test_base64url_vectors(void)
{
    char enc[16];
    unsigned char dec[16];
    size_t n;

    for (size_t i = 0; i < SG_ARRAY_LEN(rfc4648); i++) {
        size_t len = strlen(rfc4648[i].plain);
        TAP_IS_INT(sg_base64url_len(len), strlen(rfc4648[i].encoded),
                   "base64url_len matches vector");
        TAP_IS_INT(sg_base64url_encode(rfc4648[i].plain, len, enc, sizeof(enc)),
                   SG_OK, "base64url encode vector");
        TAP_IS_STR(enc, rfc4648[i].encoded, "RFC 4648 vector encodes");
        n = 99;
        TAP_IS_INT(sg_base64url_decode(enc, strlen(enc), dec, sizeof(dec), &n),
                   SG_OK, "base64url decode vector");
        TAP_OK(n == len && memcmp(dec, rfc4648[i].plain, len) == 0,
               "RFC 4648 vector round trips");
    }
}

static void test_base64url_alphabet(void)
{
    const unsigned char in[] = {0xfb, 0xff, 0xbf};
    unsigned char all[256], dec[256];
    char enc[400];
    size_t n = 0;

    TAP_IS_INT(sg_base64url_encode(in, 3, enc, sizeof(enc)), SG_OK,
               "encode 0xfbffbf");
    TAP_IS_STR(enc, "-_-_", "url-safe alphabet uses - and _");

    for (size_t i = 0; i < sizeof(all); i++)
        all[i] = (unsigned char)i;
    for (size_t len = 0; len <= sizeof(all); len += 37) {
        TAP_IS_INT(sg_base64url_encode(all, len, enc, sizeof(enc)), SG_OK,
                   "sg_base64url_encode");
        TAP_OK(sg_base64url_decode(enc, strlen(enc), dec, sizeof(dec), &n) ==
                       SG_OK &&
                   n == len && memcmp(dec, all, len) == 0,
               "every byte value round trips");
    }
    TAP_IS_INT(sg_base64url_encode(all, 3, enc, 4), SG_ETOOBIG,
               "encode refuses a buffer without room for NUL");
}

static void test_base64url_rejects(void)
{
    unsigned char dec[16];
    size_t n;

    TAP_IS_INT(sg_base64url_decode("Zm9v+A", 6, dec, sizeof(dec), &n),
               SG_EINVAL, "decode rejects '+'");
    TAP_IS_INT(sg_base64url_decode("Zm9v/A", 6, dec, sizeof(dec), &n),
               SG_EINVAL, "decode rejects '/'");
    TAP_IS_INT(sg_base64url_decode("Zm8=", 4, dec, sizeof(dec), &n), SG_EINVAL,
               "decode rejects padding");
    TAP_IS_INT(sg_base64url_decode("Zm 8", 4, dec, sizeof(dec), &n), SG_EINVAL,
               "decode rejects a space");
    TAP_IS_INT(sg_base64url_decode("Zm\0v", 4, dec, sizeof(dec), &n), SG_EINVAL,
               "decode rejects an embedded NUL");
    TAP_IS_INT(sg_base64url_decode("Zm9vY", 5, dec, sizeof(dec), &n), SG_EINVAL,
               "decode rejects length 4k+1");
    TAP_IS_INT(sg_base64url_decode("Zh", 2, dec, sizeof(dec), &n), SG_EINVAL,
               "decode rejects non-zero trailing bits (2 chars)");
    TAP_IS_INT(sg_base64url_decode("Zm9", 3, dec, sizeof(dec), &n), SG_EINVAL,
               "decode rejects non-zero trailing bits (3 chars)");
    TAP_IS_INT(sg_base64url_decode("Zm9vYmFy", 8, dec, 5, &n), SG_ETOOBIG,
               "decode refuses a too small buffer");
    TAP_IS_INT(sg_base64url_decode("Zm9vYmFy", 8, dec, 6, &n), SG_OK,
               "decode fits an exact buffer");
}

static void test_ct_equal(void)
{
    TAP_OK(sg_ct_equal("abc", 3, "abc", 3), "ct_equal equal");
    TAP_OK(!sg_ct_equal("abc", 3, "abd", 3), "ct_equal differs in last byte");
    TAP_OK(!sg_ct_equal("abc", 3, "abcd", 4), "ct_equal differs in length");
    TAP_OK(sg_ct_equal("", 0, "", 0), "ct_equal of empty");
    {
        /* every position of a long buffer, in the words and in the tail */
        char x[300], y[300];
        bool all = true;

        for (size_t i = 0; i < sizeof(x); i++)
            x[i] = (char)('a' + i % 26);
        memcpy(y, x, sizeof(y));
        all = sg_ct_equal(x, sizeof(x), y, sizeof(y));
        for (size_t i = 0; i < sizeof(x) && all; i++) {
            y[i] ^= 0x40;
            all = !sg_ct_equal(x, sizeof(x), y, sizeof(y)) &&
                  !sg_ct_equal(x, i + 1, y, i + 1);
            y[i] ^= 0x40;
        }
        TAP_OK(all, "ct_equal sees a difference at any of 300 positions");
    }
}

static void test_sha256(void)
{
    char out[65];

    TAP_IS_INT(sg_sha256_hex("abc", 3, out), SG_OK, "sha256 abc");
    TAP_IS_STR(
        out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "sha256(abc) FIPS 180-2 vector");
    TAP_IS_INT(sg_sha256_hex("", 0, out), SG_OK, "sg_sha256_hex");
    TAP_IS_STR(
        out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "sha256 of empty input");
}

static void test_random(void)
{
    char a[65], b[65], small[64];
    unsigned char zero[32] = {0}, r[32];
    bool charset_ok = true;

    TAP_IS_INT(sg_random_hex(a, sizeof(a), 32), SG_OK, "random_hex");
    TAP_IS_INT(strlen(a), 64, "random_hex of 32 bytes is 64 chars");
    for (size_t i = 0; a[i]; i++) {
        if (!strchr("0123456789abcdef", a[i]))
            charset_ok = false;
    }
    TAP_OK(charset_ok, "random_hex is lowercase hex");
    TAP_IS_INT(sg_random_hex(b, sizeof(b), 32), SG_OK, "sg_random_hex");
    TAP_OK(strcmp(a, b) != 0, "two random_hex calls differ");
    TAP_IS_INT(sg_random_hex(small, sizeof(small), 32), SG_ETOOBIG,
               "random_hex refuses a short buffer");
    TAP_IS_INT(sg_random_bytes(r, sizeof(r)), SG_OK, "random_bytes");
    TAP_OK(memcmp(r, zero, sizeof(r)) != 0, "random_bytes fills the buffer");

    char big[2 * 200 + 1];
    TAP_IS_INT(sg_random_hex(big, sizeof(big), 200), SG_OK,
               "random_hex longer than one internal chunk");
    TAP_IS_INT(strlen(big), 400, "random_hex of 200 bytes is 400 chars");
}

/* RFC 4231 test cases 1, 2 and 6 (a key longer than the block size). */
static void test_hmac(void)
{
    static const struct {
        const char *key_hex, *data, *mac_hex;
    } cases[] = {
        {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"4a656665", "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {NULL, "Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    };
    unsigned char key[131], mac[32];
    char hex[65];

    for (size_t i = 0; i < SG_ARRAY_LEN(cases); i++) {
        size_t klen = 0;
        struct sg_hmac *h;
        if (cases[i].key_hex) {
            for (const char *p = cases[i].key_hex; *p; p += 2) {
                unsigned v;
                sscanf(p, "%2x", &v);
                key[klen++] = (unsigned char)v;
            }
        } else {
            memset(key, 0xaa, sizeof(key));
            klen = sizeof(key);
        }
        h = sg_hmac_sha256_new(key, klen);
        sg_hmac_sha256(h, cases[i].data, strlen(cases[i].data), mac);
        TAP_IS_INT(sg_hex_encode(mac, sizeof(mac), hex, sizeof(hex)), SG_OK,
                   "sg_hex_encode");
        TAP_IS_STR(hex, cases[i].mac_hex, "RFC 4231 HMAC-SHA256");
        sg_hmac_sha256(h, cases[i].data, strlen(cases[i].data), mac);
        TAP_IS_INT(sg_hex_encode(mac, sizeof(mac), hex, sizeof(hex)), SG_OK,
                   "sg_hex_encode");
        TAP_IS_STR(hex, cases[i].mac_hex, "prepared key is reusable");
        sg_hmac_free(h);
    }
}

int main(void)
{
    test_hmac();
    test_hex();
    test_base64url_vectors();
    test_base64url_alphabet();
    test_base64url_rejects();
    test_ct_equal();
    test_sha256();
    test_random();
    return tap_done();
}
