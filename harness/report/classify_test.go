package report

import (
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func TestJudgeReadsTheComments(t *testing.T) {
	for _, tc := range []struct {
		comments []string
		inbound  bool
		want     verdict
	}{
		{[]string{"met: ARP reply with sender IP 198.18.0.2"}, false, verdict{class: held}},
		{[]string{"expected instead: TCP segment with flags (SYN|ACK or SYN|ACK|ECE), ack 1001 (flags: want SYN|ACK, got RST|ACK; ack: want 1001, got 0)"}, false,
			verdict{class: failed, expected: "TCP segment with flags (SYN|ACK or SYN|ACK|ECE), ack 1001", why: "flags: want SYN|ACK, got RST|ACK; ack: want 1001, got 0"}},
		// A script's failures, as the runner writes them.
		{[]string{"line 5: expected instead: 0.000000 > S. 0:0(0) ack 1 win 5840 <mss 1460> (win 65535, want 5840)"}, false,
			verdict{class: failed, line: "line 5: ", expected: "0.000000 > S. 0:0(0) ack 1 win 5840 <mss 1460>", why: "win 65535, want 5840"}},
		{[]string{"line 9: expected instead: 1.000000 > . 1:1(0) ack 1 (sent 200ms too early)"}, false,
			verdict{class: failed, line: "line 9: ", expected: "1.000000 > . 1:1(0) ack 1", why: "sent 200ms too early"}},
		{[]string{"line 7: expected instead: nothing until 3.000000 s"}, false,
			verdict{class: failed, line: "line 7: ", expected: "nothing until 3.000000 s"}},
		{[]string{"expected instead: nothing (--strict: no outbound line expects this packet)"}, false,
			verdict{class: failed, expected: "nothing", why: "--strict: no outbound line expects this packet"}},
		// ... and as it wrote them before.
		{[]string{"line 5: FAILED: win 65535, want 5840; expected 0.000000 > S. 0:0(0) ack 1 win 5840 <mss 1460>"}, false,
			verdict{class: failed, line: "line 5: ", expected: "0.000000 > S. 0:0(0) ack 1 win 5840 <mss 1460>", why: "win 65535, want 5840"}},
		{[]string{"line 9: FAILED: sent 0.2s too early; expected 1.000000 > . 1:1(0) ack 1"}, false,
			verdict{class: failed, line: "line 9: ", expected: "1.000000 > . 1:1(0) ack 1", why: "sent 0.2s too early"}},
		{[]string{"line 7: FAILED: expected nothing until 3.000000"}, false,
			verdict{class: failed, line: "line 7: ", expected: "nothing until 3.000000 s", why: "the stack sent a packet"}},
		{[]string{"FAILED (strict): no outbound line expects this packet"}, false,
			verdict{class: failed, expected: "nothing", why: "no outbound line expects this packet"}},
		{[]string{"unexpected: the spec expected nothing for 3s"}, false, verdict{class: failed, expected: "nothing", why: "the spec expected nothing for 3s"}},
		{[]string{"oracle: TCP checksum is wrong"}, false, verdict{class: failed, expected: "correct checksums", why: "TCP checksum is wrong"}},
		{[]string{"corresponds to capture frame 4", "DIFFERENT: window 65535, recorded 64240 (a SYN's window is not scaled) (recorded: S. 0:0(0) ack 1 win 64240)"}, false,
			verdict{class: failed, expected: "the recorded host's S. 0:0(0) ack 1 win 64240", why: "window 65535, recorded 64240 (a SYN's window is not scaled)"}},
		{[]string{"corresponds to capture frames 7 and 8"}, false, verdict{class: held}},
		{[]string{"line 5: +0 > S. 0:0(0) ack 1 win 65535 <mss 1460>"}, false, verdict{class: held}},
		{[]string{"injected: line 4: +0 < S 0:0(0) win 65535 <mss 1460>"}, true, verdict{}},
		{[]string{"injected: TCP 40000 → 80 [PSH|ACK] Seq=1 Ack=1 Win=1 Len=7, TCP checksum inverted"}, true, verdict{class: damaged, why: "TCP checksum inverted"}},
		{[]string{"injected: line 6: 0 < icmp echo_request id 1 [raw (3)] bad_checksum"}, true, verdict{class: damaged, why: "line 6: 0 < icmp echo_request id 1 [raw (3)] bad_checksum"}},
		{[]string{"capture frame 12", "damaged: injected as captured"}, true, verdict{class: damaged, why: "injected as captured"}},
		{[]string{"injected: ICMP echo request id=0x0001 seq=1, 3 data bytes, cut to 30 bytes"}, true, verdict{class: damaged, why: "cut to 30 bytes"}},
		{[]string{"ARP request for the peer: answered by the bench"}, false, verdict{class: bench}},
		{[]string{"the bench answers the stack's ARP request"}, true, verdict{class: bench}},
		{[]string{"sent after the last line; no line expects it"}, false, verdict{}},
		{nil, false, verdict{}},
	} {
		if got := judge(tc.comments, tc.inbound); got != tc.want {
			t.Errorf("judge(%q) = %+v, want %+v", tc.comments, got, tc.want)
		}
	}
}

func TestInspectFindsDamage(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"sound", tcpFrame(t, seg{flags: "S", seq: 1, win: 1}), ""},
		{"unknown protocol", unknownProtocol(t), ""},
		{"bad TCP checksum", tcpFrame(t, seg{flags: "S", seq: 1, win: 1, badChecksum: true}), "TCP checksum is wrong"},
		{"bad header checksum", tcpFrame(t, seg{flags: "S", seq: 1, win: 1, corruptIPChecksm: true}), "IPv4 header checksum"},
		{"cut short", tcpFrame(t, seg{flags: "S", seq: 1, win: 1, truncateTo: 14 + 20 + 10}), "truncated"},
	} {
		p := gopacket.NewPacket(tc.data, layers.LayerTypeEthernet, gopacket.Default)
		got := inspect(tc.data, p)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: inspect = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// unknownProtocol is an IPv4 datagram of protocol 253, which gopacket has no decoder for.
func unknownProtocol(t *testing.T) []byte {
	eth, ip := ethIP(false, nil, nil, 253)
	return serialize(t, eth, ip, gopacket.Payload("experiment"))
}
