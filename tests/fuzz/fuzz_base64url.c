/* fuzz_base64url.c -- crypto.c: the strict base64url decoder.
 *
 * Input: the text to decode (explicit length). It is decoded into a heap
 * buffer of exactly the room the decoder asks for, and again into one a
 * byte short, so ASan sees any write past either. Checked: the decoder
 * refuses a buffer too small with SG_ETOOBIG and nothing else, and the
 * encoding is canonical, as crypto.c promises: whatever decodes encodes
 * back to exactly the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    size_t need = size / 4 * 3 + (size % 4 ? size % 4 - 1 : 0), n = 0;
    unsigned char *out = malloc(need ? need : 1);
    char *back;
    int rc;

    if (!out)
        abort();
    rc = sg_base64url_decode(in, size, out, need, &n);
    if (rc == SG_OK) {
        if (n != need || !(back = malloc(sg_base64url_len(n) + 1)) ||
            sg_base64url_encode(out, n, back, sg_base64url_len(n) + 1) ||
            strlen(back) != size || memcmp(back, in, size) != 0)
            abort();
        free(back);
        if (need > 0) {
            unsigned char *small = malloc(need - 1 ? need - 1 : 1);
            if (!small)
                abort();
            rc = sg_base64url_decode(in, size, small, need - 1, &n);
            if (rc != SG_ETOOBIG)
                abort();
            free(small);
        }
    } else if (rc != SG_EINVAL) {
        abort();
    }
    free(out);
    return 0;
}
