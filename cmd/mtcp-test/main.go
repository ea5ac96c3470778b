// Command mtcp-test runs mtcp's conformance suite: every case of the conformance catalog as a
// spec, and every scenario script of scenarios/ (built in), in virtual time, each recorded to
// its own pcapng capture with a comment on every frame.
//
//	mtcp-test                          run everything; captures in ./mtcp-out
//	mtcp-test -o out --junit junit.xml for CI
//	mtcp-test --label-filter arp       a subset, by label
//	mtcp-test run FILE|DIR...          given packetdrill scripts instead (--strict, --lenient,
//	                                   --platform freebsd|linux, -D NAME[=VALUE], -U NAME)
//	mtcp-test list                     the catalog, without running
//
// Exit status: 0 when every spec passed, 1 when one failed (or, under run, a script was refused
// while others ran), 2 for bad usage or only malformed scripts, 3 when every script given to
// run needs something mtcp cannot do (each skipped with its reason).
package main

import (
	"os"

	"github.com/mtcp-go/mtcp/harness/conformance"
)

func main() {
	os.Exit(conformance.Main(os.Args[1:], os.Stdout, os.Stderr))
}
