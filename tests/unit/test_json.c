/* Unit tests for json.c: times, roles and the user/session shapes. */
#include <string.h>

#include "json.h"
#include "tap.h"

static const char *str(json_object *o)
{
    return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

/* The hand-written strings and roles parse back, with json-c, to exactly
 * what went in, whatever bytes went in. */
static void test_writers(void)
{
    const char odd[] = "a\"b\\c\x01\n\x1f/\x7f\xc3\xa9z";
    struct sg_buf b = {0};
    json_object *o;

    TAP_IS_INT(sg_json_put_string(&b, odd, sizeof(odd) - 1), SG_OK,
               "put_string");
    o = json_tokener_parse(b.data);
    TAP_OK(o && json_object_is_type(o, json_type_string) &&
               json_object_get_string_len(o) == (int)sizeof(odd) - 1 &&
               !memcmp(json_object_get_string(o), odd, sizeof(odd) - 1),
           "escaped string parses back to the same bytes");
    json_object_put(o);

    sg_buf_reset(&b);
    sg_json_put_string(&b, "plain", 5);
    TAP_IS_STR(b.data, "\"plain\"", "plain string as is");

    sg_buf_reset(&b);
    sg_json_put_roles(&b, "a,,b\",");
    TAP_IS_STR(b.data, "[\"a\",\"b\\\"\"]", "roles: empty skipped, quote escaped");
    sg_buf_reset(&b);
    sg_json_put_roles(&b, "");
    TAP_IS_STR(b.data, "[]", "no roles");
    sg_buf_free(&b);
}

int main(void)
{
    json_object *o;
    struct sg_user u = {.id = "u1",
                        .email = "a@b.co",
                        .name = "A",
                        .roles = "admin,user",
                        .created_at = 1795392000000,
                        .password = "pbkdf2-sha256$secret"};
    struct sg_session s = {.id = "s1",
                           .created_at = 0,
                           .last_access = 1000,
                           .expires_at = 86400000,
                           .ip = "::1",
                           .user_agent = "curl",
                           .request_count = 7};

    test_writers();
    o = sg_json_time(1795392000123);
    TAP_IS_STR(json_object_get_string(o), "2026-11-23T00:00:00Z", "RFC 3339");
    json_object_put(o);
    o = sg_json_roles("admin,user");
    TAP_IS_STR(str(o), "[\"admin\",\"user\"]", "roles array");
    json_object_put(o);
    o = sg_json_roles("");
    TAP_IS_STR(str(o), "[]", "no roles");
    json_object_put(o);
    o = sg_json_roles("a,,b,");
    TAP_IS_STR(str(o), "[\"a\",\"b\"]", "empty roles skipped");
    json_object_put(o);
    o = sg_json_user(&u);
    TAP_OK(!strstr(str(o), "pbkdf2") && !strstr(str(o), "password"),
           "never the password hash");
    TAP_IS_STR(str(o),
               "{\"id\":\"u1\",\"email\":\"a@b.co\",\"name\":\"A\",\"roles\":"
               "[\"admin\",\"user\"],\"created_at\":\"2026-11-23T00:00:00Z\"}",
               "user shape");
    json_object_put(o);
    o = sg_json_session(&s, true);
    TAP_IS_STR(str(o),
               "{\"id\":\"s1\",\"created_at\":\"1970-01-01T00:00:00Z\","
               "\"last_access\":\"1970-01-01T00:00:01Z\",\"expires_at\":"
               "\"1970-01-02T00:00:00Z\",\"ip_address\":\"::1\","
               "\"user_agent\":\"curl\",\"request_count\":7,\"current\":true}",
               "session shape");
    json_object_put(o);
    return tap_done();
}
