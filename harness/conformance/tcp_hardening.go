package conformance

import (
	"fmt"
	"time"

	"github.com/gopacket/gopacket/layers"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/linuxabi"
)

// synFrom is the first half of accept: the peer's SYN to serverPort and the stack's SYN-ACK,
// which may be an ordinary one or a SYN cookie (RFC 4987 3.6). The connection is not yet
// complete, so a spec can look at the listener in between; establish completes it.
func synFrom(b *Bench, opts ...peerOpt) *tcpConn {
	GinkgoHelper()
	h := newHandshake(clientPort, opts)
	synTS := peerTSAt(b)
	syn := Segment{SrcPort: h.port, DstPort: serverPort, Flags: SYN, Seq: h.isn, Win: h.win, MSS: h.mss, Options: h.synOptions(b, 0)}
	if h.wscale > 0 {
		syn.WScale = h.wscale
	}
	b.Inject(b.Peer().TCP(syn))
	sa := b.Next()
	Expect(sa).To(BeTCP(Flags(SYN|ACK), SrcPort(serverPort), DstPort(h.port), Ack(h.isn+1)))
	k := &tcpConn{b: b, syn: sa, peerPort: h.port, stackPort: serverPort, iss: sa.TCP().Seq, irs: h.isn, win: h.win, peerTS: synTS}
	k.nxt, k.ack = h.isn+1, k.iss+1
	k.scaling(h, sa)
	k.agreed(h, sa)
	k.saw(sa)
	return k
}

// establish completes the handshake synFrom began: the peer's ACK after one RTT (10 ms), which
// echoes the SYN-ACK's TSval when timestamps were agreed, then Accept, which must return this
// connection, ESTABLISHED.
func (k *tcpConn) establish(ln *listener) {
	GinkgoHelper()
	k.b.Advance(10 * time.Millisecond)
	k.send(ACK, nil)
	k.accepted(ln)
	k.b.ExpectNothing()
}

// noConnWaiting checks that the listener has no connection to hand to Accept.
func noConnWaiting(b *Bench, ln *listener) {
	GinkgoHelper()
	b.Do(func() {
		_, err := ln.Accept(0)
		Expect(err).To(MatchError(linuxabi.EAGAIN))
	})
}

var _ = Describe("TCP hardening (RFC 4987, RFC 5482, RFC 6191, RFC 9293 3.8.6.1)", Label("tcp"), func() {
	Spec("HD1", func() {
		b := newBenchWith("net.ipv4.tcp_max_syn_backlog=2")
		ln := listen(b)
		// Up to the limit: ordinary SYN-ACKs, and the connections wait half-open.
		h1 := synFrom(b, fromPort(40000))
		h2 := synFrom(b, fromPort(40001))
		Expect(ln.HalfOpen()).To(Equal(2))
		Expect(tableSize(b)).To(Equal(2))
		Expect(counter(b, "TcpExtSyncookiesSent")).To(BeZero())

		// Past it: a SYN cookie. The SYN offers everything; the SYN-ACK answers all of it, and
		// the options that do not fit the cookie ride in the low bits of its TSval: window
		// scale 7 and SACK-permitted.
		k := synFrom(b, fromPort(40002), peerMSS(1460), peerWScale(7), peerSACK(), peerTimestamps())
		Expect(k.syn).To(k.is(Window(synWindow), HasMSS(stackMSS), HasWScale(stackRcvShift), HasOption(layers.TCPOptionKindSACKPermitted),
			TSEcr(k.peerTS)))
		// The low six bits of the TSval (Linux's layout): the peer's window scale (0xf: none),
		// SACK-permitted (1<<4), ECN (1<<5).
		val, _, _ := TimestampOf(k.syn)
		Expect(val&0x3f).To(Equal(uint32(7|1<<4)), "the low six bits of the cookie SYN-ACK's TSval %#x: window scale 7 | SACK-permitted 1<<4", val)
		Expect(k.ts).To(BeTrue())
		Expect(counter(b, "TcpExtSyncookiesSent")).To(BeEquivalentTo(1))
		Expect(ln.HalfOpen()).To(Equal(2), "a cookie keeps no state")
		Expect(tableSize(b)).To(Equal(2), "a cookie keeps no state")
		b.ExpectNothing()

		// The ACK echoing the cookie's TSval builds the connection with everything the SYN offered.
		k.establish(ln)
		Expect(counter(b, "TcpExtSyncookiesRecv")).To(BeEquivalentTo(1))
		Expect(counter(b, "TcpExtSyncookiesFailed")).To(BeZero())
		info := k.c.Info()
		Expect(info.SndWScale).To(BeEquivalentTo(7))
		Expect(info.RcvWScale).To(BeEquivalentTo(stackRcvShift))
		Expect(info.SACK).To(BeTrue())
		Expect(info.Timestamps).To(BeTrue())
		Expect(info.SndMSS).To(Equal(stackMSS - 12)) // 1460 from the cookie, less the timestamp option
		Expect(ln.HalfOpen()).To(Equal(2))
		// It carries data both ways.
		k.write([]byte("sent on a cookie"))
		k.next(Flags(PSH|ACK), Seq(k.iss+1), Ack(k.nxt), Payload([]byte("sent on a cookie")), HasOption(layers.TCPOptionKindTimestamps))
		k.send(ACK, nil)
		k.send(ACK|PSH, []byte("answered"))
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt))
		Expect(k.read()).To(Equal([]byte("answered")))

		// A SYN without timestamps: the cookie has no room for window scale or SACK, so the
		// SYN-ACK offers neither, nor a timestamp, though the SYN offered window scale and SACK.
		// The MSS the cookie keeps is the largest of its table not above the peer's: 1300.
		k4 := synFrom(b, fromPort(40003), peerMSS(1300), peerWScale(7), peerSACK())
		Expect(k4.syn).To(k4.is(HasMSS(stackMSS), WithoutOption(layers.TCPOptionKindWindowScale),
			WithoutOption(layers.TCPOptionKindSACKPermitted), WithoutOption(layers.TCPOptionKindTimestamps)))
		Expect(counter(b, "TcpExtSyncookiesSent")).To(BeEquivalentTo(2))
		Expect(ln.HalfOpen()).To(Equal(2))
		k4.establish(ln)
		Expect(counter(b, "TcpExtSyncookiesRecv")).To(BeEquivalentTo(2))
		info = k4.c.Info()
		Expect(info.SndMSS).To(BeNumerically("<=", 1300))
		Expect(info.SndWScale).To(BeZero())
		Expect(info.RcvWScale).To(BeZero())
		Expect(info.SACK).To(BeFalse())
		Expect(info.Timestamps).To(BeFalse())
		// On the wire: segments of at most 1300 bytes (the rest waits for the ACK: Nagle).
		data := pattern(2000)
		k4.write(data)
		k4.next(Seq(k4.iss+1), Payload(data[:1300]), WithoutOption(layers.TCPOptionKindTimestamps))
		k4.send(ACK, nil)
		k4.next(Seq(k4.iss+1301), Payload(data[1300:]))
		k4.send(ACK, nil)

		// The two half-open connections were real ones: their ACKs complete them.
		h1.establish(ln)
		h2.establish(ln)
		Expect(ln.HalfOpen()).To(BeZero())
		Expect(counter(b, "TcpExtSyncookiesSent")).To(BeEquivalentTo(2))
		Expect(counter(b, "TcpExtSyncookiesRecv")).To(BeEquivalentTo(2))
	})

	Spec("HD2", func() {
		b := newBenchWith("net.ipv4.tcp_max_syn_backlog=1")
		ln := listen(b)
		h := synFrom(b, fromPort(40000)) // fills the half-open table
		k := synFrom(b, fromPort(40001)) // a cookie
		Expect(counter(b, "TcpExtSyncookiesSent")).To(BeEquivalentTo(1))
		Expect(ln.HalfOpen()).To(Equal(1))
		conns := tableSize(b)

		// An ACK whose ack number is not the cookie + 1: RST, seq = SEG.ACK, and nothing opens.
		bad := k.seg(ACK, nil)
		bad.Ack = k.ack + 1
		k.inject(bad)
		Expect(b.Next()).To(k.is(Flags(RST), Seq(k.ack+1), PayloadLen(0)))
		Expect(counter(b, "TcpExtSyncookiesFailed")).To(BeEquivalentTo(1))
		Expect(tableSize(b)).To(Equal(conns))
		noConnWaiting(b, ln)
		// A guess on a tuple that never sent a SYN: the same.
		b.Inject(b.Peer().TCP(Segment{SrcPort: 40009, DstPort: serverPort, Flags: ACK, Seq: 5001, Ack: 0x12345678, Win: 65535}))
		Expect(b.Next()).To(BeTCP(Flags(RST), DstPort(40009), Seq(0x12345678)))
		Expect(counter(b, "TcpExtSyncookiesFailed")).To(BeEquivalentTo(2))
		Expect(tableSize(b)).To(Equal(conns))
		noConnWaiting(b, ln)
		Expect(counter(b, "TcpExtSyncookiesRecv")).To(BeZero())

		// The positive control: the right ACK opens the connection.
		k.establish(ln)
		Expect(counter(b, "TcpExtSyncookiesRecv")).To(BeEquivalentTo(1))
		k.stillUp()

		// Two more cookies at once, then the half-open connection completes (no more SYN-ACK
		// retransmissions to wait through).
		late := synFrom(b, fromPort(40002))
		tooLate := synFrom(b, fromPort(40003))
		Expect(counter(b, "TcpExtSyncookiesSent")).To(BeEquivalentTo(3))
		h.establish(ln)
		Expect(ln.HalfOpen()).To(BeZero())
		cookieAt := b.Elapsed()

		// 50 s later a cookie is still good (under one period: its age is 0 or 1)...
		b.ExpectNothingFor(50 * time.Second)
		late.establish(ln)
		Expect(counter(b, "TcpExtSyncookiesRecv")).To(BeEquivalentTo(2))
		late.stillUp()
		// ...3 minutes later (more than two periods) it is refused: RST, seq = SEG.ACK.
		b.ExpectNothingFor(3*time.Minute - (b.Elapsed() - cookieAt))
		conns = tableSize(b)
		tooLate.inject(tooLate.seg(ACK, nil))
		Expect(b.Next()).To(tooLate.is(Flags(RST), Seq(tooLate.ack), PayloadLen(0)))
		Expect(counter(b, "TcpExtSyncookiesFailed")).To(BeEquivalentTo(3))
		Expect(counter(b, "TcpExtSyncookiesRecv")).To(BeEquivalentTo(2))
		Expect(tableSize(b)).To(Equal(conns))
		noConnWaiting(b, ln)
	})

	Spec("HD3", func() {
		b := NewBench()
		ln := listen(b)
		// A SYN from an on-link address nobody answers ARP for (spoofed, most likely).
		b.Inject(b.Peer().TCP(Segment{SrcPort: 40000, DstPort: serverPort, Flags: SYN, Seq: peerISN, Win: 65535, MSS: 1460}).FromIP(otherIP))
		t0 := b.Elapsed()
		Expect(ln.HalfOpen()).To(Equal(1))
		// The SYN-ACK waits for ARP: three requests, one second apart (A7), and no answer.
		for i := range 3 {
			f := b.NextWithin(2 * time.Second)
			Expect(f).To(BeARPRequest(ToMAC(layers.EthernetBroadcast), TargetIP(otherIP)))
			Expect(f.Offset - t0).To(Equal(time.Duration(i) * time.Second))
		}
		b.ExpectNothingFor(time.Second - time.Millisecond)
		Expect(ln.HalfOpen()).To(Equal(1))
		Expect(counter(b, "mtcp.tcp.HalfOpenUnsendable")).To(BeZero())
		// ARP gives up 3 s after the SYN: the half-open connection goes with it, 60 s before its
		// SYN-ACK retries would have ended (U10).
		b.Advance(time.Millisecond)
		Expect(ln.HalfOpen()).To(BeZero())
		Expect(tableSize(b)).To(BeZero())
		Expect(counter(b, "mtcp.tcp.HalfOpenUnsendable")).To(BeEquivalentTo(1))
		b.ExpectNothingFor(time.Minute) // no SYN-ACK, no more ARP

		// The positive control: the same SYN from the peer, whose ARP the bench answers, is
		// answered, and its connection stays half-open through the same time and well past it,
		// its SYN-ACK retransmitted after 1, 3, 7, 15 and 31 s.
		b.Inject(b.Peer().TCP(Segment{SrcPort: 40001, DstPort: serverPort, Flags: SYN, Seq: peerISN, Win: 65535, MSS: 1460}))
		first := b.Next()
		Expect(first).To(BeTCP(Flags(SYN|ACK), DstPort(40001), Ack(peerISN+1)))
		for _, at := range []time.Duration{1, 3, 7, 15, 31} {
			f := b.NextWithin(time.Minute)
			Expect(f).To(BeTCP(Flags(SYN|ACK), DstPort(40001), Seq(first.TCP().Seq)))
			Expect(f.Offset - first.Offset).To(Equal(at * time.Second))
			Expect(ln.HalfOpen()).To(Equal(1), "at %v", at*time.Second)
		}
		Expect(counter(b, "mtcp.tcp.HalfOpenUnsendable")).To(BeEquivalentTo(1))
	})

	Spec("HD4", func() {
		const retries = 3
		withRetries := fmt.Sprintf("net.ipv4.tcp_retries2=%d", retries)
		probe := func(k *tcpConn) *FrameMatcher { return k.is(Flags(ACK), Seq(k.ack-1), PayloadLen(0)) }
		data := pattern(1000)
		// shut opens a connection, closes the peer's window and queues data behind it.
		shut := func(b *Bench) (*tcpConn, time.Duration) {
			GinkgoHelper()
			k := accept(b, listen(b))
			k.win = 0
			k.send(ACK, nil)
			k.write(data)
			b.ExpectNothing()
			return k, b.Elapsed()
		}

		// probes expects a zero-window probe after each gap in seconds (from t0, backing off),
		// answered with the window still shut when answer is set.
		probes := func(b *Bench, k *tcpConn, t0 time.Duration, answer bool, gaps ...time.Duration) {
			GinkgoHelper()
			var at time.Duration
			for i, gap := range gaps {
				at += gap * time.Second
				f := b.NextWithin(2 * time.Minute)
				Expect(f).To(probe(k), "probe %d", i+1)
				Expect(f.Offset-t0).To(Equal(at), "probe %d, after %v", i+1, gap*time.Second)
				if answer {
					k.inject(k.seg(ACK, nil))
				}
			}
		}
		// givenUp expects Retries probes (1, 3 and 7 s) left unanswered, one more interval in
		// state, and then the connection given up with ErrTimeout, 15 s after the window shut.
		givenUp := func(b *Bench, k *tcpConn, t0 time.Duration, state TCPState) {
			GinkgoHelper()
			probes(b, k, t0, false, 1, 2, 4)
			b.ExpectNothingFor(8*time.Second - time.Millisecond)
			Expect(k.c.State()).To(Equal(state))
			b.Advance(time.Millisecond)
			Expect(k.c.State()).To(Equal(TCPClose))
			if !k.c.closed { // the application closed it in FIN-WAIT-1 and hears of nothing
				Expect(k.c.Err()).To(MatchError(linuxabi.ETIMEDOUT))
			}
			Expect(counter(b, "mtcp.tcp.PersistTimeouts")).To(BeEquivalentTo(1))
		}

		// The positive control: a peer that answers every probe with its zero window keeps the
		// connection, far past Retries probes.
		b := newBenchWith(withRetries)
		k, t0 := shut(b)
		probes(b, k, t0, true, 1, 2, 4, 8, 16, 32, 60, 60, 60, 60)
		Expect(k.c.State()).To(Equal(TCPEstablished))
		Expect(k.c.Err()).NotTo(HaveOccurred())
		Expect(counter(b, "mtcp.tcp.PersistTimeouts")).To(BeZero())
		k.win = 65535
		k.send(ACK, nil)
		k.next(Seq(k.ack), Payload(data))

		// A peer that stops answering is given up.
		b2 := newBenchWith(withRetries)
		k2, t2 := shut(b2)
		givenUp(b2, k2, t2, TCPEstablished)
		b2.ExpectNothingFor(time.Minute)
		k2.expectGone()

		// The same in FIN-WAIT-1: the application closed with its data still behind the
		// window; the probes go unanswered, and the connection goes as well.
		b3 := newBenchWith(withRetries)
		k3, t3 := shut(b3)
		k3.close()
		Expect(k3.c.State()).To(Equal(TCPFinWait1))
		givenUp(b3, k3, t3, TCPFinWait1)
	})

	Spec("HD5", func() {
		b := NewBench()
		ln := listen(b)
		// Closed by the application: FIN-WAIT-2 lasts FinTimeout (60 s), then a RST.
		k := accept(b, ln)
		k.close()
		k.next(Flags(FIN|ACK), Seq(k.iss+1), Ack(k.nxt))
		k.send(ACK, nil)
		Expect(k.c.State()).To(Equal(TCPFinWait2))
		b.ExpectNothingFor(time.Minute - time.Millisecond)
		Expect(k.c.State()).To(Equal(TCPFinWait2))
		Expect(counter(b, "mtcp.tcp.FinWait2Timeouts")).To(BeZero())
		k.nextWithin(time.Millisecond, Flags(RST), Seq(k.iss+2), PayloadLen(0)) // our FIN + 1
		Expect(k.c.State()).To(Equal(TCPClose))
		Expect(counter(b, "mtcp.tcp.FinWait2Timeouts")).To(BeEquivalentTo(1))
		k.expectGone()

		// The positive control: half-closed (CloseWrite), the application can still read, so
		// FIN-WAIT-2 lasts as long as the peer likes, and the peer's data is taken.
		k2 := accept(b, ln, fromPort(40001))
		b.Do(func() { Expect(k2.c.CloseWrite()).To(Succeed()) })
		k2.next(Flags(FIN|ACK), Seq(k2.iss+1), Ack(k2.nxt))
		k2.send(ACK, nil)
		Expect(k2.c.State()).To(Equal(TCPFinWait2))
		b.ExpectNothingFor(10 * time.Minute)
		Expect(k2.c.State()).To(Equal(TCPFinWait2))
		k2.send(ACK|PSH, []byte("still talking"))
		k2.nextWithin(time.Second, Flags(ACK), Seq(k2.iss+2), Ack(k2.nxt))
		Expect(k2.read()).To(Equal([]byte("still talking")))
		Expect(counter(b, "mtcp.tcp.FinWait2Timeouts")).To(BeEquivalentTo(1))
		// Once the application closes too, the bound applies from then on.
		k2.close()
		b.ExpectNothingFor(time.Minute - time.Millisecond)
		Expect(k2.c.State()).To(Equal(TCPFinWait2))
		k2.nextWithin(time.Millisecond, Flags(RST), Seq(k2.iss+2))
		Expect(k2.c.State()).To(Equal(TCPClose))
		Expect(counter(b, "mtcp.tcp.FinWait2Timeouts")).To(BeEquivalentTo(2))
	})

	Spec("HD6", func() {
		data := []byte("never acknowledged")
		// lost sends data the peer never acknowledges and checks the retransmissions at the
		// given times (seconds after the first transmission); it returns that first time.
		lost := func(k *tcpConn, at ...time.Duration) time.Duration {
			GinkgoHelper()
			k.write(data)
			f0 := k.next(Seq(k.iss+1), Payload(data))
			for _, s := range at {
				f := k.nextWithin(time.Minute, Seq(k.iss+1), Payload(data))
				Expect(f.Offset-f0.Offset).To(Equal(s*time.Second), "retransmission at %v", s*time.Second)
			}
			return f0.Offset
		}

		// With a user timeout of 5 s: retransmissions after 1 and 3 s, then, 5 s after the data
		// was first sent, the connection is given up (and not 7 s, the next backoff).
		b := NewBench()
		k := accept(b, listen(b))
		b.Do(func() { k.c.SetUserTimeout(5 * time.Second) })
		t0 := lost(k, 1, 3)
		b.ExpectNothingFor(t0 + 5*time.Second - time.Millisecond - b.Elapsed())
		Expect(k.c.State()).To(Equal(TCPEstablished))
		Expect(counter(b, "mtcp.tcp.UserTimeouts")).To(BeZero())
		b.Advance(time.Millisecond)
		Expect(k.c.State()).To(Equal(TCPClose))
		Expect(k.c.Err()).To(MatchError(linuxabi.ETIMEDOUT))
		Expect(counter(b, "mtcp.tcp.UserTimeouts")).To(BeEquivalentTo(1))
		b.ExpectNothingFor(time.Minute)
		k.expectGone()

		// The control: without it, the same connection still retransmits at 10 s, after 1, 3
		// and 7 s, and next at 15 s.
		b2 := NewBench()
		k2 := accept(b2, listen(b2))
		t2 := lost(k2, 1, 3, 7)
		b2.ExpectNothingFor(t2 + 10*time.Second - b2.Elapsed())
		Expect(k2.c.State()).To(Equal(TCPEstablished))
		Expect(k2.c.Err()).NotTo(HaveOccurred())
		f := k2.nextWithin(10*time.Second, Seq(k2.iss+1), Payload(data))
		Expect(f.Offset - t2).To(Equal(15 * time.Second))
		Expect(counter(b2, "mtcp.tcp.UserTimeouts")).To(BeZero())
	})

	Spec("HD7", func() {
		// TIME-WAIT is not in the connection table: with room for 4 connections, 10 closed
		// ones wait in TIME-WAIT and an 11th is still accepted.
		b := newBenchWith("mtcp.max_connections=4")
		ln := listen(b)
		var closed []*tcpConn
		for i := range 10 {
			k := accept(b, ln, fromPort(uint16(40000+i)))
			k.closeActively()
			closed = append(closed, k)
			Expect(timeWaits(b)).To(Equal(i + 1))
			Expect(tableSize(b)).To(BeZero())
		}
		port := uint16(40010)
		open := []*tcpConn{accept(b, ln, fromPort(port))}
		for _, k := range closed {
			Expect(k.c.State()).To(Equal(TCPTimeWait))
		}
		// The table's bound is in force all the same: with 4 open, a fifth SYN is dropped...
		for len(open) < 4 {
			port++
			open = append(open, accept(b, ln, fromPort(port)))
		}
		Expect(tableSize(b)).To(Equal(4))
		port++
		syn := Segment{SrcPort: port, DstPort: serverPort, Flags: SYN, Seq: peerISN, Win: 65535, MSS: 1460}
		b.Inject(b.Peer().TCP(syn))
		b.ExpectNothing()
		Expect(counter(b, "mtcp.tcp.TableFull")).To(BeEquivalentTo(1))
		// ...and answered once one of them has moved to TIME-WAIT.
		open[0].closeActively()
		Expect(timeWaits(b)).To(Equal(11))
		b.Inject(b.Peer().TCP(syn))
		Expect(b.Next()).To(BeTCP(Flags(SYN|ACK), DstPort(port), Ack(peerISN+1)))

		// With room for 3 TIME-WAIT entries, the fourth evicts the oldest.
		b2 := newBenchWith("net.ipv4.tcp_max_tw_buckets=3")
		ln2 := listen(b2)
		var tw []*tcpConn
		for i := range 4 {
			k := accept(b2, ln2, fromPort(uint16(40000+i)))
			k.closeActively()
			tw = append(tw, k)
			Expect(timeWaits(b2)).To(Equal(min(i+1, 3)))
		}
		Expect(counter(b2, "mtcp.tcp.TimeWaitEvicted")).To(BeEquivalentTo(1))
		Expect(tw[0].c.State()).To(Equal(TCPClose))
		for _, k := range tw[1:] {
			Expect(k.c.State()).To(Equal(TCPTimeWait))
		}
		// The evicted tuple is gone: an ACK there draws the listener's RST (seq = SEG.ACK)...
		tw[0].expectGone()
		// ...while the newest entry, and the oldest one left, answer data with the TIME-WAIT ACK.
		for _, k := range []*tcpConn{tw[3], tw[1]} {
			k.inject(k.seg(ACK, []byte("late")))
			k.next(Flags(ACK), Seq(k.ack), Ack(k.nxt), PayloadLen(0))
			Expect(k.c.State()).To(Equal(TCPTimeWait))
		}
		b2.ExpectNothing()
	})
})
