#!/bin/bash
# The protected-locations suite against the nginx deployment.
export SG_SERVER=nginx
. "$(dirname "$0")/protect.sh"
