package conformance

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
)

// ce injects data marked CE by a router on the way (RFC 3168 5), with extra flags.
func (k *tcpConn) ce(flags TCPFlags, data []byte) {
	GinkgoHelper()
	k.b.Inject(k.packet(k.seg(flags, data)).ECN(CE))
	k.nxt += uint32(len(data))
}

var _ = Describe("TCP explicit congestion notification (RFC 3168)", Label("tcp"), func() {
	Spec("EC1", func() {
		b := NewBench()
		ln := listen(b)
		// Passive, the default: an ECN-setup SYN (ECE and CWR) draws an ECN-setup SYN-ACK (ECE
		// alone, RFC 3168 6.1.1).
		k := accept(b, ln, peerECN())
		Expect(k.syn).To(k.is(Flags(SYN | ACK | ECE)))
		k.write([]byte("x"))
		k.next(Payload([]byte("x")), IPECN(ECT0))
		// A SYN that does not ask gets no ECE, and data is not ECN-capable.
		k2 := accept(b, ln, fromPort(40001))
		Expect(k2.syn).To(k2.is(Flags(SYN | ACK)))
		k2.write([]byte("y"))
		k2.next(Payload([]byte("y")), IPECN(NotECT))
		// Passive: the stack's own SYN does not ask.
		k3 := dial(b, fromPort(8080), peerECN())
		Expect(k3.syn).To(k3.is(Flags(SYN)))

		// Config.ECN On: the SYN asks; an ECN-setup SYN-ACK agrees.
		b2 := newBenchWith("net.ipv4.tcp_ecn=1")
		k4 := dial(b2, fromPort(8080), peerECN())
		Expect(k4.syn).To(k4.is(Flags(SYN | ECE | CWR)))
		k4.write([]byte("z"))
		k4.ackUpTo(k4.next(Payload([]byte("z")), IPECN(ECT0)))
		// A retransmitted SYN does not ask (RFC 3168 6.1.1.1: a middlebox may drop such SYNs).
		_, syn := startDial(b2, 8081)
		Expect(syn).To(BeTCP(Flags(SYN | ECE | CWR)))
		Expect(b2.NextWithin(2 * time.Second)).To(BeTCP(Flags(SYN), DstPort(8081)))
		// Config.ECN Off: an ECN-setup SYN is answered without ECE.
		b3 := newBenchWith("net.ipv4.tcp_ecn=0")
		k5 := accept(b3, listen(b3), peerECN())
		Expect(k5.syn).To(k5.is(Flags(SYN | ACK)))
	})

	Spec("EC2", func() {
		b := NewBench()
		k := accept(b, listen(b), peerECN())
		// ECT(0) on new data only (RFC 3168 6.1.1, 6.1.4, 6.1.5): not the SYN-ACK, not pure
		// ACKs, not a retransmission, not a window probe.
		Expect(k.syn).To(k.is(IPECN(NotECT)))
		k.write([]byte("data"))
		f := k.next(Payload([]byte("data")), IPECN(ECT0))
		k.nextWithin(2*time.Second, Seq(f.TCP().Seq), Payload([]byte("data")), IPECN(NotECT))
		k.send(ACK|PSH, []byte("x"))
		k.nextWithin(time.Second, Flags(ACK), PayloadLen(0), IPECN(NotECT))
		k.win = 0
		k.send(ACK, nil)
		k.write([]byte("more"))
		k.nextWithin(2*time.Second, Flags(ACK), Seq(k.ack-1), PayloadLen(0), IPECN(NotECT))
	})

	Spec("EC3", func() {
		b := NewBench()
		k := accept(b, listen(b), peerECN())
		// A CE mark: acknowledged at once (our policy, as Linux), with ECE (RFC 3168 6.1.3).
		k.ce(ACK|PSH, []byte("a"))
		k.next(Flags(ACK|ECE), Ack(k.nxt))
		// Every ACK echoes it until the peer's CWR.
		k.send(ACK|PSH, []byte("b"))
		k.nextWithin(time.Second, Flags(ACK|ECE), Ack(k.nxt))
		k.send(ACK|PSH|CWR, []byte("c"))
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt))
		// CE in a segment with CWR: the echo goes on.
		k.ce(ACK|PSH|CWR, []byte("d"))
		k.next(Flags(ACK|ECE), Ack(k.nxt))
		Expect(k.read()).To(Equal([]byte("abcd")))
	})

	Spec("EC4", func() {
		b := NewBench()
		k := accept(b, listen(b), peerECN())
		fl := k.flight(6, stackMSS)
		// ECE on the ACK of the first: the window halves, as for a loss (RFC 3168 6.1.2):
		// ssthresh = cwnd = max(FlightSize/2, 2·SMSS), FlightSize being the five still out.
		s := k.seg(ACK|ECE, nil)
		s.Ack = seqEnd(fl[0])
		k.inject(s)
		Expect(k.c.Info().SsthreshSegs).To(Equal(5/2), "2.5 segments: TCP_INFO counts whole ones")
		Expect(k.c.Info().CwndSegs).To(Equal(5/2), "2.5 segments: TCP_INFO counts whole ones")
		// A second ECE in the same window of data changes nothing more.
		s.Ack = seqEnd(fl[1])
		k.inject(s)
		Expect(k.c.Info().SsthreshSegs).To(Equal(5/2), "2.5 segments: TCP_INFO counts whole ones")
		Expect(k.c.Info().CwndSegs).To(Equal(5/2), "2.5 segments: TCP_INFO counts whole ones")
		// The next new data segment carries CWR, the one after it does not.
		k.ackUpTo(fl[5])
		k.write(pattern(2 * stackMSS))
		k.next(Flags(ACK|CWR), PayloadLen(stackMSS), IPECN(ECT0))
		k.next(Flags(ACK|PSH), PayloadLen(stackMSS), IPECN(ECT0))
	})

	Spec("EC5", func() {
		b := NewBench()
		k := accept(b, listen(b)) // no ECN
		k.write(pattern(3 * stackMSS))
		f := k.next(PayloadLen(stackMSS))
		k.next(PayloadLen(stackMSS))
		k.next(PayloadLen(stackMSS))
		// ECE on a connection that did not negotiate ECN means nothing: no reduction, no CWR.
		cwnd := k.c.Info().CwndSegs
		s := k.seg(ACK|ECE, nil)
		s.Ack = seqEnd(f)
		k.inject(s)
		Expect(k.c.Info().CwndSegs).To(Equal(cwnd + 1)) // slow start goes on
		Expect(k.c.Info().SsthreshSegs).To(Equal(infiniteSsthresh))
		k.write(pattern(stackMSS))
		k.next(Flags(ACK|PSH), PayloadLen(stackMSS), IPECN(NotECT))
		// A CE mark is not echoed, and the ACK is not hurried.
		t0 := b.Elapsed()
		k.ce(ACK|PSH, []byte("a"))
		ack := k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt))
		Expect(ack.Offset - t0).To(Equal(delayedACK))
	})
})
