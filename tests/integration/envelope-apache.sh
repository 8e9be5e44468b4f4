#!/bin/bash
# The envelope suite against the apache deployment.
export SG_SERVER=apache
. "$(dirname "$0")/envelope.sh"
