#!/usr/bin/env bash
# Runs the conformance suite the way CI keeps it: a JUnit report and one pcapng capture per
# spec, in one folder to upload as an artifact (even when a spec fails).
#
#   ci/conformance.sh [DIR] [mtcp-test flags...]
#
# DIR defaults to ci-artifacts; it gets junit.xml, captures/, mtcp-test.log and the binary.
# Extra flags go to mtcp-test, so CI machines can share the suite by label, e.g.
#   ci/conformance.sh shard-1 --label-filter 'arp || icmp'
#   ci/conformance.sh shard-2 --label-filter '!(arp || icmp)'
# The exit status is mtcp-test's: 0 all passed, 1 a spec failed, 2 bad usage.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-ci-artifacts}
[ $# -gt 0 ] && shift
mkdir -p "$out"
go build -o "$out/mtcp-test" ./cmd/mtcp-test || exit 2
"$out/mtcp-test" -o "$out/captures" --junit "$out/junit.xml" "$@" 2>&1 | tee "$out/mtcp-test.log"
status=${PIPESTATUS[0]}
echo "ci/conformance.sh: artifacts in $out (junit.xml, captures/, mtcp-test.log), exit $status"
exit "$status"
