package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtcp-go/mtcp/examples/internal/demotest"
)

// A bad flag of ping is one line on stderr and exit status 2, before anything is created; the
// built program ends with that status. --help says what ping does and exits 0. Runs anywhere,
// without root: a refused run touches nothing, and --netns names a namespace that does not
// exist should one get further by mistake.
func TestFlagsAndHelp(t *testing.T) {
	pcap := filepath.Join(t.TempDir(), "ping.pcapng")
	guard := []string{"--netns", "mtcp-absent-namespace", "--pcap", pcap}
	demotest.CheckRefused(t, program(), guard, []demotest.BadFlag{
		{Args: []string{"--port", "7"}, Want: "flag provided but not defined: -port"},
		{Args: []string{"--addr", "10.0.0.2/24"}, Want: "must lie in 198.18.0.0/15"},
		{Args: []string{"--fault", "loss=5"}, Want: "--fault"},
	}, nil)
	demotest.CheckHelp(t, program(), "--help", "ping answers ping and arping", "Usage: ping [flags]", "--pcap file", "go run ./examples/ping")

	bin := demotest.Build(t)
	stdout, stderr, code := demotest.Refused(t, bin, "--pcap", pcap, "--addr", "198.18.0.2/8")
	if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 {
		t.Errorf("built: exit %d, stdout %q, stderr %q; want 2 and one line on stderr", code, stdout, stderr)
	}
	if _, err := os.Stat(pcap); err == nil {
		t.Fatalf("a refused run left %s behind", pcap)
	}
}
