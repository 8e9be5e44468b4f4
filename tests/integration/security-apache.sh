#!/bin/bash
# The security regression suite against the apache deployment.
export SG_SERVER=apache
. "$(dirname "$0")/security.sh"
