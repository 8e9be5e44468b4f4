#!/bin/bash
# The envelope suite against the lighttpd deployment.
export SG_SERVER=lighttpd
. "$(dirname "$0")/envelope.sh"
