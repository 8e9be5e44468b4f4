#!/bin/bash
# The refresh-race suite against the apache deployment.
export SG_SERVER=apache
. "$(dirname "$0")/refresh-race.sh"
