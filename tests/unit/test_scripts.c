/* Unit test for the embedded Redis scripts: the SHA1 computed at build
 * time (src/lua/embed.sh) must be the SHA1 of the very text sent with
 * SCRIPT LOAD, or every EVALSHA would miss. */
#include <openssl/evp.h>
#include <string.h>

#include "crypto.h"
#include "store.h"
#include "tap.h"

int main(void)
{
    int id;

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
    }
    TAP_IS_INT(id, 12, "every script is embedded (touch.lua the 12th)");
    return tap_done();
}
