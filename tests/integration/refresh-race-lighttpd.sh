#!/bin/bash
# The refresh-race suite against the lighttpd deployment.
export SG_SERVER=lighttpd
. "$(dirname "$0")/refresh-race.sh"
