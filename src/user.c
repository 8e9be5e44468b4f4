/* user.c -- see user.h. */
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "password.h"
#include "user.h"

int sg_user_create(struct sg_store *s, struct sg_user *u, const char *pw,
                   size_t len, int iterations, int64_t now)
{
    int rc = sg_random_hex(u->id, sizeof(u->id), SG_USER_ID_LEN / 2);

    if (rc == SG_OK && sg_password_hash(pw, len, iterations, u->password,
                                        sizeof(u->password)) != SG_OK)
        rc = SG_ECRYPTO;
    if (!u->roles[0])
        strcpy(u->roles, "user");
    u->created_at = now;
    if (rc == SG_OK)
        rc = sg_store_user_create(s, u);
    sg_wipe(u->password, sizeof(u->password));
    return rc;
}
