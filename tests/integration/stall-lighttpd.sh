#!/bin/bash
# The stalled-peer suite (issue 13) against the lighttpd deployment.
export SG_SERVER=lighttpd
. "$(dirname "$0")/stall.sh"
