#!/usr/bin/env bash
# Runs the conformance suite the way CI keeps it: a JUnit report, an HTML report and one pcapng
# capture per spec, in one folder to upload as an artifact (even when a spec fails).
#
#   ci/conformance.sh [DIR] [run|diff] [mtcp-test flags and paths...]
#
# DIR defaults to ci-artifacts; it gets junit.xml, report.html, captures/ and mtcp-test.log (the
# mtcp-test binary is built outside it). A subcommand and its arguments go to mtcp-test, so CI
# machines can share the suite by label, or run scripts:
#   ci/conformance.sh shard-1 --label-filter 'arp || icmp'
#   ci/conformance.sh shard-2 --label-filter '!(arp || icmp)'
#   ci/conformance.sh scripts run --lenient path/to/scripts
#   ci/conformance.sh vs-linux diff --target mtcp --target linux --label-filter arp
# The exit status is mtcp-test's: 0 all passed, 1 a spec failed, 2 bad usage (a filter that
# selects nothing among them), 3 every script given unsupported, 130 interrupted.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-ci-artifacts}
[ $# -gt 0 ] && shift
sub=()
case "${1:-}" in
run | diff) sub=("$1"); shift ;;
list | help) echo "ci/conformance.sh: $1 keeps no artifacts; run mtcp-test $1 instead" >&2; exit 2 ;;
esac
bin=$(mktemp -d "${TMPDIR:-/tmp}/mtcp-test-bin.XXXXXX") || exit 2
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/mtcp-test" ./cmd/mtcp-test || exit 2
mkdir -p "$out" || exit 2
# This run's artifacts only: what an earlier run left (and the binary older versions kept here)
# goes first.
rm -rf "$out/junit.xml" "$out/report.html" "$out/captures" "$out/diff" "$out/mtcp-test.log" "$out/mtcp-test"
if [ "${sub[0]:-}" = diff ]; then
  "$bin/mtcp-test" diff -o "$out/diff" "$@" 2>&1 | tee "$out/mtcp-test.log"
else
  "$bin/mtcp-test" "${sub[@]}" -o "$out/captures" --junit "$out/junit.xml" --html "$out/report.html" "$@" 2>&1 | tee "$out/mtcp-test.log"
fi
status=${PIPESTATUS[0]}
kept=()
for f in junit.xml report.html captures diff mtcp-test.log; do
  [ -e "$out/$f" ] && kept+=("$f")
done
echo "ci/conformance.sh: artifacts in $out (${kept[*]}), exit $status"
exit "$status"
