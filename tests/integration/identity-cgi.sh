#!/bin/bash
# The identity suite against the cgi deployment.
export SG_SERVER=cgi
. "$(dirname "$0")/identity.sh"
