#!/bin/bash
# The identity suite against the lighttpd deployment.
export SG_SERVER=lighttpd
. "$(dirname "$0")/identity.sh"
