#!/bin/bash
# The identity suite against the apache deployment.
export SG_SERVER=apache
. "$(dirname "$0")/identity.sh"
