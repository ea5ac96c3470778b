package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mtcp-go/mtcp/examples/internal/demotest"
	"github.com/mtcp-go/mtcp/internal/netns/netnstest"
	"github.com/mtcp-go/mtcp/internal/pcapngtest"
)

// TestLivePingAndARPing runs the demo on a TAP device inside a network namespace made for the
// test, and checks that the kernel's own ping and arping get answers, that SIGTERM stops the
// demo cleanly, and that the capture it wrote opens in tshark. The timeouts below bound real
// processes and a real kernel; they are not protocol timing.
func TestLivePingAndARPing(t *testing.T) {
	ns := netnstest.New(t)
	ping, arping := netnstest.Tool(t, "ping"), netnstest.Tool(t, "arping")
	netnstest.Tool(t, "tshark") // before the run: without tshark, skip (fail under CI=true)
	bin := demotest.Build(t)
	pcap := filepath.Join(t.TempDir(), "demo.pcapng")
	demo := demotest.Start(t, ns, bin, "--tap", "mtcp0", "--addr", "198.18.0.2/24", "--host-addr", "198.18.0.1/24",
		"--pcap", pcap, "--netns", ns.Name())
	t.Logf("demo: %s", demo.Ready)

	out, err := ns.Run(ping, "-c", "3", "-i", "0.2", "-W", "2", "198.18.0.2")
	if err != nil || !strings.Contains(out, "3 received") {
		t.Fatalf("ping: %v\n%s", err, out)
	}
	t.Logf("ping: %s", lastLines(out, 2))
	out, err = ns.Run(arping, "-c", "2", "-w", "5", "-i", "mtcp0", "198.18.0.2")
	if err != nil || !regexp.MustCompile(`2 packets received`).MatchString(out) {
		t.Fatalf("arping: %v\n%s", err, out)
	}
	if !strings.Contains(out, "02:00:c6:12:00:02") {
		t.Fatalf("arping answered by another MAC:\n%s", out)
	}
	t.Logf("shutdown: %s", demo.Stop())

	// The capture: tshark reads it without complaint, and every frame has a direction.
	tsOut := pcapngtest.Tshark(t, pcap)
	frames := strings.Count(tsOut, "\n")
	if frames < 8 {
		t.Fatalf("tshark shows %d frames, want >= 8 (3 echo pairs + ARP):\n%s", frames, tsOut)
	}
	for _, want := range []string{"Echo (ping) reply", "is at 02:00:c6:12:00:02"} {
		if !strings.Contains(tsOut, want) {
			t.Fatalf("capture lacks %q:\n%s", want, tsOut)
		}
	}
	in, outb := 0, 0
	for _, p := range pcapngtest.Read(t, pcap).Packets {
		switch p.Direction() {
		case pcapgo.NgEpbFlagDirectionInbound:
			in++
		case pcapgo.NgEpbFlagDirectionOutbound:
			outb++
		}
	}
	if in < 4 || outb < 4 || in+outb != frames {
		t.Fatalf("%d inbound, %d outbound of %d frames: every frame needs a direction", in, outb, frames)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " / ")
}
