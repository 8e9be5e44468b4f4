#!/bin/bash
# The concurrency suite against the apache deployment.
export SG_SERVER=apache
. "$(dirname "$0")/concurrency.sh"
