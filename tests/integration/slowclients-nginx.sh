#!/bin/bash
# The slow-clients suite against the nginx deployment.
export SG_SERVER=nginx
. "$(dirname "$0")/slowclients.sh"
