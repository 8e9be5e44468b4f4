/* Unit tests for store.c that need no Redis: the members of rate-limit
 * window logs are unique, whatever the pid, the counter or the clock. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "store_impl.h"
#include "tap.h"

int main(void)
{
    char text[] = "redis = unix:/nonexistent/redis.sock\n";
    char err[256], a[SG_MEMBER_MAX], b[SG_MEMBER_MAX], c[SG_MEMBER_MAX];
    struct sg_config *cfg =
        sg_config_parse("test", text, strlen(text), err, sizeof(err));
    struct sg_store *s = cfg ? sg_store_new(cfg, err, sizeof(err)) : NULL;
    struct sg_store *t = cfg ? sg_store_new(cfg, err, sizeof(err)) : NULL;
    const long long now = 1795392000000LL;

    TAP_OK(s && t, "stores");
    if (!s || !t)
        return tap_done();
    /* the old members were now:pid:seq in 24 bytes: a 7-digit pid (pid_max
     * 4194304) left no room for seq, and entries of one millisecond
     * collided */
    s->seq = 18446744073709551613ULL;
    sg_store_member(s, now, a);
    sg_store_member(s, now, b);
    TAP_OK(strcmp(a, b) != 0, "same millisecond, same store: distinct");
    TAP_OK(strstr(a, "18446744073709551614") != NULL, "counter never cut");
    TAP_IS_INT(strlen(a), 13 + 1 + 16 + 1 + 20, "the longest member fits");
    t->seq = s->seq - 1;
    sg_store_member(t, now, c);
    TAP_OK(strcmp(b, c) != 0, "same millisecond and counter, two workers");
    TAP_OK(strncmp(a, "1795392000000:", 14) == 0, "starts with the time");
    sg_store_free(s);
    sg_store_free(t);
    sg_config_free(cfg);
    return tap_done();
}
