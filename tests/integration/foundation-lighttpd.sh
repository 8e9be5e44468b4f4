#!/bin/bash
# The foundation suite against the lighttpd deployment.
export SG_SERVER=lighttpd
. "$(dirname "$0")/foundation.sh"
