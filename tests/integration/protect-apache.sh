#!/bin/bash
# The protected-locations suite against the apache deployment.
export SG_SERVER=apache
. "$(dirname "$0")/protect.sh"
