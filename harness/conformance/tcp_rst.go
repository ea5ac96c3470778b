package conformance

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/linuxabi"
)

// challengeACK is RFC 5961's answer to a suspicious segment: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
func (k *tcpConn) challengeACK() *FrameMatcher {
	return k.is(Flags(ACK), Seq(k.ack), Ack(k.nxt), PayloadLen(0))
}

// at returns seg(flags, nil) with sequence number seq.
func (k *tcpConn) at(flags TCPFlags, seq uint32) Segment {
	s := k.seg(flags, nil)
	s.Seq = seq
	return s
}

// stillUp checks that the connection still carries data from the peer.
func (k *tcpConn) stillUp() {
	GinkgoHelper()
	Expect(k.c.State()).To(Equal(TCPEstablished))
	k.send(ACK|PSH, []byte("still up"))
	k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt))
	Expect(k.read()).To(Equal([]byte("still up")))
}

var _ = Describe("TCP RST handling and blind-attack defences (RFC 5961, RFC 9293 3.10.7.4)", Label("tcp"), func() {
	Spec("S1", func() {
		b := NewBench()
		ln := listen(b)
		port := uint16(40001)
		open := func() *tcpConn {
			GinkgoHelper()
			port++
			return accept(b, ln, fromPort(port))
		}
		// reset sends a RST at RCV.NXT: the connection is gone at once, nothing is sent back.
		reset := func(k *tcpConn, flags TCPFlags, state TCPState, err error) {
			GinkgoHelper()
			Expect(k.c.State()).To(Equal(state))
			k.inject(k.seg(flags, nil))
			b.ExpectNothing()
			Expect(k.c.State()).To(Equal(TCPClose), "after a RST in %v", state)
			if err != nil && !k.c.closed { // a closed descriptor hears of nothing
				Expect(k.c.Err()).To(MatchError(err), "after a RST in %v", state)
			}
			k.expectGone()
		}
		k := open()
		reset(k, RST, TCPEstablished, linuxabi.ECONNRESET)

		k = open() // FIN-WAIT-1: our FIN not acknowledged
		k.close()
		k.next(Flags(FIN | ACK))
		reset(k, RST|ACK, TCPFinWait1, linuxabi.ECONNRESET)

		k = open() // FIN-WAIT-2
		k.close()
		k.next(Flags(FIN | ACK))
		k.send(ACK, nil)
		reset(k, RST, TCPFinWait2, linuxabi.ECONNRESET)

		k = open() // CLOSE-WAIT
		k.send(FIN|ACK, nil)
		k.next(Flags(ACK), Ack(k.nxt))
		reset(k, RST, TCPCloseWait, linuxabi.ECONNRESET)

		k = open() // CLOSING: FINs crossed
		k.close()
		k.next(Flags(FIN | ACK))
		s := k.seg(FIN|ACK, nil)
		s.Ack = k.iss + 1
		k.inject(s)
		k.nxt++
		k.next(Flags(ACK), Ack(k.nxt))
		reset(k, RST, TCPClosing, nil) // RFC 9293: CLOSED, no error to report

		k = open() // LAST-ACK
		k.send(FIN|ACK, nil)
		k.next(Flags(ACK), Ack(k.nxt))
		k.close()
		k.next(Flags(FIN | ACK))
		reset(k, RST, TCPLastAck, nil)

		b.ExpectNothingFor(time.Minute) // no retransmission of any of the FINs
	})

	Spec("S2", func() {
		b := NewBench()
		k := accept(b, listen(b))
		k.send(ACK|PSH, []byte("x"))
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt))
		Expect(k.read()).To(Equal([]byte("x")))
		// In the window, but not at RCV.NXT: a challenge ACK, and the connection stays.
		// Half a second apart: a connection sends at most one challenge ACK per 500 ms (S6).
		for _, s := range []Segment{k.at(RST, k.nxt+1), k.at(RST|ACK, k.nxt+100), k.at(RST, k.edge-1)} {
			k.inject(s)
			Expect(b.Next()).To(k.challengeACK())
			Expect(k.c.State()).To(Equal(TCPEstablished))
			b.ExpectNothingFor(500 * time.Millisecond)
		}
		k.stillUp()
		// The RST a real peer would send after the challenge, at RCV.NXT, resets.
		k.inject(k.seg(RST, nil))
		Expect(k.c.Err()).To(MatchError(linuxabi.ECONNRESET))
	})

	Spec("S3", func() {
		b := NewBench()
		k := accept(b, listen(b))
		// Left of the window, and far from it.
		for _, seq := range []uint32{k.nxt - 1, k.nxt - 70000, k.nxt + 1<<31} {
			k.inject(k.at(RST, seq))
			k.inject(k.at(RST|ACK, seq))
		}
		b.ExpectNothing()
		// Just past the right edge of the window the stack advertised last, and further on.
		k.send(ACK|PSH, []byte("x"))
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt))
		Expect(k.read()).To(Equal([]byte("x")))
		for _, seq := range []uint32{k.edge, k.edge + 1000, k.edge + 200000} {
			k.inject(k.at(RST, seq))
		}
		b.ExpectNothing()
		k.stillUp()
	})

	Spec("S4", func() {
		b := NewBench()
		k := accept(b, listen(b))
		// A SYN at RCV.NXT, inside the window, past it; with or without ACK: whatever its
		// sequence number, a challenge ACK, and no reset.
		for _, s := range []Segment{k.at(SYN, k.nxt), k.at(SYN, k.nxt+10), k.at(SYN, k.nxt+1<<30), k.at(SYN|ACK, k.nxt+5), k.at(SYN, k.irs)} {
			s.MSS = 1460
			k.inject(s)
			Expect(b.Next()).To(k.challengeACK())
			b.ExpectNothingFor(500 * time.Millisecond) // one challenge ACK per 500 ms (S6)
		}
		b.ExpectNothing()
		k.stillUp()
	})

	Spec("S5", func() {
		b := NewBench()
		k := accept(b, listen(b))
		k.write([]byte("hello")) // SND.UNA = ISS+1, SND.NXT = ISS+6
		k.next(Payload([]byte("hello")))
		// SEG.ACK > SND.NXT, and SEG.ACK < SND.UNA − MAX.SND.WND (65535): dropped, data and all,
		// and answered with an ACK.
		for i, ack := range []uint32{k.ack + 1, k.ack + 1<<20, k.iss + 1 - 65536, k.iss + 1 - 1<<20} {
			if i == 3 { // the old ones draw challenge ACKs: one per 500 ms (S6)
				b.ExpectNothingFor(500 * time.Millisecond)
			}
			s := k.seg(ACK|PSH, []byte("bad"))
			s.Ack = ack
			k.inject(s)
			k.next(Flags(ACK), Seq(k.ack), Ack(k.nxt))
		}
		Expect(k.read()).To(BeEmpty())
		// An old ACK within the range is only a duplicate: the segment's data is taken.
		s := k.seg(ACK|PSH, []byte("good"))
		s.Ack = k.iss + 1 - 1000
		k.inject(s)
		k.nxt += 4
		k.nextWithin(500*time.Millisecond, Flags(ACK), Ack(k.nxt))
		Expect(k.read()).To(Equal([]byte("good")))
		k.send(ACK, nil) // "hello" acknowledged
		b.ExpectNothingFor(5 * time.Second)
	})

	Spec("S6", func() {
		b := NewBench()
		ln := listen(b)
		k := accept(b, ln)
		// One connection: 150 RSTs and 50 SYNs that each deserve a challenge ACK, all in one
		// instant. The connection answers the first and nothing more for 500 ms.
		flood := func() {
			for i := range uint32(150) {
				k.inject(k.at(RST, k.nxt+1+i))
			}
			for i := range uint32(50) {
				k.inject(k.at(SYN, k.nxt+1+i))
			}
		}
		flood()
		Expect(b.Next()).To(k.challengeACK())
		b.ExpectNothingFor(500*time.Millisecond - time.Millisecond)
		b.Advance(time.Millisecond)
		flood()
		Expect(b.Next()).To(k.challengeACK())
		b.ExpectNothing()
		Expect(k.c.State()).To(Equal(TCPEstablished))
		k.stillUp()

		// Many connections, one bad RST each, all in one second: the layer answers a budget drawn
		// anew each second between 50 and 149 (tcp.DefaultChallengeACKs ± half), so the count an
		// off-path attacker sees varies by itself (CVE-2016-5696).
		const n = 200
		conns := make([]*tcpConn, n)
		for i := range conns {
			conns[i] = accept(b, ln, fromPort(uint16(41000+i)))
		}
		var counts []int
		for round := range 6 {
			b.Advance(time.Second)
			acks := 0
			for i, c := range conns {
				c.inject(c.at(RST, c.nxt+1+uint32(round)))
				if f := b.TryNextWithin(0); f != nil {
					Expect(f).To(conns[i].challengeACK())
					acks++
				}
			}
			Expect(acks).To(BeNumerically(">=", 50), "round %d", round)
			Expect(acks).To(BeNumerically("<", 150), "round %d", round)
			counts = append(counts, acks)
		}
		distinct := map[int]bool{}
		for _, c := range counts {
			distinct[c] = true
		}
		Expect(len(distinct)).To(BeNumerically(">", 1), "the same budget every second: %v", counts)
		for _, c := range conns {
			Expect(c.c.State()).To(Equal(TCPEstablished))
		}
	})
})
