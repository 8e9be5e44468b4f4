/* fuzz_config.c -- config.c: sessiongate.conf text, and the dump.
 *
 * Input: the text of a config file. Checked besides memory safety: a
 * refusal always explains itself in a NUL-terminated message that fits
 * the buffer (tried with a roomy and a tiny one), and an accepted config
 * round-trips: sg_config_dump parses back, and dumping that gives the
 * same text again (config.h promises "text that parses back to the same
 * settings").
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const struct sg_config *cfg)
{
    char err[512] = "";
    char *dump = sg_config_dump(cfg), *again;
    struct sg_config *back;

    if (!dump)
        abort();
    back = sg_config_parse("dump", dump, strlen(dump), err, sizeof(err));
    if (!back) {
        fprintf(stderr, "dump does not parse back: %s\n%s", err, dump);
        abort();
    }
    again = sg_config_dump(back);
    if (!again || strcmp(dump, again) != 0) {
        fprintf(stderr, "dump is not a fixed point:\n%s---\n%s", dump,
                again ? again : "(null)");
        abort();
    }
    free(again);
    free(dump);
    sg_config_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256], tiny[8];
    struct sg_config *cfg;

    memset(err, 'x', sizeof(err));
    cfg = sg_config_parse("fuzz.conf", (const char *)data, size, err,
                          sizeof(err));
    if (!cfg) {
        if (!memchr(err, '\0', sizeof(err)) || err[0] == '\0')
            abort();
        /* The same refusal into a buffer too small for it. */
        memset(tiny, 'x', sizeof(tiny));
        if (sg_config_parse("fuzz.conf", (const char *)data, size, tiny,
                            sizeof(tiny)) ||
            !memchr(tiny, '\0', sizeof(tiny)))
            abort();
        return 0;
    }
    round_trip(cfg);
    sg_config_free(cfg);
    return 0;
}
