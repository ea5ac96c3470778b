package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtcp-go/mtcp/examples/internal/demotest"
	"github.com/mtcp-go/mtcp/internal/netns/netnstest"
	"github.com/mtcp-go/mtcp/internal/pcapngtest"
)

// TestLiveEcho runs the echo server on a TAP device in a namespace made for the test and talks
// to it with a real socat, then checks the capture with tshark.
func TestLiveEcho(t *testing.T) {
	ns := netnstest.New(t)
	socat := netnstest.Tool(t, "socat")
	netnstest.Tool(t, "tshark") // before the run: without tshark, skip (fail under CI=true)
	pcap := filepath.Join(t.TempDir(), "echo.pcapng")
	srv := demotest.Start(t, ns, demotest.Build(t), "--tap", "mtcp1", "--addr", "198.18.1.2/24", "--host-addr", "198.18.1.1/24",
		"--port", "7", "--pcap", pcap)
	t.Logf("echo: %s", srv.Ready)
	for _, line := range []string{"hello", "a second connection"} {
		cmd := ns.Exec(t.Context(), "timeout", "10", socat, "-t", "2", "-", "TCP:198.18.1.2:7")
		cmd.Stdin = strings.NewReader(line + "\n")
		out, err := cmd.Output()
		if err != nil || string(out) != "echo: "+line+"\n" {
			t.Fatalf("socat got %q (%v), want %q", out, err, "echo: "+line+"\n")
		}
	}
	t.Logf("shutdown: %s", srv.Stop())
	if out := pcapngtest.Tshark(t, pcap, "-q", "-z", "expert"); strings.Contains(out, "Malformed") {
		t.Fatalf("tshark expert:\n%s", out)
	}
}
