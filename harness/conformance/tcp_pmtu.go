package conformance

import (
	"encoding/binary"
	"time"

	"github.com/gopacket/gopacket/layers"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
)

// fragNeeded is the ICMP fragmentation-needed message (RFC 792, RFC 1191 4) a router on the
// way sends about one of the stack's datagrams, whose start q quotes (see quote): the next-hop
// MTU in the low half of the second word.
func fragNeeded(b *Bench, q []byte, mtu uint16) *Packet {
	return b.Peer().ICMP(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodeFragmentationNeeded, uint32(mtu), q).FromIP(DefaultGateway)
}

var _ = Describe("TCP path MTU discovery (RFC 1191, RFC 5927)", Label("tcp"), func() {
	Spec("PM1", func() {
		b := NewBench()
		ln := listen(b)
		k := accept(b, ln)
		// DF on every segment (RFC 1191 3).
		Expect(k.syn).To(k.is(DontFragment(true)))
		k.write(pattern(3 * stackMSS))
		s1 := k.next(PayloadLen(stackMSS), DontFragment(true))
		k.next(PayloadLen(stackMSS))
		k.next(PayloadLen(stackMSS))
		// A router cannot forward s1: MTU 1000. The segments in flight no longer fit and go
		// again at once, cut to 960 bytes (1000 − 40) and the rest; the window stays (it was
		// not congestion).
		b.Inject(fragNeeded(b, quote(s1), 1000))
		seq := s1.TCP().Seq
		for _, n := range []int{960, 500, 960, 500, 960, 500} {
			k.next(Seq(seq), PayloadLen(n), DontFragment(true))
			seq += uint32(n)
		}
		b.ExpectNothing()
		Expect(k.c.Info().PMTU).To(Equal(1000))
		info := k.c.Info()
		Expect(info.CwndSegs*info.SndMSS).To(BeNumerically(">=", 3*960), "the window shrank: %d segments of %d", info.CwndSegs, info.SndMSS)
		// New data comes in 960-byte segments.
		k.send(ACK, nil)
		k.write(pattern(2000))
		f := k.next(PayloadLen(960))
		k.next(PayloadLen(960))
		b.ExpectNothing() // the last 80 bytes wait (Nagle)
		// However small the MTU named, the stack keeps to 576 (536 bytes of data): RFC 1122's
		// datagram every host takes.
		b.Inject(fragNeeded(b, quote(f), 300))
		Expect(k.c.Info().PMTU).To(Equal(576))
		k.next(Seq(f.TCP().Seq), PayloadLen(536))
		k.next(Seq(f.TCP().Seq+536), PayloadLen(424))

		// Config.PMTUD Off: DF clear, and the message changes nothing.
		b2 := newBenchWith("net.ipv4.ip_no_pmtu_disc=1")
		k2 := accept(b2, listen(b2))
		Expect(k2.syn).To(k2.is(DontFragment(false)))
		k2.write(pattern(stackMSS))
		g := k2.next(PayloadLen(stackMSS), DontFragment(false))
		b2.Inject(fragNeeded(b2, quote(g), 1000))
		b2.ExpectNothing()
		Expect(k2.c.Info().PMTU).To(Equal(1500))
	})

	Spec("PM2", func() {
		b := NewBench()
		k := accept(b, listen(b))
		k.write(pattern(stackMSS))
		s1 := k.next(PayloadLen(stackMSS))
		ignored := counter(b, "mtcp.tcp.ICMPIgnored")
		// Quoting a sequence number not in flight: an off-path forgery (RFC 5927 4.1).
		b.Inject(fragNeeded(b, withSeq(quote(s1), s1.TCP().Seq+100000), 1000))
		// Naming an MTU no smaller than the path's: never raised by this message (RFC 1191 6.3).
		b.Inject(fragNeeded(b, quote(s1), 1500))
		// Quoting a datagram no larger than the MTU it names: it was not too big (RFC 5927 5.2).
		small := quote(s1)
		binary.BigEndian.PutUint16(small[2:], 900) // the quoted IP header's total length
		b.Inject(fragNeeded(b, small, 1000))
		b.ExpectNothing()
		Expect(counter(b, "mtcp.tcp.ICMPIgnored") - ignored).To(BeEquivalentTo(3))
		Expect(k.c.Info().PMTU).To(Equal(1500))
		// The genuine message is believed: the segment goes again, smaller.
		b.Inject(fragNeeded(b, quote(s1), 1000))
		k.next(Seq(s1.TCP().Seq), PayloadLen(960))
		k.next(Seq(s1.TCP().Seq+960), PayloadLen(500))
		b.ExpectNothing()
		k.ackUpTo(s1)
		b.ExpectNothingFor(5 * time.Second)
	})
})
