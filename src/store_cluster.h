/* store_cluster.h -- a Redis Cluster's slot map (store_cluster.c). */
#ifndef SG_STORE_CLUSTER_H
#define SG_STORE_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "addr.h"
#include "sg.h"
#include "slot.h"

#define SG_CLUSTER_NODES_MAX                                                   \
    64 /* masters; a cluster's slots are shared by                             \
        * far fewer in practice */
#define SG_CLUSTER_NO_NODE 0xffff

struct sg_cluster_map {
    unsigned short slot_node[SG_SLOTS]; /* index into nodes, or NO_NODE */
    struct sg_addr nodes[SG_CLUSTER_NODES_MAX];
    size_t n;
};

/* Fill m from a CLUSTER SHARDS (Redis 7) or CLUSTER SLOTS reply of the
 * node at seed (whose address stands for an empty or "?" endpoint).
 * CLUSTER SHARDS names a node's plain and TLS ports apart: tls picks
 * "tls-port" (CLUSTER SLOTS already gives the port of the asking
 * connection's kind).
 * SG_ESTORE with a reason in why for a reply of another shape. Slots no
 * master serves (a shard whose master failed) are left NO_NODE. */
int sg_cluster_map_from_shards(struct sg_cluster_map *m, const redisReply *r,
                               const struct sg_addr *seed, bool tls, char *why,
                               size_t cap);
int sg_cluster_map_from_slots(struct sg_cluster_map *m, const redisReply *r,
                              const struct sg_addr *seed, char *why,
                              size_t cap);

/* Slots of m that no master serves. */
size_t sg_cluster_map_uncovered(const struct sg_cluster_map *m);

/* An error reply "MOVED SLOT HOST:PORT" or "ASK SLOT HOST:PORT": its slot
 * and address (host empty for ":PORT", the node that answered); false for
 * any other error. */
bool sg_cluster_parse_redirect(const char *err, bool *ask, unsigned *slot,
                               struct sg_addr *to);

#endif
