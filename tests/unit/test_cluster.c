/* test_cluster.c -- the slot map read from CLUSTER SHARDS and CLUSTER
 * SLOTS replies, and -MOVED / -ASK redirections (store_cluster.c). The
 * replies are RESP text parsed by hiredis' reader, as from a socket. */
#include <string.h>

#include "store_cluster.h"
#include "store_impl.h"
#include "tap.h"

static struct sg_cluster_map map;
static const struct sg_addr seed = {.host = "10.0.0.9", .port = 7009};

/* The reply RESP holds, or NULL (the test then fails on it). */
static redisReply *parse(const char *resp)
{
    redisReader *rd = redisReaderCreate();
    void *reply = NULL;

    if (!rd)
        return NULL;
    if (redisReaderFeed(rd, resp, strlen(resp)) != REDIS_OK ||
        redisReaderGetReply(rd, &reply) != REDIS_OK)
        reply = NULL;
    redisReaderFree(rd);
    return reply;
}

/* A CLUSTER SLOTS entry: range LO-HI, master HOST:PORT, one replica. */
#define SLOTS_ENTRY(lo, hi, hostlen, host, port)                               \
    "*4\r\n:" lo "\r\n:" hi "\r\n*3\r\n$" hostlen "\r\n" host "\r\n:" port     \
    "\r\n$2\r\nid\r\n*3\r\n$9\r\n127.0.0.9\r\n:9999\r\n$2\r\nrp\r\n"

static int from_slots(const char *resp, char *why, size_t cap)
{
    redisReply *r = parse(resp);
    int rc = r ? sg_cluster_map_from_slots(&map, r, &seed, why, cap) : -99;

    freeReplyObject(r);
    return rc;
}

static void test_slots(void)
{
    char why[128] = "";

    TAP_OK(from_slots(
               "*3\r\n" SLOTS_ENTRY("0", "5460", "9", "127.0.0.1", "7000")
                   SLOTS_ENTRY("5461", "10922", "9", "127.0.0.1", "7001")
                       SLOTS_ENTRY("10923", "16383", "9", "127.0.0.1", "7002"),
               why, sizeof(why)) == SG_OK,
           "slots: three masters read");
    TAP_OK(map.n == 3 && sg_cluster_map_uncovered(&map) == 0,
           "slots: three nodes, every slot served (replicas not kept)");
    TAP_OK(map.slot_node[0] == map.slot_node[5460] &&
               map.nodes[map.slot_node[5460]].port == 7000 &&
               map.nodes[map.slot_node[5461]].port == 7001 &&
               map.nodes[map.slot_node[16383]].port == 7002,
           "slots: each range to its master");
    TAP_IS_STR(map.nodes[0].host, "127.0.0.1", "slots: the master's host");

    TAP_OK(from_slots("*2\r\n" SLOTS_ENTRY("0", "99", "0", "", "7000")
                          SLOTS_ENTRY("200", "299", "1", "?", "7001"),
                      why, sizeof(why)) == SG_OK,
           "slots: empty and '?' endpoints");
    TAP_IS_STR(map.nodes[map.slot_node[0]].host, "10.0.0.9",
               "slots: an empty endpoint is the node asked");
    TAP_OK(map.nodes[map.slot_node[250]].port == 7001 &&
               !strcmp(map.nodes[map.slot_node[250]].host, "10.0.0.9"),
           "slots: so is '?', with its own port");
    TAP_OK(sg_cluster_map_uncovered(&map) == SG_SLOTS - 200 &&
               map.slot_node[100] == SG_CLUSTER_NO_NODE,
           "slots: what no range covers stays open");

    TAP_OK(from_slots("*1\r\n" SLOTS_ENTRY("10", "9", "1", "h", "1"), why,
                      sizeof(why)) == SG_ESTORE &&
               strstr(why, "range"),
           "slots: a range ending before it starts refused");
    TAP_OK(from_slots("*1\r\n" SLOTS_ENTRY("0", "16384", "1", "h", "1"), why,
                      sizeof(why)) == SG_ESTORE,
           "slots: slot 16384 refused");
    TAP_OK(from_slots("*1\r\n" SLOTS_ENTRY("0", "1", "1", "h", "0"), why,
                      sizeof(why)) == SG_ESTORE &&
               strstr(why, "node"),
           "slots: port 0 refused");
    TAP_OK(from_slots("+OK\r\n", why, sizeof(why)) == SG_ESTORE,
           "slots: not an array refused");
    TAP_OK(from_slots("*1\r\n*2\r\n:0\r\n:1\r\n", why, sizeof(why)) ==
               SG_ESTORE,
           "slots: an entry without its master refused");
}

static int shards_tls(const char *resp, bool tls, char *why, size_t cap)
{
    redisReply *r = parse(resp);
    int rc =
        r ? sg_cluster_map_from_shards(&map, r, &seed, tls, why, cap) : -99;

    freeReplyObject(r);
    return rc;
}

static int from_shards(const char *resp, char *why, size_t cap)
{
    redisReply *r = parse(resp);
    int rc =
        r ? sg_cluster_map_from_shards(&map, r, &seed, false, why, cap) : -99;

    freeReplyObject(r);
    return rc;
}

static void test_shards(void)
{
    char why[128] = "";
    /* shard 1: slots 0-99 and 200-299, its replica listed first; shard 2:
     * 100-199, its master failed; shard 3: no slots */
    const char *three =
        "*3\r\n"
        "*4\r\n$5\r\nslots\r\n*4\r\n:0\r\n:99\r\n:200\r\n:299\r\n"
        "$5\r\nnodes\r\n*2\r\n"
        "*10\r\n$2\r\nid\r\n$1\r\nr\r\n$4\r\nport\r\n:7101\r\n"
        "$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n"
        "$6\r\nhealth\r\n$6\r\nonline\r\n"
        "*10\r\n$2\r\nid\r\n$1\r\nm\r\n$4\r\nport\r\n:7001\r\n"
        "$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
        "$6\r\nhealth\r\n$6\r\nonline\r\n"
        "*4\r\n$5\r\nslots\r\n*2\r\n:100\r\n:199\r\n"
        "$5\r\nnodes\r\n*1\r\n"
        "*10\r\n$2\r\nid\r\n$1\r\nf\r\n$4\r\nport\r\n:7002\r\n"
        "$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
        "$6\r\nhealth\r\n$6\r\nfailed\r\n"
        "*4\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*0\r\n";

    TAP_OK(from_shards(three, why, sizeof(why)) == SG_OK,
           "shards: three shards read");
    TAP_OK(map.n == 1 && map.nodes[0].port == 7001,
           "shards: only the online master is kept");
    TAP_OK(map.slot_node[0] == 0 && map.slot_node[99] == 0 &&
               map.slot_node[250] == 0 &&
               map.slot_node[150] == SG_CLUSTER_NO_NODE,
           "shards: both ranges to it; a failed master's slots stay open");
    TAP_OK(sg_cluster_map_uncovered(&map) == SG_SLOTS - 200,
           "shards: what is open counted");
    TAP_OK(from_shards("*1\r\n*4\r\n$5\r\nslots\r\n*1\r\n:0\r\n"
                       "$5\r\nnodes\r\n*0\r\n",
                       why, sizeof(why)) == SG_ESTORE,
           "shards: an odd slots list refused");
    TAP_OK(from_shards("*1\r\n*2\r\n$5\r\nnodes\r\n*0\r\n", why, sizeof(why)) ==
               SG_ESTORE,
           "shards: a shard without slots refused");
    TAP_OK(from_shards(":1\r\n", why, sizeof(why)) == SG_ESTORE,
           "shards: not an array refused");
}

/* a shard of one master whose port lines are PORTS (each "$4\r\nport..." or
 * "$8\r\ntls-port..."), COUNT the node's map length */
#define ONE_SHARD(count, ports)                                                \
    "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$5\r\nnodes\r\n*1\r\n"   \
    "*" count "\r\n$2\r\nid\r\n$1\r\nm\r\n" ports                              \
    "$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"    \
    "$6\r\nhealth\r\n$6\r\nonline\r\n"
#define PLAIN_PORT "$4\r\nport\r\n:7001\r\n"
#define TLS_PORT "$8\r\ntls-port\r\n:7401\r\n"

/* CLUSTER SHARDS names both ports of a node: a client over TLS takes the
 * TLS one; a TLS-only cluster (port 0) lists no "port" at all */
static void test_shards_tls(void)
{
    char why[128] = "";
    const char *both = ONE_SHARD("12", PLAIN_PORT TLS_PORT);
    const char *tls_only = ONE_SHARD("10", TLS_PORT);
    const char *plain_only = ONE_SHARD("10", PLAIN_PORT);

    TAP_OK(shards_tls(both, false, why, sizeof(why)) == SG_OK &&
               map.n == 1 && map.nodes[0].port == 7001,
           "shards: plain client, both ports: the plain one");
    TAP_OK(shards_tls(both, true, why, sizeof(why)) == SG_OK && map.n == 1 &&
               map.nodes[0].port == 7401,
           "shards: TLS client, both ports: the TLS one");
    TAP_OK(shards_tls(tls_only, true, why, sizeof(why)) == SG_OK &&
               map.n == 1 && map.nodes[0].port == 7401 &&
               map.slot_node[16383] == 0,
           "shards: TLS client, a TLS-only cluster: its tls-port");
    TAP_OK(shards_tls(tls_only, false, why, sizeof(why)) == SG_ESTORE &&
               strstr(why, "redis_tls = on"),
           "shards: plain client, a TLS-only cluster: refused, says why");
    TAP_OK(shards_tls(plain_only, true, why, sizeof(why)) == SG_ESTORE &&
               strstr(why, "no tls-port") && strstr(why, "tls-cluster yes"),
           "shards: TLS client, no tls-port: refused, says why");
}

static void test_redirects(void)
{
    struct sg_addr to;
    unsigned slot = 0;
    bool ask = true;

    TAP_OK(sg_cluster_parse_redirect("MOVED 3999 127.0.0.1:6381", &ask, &slot,
                                     &to) &&
               !ask && slot == 3999 && !strcmp(to.host, "127.0.0.1") &&
               to.port == 6381,
           "MOVED: slot and address");
    TAP_OK(sg_cluster_parse_redirect("ASK 0 [::1]:7000", &ask, &slot, &to) &&
               ask && slot == 0 && !strcmp(to.host, "::1") && to.port == 7000,
           "ASK: an IPv6 address without its brackets");
    TAP_OK(sg_cluster_parse_redirect("MOVED 16383 :7001", &ask, &slot, &to) &&
               slot == 16383 && to.host[0] == '\0' && to.port == 7001,
           "MOVED to ':PORT': the node that answered");
    TAP_OK(!sg_cluster_parse_redirect("MOVED 16384 h:1", &ask, &slot, &to),
           "a slot out of range refused");
    TAP_OK(!sg_cluster_parse_redirect("MOVED 1 h:0", &ask, &slot, &to) &&
               !sg_cluster_parse_redirect("MOVED 1 h:70000", &ask, &slot, &to),
           "a bad port refused");
    TAP_OK(!sg_cluster_parse_redirect("MOVED x h:1", &ask, &slot, &to) &&
               !sg_cluster_parse_redirect("MOVED 1 h", &ask, &slot, &to),
           "no slot or no port refused");
    TAP_OK(!sg_cluster_parse_redirect("ERR wrong", &ask, &slot, &to) &&
               !sg_cluster_parse_redirect("MOVEDX 1 h:1", &ask, &slot, &to),
           "other errors are no redirection");
}

/* Which argument a command is sent by. */
static void test_route_key(void)
{
    const char *fcall[] = {"FCALL", "sg_x_verify", "2", "sg:{u:1}:s:a", "k2"};
    const char *fcall0[] = {"FCALL", "sg_x_verify", "0", "arg"};
    const char *get[] = {"GET", "sg:{e:ab}:email"};
    const char *xadd[] = {"XADD", "s", "*", "f", "v"};
    const char *ping[] = {"PING"};
    const char *fn[] = {"FUNCTION", "LOAD", "code"};
    const char *key = NULL;
    size_t len = 0;

    TAP_OK(sg_cluster_route_key(5, fcall, NULL, &key, &len) &&
               !strcmp(key, "sg:{u:1}:s:a") && len == 12,
           "FCALL: by its first key");
    TAP_OK(!sg_cluster_route_key(4, fcall0, NULL, &key, &len),
           "FCALL of no key: any node");
    TAP_OK(sg_cluster_route_key(2, get, NULL, &key, &len) &&
               key == get[1],
           "GET: by its key");
    TAP_OK(sg_cluster_route_key(5, xadd, NULL, &key, &len) && key == xadd[1],
           "XADD: by its key");
    TAP_OK(!sg_cluster_route_key(1, ping, NULL, &key, &len) &&
               !sg_cluster_route_key(3, fn, NULL, &key, &len),
           "PING, FUNCTION: any node");
    TAP_OK(sg_slot("sg:{u:1}:s:a", 12) == sg_slot("sg:{u:1}:user", 13),
           "a user's keys share a slot");
}

int main(void)
{
    test_slots();
    test_shards();
    test_shards_tls();
    test_redirects();
    test_route_key();
    return tap_done();
}
