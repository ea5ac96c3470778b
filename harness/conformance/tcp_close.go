package conformance

import (
	"time"

	"github.com/gopacket/gopacket/layers"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
)

// closeActively takes the connection through FIN-WAIT-1 and FIN-WAIT-2 to TIME-WAIT: the
// application closes, the peer acknowledges the FIN, then sends its own, which the stack
// acknowledges.
func (k *tcpConn) closeActively() {
	GinkgoHelper()
	k.close()
	k.next(Flags(FIN|ACK), Seq(k.ack), Ack(k.nxt))
	Expect(k.c.State()).To(Equal(TCPFinWait1))
	k.send(ACK, nil)
	Expect(k.c.State()).To(Equal(TCPFinWait2))
	k.b.ExpectNothing()
	k.send(FIN|ACK, nil)
	k.next(Flags(ACK), Seq(k.ack), Ack(k.nxt))
	Expect(k.c.State()).To(Equal(TCPTimeWait))
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
		Expect(k.c.State()).To(Equal(TCPTimeWait))
		b.Advance(time.Millisecond)
		Expect(k.c.State()).To(Equal(TCPClose))
		k.expectGone()
	})

	Spec("T2", func() {
		b := NewBench()
		k := accept(b, listen(b))
		k.send(FIN|ACK, nil)
		k.next(Flags(ACK), Seq(k.ack), Ack(k.nxt)) // at once
		Expect(k.c.State()).To(Equal(TCPCloseWait))
		b.Do(func() {
			n, err := k.c.Read(make([]byte, 10))
			Expect(err).NotTo(HaveOccurred())
			Expect(n).To(BeZero(), "end of stream")
		})
		// Half-closed: the stack still sends.
		k.write([]byte("still here"))
		k.next(Payload([]byte("still here")), Ack(k.nxt))
		k.send(ACK, nil)
		k.close()
		k.next(Flags(FIN|ACK), Seq(k.ack), Ack(k.nxt))
		Expect(k.c.State()).To(Equal(TCPLastAck))
		k.send(ACK, nil)
		Expect(k.c.State()).To(Equal(TCPClose))
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
		Expect(k.c.State()).To(Equal(TCPClosing))
		k.send(ACK, nil) // now it does
		Expect(k.c.State()).To(Equal(TCPTimeWait))
		b.ExpectNothingFor(msl2 - time.Millisecond)
		b.Advance(time.Millisecond)
		Expect(k.c.State()).To(Equal(TCPClose))
	})

	Spec("T4", func() {
		b := NewBench()
		ln := listen(b)
		k := accept(b, ln)
		k.closeActively()
		b.Advance(30 * time.Second)
		// The peer did not get our ACK and sends its FIN again.
		s := k.seg(FIN|ACK, nil)
		s.Seq = k.nxt - 1
		k.inject(s)
		k.next(Flags(ACK), Seq(k.ack), Ack(k.nxt))
		// 2·MSL starts again from here.
		b.ExpectNothingFor(msl2 - time.Millisecond)
		Expect(k.c.State()).To(Equal(TCPTimeWait), "TIME-WAIT ended %v after the repeated FIN", msl2-30*time.Second)
		b.Advance(time.Millisecond)
		Expect(k.c.State()).To(Equal(TCPClose))

		// Any acceptable FIN, not only a repeat: one at RCV.NXT is acknowledged and restarts
		// the timer too (RFC 9293 3.10.7.4, eighth step).
		k2 := accept(b, ln, fromPort(40001))
		k2.closeActively()
		b.Advance(30 * time.Second)
		k2.inject(k2.seg(FIN|ACK, nil))
		k2.next(Flags(ACK), Seq(k2.ack), Ack(k2.nxt))
		b.ExpectNothingFor(msl2 - time.Millisecond)
		Expect(k2.c.State()).To(Equal(TCPTimeWait))
		b.Advance(time.Millisecond)
		Expect(k2.c.State()).To(Equal(TCPClose))
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
		Expect(k.c.State()).To(Equal(TCPTimeWait))
		// The connection is still in TIME-WAIT, not gone: an ACK draws no RST from the listener.
		k.inject(k.seg(ACK, nil))
		b.ExpectNothing()
		b.Advance(msl2)
		Expect(k.c.State()).To(Equal(TCPClose))
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
		Expect(k.c.State()).To(Equal(TCPSynRecv), "TIME-WAIT gave way to the new incarnation")
		b.Inject(b.Peer().TCP(Segment{SrcPort: k.peerPort, Flags: ACK, Seq: isn + 1, Ack: sa.TCP().Seq + 1, Win: 29200}))
		c, err := ln.Accept(k.peerPort)
		Expect(err).NotTo(HaveOccurred())
		Expect(c.State()).To(Equal(TCPEstablished))

		// A SYN at or before RCV.NXT may be an old duplicate: a challenge ACK, and TIME-WAIT stays.
		k2 := accept(b, ln, fromPort(40001))
		k2.closeActively()
		for _, seq := range []uint32{k2.nxt, k2.nxt - 1000} {
			b.Inject(b.Peer().TCP(Segment{SrcPort: k2.peerPort, Flags: SYN, Seq: seq, Win: 29200, MSS: 1460}))
			k2.next(Flags(ACK), Seq(k2.ack), Ack(k2.nxt))
			Expect(k2.c.State()).To(Equal(TCPTimeWait))
			b.ExpectNothingFor(500 * time.Millisecond) // one challenge ACK per 500 ms (S6)
		}
		b.ExpectNothing()
	})

	Spec("T9", func() {
		b := NewBench()
		ln := listen(b)
		// Both incarnations with timestamps (RFC 6191 2): a SYN whose TSval is newer than
		// TS.Recent opens a new connection, whatever its sequence number, an old one here.
		k := accept(b, ln, peerTimestamps())
		k.closeActively()
		b.Advance(time.Second)
		syn := func(k *tcpConn, seq, tsval uint32) {
			GinkgoHelper()
			b.Inject(b.Peer().TCP(Segment{SrcPort: k.peerPort, Flags: SYN, Seq: seq, Win: 29200, MSS: 1460,
				Options: []layers.TCPOption{SACKPermittedOption, TimestampOption(tsval, 0)}}))
		}
		syn(k, k.nxt-1000, peerTSAt(b))
		Expect(b.Next()).To(k.is(Flags(SYN|ACK), Ack(k.nxt-1000+1)))
		Expect(k.c.State()).To(Equal(TCPSynRecv), "TIME-WAIT gave way to the new incarnation")
		// A SYN beyond RCV.NXT with an older TSval is not a new incarnation: a challenge ACK,
		// and TIME-WAIT stays.
		k2 := accept(b, ln, fromPort(40001), peerTimestamps())
		k2.closeActively()
		syn(k2, k2.nxt+100000, k2.peerTS-1)
		k2.next(Flags(ACK), Seq(k2.ack), Ack(k2.nxt))
		Expect(k2.c.State()).To(Equal(TCPTimeWait))

		// A listener that cannot take the new connection (its accept queue is full) leaves
		// TIME-WAIT in place: the SYN is dropped, the peer will retry, the old incarnation
		// still guards the tuple.
		b2 := NewBench()
		full := listenOn(b2, serverPort, 1)
		k3 := accept(b2, full, fromPort(40002))
		k3.closeActively()
		// Another connection, established and not accepted: the queue (backlog 1) is full.
		b2.Inject(b2.Peer().TCP(Segment{SrcPort: 40003, Flags: SYN, Seq: peerISN, Win: 29200, MSS: 1460}))
		sa := b2.Next()
		b2.Inject(b2.Peer().TCP(Segment{SrcPort: 40003, Flags: ACK, Seq: peerISN + 1, Ack: sa.TCP().Seq + 1, Win: 29200}))
		Expect(connsIn(b2, TCPEstablished, serverPort)).To(HaveLen(1), "the connection waiting for accept")
		b2.Inject(b2.Peer().TCP(Segment{SrcPort: k3.peerPort, Flags: SYN, Seq: k3.nxt + 100000, Win: 29200, MSS: 1460}))
		b2.ExpectNothing()
		Expect(k3.c.State()).To(Equal(TCPTimeWait))
		// Once the queue has room, the SYN (sent again) opens the new connection.
		b2.Do(func() {
			_, err := full.Accept(40003)
			Expect(err).NotTo(HaveOccurred())
		})
		b2.Inject(b2.Peer().TCP(Segment{SrcPort: k3.peerPort, Flags: SYN, Seq: k3.nxt + 100000, Win: 29200, MSS: 1460}))
		Expect(b2.Next()).To(k3.is(Flags(SYN|ACK), Ack(k3.nxt+100001)))
	})

	Spec("T10", func() {
		b := NewBench()
		ln := listen(b)
		k := accept(b, ln)
		k.closeActively()
		b.Advance(time.Second)
		// The ACK of our FIN again, a bare ACK at RCV.NXT, needs no answer.
		k.inject(k.seg(ACK, nil))
		b.ExpectNothing()
		// Data means the peer did not see our ACK of its FIN: acknowledged, not taken.
		k.inject(k.seg(ACK, []byte("late")))
		k.next(Flags(ACK), Seq(k.ack), Ack(k.nxt))
		// So is an old segment, and one beyond RCV.NXT, but at most one ACK per 500 ms.
		old := k.seg(ACK, nil)
		old.Seq = k.nxt - 1000
		k.inject(old)
		b.ExpectNothing()
		b.Advance(500 * time.Millisecond)
		k.inject(old)
		k.next(Flags(ACK), Seq(k.ack), Ack(k.nxt))
		b.Advance(500 * time.Millisecond)
		ahead := k.seg(ACK, nil)
		ahead.Seq = k.nxt + 10
		k.inject(ahead)
		k.next(Flags(ACK), Seq(k.ack), Ack(k.nxt))
		Expect(k.c.State()).To(Equal(TCPTimeWait))

		// A SYN+FIN beyond RCV.NXT opens no new connection (a listener drops SYN+FIN, B4): a
		// challenge ACK, and TIME-WAIT stays. The same SYN without the FIN opens one (T6).
		b.Advance(500 * time.Millisecond)
		k.inject(Segment{SrcPort: k.peerPort, Flags: SYN | FIN, Seq: k.nxt + 100000, Win: 29200, MSS: 1460})
		k.next(Flags(ACK), Seq(k.ack), Ack(k.nxt))
		Expect(k.c.State()).To(Equal(TCPTimeWait))
		k.inject(Segment{SrcPort: k.peerPort, Flags: SYN, Seq: k.nxt + 100000, Win: 29200, MSS: 1460})
		Expect(b.Next()).To(k.is(Flags(SYN|ACK), Ack(k.nxt+100001)))
		Expect(k.c.State()).To(Equal(TCPSynRecv), "TIME-WAIT gave way to the new incarnation")
	})

	Spec("T8", func() {
		b := NewBench()
		// close() in SYN-SENT deletes the connection (RFC 9293 3.10.4): no RST, no more SYNs.
		c, syn := startDial(b, serverPort)
		b.Do(func() { Expect(c.Close()).To(Succeed()) })
		Expect(c.State()).To(Equal(TCPClose))
		b.ExpectNothingFor(time.Minute)
		// The positive control: the peer's late SYN-ACK finds no connection and draws the
		// closed port's RST, seq = SEG.ACK (RFC 9293 3.10.7.1).
		b.Inject(b.Peer().TCP(Segment{SrcPort: serverPort, DstPort: uint16(syn.TCP().SrcPort), Flags: SYN | ACK,
			Seq: peerISN, Ack: syn.TCP().Seq + 1, Win: 65535, MSS: 1460}))
		Expect(b.Next()).To(BeTCP(Flags(RST), Seq(syn.TCP().Seq+1)))
	})

	Spec("T7", func() {
		b := NewBench()
		ln := listen(b)
		rst := func(k *tcpConn) {
			GinkgoHelper()
			k.next(Flags(BeElementOf(RST, RST|ACK)), Seq(k.ack)) // RFC 9293 3.10.4: <SEQ=SND.NXT><CTL=RST>
			Expect(k.c.State()).To(Equal(TCPClose))
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
		b.Do(func() { Expect(k.c.Abort()).To(Succeed()) })
		rst(k)
		// Closed with linger 0.
		k = accept(b, ln, fromPort(40003))
		k.c.SetLinger(0)
		k.close()
		rst(k)
		b.ExpectNothingFor(time.Minute)
	})
})
