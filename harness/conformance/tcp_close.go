package conformance

import (
	"io"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/stack/tcp"
)

// closeActively takes the connection through FIN-WAIT-1 and FIN-WAIT-2 to TIME-WAIT: the
// application closes, the peer acknowledges the FIN, then sends its own, which the stack
// acknowledges.
func (k *tcpConn) closeActively() {
	GinkgoHelper()
	k.close()
	k.next(Flags(FIN|ACK), Seq(k.ack), Ack(k.nxt))
	Expect(k.c.State()).To(Equal(tcp.FinWait1))
	k.send(ACK, nil)
	Expect(k.c.State()).To(Equal(tcp.FinWait2))
	k.b.ExpectNothing()
	k.send(FIN|ACK, nil)
	k.next(Flags(ACK), Seq(k.ack), Ack(k.nxt))
	Expect(k.c.State()).To(Equal(tcp.TimeWait))
}

// expectGone checks on the wire that the stack no longer has the connection: the listener on
// its port answers an ACK with a RST (RFC 9293 3.10.7.2).
func (k *tcpConn) expectGone() {
	GinkgoHelper()
	k.inject(k.seg(ACK, nil))
	k.next(Flags(RST), Seq(k.ack))
}

var _ = Describe("TCP connection close and TIME-WAIT (RFC 9293 3.6, RFC 1337, RFC 1122 4.2.2.13)", Label("tcp"), func() {
	Spec("T1", func() {
		b := NewBench()
		k := accept(b, listen(b))
		k.closeActively()
		b.ExpectNothingFor(msl2 - time.Millisecond)
		Expect(k.c.State()).To(Equal(tcp.TimeWait))
		b.Advance(time.Millisecond)
		Expect(k.c.State()).To(Equal(tcp.Closed))
		Expect(k.c.Err()).NotTo(HaveOccurred())
		k.expectGone()
	})

	Spec("T2", func() {
		b := NewBench()
		k := accept(b, listen(b))
		k.send(FIN|ACK, nil)
		k.next(Flags(ACK), Seq(k.ack), Ack(k.nxt)) // at once
		Expect(k.c.State()).To(Equal(tcp.CloseWait))
		b.Do(func() {
			_, err := k.c.Read(make([]byte, 10))
			Expect(err).To(MatchError(io.EOF))
		})
		// Half-closed: the stack still sends.
		k.write([]byte("still here"))
		k.next(Payload([]byte("still here")), Ack(k.nxt))
		k.send(ACK, nil)
		k.close()
		k.next(Flags(FIN|ACK), Seq(k.ack), Ack(k.nxt))
		Expect(k.c.State()).To(Equal(tcp.LastAck))
		k.send(ACK, nil)
		Expect(k.c.State()).To(Equal(tcp.Closed))
		Expect(k.c.Err()).NotTo(HaveOccurred())
		b.ExpectNothingFor(time.Minute)
		k.expectGone()
	})

	Spec("T3", func() {
		b := NewBench()
		k := accept(b, listen(b))
		k.close()
		k.next(Flags(FIN|ACK), Seq(k.iss+1), Ack(k.nxt))
		// The peer's FIN crosses ours: it does not acknowledge our FIN.
		s := k.seg(FIN|ACK, nil)
		s.Ack = k.iss + 1
		k.inject(s)
		k.nxt++
		k.next(Flags(ACK), Seq(k.iss+2), Ack(k.nxt))
		Expect(k.c.State()).To(Equal(tcp.Closing))
		k.send(ACK, nil) // now it does
		Expect(k.c.State()).To(Equal(tcp.TimeWait))
		b.ExpectNothingFor(msl2 - time.Millisecond)
		b.Advance(time.Millisecond)
		Expect(k.c.State()).To(Equal(tcp.Closed))
	})

	Spec("T4", func() {
		b := NewBench()
		k := accept(b, listen(b))
		k.closeActively()
		b.Advance(30 * time.Second)
		// The peer did not get our ACK and sends its FIN again.
		s := k.seg(FIN|ACK, nil)
		s.Seq = k.nxt - 1
		k.inject(s)
		k.next(Flags(ACK), Seq(k.ack), Ack(k.nxt))
		// 2·MSL starts again from here.
		b.ExpectNothingFor(msl2 - time.Millisecond)
		Expect(k.c.State()).To(Equal(tcp.TimeWait), "TIME-WAIT ended %v after the repeated FIN", msl2-30*time.Second)
		b.Advance(time.Millisecond)
		Expect(k.c.State()).To(Equal(tcp.Closed))
	})

	Spec("T5", func() {
		b := NewBench()
		k := accept(b, listen(b))
		k.closeActively()
		b.Advance(10 * time.Second)
		// RFC 1337 (TIME-WAIT assassination): a RST, even at RCV.NXT, is ignored. Linux closes.
		k.inject(k.seg(RST, nil))
		k.inject(k.seg(RST|ACK, nil))
		b.ExpectNothing()
		Expect(k.c.State()).To(Equal(tcp.TimeWait))
		// The connection is still in TIME-WAIT, not gone: an ACK draws no RST from the listener.
		k.inject(k.seg(ACK, nil))
		b.ExpectNothing()
		b.Advance(msl2)
		Expect(k.c.State()).To(Equal(tcp.Closed))
	})

	Spec("T6", func() {
		b := NewBench()
		ln := listen(b)
		// A SYN beyond RCV.NXT ends TIME-WAIT and opens a new connection on the same ports.
		k := accept(b, ln)
		k.closeActively()
		b.Advance(time.Second)
		isn := k.nxt + 100000
		b.Inject(b.Peer().TCP(Segment{SrcPort: k.peerPort, Flags: SYN, Seq: isn, Win: 29200, MSS: 1460}))
		sa := b.Next()
		Expect(sa).To(k.is(Flags(SYN|ACK), Ack(isn+1), HasMSS(stackMSS)))
		Expect(k.c.State()).To(Equal(tcp.Closed))
		b.Inject(b.Peer().TCP(Segment{SrcPort: k.peerPort, Flags: ACK, Seq: isn + 1, Ack: sa.TCP().Seq + 1, Win: 29200}))
		c, err := ln.Accept()
		Expect(err).NotTo(HaveOccurred())
		Expect(c.State()).To(Equal(tcp.Established))

		// A SYN at or before RCV.NXT may be an old duplicate: a challenge ACK, and TIME-WAIT stays.
		k2 := accept(b, ln, fromPort(40001))
		k2.closeActively()
		for _, seq := range []uint32{k2.nxt, k2.nxt - 1000} {
			b.Inject(b.Peer().TCP(Segment{SrcPort: k2.peerPort, Flags: SYN, Seq: seq, Win: 29200, MSS: 1460}))
			k2.next(Flags(ACK), Seq(k2.ack), Ack(k2.nxt))
			Expect(k2.c.State()).To(Equal(tcp.TimeWait))
		}
		b.ExpectNothing()
	})

	Spec("T7", func() {
		b := NewBench()
		ln := listen(b)
		rst := func(k *tcpConn) {
			GinkgoHelper()
			k.next(Flags(BeElementOf(RST, RST|ACK)), Seq(k.ack)) // RFC 9293 3.10.4: <SEQ=SND.NXT><CTL=RST>
			Expect(k.c.State()).To(Equal(tcp.Closed))
		}
		// Closed with data the application never read.
		k := accept(b, ln)
		k.send(ACK|PSH, []byte("unread"))
		k.close()
		rst(k)
		b.ExpectNothingFor(time.Second) // no FIN, and no delayed ACK
		// Read in part.
		k = accept(b, ln, fromPort(40001))
		k.send(ACK|PSH, []byte("half read"))
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt))
		k.readN(4)
		k.close()
		rst(k)
		// Aborted.
		k = accept(b, ln, fromPort(40002))
		b.Do(k.c.Abort)
		rst(k)
		// Closed with linger 0.
		k = accept(b, ln, fromPort(40003))
		k.c.SetLinger(0)
		k.close()
		rst(k)
		b.ExpectNothingFor(time.Minute)
	})
})
