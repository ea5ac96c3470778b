package conformance

import (
	"time"

	"github.com/gopacket/gopacket/layers"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
)

// block is the SACK block of bytes [from, to) past the peer's next sequence number.
func (k *tcpConn) block(from, to uint32) SACKBlock { return blk(k.nxt+from, k.nxt+to) }

// blk is the SACK block [left, right).
func blk(left, right uint32) SACKBlock { return SACKBlock{Left: left, Right: right} }

// sackAck injects an ACK of everything before seq (a hole at seq) with these SACK blocks.
func (k *tcpConn) sackAck(ack uint32, blocks ...SACKBlock) {
	GinkgoHelper()
	s := k.seg(ACK, nil)
	s.Ack = ack
	if len(blocks) > 0 {
		s.Options = k.opts(NOPOption, NOPOption, SACKOption(blocks...))
	}
	k.inject(s)
}

// flight makes the stack send n full segments of data, growing the window in slow start as a
// prompt receiver would, and returns the last n segments sent at once: the flight to lose
// some of.
func (k *tcpConn) flight(n int, mss int) []*Frame {
	GinkgoHelper()
	k.write(pattern(3*mss + n*mss))
	first := []*Frame{k.next(PayloadLen(mss)), k.next(PayloadLen(mss)), k.next(PayloadLen(mss))}
	var out []*Frame
	for _, f := range first {
		k.ackUpTo(f)
		for g := k.b.TryNextWithin(0); g != nil; g = k.b.TryNextWithin(0) {
			Expect(g).To(k.is(PayloadLen(mss)))
			k.saw(g)
			out = append(out, g)
		}
	}
	Expect(out).To(HaveLen(n))
	return out
}

func span(fs ...*Frame) SACKBlock { return blk(fs[0].TCP().Seq, seqEnd(fs[len(fs)-1])) }

var _ = Describe("TCP selective acknowledgment (RFC 2018, RFC 2883, RFC 6675)", Label("tcp"), func() {
	Spec("SK1", func() {
		b := NewBench()
		ln := listen(b)
		// Passive, the SYN offers SACK: the SYN-ACK agrees, and out-of-order data draws blocks.
		k := accept(b, ln, peerSACK())
		Expect(k.syn).To(k.is(HasOption(sackOKKind)))
		k.outOfOrder(10, []byte("later"))
		k.next(Flags(ACK), Ack(k.nxt), SACKBlocks([]SACKBlock{k.block(10, 15)}))
		// Passive, without: nothing agreed, no blocks.
		k2 := accept(b, ln, fromPort(40001))
		Expect(k2.syn).To(k2.is(WithoutOption(sackOKKind)))
		k2.outOfOrder(10, []byte("later"))
		k2.next(Flags(ACK), Ack(k2.nxt), WithoutOption(sackKind))
		// Active: the SYN offers it; the SYN-ACK decides.
		k3 := dial(b, fromPort(8080), peerSACK())
		Expect(k3.syn).To(k3.is(Flags(SYN), HasOption(sackOKKind)))
		k3.outOfOrder(10, []byte("later"))
		k3.next(Flags(ACK), Ack(k3.nxt), SACKBlocks([]SACKBlock{k3.block(10, 15)}))
		k4 := dial(b, fromPort(8081))
		k4.outOfOrder(10, []byte("later"))
		k4.next(Flags(ACK), Ack(k4.nxt), WithoutOption(sackKind))
		// Switched off (Config.SACK Off): not offered, not answered.
		b2 := newBenchWith("net.ipv4.tcp_sack=0")
		k5 := accept(b2, listen(b2), peerSACK())
		Expect(k5.syn).To(k5.is(WithoutOption(sackOKKind)))
		k5.outOfOrder(10, []byte("later"))
		k5.next(Flags(ACK), Ack(k5.nxt), WithoutOption(sackKind))
	})

	Spec("SK2", func() {
		b := NewBench()
		ln := listen(b)
		// With timestamps, three blocks fit beside them (RFC 2018 3): the block with the latest
		// segment first, then the others as last reported (RFC 2018 4).
		k := accept(b, ln, peerSACK(), peerTimestamps())
		a, bb, c, d, e := k.block(10, 20), k.block(30, 40), k.block(50, 60), k.block(70, 80), k.block(90, 100)
		for _, want := range [][]SACKBlock{{a}, {bb, a}, {c, bb, a}, {d, c, bb}, {e, d, c}} {
			k.outOfOrder(want[0].Left-k.nxt, pattern(10))
			k.next(Flags(ACK), Ack(k.nxt), SACKBlocks(want))
		}
		// Data between B and C joins them: the joined block goes first, whole.
		k.outOfOrder(40, pattern(10))
		bc := blk(bb.Left, c.Right)
		k.next(Flags(ACK), Ack(k.nxt), SACKBlocks([]SACKBlock{bc, e, d}))
		// The first hole filled: what it joins is delivered, and its block goes.
		k.send(ACK|PSH, pattern(10))
		k.nxt += 10 // A came in order after it
		k.next(Flags(ACK), Ack(k.nxt), SACKBlocks([]SACKBlock{bc, e, d}))
		Expect(k.read()).To(HaveLen(20))
		// Without timestamps, four fit.
		k2 := accept(b, ln, fromPort(40001), peerSACK())
		var want []SACKBlock
		for _, off := range []uint32{10, 30, 50, 70, 90} {
			k2.outOfOrder(off, pattern(10))
			want = append([]SACKBlock{k2.block(off, off+10)}, want...)
			k2.next(Flags(ACK), Ack(k2.nxt), SACKBlocks(want[:min(len(want), 4)]))
		}
		// The ACK of the segment that fills the first hole is immediate (RFC 5681 4.2) and still
		// reports the four blocks beyond the next hole.
		k2.send(ACK|PSH, pattern(10))
		k2.next(Flags(ACK), Ack(k2.nxt+10), SACKBlocks(HaveLen(4)))
	})

	Spec("SK3", func() {
		b := NewBench()
		k := accept(b, listen(b), peerSACK())
		k.send(ACK|PSH, []byte("0123456789"))
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt))
		// A duplicate of data acknowledged already: the ACK reports it in a D-SACK block
		// (RFC 2883 4.1.1)...
		dup := k.seg(ACK|PSH, []byte("0123456789"))
		dup.Seq = k.nxt - 10
		k.inject(dup)
		k.next(Flags(ACK), Ack(k.nxt), SACKBlocks([]SACKBlock{blk(k.nxt-10, k.nxt)}))
		// ...once: the next ACK has none.
		k.send(ACK|PSH, []byte("ab"))
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt), WithoutOption(sackKind))
		// A duplicate of data held out of order: the D-SACK block, then the block it lies in
		// (RFC 2883 4.1.2).
		k.outOfOrder(10, []byte("xyz"))
		k.next(Flags(ACK), Ack(k.nxt), SACKBlocks([]SACKBlock{k.block(10, 13)}))
		k.outOfOrder(11, []byte("y"))
		k.next(Flags(ACK), Ack(k.nxt), SACKBlocks([]SACKBlock{k.block(11, 12), k.block(10, 13)}))
		// Half old, half new: the old half is reported, at once (RFC 2883 4.1.1).
		half := k.seg(ACK|PSH, []byte("45678"))
		half.Seq = k.nxt - 2
		k.inject(half)
		k.nxt += 3
		k.next(Flags(ACK), Ack(k.nxt), SACKBlocks([]SACKBlock{blk(k.nxt-5, k.nxt-3), blk(k.nxt+7, k.nxt+10)}))
		Expect(k.read()).To(Equal([]byte("0123456789ab678")))
	})

	Spec("SK4", func() {
		// RFC 6675 on its own: RACK off.
		b := newBenchWith("net.ipv4.tcp_recovery=0")
		k := accept(b, listen(b), peerSACK())
		fl := k.flight(6, stackMSS)
		s1, s2, s3, s4, s5, s6 := fl[0], fl[1], fl[2], fl[3], fl[4], fl[5]
		una := s1.TCP().Seq
		// s1 and s4 are lost. Two SACKs are not enough (DupThresh 3; RFC 3042 would send new
		// data, but there is none left).
		k.sackAck(una, span(s2))
		k.sackAck(una, span(s2, s3))
		b.ExpectNothing()
		// The third: s1 is lost (three segments SACKed above it): it goes at once, and the
		// window halves (RFC 6675 5 (4)).
		k.sackAck(una, span(s5), span(s2, s3))
		k.next(Seq(una), PayloadLen(stackMSS))
		Expect(k.c.Info().SsthreshSegs).To(Equal(3))
		Expect(k.c.Info().CwndSegs).To(Equal(3))
		Expect(k.c.Info().InRecovery).To(BeTrue())
		// The fourth: cwnd - pipe = 1 segment. s4, below the highest SACK and not sent again,
		// goes (NextSeg rule 3); s2, s3, s5 and s6, SACKed, never do.
		k.sackAck(una, span(s5, s6), span(s2, s3))
		k.next(Seq(s4.TCP().Seq), PayloadLen(stackMSS))
		b.ExpectNothing()
		// The retransmissions arrive: everything is acknowledged; recovery ends at the recovery
		// point, with cwnd = ssthresh, and nothing more is sent.
		k.sackAck(s4.TCP().Seq, span(s5, s6))
		b.ExpectNothing()
		k.sackAck(seqEnd(s6))
		Expect(k.c.Info().InRecovery).To(BeFalse())
		Expect(k.c.Info().CwndSegs).To(Equal(3))
		b.ExpectNothingFor(5 * time.Second)
		Expect(k.c.Info().Backoffs).To(BeZero())
	})

	Spec("SK5", func() {
		b := NewBench()
		k := accept(b, listen(b), peerSACK())
		k.write(pattern(3 * stackMSS))
		s1, s2, s3 := k.next(PayloadLen(stackMSS)), k.next(PayloadLen(stackMSS)), k.next(PayloadLen(stackMSS))
		una := s1.TCP().Seq
		// The peer SACKs s2 and s3; s1 is lost and goes again (RACK).
		b.Advance(10 * time.Millisecond)
		k.sackAck(una, span(s2, s3))
		k.nextWithin(time.Second, Seq(una), Payload(s1.TCP().Payload))
		// The peer reneges: it acknowledges s1 only and reports nothing more (RFC 2018 8). The
		// stack freed nothing it SACKed: at the timeout it sends s2 and s3 again, byte for byte.
		k.sackAck(s2.TCP().Seq)
		f := k.nextWithin(2*time.Second, Seq(s2.TCP().Seq), Payload(s2.TCP().Payload))
		k.ackUpTo(f)
		k.nextWithin(time.Second, Seq(s3.TCP().Seq), Payload(s3.TCP().Payload))
		k.sackAck(seqEnd(s3))
		b.ExpectNothingFor(5 * time.Second)
	})

	Spec("SK6", func() {
		// RACK off: the scoreboard is RFC 6675's alone.
		b := newBenchWith("net.ipv4.tcp_recovery=0")
		k := accept(b, listen(b), peerSACK())
		k.write(pattern(3 * stackMSS))
		s1, s2, s3 := k.next(PayloadLen(stackMSS)), k.next(PayloadLen(stackMSS)), k.next(PayloadLen(stackMSS))
		una, nxt := s1.TCP().Seq, seqEnd(s3)
		before := counter(b, "TcpExtTCPSACKDiscard")
		// Reversed, below SND.UNA, past SND.NXT, straddling SND.NXT: ignored (RFC 2018, RFC
		// 6675), so the scoreboard holds nothing SACKed and nothing lost.
		b.Advance(10 * time.Millisecond)
		k.sackAck(una, blk(seqEnd(s2), s2.TCP().Seq), blk(una-100, una-1), blk(nxt, nxt+1000), blk(s3.TCP().Seq, nxt+10))
		Expect(counter(b, "TcpExtTCPSACKDiscard") - before).To(BeEquivalentTo(4))
		Expect(k.c.Info().SackedSegs).To(BeZero())
		Expect(k.c.Info().LostSegs).To(BeZero())
		// A SACK option of a length that is not 2 + 8n is malformed: the segment is dropped.
		bad := k.seg(ACK, nil)
		bad.Ack = una
		bad.Options = []layers.TCPOption{NOPOption, NOPOption, SACKOption(span(s2))}
		b.Inject(k.packet(bad).MutateTCP("SACK option length 11", func(t []byte) { t[23] = 11 }))
		Expect(k.c.Info().SackedSegs).To(BeZero())
		b.ExpectNothing()
		// The positive control: good blocks mark s2 and s3 in the scoreboard.
		k.sackAck(una, span(s2, s3))
		Expect(k.c.Info().SackedSegs).To(Equal(2))
		Expect(counter(b, "TcpExtTCPSACKDiscard") - before).To(BeEquivalentTo(4))
	})
})
