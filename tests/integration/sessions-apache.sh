#!/bin/bash
# The sessions suite against the apache deployment.
export SG_SERVER=apache
. "$(dirname "$0")/sessions.sh"
