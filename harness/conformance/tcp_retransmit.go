package conformance

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/linuxabi"
)

// ackUpTo makes the peer acknowledge the stack's data up to the end of segment f.
func (k *tcpConn) ackUpTo(f *Frame) {
	GinkgoHelper()
	s := k.seg(ACK, nil)
	s.Ack = seqEnd(f)
	k.inject(s)
}

// rtoAfter sends data and expects it again after exactly d: the retransmission timeout in force.
func (k *tcpConn) rtoAfter(data []byte, d time.Duration) {
	GinkgoHelper()
	k.write(data)
	f0 := k.next(Payload(data))
	f1 := k.nextWithin(2*d, Seq(f0.TCP().Seq), Payload(data))
	Expect(f1.Offset-f0.Offset).To(Equal(d), "retransmission timeout for %q", data)
}

var _ = Describe("TCP retransmission (RFC 6298, RFC 5681 3.2, RFC 9293 3.6)", Label("tcp"), func() {
	Spec("R1", func() {
		b := NewBench()
		k := accept(b, listen(b))
		k.rtoAfter([]byte("data"), rto)
		k.send(ACK, nil)
		b.ExpectNothingFor(time.Minute)
	})

	Spec("R2", func() {
		b := NewBench()
		k := accept(b, listen(b))
		k.write([]byte("data"))
		f0 := k.next(Payload([]byte("data")))
		var at time.Duration
		for i, gap := range []time.Duration{1, 2, 4, 8, 16, 32, 60, 60} { // 64 s capped at 60 s
			at += gap * time.Second
			f := k.nextWithin(2*time.Minute, Seq(k.iss+1), Payload([]byte("data")))
			Expect(f.Offset-f0.Offset).To(Equal(at), "retransmission %d, after %v", i+1, gap*time.Second)
		}
		// After the 8th retransmission (our Retries), one more RTO and the connection times out.
		b.ExpectNothingFor(60*time.Second - time.Millisecond)
		Expect(k.c.State()).To(Equal(TCPEstablished))
		b.Advance(time.Millisecond)
		Expect(k.c.State()).To(Equal(TCPClose))
		Expect(k.c.Err()).To(MatchError(linuxabi.ETIMEDOUT))
	})

	Spec("R3", func() {
		b := NewBench()
		k := accept(b, listen(b)) // RTT 10 ms: RTO 1 s, the minimum
		// "one" is retransmitted after 1 s (RTO now 2 s); the ACK comes 1.9 s later, so it is
		// ambiguous: 2.9 s after the first transmission, or 1.9 s after the second.
		k.rtoAfter([]byte("one"), rto)
		b.ExpectNothingFor(1900 * time.Millisecond)
		k.send(ACK, nil)
		// No RTT sample was taken, so the backed-off RTO stays until a segment sent once is
		// acknowledged (RFC 6298 3 and 5, RFC 9293 3.8.1): "two" is retransmitted after 2 s.
		// (A sample of 2.9 s would make it about 3.3 s, of 1.9 s about 2.2 s.)
		k.rtoAfter([]byte("two"), 2*rto)
		k.send(ACK, nil)
		// "three" is acknowledged without retransmission after 50 ms: a valid sample, and the
		// RTO comes back to 1 s.
		k.write([]byte("three"))
		k.next(Payload([]byte("three")))
		b.Advance(50 * time.Millisecond)
		k.send(ACK, nil)
		k.rtoAfter([]byte("four"), rto)
	})

	Spec("R4", func() {
		b := NewBench()
		k := accept(b, listen(b))
		data := pattern(3 * stackMSS)
		k.write(data)
		segs := []*Frame{k.next(PayloadLen(stackMSS)), k.next(PayloadLen(stackMSS)), k.next(PayloadLen(stackMSS))}
		t0 := segs[0].Offset
		// 500 ms later the first segment is acknowledged: the timer restarts for the rest.
		b.ExpectNothingFor(500 * time.Millisecond)
		k.ackUpTo(segs[0])
		f := k.nextWithin(2*time.Second, Seq(segs[1].TCP().Seq), PayloadLen(stackMSS))
		Expect(f.Offset - t0).To(Equal(500*time.Millisecond + rto))
	})

	Spec("R5", func() {
		b := NewBench()
		k := accept(b, listen(b))
		data := pattern(9 * stackMSS)
		k.write(data)
		// Slow start: three segments, each acknowledged on its own, open the way for six more.
		first := []*Frame{k.next(PayloadLen(stackMSS)), k.next(PayloadLen(stackMSS)), k.next(PayloadLen(stackMSS))}
		var flight []*Frame
		for _, f := range first {
			k.ackUpTo(f)
			for g := b.TryNextWithin(0); g != nil; g = b.TryNextWithin(0) {
				Expect(g).To(k.is(PayloadLen(stackMSS)))
				k.saw(g)
				flight = append(flight, g)
			}
		}
		Expect(flight).To(HaveLen(6))
		// The first of the six is lost: each later one draws a duplicate ACK for it.
		lost := flight[0].TCP().Seq
		dup := k.seg(ACK, nil)
		dup.Ack = lost
		k.inject(dup)
		k.inject(dup)
		b.ExpectNothing() // two duplicates are not enough
		now := b.Elapsed()
		k.inject(dup)
		f := k.next(Seq(lost), PayloadLen(stackMSS))
		Expect(f.Offset).To(Equal(now), "fast retransmit waits for no timer")
		flightSize := 6 * stackMSS
		Expect(k.c.Info().SsthreshSegs).To(Equal(max(flightSize/2, 2*stackMSS) / stackMSS))
		// The retransmission fills the hole: everything is acknowledged.
		s := k.seg(ACK, nil)
		s.Ack = seqEnd(flight[5])
		k.inject(s)
		b.ExpectNothingFor(5 * time.Second)
	})

	Spec("R6", func() {
		b := NewBench()
		ln := listen(b)
		// A FIN alone.
		k := accept(b, ln)
		k.close()
		f0 := k.next(Flags(FIN|ACK), Seq(k.iss+1), Ack(k.nxt))
		for _, at := range []time.Duration{1, 3} {
			f := k.nextWithin(5*time.Second, Flags(FIN|ACK), Seq(k.iss+1), Ack(k.nxt))
			Expect(f.Offset - f0.Offset).To(Equal(at * time.Second))
		}
		k.send(ACK, nil)
		Expect(k.c.State()).To(Equal(TCPFinWait2))
		// The application closed: FIN-WAIT-2 lasts 60 s at most (HD5), then a RST.
		b.ExpectNothingFor(time.Minute - time.Millisecond)
		k.nextWithin(time.Millisecond, Flags(RST), Seq(k.iss+2))
		// A FIN that came with data is retransmitted with it.
		k2 := accept(b, ln, fromPort(40001))
		k2.write([]byte("bye"))
		k2.next(Flags(PSH|ACK), Payload([]byte("bye")))
		b.Do(func() { Expect(k2.c.CloseWrite()).To(Succeed()) })
		k2.next(Flags(FIN|ACK), Seq(k2.iss+4), PayloadLen(0))
		f := k2.nextWithin(5*time.Second, Seq(k2.iss+1), Payload([]byte("bye")))
		if !f.TCP().FIN { // not sent with the data again: on its own, right after
			k2.next(Flags(FIN|ACK), Seq(k2.iss+4), PayloadLen(0))
		}
		k2.send(ACK, nil)
		b.ExpectNothingFor(time.Minute)
	})
})
