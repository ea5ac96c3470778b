package conformance

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
)

var _ = Describe("TCP RACK-TLP loss detection (RFC 8985)", Label("tcp"), func() {
	Spec("RK1", func() {
		b := NewBench()
		k := accept(b, listen(b), peerSACK()) // RTT 10 ms: SRTT and RACK.min_RTT 10 ms
		k.write(pattern(3 * stackMSS))
		s1, s2 := k.next(PayloadLen(stackMSS)), k.next(PayloadLen(stackMSS))
		k.next(PayloadLen(stackMSS))
		// One ACK SACKs s2, sent after s1: s1 is lost once RACK.rtt plus the reordering window
		// (min_RTT / 4 = 2.5 ms) have passed since it was sent (RFC 8985 6.2), with no third
		// duplicate ACK and no RTO.
		b.Advance(10 * time.Millisecond)
		sacked := b.Elapsed()
		k.sackAck(s1.TCP().Seq, span(s2))
		b.ExpectNothing()
		f := k.nextWithin(time.Second, Seq(s1.TCP().Seq), Payload(s1.TCP().Payload))
		Expect(f.Offset - sacked).To(Equal(2500 * time.Microsecond))
		Expect(k.c.Info().InRecovery).To(BeTrue())
		Expect(k.c.Info().Backoffs).To(BeZero())

		// RACK off: the same ACK is one duplicate, no loss; s1 waits for the RTO (1 s).
		b2 := newBenchWith("net.ipv4.tcp_recovery=0")
		k2 := accept(b2, listen(b2), peerSACK())
		k2.write(pattern(3 * stackMSS))
		t1, t2 := k2.next(PayloadLen(stackMSS)), k2.next(PayloadLen(stackMSS))
		k2.next(PayloadLen(stackMSS))
		b2.Advance(10 * time.Millisecond)
		k2.sackAck(t1.TCP().Seq, span(t2))
		f = k2.nextWithin(2*time.Second, Seq(t1.TCP().Seq))
		Expect(f.Offset - t1.Offset).To(Equal(rto))
	})

	Spec("RK2", func() {
		b := NewBench()
		ln := listen(b)
		k := accept(b, ln, peerSACK())
		k.write(pattern(2 * stackMSS))
		s1, s2 := k.next(PayloadLen(stackMSS)), k.next(PayloadLen(stackMSS))
		// s1 is acknowledged, s2, the tail, is lost: no later segment will draw a duplicate
		// ACK. The probe timeout is 2·SRTT, plus the worst-case delayed ACK (200 ms) with one
		// segment in flight (RFC 8985 7.2): the last segment goes again then, not at the RTO.
		b.Advance(10 * time.Millisecond)
		k.ackUpTo(s1)
		acked := b.Elapsed()
		f := k.nextWithin(time.Second, Seq(s2.TCP().Seq), Payload(s2.TCP().Payload))
		Expect(f.Offset - acked).To(Equal(2*10*time.Millisecond + 200*time.Millisecond))
		Expect(counter(b, "TcpExtTCPLossProbes")).To(BeEquivalentTo(1))
		// The probe repaired the tail: everything is acknowledged, nothing more goes.
		k.ackUpTo(f)
		b.ExpectNothingFor(5 * time.Second)

		// New data the congestion window held back goes as the probe instead (RFC 8985 7.3):
		// three segments fill the initial window, the fourth is the probe, 2·SRTT later (plus
		// 4 ms with more than one segment in flight: our policy, as Linux at HZ=250).
		k2 := accept(b, ln, fromPort(40001), peerSACK())
		k2.write(pattern(4 * stackMSS))
		u1 := k2.next(PayloadLen(stackMSS))
		k2.next(PayloadLen(stackMSS))
		u3 := k2.next(PayloadLen(stackMSS))
		b.ExpectNothing()
		probe := k2.nextWithin(time.Second, Seq(seqEnd(u3)), PayloadLen(stackMSS))
		Expect(probe.Offset - u1.Offset).To(Equal(2*10*time.Millisecond + 4*time.Millisecond))

		// The stack's default (TLPNewData off): the last segment goes again as the probe, which
		// any receiver acknowledges at once, even with new data waiting.
		b4 := newBenchWith("mtcp.tlp_new_data=0")
		k4 := accept(b4, listen(b4), fromPort(40002), peerSACK())
		k4.write(pattern(4 * stackMSS))
		v1 := k4.next(PayloadLen(stackMSS))
		k4.next(PayloadLen(stackMSS))
		v3 := k4.next(PayloadLen(stackMSS))
		b4.ExpectNothing()
		probe = k4.nextWithin(time.Second, Seq(v3.TCP().Seq), PayloadLen(stackMSS))
		Expect(probe.Offset - v1.Offset).To(Equal(2*10*time.Millisecond + 4*time.Millisecond))

		// RACK off: no probe; the tail waits for the RTO.
		b2 := newBenchWith("net.ipv4.tcp_recovery=0")
		k3 := accept(b2, listen(b2), peerSACK())
		k3.write(pattern(2 * stackMSS))
		t1, t2 := k3.next(PayloadLen(stackMSS)), k3.next(PayloadLen(stackMSS))
		b2.Advance(10 * time.Millisecond)
		k3.ackUpTo(t1) // restarts the retransmission timer
		f = k3.nextWithin(2*time.Second, Seq(t2.TCP().Seq))
		Expect(f.Offset - t1.Offset - 10*time.Millisecond).To(Equal(rto))
	})
})
