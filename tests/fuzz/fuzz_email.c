/* fuzz_email.c -- email.c: validating and lowercasing addresses.
 *
 * Input: the address bytes (explicit length, NULs included), in a buffer
 * of exactly that size. Checked: an accepted address is at most
 * SG_EMAIL_MAX bytes, comes back as its ASCII lowercase, has exactly one
 * '@' and no NUL, and normalizing it again is a no-op.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "email.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sg_email *email;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    char out[SG_EMAIL_MAX + 1], again[SG_EMAIL_MAX + 1];
    const char *at;

    if (!email && !(email = sg_email_new(true)))
        abort();
    if (sg_email_normalize(email, in, size, out, sizeof(out)) != SG_OK)
        return 0;
    if (size > SG_EMAIL_MAX || strlen(out) != size || memchr(in, '\0', size) ||
        !(at = strchr(out, '@')) || strchr(at + 1, '@'))
        abort();
    for (size_t i = 0; i < size; i++) {
        char c = in[i];
        if (out[i] != (c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c))
            abort();
    }
    if (sg_email_normalize(email, out, size, again, sizeof(again)) != SG_OK ||
        strcmp(out, again) != 0)
        abort();
    return 0;
}
