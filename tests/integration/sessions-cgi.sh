#!/bin/bash
# The sessions suite against the cgi deployment.
export SG_SERVER=cgi
. "$(dirname "$0")/sessions.sh"
