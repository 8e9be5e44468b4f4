#!/bin/bash
# The foundation suite against the apache deployment.
export SG_SERVER=apache
. "$(dirname "$0")/foundation.sh"
