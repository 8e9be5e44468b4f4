/* json.c -- see json.h.
 *
 * RFC 8259 section 8.1: a JSON text MUST be UTF-8. json-c escapes '"',
 * '\\' and the controls but writes every other byte as it is, so strings
 * that may hold client or stored bytes go through sg_json_string, and the
 * hand-written writer checks as it escapes. Both keep well-formed text as
 * it is and replace each ill-formed subpart with U+FFFD (utf8.h).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "utf8.h"

/* The date of a count of days since 1970-01-01 in the proleptic
 * Gregorian calendar, counted in 400-year eras of 146097 days (each era
 * starting on a March 1st, so that the leap day ends a year). */
static void civil_date(int64_t days, long long *year, int *month, int *day)
{
    int64_t z = days + 719468; /* days since 0000-03-01 */
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                              /* 0..146096 */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);      /* from Mar 1 */
    int64_t mp = (5 * doy + 2) / 153;                            /* 0 = March */

    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = (long long)(yoe + era * 400 + (*month <= 2));
}

/* The digits by hand for years 0000..9999 (strftime was 1k instructions
 * of a verify's answer, gmtime_r 300 more); gmtime_r and strftime for
 * any other. */
void sg_time_rfc3339(char *out, int64_t ms)
{
    /* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z */
    const int64_t first = -62167219200LL, last = 253402300799LL;
    int64_t t = ms / 1000;
    struct tm tm;

    if (t >= first && t <= last) {
        int64_t days = (t >= 0 ? t : t - 86399) / 86400, secs = t - days * 86400;
        long long year;
        int month, day;

        civil_date(days, &year, &month, &day);
        {
            const int field[6] = {(int)year, month, day, (int)(secs / 3600),
                                  (int)(secs / 60 % 60), (int)(secs % 60)};
            static const char after[6] = {'-', '-', 'T', ':', ':', 'Z'};
            char *p = out;

            for (int i = 0; i < 6; i++) {
                int width = i == 0 ? 4 : 2, v = field[i];

                for (int k = width - 1; k >= 0; k--, v /= 10)
                    p[k] = (char)('0' + v % 10);
                p += width;
                *p++ = after[i];
            }
            *p = '\0';
        }
        return;
    }
    {
        time_t tt = (time_t)t;

        if (!gmtime_r(&tt, &tm) ||
            !strftime(out, SG_TIME_RFC3339_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm))
            strcpy(out, "1970-01-01T00:00:00Z");
    }
}

json_object *sg_json_time(int64_t ms)
{
    char buf[SG_TIME_RFC3339_MAX];

    sg_time_rfc3339(buf, ms);
    return json_object_new_string(buf);
}

/* The JSON escape of an ASCII byte that may not appear as is: '"', '\\'
 * and the controls U+0000..U+001F (RFC 8259 section 7). */
static int put_escape(struct sg_buf *b, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char esc[6] = {'\\', (char)c, '0', '0', hex[c >> 4], hex[c & 15]};

    if (c < 0x20)
        esc[1] = 'u';
    return sg_buf_append(b, esc, c < 0x20 ? 6 : 2);
}

/* A byte that goes into a JSON string as it is, when ASCII. */
static bool json_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

int sg_json_put_string(struct sg_buf *b, const char *s, size_t len)
{
    size_t from = 0, i = 0, n;
    bool ok;
    char *p;
    int rc;

    /* the common string (an id, a time, an ASCII name): one copy */
    while (i < len && json_plain((unsigned char)s[i]))
        i++;
    if (i == len) {
        if (len > SIZE_MAX - 2 || !(p = sg_buf_room(b, len + 2)))
            return SG_ENOMEM;
        p[0] = '"';
        memcpy(p + 1, s, len);
        p[len + 1] = '"';
        sg_buf_added(b, len + 2);
        return SG_OK;
    }
    rc = sg_buf_append(b, "\"", 1);

    /* From the first byte that is not plain ASCII: runs of bytes that
     * need nothing are appended in one piece; for
     * ASCII the loop costs one compare per byte, and only bytes of 0x80
     * and up go through the decoder. */
    while (i < len && rc == SG_OK) {
        unsigned char c = (unsigned char)s[i];

        if (json_plain(c)) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            n = sg_utf8_next(s + i, len - i, &ok);
            if (ok) {
                i += n;
                continue;
            }
        } else {
            n = 1;
        }
        rc = sg_buf_append(b, s + from, i - from);
        if (rc == SG_OK)
            rc = c < 0x80 ? put_escape(b, c)
                          : sg_buf_append(b, SG_UTF8_REPLACEMENT,
                                          SG_UTF8_REPLACEMENT_LEN);
        i += n;
        from = i;
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

json_object *sg_json_string(const char *s, size_t len)
{
    json_object *o;
    char *fixed;
    size_t n = 0, i = 0, step;
    bool ok;

    if (len > INT_MAX / SG_UTF8_REPLACEMENT_LEN)
        return NULL;
    if (sg_utf8_valid(s, len))
        return json_object_new_string_len(s, (int)len);
    /* Rare (a value stored before bodies were checked): each ill-formed
     * byte becomes at most one 3-byte U+FFFD. */
    if (!(fixed = malloc(len * SG_UTF8_REPLACEMENT_LEN + 1)))
        return NULL;
    for (; i < len; i += step) {
        step = sg_utf8_next(s + i, len - i, &ok);
        if (ok) {
            memcpy(fixed + n, s + i, step);
            n += step;
        } else {
            memcpy(fixed + n, SG_UTF8_REPLACEMENT, SG_UTF8_REPLACEMENT_LEN);
            n += SG_UTF8_REPLACEMENT_LEN;
        }
    }
    o = json_object_new_string_len(fixed, (int)n);
    free(fixed);
    return o;
}

static json_object *cstring(const char *s)
{
    return sg_json_string(s, strlen(s));
}

json_object *sg_json_roles(const char *csv)
{
    json_object *a = json_object_new_array();

    while (a && csv && *csv) {
        size_t n = strcspn(csv, ",");
        if (n)
            json_object_array_add(a, sg_json_string(csv, n));
        csv += n + (csv[n] == ',');
    }
    return a;
}

json_object *sg_json_user(const struct sg_user *u)
{
    json_object *o = json_object_new_object();

    if (!o)
        return NULL;
    json_object_object_add(o, "id", cstring(u->id));
    json_object_object_add(o, "email", cstring(u->email));
    json_object_object_add(o, "name", cstring(u->name));
    json_object_object_add(o, "roles", sg_json_roles(u->roles));
    json_object_object_add(o, "created_at", sg_json_time(u->created_at));
    return o;
}

json_object *sg_json_session(const struct sg_session *s, bool current)
{
    json_object *o = json_object_new_object();

    if (!o)
        return NULL;
    json_object_object_add(o, "id", cstring(s->id));
    json_object_object_add(o, "created_at", sg_json_time(s->created_at));
    json_object_object_add(o, "last_access", sg_json_time(s->last_access));
    json_object_object_add(o, "expires_at", sg_json_time(s->expires_at));
    json_object_object_add(o, "ip_address", cstring(s->ip));
    json_object_object_add(o, "user_agent",
                           cstring(s->user_agent));
    json_object_object_add(o, "request_count",
                           json_object_new_int64(s->request_count));
    json_object_object_add(o, "current", json_object_new_boolean(current));
    return o;
}
