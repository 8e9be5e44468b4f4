/* Unit tests for client.c: trusted proxies, X-Forwarded-For, and the
 * rate-limit bucket of an address. */
#include <string.h>

#include "client.h"
#include "tap.h"

int main(void)
{
    struct sg_proxies *p = NULL;
    char err[128], out[64];

    TAP_IS_INT(sg_proxies_parse(NULL, &p, err, sizeof(err)), SG_OK, "none");
    TAP_OK(p == NULL, "no list");
    TAP_IS_STR(sg_client_ip_of(NULL, "10.0.0.1", "1.2.3.4", out, 64),
               "10.0.0.1", "XFF ignored without trusted proxies");

    TAP_IS_INT(sg_proxies_parse("127.0.0.1, 10.0.0.0/8 ::1 fd00::/8", &p, err,
                                sizeof(err)),
               SG_OK, "list parses");
    TAP_OK(sg_proxies_contain(p, "10.200.3.4", 10), "inside /8");
    TAP_OK(!sg_proxies_contain(p, "11.0.0.1", 8), "outside /8");
    TAP_OK(sg_proxies_contain(p, "127.0.0.1", 9), "single address");
    TAP_OK(!sg_proxies_contain(p, "127.0.0.2", 9), "single address only");
    TAP_OK(sg_proxies_contain(p, "::1", 3), "IPv6 single");
    TAP_OK(sg_proxies_contain(p, "fd12::5", 7), "IPv6 block");
    TAP_OK(!sg_proxies_contain(p, "fe80::1", 7), "IPv6 outside");
    TAP_OK(!sg_proxies_contain(p, "garbage", 7), "garbage is not contained");

    TAP_IS_STR(sg_client_ip_of(p, "127.0.0.1", "203.0.113.9", out, 64),
               "203.0.113.9", "trusted proxy: XFF client");
    TAP_IS_STR(sg_client_ip_of(p, "127.0.0.1", "6.6.6.6, 203.0.113.9, 10.1.1.1",
                               out, 64),
               "203.0.113.9", "right-most untrusted hop, spoofed left part");
    TAP_IS_STR(sg_client_ip_of(p, "198.51.100.7", "203.0.113.9", out, 64),
               "198.51.100.7", "untrusted peer: XFF ignored");
    TAP_IS_STR(sg_client_ip_of(p, "127.0.0.1", "not-an-ip", out, 64),
               "127.0.0.1", "garbage XFF: the peer");
    TAP_IS_STR(sg_client_ip_of(p, "127.0.0.1", "10.0.0.5, 10.0.0.6", out, 64),
               "10.0.0.5", "all trusted: the left-most");
    TAP_IS_STR(sg_client_ip_of(p, "127.0.0.1", " 2001:db8::1 ", out, 64),
               "2001:db8::1", "IPv6 client, spaces trimmed");
    sg_proxies_free(p);

    TAP_IS_INT(sg_proxies_parse("10.0.0.0/33", &p, err, sizeof(err)), SG_EINVAL,
               "prefix too long");
    TAP_OK(strstr(err, "10.0.0.0/33") != NULL, "error names the entry");
    TAP_IS_INT(sg_proxies_parse("example.com", &p, err, sizeof(err)), SG_EINVAL,
               "host name refused");
    TAP_IS_INT(sg_proxies_parse("1.2.3.4/", &p, err, sizeof(err)), SG_EINVAL,
               "empty prefix");

    /* one host owns a /64: its addresses share one budget */
    TAP_IS_STR(sg_client_bucket_of("2001:db8:1:2::1", 64, out, 64),
               "2001:db8:1:2::/64", "IPv6 cut to /64");
    TAP_IS_STR(sg_client_bucket_of("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64, out,
                                   64),
               "2001:db8:1:2::/64", "same /64, same bucket");
    TAP_IS_STR(sg_client_bucket_of("2001:db8:1:3::1", 64, out, 64),
               "2001:db8:1:3::/64", "next /64, another bucket");
    TAP_IS_STR(sg_client_bucket_of("2001:DB8:0:0:1::1", 64, out, 64),
               "2001:db8::/64", "written in any form: one spelling");
    TAP_IS_STR(sg_client_bucket_of("2001:db8:1:2ff::1", 56, out, 64),
               "2001:db8:1:200::/56", "a prefix that cuts a byte");
    TAP_IS_STR(sg_client_bucket_of("2001:db8::1", 128, out, 64), "2001:db8::1",
               "/128 is the address itself");
    TAP_IS_STR(sg_client_bucket_of("::ffff:192.0.2.7", 64, out, 64),
               "192.0.2.7", "IPv4-mapped is IPv4");
    TAP_IS_STR(sg_client_bucket_of("192.0.2.7", 64, out, 64), "192.0.2.7",
               "IPv4 as it is");
    TAP_IS_STR(sg_client_bucket_of("64:ff9b::c000:207", 64, out, 64),
               "192.0.2.7", "NAT64: the IPv4 client behind the gateway");
    TAP_IS_STR(sg_client_bucket_of("64:ff9b:1::1", 64, out, 64),
               "64:ff9b:1::/64", "outside the well-known /96: IPv6");
    TAP_IS_STR(sg_client_bucket_of("", 64, out, 64), "", "no address");
    TAP_IS_STR(sg_client_bucket_of("unix:x", 64, out, 64), "unix:x",
               "not an address: kept");
    return tap_done();
}
