#!/bin/bash
# The envelope suite against the cgi deployment.
export SG_SERVER=cgi
. "$(dirname "$0")/envelope.sh"
