package report

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func labels(t *testing.T, frames ...[]byte) []string {
	t.Helper()
	lb := newLabeler()
	var ls []label
	for _, f := range frames {
		ls = append(ls, lb.describe(gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)))
	}
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = lb.render(l)
	}
	return out
}

func TestLabelsAreInPacketdrillNotation(t *testing.T) {
	got := labels(t,
		tcpFrame(t, seg{flags: "S", seq: 1000, win: 65535, opts: []layers.TCPOption{mss(1460)}}),
		tcpFrame(t, seg{fromStack: true, flags: "S.", seq: 5000, ack: 1001, win: 65535, opts: []layers.TCPOption{mss(1460), sackOK, ts(1, 0), nop, wscale(7)}}),
		tcpFrame(t, seg{flags: ".", seq: 1001, ack: 5001, win: 65535, data: 1000}),
		tcpFrame(t, seg{fromStack: true, flags: ".", seq: 5001, ack: 1001, win: 65535, opts: []layers.TCPOption{nop, nop, sack(3001, 4001)}}),
		tcpFrame(t, seg{flags: "F.", seq: 2001, ack: 5001, win: 65535}),
		tcpFrame(t, seg{flags: "R", seq: 2002, win: 0}),
		tcpFrame(t, seg{flags: "P.", seq: 2002, ack: 5001, win: 100, data: 10, tos: 2}),
		arpFrame(t, true, layers.ARPRequest),
		arpFrame(t, false, layers.ARPReply),
		icmpFrame(t, false, 8, 0, 1, 1, nil),
		icmpFrame(t, true, 0, 0, 1, 1, []byte("abc")),
		icmpFrame(t, true, 3, 3, 0, 0, nil),
	)
	want := []string{
		"S 0:0(0) win 65535 <mss 1460>",
		"S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>",
		". 1:1001(1000) ack 1 win 65535",
		". 1:1(0) ack 1 win 65535 <nop,nop,sack 2001:3001>",
		"F. 1001:1001(0) ack 1 win 65535",
		"R 1002:1002(0) win 0",
		"[ect0] P. 1002:1012(10) ack 1 win 100",
		"ARP who-has 198.18.0.1 tell 198.18.0.2",
		"ARP reply 198.18.0.1 is-at 02:00:00:00:00:01",
		"ICMP echo request id 1 seq 1",
		"ICMP echo reply id 1 seq 1 (3 bytes)",
		"ICMP unreachable port",
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("frame %d: label %q, want %q", i+1, got[i], want[i])
		}
	}
}

// A connection without its SYN in the capture counts from the first number seen, less one,
// as Wireshark does; a second connection shows the ports on every TCP label; a frame between
// other addresses than the capture's usual pair names them.
func TestLabelsShowPortsAndAddressesOnlyWhenNeeded(t *testing.T) {
	got := labels(t,
		tcpFrame(t, seg{flags: ".", seq: 1000, ack: 5000, win: 100}),
		tcpFrame(t, seg{fromStack: true, flags: "R", seq: 5000, win: 0}),
		tcpFrame(t, seg{sport: 40001, dport: 81, flags: "S", seq: 7, win: 100}),
		tcpFrame(t, seg{flags: ".", seq: 1000, ack: 5000, win: 100, srcIP: []byte{198, 18, 0, 9}, dstIP: stackIP}),
	)
	want := []string{
		"40000>80 . 1:1(0) ack 1 win 100",
		"80>40000 R 1:1(0) win 0",
		"40001>81 S 0:0(0) win 100",
		"[198.18.0.9>198.18.0.2] 40000>80 . 1:1(0) ack 1 win 100",
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("frame %d: label %q, want %q", i+1, got[i], want[i])
		}
	}
}

func TestLabelsOfOddFrames(t *testing.T) {
	frag := tcpFrame(t, seg{flags: "S", seq: 1, win: 1, ipFlags: layers.IPv4MoreFragments, ipID: 0x1234})
	cutShort := tcpFrame(t, seg{flags: "S", seq: 1, win: 1, truncateTo: 14 + 20 + 10})
	badIHL := tcpFrame(t, seg{flags: "S", seq: 1, win: 1})
	badIHL[14] = 0x44
	got := labels(t, frag, cutShort, badIHL)
	for i, want := range []string{
		"IP fragment id 0x1234 offset 0 len 20 MF (tcp)",
		"TCP, cut short (10 bytes) [truncated]",
		"IPv4 198.18.0.1>198.18.0.2 proto 6, IHL 4, total length 40 (46 bytes) [malformed: Invalid (too small) IP header length (4 < 5)]",
	} {
		if got[i] != want {
			t.Errorf("frame %d: label %q, want %q", i+1, got[i], want)
		}
	}
}
