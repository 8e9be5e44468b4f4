/* Unit tests for revoke.c, the shared table of ended sessions: lookups,
 * deadlines, slot reuse, a full neighbourhood, trust, and a reader racing
 * the writer across fork() (the way workers and the reader share it). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "revoke.h"
#include "tap.h"

#define NOW 1795392000000LL

/* A key whose home slot is the same for every n (k0 fixed high bits
 * vary only past the mask) and that differs in its second word. */
static void key_n(unsigned char *key, uint64_t k0, uint64_t k1)
{
    memcpy(key, &k0, 8);
    memcpy(key + 8, &k1, 8);
}

static void test_basics(void)
{
    struct sg_revoke *t = sg_revoke_map(100);
    unsigned char a[16], b[16];

    TAP_OK(t != NULL, "map");
    if (!t)
        return;
    TAP_IS_INT((int)sg_revoke_slots(t), 128, "slots rounded up to 128");
    key_n(a, 1, 2);
    key_n(b, 1, 3);
    TAP_OK(sg_revoke_has(t, a, NOW) == 0, "empty table has nothing");
    TAP_OK(sg_revoke_add(t, a, NOW + 1000, NOW), "add");
    TAP_OK((sg_revoke_has(t, a, NOW) == 1), "added key found");
    TAP_OK((sg_revoke_has(t, a, NOW + 999) == 1), "found until its deadline");
    TAP_OK(sg_revoke_has(t, a, NOW + 1000) == 0, "gone at its deadline");
    TAP_OK(sg_revoke_has(t, b, NOW) == 0, "a key differing in its second word "
                                      "is another key");
    TAP_OK(sg_revoke_add(t, a, NOW + 500, NOW), "add again, earlier deadline");
    TAP_OK((sg_revoke_has(t, a, NOW + 999) == 1), "the later deadline is kept");
    TAP_OK(sg_revoke_add(t, a, NOW + 5000, NOW), "add again, later deadline");
    TAP_OK((sg_revoke_has(t, a, NOW + 4999) == 1), "deadline extended");
    sg_revoke_unmap(t);
}

static void test_full_and_reuse(void)
{
    struct sg_revoke *t = sg_revoke_map(64);
    unsigned char key[16];
    struct sg_revoke_stats st;
    bool all = true;

    if (!t)
        return;
    for (uint64_t i = 0; i < SG_REVOKE_PROBE; i++) {
        key_n(key, 7, 100 + i); /* one home slot for all */
        all = all && sg_revoke_add(t, key, NOW + 1000 + (int64_t)i, NOW);
    }
    TAP_OK(all, "a neighbourhood takes SG_REVOKE_PROBE keys of one home");
    key_n(key, 7, 99);
    TAP_OK(!sg_revoke_add(t, key, NOW + 1000, NOW), "one more is refused");
    sg_revoke_stats(t, &st);
    TAP_OK(st.full == 1 && st.added == SG_REVOKE_PROBE, "counted as full");
    sg_revoke_heartbeat(t, NOW);
    TAP_OK(!sg_revoke_trusted(t, NOW, 1000),
           "a full neighbourhood: the table is not trusted");
    TAP_OK(!sg_revoke_trusted(t, NOW + 1000 + SG_REVOKE_PROBE - 2, 1 << 30),
           "... while any entry then live may still matter");
    TAP_OK(sg_revoke_trusted(t, NOW + 1000 + SG_REVOKE_PROBE, 1 << 30),
           "... and trusted again once they all expired");
    TAP_OK(sg_revoke_add(t, key, NOW + 9000, NOW + 1000),
           "an expired entry's slot is reused");
    TAP_OK((sg_revoke_has(t, key, NOW + 1000) == 1), "the new key is found");
    key_n(key, 7, 100 + SG_REVOKE_PROBE - 1);
    TAP_OK((sg_revoke_has(t, key, NOW + 1000) == 1),
           "a live key past the reused slot is still found");
    sg_revoke_unmap(t);
}

static void test_key_and_trust(void)
{
    struct sg_revoke *t = sg_revoke_map(16);
    unsigned char key[16];
    const char *sid =
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    TAP_OK(sg_revoke_key(sid, 64, key) && key[0] == 0x00 && key[15] == 0xff,
           "a session id's key is its first 16 bytes");
    TAP_OK(!sg_revoke_key("00112233", 8, key), "too short: no key");
    TAP_OK(!sg_revoke_key("0011223344556677889AABBCCDDEEFF0", 32, key),
           "uppercase hex: no key");
    if (!t)
        return;
    TAP_OK(!sg_revoke_trusted(t, NOW, 1000), "no heartbeat yet: not trusted");
    sg_revoke_heartbeat(t, NOW);
    TAP_OK(sg_revoke_trusted(t, NOW + 1000, 1000), "trusted within the lag");
    TAP_OK(!sg_revoke_trusted(t, NOW + 1001, 1000), "not past it");
    sg_revoke_distrust(t, NOW + 500);
    sg_revoke_distrust(t, NOW + 100); /* an earlier time does not shorten */
    TAP_OK(!sg_revoke_trusted(t, NOW + 499, 1000), "distrusted until a time");
    TAP_OK(sg_revoke_trusted(t, NOW + 500, 1000), "trusted from it");
    sg_revoke_unmap(t);
}

/* A child writes and rewrites keys of one neighbourhood while the parent
 * reads: a key that stays live is always found, and one never added is
 * never found (no torn slot reads as another key). */
static void test_fork_race(void)
{
    struct sg_revoke *t = sg_revoke_map(64);
    unsigned char kept[16], never[16], key[16];
    long misses = 0, ghosts = 0;
    pid_t pid;
    int status;

    if (!t)
        return;
    key_n(kept, 5, 1);
    key_n(never, 5, 2);
    sg_revoke_add(t, kept, NOW + 1000000, NOW);
    pid = fork();
    if (pid == 0) {
        for (int64_t i = 0; i < 2000000; i++) {
            key_n(key, 5, 3 + (uint64_t)(i % 8));
            sg_revoke_add(t, key, NOW + 10 + i % 50, NOW + i % 40);
        }
        _exit(0);
    }
    for (int i = 0; i < 300000; i++) {
        misses += !(sg_revoke_has(t, kept, NOW + 5) == 1);
        ghosts += (sg_revoke_has(t, never, NOW + 5) == 1);
    }
    waitpid(pid, &status, 0);
    TAP_OK(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "writer child ran");
    TAP_IS_INT((int)misses, 0, "a live key is never missed while written");
    TAP_IS_INT((int)ghosts, 0, "a key never added is never found");
    sg_revoke_unmap(t);
}

/* A writer killed inside a write leaves its slot odd: readers give up on
 * it in bounded time (and ask Redis), the next writer repairs it, and the
 * stream replayed from its start (what a new reader does) fills it in. */
static void test_dead_writer(void)
{
    struct sg_revoke *t = sg_revoke_map(64);
    unsigned char a[16], b[16];

    if (!TAP_OK(t != NULL, "dead writer: map"))
        return;
    key_n(a, 7, 1);
    key_n(b, 7, 2); /* the same home slot: probes past a's */
    TAP_OK(sg_revoke_add(t, a, NOW + 1000, NOW), "a added");
    TAP_OK(sg_revoke_add(t, b, NOW + 1000, NOW), "b added");
    sg_revoke_half_write(t, a);
    TAP_IS_INT(sg_revoke_has(t, a, NOW), -1,
               "a slot left half written: unsure, in bounded time");
    TAP_IS_INT(sg_revoke_has(t, b, NOW), -1,
               "... and so is a key probing past it");
    TAP_IS_INT((int)sg_revoke_repair(t), 1, "the next writer repairs it");
    TAP_IS_INT((int)sg_revoke_repair(t), 0, "... once");
    TAP_IS_INT(sg_revoke_has(t, a, NOW), 0, "the slot is free again");
    TAP_IS_INT(sg_revoke_has(t, b, NOW), 1, "b is found past it");
    TAP_OK(sg_revoke_add(t, a, NOW + 1000, NOW), "a replayed");
    TAP_IS_INT(sg_revoke_has(t, a, NOW), 1, "a found again");
    sg_revoke_half_write(t, a);
    TAP_OK(sg_revoke_add(t, a, NOW + 2000, NOW),
           "a writer adding over a half-written slot");
    TAP_IS_INT(sg_revoke_has(t, a, NOW + 1500), 1,
               "... writes it whole (its sequence evened up)");
    sg_revoke_unmap(t);
}

int main(void)
{
    test_basics();
    test_full_and_reuse();
    test_key_and_trust();
    test_fork_race();
    test_dead_writer();
    return tap_done();
}
