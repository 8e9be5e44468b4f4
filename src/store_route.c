/* store_route.c -- commands to the master of their key's slot, in a
 * Redis Cluster (redis_cluster; docs/CLUSTER.md).
 *
 * A worker keeps the cluster's slot map (store_cluster.c) and one
 * connection per master, opened on first use. The store's own connection
 * fields (c, ssl, the backoff, scripts_only, addr) always hold one
 * master's link: sending to another master swaps its link in, so that
 * connect, backoff, TLS and the script fallbacks of store.c work per node
 * unchanged. The map is read again after -MOVED and after a transport
 * failure (a failover moves a dead master's slots to its replica).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "slot.h"
#include "store_cluster.h"
#include "store_impl.h"

#define NO_NODE ((size_t)-1)
#define MAP_REREAD_MIN_MS 100 /* at most ten map reads a second */
#define MAP_RETRY_MS 250      /* with no map at all: as the backoff's cap */
#define REDIRECTS_MAX 3

struct sg_link {
    redisContext *c;
    SSL *ssl;
    int64_t retry_at_ms, backoff_ms;
    bool scripts_only;
};

struct sg_cluster {
    struct sg_addr seeds[SG_CLUSTER_SEEDS_MAX];
    size_t nseeds;
    struct sg_cluster_map map;
    bool have_map, stale;
    int64_t read_ms;
    struct sg_link links[SG_CLUSTER_NODES_MAX]; /* parallel to map.nodes */
    size_t node; /* whose link the store holds now, or NO_NODE */
    char tags[SG_CLUSTER_NODES_MAX][8]; /* probe tags, "" until found */
};

int sg_cluster_init(struct sg_store *s, char *err, size_t errlen)
{
    struct sg_cluster *cl = calloc(1, sizeof(*cl));

    if (!cl) {
        snprintf(err, errlen, "out of memory");
        return SG_ENOMEM;
    }
    if (sg_addr_parse_list(s->cfg->redis_cluster, cl->seeds,
                           SG_CLUSTER_SEEDS_MAX, &cl->nseeds)) {
        free(cl);
        snprintf(err, errlen, "redis_cluster: not a list of addresses");
        return SG_EINVAL;
    }
    cl->node = NO_NODE;
    s->cluster = cl;
    snprintf(s->label, sizeof(s->label), "cluster");
    return SG_OK;
}

static void close_link(struct sg_link *l)
{
    if (l->ssl)
        sg_tls_close(l->ssl);
    if (l->c)
        redisFree(l->c);
    memset(l, 0, sizeof(*l));
}

/* The store's connection fields into the link of the node they belong
 * to, and back. */
static void save(struct sg_store *s)
{
    struct sg_cluster *cl = s->cluster;
    struct sg_link *l;

    if (cl->node == NO_NODE)
        return;
    l = &cl->links[cl->node];
    l->c = s->c, l->ssl = s->ssl;
    l->retry_at_ms = s->retry_at_ms, l->backoff_ms = s->backoff_ms;
    l->scripts_only = s->scripts_only;
}

static void load(struct sg_store *s, size_t i)
{
    struct sg_cluster *cl = s->cluster;
    const struct sg_link *l = &cl->links[i];
    const struct sg_addr *a = &cl->map.nodes[i];

    s->c = l->c, s->ssl = l->ssl;
    s->retry_at_ms = l->retry_at_ms, s->backoff_ms = l->backoff_ms;
    s->scripts_only = l->scripts_only;
    s->addr = *a;
    snprintf(s->label, sizeof(s->label), "node %.60s:%d", a->host, a->port);
    cl->node = i;
}

static void select_node(struct sg_store *s, size_t i)
{
    if (s->cluster->node == i)
        return;
    save(s);
    load(s, i);
}

void sg_cluster_free(struct sg_store *s)
{
    struct sg_cluster *cl = s->cluster;

    if (!cl)
        return;
    save(s);
    s->c = NULL, s->ssl = NULL;
    for (size_t i = 0; i < SG_CLUSTER_NODES_MAX; i++)
        close_link(&cl->links[i]);
    free(cl);
    s->cluster = NULL;
}

void sg_cluster_stale(struct sg_store *s)
{
    if (s->cluster)
        s->cluster->stale = true;
}

/* Ask the node whose link the store holds for the map: CLUSTER SHARDS,
 * or CLUSTER SLOTS from a server older than 7.0. */
static int ask_map(struct sg_store *s, struct sg_cluster_map *m, char *why,
                   size_t cap)
{
    redisReply *r = sg_store_command(s, "CLUSTER SHARDS");
    int rc;

    if (r && r->type == REDIS_REPLY_ERROR) {
        freeReplyObject(r);
        r = sg_store_command(s, "CLUSTER SLOTS");
        if (!r) {
            snprintf(why, cap, "%s", s->c->errstr);
            return SG_ESTORE;
        }
        rc = r->type == REDIS_REPLY_ERROR
                 ? (snprintf(why, cap, "%s", r->str), SG_ESTORE)
                 : sg_cluster_map_from_slots(m, r, &s->addr, why, cap);
    } else if (!r) {
        snprintf(why, cap, "%s", s->c->errstr);
        return SG_ESTORE;
    } else {
        rc = sg_cluster_map_from_shards(m, r, &s->addr, s->tls != NULL, why,
                                        cap);
    }
    freeReplyObject(r);
    return rc;
}

/* The new map in place of the old one: each link follows its node to
 * its new index; links to nodes no longer masters are closed. */
static void adopt(struct sg_cluster *cl, const struct sg_cluster_map *m)
{
    struct sg_link old[SG_CLUSTER_NODES_MAX];

    memcpy(old, cl->links, sizeof(old));
    memset(cl->links, 0, sizeof(cl->links));
    for (size_t j = 0; j < m->n; j++)
        for (size_t i = 0; i < cl->map.n; i++)
            if (old[i].c && m->nodes[j].port == cl->map.nodes[i].port &&
                strcmp(m->nodes[j].host, cl->map.nodes[i].host) == 0) {
                cl->links[j] = old[i];
                memset(&old[i], 0, sizeof(old[i]));
                break;
            }
    for (size_t i = 0; i < SG_CLUSTER_NODES_MAX; i++)
        close_link(&old[i]);
    cl->map = *m;
    memset(cl->tags, 0, sizeof(cl->tags));
}

/* Read the map: from the node the store holds if it is connected, else
 * from the seeds in turn, else from the masters of the last map. */
static int read_map(struct sg_store *s)
{
    struct sg_cluster *cl = s->cluster;
    struct sg_cluster_map *m = malloc(sizeof(*m));
    char why[256] = "no seed answered";
    int rc = SG_ESTORE;

    if (!m)
        return SG_ENOMEM;
    cl->read_ms = sg_monotonic_ms();
    if (s->c)
        rc = ask_map(s, m, why, sizeof(why));
    if (rc != SG_OK) {
        size_t n = cl->nseeds + (cl->have_map ? cl->map.n : 0);
        save(s);
        s->c = NULL, s->ssl = NULL, cl->node = NO_NODE;
        for (size_t i = 0; i < n && rc != SG_OK; i++) {
            s->addr = i < cl->nseeds ? cl->seeds[i]
                                     : cl->map.nodes[i - cl->nseeds];
            if (sg_store_open(s, &s->addr, why, sizeof(why)))
                rc = ask_map(s, m, why, sizeof(why));
            sg_store_disconnect(s); /* a link of its own: closed */
        }
    }
    if (rc == SG_OK) {
        save(s);
        s->c = NULL, s->ssl = NULL, cl->node = NO_NODE;
        adopt(cl, m);
        cl->have_map = true;
        cl->stale = false;
        if (sg_cluster_map_uncovered(m))
            sg_log_warn("redis cluster: %zu slots have no master",
                        sg_cluster_map_uncovered(m));
    } else {
        sg_log_warn("redis cluster: cannot read the slot map: %s", why);
    }
    free(m);
    return rc;
}

static int fresh_map(struct sg_store *s)
{
    struct sg_cluster *cl = s->cluster;

    /* no map yet and the last try failed: no new one before the pause,
     * so that a cluster that is down costs each request nothing */
    if (!cl->have_map && cl->read_ms &&
        sg_monotonic_ms() - cl->read_ms < MAP_RETRY_MS)
        return SG_ESTORE;
    if (cl->have_map &&
        (!cl->stale || sg_monotonic_ms() - cl->read_ms < MAP_REREAD_MIN_MS))
        return SG_OK;
    if (read_map(s) != SG_OK && !cl->have_map)
        return SG_ESTORE;
    return SG_OK; /* a stale map beats none: MOVED corrects it */
}

static int select_slot(struct sg_store *s, unsigned slot)
{
    struct sg_cluster *cl = s->cluster;
    unsigned short n;

    if (fresh_map(s) != SG_OK)
        return SG_ESTORE;
    n = cl->map.slot_node[slot];
    if (n == SG_CLUSTER_NO_NODE) {
        sg_log_warn("redis cluster: slot %u has no master", slot);
        cl->stale = true;
        return SG_ESTORE;
    }
    select_node(s, n);
    return SG_OK;
}

/* Commands that name no key: any master answers them. */
static bool keyless(const char *cmd)
{
    static const char *const words[] = {"PING", "ECHO", "FUNCTION", "SCRIPT",
                                        "INFO", "CLUSTER", "ROLE", "TIME"};

    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcasecmp(cmd, words[i]) == 0)
            return true;
    return false;
}

bool sg_cluster_route_key(int argc, const char **argv, const size_t *lens,
                          const char **key, size_t *len)
{
    int k = 1;

    if (argc < 1)
        return false;
    if (strcasecmp(argv[0], "FCALL") == 0 ||
        strcasecmp(argv[0], "EVALSHA") == 0 ||
        strcasecmp(argv[0], "EVAL") == 0) {
        if (argc < 4 || atoi(argv[2]) < 1)
            return false;
        k = 3;
    } else if (argc < 2 || keyless(argv[0])) {
        return false;
    }
    *key = argv[k];
    *len = lens ? lens[k] : strlen(argv[k]);
    return true;
}

int sg_cluster_route(struct sg_store *s, int argc, const char **argv,
                     const size_t *lens)
{
    const char *key;
    size_t len;

    if (sg_cluster_route_key(argc, argv, lens, &key, &len))
        return select_slot(s, sg_slot(key, len));
    if (s->cluster->node != NO_NODE) /* no key: the master held will do */
        return SG_OK;
    if (fresh_map(s) != SG_OK || s->cluster->map.n == 0)
        return SG_ESTORE;
    load(s, 0);
    return SG_OK;
}

/* The map's index of the master at a, or NO_NODE. */
static size_t node_at(const struct sg_cluster *cl, const struct sg_addr *a)
{
    for (size_t i = 0; i < cl->map.n; i++)
        if (cl->map.nodes[i].port == a->port &&
            strcmp(cl->map.nodes[i].host, a->host) == 0)
            return i;
    return NO_NODE;
}

/* ASKING and the command in s->cmd, pipelined to the node holding the link
 * now; the command's reply. */
static redisReply *send_asking(struct sg_store *s)
{
    void *ok = NULL, *reply = NULL;

    if (redisAppendCommand(s->c, "ASKING") != REDIS_OK ||
        redisAppendFormattedCommand(s->c, s->cmd.data, s->cmd.len) !=
            REDIS_OK ||
        sg_store_read_reply(s, &ok) != REDIS_OK)
        return NULL;
    freeReplyObject(ok);
    if (sg_store_read_reply(s, &reply) != REDIS_OK)
        return NULL;
    return reply;
}

/* -TRYAGAIN: a command of several keys met a slot in migration with some
 * of its keys moved and some not (sessiongate's scripts always name keys
 * that do not exist, a revoked jti's, so every call meets it while its
 * slot moves). Nothing ran: the command is sent again after a pause that
 * doubles, until redis_timeout has passed. */
#define TRYAGAIN_FIRST_MS 2
#define TRYAGAIN_MAX_MS 64

static bool is_tryagain(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && strncmp(r->str, "TRYAGAIN", 8) == 0;
}

static void pause_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

redisReply *sg_cluster_redirect(struct sg_store *s, redisReply *r, bool *lost)
{
    struct sg_cluster *cl = s->cluster;
    int64_t deadline = sg_monotonic_ms() + s->cfg->redis_timeout_ms;
    int64_t wait = TRYAGAIN_FIRST_MS;
    bool asking = false; /* the node holding the link wants ASKING first */
    int redirects = 0;

    *lost = false;
    while (r && r->type == REDIS_REPLY_ERROR) {
        struct sg_addr to;
        unsigned slot;
        bool ask;
        size_t i;

        if (is_tryagain(r)) {
            if (sg_monotonic_ms() + wait > deadline)
                break; /* answered as Redis unavailable (not_serving) */
            freeReplyObject(r);
            pause_ms(wait);
            wait = wait * 2 > TRYAGAIN_MAX_MS ? TRYAGAIN_MAX_MS : wait * 2;
        } else {
            if (!sg_cluster_parse_redirect(r->str, &ask, &slot, &to) ||
                ++redirects > REDIRECTS_MAX)
                break; /* an answer, not a redirection */
            if (!to.host[0])
                memcpy(to.host, s->addr.host, sizeof(to.host));
            sg_log_debug("redis cluster: %s", r->str);
            freeReplyObject(r);
            if (!ask) { /* the slot has moved: read the map again */
                cl->stale = true;
                cl->read_ms = 0;
                if (fresh_map(s) != SG_OK)
                    return NULL;
            }
            i = node_at(cl, &to);
            if (i == NO_NODE) {
                sg_log_warn("redis cluster: %s:%d, named for slot %u, is "
                            "not a master in the map",
                            to.host, to.port, slot);
                cl->stale = true;
                return NULL;
            }
            select_node(s, i);
            if (sg_store_connect(s) != SG_OK)
                return NULL;
            asking = ask;
        }
        r = asking ? send_asking(s) : sg_store_send(s);
        if (!r) {
            *lost = true; /* the transport failed: the caller fails it */
            return NULL;
        }
    }
    return r;
}

/* A string whose slot the node serves (the first of its slots), for a
 * probe key that must land on it: found by trying "0", "1", ... (about
 * 16384 CRC16s of short strings), once per map. */
static const char *node_tag(struct sg_cluster *cl, size_t i)
{
    unsigned first = SG_SLOTS;

    if (cl->tags[i][0])
        return cl->tags[i];
    for (unsigned k = 0; k < SG_SLOTS && first == SG_SLOTS; k++)
        if (cl->map.slot_node[k] == i)
            first = k;
    for (unsigned long t = 0; first < SG_SLOTS && t < 10000000UL; t++) {
        char buf[8];
        int len = snprintf(buf, sizeof(buf), "%lu", t);
        if (sg_slot(buf, (size_t)len) == first) {
            memcpy(cl->tags[i], buf, (size_t)len + 1);
            break;
        }
    }
    return cl->tags[i];
}

int sg_cluster_each_node(struct sg_store *s, size_t *count)
{
    if (fresh_map(s) != SG_OK)
        return SG_ESTORE;
    *count = s->cluster->map.n;
    return SG_OK;
}

const char *sg_cluster_select(struct sg_store *s, size_t i)
{
    select_node(s, i);
    return node_tag(s->cluster, i);
}

size_t sg_cluster_uncovered(const struct sg_store *s)
{
    return s->cluster->have_map ? sg_cluster_map_uncovered(&s->cluster->map)
                                : SG_SLOTS;
}
