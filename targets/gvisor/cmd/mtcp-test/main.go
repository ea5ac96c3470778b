// Command mtcp-test is mtcp's conformance suite (harness/conformance) with gVisor's netstack as a
// target too: `mtcp-test --target gvisor` runs the Go specs and the built-in scripts against it,
// `mtcp-test run --target gvisor PATH...` the given scripts, and `mtcp-test diff --target mtcp
// --target gvisor --target linux` compares all three. Every flag of mtcp-test works as in the
// main module's command.
package main

import (
	"os"

	"github.com/mtcp-go/mtcp/harness/conformance"
	"github.com/mtcp-go/mtcp/harness/linuxdut"

	"github.com/mtcp-go/mtcp/targets/gvisor"
)

func main() {
	conformance.RegisterTarget(gvisor.Target{})
	conformance.RegisterTarget(linuxdut.Target{})
	os.Exit(conformance.Main(os.Args[1:], os.Stdout, os.Stderr))
}
