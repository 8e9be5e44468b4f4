/* Unit tests for email.c: what is accepted, what is refused, and the
 * lowercased form. */
#include <string.h>

#include "email.h"
#include "store.h"
#include "tap.h"

static int check(struct sg_email *e, const char *in, char *out)
{
    return sg_email_normalize(e, in, strlen(in), out, SG_EMAIL_MAX + 1);
}

/* The same answers with the JIT-compiled pattern (workers) and without
 * (CGI, the CLI). */
static void test_email(bool jit)
{
    struct sg_email *e = sg_email_new(jit);
    char out[SG_EMAIL_MAX + 1], big[300];
    static const char *const good[] = {
        "a@example.com", "first.last+tag@sub.example.co.uk", "x_y-z@a-b.io",
        "o'brien@example.ie", "u@xn--bcher-kva.example"};
    static const char *const bad[] = {"",
                                      "plain",
                                      "@example.com",
                                      "a@",
                                      "a@b",
                                      "a@b.c",
                                      "a..b@example.com",
                                      ".a@example.com",
                                      "a.@example.com",
                                      "a@-b.com",
                                      "a@b-.com",
                                      "a b@example.com",
                                      "a@exa mple.com",
                                      "\"q\"@example.com",
                                      "a@[127.0.0.1]",
                                      "a@example.com\n",
                                      "a@@example.com",
                                      "a@example..com",
                                      "a@example.c0m"};

    TAP_OK(e != NULL, "pattern compiles");
    for (size_t i = 0; i < SG_ARRAY_LEN(good); i++)
        TAP_IS_INT(check(e, good[i], out), SG_OK, good[i]);
    for (size_t i = 0; i < SG_ARRAY_LEN(bad); i++)
        TAP_IS_INT(check(e, bad[i], out), SG_EINVAL, bad[i]);
    TAP_IS_INT(check(e, "Alice@Example.COM", out), SG_OK, "mixed case");
    TAP_IS_STR(out, "alice@example.com", "lowercased");
    TAP_IS_INT(sg_email_normalize(e, "a\0b@example.com", 15, out, sizeof(out)),
               SG_EINVAL, "embedded NUL");
    memset(big, 'a', 64);
    strcpy(big + 64, "@example.com");
    TAP_IS_INT(check(e, big, out), SG_OK, "64-byte local part");
    memset(big, 'a', 65);
    strcpy(big + 65, "@example.com");
    TAP_IS_INT(check(e, big, out), SG_EINVAL, "65-byte local part");
    memset(big, 'a', sizeof(big));
    memcpy(big, "a@", 2);
    for (int i = 10; i < 290; i += 10)
        big[i] = '.';
    strcpy(big + 290, ".com");
    TAP_IS_INT(check(e, big, out), SG_EINVAL, "over 254 bytes");
    sg_email_free(e);
}

int main(void)
{
    test_email(true);
    test_email(false);
    return tap_done();
}
