/* params.h -- a fake server parameter table for building requests in
 * unit tests: {"NAME", "value", ..., NULL}. */
#ifndef SG_TEST_PARAMS_H
#define SG_TEST_PARAMS_H

#include <string.h>

static const char *test_param(void *arg, const char *name)
{
    const char *const *kv = arg;

    for (; kv[0]; kv += 2)
        if (strcmp(kv[0], name) == 0)
            return kv[1];
    return NULL;
}

#endif
