#!/bin/bash
# The envelope suite against the nginx deployment.
export SG_SERVER=nginx
. "$(dirname "$0")/envelope.sh"
