#!/bin/bash
# The foundation suite against the cgi deployment.
export SG_SERVER=cgi
. "$(dirname "$0")/foundation.sh"
