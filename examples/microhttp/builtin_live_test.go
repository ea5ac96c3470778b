package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtcp-go/mtcp/examples/internal/demotest"
	"github.com/mtcp-go/mtcp/internal/netns/netnstest"
)

// TestLiveBuiltInPage runs microhttp as the README's first command does, without --dir, in a
// namespace made for the test: curl gets the built-in page, and the summary at exit counts
// the receive queue's drops.
func TestLiveBuiltInPage(t *testing.T) {
	ns := netnstest.New(t)
	curl := netnstest.Tool(t, "curl")
	pcap := filepath.Join(t.TempDir(), "http.pcapng")
	srv := demotest.Start(t, ns, demotest.Build(t), "--tap", "mtcp0", "--addr", "198.18.0.2/24", "--host-addr", "198.18.0.1/24",
		"--pcap", pcap)
	if !strings.Contains(srv.Ready, "serving the built-in page at http://198.18.0.2:80/") {
		t.Errorf("ready line %q", srv.Ready)
	}
	out, err := ns.Exec(t.Context(), curl, "-sS", "--max-time", "10", "http://198.18.0.2/").Output()
	if err != nil || string(out) != page {
		t.Fatalf("curl /: %v, %q; want the built-in page", err, out)
	}
	sum := srv.Stop()
	if !strings.Contains(sum, "; receive queue: 0 dropped (full), 0 oversize") {
		t.Errorf("summary lacks the receive queue's drops: %s", sum)
	}
	if fi, err := os.Stat(pcap); err != nil || fi.Size() == 0 {
		t.Errorf("capture: %v", err)
	}
}

// TestLiveRefusedRunLeavesNothing: a run that cannot start (here: --netns names another
// namespace than the one it runs in) exits 1 with one line, and leaves neither the capture
// file nor the TAP device behind.
func TestLiveRefusedRunLeavesNothing(t *testing.T) {
	ns := netnstest.New(t)
	pcap := filepath.Join(t.TempDir(), "http.pcapng")
	cmd := ns.Exec(t.Context(), demotest.Build(t), "--tap", "mtcp0", "--netns", ns.Name()+"-other", "--pcap", pcap)
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 1 || strings.Count(string(out), "\n") != 1 ||
		!strings.Contains(string(out), "not inside a named network namespace") {
		t.Fatalf("exit %d (%v), output %q; want 1 and one line saying why", code, err, out)
	}
	if _, err := os.Stat(pcap); err == nil {
		t.Errorf("the refused run left %s behind", pcap)
	}
	if out, err := ns.Run("ip", "link", "show", "mtcp0"); err == nil {
		t.Errorf("the refused run left the TAP device behind:\n%s", out)
	}
}
