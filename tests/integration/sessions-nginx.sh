#!/bin/bash
# The sessions suite against the nginx deployment.
export SG_SERVER=nginx
. "$(dirname "$0")/sessions.sh"
