// Command mtcp-test runs mtcp's conformance suite: every case of the conformance catalog as a
// spec, and every scenario script of scenarios/ (built in), in virtual time, each recorded to
// its own pcapng capture with a comment on every frame.
//
//	mtcp-test                          run everything; captures in ./mtcp-out
//	mtcp-test -o out --junit junit.xml --html report.html
//	                                   for CI: JUnit, and a page of ladder diagrams
//	mtcp-test --label-filter arp       a subset, by label
//	mtcp-test run FILE|DIR...          given packetdrill scripts instead (--strict, --lenient,
//	                                   --platform freebsd|linux, -D NAME[=VALUE], -U NAME)
//	mtcp-test list                     the catalog, without running
//	mtcp-test --target linux           the same cases against the Linux kernel, in a network
//	                                   namespace of its own (root; --max-real-time bounds a case)
//	mtcp-test diff --target mtcp --target linux [PATH...]
//	                                   the same cases against both, verdicts compared
//	mtcp-test help [run|list|diff]     the flags and exit statuses
//
// Exit status: 0 when every selected spec passed, 1 when one failed (or, under run, a script
// was refused while others ran), 2 for bad usage (a bad flag, regexp or label filter, an
// output that cannot be written, a selection of no spec without --allow-empty) or only
// malformed scripts, 3 when every script given to run needs something mtcp cannot do (each
// skipped with its reason), 130 when interrupted.
package main

import (
	"fmt"
	"os"

	"github.com/mtcp-go/mtcp/harness/conformance"
	"github.com/mtcp-go/mtcp/harness/linuxdut"
)

func main() {
	conformance.RegisterTarget(linuxdut.Target{})
	// The namespaces of an mtcp-test killed before it could delete them (its pid gone).
	if reaped, err := linuxdut.ReapOrphans(); err == nil && len(reaped) > 0 {
		fmt.Fprintf(os.Stderr, "mtcp-test: deleted %d network namespace(s) of ended runs: %v\n", len(reaped), reaped)
	}
	code := conformance.Main(os.Args[1:], os.Stdout, os.Stderr)
	_ = linuxdut.ReleaseAll() // every case destroys its own; this is for one that could not
	os.Exit(code)
}
