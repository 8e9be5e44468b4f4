/* fuzz_redis_reply.c -- the store's reading of Redis replies.
 *
 * Input: one byte that picks an operation, then the bytes "Redis" answers
 * with, in RESP (the protocol hiredis reads):
 *
 *     \x07*3\r\n:1\r\n:29\r\n:59000\r\n         (op 7: a verify)
 *
 * Two harnesses share it. First, hiredis' own redisReader turns the bytes
 * into replies of every shape (nil, integers, errors, nested arrays, bulk
 * strings of any length), and every reply and element is handed to the
 * two shared readers, sg_store_reply_copy and sg_store_reply_int, whose
 * contracts (store_impl.h) are checked: a copy succeeds exactly for a
 * string that fits and copies it whole with its NUL; an integer reply
 * reads as itself.
 *
 * Second, the typed operations of store.h (users, sessions, refresh,
 * limits, sign-in, authenticated calls, the probe) run against a fake
 * Redis: the store's connection is one end of a socketpair whose other
 * end already holds the bytes and is shut for writing, so the store
 * sends its real command, hiredis reads the bytes as the answer, and the
 * file-local parsers (parse_user, parse_auth_reply, parse_me,
 * parse_session_rows, the loops of sg_store_refresh, sg_store_limits,
 * sg_store_user_each, sg_store_probe's checks) see them as they would
 * see Redis; past the bytes the store sees a closed connection. The
 * configured Redis is a socket path that does not exist, so a reconnect
 * never reaches a real server. Checked besides memory safety: every
 * operation returns one of its documented codes and leaves its outputs
 * consistent (nsessions rows allocated, strings NUL-terminated within
 * their arrays).
 *
 * hiredis 0.14 callocs an array's element vector from the count the
 * reply declares (up to INT_MAX), before any element arrives. A plain
 * build only reserves the address space, but under ASan the vector's
 * shadow is written and libFuzzer reports an out-of-memory, so inputs
 * declaring an array of more than ARRAY_MAX elements are skipped.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "sg.h"
#include "store_impl.h"

#define ARRAY_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct sg_config *cfg;
static struct sg_store *store;

static const char uid[] = "0123456789abcdef0123456789abcdef";
static const char sid[] =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];

    (void)argc, (void)argv;
    signal(SIGPIPE, SIG_IGN);
    sg_log_set_level(SG_LOG_ERROR);
    if (!(cfg = sg_config_new_default()))
        abort();
    free(cfg->redis);
    if (!(cfg->redis = strdup("unix:/nonexistent/sessiongate-fuzz.sock")))
        abort();
    cfg->redis_timeout_ms = 1000;
    if (!(store = sg_store_new(cfg, err, sizeof(err))))
        abort();
    return 0;
}

/* True if some "*<n>" in the bytes declares more than ARRAY_MAX elements
 * (conservative: the same bytes inside a bulk string count too). */
static bool declares_huge_array(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned long long v = 0;
        size_t j = i + 1;
        if (p[i] != '*')
            continue;
        if (j < n && (p[j] == '-' || p[j] == '+'))
            j++;
        for (; j < n && p[j] >= '0' && p[j] <= '9' && v <= ARRAY_MAX; j++)
            v = v * 10 + (unsigned)(p[j] - '0');
        if (v > ARRAY_MAX)
            return true;
    }
    return false;
}

/* ---- the shared readers ------------------------------------------------ */

static void check_readers(const redisReply *r, int depth)
{
    static const size_t caps[] = {1, 2, 8, 33, 65, 256, 4097};
    char out[4097];
    long long v = 0;
    bool is_string = r->type == REDIS_REPLY_STRING;

    for (size_t i = 0; i < SG_ARRAY_LEN(caps); i++) {
        memset(out, 'x', caps[i]);
        bool ok = sg_store_reply_copy(r, out, caps[i]);
        if (ok != (is_string && r->len < caps[i]))
            abort();
        if (ok && (out[r->len] != '\0' || memcmp(out, r->str, r->len) != 0))
            abort();
    }
    if (r->type == REDIS_REPLY_INTEGER &&
        (!sg_store_reply_int(r, &v) || v != r->integer))
        abort();
    if (!is_string && r->type != REDIS_REPLY_INTEGER &&
        sg_store_reply_int(r, &v))
        abort();
    if (is_string && sg_store_reply_int(r, &v) && (r->len == 0 || r->len > 20))
        abort();
    if (r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->elements; i++)
            check_readers(r->element[i], depth + 1);
}

static void read_replies(const uint8_t *p, size_t n)
{
    redisReader *reader = redisReaderCreate();
    void *reply;

    if (!reader)
        abort();
    if (redisReaderFeed(reader, (const char *)p, n) == REDIS_OK)
        while (redisReaderGetReply(reader, &reply) == REDIS_OK && reply) {
            check_readers(reply, 0);
            freeReplyObject(reply);
        }
    redisReaderFree(reader);
}

/* ---- the typed operations, against a fake Redis ------------------------ */

static bool terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static void check_user(const struct sg_user *u)
{
    if (!terminated(u->id, sizeof(u->id)) ||
        !terminated(u->email, sizeof(u->email)) ||
        !terminated(u->name, sizeof(u->name)) ||
        !terminated(u->roles, sizeof(u->roles)) ||
        !terminated(u->password, sizeof(u->password)))
        abort();
}

static int count_uid(void *arg, const char *id)
{
    if (strlen(id) > SG_USER_ID_LEN)
        abort();
    return ++*(int *)arg >= 1000; /* stop somewhere */
}

static void run_auth(enum sg_auth_op op, uint8_t flags)
{
    struct sg_auth_call c = {
        .uid = uid,
        .sid = sid,
        .jti = "jti-0123456789abcdef",
        .now = 1700000000000,
        .idle_ms = 1800000,
        .limit = flags & 1 ? 60 : 0,
        .window_ms = 60000,
        .target_uid = flags & 2 ? uid : NULL,
        .target_sid = sid,
        .revoke_ms = 900000,
    };
    int rc = flags & 4 ? sg_store_operator(store, op, uid, sid, 1, &c)
                       : sg_store_auth(store, op, &c);

    if (rc != SG_OK && rc != SG_ESTORE)
        abort();
    if (rc == SG_OK && c.status == SG_AUTH_OK && op == SG_OP_ME)
        check_user(&c.user);
    if (rc != SG_OK && c.sessions)
        abort(); /* freed on failure */
    for (size_t i = 0; rc == SG_OK && i < c.nsessions; i++) {
        const struct sg_session *ss = &c.sessions[i];
        if (!terminated(ss->id, sizeof(ss->id)) ||
            !terminated(ss->ip, sizeof(ss->ip)) ||
            !terminated(ss->user_agent, sizeof(ss->user_agent)))
            abort();
    }
    free(c.sessions);
}

static void run_op(uint8_t op)
{
    struct sg_user u = {0};
    int rc = SG_OK, n = 0;

    switch (op % 16) {
    case 0:
        rc = sg_store_user_by_id(store, uid, &u);
        if (rc == SG_OK)
            check_user(&u);
        else if (rc != SG_ENOTFOUND && rc != SG_ESTORE)
            abort();
        break;
    case 1:
        rc = sg_store_user_by_email(store, "a@example.org", &u);
        if (rc == SG_OK)
            check_user(&u);
        else if (rc != SG_ENOTFOUND && rc != SG_ESTORE)
            abort();
        break;
    case 2:
        memcpy(u.id, uid, sizeof(uid));
        strcpy(u.email, "a@example.org"), strcpy(u.roles, "user");
        rc = sg_store_user_create(store, &u);
        if (rc != SG_OK && rc != SG_EEXIST && rc != SG_ESTORE)
            abort();
        break;
    case 3:
        rc = sg_store_user_each(store, count_uid, &n);
        if (rc != SG_OK && rc != SG_ESTORE)
            abort();
        break;
    case 4: {
        struct sg_session ss = {.created_at = 1, .expires_at = 2};
        struct sg_session_new sn = {.uid = uid,
                                    .session = &ss,
                                    .refresh_hash = "h",
                                    .refresh_exp = 3,
                                    .idle_ms = 4,
                                    .max_sessions = 5,
                                    .addr = "192.0.2.0"};
        memcpy(ss.id, sid, sizeof(sid));
        rc = sg_store_session_create(store, &sn, &n);
        if (rc != SG_OK && rc != SG_ESTORE)
            abort();
        break;
    }
    case 5: {
        struct sg_refresh rf = {.uid = uid,
                                .sid = sid,
                                .presented_hash = "p",
                                .new_hash = "n",
                                .new_wrap = "w",
                                .grace_ms = 4,
                                .now = 1,
                                .idle_ms = 2,
                                .lifetime_ms = 3};
        rc = sg_store_refresh(store, &rf);
        if (rc != SG_OK && rc != SG_EAUTH && rc != SG_EREUSED &&
            rc != SG_ELIMIT && rc != SG_ESTORE)
            abort();
        if (rc == SG_OK && (!terminated(rf.roles, sizeof(rf.roles)) ||
                             (rf.grace && strlen(rf.wrap) != SG_WRAP_HEX)))
            abort();
        break;
    }
    case 6: {
        struct sg_limit_check ch[SG_LIMIT_CHECKS_MAX] = {
            {.key = "k0", .limit = 5, .window_ms = 60000},
            {.key = "k1",
             .limit = 5,
             .window_ms = 60000,
             .mode = SG_LIMIT_PEEK},
            {.key = "k2", .limit = 5, .window_ms = 60000, .mode = SG_LIMIT_ADD},
            {.key = "k3", .limit = 1, .window_ms = 1},
        };
        rc = sg_store_limits(store, 1, ch, 1 + (op / 16) % 4);
        if (rc != SG_OK && rc != SG_ESTORE)
            abort();
        break;
    }
    case 7:
    case 8:
    case 9:
    case 10:
    case 11:
    case 12:
        run_auth((enum sg_auth_op)(op % 16 - 7), (uint8_t)(op / 16));
        break;
    case 13: {
        struct sg_signin si = {
            .email = "a@example.org",
            .addr = "192.0.2.0",
            .now = 1,
            .ip = {.key = "ip", .limit = 5, .window_ms = 60000},
            .account = {.key = op & 16 ? "acct" : NULL,
                        .limit = 5,
                        .window_ms = 60000,
                        .mode = SG_LIMIT_PEEK}};
        rc = sg_store_signin(store, &si);
        if ((rc != SG_OK && rc != SG_ESTORE) || (si.known && !si.found))
            abort();
        if (rc == SG_OK && si.found)
            check_user(&si.user);
        break;
    }
    case 14:
        memcpy(u.id, uid, sizeof(uid));
        strcpy(u.email, "a@example.org");
        rc = sg_store_user_set(store, uid, "roles", "admin");
        if (rc != SG_OK && rc != SG_ESTORE)
            abort();
        rc = sg_store_user_delete(store, &u);
        if (rc != SG_OK && rc != SG_ESTORE)
            abort();
        break;
    case 15: {
        const char *detail = NULL;
        rc = sg_store_probe(store, &detail);
        if ((rc != SG_OK && rc != SG_ESTORE) || !detail)
            abort();
        break;
    }
    }
}

/* Connect the store to a peer that has already said p[0..n) and hung up
 * its sending side, run one operation, and disconnect. */
static void fake_redis(uint8_t op, const uint8_t *p, size_t n)
{
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        abort();
    for (size_t off = 0; off < n;) {
        ssize_t w = write(sv[1], p + off, n - off);
        if (w <= 0)
            abort(); /* inputs are far smaller than a socket buffer */
        off += (size_t)w;
    }
    shutdown(sv[1], SHUT_WR);
    store->retry_at_ms = 0, store->backoff_ms = 0;
    if (!(store->c = redisConnectFd(sv[0])) || store->c->err)
        abort();
    run_op(op);
    sg_store_disconnect(store);
    close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536 || declares_huge_array(data + 1, size - 1))
        return 0;
    read_replies(data + 1, size - 1);
    fake_redis(data[0], data + 1, size - 1);
    return 0;
}
