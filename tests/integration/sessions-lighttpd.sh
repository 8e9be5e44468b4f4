#!/bin/bash
# The sessions suite against the lighttpd deployment.
export SG_SERVER=lighttpd
. "$(dirname "$0")/sessions.sh"
