package conformance

import (
	"time"

	"github.com/gopacket/gopacket/layers"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/linuxabi"
)

const (
	tsKind     = layers.TCPOptionKindTimestamps
	sackOKKind = layers.TCPOptionKindSACKPermitted
	sackKind   = layers.TCPOptionKindSACK
	stackTSMSS = stackMSS - 12 // data per segment with the timestamp option in every segment
)

// tsOf returns the TSval of f, failing the spec when it has no timestamp.
func tsOf(f *Frame) uint32 {
	GinkgoHelper()
	val, _, ok := TimestampOf(f)
	Expect(ok).To(BeTrue(), "no timestamp option in\n%s", f.Describe())
	return val
}

var _ = Describe("TCP timestamps (RFC 7323)", Label("tcp"), func() {
	Spec("TS1", func() {
		b := NewBench()
		ln := listen(b)
		// Passive, the SYN offers timestamps and SACK: the SYN-ACK answers both and echoes the
		// SYN's TSval; every later segment carries a timestamp.
		k := accept(b, ln, peerTimestamps(), peerSACK())
		Expect(k.syn).To(k.is(Flags(SYN|ACK), HasOption(tsKind), TSEcr(uint32(peerTSBase)), HasOption(sackOKKind)))
		k.send(ACK|PSH, []byte("x"))
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt), HasOption(tsKind))
		// Passive, a SYN without them: none in the SYN-ACK, none later.
		k2 := accept(b, ln, fromPort(40001))
		Expect(k2.syn).To(k2.is(WithoutOption(tsKind), WithoutOption(sackOKKind)))
		k2.send(ACK|PSH, []byte("y"))
		k2.nextWithin(time.Second, Flags(ACK), Ack(k2.nxt), WithoutOption(tsKind))
		// Active: the SYN offers both, TSecr 0; a SYN-ACK with timestamps agrees to them.
		k3 := dial(b, fromPort(8080), peerTimestamps())
		Expect(k3.syn).To(k3.is(Flags(SYN), HasOption(tsKind), TSEcr(0), HasOption(sackOKKind), HasMSS(stackMSS), HasWScale(stackRcvShift)))
		k3.write([]byte("z"))
		k3.next(Payload([]byte("z")), TSEcr(k3.peerTS))
		// Active, a SYN-ACK without: no timestamp after the SYN.
		k4 := dial(b, fromPort(8081))
		k4.write([]byte("w"))
		k4.next(Payload([]byte("w")), WithoutOption(tsKind))

		// Switched off (Config.Timestamps and Config.SACK Off): neither offered nor answered.
		b2 := newBenchWith("net.ipv4.tcp_timestamps=0", "net.ipv4.tcp_sack=0")
		k5 := accept(b2, listen(b2), peerTimestamps(), peerSACK())
		Expect(k5.syn).To(k5.is(Flags(SYN|ACK), WithoutOption(tsKind), WithoutOption(sackOKKind)))
		k6 := dial(b2, fromPort(8080), peerTimestamps(), peerSACK())
		Expect(k6.syn).To(k6.is(Flags(SYN), WithoutOption(tsKind), WithoutOption(sackOKKind)))
		k6.write([]byte("v"))
		k6.next(Payload([]byte("v")), WithoutOption(tsKind))
	})

	Spec("TS2", func() {
		b := NewBench()
		ln := listen(b)
		k := accept(b, ln, peerTimestamps())
		// Data, ACKs and FIN: every segment carries a timestamp (RFC 7323 3.2).
		k.write([]byte("data"))
		k.next(Payload([]byte("data")), HasOption(tsKind))
		k.send(ACK|PSH, []byte("abc"))
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt), PayloadLen(0), HasOption(tsKind))
		// A segment without a timestamp on this connection is dropped silently (RFC 7323 3.2
		// SHOULD; our policy).
		s := k.seg(ACK|PSH, []byte("lost"))
		s.Options = nil
		k.inject(s)
		b.ExpectNothingFor(time.Second)
		Expect(k.read()).To(Equal([]byte("abc")))
		// The same segment with its timestamp is taken.
		k.send(ACK|PSH, []byte("lost"))
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt), HasOption(tsKind))
		Expect(k.read()).To(Equal([]byte("lost")))
		k.close()
		k.next(Flags(FIN|ACK), HasOption(tsKind))
		// The stack's own RST carries one too (RFC 7323 3.2: SHOULD).
		k2 := accept(b, ln, fromPort(40001), peerTimestamps())
		b.Do(func() { Expect(k2.c.Abort()).To(Succeed()) })
		k2.next(Flags(RST), Seq(k2.ack), HasOption(tsKind))
		// A RST without one is not dropped for that (RFC 7323 3.2 exempts it): it resets.
		k3 := accept(b, ln, fromPort(40002), peerTimestamps())
		r := k3.seg(RST, nil)
		r.Options = nil
		k3.inject(r)
		Expect(k3.c.State()).To(Equal(TCPClose))
		Expect(k3.c.Err()).To(MatchError(linuxabi.ECONNRESET))

		// With Config.TolerateMissingTimestamps, a segment without one is taken.
		b2 := newBenchWith("timestamps optional=1")
		k4 := accept(b2, listen(b2), peerTimestamps())
		s = k4.seg(ACK|PSH, []byte("tolerated"))
		s.Options = nil
		k4.inject(s)
		k4.nxt += 9
		k4.nextWithin(time.Second, Flags(ACK), Ack(k4.nxt), HasOption(tsKind))
		Expect(k4.read()).To(Equal([]byte("tolerated")))
	})

	Spec("TS3", func() {
		b := NewBench()
		k := accept(b, listen(b), peerTimestamps())
		// Two small segments 10 ms apart, acknowledged by one delayed ACK: it echoes the TSval
		// of the first (RFC 7323 4.3 (2), case A), not the latest.
		b.Advance(10 * time.Millisecond)
		k.send(ACK|PSH, []byte("a"))
		first := k.peerTS
		b.Advance(10 * time.Millisecond)
		k.send(ACK|PSH, []byte("b"))
		Expect(k.peerTS).NotTo(Equal(first))
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt), TSEcr(first))
		// In order "c", then "e" past a hole: the immediate duplicate ACK echoes "c", the last
		// segment that advanced the window, not "e" (RFC 7323 4.3 case B).
		b.Advance(10 * time.Millisecond)
		k.send(ACK|PSH, []byte("c"))
		c := k.peerTS
		b.Advance(10 * time.Millisecond)
		k.outOfOrder(1, []byte("e"))
		Expect(k.peerTS).NotTo(Equal(c))
		k.next(Flags(ACK), Ack(k.nxt), TSEcr(c))
		// "d" fills the hole: its ACK echoes "d" (RFC 7323 4.3 case C).
		b.Advance(10 * time.Millisecond)
		k.send(ACK|PSH, []byte("d"))
		k.nxt++
		k.next(Flags(ACK), Ack(k.nxt), TSEcr(k.peerTS))
		Expect(k.read()).To(Equal([]byte("abcde")))
	})

	Spec("TS4", func() {
		// A minimum RTO of 10 ms lets the RTT show on the wire.
		b := newBenchWith("net.ipv4.tcp_rto_min_us=10000")
		ln := listen(b)
		k := accept(b, ln, peerTimestamps()) // the ACK echoes the SYN-ACK 10 ms later
		srtt, rttvar := 10*time.Millisecond, 5*time.Millisecond
		Expect(k.c.Info().SRTT).To(Equal(usec(srtt)))
		// An ACK 20 ms after the data, echoing its TSval: one sample (RFC 7323 4.1, RFC 6298 2.3).
		k.write([]byte("one"))
		k.next(Payload([]byte("one")))
		b.Advance(20 * time.Millisecond)
		k.send(ACK, nil)
		sample := func(r time.Duration) {
			d := srtt - r
			if d < 0 {
				d = -d
			}
			rttvar += (d - rttvar) / 4
			srtt += (r - srtt) / 8
		}
		sample(20 * time.Millisecond)
		rto := srtt + 4*rttvar
		Expect(k.c.Info().SRTT).To(Equal(usec(srtt)))
		Expect(k.c.Info().RTO).To(Equal(usec(rto)))
		// The RTO on the wire is the one computed.
		k.rtoAfter([]byte("two"), rto)
		// The ACK of the retransmission echoes its TSval: a valid sample of 50 ms (no Karn
		// ambiguity with timestamps), and the backed-off RTO goes.
		b.Advance(50 * time.Millisecond)
		k.send(ACK, nil)
		sample(50 * time.Millisecond)
		Expect(k.c.Info().SRTT).To(Equal(usec(srtt)))
		Expect(k.c.Info().RTO).To(Equal(usec(srtt + 4*rttvar)))
		// Three full segments in flight on a new connection: two samples are expected per
		// window (one ACK every second segment), so each counts half (RFC 7323 appendix G:
		// alpha and beta divided by ceil(FlightSize / (2·SMSS)) = 2).
		k2 := accept(b, ln, fromPort(40001), peerTimestamps())
		srtt, rttvar = 10*time.Millisecond, 5*time.Millisecond
		data := pattern(3 * stackTSMSS)
		k2.write(data)
		for range 3 {
			k2.next(PayloadLen(stackTSMSS))
		}
		b.Advance(30 * time.Millisecond)
		s := k2.seg(ACK, nil)
		s.Ack = k2.iss + 1 + stackTSMSS
		k2.inject(s)
		rttvar += (20*time.Millisecond - rttvar) / 8
		srtt += (30*time.Millisecond - srtt) / 16
		Expect(k2.c.Info().SRTT).To(Equal(usec(srtt)))
		Expect(k2.c.Info().RTTVar).To(Equal(usec(rttvar)))
	})

	Spec("TS5", func() {
		b := NewBench()
		ln := listen(b)
		k := accept(b, ln, peerTimestamps())
		v0 := tsOf(k.syn)
		synAt := b.Now().Add(k.syn.Offset - b.Elapsed()) // the virtual time the SYN-ACK left
		Expect(int32(v0-uint32(synAt.UnixMilli()))).NotTo(BeNumerically("~", 0, 1000), "TSval %d is the bare millisecond clock: no offset", v0)
		// A millisecond clock (RFC 7323 5.4): 1.5 s later the TSval is 1500 higher.
		b.Advance(1500*time.Millisecond - b.Elapsed())
		k.write([]byte("x"))
		f := k.next(Payload([]byte("x")))
		Expect(f.Offset - k.syn.Offset).To(Equal(1500 * time.Millisecond))
		v1 := tsOf(f)
		Expect(v1 - v0).To(Equal(uint32(1500)))
		// Another connection at the same moment has another offset (RFC 7323 7.1).
		k2 := accept(b, ln, fromPort(40001), peerTimestamps())
		v2 := tsOf(k2.syn)
		Expect(int32(v2-v1)).NotTo(BeNumerically("~", 0, 1<<20), "two connections' TSvals %d and %d are close", v1, v2)
	})

	Spec("TS6", func() {
		b := NewBench()
		k := accept(b, listen(b), peerTimestamps())
		k.send(ACK|PSH, []byte("a"))
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt))
		stale := k.peerTS - 1000
		// An older TSval than TS.Recent: PAWS drops it and answers with an ACK.
		k.inject(k.withTSVal(ACK|PSH, []byte("b"), stale))
		k.next(Flags(ACK), Ack(k.nxt))
		Expect(k.read()).To(Equal([]byte("a")))
		// 25 days without a segment: TS.Recent is no longer trusted (RFC 7323 5.5) and the same
		// segment is taken.
		b.ExpectNothingFor(25 * 24 * time.Hour)
		k.inject(k.withTSVal(ACK|PSH, []byte("b"), stale))
		k.nxt++
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt), TSEcr(stale))
		Expect(k.read()).To(Equal([]byte("b")))
	})

	Spec("O8", func() {
		b := NewBench()
		ln := listen(b)
		k := accept(b, ln, peerTimestamps())
		k.send(ACK|PSH, []byte("a"))
		recent := k.peerTS
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt))
		// An old duplicate (TSval older than TS.Recent) in the window: acknowledged and dropped
		// (RFC 7323 5.3 R1); the ACK echoes TS.Recent.
		b.Advance(10 * time.Millisecond)
		k.inject(k.withTSVal(ACK|PSH, []byte("b"), recent-1))
		k.next(Flags(ACK), Ack(k.nxt), TSEcr(recent))
		Expect(k.read()).To(Equal([]byte("a")))
		// The same bytes with a current timestamp are taken.
		k.send(ACK|PSH, []byte("b"))
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt))
		Expect(k.read()).To(Equal([]byte("b")))
		// A RST is not subject to PAWS (R1): an old timestamp does not save the connection.
		k.inject(k.withTSVal(RST, nil, recent-1))
		Expect(k.c.State()).To(Equal(TCPClose))

		// Timestamps not agreed (the peer's SYN had none): a TS option on later segments means
		// nothing, and an older TSval is no PAWS reject.
		k2 := accept(b, ln, fromPort(40001))
		for i, val := range []uint32{6000, 100} {
			s := k2.seg(ACK|PSH, []byte{'a' + byte(i)})
			s.Options = []layers.TCPOption{NOPOption, NOPOption, TimestampOption(val, 0)}
			k2.inject(s)
			k2.nxt++
		}
		k2.nextWithin(time.Second, Flags(ACK), Ack(k2.nxt), WithoutOption(tsKind))
		Expect(k2.read()).To(Equal([]byte("ab")))
	})

	Spec("TS7", func() {
		b := NewBench()
		k := accept(b, listen(b), peerTimestamps())
		stale := k.peerTS - 1
		b.Advance(10 * time.Millisecond)
		// A flood of old duplicates, one a millisecond: the first draws an ACK, then at most one
		// per 500 ms (as Linux's tcp_invalid_ratelimit), however many come.
		var acks []time.Duration
		start := b.Elapsed()
		for range 1200 {
			k.inject(k.withTSVal(ACK|PSH, []byte("x"), stale))
			for f := b.TryNextWithin(0); f != nil; f = b.TryNextWithin(0) {
				Expect(f).To(k.is(Flags(ACK), Ack(k.nxt), PayloadLen(0)))
				acks = append(acks, f.Offset-start)
			}
			b.Advance(time.Millisecond)
		}
		Expect(acks).To(Equal([]time.Duration{0, 500 * time.Millisecond, time.Second}))
		Expect(k.read()).To(BeEmpty())
		// A timestamp option 9 bytes long is malformed: the segment is dropped (RFC 9293 3.1).
		bad := k.packet(k.seg(ACK|PSH, []byte("y"))).MutateTCP("timestamp option length 9", func(t []byte) { t[23] = 9 })
		b.Inject(bad)
		b.ExpectNothingFor(time.Second)
		Expect(k.read()).To(BeEmpty())
		// The same segment, well formed, is taken: the connection was never harmed.
		k.send(ACK|PSH, []byte("y"))
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt))
		Expect(k.read()).To(Equal([]byte("y")))
	})

	Spec("TS8", func() {
		b := NewBench()
		k := accept(b, listen(b), peerTimestamps())
		good := k.peerTS
		b.Advance(10 * time.Millisecond)
		future := peerTSAt(b) + 1<<30
		// A segment that acknowledges data never sent, or data acknowledged long ago, is dropped
		// with an ACK (RFC 5961 5.2); its TSval, far ahead, must not become TS.Recent: the
		// ACK echoes the last good one.
		beyond := k.withTSVal(ACK|PSH, []byte("x"), future)
		beyond.Ack = k.ack + 100000
		k.inject(beyond)
		k.next(Flags(ACK), Ack(k.nxt), TSEcr(good))
		old := k.withTSVal(ACK|PSH, []byte("x"), future)
		old.Ack = k.ack - 1<<30
		k.inject(old)
		k.next(Flags(ACK), Ack(k.nxt), TSEcr(good))
		// So the peer's next segment, with its own clock's TSval, is taken, not PAWS-dropped.
		b.Advance(10 * time.Millisecond)
		k.send(ACK|PSH, []byte("y"))
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt), TSEcr(k.peerTS))
		Expect(k.read()).To(Equal([]byte("y")))
		Expect(counter(b, "TcpExtPAWSEstab")).To(BeZero())

		// The positive control: the same far-ahead TSval on a segment with a valid ACK does
		// become TS.Recent, and the peer's next segment then fails PAWS.
		k.inject(k.withTSVal(ACK|PSH, []byte("z"), future))
		k.nxt++
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt), TSEcr(future))
		b.Advance(500 * time.Millisecond) // past the connection's limit on ACKs for bad segments
		k.inject(k.seg(ACK|PSH, []byte("w")))
		k.next(Flags(ACK), Ack(k.nxt), TSEcr(future))
		Expect(k.read()).To(Equal([]byte("z")))
		Expect(counter(b, "TcpExtPAWSEstab")).To(Equal(uint64(1)))
	})
})

// usec is d as TCP_INFO reports it: in whole microseconds.
func usec(d time.Duration) time.Duration { return d.Truncate(time.Microsecond) }
