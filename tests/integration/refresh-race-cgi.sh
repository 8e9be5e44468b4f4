#!/bin/bash
# The refresh-race suite against the cgi deployment.
export SG_SERVER=cgi
. "$(dirname "$0")/refresh-race.sh"
