/* store_ops.c -- store operations built on store.h alone, the same for
 * every store behind the seam (Redis, the tests' fake): part of the core. */
#include <string.h>

#include "store.h"

int sg_store_operator(struct sg_store *s, enum sg_auth_op op, const char *uid,
                      const char *target_sid, int64_t now,
                      struct sg_auth_call *c)
{
    memset(c, 0, sizeof(*c));
    c->uid = uid, c->sid = "", c->jti = "-"; /* no session: no auth, no touch */
    c->now = now;
    c->target_sid = target_sid;
    return sg_store_auth(s, op, c);
}
