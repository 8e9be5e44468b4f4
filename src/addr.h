/* addr.h -- the one parser of "unix:/path" and "host:port" addresses.
 *
 * The redis key, --listen and the connect and listen calls all read
 * addresses through sg_addr_parse, so a form accepted by the config check
 * is the form the store connects to and the server binds, and the same
 * text gives the same reason when refused.
 */
#ifndef SG_ADDR_H
#define SG_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#define SG_ADDR_HOST_MAX 255 /* a DNS name is at most 253 bytes */
#define SG_ADDR_PATH_MAX 107 /* sun_path of struct sockaddr_un, less NUL */
#define SG_SENTINELS_MAX 16  /* redis_sentinels: addresses at most */
#define SG_CLUSTER_SEEDS_MAX 16 /* redis_cluster: seed nodes at most */

struct sg_addr {
    bool is_unix;
    char path[SG_ADDR_PATH_MAX + 1]; /* is_unix: absolute */
    char host[SG_ADDR_HOST_MAX + 1]; /* else: a name, an IPv4 address or
                                      * an IPv6 address without brackets */
    int port;                        /* 1 to 65535 */
};

/* Parse text as "unix:/absolute/path", "host:port" or "[ipv6]:port" (the
 * IP-literal of RFC 3986 section 3.2.2). NULL on success, else a short
 * reason (a static string); out is then unspecified. */
const char *sg_addr_parse(const char *text, struct sg_addr *out);

/* Parse a list of "host:port" addresses (TCP only) separated by commas
 * and blanks into out[max], their count in *n. NULL on success, else a
 * short reason, as sg_addr_parse. */
const char *sg_addr_parse_list(const char *text, struct sg_addr *out,
                               size_t max, size_t *n);

#endif
