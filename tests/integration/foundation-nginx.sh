#!/bin/bash
# The foundation suite against the nginx deployment.
export SG_SERVER=nginx
. "$(dirname "$0")/foundation.sh"
