/* test_slot.c -- Redis Cluster hash slots (slot.c), against the values
 * of the cluster specification and of CLUSTER KEYSLOT. */
#include <string.h>

#include "slot.h"
#include "tap.h"

static unsigned slot(const char *key)
{
    return sg_slot(key, strlen(key));
}

int main(void)
{
    /* the specification's check value: CRC16("123456789") = 0x31C3 */
    TAP_OK(slot("123456789") == (0x31C3 & (SG_SLOTS - 1)),
           "CRC16 check value of the specification");
    TAP_OK(slot("foo") == 12182, "CLUSTER KEYSLOT foo = 12182");
    TAP_OK(slot("user1000") == 3443, "CLUSTER KEYSLOT user1000 = 3443");
    TAP_OK(slot("{user1000}.following") == slot("user1000"),
           "a hash tag: only what is inside counts");
    TAP_OK(slot("sg:{u:abc}:user") == slot("u:abc") &&
               slot("sg:{u:abc}:s:1") == slot("u:abc"),
           "a user's keys share the slot of {u:ID}");
    TAP_OK(slot("foo{}{bar}") == 8363,
           "an empty first tag: the whole key counts");
    TAP_OK(slot("foo{{bar}}zap") == slot("{bar"),
           "the tag runs from the first '{' to the first '}' after it");
    TAP_OK(slot("foo{bar}{zap}") == slot("bar"), "only the first tag");
    TAP_OK(slot("{") == 4092 && slot("a}b{") == 6027,
           "an open brace without a close: the whole key");
    TAP_OK(sg_slot("", 0) == 0, "the empty key is slot 0");
    TAP_OK(sg_slot("a\0b", 3) == 8383 && slot("a") == 15495,
           "a NUL byte in a key is hashed like any other byte");
    return tap_done();
}
