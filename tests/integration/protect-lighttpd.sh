#!/bin/bash
# The protected-locations suite against the lighttpd deployment.
export SG_SERVER=lighttpd
. "$(dirname "$0")/protect.sh"
