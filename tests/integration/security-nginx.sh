#!/bin/bash
# The security regression suite against the nginx deployment.
export SG_SERVER=nginx
. "$(dirname "$0")/security.sh"
