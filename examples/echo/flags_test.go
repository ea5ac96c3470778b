package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtcp-go/mtcp/examples/internal/demotest"
)

// A bad flag of echo is one line on stderr and exit status 2, before anything is created; the
// built program ends with that status. --help says what echo does and exits 0. Runs anywhere,
// without root: a refused run touches nothing, and --netns names a namespace that does not
// exist should one get further by mistake.
func TestFlagsAndHelp(t *testing.T) {
	pcap := filepath.Join(t.TempDir(), "echo.pcapng")
	guard := []string{"--netns", "mtcp-absent-namespace", "--pcap", pcap}
	demotest.CheckRefused(t, program(), guard, []demotest.BadFlag{
		{Args: []string{"--port", "65536"}, Want: "want a TCP port from 1 to 65535"},
		{Args: []string{"--port", "seven"}, Want: "want a TCP port from 1 to 65535"},
		{Args: []string{"--host-addr", "198.18.0.2/24"}, Want: "--addr and --host-addr are both 198.18.0.2"},
		{Args: []string{"--dir", "."}, Want: "flag provided but not defined: -dir"},
	}, nil)
	demotest.CheckHelp(t, program(), "-h", `echo serves TCP echo`, "Usage: echo [flags]", "--port port", "(default 7)", "go run ./examples/echo")

	bin := demotest.Build(t)
	stdout, stderr, code := demotest.Refused(t, bin, "--pcap", pcap, "--port", "99999")
	if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 {
		t.Errorf("built: exit %d, stdout %q, stderr %q; want 2 and one line on stderr", code, stdout, stderr)
	}
	if _, err := os.Stat(pcap); err == nil {
		t.Fatalf("a refused run left %s behind", pcap)
	}
}
