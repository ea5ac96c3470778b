package replay

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/mtcp-go/mtcp/stack/tcp"
)

// segWithTS is a TCP header with NOP, NOP and a timestamp option.
func segWithTS(val, ecr uint32) []byte {
	seg := make([]byte, 32)
	seg[12] = 8 << 4
	copy(seg[20:], []byte{1, 1, 8, 10})
	binary.BigEndian.PutUint32(seg[24:], val)
	binary.BigEndian.PutUint32(seg[28:], ecr)
	return seg
}

// The peer's TS ecr echoes the recorded host's clock; the stack must read it as an echo of
// its own (rebaseTSEcr); an ecr of 0 echoes nothing and stays. A held ACK given back later
// carries at least the peer's newest TSval (raiseTSVal), never a lower one.
func TestTimestampRewrites(t *testing.T) {
	seg := segWithTS(500, 1000)
	rebaseTSEcr(seg, 900, 70000) // the host's first TSval 900, the stack's 70000
	if ecr := binary.BigEndian.Uint32(seg[28:]); ecr != 70100 {
		t.Errorf("ecr 1000 rebased to %d, want 70100", ecr)
	}
	zero := segWithTS(500, 0)
	rebaseTSEcr(zero, 900, 70000)
	if ecr := binary.BigEndian.Uint32(zero[28:]); ecr != 0 {
		t.Errorf("ecr 0 rebased to %d, want 0", ecr)
	}
	raiseTSVal(seg, 600)
	if val := binary.BigEndian.Uint32(seg[24:]); val != 600 {
		t.Errorf("TSval 500 raised to %d, want 600", val)
	}
	raiseTSVal(seg, 550)
	if val := binary.BigEndian.Uint32(seg[24:]); val != 600 {
		t.Errorf("TSval 600 lowered to %d", val)
	}
}

// The stack's extensions follow what the recorded host's SYNs show, ECN included: it asked
// (on), it only answered (passive), it was asked and did not answer (off), never seen (the
// stack's default).
func TestTCPConfigLike(t *testing.T) {
	for _, c := range []struct {
		o       synOptions
		ts, sk  tcp.Switch
		ecn     tcp.ECNMode
		ecnSays string
	}{
		{synOptions{timestamps: 1, sack: 1}, tcp.On, tcp.On, tcp.ECNDefault, "ECN as by default"},
		{synOptions{sack: 2, ecnAsked: 1}, tcp.Off, tcp.On, tcp.ECNOn, "ECN on"},
		{synOptions{timestamps: 1, ecnAnswered: 1, peerAskedECN: 1}, tcp.On, tcp.Off, tcp.ECNPassive, "ECN passive"},
		{synOptions{peerAskedECN: 1}, tcp.Off, tcp.Off, tcp.ECNOff, "ECN off"},
	} {
		cfg, says := tcpConfigLike(&c.o)
		if cfg.Timestamps != c.ts || cfg.SACK != c.sk || cfg.ECN != c.ecn {
			t.Errorf("%+v: timestamps %v, SACK %v, ECN %v; want %v, %v, %v", c.o, cfg.Timestamps, cfg.SACK, cfg.ECN, c.ts, c.sk, c.ecn)
		}
		if !strings.Contains(says, c.ecnSays) {
			t.Errorf("%+v: report %q lacks %q", c.o, says, c.ecnSays)
		}
	}
	if cfg, says := tcpConfigLike(nil); cfg != (tcp.Config{}) || says != "" {
		t.Errorf("no SYN from the host: %+v %q, want the defaults and nothing said", cfg, says)
	}
}
