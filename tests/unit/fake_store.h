/* fake_store.h -- what tests may do to the in-memory store.h of
 * fake_store.c beyond store.h itself: break it, look inside it.
 *
 * A test program links fake_store.c with the core library instead of
 * libsgredis.a (see Makefile.am), so sg_ctx_new() builds a context whose
 * ctx->store is a fake one. The fake keeps what Redis would, with the
 * semantics of the scripts in src/lua/ and of src/store_*.c; time is only
 * ever the `now` a call is given (the request's clock), never the wall
 * clock.
 */
#ifndef SG_FAKE_STORE_H
#define SG_FAKE_STORE_H

#include "store.h"

/* Forget everything stored (users, sessions, windows, revocations). */
void fake_store_reset(struct sg_store *s);

/* While down, every call that would reach Redis fails with SG_ESTORE,
 * as a dead Redis or a backoff window makes the real one. */
void fake_store_set_down(struct sg_store *s, bool down);

/* Store round trips made so far (failed ones included). */
unsigned long fake_store_calls(const struct sg_store *s);

/* How many of uid's indexed sessions are live at now. */
int fake_store_sessions(const struct sg_store *s, const char *uid, int64_t now);

/* Whether session sid of uid is live at now (its hash exists: neither
 * ended, idle past its timeout, nor evicted). */
bool fake_store_session_live(const struct sg_store *s, const char *uid,
                             const char *sid, int64_t now);

/* The entries of the rate-limit window key that are still inside a window
 * of window_ms at now (what ZCARD would count after the script's prune). */
int fake_store_window_count(const struct sg_store *s, const char *key,
                            int64_t now, int64_t window_ms);

#endif
