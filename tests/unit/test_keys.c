/* Unit tests for keys.c and the key part of ratelimit.c: the layout that
 * docs/REDIS.md documents, hash tags included. */
#include <string.h>

#include "keys.h"
#include "tap.h"

int main(void)
{
    char k[SG_KEY_MAX], big[SG_KEY_MAX];

    sg_key_user(k, "sg:", "u1");
    TAP_IS_STR(k, "sg:{u:u1}:user", "user");
    sg_key_user_sessions(k, "sg:", "u1");
    TAP_IS_STR(k, "sg:{u:u1}:sessions", "sessions zset");
    sg_key_session(k, "sg:", "u1", "s1");
    TAP_IS_STR(k, "sg:{u:u1}:s:s1", "session");
    sg_key_session_prefix(k, "sg:", "u1");
    TAP_IS_STR(k, "sg:{u:u1}:s:", "session prefix");
    sg_key_rotated(k, "sg:", "u1", "s1");
    TAP_IS_STR(k, "sg:{u:u1}:s:s1:rt", "rotated refresh hashes");
    sg_key_revoked(k, "sg:", "u1", "j1");
    TAP_IS_STR(k, "sg:{u:u1}:rv:j1", "revoked jti");
    sg_key_known_addrs(k, "sg:", "u1");
    TAP_IS_STR(k, "sg:{u:u1}:addrs", "known addresses");
    sg_key_user_head(k, "sg:");
    TAP_IS_STR(k, "sg:{u:", "head of a user's keys");
    sg_key_email(k, "app:", "a@b.co");
    TAP_IS_STR(k, "app:email:a@b.co", "email index, other prefix");
    sg_key_users(k, "sg:");
    TAP_IS_STR(k, "sg:users", "user set");
    sg_key_limit_ip(k, "sg:", "signin", "2001:db8::/64");
    TAP_IS_STR(k, "sg:rl:signin:ip:2001:db8::/64", "address window");
    sg_key_limit_account(k, "sg:", "signin_failure", "ab12");
    TAP_IS_STR(k, "sg:rl:signin_failure:acct:ab12", "account window");
    sg_key_limit_session(k, "sg:", "refresh", "s1");
    TAP_IS_STR(k, "sg:rl:refresh:sid:s1", "session window");
    TAP_IS_INT(sg_key_limit_user_session(k, "sg:", "u1", "refresh", "s1"), 0,
               "user's session window");
    TAP_IS_STR(k, "sg:{u:u1}:rl:refresh:sid:s1",
               "a session's window in its user's slot");
    sg_key_limit_user(k, "sg:", "u1", "user");
    TAP_IS_STR(k, "sg:{u:u1}:rl:user", "user window, in the user's slot");
    sg_key_ready(k, "sg:", "t1");
    TAP_IS_STR(k, "sg:ready:t1", "readiness probe");
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    TAP_IS_INT(sg_key_email(k, "sg:", big), SG_ETOOBIG, "too long refused");
    return tap_done();
}
