package script

import (
	"fmt"
	"strings"
	"testing"
)

// The peer's ISNs the mapping rules are tried with: zero, a small number, and one whose
// relative numbers wrap past 2^32.
var peerISNs = []uint32{0, 1000, 4294967000}

// passiveWithISN opens a connection from a peer SYN at isn and moves 10 bytes each way; every
// line without SYN uses relative numbers, as in packetdrill.
func passiveWithISN(isn uint32) string {
	return fmt.Sprintf(`
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S %d:%d(0) win 65535 <mss 1460,sackOK>
+0  > S. 0:0(0) ack %d <mss 1460,nop,nop,sackOK>
+.1 < . 1:1(0) ack 1 win 65535
+0  accept(3, ..., ...) = 4
+0  < P. 1:11(10) ack 1 win 65535
+0  read(4, ..., 100) = 10
+0  write(4, ..., 10) = 10
+0  > P. 1:11(10) ack 11
+.1 < . 11:11(0) ack 11 win 65535
`, isn, isn, isn+1)
}

// The rules of packetdrill's socket.h, each on a peer SYN at 0, at 1000 and near 2^32: a SYN
// line's numbers are absolute, a line without SYN counts from the ISNs, and the wire carries
// ISN + relative.
func TestSeqRemoteRelativeToPeerSYN(t *testing.T) {
	for _, isn := range peerISNs {
		t.Run(fmt.Sprint(isn), func(t *testing.T) {
			res := mustPass(t, passiveWithISN(isn), Config{})
			var wireSeq, wireAck []uint32
			for _, fr := range res.Frames() {
				if tc := fr.TCP(); tc != nil && len(tc.Payload) > 0 {
					if tc.DstPort == DefaultLocalPort { // the peer's data
						wireSeq = append(wireSeq, tc.Seq)
					} else { // the stack's data
						wireAck = append(wireAck, tc.Ack)
					}
				}
			}
			if len(wireSeq) != 1 || wireSeq[0] != isn+1 {
				t.Errorf("the peer's data went with seq %v on the wire, want %d (ISN + 1)", wireSeq, isn+1)
			}
			if len(wireAck) != 1 || wireAck[0] != isn+11 {
				t.Errorf("the stack's data acknowledged %v on the wire, want %d (ISN + 11)", wireAck, isn+11)
			}
		})
	}
}

// Negative control: absolute numbers in lines without SYN are wrong whenever the ISN is not 0.
func TestSeqAbsoluteNumbersMisread(t *testing.T) {
	src := strings.Replace(passiveWithISN(1000), "> P. 1:11(10) ack 11", "> P. 1:11(10) ack 1011", 1)
	mustFail(t, src, Config{}, 12, "ack 11, want 1011")
}

// The stack's SYN-ACK acknowledges the peer's SYN with an absolute number, whatever the ISN.
func TestSeqSynAckAbsolute(t *testing.T) {
	src := strings.Replace(passiveWithISN(1000), "ack 1001 <mss", "ack 1 <mss", 1)
	mustFail(t, src, Config{}, 6, "ack 1001, want 1")
}

// An active open: the peer's ISN is its SYN-ACK's sequence number.
func TestSeqActiveOpenPeerISN(t *testing.T) {
	for _, isn := range peerISNs {
		t.Run(fmt.Sprint(isn), func(t *testing.T) {
			mustPass(t, fmt.Sprintf(`
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0  connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0  > S 0:0(0) <...>
+.1 < S. %d:%d(0) ack 1 win 65535 <mss 1460>
+0  > . 1:1(0) ack 1
+0  < P. 1:5(4) ack 1 win 65535
+0  read(3, ..., 100) = 4
+.2 > . 1:1(0) ack 5
`, isn, isn), Config{})
		})
	}
}

// A later SYN on the connection (RFC 5961 4.2) keeps the peer's ISN: its own sequence number
// is absolute, and the challenge ACK counts from the first SYN.
func TestSeqLaterSYNKeepsPeerISN(t *testing.T) {
	for _, isn := range peerISNs {
		t.Run(fmt.Sprint(isn), func(t *testing.T) {
			mustPass(t, passiveWithISN(isn)+fmt.Sprintf(`
+.1 < S %d:%d(0) win 65535 <mss 1460>
+0  > . 11:11(0) ack 11
+0  < . 11:11(0) ack 11 win 65535
`, isn+5, isn+5), Config{})
		})
	}
}

// SACK blocks count as the line's ack: the stack's blocks in the peer's space, the peer's in
// the stack's.
func TestSeqSACKBlocks(t *testing.T) {
	for _, isn := range peerISNs {
		t.Run(fmt.Sprint(isn), func(t *testing.T) {
			mustPass(t, passiveWithISN(isn)+`
+0  < P. 21:31(10) ack 11 win 65535
+0  > . 11:11(0) ack 11 <nop,nop,sack 21:31>
+0  < P. 11:21(10) ack 11 win 65535
+0  > . 11:11(0) ack 31
+0  write(4, ..., 2920) = 2920
+0  > . 11:1471(1460) ack 31
+0  > P. 1471:2931(1460) ack 31
+.1 < . 31:31(0) ack 11 win 65535 <nop,nop,sack 1471:2931>
+0  < . 31:31(0) ack 2931 win 65535
`, Config{})
		})
	}
}

// In a segment without SYN the stack's numbers count from its ISN, whatever the script called
// the ISN in its SYN line ("> S. 100:100(0)"), as packetdrill's local_seq_script_to_live_offset.
func TestSeqStackISNNonZeroInScript(t *testing.T) {
	src := strings.Replace(passiveWithISN(0), "> S. 0:0(0)", "> S. 100:100(0)", 1)
	mustPass(t, src, Config{})
}

// The FreeBSD fork's forms: "S:E(L)!" is the wire's number, "...(L)" any number.
func TestSeqAbsoluteAndAny(t *testing.T) {
	base := passiveWithISN(1000)
	mustPass(t, base+`
+0  < P. 1011:1021(10)! ack 11 win 65535
+0  read(4, ..., 100) = 10
+0  write(4, ..., 10) = 10
+0  > P. ...(10) ack 21
`, Config{})
	// Controls: without '!' the same number is relative, 1000 past the window's start, so
	// nothing arrives; a sequence number in place of '...' is checked.
	mustFail(t, base+`
+0  < P. 1011:1021(10) ack 11 win 65535
+0  read(4, ..., 100) = 10
`, Config{}, 16, "read() was still blocked when the script ended")
	mustFail(t, base+`
+0  write(4, ..., 10) = 10
+0  > P. 7:17(10) ack 11
`, Config{}, 16, "seq 11, want 7")
}
