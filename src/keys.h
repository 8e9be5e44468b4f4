/* keys.h -- the Redis key layout, in one place.
 *
 * Every key starts with the configured key_prefix (default "sg:"). A
 * user's keys share the hash tag {u:ID} so that they land in one Redis
 * Cluster slot and one script can touch them all:
 *
 *   P{u:ID}:user            hash: id email name roles created_at password
 *   P{u:ID}:sessions        zset: session id -> created_at (ms)
 *   P{u:ID}:s:SID           hash: one session (see store_sessions.c)
 *   P{u:ID}:s:SID:rt        set: hashes of the session's rotated refresh
 *                           tokens, for reuse detection
 *   P{u:ID}:rv:JTI          string: a revoked access token, until its exp
 *   P{u:ID}:rl:user         string: ratelimit_user's counter (counter.lua)
 *   P{u:ID}:rl:POLICY:sid:SID  a session's window or counter, in its
 *                           user's slot (Prl:POLICY:sid:SID where the user
 *                           is not known)
 *   P{u:ID}:addrs           zset: addresses (IPv6 as its block) the user
 *                           signed in from -> when (ms); 30 days each
 *   Pemail:EMAIL            string: lowercased email -> user id
 *   Pusers                  set: every user id (for the operator CLI)
 *   Prl:POLICY:ip:BUCKET    zset: rate-limit window of a client address
 *                           (IPv6 as its block); a counter for "user"
 *   Prl:POLICY:acct:SHA256  zset: ... of an account (the email's hash)
 *   Prl:POLICY:sid:SID      zset: ... of a session
 *   Pready:RANDOM           string: /ready probe, 10 s TTL
 *   Prevocations            stream: sessions ended (revoke.lua), trimmed
 *                           to one access token lifetime
 *   Prevocations:epoch      string: random, set once (SET NX): a new
 *                           value means Redis lost its data
 *
 * Only the user record, the email index, the user set and the stream's
 * epoch live forever; everything else carries a TTL. docs/REDIS.md explains each key.
 */
#ifndef SG_KEYS_H
#define SG_KEYS_H

#include "sg.h"

#define SG_KEY_MAX 512

/* Each writes the key into out (SG_KEY_MAX bytes) and returns 0, or
 * SG_ETOOBIG if it would not fit (inputs are validated before). */
int sg_key_user(char *out, const char *prefix, const char *uid);
int sg_key_user_sessions(char *out, const char *prefix, const char *uid);
int sg_key_session(char *out, const char *prefix, const char *uid,
                   const char *sid);
/* "P{u:ID}:s:" -- scripts append a session id (and ":rt") to it. */
int sg_key_session_prefix(char *out, const char *prefix, const char *uid);
int sg_key_rotated(char *out, const char *prefix, const char *uid,
                   const char *sid);
int sg_key_revoked(char *out, const char *prefix, const char *uid,
                   const char *jti);
int sg_key_email(char *out, const char *prefix, const char *email_lower);
/* In a Redis Cluster (docs/CLUSTER.md): the email index by the SHA-256
 * (hex) of the normalised address, "Pemail:{e:HASH}" (a "{" in an
 * address is no hash tag, and no address is in a key's name); and the key
 * that stands for the revocation stream in a user's slot, which
 * revoke.lua does not write. */
int sg_key_email_hashed(char *out, const char *prefix, const char *hash);
int sg_key_no_revocations(char *out, const char *prefix, const char *uid);
int sg_key_users(char *out, const char *prefix);
int sg_key_revocations(char *out, const char *prefix);
int sg_key_revocations_epoch(char *out, const char *prefix);
int sg_key_known_addrs(char *out, const char *prefix, const char *uid);
/* Rate-limit windows: per client address bucket, per account (the
 * SHA-256 hex of its email: an address of any shape makes a short, safe
 * key), per session, per user (in the user's slot). */
int sg_key_limit_ip(char *out, const char *prefix, const char *policy,
                    const char *bucket);
int sg_key_limit_account(char *out, const char *prefix, const char *policy,
                         const char *account_hash);
int sg_key_limit_session(char *out, const char *prefix, const char *policy,
                         const char *sid);
int sg_key_limit_user_session(char *out, const char *prefix, const char *uid,
                              const char *policy, const char *sid);
int sg_key_limit_user(char *out, const char *prefix, const char *uid,
                      const char *policy);
/* The /ready probe's key, token a fresh random value. */
int sg_key_ready(char *out, const char *prefix, const char *token);
/* The same in the slot of tag (a cluster: one probe per master). */
int sg_key_ready_at(char *out, const char *prefix, const char *tag,
                    const char *token);
/* "P{u:" -- signin.lua appends a user id and "}:user" or "}:addrs" to it,
 * for an id it reads from the email index. */
int sg_key_user_head(char *out, const char *prefix);

#endif
