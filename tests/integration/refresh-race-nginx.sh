#!/bin/bash
# The refresh-race suite against the nginx deployment.
export SG_SERVER=nginx
. "$(dirname "$0")/refresh-race.sh"
