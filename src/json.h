/* json.h -- the JSON shapes of API.md, built with json-c.
 *
 * Every function returns a new object (or NULL when out of memory) that
 * the caller adds to a response, which takes ownership.
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
 * a JSON string of s[0..len) (quotes, backslashes and control characters
 * escaped; other bytes as they are, as json-c writes them), and a roles
 * list "a,b" as ["a","b"]. SG_OK or SG_ENOMEM. */
int sg_json_put_string(struct sg_buf *b, const char *s, size_t len);
int sg_json_put_roles(struct sg_buf *b, const char *csv);

/* "a,b" -> ["a","b"]; "" -> []. */
json_object *sg_json_roles(const char *csv);

/* {id, email, name, roles, created_at}: never the password hash. */
json_object *sg_json_user(const struct sg_user *u);

/* {id, created_at, last_access, expires_at, ip_address, user_agent,
 * request_count, current}. */
json_object *sg_json_session(const struct sg_session *s, bool current);

#endif
