/* revoke.c -- the shared revocation table (revoke.h).
 *
 * A slot is a seqlock: the writer makes its sequence odd, writes the key
 * and deadline, and makes it even again with release order; a reader
 * copies the slot between two reads of the sequence and retries when
 * they differ or are odd. All shared fields are C11 atomics (relaxed
 * inside the lock), so concurrent access is defined behaviour, and a
 * reader never waits on the writer for more than one slot's copy.
 *
 * A writer killed inside write_slot leaves its slot's sequence odd for
 * good. Readers give up on such a slot after READ_TRIES (their caller
 * then asks Redis), and the next writer, which is the only one, repairs
 * every odd slot when it starts (sg_revoke_repair) and writes an odd
 * slot as a fresh one.
 */
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "crypto.h"
#include "revoke.h"

struct slot {
    _Atomic uint32_t seq;
    uint32_t pad;
    _Atomic int64_t until_ms; /* 0: never used */
    _Atomic uint64_t k0, k1;
};

struct sg_revoke {
    size_t mask; /* slots - 1 */
    size_t map_len;
    _Atomic uint64_t added, full;
    _Atomic int64_t heartbeat_ms, distrust_until_ms;
    struct slot slots[];
};

_Static_assert(sizeof(struct slot) == 32, "a slot is 32 bytes");

struct sg_revoke *sg_revoke_map(size_t min_slots)
{
    size_t n = SG_REVOKE_PROBE, len;
    struct sg_revoke *t;

    while (n < min_slots) {
        if (n > SIZE_MAX / 2 / sizeof(struct slot))
            return NULL;
        n *= 2;
    }
    len = sizeof(*t) + n * sizeof(struct slot);
    t = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
             0);
    if (t == MAP_FAILED)
        return NULL;
    /* anonymous memory is zero: every slot unused, sequences even */
    t->mask = n - 1;
    t->map_len = len;
    return t;
}

void sg_revoke_unmap(struct sg_revoke *t)
{
    if (t)
        munmap(t, t->map_len);
}

size_t sg_revoke_slots(const struct sg_revoke *t)
{
    return t->mask + 1;
}

bool sg_revoke_key(const char *sid, size_t len,
                   unsigned char key[SG_REVOKE_KEY_LEN])
{
    return len >= 2 * SG_REVOKE_KEY_LEN && sg_is_hex(sid, len) &&
           sg_hex_decode(sid, SG_REVOKE_KEY_LEN, key);
}

static void key_words(const unsigned char *key, uint64_t *k0, uint64_t *k1)
{
    memcpy(k0, key, 8);
    memcpy(k1, key + 8, 8);
}

/* Session ids are random: the key's first word is a fine hash. */
static size_t home(const struct sg_revoke *t, uint64_t k0)
{
    return (size_t)(k0 ^ (k0 >> 29)) & t->mask;
}

/* A write takes a few stores; a live writer is done long before this. */
#define READ_TRIES (1 << 20)

/* A stable copy of slot s, or false when none came within READ_TRIES. */
static bool read_slot(const struct slot *s, int64_t *until, uint64_t *k0,
                      uint64_t *k1)
{
    uint32_t before, after;

    for (long i = 0; i < READ_TRIES; i++) {
        before = atomic_load_explicit(&s->seq, memory_order_acquire);
        *until = atomic_load_explicit(&s->until_ms, memory_order_relaxed);
        *k0 = atomic_load_explicit(&s->k0, memory_order_relaxed);
        *k1 = atomic_load_explicit(&s->k1, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        after = atomic_load_explicit(&s->seq, memory_order_relaxed);
        if (!(before & 1) && before == after)
            return true;
    }
    return false;
}

static void write_slot(struct slot *s, int64_t until, uint64_t k0, uint64_t k1)
{
    uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);

    seq += seq & 1; /* left odd by a writer that died: even it up */
    atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&s->until_ms, until, memory_order_relaxed);
    atomic_store_explicit(&s->k0, k0, memory_order_relaxed);
    atomic_store_explicit(&s->k1, k1, memory_order_relaxed);
    atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

bool sg_revoke_add(struct sg_revoke *t, const unsigned char *key,
                   int64_t until_ms, int64_t now_ms)
{
    uint64_t k0, k1, s0, s1;
    size_t h, free_at = SIZE_MAX;
    int64_t until, latest = 0;

    key_words(key, &k0, &k1);
    h = home(t, k0);
    for (size_t i = 0; i < SG_REVOKE_PROBE; i++) {
        struct slot *s = &t->slots[(h + i) & t->mask];

        /* the only writer: a slot that is not stable was left half
         * written by a writer that died, and is free */
        if (!read_slot(s, &until, &s0, &s1))
            until = 0, s0 = s1 = 0;
        if (until > now_ms && s0 == k0 && s1 == k1) {
            if (until_ms > until)
                write_slot(s, until_ms, k0, k1);
            return true;
        }
        if (until <= now_ms && free_at == SIZE_MAX)
            free_at = (h + i) & t->mask;
        if (until > latest)
            latest = until;
    }
    if (free_at == SIZE_MAX) {
        atomic_fetch_add_explicit(&t->full, 1, memory_order_relaxed);
        sg_revoke_distrust(t, until_ms > latest ? until_ms : latest);
        return false;
    }
    write_slot(&t->slots[free_at], until_ms, k0, k1);
    atomic_fetch_add_explicit(&t->added, 1, memory_order_relaxed);
    return true;
}

int sg_revoke_has(const struct sg_revoke *t, const unsigned char *key,
                  int64_t now_ms)
{
    uint64_t k0, k1, s0, s1;
    int64_t until;
    size_t h;

    key_words(key, &k0, &k1);
    h = home(t, k0);
    for (size_t i = 0; i < SG_REVOKE_PROBE; i++) {
        if (!read_slot(&t->slots[(h + i) & t->mask], &until, &s0, &s1))
            return -1;
        if (until > now_ms && s0 == k0 && s1 == k1)
            return 1;
    }
    return 0;
}

void sg_revoke_half_write(struct sg_revoke *t, const unsigned char *key)
{
    uint64_t k0, k1;
    struct slot *s;

    key_words(key, &k0, &k1);
    s = &t->slots[home(t, k0)];
    atomic_fetch_add_explicit(&s->seq, 1, memory_order_release);
}

size_t sg_revoke_repair(struct sg_revoke *t)
{
    size_t n = 0;

    for (size_t i = 0; i <= t->mask; i++) {
        struct slot *s = &t->slots[i];
        if (atomic_load_explicit(&s->seq, memory_order_relaxed) & 1) {
            write_slot(s, 0, 0, 0);
            n++;
        }
    }
    return n;
}

void sg_revoke_heartbeat(struct sg_revoke *t, int64_t now_ms)
{
    atomic_store_explicit(&t->heartbeat_ms, now_ms, memory_order_release);
}

void sg_revoke_distrust(struct sg_revoke *t, int64_t until_ms)
{
    int64_t cur =
        atomic_load_explicit(&t->distrust_until_ms, memory_order_relaxed);

    while (until_ms > cur && !atomic_compare_exchange_weak_explicit(
                                 &t->distrust_until_ms, &cur, until_ms,
                                 memory_order_release, memory_order_relaxed))
        ;
}

bool sg_revoke_trusted(const struct sg_revoke *t, int64_t now_ms,
                       int64_t max_lag_ms)
{
    int64_t beat = atomic_load_explicit(&t->heartbeat_ms, memory_order_acquire);
    int64_t until =
        atomic_load_explicit(&t->distrust_until_ms, memory_order_acquire);

    return beat > 0 && now_ms - beat <= max_lag_ms && now_ms >= until;
}

void sg_revoke_stats(const struct sg_revoke *t, struct sg_revoke_stats *out)
{
    out->added = atomic_load_explicit(&t->added, memory_order_relaxed);
    out->full = atomic_load_explicit(&t->full, memory_order_relaxed);
    out->heartbeat_ms =
        atomic_load_explicit(&t->heartbeat_ms, memory_order_relaxed);
    out->distrust_until_ms =
        atomic_load_explicit(&t->distrust_until_ms, memory_order_relaxed);
}
