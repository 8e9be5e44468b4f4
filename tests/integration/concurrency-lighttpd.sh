#!/bin/bash
# The concurrency suite against the lighttpd deployment.
export SG_SERVER=lighttpd
. "$(dirname "$0")/concurrency.sh"
