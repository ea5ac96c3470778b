package conformance

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/linuxabi"
)

// outOfOrder injects data at offset bytes past the peer's next sequence number, leaving a hole.
func (k *tcpConn) outOfOrder(offset uint32, data []byte) {
	GinkgoHelper()
	s := k.seg(ACK|PSH, data)
	s.Seq = k.nxt + offset
	k.inject(s)
}

var _ = Describe("TCP data transfer and flow control (RFC 9293 3.8, 3.10.7.4; RFC 1122 4.2.3; RFC 5681 4.2)", Label("tcp"), func() {
	Spec("D1", func() {
		b := NewBench()
		k := accept(b, listen(b))
		k.send(ACK|PSH, []byte("hello"))
		k.nextWithin(time.Second, Flags(ACK), Seq(k.ack), Ack(k.nxt))
		Expect(k.read()).To(Equal([]byte("hello")))
		data := pattern(3000)
		for i := 0; i < len(data); i += 1000 {
			k.send(ACK|PSH, data[i:i+1000])
		}
		k.nextWithin(time.Second, Flags(ACK), Seq(k.ack), Ack(k.nxt))
		Expect(k.read()).To(Equal(data))
		b.ExpectNothingFor(5 * time.Second)
	})

	Spec("D2", func() {
		b := NewBench()
		ln := listen(b)
		k := accept(b, ln)
		data := pattern(300)
		for _, off := range []uint32{100, 200} {
			now := b.Elapsed()
			k.outOfOrder(off, data[off:off+100])
			f := k.next(Flags(ACK), Seq(k.ack), Ack(k.nxt), WithoutOption(sackKind)) // the hole's left edge, again
			Expect(f.Offset).To(Equal(now), "the duplicate ACK is not delayed")
		}
		Expect(k.read()).To(BeEmpty())
		// With SACK agreed, the duplicate ACKs carry the blocks held (RFC 2018 4).
		k2 := accept(b, ln, fromPort(40001), peerSACK())
		k2.outOfOrder(100, data[100:200])
		k2.next(Flags(ACK), Ack(k2.nxt), SACKBlocks([]SACKBlock{k2.block(100, 200)}))
		k2.outOfOrder(200, data[200:300])
		k2.next(Flags(ACK), Ack(k2.nxt), SACKBlocks([]SACKBlock{k2.block(100, 300)}))
	})

	Spec("D3", func() {
		b := NewBench()
		k := accept(b, listen(b))
		data := pattern(3000)
		k.outOfOrder(1000, data[1000:2000])
		k.next(Flags(ACK), Ack(k.nxt))
		k.outOfOrder(2000, data[2000:])
		k.next(Flags(ACK), Ack(k.nxt))
		now := b.Elapsed()
		k.send(ACK|PSH, data[:1000])
		k.nxt += 2000
		f := k.next(Flags(ACK), Seq(k.ack), Ack(k.nxt)) // all 3000 bytes
		Expect(f.Offset).To(Equal(now), "the ACK of the filled hole is not delayed")
		Expect(k.read()).To(Equal(data))
	})

	Spec("D4", func() {
		b := NewBench()
		k := accept(b, listen(b))
		data := pattern(40)
		// Out of order and overlapping each other: 10-20, 15-30, 5-12; then 0-8 fills the hole.
		for _, r := range [][2]uint32{{10, 20}, {15, 30}, {5, 12}} {
			k.outOfOrder(r[0], data[r[0]:r[1]])
			k.next(Flags(ACK), Ack(k.nxt))
		}
		k.send(ACK|PSH, data[:8])
		k.nxt += 22
		k.next(Flags(ACK), Ack(k.nxt)) // 0-30
		// Overlapping what came in order: 25-40 brings 10 new bytes.
		k.outOfOrder(^uint32(4), data[25:40]) // 5 bytes before RCV.NXT
		k.nxt += 10
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt))
		Expect(k.read()).To(Equal(data))
		// An overlap that disagrees with what was received changes nothing already received.
		k.outOfOrder(^uint32(4), []byte("XXXXXXXXXX"))
		k.nxt += 5
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt))
		Expect(k.read()).To(Equal([]byte("XXXXX")))
	})

	Spec("D5", func() {
		b := NewBench()
		ln := listen(b)
		check := func(k *tcpConn, first []byte) {
			GinkgoHelper()
			k.send(ACK|PSH, first)
			k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt))
			start, edge := k.nxt, k.edge // the window as advertised, the application not reading
			// An old duplicate, wholly left of the window.
			s := k.seg(ACK|PSH, first)
			s.Seq -= uint32(len(first))
			k.inject(s)
			k.next(Flags(ACK), Seq(k.ack), Ack(k.nxt))
			// A segment starting at the right edge: outside.
			k.outOfOrder(edge-start, pattern(10))
			k.next(Flags(ACK), Seq(k.ack), Ack(k.nxt))
			// A segment straddling the right edge: its first 10 bytes are inside.
			k.outOfOrder(edge-start-10, pattern(20))
			k.next(Flags(ACK), Seq(k.ack), Ack(k.nxt))
			// Filling up to it: the ACK reaches the right edge and not a byte beyond.
			last := k.push(pattern(int(edge - start - 10)))
			Expect(last).To(k.is(Flags(ACK), Ack(edge)))
			k.nxt = edge
			Expect(len(k.read())).To(Equal(len(first) + int(edge-start)))
			k.acks(time.Second) // window updates
		}
		// The peer scales windows: the stack advertises its whole 256 KiB buffer (8 bytes are
		// queued, so the window is a multiple of 8 and exact).
		check(accept(b, ln, fromPort(40001), peerWScale(7)), pattern(8))
		// The peer does not: the stack advertises 65535, the most the field holds, and the
		// window ends there whatever room the buffer has.
		check(accept(b, ln, fromPort(40002)), pattern(1))
	})

	Spec("D6", func() {
		b := NewBench()
		k := accept(b, listen(b))
		k.write([]byte("hello"))
		k.next(Payload([]byte("hello")))
		// ACK one byte past SND.NXT, with data: the data is not taken.
		s := k.seg(ACK|PSH, []byte("zzz"))
		s.Ack = k.ack + 1
		k.inject(s)
		k.next(Flags(ACK), Seq(k.ack), Ack(k.nxt))
		s.Ack = k.ack + 100000
		k.inject(s)
		k.next(Flags(ACK), Seq(k.ack), Ack(k.nxt))
		Expect(k.read()).To(BeEmpty())
		k.send(ACK, nil) // "hello" acknowledged: nothing more to send
		b.ExpectNothingFor(5 * time.Second)
	})

	Spec("D7", func() {
		b := NewBench()
		k := accept(b, listen(b))
		// Small segments: one ACK, delayed from the first.
		t0 := b.Elapsed()
		k.send(ACK|PSH, []byte("a"))
		b.Advance(50 * time.Millisecond)
		k.send(ACK|PSH, []byte("b"))
		f := k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt))
		Expect(f.Offset - t0).To(Equal(delayedACK)) // our delay; RFC 1122 allows up to 500 ms
		// Full-sized segments: every second one is acknowledged at once (the first waits: our policy).
		for range 2 {
			t1 := b.Elapsed()
			k.send(ACK, pattern(stackMSS))
			b.ExpectNothing()
			k.send(ACK, pattern(stackMSS))
			f = k.next(Flags(ACK), Ack(k.nxt))
			Expect(f.Offset).To(Equal(t1))
		}
		b.ExpectNothingFor(time.Second) // no delayed ACK left behind
	})

	Spec("D8", func() {
		b := NewBench()
		k := accept(b, listen(b), peerWindow(3000))
		data := pattern(20000)
		k.write(data)
		r := k.receive(len(data), 3000) // fails on a byte past the window
		Expect(r.data).To(Equal(data))
		Expect(r.maxFlight).To(BeNumerically(">", 3000-stackMSS), "the stack did not use the window")
		// A smaller window later: 2000 bytes (at least half the largest the peer offered, so
		// silly-window avoidance lets the stack fill it: see D13).
		k.write(data)
		r = k.receive(len(data), 2000)
		Expect(r.data).To(Equal(data))
		b.ExpectNothingFor(5 * time.Second)
	})

	Spec("D9", func() {
		b := NewBench()
		k := accept(b, listen(b))
		k.win = 0
		k.send(ACK, nil) // the peer's window closes
		data := pattern(1000)
		k.write(data)
		t0 := b.Elapsed()
		b.ExpectNothing()
		// A probe: no data at SND.UNA-1 (as Linux), or one byte at SND.UNA.
		probe := Or(k.is(Flags(ACK), Seq(k.ack-1), PayloadLen(0)), k.is(Flags(ACK), Seq(k.ack), PayloadLen(1)))
		var at time.Duration
		for i, gap := range []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60, 60} {
			at += gap * time.Second
			f := b.NextWithin(2 * time.Minute)
			Expect(f).To(probe)
			Expect(f.Offset-t0).To(Equal(at), "probe %d, after %v", i+1, gap*time.Second)
			k.inject(k.seg(ACK, nil)) // still zero
		}
		Expect(k.c.State()).To(Equal(TCPEstablished)) // after longer than data retries last
		Expect(k.c.Err()).NotTo(HaveOccurred())
		// The window opens: the data goes at once.
		k.win = 65535
		k.send(ACK, nil)
		k.next(Seq(k.ack), Payload(data))
	})

	Spec("D10", func() {
		b := NewBench()
		k := accept(b, listen(b))
		stream := pattern(2 * stackBuffer)
		n := k.fill(stream)
		// Receiver SWS avoidance (RFC 1122 4.2.3.3) moves the right edge only in steps of at
		// least one MSS, so the window may close with less than an MSS of the buffer unused.
		Expect(n).To(BeNumerically(">", stackBuffer-stackMSS), "bytes taken before the window closed")
		Expect(n).To(BeNumerically("<=", stackBuffer), "bytes taken before the window closed")
		// A probe of the closed window is answered with the same zero window, the byte not taken.
		k.inject(k.seg(ACK, stream[n:n+1]))
		k.next(Flags(ACK), Ack(k.nxt), Window(0))
		b.ExpectNothingFor(time.Minute) // no window update while nobody reads
		// Reading opens the window: an update at once (more may follow as the window grows).
		now := b.Elapsed()
		Expect(k.read()).To(Equal(stream[:n]))
		updates := k.acks(0)
		Expect(updates).NotTo(BeEmpty(), "no window update")
		Expect(updates[0]).To(BeTCP(Window(BeNumerically(">=", stackMSS))))
		Expect(updates[0].Offset).To(Equal(now))
		// The peer sends again.
		k.send(ACK|PSH, stream[n:n+100])
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt))
	})

	Spec("D11", func() {
		b := NewBench()
		k := accept(b, listen(b))
		stream := pattern(2 * stackBuffer)
		k.fill(stream)
		// Reading 100 bytes would open a silly window: no update, and a probe still sees 0.
		k.readN(100)
		b.ExpectNothing()
		k.inject(k.seg(ACK, []byte{0}))
		k.next(Flags(ACK), Ack(k.nxt), Window(0))
		// At one MSS (less than half the buffer) read, the window opens by that much.
		k.readN(stackMSS - 100)
		k.next(Flags(ACK), Ack(k.nxt), Window(BeNumerically(">=", stackMSS)))
	})

	Spec("D12", func() {
		b := NewBench()
		k := accept(b, listen(b))
		k.send(ACK|PSH, []byte("abc"))
		// The FIN comes before "def": held with the out-of-order data and answered as such, at
		// once, without moving RCV.NXT (RFC 9293 3.10.7.4, RFC 5681 4.2).
		fin := k.seg(FIN|ACK, nil)
		fin.Seq = k.nxt + 3
		k.inject(fin)
		k.next(Flags(ACK), Ack(k.nxt))
		Expect(k.c.State()).To(Equal(TCPEstablished))
		Expect(k.read()).To(Equal([]byte("abc")))
		b.Do(func() {
			_, err := k.c.Read(make([]byte, 10))
			Expect(err).To(MatchError(linuxabi.EAGAIN), "EOF before the data in front of the FIN")
		})
		// "def" fills the gap: the FIN is taken in sequence, and acknowledged with it.
		k.send(ACK|PSH, []byte("def"))
		k.nxt++
		k.next(Flags(ACK), Ack(k.nxt))
		Expect(k.c.State()).To(Equal(TCPCloseWait))
		Expect(k.read()).To(Equal([]byte("def")))
		b.Do(func() {
			n, err := k.c.Read(make([]byte, 10))
			Expect(err).NotTo(HaveOccurred())
			Expect(n).To(BeZero(), "end of stream")
		})
	})

	Spec("D13", func() {
		b := NewBench()
		k := accept(b, listen(b), peerWindow(2000)) // the largest window the peer offers: 2000
		k.write(pattern(10000))
		s1 := k.next(PayloadLen(stackMSS))
		// 540 bytes of window left, more data queued, a segment in flight: no small segment
		// (RFC 9293 3.8.6.2.1).
		b.ExpectNothing()
		// s1 acknowledged, a window of 1000: half the largest the peer offered (Fs = 1/2), so
		// 1000 bytes go at once.
		k.win = 1000
		k.ackUpTo(s1)
		s2 := k.next(PayloadLen(1000))
		// A window of 900, under half: nothing goes until the override timeout (the persist
		// timer, one RTO), then the 900 bytes.
		k.win = 900
		k.ackUpTo(s2)
		t0 := b.Elapsed()
		s3 := k.nextWithin(2*time.Second, PayloadLen(900))
		Expect(s3.Offset - t0).To(Equal(rto))
		// With TCP_NODELAY the same rule holds: it lifts Nagle's bracket, not the window's.
		b.Do(func() { k.c.SetNoDelay(true) })
		k.win = 2000
		k.ackUpTo(s3)
		s4 := k.next(PayloadLen(stackMSS))
		b.ExpectNothing() // 540 bytes of window left, under half of 2000
		// The control: s4 acknowledged, the window holds a full segment again, and it goes.
		k.ackUpTo(s4)
		k.next(PayloadLen(stackMSS))
	})
})
