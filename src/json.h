/* json.h -- the JSON shapes of API.md, built with json-c.
 *
 * Every function returns a new object (or NULL when out of memory) that
 * the caller adds to a response, which takes ownership.
 *
 * Every string these functions write or hand to json-c is well-formed
 * UTF-8 (RFC 8259 section 8.1, RFC 3629), whatever bytes they are given:
 * values read back from Redis may predate the checks on the way in, so
 * ill-formed bytes are replaced with U+FFFD on the way out too. Strings
 * built elsewhere with json_object_new_string get no such repair: use
 * sg_json_string for anything a client or the store supplied.
 */
#ifndef SG_JSON_H
#define SG_JSON_H

#include <json-c/json.h>

#include "buf.h"
#include "store.h"

/* RFC 3339 UTC with second precision: "2026-11-23T10:30:00Z". */
json_object *sg_json_time(int64_t ms);
#define SG_TIME_RFC3339_MAX 32
void sg_time_rfc3339(char *out, int64_t ms);

/* Writers for the hot path, which builds its body without a json-c tree:
 * a JSON string of s[0..len), and a roles list "a,b" as ["a","b"].
 * The string is written as json-c would write well-formed UTF-8 ('"',
 * '\\' and U+0000..U+001F escaped, everything else as it is) except that
 * each ill-formed subpart of s is written as U+FFFD, so the output is
 * always valid UTF-8 JSON (RFC 8259 sections 7 and 8.1). ASCII costs one
 * compare per byte. SG_OK or SG_ENOMEM. */
SG_MUST_CHECK int sg_json_put_string(struct sg_buf *b, const char *s,
                                     size_t len);
SG_MUST_CHECK int sg_json_put_roles(struct sg_buf *b, const char *csv);

/* A json-c string of s[0..len) with each ill-formed UTF-8 subpart
 * replaced by U+FFFD (s as it is when well-formed, the common case, which
 * costs one scan). NUL bytes are kept: json-c writes them as \u0000. */
json_object *sg_json_string(const char *s, size_t len);

/* "a,b" -> ["a","b"]; "" -> []. */
json_object *sg_json_roles(const char *csv);

/* {id, email, name, roles, created_at}: never the password hash. The
 * strings go through sg_json_string, as do the session's below. */
json_object *sg_json_user(const struct sg_user *u);

/* {id, created_at, last_access, expires_at, ip_address, user_agent,
 * request_count, current}. */
json_object *sg_json_session(const struct sg_session *s, bool current);

#endif
