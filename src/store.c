/* store.c -- the Redis connection: connect, authenticate, back off.
 *
 * hiredis 0.14 has no reconnect of its own. A worker keeps its
 * redisContext until a call fails at the transport level (refused, reset,
 * timed out); then the context is freed and no new attempt is made until
 * the backoff window passes. Error replies from Redis are not transport
 * failures: they are returned to the caller, who knows what they mean.
 *
 * Connect and command timeouts come from the config, so a dead Redis
 * costs a request at most one timeout, and inside a backoff window
 * nothing at all. With redis_tls the same context carries a TLS session
 * (store_tls.c): every reply is read through get_reply.
 */
#include <errno.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "addr.h"
#include "clock.h"
#include "crypto.h"
#include "keys.h"
#include "log.h"
#include "lua/scripts.h"
#include "metrics.h"
#include "store_impl.h"

/* The scripts, their SHA1s and their names in the function library, all
 * from the build (src/lua/embed.sh): no digest is computed at start-up,
 * which matters to CGI. */
#define SCRIPT(id, name, NAME)                                                 \
    [id] = {sg_lua_##name, SG_LUA_##NAME##_SHA, SG_LUA_##NAME##_FN}
static const struct {
    const char *src, *sha, *fn;
} scripts[SG_SCRIPT_COUNT] = {
    SCRIPT(SG_SCRIPT_VERIFY, verify, VERIFY),
    SCRIPT(SG_SCRIPT_ME, me, ME),
    SCRIPT(SG_SCRIPT_SIGNOUT, signout, SIGNOUT),
    SCRIPT(SG_SCRIPT_SESSIONS_LIST, sessions_list, SESSIONS_LIST),
    SCRIPT(SG_SCRIPT_SESSION_END, session_end, SESSION_END),
    SCRIPT(SG_SCRIPT_SESSIONS_END, sessions_end, SESSIONS_END),
    SCRIPT(SG_SCRIPT_REGISTER, register, REGISTER),
    SCRIPT(SG_SCRIPT_SESSION_CREATE, session_create, SESSION_CREATE),
    SCRIPT(SG_SCRIPT_REFRESH, refresh, REFRESH),
    SCRIPT(SG_SCRIPT_RATELIMIT, ratelimit, RATELIMIT),
    SCRIPT(SG_SCRIPT_SIGNIN, signin, SIGNIN),
    SCRIPT(SG_SCRIPT_TOUCH, touch, TOUCH),
};

const char *sg_store_script_source(int id)
{
    return id >= 0 && id < SG_SCRIPT_COUNT ? scripts[id].src : NULL;
}

const char *sg_store_script_sha(int id)
{
    return id >= 0 && id < SG_SCRIPT_COUNT ? scripts[id].sha : NULL;
}

const char *sg_store_script_fn(int id)
{
    return id >= 0 && id < SG_SCRIPT_COUNT ? scripts[id].fn : NULL;
}

/* The Redis 7 function library: every script registered as a function of
 * (KEYS, ARGV), its text unchanged. Built when it is loaded, which is
 * once per Redis data set, not kept. NULL when out of memory. */
char *sg_store_library(size_t *len)
{
    static const char head[] = "#!lua name=" SG_LUA_LIBRARY "\n";
    static const char reg[] = "redis.register_function('";
    static const char args[] = "', function(KEYS, ARGV)\n";
    static const char end[] = "end)\n";
    size_t n = sizeof(head) - 1, at;
    char *lib;

    for (int i = 0; i < SG_SCRIPT_COUNT; i++)
        n += sizeof(reg) - 1 + strlen(scripts[i].fn) + sizeof(args) - 1 +
             strlen(scripts[i].src) + sizeof(end) - 1;
    if (!(lib = malloc(n + 1)))
        return NULL;
    memcpy(lib, head, sizeof(head) - 1);
    at = sizeof(head) - 1;
#define PUT(str, l) (memcpy(lib + at, (str), (l)), at += (l))
    for (int i = 0; i < SG_SCRIPT_COUNT; i++) {
        PUT(reg, sizeof(reg) - 1);
        PUT(scripts[i].fn, strlen(scripts[i].fn));
        PUT(args, sizeof(args) - 1);
        PUT(scripts[i].src, strlen(scripts[i].src));
        PUT(end, sizeof(end) - 1);
    }
#undef PUT
    lib[at] = '\0';
    *len = at;
    return lib;
}

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 250 /* Redis back: serving again within this */

static struct timeval ms_to_timeval(int64_t ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

/* Where to connect: `redis`, or the sentinels to ask for the master
 * (their password with them); checked when the config loaded. */
static int set_addresses(struct sg_store *s, char *err, size_t errlen)
{
    const struct sg_config *cfg = s->cfg;

    if (!cfg->redis_sentinels) {
        snprintf(s->label, sizeof(s->label), "%s", cfg->redis);
        return sg_addr_parse(cfg->redis, &s->addr) ? SG_EINVAL : SG_OK;
    }
    snprintf(s->label, sizeof(s->label), "master %s",
             cfg->redis_master_name);
    if (!(s->sentinels = calloc(SG_SENTINELS_MAX, sizeof(*s->sentinels)))) {
        snprintf(err, errlen, "out of memory");
        return SG_ENOMEM;
    }
    if (sg_addr_parse_list(cfg->redis_sentinels, s->sentinels,
                           SG_SENTINELS_MAX, &s->nsentinels))
        return SG_EINVAL;
    if (cfg->redis_sentinel_password_file &&
        sg_config_read_file(cfg->redis_sentinel_password_file, 4096, true,
                            &s->sentinel_password,
                            &s->sentinel_password_len) != SG_OK) {
        snprintf(err, errlen, "redis_sentinel_password_file %s: cannot be read",
                 cfg->redis_sentinel_password_file);
        return SG_EIO;
    }
    return SG_OK;
}

struct sg_store *sg_store_new(const struct sg_config *cfg, char *err,
                              size_t errlen)
{
    struct sg_store *s = calloc(1, sizeof(*s));

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = cfg;
    if (sg_random_hex(s->nonce, sizeof(s->nonce), 8) != SG_OK) {
        snprintf(err, errlen, "no randomness for the store's nonce");
        free(s);
        return NULL;
    }
    if (sg_key_revocations(s->revocations, cfg->key_prefix) != SG_OK) {
        snprintf(err, errlen, "key_prefix too long");
        free(s);
        return NULL;
    }
    sg_i64_str(s->token_ttl_ms, (long long)cfg->access_token_ttl * 1000);
    s->exists_argv[0] = "SCRIPT", s->exists_argv[1] = "EXISTS";
    for (int i = 0; i < SG_SCRIPT_COUNT; i++)
        s->exists_argv[2 + i] = scripts[i].sha;
    if (cfg->redis_password_file &&
        sg_config_read_file(cfg->redis_password_file, 4096, true, &s->password,
                            &s->password_len) != SG_OK) {
        snprintf(err, errlen, "redis_password_file %s: cannot be read",
                 cfg->redis_password_file);
        free(s);
        return NULL;
    }
    if (cfg->redis_tls && !(s->tls = sg_tls_ctx_new(cfg, err, errlen))) {
        sg_store_free(s);
        return NULL;
    }
    if ((cfg->redis_cluster ? sg_cluster_init(s, err, errlen)
                            : set_addresses(s, err, errlen)) != SG_OK) {
        sg_store_free(s);
        return NULL;
    }
    return s;
}

void sg_store_member(struct sg_store *s, int64_t now, char out[SG_MEMBER_MAX])
{
    snprintf(out, SG_MEMBER_MAX, "%lld:%s:%llu", (long long)now, s->nonce,
             ++s->seq);
}

void sg_store_free(struct sg_store *s)
{
    if (!s)
        return;
    sg_cluster_free(s); /* every node's link */
    sg_store_disconnect(s);
    if (s->password) {
        sg_wipe(s->password, s->password_len);
        free(s->password);
    }
    if (s->sentinel_password) {
        sg_wipe(s->sentinel_password, s->sentinel_password_len);
        free(s->sentinel_password);
    }
    free(s->sentinels);
    sg_buf_free(&s->cmd); /* wipes */
    sg_tls_ctx_free(s->tls);
    free(s);
}

void sg_store_disconnect(struct sg_store *s)
{
    if (s->ssl) {
        sg_tls_close(s->ssl);
        s->ssl = NULL;
    }
    if (s->c) {
        redisFree(s->c);
        s->c = NULL;
    }
}

bool sg_store_connected(const struct sg_store *s)
{
    return s->c != NULL;
}

void sg_store_fail(struct sg_store *s, const char *what)
{
    sg_metrics_add(SG_C_REDIS_CONNECTION_ERROR, 1);
    sg_log_warn("redis %s: %s; retrying in %lld ms", s->label,
                what ? what : "failed",
                (long long)(s->backoff_ms ? s->backoff_ms : BACKOFF_MIN_MS));
    sg_store_disconnect(s);
    sg_cluster_stale(s); /* a failover may have moved the node's slots */
    s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (s->backoff_ms > BACKOFF_MAX_MS)
        s->backoff_ms = BACKOFF_MAX_MS;
    s->retry_at_ms = sg_monotonic_ms() + s->backoff_ms;
}

/* redisGetReply, through TLS when the connection has it. */
static int get_reply(struct sg_store *s, void **reply)
{
    return s->ssl ? sg_tls_get_reply(s->c, s->ssl, reply)
                  : redisGetReply(s->c, reply);
}

int sg_store_read_reply(struct sg_store *s, void **reply)
{
    return get_reply(s, reply);
}

/* One command from a format, as redisCommand but through get_reply. */
redisReply *sg_store_command(struct sg_store *s, const char *fmt, ...)
{
    void *reply = NULL;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = redisvAppendCommand(s->c, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK || get_reply(s, &reply) != REDIS_OK)
        return NULL;
    return reply;
}

/* s->c connected to a, with the timeouts, keepalive and TLS; false with
 * the reason in why (the caller drops what is half open). */
static bool open_link(struct sg_store *s, const struct sg_addr *a, char *why,
                      size_t cap)
{
    struct timeval tv = ms_to_timeval(s->cfg->redis_connect_timeout_ms);
    const char *name = s->cfg->redis_tls_server_name;

    s->c = a->is_unix ? redisConnectUnixWithTimeout(a->path, tv)
                      : redisConnectWithTimeout(a->host, a->port, tv);
    if (!s->c || s->c->err) {
        snprintf(why, cap, "%s", s->c ? s->c->errstr : "cannot connect");
        return false;
    }
    redisSetTimeout(s->c, ms_to_timeval(s->cfg->redis_timeout_ms));
    if (!a->is_unix)
        redisEnableKeepAlive(s->c);
    if (s->tls && !(s->ssl = sg_tls_connect(s->tls, s->c, name ? name : a->host))) {
        snprintf(why, cap, "%s", s->c->errstr);
        return false;
    }
    return true;
}

/* Run a command whose only good answer is a status: false with the
 * reason (Redis' error, or the transport's) in why. */
static bool status_ok(struct sg_store *s, redisReply *r, const char *what,
                      char *why, size_t cap)
{
    bool ok = r && r->type != REDIS_REPLY_ERROR;

    if (!ok)
        snprintf(why, cap, "%s: %s", what, r ? r->str : s->c->errstr);
    freeReplyObject(r);
    return ok;
}

/* AUTH and SELECT on a fresh connection. */
static bool handshake(struct sg_store *s, char *why, size_t cap);

bool sg_store_open(struct sg_store *s, const struct sg_addr *a, char *why,
                   size_t cap)
{
    return open_link(s, a, why, cap) && handshake(s, why, cap);
}

static bool handshake(struct sg_store *s, char *why, size_t cap)
{
    char db[16];

    if (s->password &&
        !status_ok(s, sg_store_command(s, "AUTH %b", s->password, s->password_len),
                   "authentication refused", why, cap))
        return false;
    if (s->cfg->redis_db) {
        snprintf(db, sizeof(db), "%d", s->cfg->redis_db);
        if (!status_ok(s, sg_store_command(s, "SELECT %s", db), "SELECT", why, cap))
            return false;
    }
    return true;
}

/* The master's address from SENTINEL get-master-addr-by-name. */
static bool master_from_reply(const redisReply *r, struct sg_addr *out,
                              char *why, size_t cap)
{
    long port;
    char *end;

    if (r->type == REDIS_REPLY_NIL) {
        snprintf(why, cap, "the sentinel knows no master of that name");
        return false;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[0]->len == 0 || r->element[0]->len > SG_ADDR_HOST_MAX) {
        snprintf(why, cap, "the sentinel's answer is not an address");
        return false;
    }
    port = strtol(r->element[1]->str, &end, 10);
    if (*end || port < 1 || port > 65535) {
        snprintf(why, cap, "the sentinel's answer is not an address");
        return false;
    }
    memset(out, 0, sizeof(*out));
    memcpy(out->host, r->element[0]->str, r->element[0]->len);
    out->port = (int)port;
    return true;
}

/* Ask the sentinels for the master, as redis.io's guidelines for
 * sentinel clients say: in turn, from the one that answered last, which
 * is asked first again next time. */
static bool discover(struct sg_store *s, char *why, size_t cap)
{
    char last[200] = "no sentinel answered";

    for (size_t i = 0; i < s->nsentinels; i++) {
        size_t k = (s->sentinel_first + i) % s->nsentinels;
        const struct sg_addr *a = &s->sentinels[k];
        redisReply *r = NULL;
        bool ok = open_link(s, a, last, sizeof(last)) &&
                  (!s->sentinel_password ||
                   status_ok(s,
                             sg_store_command(s, "AUTH %b", s->sentinel_password,
                                     s->sentinel_password_len),
                             "authentication refused", last, sizeof(last)));
        if (ok) {
            r = sg_store_command(s, "SENTINEL get-master-addr-by-name %s",
                        s->cfg->redis_master_name);
            if (!r)
                snprintf(last, sizeof(last), "%s", s->c->errstr);
            else if (r->type == REDIS_REPLY_ERROR)
                snprintf(last, sizeof(last), "%s", r->str);
            ok = r && r->type != REDIS_REPLY_ERROR &&
                 master_from_reply(r, &s->master, last, sizeof(last));
            freeReplyObject(r);
        }
        sg_store_disconnect(s);
        if (ok) {
            s->sentinel_first = k;
            return true;
        }
        sg_log_debug("redis %s: sentinel %s:%d: %s", s->label, a->host,
                     a->port, last);
    }
    snprintf(why, cap, "no sentinel gave its address (last: %s)", last);
    return false;
}

/* The node the sentinels named really is the master (ROLE): during a
 * failover the one they name may still be a replica. */
static bool is_master(struct sg_store *s, char *why, size_t cap)
{
    redisReply *r = sg_store_command(s, "ROLE");
    const char *role = !r ? s->c->errstr : "no role";
    bool ok;

    if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
        r->element[0]->type == REDIS_REPLY_STRING)
        role = r->element[0]->str;
    ok = r && strcmp(role, "master") == 0;
    if (!ok)
        snprintf(why, cap, "%.100s:%d is not the master (ROLE: %.60s)",
                 s->master.host, s->master.port, role);
    freeReplyObject(r);
    return ok;
}

int sg_store_connect(struct sg_store *s)
{
    char why[256];

    if (s->cluster && sg_cluster_route(s, 0, NULL, NULL) != SG_OK)
        return SG_ESTORE; /* a master's link to connect, any one */
    if (s->c)
        return SG_OK;
    if (s->retry_at_ms && sg_monotonic_ms() < s->retry_at_ms)
        return SG_ESTORE;
    if ((s->nsentinels && !discover(s, why, sizeof(why))) ||
        !open_link(s, s->nsentinels ? &s->master : &s->addr, why,
                   sizeof(why)) ||
        !handshake(s, why, sizeof(why)) ||
        (s->nsentinels && !is_master(s, why, sizeof(why)))) {
        sg_store_fail(s, why);
        return SG_ESTORE;
    }
    if (s->nsentinels && (s->master_port != s->master.port ||
                          strcmp(s->master_host, s->master.host) != 0)) {
        sg_log_info("redis %s: at %s:%d", s->label, s->master.host,
                    s->master.port);
        memcpy(s->master_host, s->master.host, sizeof(s->master_host));
        s->master_port = s->master.port;
    } else if (s->backoff_ms) {
        sg_log_info("redis %s: connected again", s->label);
    }
    if (s->backoff_ms)
        sg_metrics_add(SG_C_REDIS_RECONNECT, 1);
    s->backoff_ms = 0;
    s->retry_at_ms = 0;
    s->checked_ms = sg_monotonic_ms();
    s->scripts_only = false; /* perhaps another server now: try FCALL */
    s->connects++;
    return SG_OK;
}

/* False when the connection is known dead before anything is sent on it:
 * the server closed it while it sat idle (a Redis restart, its `timeout`),
 * or sent something no command asked for. A command that fails once sent
 * is never sent again (it may have run: a refresh run twice would be
 * taken for reuse, a registration for a conflict), so the only retry is
 * this check, before the command goes out. One recv(2) that never blocks. */
static bool still_open(const struct sg_store *s)
{
    char b;
    ssize_t n = recv(s->c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

    /* over TLS, perhaps session tickets; with read-ahead, bytes may also
     * wait in OpenSSL's buffer while the socket is empty */
    if (s->ssl && (n > 0 || SSL_has_pending(s->ssl)))
        return sg_tls_idle_ok(s->ssl, s->c->fd);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

/* With sentinels, once every SENTINEL_CHECK_MS a worker that sends a
 * command asks them again who the master is. In a failover whose old
 * master stays up (SENTINEL FAILOVER, a healed partition), that node
 * keeps accepting writes until the sentinels make it a replica, seconds
 * later, and then drops them: nothing else would move a kept connection
 * off it. A lost check (no sentinel answers) keeps the connection. */
#define SENTINEL_CHECK_MS 1000

static bool master_moved(struct sg_store *s)
{
    redisContext *c = s->c;
    SSL *ssl = s->ssl;
    struct sg_addr was = s->master;
    char why[256];
    bool moved;

    s->c = NULL, s->ssl = NULL; /* discover works on a link of its own */
    moved = discover(s, why, sizeof(why)) &&
            (s->master.port != was.port || strcmp(s->master.host, was.host));
    s->c = c, s->ssl = ssl;
    if (moved)
        sg_log_info("redis %s: the sentinels now name %s:%d", s->label,
                    s->master.host, s->master.port);
    else
        s->master = was;
    return moved;
}

/* A connection to send on: the one kept if still open (and, with
 * sentinels, still to the master they name), else a new one (no backoff
 * for a stale one: Redis may well be back already). */
static int connect_live(struct sg_store *s)
{
    if (s->c && !still_open(s))
        sg_store_disconnect(s);
    if (s->c && s->nsentinels) {
        int64_t now = sg_monotonic_ms();
        if (now - s->checked_ms >= SENTINEL_CHECK_MS) {
            s->checked_ms = now;
            if (master_moved(s))
                sg_store_disconnect(s);
        }
    }
    return sg_store_connect(s);
}

/* "PFX<n>\r\n", a RESP header, at p; returns the end. */
static char *put_header(char *p, char pfx, size_t n)
{
    *p++ = pfx;
    p += sg_i64_str(p, (long long)n);
    *p++ = '\r', *p++ = '\n';
    return p;
}

#define RESP_HEADER_MAX (1 + SG_I64_STR_MAX + 2)

/* The command as RESP into s->cmd, a buffer kept between requests, its
 * size reserved once. hiredis' redisFormatCommandArgv does the same with
 * one malloc and a snprintf per argument: measured with `make profile`
 * (GET /auth/verify, 2026-12), it cost 13.5k instructions of the
 * request's 52.6k; three appends per argument still cost 3.7k of 41.7k,
 * this about 1k. */
static int format_command(struct sg_store *s, int argc, const char **argv,
                          const size_t *lens)
{
    struct sg_buf *b = &s->cmd;
    size_t total = RESP_HEADER_MAX;
    char *p, *start;

    for (int i = 0; i < argc; i++) {
        size_t len = lens ? lens[i] : strlen(argv[i]);
        if (len > SIZE_MAX / 2 - total)
            return SG_ENOMEM;
        total += RESP_HEADER_MAX + len + 2;
    }
    sg_buf_reset(b);
    if (!(p = start = sg_buf_room(b, total)))
        return SG_ENOMEM;
    p = put_header(p, '*', (size_t)argc);
    for (int i = 0; i < argc; i++) {
        size_t len = lens ? lens[i] : strlen(argv[i]);
        p = put_header(p, '$', len);
        memcpy(p, argv[i], len);
        p += len;
        *p++ = '\r', *p++ = '\n';
    }
    sg_buf_added(b, (size_t)(p - start));
    return SG_OK;
}

/* An error reply that means "not serving writes here now": the node was
 * demoted to a replica by a failover (READONLY), is loading its data set
 * (LOADING), lost its master (MASTERDOWN), or has fewer replicas than its
 * min-replicas-to-write (NOREPLICAS). The command did not run. */
static bool not_serving(const redisReply *r)
{
    static const char *const codes[] = {"READONLY ",   "LOADING ",
                                        "MASTERDOWN ", "NOREPLICAS ",
                                        "TRYAGAIN ",   "CLUSTERDOWN "};

    if (r->type != REDIS_REPLY_ERROR)
        return false;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strncmp(r->str, codes[i], strlen(codes[i])) == 0)
            return true;
    return false;
}

redisReply *sg_store_send(struct sg_store *s)
{
    void *reply = NULL;

    if (redisAppendFormattedCommand(s->c, s->cmd.data, s->cmd.len) !=
            REDIS_OK ||
        get_reply(s, &reply) != REDIS_OK)
        return NULL;
    return reply;
}

redisReply *sg_store_argv(struct sg_store *s, int argc, const char **argv,
                          const size_t *lens)
{
    redisReply *r;

    if (format_command(s, argc, argv, lens) != SG_OK) {
        sg_buf_wipe(&s->cmd);
        sg_log_error("redis: out of memory formatting a command");
        return NULL;
    }
    if ((s->cluster && sg_cluster_route(s, argc, argv, lens) != SG_OK) ||
        connect_live(s) != SG_OK) {
        sg_buf_wipe(&s->cmd);
        return NULL;
    }
    r = sg_store_send(s);
    if (r && s->cluster && r->type == REDIS_REPLY_ERROR) {
        bool lost; /* MOVED or ASK: to the node that has the slot now */
        r = sg_cluster_redirect(s, r, &lost);
        if (!r && !lost) {
            sg_buf_wipe(&s->cmd);
            return NULL;
        }
    }
    if (!r) {
        sg_store_fail(s, s->c->errstr);
    } else if (not_serving(r)) {
        /* a replica now, or loading: the command did not run; find the
         * master again (sentinels) or wait for it, as for a lost link */
        sg_store_fail(s, r->str);
        freeReplyObject(r);
        r = NULL;
    }
    sg_buf_wipe(&s->cmd); /* may hold a password hash (register, passwd) */
    return r;
}

/* SCRIPT LOAD of every script in one pipelined round trip (the script
 * cache is server-wide, so this is needed once per Redis start). */
static int load_scripts(struct sg_store *s)
{
    int rc = SG_OK;

    for (int i = 0; i < SG_SCRIPT_COUNT; i++)
        redisAppendCommand(s->c, "SCRIPT LOAD %s", scripts[i].src);
    for (int i = 0; i < SG_SCRIPT_COUNT; i++) {
        void *reply = NULL;
        if (get_reply(s, &reply) != REDIS_OK) {
            sg_store_fail(s, s->c->errstr);
            return SG_ESTORE;
        }
        if (((redisReply *)reply)->type == REDIS_REPLY_ERROR) {
            sg_log_error("redis: SCRIPT LOAD: %s", ((redisReply *)reply)->str);
            rc = SG_ESTORE;
        }
        freeReplyObject(reply);
    }
    return rc;
}

/* An error reply that says this server runs no functions for us: Redis
 * 6 (or a renamed command), or an ACL that refuses them. Neither FCALL
 * nor FUNCTION LOAD ran anything; the scripts go by EVALSHA instead. */
static bool no_functions(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR &&
           (strncmp(r->str, "ERR unknown command", 19) == 0 ||
            (strncmp(r->str, "NOPERM", 6) == 0 &&
             (strstr(r->str, "'fcall'") || strstr(r->str, "'function|"))));
}

/* The reply of a call whose code is not on the server, so nothing ran:
 * NOSCRIPT, no such function, or no functions at all. */
static bool code_missing(const struct sg_store *s, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ERROR)
        return false;
    if (s->scripts_only)
        return strncmp(r->str, "NOSCRIPT", 8) == 0;
    return strcmp(r->str, "ERR Function not found") == 0 || no_functions(r);
}

/* Put the library on the server (FUNCTION LOAD; another worker may have
 * done it first), or the scripts where it has no functions for us. */
static int load_code(struct sg_store *s)
{
    redisReply *r;
    char *lib;
    size_t len;
    int rc = SG_OK;

    if (sg_store_connect(s) != SG_OK)
        return SG_ESTORE;
    if (s->scripts_only)
        return load_scripts(s);
    if (!(lib = sg_store_library(&len)))
        return SG_ENOMEM;
    r = sg_store_command(s, "FUNCTION LOAD %b", lib, len);
    free(lib);
    if (!r) {
        sg_store_fail(s, s->c->errstr);
        return SG_ESTORE;
    }
    if (no_functions(r)) {
        sg_log_info("redis %s: no functions here (%s): scripts by EVALSHA",
                    s->label, r->str);
        s->scripts_only = true;
        rc = load_scripts(s);
    } else if (r->type == REDIS_REPLY_ERROR &&
               !(strncmp(r->str, "ERR Library '", 13) == 0 &&
                 strstr(r->str, "' already exists"))) {
        sg_log_error("redis %s: FUNCTION LOAD: %s", s->label, r->str);
        rc = SG_ESTORE;
    }
    freeReplyObject(r);
    return rc;
}

/* The call's first two words: FCALL and the function's name, or EVALSHA
 * and the script's SHA1. */
static void call_head(const struct sg_store *s, enum sg_script_id id,
                      const char **v, size_t *l)
{
    if (s->scripts_only) {
        v[0] = "EVALSHA", l[0] = 7;
        v[1] = scripts[id].sha, l[1] = 40;
    } else {
        v[0] = "FCALL", l[0] = 5;
        v[1] = scripts[id].fn, l[1] = strlen(scripts[id].fn);
    }
}

redisReply *sg_store_eval(struct sg_store *s, enum sg_script_id id, int nkeys,
                          int argc, const char **argv, const size_t *lens)
{
    const char *v[3 + SG_SCRIPT_ARGS_MAX];
    size_t l[3 + SG_SCRIPT_ARGS_MAX];
    char nk[SG_I64_STR_MAX];
    redisReply *r;

    if (argc > SG_SCRIPT_ARGS_MAX) { /* a caller's bug: say so */
        sg_log_error("redis: script %d called with %d arguments (max %d)",
                     (int)id, argc, SG_SCRIPT_ARGS_MAX);
        return NULL;
    }
    sg_i64_str(nk, nkeys);
    call_head(s, id, v, l);
    v[2] = nk, l[2] = strlen(nk);
    for (int i = 0; i < argc; i++) {
        v[3 + i] = argv[i];
        l[3 + i] = lens ? lens[i] : strlen(argv[i]);
    }
    r = sg_store_argv(s, 3 + argc, v, l);
    if (r && code_missing(s, r)) {
        /* Redis restarted without its data, or was flushed, or has no
         * functions: load the code now, so only this request pays, then
         * run this one again (it did not run: safe to send twice) */
        freeReplyObject(r);
        r = NULL;
        if (load_code(s) == SG_OK) {
            call_head(s, id, v, l);
            r = sg_store_argv(s, 3 + argc, v, l);
        }
    }
    if (r && r->type == REDIS_REPLY_ERROR) {
        sg_log_error("redis script %d: %s", (int)id, r->str);
        sg_metrics_add(SG_C_REDIS_REPLY_ERROR, 1);
    }
    return r;
}

bool sg_store_reply_copy(const redisReply *r, char *out, size_t cap)
{
    if (!r || r->type != REDIS_REPLY_STRING || r->len >= cap)
        return false;
    memcpy(out, r->str, r->len);
    out[r->len] = '\0';
    return true;
}

bool sg_store_reply_int(const redisReply *r, long long *out)
{
    char *end;

    if (!r)
        return false;
    if (r->type == REDIS_REPLY_INTEGER) {
        *out = r->integer;
        return true;
    }
    if (r->type != REDIS_REPLY_STRING || r->len == 0 || r->len > 20)
        return false;
    errno = 0;
    *out = strtoll(r->str, &end, 10);
    return errno == 0 && end == r->str + r->len;
}

/* Send the probe pipeline and read its four replies. false on a
 * transport failure (the connection is left for the caller to judge). */
static bool send_probe(struct sg_store *s, const char *key, const char *token,
                       redisReply **r)
{
    redisAppendCommand(s->c, "PING");
    redisAppendCommand(s->c, "SET %s %s PX 10000", key, token);
    redisAppendCommand(s->c, "GET %s", key);
    redisAppendCommand(s->c, "DEL %s", key);
    /* the probe also makes sure the library (or the scripts) is loaded,
     * so that a server that answered /ready serves every authenticated
     * request in one round trip, the first one too */
    if (s->scripts_only)
        redisAppendCommandArgv(s->c, SG_SCRIPT_COUNT + 2, s->exists_argv, NULL);
    else
        redisAppendCommand(s->c, "FUNCTION LIST LIBRARYNAME %s", SG_LUA_LIBRARY);
    for (int i = 0; i < 5; i++) {
        void *reply = NULL;
        if (get_reply(s, &reply) != REDIS_OK)
            return false;
        r[i] = reply;
    }
    return true;
}

/* The probe's last answer says the code is on the server. */
static bool code_loaded(const struct sg_store *s, const redisReply *r)
{
    if (!s->scripts_only) /* the library, or an error: load_code decides */
        return r->type == REDIS_REPLY_ARRAY && r->elements == 1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != SG_SCRIPT_COUNT)
        return false;
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type != REDIS_REPLY_INTEGER ||
            r->element[i]->integer != 1)
            return false;
    return true;
}

static bool probe_answers_ok(redisReply **r, const char *token,
                             const char **detail)
{
    for (int i = 0; i < 4; i++) {
        if (r[i]->type == REDIS_REPLY_ERROR) {
            *detail = "error reply";
            return false;
        }
    }
    if (!(r[2]->type == REDIS_REPLY_STRING && strcmp(r[2]->str, token) == 0 &&
          r[3]->type == REDIS_REPLY_INTEGER && r[3]->integer == 1)) {
        *detail = "probe key did not read back";
        return false;
    }
    return true;
}

/* The probe on the node the store holds; tag, in a cluster, puts its key
 * in one of that node's slots. */
static int probe_node(struct sg_store *s, const char *tag, const char **detail)
{
    redisReply *r[5] = {0};
    char key[SG_KEY_MAX], token[33];
    bool ok;

    *detail = "unavailable";
    if (connect_live(s) != SG_OK ||
        sg_random_hex(token, sizeof(token), 16) != SG_OK)
        return SG_ESTORE;
    if ((tag ? sg_key_ready_at(key, s->cfg->key_prefix, tag, token)
             : sg_key_ready(key, s->cfg->key_prefix, token)) != SG_OK)
        return SG_ESTORE;
    ok = send_probe(s, key, token, r);
    if (!ok) {
        *detail = "no answer";
        sg_store_fail(s, s->c->errstr);
    } else if (!probe_answers_ok(r, token, detail)) {
        ok = false;
    } else if (!code_loaded(s, r[4]) && load_code(s) != SG_OK) {
        *detail = "scripts cannot be loaded";
        ok = false;
    } else {
        *detail = "ok";
    }
    for (int i = 0; i < 5; i++)
        freeReplyObject(r[i]);
    return ok ? SG_OK : SG_ESTORE;
}

int sg_store_probe(struct sg_store *s, const char **detail)
{
    size_t n;

    if (!s->cluster)
        return probe_node(s, NULL, detail);
    /* a cluster is ready when every slot has a master and every master
     * answers the probe */
    *detail = "unavailable";
    if (sg_cluster_each_node(s, &n) != SG_OK)
        return SG_ESTORE;
    if (sg_cluster_uncovered(s)) {
        *detail = "slots without a master";
        return SG_ESTORE;
    }
    for (size_t i = 0; i < n; i++)
        if (probe_node(s, sg_cluster_select(s, i), detail) != SG_OK)
            return SG_ESTORE;
    return SG_OK;
}
