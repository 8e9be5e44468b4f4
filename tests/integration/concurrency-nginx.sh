#!/bin/bash
# The concurrency suite against the nginx deployment.
export SG_SERVER=nginx
. "$(dirname "$0")/concurrency.sh"
