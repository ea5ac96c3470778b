package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtcp-go/mtcp/examples/internal/demo"
	"github.com/mtcp-go/mtcp/examples/internal/demotest"
)

// A bad flag of ping is one line on stderr and exit status 2, before anything is created; the
// built program ends with that status. --help says what ping does and exits 0. Runs anywhere,
// without root: a refused run touches nothing, and --netns names a namespace that does not
// exist should one get further by mistake.
func TestFlagsAndHelp(t *testing.T) {
	pcap := filepath.Join(t.TempDir(), "ping.pcapng")
	guard := []string{"--netns", "mtcp-absent-namespace", "--pcap", pcap}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--port", "7"}, "flag provided but not defined: -port"},
		{[]string{"--addr", "10.0.0.2/24"}, "must lie in 198.18.0.0/15"},
		{[]string{"--fault", "loss=5"}, "--fault"},
	} {
		var out, errOut bytes.Buffer
		if got := demo.Main(program(), append(guard, c.args...), &out, &errOut); got != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", c.args, got, errOut.String())
		}
		if msg := errOut.String(); !strings.HasPrefix(msg, "ping: ") || !strings.Contains(msg, c.want) || strings.Count(msg, "\n") != 1 {
			t.Errorf("%q: stderr %q, want one line containing %q", c.args, msg, c.want)
		}
	}
	var out, errOut bytes.Buffer
	if got := demo.Main(program(), []string{"--help"}, &out, &errOut); got != 0 {
		t.Errorf("--help: exit %d, want 0", got)
	}
	for _, want := range []string{"ping answers ping and arping", "Usage: ping [flags]", "--pcap file", "go run ./examples/ping"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}

	bin := demotest.Build(t)
	stdout, stderr, code := demotest.Refused(t, bin, "--pcap", pcap, "--addr", "198.18.0.2/8")
	if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 {
		t.Errorf("built: exit %d, stdout %q, stderr %q; want 2 and one line on stderr", code, stdout, stderr)
	}
	if _, err := os.Stat(pcap); err == nil {
		t.Fatalf("a refused run left %s behind", pcap)
	}
}
