/* Unit test for the embedded Redis scripts: the SHA1 computed at build
 * time (src/lua/embed.sh) must be the SHA1 of the very text sent with
 * SCRIPT LOAD, or every EVALSHA would miss; the function library holds
 * every script's text under a name of its own. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "store.h"
#include "tap.h"

int main(void)
{
    size_t liblen = 0;
    char *text = sg_store_library(&liblen);
    char lib[40] = "", reg[160];
    const char *fn, *at;
    int id;

    TAP_OK(text != NULL, "the function library is built");
    if (!text)
        return tap_done();
    /* "#!lua name=sessiongate_<16 hex>\n" */
    TAP_OK(sscanf(text, "#!lua name=%39s", lib) == 1 &&
               strncmp(lib, "sessiongate_", 12) == 0 && strlen(lib) == 28 &&
               strspn(lib + 12, "0123456789abcdef") == 16,
           "library named sessiongate_ and a digest");

    for (id = 0; sg_store_script_source(id); id++) {
        const char *src = sg_store_script_source(id);
        unsigned char md[20];
        unsigned int len = 0;
        char hex[41];

        EVP_Digest(src, strlen(src), md, &len, EVP_sha1(), NULL);
        TAP_IS_INT(sg_hex_encode(md, sizeof(md), hex, sizeof(hex)), SG_OK,
                   "sg_hex_encode");
        TAP_IS_STR(sg_store_script_sha(id), hex, "build-time SHA1 matches");
        TAP_OK(strstr(src, "redis.call") != NULL, "script has a body");
        fn = sg_store_script_fn(id);
        TAP_OK(fn && strncmp(fn, "sg_", 3) == 0 &&
                   strncmp(fn + 3, lib + 12, 16) == 0 && fn[19] == '_',
               "function name carries the library's digest");
        snprintf(reg, sizeof(reg), "redis.register_function('%s', "
                 "function(KEYS, ARGV)\n", fn ? fn : "");
        at = strstr(text, reg);
        TAP_OK(at && strncmp(at + strlen(reg), src, strlen(src)) == 0 &&
                   strncmp(at + strlen(reg) + strlen(src), "end)\n", 5) == 0,
               "the library registers the script's text unchanged");
        for (int j = 0; j < id; j++)
            TAP_OK(strcmp(fn ? fn : "", sg_store_script_fn(j)) != 0,
                   "function names are distinct");
    }
    TAP_IS_INT(id, 12, "every script is embedded (touch.lua the 12th)");
    TAP_IS_INT(strlen(text), liblen, "library length");
    TAP_OK(text[liblen - 1] == '\n', "library ends with a whole line");
    free(text);
    return tap_done();
}
