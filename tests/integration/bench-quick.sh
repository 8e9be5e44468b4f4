#!/bin/bash
# tests/integration/bench-quick.sh -- `make check` runs the benchmark in its
# quick mode (bench/run.sh --quick: one round, 16 connections, about a
# second per case, behind nginx and lighttpd) to prove that it still works:
# the stacks start, a user registers and signs in, every case answers 2xx,
# and the table prints. No figure is asserted; a loaded machine passes.
#
# Exit 77 (skipped) when SG_SKIP_INTEGRATION is set or a tool is missing.
# Environment: SG_BIN (make check exports the binary under test).

case ${SG_SKIP_INTEGRATION:-} in
'' | 0 | no) ;;
*) echo "SKIP: SG_SKIP_INTEGRATION is set" >&2; exit 77 ;;
esac

PATH=$PATH:/usr/sbin:/sbin
for t in wrk curl redis-server redis-cli nginx lighttpd; do
    command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t is not installed" >&2; exit 77; }
done

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export SG_BIN=${SG_BIN:-$TOP/src/sessiongate}
exec timeout 300 "$TOP/bench/run.sh" --quick
