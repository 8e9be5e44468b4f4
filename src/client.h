/* client.h -- who the client is: its IP address.
 *
 * The client IP is REMOTE_ADDR, except when REMOTE_ADDR is one of the
 * configured trusted_proxies (a list of CIDR blocks): then it is the
 * right-most address of X-Forwarded-For that is not itself a trusted
 * proxy, the first hop no trusted party could have forged.
 */
#ifndef SG_CLIENT_H
#define SG_CLIENT_H

#include "sg.h"

struct sg_proxies;

/* Parse "10.0.0.0/8, ::1, 192.168.1.5" (comma or space separated; a bare
 * address is a full-length prefix). NULL list for NULL or empty text.
 * SG_EINVAL with the offending entry in err. */
int sg_proxies_parse(const char *text, struct sg_proxies **out, char *err,
                     size_t errlen);
void sg_proxies_free(struct sg_proxies *p);

/* True when addr (text) is inside one of the blocks. */
bool sg_proxies_contain(const struct sg_proxies *p, const char *addr,
                        size_t len);

/* The client IP of a request, as text, written into out (64 bytes). */
const char *sg_client_ip_of(const struct sg_proxies *p, const char *remote,
                            const char *forwarded_for, char *out,
                            size_t outlen);

/* The rate-limit bucket of a client IP, written into out (64 bytes): an
 * IPv4 address as it is (also when written IPv4-mapped, ::ffff:a.b.c.d),
 * an IPv6 address cut to its first v6_bits bits and written as a block
 * ("2001:db8:1:2::/64"): one host owns a whole /64, so counting single
 * IPv6 addresses would give it 2^64 budgets. Anything that is not an
 * address (a server that passes none) is kept as it is. The NAT64
 * well-known prefix 64:ff9b::/96 counts as the IPv4 address it embeds. */
const char *sg_client_bucket_of(const char *ip, int v6_bits, char *out,
                                size_t outlen);

#endif
