/* json.c -- see json.h. */
#include <string.h>
#include <time.h>

#include "json.h"

json_object *sg_json_time(int64_t ms)
{
    char buf[32];
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (!gmtime_r(&t, &tm) ||
        !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
        return json_object_new_string("1970-01-01T00:00:00Z");
    return json_object_new_string(buf);
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
