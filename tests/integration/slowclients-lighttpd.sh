#!/bin/bash
# The slow-clients suite against the lighttpd deployment.
export SG_SERVER=lighttpd
. "$(dirname "$0")/slowclients.sh"
