/* email.c -- see email.h. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>

#include "email.h"
#include "store.h"

/* dot-atom local part (no leading, trailing or double dot), 1..64 bytes;
 * LDH labels of 1..63 bytes, no leading or trailing hyphen, a TLD of
 * letters of at least two. */
static const char pattern[] =
    "^(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
    "(?:\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    "@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+"
    "[A-Za-z]{2,63}\\z";

struct sg_email {
    pcre2_code *re;
    pcre2_match_data *md;
};

struct sg_email *sg_email_new(bool jit)
{
    struct sg_email *e = calloc(1, sizeof(*e));
    int errcode;
    PCRE2_SIZE erroff;

    if (!e)
        return NULL;
    e->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0,
                          &errcode, &erroff, NULL);
    if (e->re) {
        if (jit)
            pcre2_jit_compile(e->re, PCRE2_JIT_COMPLETE);
        e->md = pcre2_match_data_create_from_pattern(e->re, NULL);
    }
    if (!e->re || !e->md) {
        sg_email_free(e);
        return NULL;
    }
    return e;
}

void sg_email_free(struct sg_email *e)
{
    if (!e)
        return;
    pcre2_match_data_free(e->md);
    pcre2_code_free(e->re);
    free(e);
}

int sg_email_normalize(struct sg_email *e, const char *in, size_t len,
                       char *out, size_t outlen)
{
    if (len == 0 || len > SG_EMAIL_MAX || len >= outlen)
        return SG_EINVAL;
    if (pcre2_match(e->re, (PCRE2_SPTR)in, len, 0, 0, e->md, NULL) < 0)
        return SG_EINVAL;
    for (size_t i = 0; i < len; i++)
        out[i] = (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] + 32) : in[i];
    out[len] = '\0';
    return SG_OK;
}
