/* revoke.h -- the host's table of ended sessions, in shared memory.
 *
 * For verify_mode = local (issue 17): a worker accepts an access token on
 * its signature and claims plus this table, with no Redis call. The
 * table is mapped once, before the workers fork; one process per host
 * (the revocation reader) writes it, every worker only reads it. An
 * entry says "session K ended; refuse its tokens until T", where T is
 * when the newest access token of that session expires, so the table
 * holds only what ended within one token lifetime.
 *
 * Layout: a power-of-two array of 32-byte slots, each a seqlock (an
 * even sequence when stable) around a 128-bit key and its deadline. A key
 * lives within SG_REVOKE_PROBE slots of its home slot; an expired entry's
 * slot is reused, so nothing is ever deleted and a reader's probe is
 * bounded. Readers take no lock: they retry a slot whose sequence moved.
 * When all SG_REVOKE_PROBE slots near a key's home hold live entries the
 * add fails, the table counts it, and the host stops trusting it (it
 * answers in roundtrip mode) until every entry then live has expired.
 *
 * Whether the table can be trusted is the writer's to say: it stamps a
 * heartbeat each time it has proved itself current with Redis, and may
 * distrust the table until a given time (a reader that lost data, or a
 * full neighbourhood); sg_revoke_trusted() is the workers' test.
 */
#ifndef SG_REVOKE_H
#define SG_REVOKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SG_REVOKE_KEY_LEN 16 /* bytes: the first half of a session id */
#define SG_REVOKE_PROBE   16 /* slots a key may sit from its home */

struct sg_revoke;

/* A table of at least min_slots slots (rounded up to a power of two, at
 * least SG_REVOKE_PROBE), mapped shared and anonymous so that children
 * forked after this call see the same memory. NULL on failure. */
struct sg_revoke *sg_revoke_map(size_t min_slots);
void sg_revoke_unmap(struct sg_revoke *t);
size_t sg_revoke_slots(const struct sg_revoke *t);

/* The key of a session id given as lowercase hex (its first 32 digits).
 * false if sid is not that. */
bool sg_revoke_key(const char *sid, size_t len,
                   unsigned char key[SG_REVOKE_KEY_LEN]);

/* Writer only (one process): refuse key's tokens until until_ms. An entry
 * for the same key keeps the later deadline. false when the key's
 * neighbourhood is full of live entries: the table then distrusts itself
 * until the latest deadline among them. */
bool sg_revoke_add(struct sg_revoke *t, const unsigned char *key,
                   int64_t until_ms, int64_t now_ms);

/* Readers: 1 when key has a live entry at now_ms, 0 when it has none,
 * -1 when a slot on its way could not be read (a writer died inside it:
 * ask Redis instead). */
int sg_revoke_has(const struct sg_revoke *t, const unsigned char *key,
                  int64_t now_ms);

/* Writer, when it starts: make every slot a dead writer left half written
 * free again. Returns how many. */
size_t sg_revoke_repair(struct sg_revoke *t);

/* Fault injection for the tests: leave key's home slot as a writer
 * killed inside its write would. */
void sg_revoke_half_write(struct sg_revoke *t, const unsigned char *key);

/* Writer: the table is current with Redis as of now_ms. */
void sg_revoke_heartbeat(struct sg_revoke *t, int64_t now_ms);

/* Writer: do not trust the table before until_ms (keeps a later time). */
void sg_revoke_distrust(struct sg_revoke *t, int64_t until_ms);

/* Readers: the last heartbeat is at most max_lag_ms old and nothing
 * distrusts the table at now_ms. */
bool sg_revoke_trusted(const struct sg_revoke *t, int64_t now_ms,
                       int64_t max_lag_ms);

/* Figures for logs and metrics. */
struct sg_revoke_stats {
    uint64_t added, full; /* entries written; adds refused (full) */
    int64_t heartbeat_ms, distrust_until_ms;
};
void sg_revoke_stats(const struct sg_revoke *t, struct sg_revoke_stats *out);

#endif
