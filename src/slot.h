/* slot.h -- Redis Cluster's hash slot of a key. */
#ifndef SG_SLOT_H
#define SG_SLOT_H

#include <stddef.h>

#define SG_SLOTS 16384

/* The slot of the len bytes of key, honouring a hash tag ("{...}"). */
unsigned sg_slot(const char *key, size_t len);

#endif
