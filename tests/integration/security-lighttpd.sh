#!/bin/bash
# The security regression suite against the lighttpd deployment.
export SG_SERVER=lighttpd
. "$(dirname "$0")/security.sh"
