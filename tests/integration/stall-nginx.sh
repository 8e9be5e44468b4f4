#!/bin/bash
# The stalled-peer suite (issue 13) against the nginx deployment.
export SG_SERVER=nginx
. "$(dirname "$0")/stall.sh"
