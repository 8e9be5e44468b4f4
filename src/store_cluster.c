/* store_cluster.c -- a Redis Cluster's slot map, from its own answers.
 *
 * The map says, for each of the 16384 slots, which master serves it. It
 * is read from CLUSTER SHARDS (Redis 7) or, from older servers, CLUSTER
 * SLOTS, and read again when a node answers -MOVED. A node that names
 * itself with an empty or "?" endpoint is the node asked (the seed). Only
 * masters are kept: sessiongate reads what it has just written, so it
 * never reads from a replica.
 */
#include <stdlib.h>
#include <string.h>

#include "store_cluster.h"

static void set_why(char *why, size_t cap, const char *what)
{
    snprintf(why, cap, "%s", what);
}

/* The node's index in m, added if new; -1 when m is full. */
static int node_index(struct sg_cluster_map *m, const char *host, size_t hlen,
                      long long port, const struct sg_addr *seed)
{
    struct sg_addr a = {0};

    if (hlen == 0 || (hlen == 1 && host[0] == '?')) {
        a = *seed;
        a.port = (int)port;
    } else {
        memcpy(a.host, host, hlen);
        a.port = (int)port;
    }
    for (size_t i = 0; i < m->n; i++)
        if (m->nodes[i].port == a.port && strcmp(m->nodes[i].host, a.host) == 0)
            return (int)i;
    if (m->n == SG_CLUSTER_NODES_MAX)
        return -1;
    m->nodes[m->n] = a;
    return (int)m->n++;
}

static bool is_str(const redisReply *r)
{
    return r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS;
}

static bool host_ok(const redisReply *r)
{
    return is_str(r) && r->len <= SG_ADDR_HOST_MAX &&
           memchr(r->str, '\0', r->len) == NULL;
}

static bool port_ok(long long port)
{
    return port >= 1 && port <= 65535;
}

static bool range_ok(long long lo, long long hi)
{
    return lo >= 0 && lo <= hi && hi < SG_SLOTS;
}

static void clear(struct sg_cluster_map *m)
{
    m->n = 0;
    for (size_t i = 0; i < SG_SLOTS; i++)
        m->slot_node[i] = SG_CLUSTER_NO_NODE;
}

static void assign(struct sg_cluster_map *m, long long lo, long long hi,
                   int node)
{
    for (long long s = lo; s <= hi; s++)
        m->slot_node[s] = (unsigned short)node;
}

int sg_cluster_map_from_slots(struct sg_cluster_map *m, const redisReply *r,
                              const struct sg_addr *seed, char *why, size_t cap)
{
    clear(m);
    if (r->type != REDIS_REPLY_ARRAY) {
        set_why(why, cap, "CLUSTER SLOTS: not an array");
        return SG_ESTORE;
    }
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i], *master;
        int node;

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
            e->element[0]->type != REDIS_REPLY_INTEGER ||
            e->element[1]->type != REDIS_REPLY_INTEGER ||
            !range_ok(e->element[0]->integer, e->element[1]->integer)) {
            set_why(why, cap, "CLUSTER SLOTS: a malformed range");
            return SG_ESTORE;
        }
        master = e->element[2];
        if (master->type != REDIS_REPLY_ARRAY || master->elements < 2 ||
            !host_ok(master->element[0]) ||
            master->element[1]->type != REDIS_REPLY_INTEGER ||
            !port_ok(master->element[1]->integer)) {
            set_why(why, cap, "CLUSTER SLOTS: a malformed node");
            return SG_ESTORE;
        }
        node = node_index(m, master->element[0]->str, master->element[0]->len,
                          master->element[1]->integer, seed);
        if (node < 0) {
            set_why(why, cap, "CLUSTER SLOTS: too many masters");
            return SG_ESTORE;
        }
        assign(m, e->element[0]->integer, e->element[1]->integer, node);
    }
    return SG_OK;
}

/* The value of key in a RESP2 map (a flat array key, value, ...). */
static const redisReply *map_get(const redisReply *map, const char *key)
{
    if (map->type != REDIS_REPLY_ARRAY || map->elements % 2)
        return NULL;
    for (size_t i = 0; i + 1 < map->elements; i += 2)
        if (is_str(map->element[i]) && strcmp(map->element[i]->str, key) == 0)
            return map->element[i + 1];
    return NULL;
}

static bool map_str_is(const redisReply *map, const char *key, const char *v)
{
    const redisReply *r = map_get(map, key);
    return r && is_str(r) && strcmp(r->str, v) == 0;
}

/* The shard's master that is online: its index in m, -1 if none, -2 if
 * m is full or the node is malformed, -3 if it has no port for the
 * transport asked (tls: "tls-port", else "port"). */
static int shard_master(struct sg_cluster_map *m, const redisReply *nodes,
                        const struct sg_addr *seed, bool tls)
{
    for (size_t j = 0; nodes && j < nodes->elements; j++) {
        const redisReply *n = nodes->element[j], *host, *port;
        if (!map_str_is(n, "role", "master") ||
            !map_str_is(n, "health", "online"))
            continue;
        host = map_get(n, "endpoint");
        if (!host)
            host = map_get(n, "ip");
        port = map_get(n, tls ? "tls-port" : "port");
        if (!port && map_get(n, tls ? "port" : "tls-port"))
            return -3;
        if (!host || !host_ok(host) || !port ||
            port->type != REDIS_REPLY_INTEGER || !port_ok(port->integer))
            return -2;
        int idx = node_index(m, host->str, host->len, port->integer, seed);
        return idx < 0 ? -2 : idx;
    }
    return -1;
}

int sg_cluster_map_from_shards(struct sg_cluster_map *m, const redisReply *r,
                               const struct sg_addr *seed, bool tls, char *why,
                               size_t cap)
{
    clear(m);
    if (r->type != REDIS_REPLY_ARRAY) {
        set_why(why, cap, "CLUSTER SHARDS: not an array");
        return SG_ESTORE;
    }
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *slots = map_get(r->element[i], "slots");
        const redisReply *nodes = map_get(r->element[i], "nodes");
        int node;

        if (!slots || slots->type != REDIS_REPLY_ARRAY || slots->elements % 2 ||
            !nodes || nodes->type != REDIS_REPLY_ARRAY) {
            set_why(why, cap, "CLUSTER SHARDS: a malformed shard");
            return SG_ESTORE;
        }
        if (slots->elements == 0)
            continue; /* a shard that serves no slot (a new, empty node) */
        node = shard_master(m, nodes, seed, tls);
        if (node == -3) {
            set_why(why, cap,
                    tls ? "CLUSTER SHARDS: a master has no tls-port "
                          "(set tls-port and tls-cluster yes on every node)"
                        : "CLUSTER SHARDS: a master has only a tls-port "
                          "(set redis_tls = on)");
            return SG_ESTORE;
        }
        if (node == -2) {
            set_why(why, cap, "CLUSTER SHARDS: a malformed node");
            return SG_ESTORE;
        }
        for (size_t k = 0; k + 1 < slots->elements; k += 2) {
            const redisReply *lo = slots->element[k],
                             *hi = slots->element[k + 1];
            if (lo->type != REDIS_REPLY_INTEGER ||
                hi->type != REDIS_REPLY_INTEGER ||
                !range_ok(lo->integer, hi->integer)) {
                set_why(why, cap, "CLUSTER SHARDS: a malformed range");
                return SG_ESTORE;
            }
            if (node >= 0) /* else: no master online, the slots stay open */
                assign(m, lo->integer, hi->integer, node);
        }
    }
    return SG_OK;
}

size_t sg_cluster_map_uncovered(const struct sg_cluster_map *m)
{
    size_t n = 0;

    for (size_t i = 0; i < SG_SLOTS; i++)
        n += m->slot_node[i] == SG_CLUSTER_NO_NODE;
    return n;
}

bool sg_cluster_parse_redirect(const char *err, bool *ask, unsigned *slot,
                               struct sg_addr *to)
{
    const char *p, *colon;
    char *end;
    long n;
    size_t hlen;

    if (strncmp(err, "MOVED ", 6) == 0)
        *ask = false, p = err + 6;
    else if (strncmp(err, "ASK ", 4) == 0)
        *ask = true, p = err + 4;
    else
        return false;
    n = strtol(p, &end, 10);
    if (end == p || *end != ' ' || n < 0 || n >= SG_SLOTS)
        return false;
    *slot = (unsigned)n;
    p = end + 1;
    colon = strrchr(p, ':');
    if (!colon) /* ":PORT" alone: the node that answered (hlen 0) */
        return false;
    hlen = (size_t)(colon - p);
    if (hlen > 2 && p[0] == '[' && p[hlen - 1] == ']') /* an IPv6 literal */
        p++, hlen -= 2;
    if (hlen > SG_ADDR_HOST_MAX)
        return false;
    n = strtol(colon + 1, &end, 10);
    if (*end || !port_ok(n))
        return false;
    memset(to, 0, sizeof(*to));
    memcpy(to->host, p, hlen);
    to->port = (int)n;
    return true;
}
