/* Unit tests for store_revoke.c that need no Redis: XREAD replies of the
 * revocation stream, as hiredis parses them from RESP, applied to a revocation
 * table. */
#include <stdio.h>
#include <string.h>

#include "store_impl.h"
#include "tap.h"

#define NOW   1795392000000LL
#define SID_A "aa112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define SID_B "bb112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static redisReply *parse(const char *resp)
{
    redisReader *rd = redisReaderCreate();
    void *r = NULL;

    if (!rd)
        return NULL;
    if (redisReaderFeed(rd, resp, strlen(resp)) != REDIS_OK ||
        redisReaderGetReply(rd, &r) != REDIS_OK)
        r = NULL;
    redisReaderFree(rd);
    return r;
}

/* "$N\r\nTEXT\r\n" */
static void bulk(char *out, size_t cap, const char *s)
{
    size_t n = strlen(out);
    snprintf(out + n, cap - n, "$%zu\r\n%s\r\n", strlen(s), s);
}

/* An entry [id, [s, sid, u, until]] */
static void entry(char *out, size_t cap, const char *id, const char *sid,
                  const char *until)
{
    size_t n = strlen(out);
    snprintf(out + n, cap - n, "*2\r\n");
    bulk(out, cap, id);
    n = strlen(out);
    snprintf(out + n, cap - n, "*4\r\n");
    bulk(out, cap, "s");
    bulk(out, cap, sid);
    bulk(out, cap, "u");
    bulk(out, cap, until);
}

static void test_xread(void)
{
    struct sg_revoke *t = sg_revoke_map(64);
    struct sg_revoke_follow f = {0};
    unsigned char a[SG_REVOKE_KEY_LEN], b[SG_REVOKE_KEY_LEN];
    char resp[2048] = "*1\r\n*2\r\n";
    redisReply *r;

    if (!t)
        return;
    sg_revoke_key(SID_A, 64, a);
    sg_revoke_key(SID_B, 64, b);
    bulk(resp, sizeof(resp), "sg:revocations");
    strcat(resp, "*3\r\n");
    entry(resp, sizeof(resp), "1795392000000-0", SID_A, "1795392900000");
    entry(resp, sizeof(resp), "1795392000001-0", "not-a-session",
          "1795392900000");
    entry(resp, sizeof(resp), "1795392000002-5", SID_B, "1795392900001");
    r = parse(resp);
    TAP_OK(r != NULL, "XREAD reply parsed");
    if (r) {
        TAP_IS_INT(sg_store_revoke_apply(t, r, &f, NOW), SG_OK, "applied");
        freeReplyObject(r);
    }
    TAP_OK((sg_revoke_has(t, a, NOW) == 1) && (sg_revoke_has(t, b, NOW) == 1),
           "both sessions refused");
    TAP_OK(!(sg_revoke_has(t, a, 1795392900000) == 1), "until their deadline");
    TAP_IS_STR(f.last_id, "1795392000002-5", "last id advanced");
    TAP_OK(f.applied == 2 && f.skipped == 1,
           "a malformed entry is skipped, and not read again");

    r = parse("*-1\r\n");
    TAP_OK(r && sg_store_revoke_apply(t, r, &f, NOW) == SG_OK,
           "a BLOCK timeout (nil) is nothing new");
    if (r)
        freeReplyObject(r);
    r = parse("-ERR wrong\r\n");
    TAP_OK(r && sg_store_revoke_apply(t, r, &f, NOW) == SG_ESTORE,
           "an error reply is no answer");
    if (r)
        freeReplyObject(r);
    r = parse(":42\r\n");
    TAP_OK(r && sg_store_revoke_apply(t, r, &f, NOW) == SG_ESTORE,
           "an integer is no answer");
    if (r)
        freeReplyObject(r);
    TAP_IS_STR(f.last_id, "1795392000002-5", "last id unchanged by those");
    sg_revoke_unmap(t);
}

/* One entry: [[stream, [[id, fields]]]], where a reader guessing the
 * shape could take the entry for [stream, entries]. */
static void test_one_entry(void)
{
    struct sg_revoke *t = sg_revoke_map(64);
    struct sg_revoke_follow f = {0};
    unsigned char a[SG_REVOKE_KEY_LEN];
    char resp[1024] = "*1\r\n*2\r\n";
    redisReply *r;

    if (!t)
        return;
    sg_revoke_key(SID_A, 64, a);
    bulk(resp, sizeof(resp), "sg:revocations");
    strcat(resp, "*1\r\n");
    entry(resp, sizeof(resp), "7-1", SID_A, "1795392000500");
    r = parse(resp);
    TAP_OK(r && sg_store_revoke_apply(t, r, &f, NOW) == SG_OK &&
               (sg_revoke_has(t, a, NOW) == 1) && !strcmp(f.last_id, "7-1"),
           "an XREAD of one entry");
    if (r)
        freeReplyObject(r);
    sg_revoke_unmap(t);
}

/* A reply of n entries, all of session A. */
static redisReply *batch(size_t n)
{
    static char resp[200 * (SG_REVOKE_READ_COUNT + 1)];
    char id[48]; /* room for any size_t */

    snprintf(resp, sizeof(resp), "*1\r\n*2\r\n");
    bulk(resp, sizeof(resp), "sg:revocations");
    snprintf(resp + strlen(resp), sizeof(resp) - strlen(resp), "*%zu\r\n", n);
    for (size_t i = 0; i < n; i++) {
        snprintf(id, sizeof(id), "1795392000000-%zu", i);
        entry(resp, sizeof(resp), id, SID_A, "1795392900000");
    }
    return parse(resp);
}

/* A whole batch proves nothing about what follows it: the reader must
 * read again before it stamps the heartbeat (sg_store_revoke_follow). */
static void test_whole_batch(void)
{
    struct sg_revoke *t = sg_revoke_map(64);
    struct sg_revoke_follow f = {0};
    redisReply *r;

    if (!TAP_OK(t != NULL, "batch: map"))
        return;
    r = batch(SG_REVOKE_READ_COUNT);
    TAP_OK(r && sg_store_revoke_apply(t, r, &f, NOW) == SG_OK && f.more,
           "a whole batch: more may be waiting");
    freeReplyObject(r);
    r = batch(SG_REVOKE_READ_COUNT - 1);
    TAP_OK(r && sg_store_revoke_apply(t, r, &f, NOW) == SG_OK && !f.more,
           "one short of it: caught up");
    freeReplyObject(r);
    r = parse("*-1\r\n");
    TAP_OK(r && sg_store_revoke_apply(t, r, &f, NOW) == SG_OK && !f.more,
           "a blocking read that timed out: caught up");
    freeReplyObject(r);
    TAP_OK(f.applied == 2 * SG_REVOKE_READ_COUNT - 1, "every entry applied");
    sg_revoke_unmap(t);
}

int main(void)
{
    test_xread();
    test_one_entry();
    test_whole_batch();
    return tap_done();
}
