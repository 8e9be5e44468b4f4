#!/bin/bash
# The slow-clients suite against the apache deployment.
export SG_SERVER=apache
. "$(dirname "$0")/slowclients.sh"
