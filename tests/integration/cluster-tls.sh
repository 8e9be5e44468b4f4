#!/bin/bash
# The Redis Cluster suite with sessiongate speaking TLS to every node
# (issue 15): see SG_CLUSTER_TLS in cluster.sh. The failover, the slot
# migration and the reshard run over TLS too.
export SG_CLUSTER_TLS=1
. "$(dirname "$0")/cluster.sh"
