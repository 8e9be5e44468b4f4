/* params.h -- a fake server environment for building requests in unit
 * tests: test_env({"NAME", "value", ..., NULL}) gives the "NAME=value"
 * array sg_request_init reads, valid until the next call. */
#ifndef SG_TEST_PARAMS_H
#define SG_TEST_PARAMS_H

#include <stdio.h>
#include <stdlib.h>

#define TEST_ENV_MAX 64

static char *const *test_env(const char *const *kv)
{
    static char text[TEST_ENV_MAX][4096];
    static char *env[TEST_ENV_MAX + 1];
    size_t n = 0;

    for (; kv[0]; kv += 2, n++) {
        if (n == TEST_ENV_MAX ||
            (size_t)snprintf(text[n], sizeof(text[n]), "%s=%s", kv[0],
                             kv[1]) >= sizeof(text[n]))
            abort(); /* the test's table is too big: fix the test */
        env[n] = text[n];
    }
    env[n] = NULL;
    return env;
}

#endif
