/* json.c -- see json.h. */
#include <string.h>
#include <time.h>

#include "json.h"

void sg_time_rfc3339(char *out, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (!gmtime_r(&t, &tm) ||
        !strftime(out, SG_TIME_RFC3339_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm))
        strcpy(out, "1970-01-01T00:00:00Z");
}

json_object *sg_json_time(int64_t ms)
{
    char buf[SG_TIME_RFC3339_MAX];

    sg_time_rfc3339(buf, ms);
    return json_object_new_string(buf);
}

int sg_json_put_string(struct sg_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t from = 0;
    int rc = sg_buf_append(b, "\"", 1);

    for (size_t i = 0; i < len && rc == SG_OK; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        rc = sg_buf_append(b, s + from, i - from);
        if (rc == SG_OK) {
            char esc[6] = {'\\', (char)c, '0', '0', hex[c >> 4], hex[c & 15]};
            if (c < 0x20)
                esc[1] = 'u';
            rc = sg_buf_append(b, esc, c < 0x20 ? 6 : 2);
        }
        from = i + 1;
    }
    if (rc == SG_OK)
        rc = sg_buf_append(b, s + from, len - from);
    return rc == SG_OK ? sg_buf_append(b, "\"", 1) : rc;
}

int sg_json_put_roles(struct sg_buf *b, const char *csv)
{
    int rc = sg_buf_append(b, "[", 1);
    bool first = true;

    while (rc == SG_OK && csv && *csv) {
        size_t n = strcspn(csv, ",");
        if (n) {
            if (!first)
                rc = sg_buf_append(b, ",", 1);
            if (rc == SG_OK)
                rc = sg_json_put_string(b, csv, n);
            first = false;
        }
        csv += n + (csv[n] == ',');
    }
    return rc == SG_OK ? sg_buf_append(b, "]", 1) : rc;
}

json_object *sg_json_roles(const char *csv)
{
    json_object *a = json_object_new_array();

    while (a && csv && *csv) {
        size_t n = strcspn(csv, ",");
        if (n)
            json_object_array_add(a, json_object_new_string_len(csv, (int)n));
        csv += n + (csv[n] == ',');
    }
    return a;
}

json_object *sg_json_user(const struct sg_user *u)
{
    json_object *o = json_object_new_object();

    if (!o)
        return NULL;
    json_object_object_add(o, "id", json_object_new_string(u->id));
    json_object_object_add(o, "email", json_object_new_string(u->email));
    json_object_object_add(o, "name", json_object_new_string(u->name));
    json_object_object_add(o, "roles", sg_json_roles(u->roles));
    json_object_object_add(o, "created_at", sg_json_time(u->created_at));
    return o;
}

json_object *sg_json_session(const struct sg_session *s, bool current)
{
    json_object *o = json_object_new_object();

    if (!o)
        return NULL;
    json_object_object_add(o, "id", json_object_new_string(s->id));
    json_object_object_add(o, "created_at", sg_json_time(s->created_at));
    json_object_object_add(o, "last_access", sg_json_time(s->last_access));
    json_object_object_add(o, "expires_at", sg_json_time(s->expires_at));
    json_object_object_add(o, "ip_address", json_object_new_string(s->ip));
    json_object_object_add(o, "user_agent",
                           json_object_new_string(s->user_agent));
    json_object_object_add(o, "request_count",
                           json_object_new_int64(s->request_count));
    json_object_object_add(o, "current", json_object_new_boolean(current));
    return o;
}
