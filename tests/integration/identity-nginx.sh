#!/bin/bash
# The identity suite against the nginx deployment.
export SG_SERVER=nginx
. "$(dirname "$0")/identity.sh"
