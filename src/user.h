/* user.h -- making an account, the one way both the register route and
 * the operator CLI do it. */
#ifndef SG_USER_H
#define SG_USER_H

#include "store.h"

/* Create the account u describes (email normalised, name checked; roles
 * "user" when empty) with password pw[0..len), whose policy the caller
 * has checked: a new id from the CSPRNG, the PBKDF2 hash at iterations,
 * created_at now, stored in one step that claims the email. 0 with u
 * complete; SG_EEXIST when the email is taken; SG_EIO (no randomness),
 * SG_ECRYPTO, SG_ESTORE. The hash is wiped from u whatever happens. */
SG_MUST_CHECK int sg_user_create(struct sg_store *s, struct sg_user *u,
                                 const char *pw, size_t len, int iterations,
                                 int64_t now);

#endif
