#!/bin/bash
# The security regression suite against the cgi deployment.
export SG_SERVER=cgi
. "$(dirname "$0")/security.sh"
