package conformance

import (
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/layers"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
)

var (
	otherMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x03}
	otherIP  = netip.MustParseAddr("198.18.0.3")
	zeroMAC  = net.HardwareAddr{0, 0, 0, 0, 0, 0}
)

// learn makes the stack cache the peer (an ARP request for the stack) and takes the reply.
func learn(b *Bench) {
	GinkgoHelper()
	b.Inject(b.Peer().ARPRequest(b.StackIP()))
	Expect(b.Next()).To(BeARPReply())
}

// askedBy is an ARP request for target from another host (mac, ip).
func askedBy(b *Bench, mac net.HardwareAddr, ip, target netip.Addr) *Packet {
	p := *b.Peer()
	p.MAC, p.IP = mac, ip
	return p.ARPRequest(target)
}

var _ = Describe("ARP (RFC 826, RFC 1122 2.3.2)", Label("arp"), func() {
	Spec("A1", func() {
		b := NewBench()
		b.Inject(b.Peer().ARPRequest(b.StackIP()))
		Expect(b.Next()).To(BeARPReply(ToMAC(b.Peer().MAC), SenderMAC(b.StackMAC()), SenderIP(b.StackIP()),
			TargetMAC(b.Peer().MAC), TargetIP(b.Peer().IP)))
		// An RFC 5227 probe (sender 0.0.0.0) is answered too, to the prober's MAC.
		b.Inject(askedBy(b, otherMAC, netip.IPv4Unspecified(), b.StackIP()))
		Expect(b.Next()).To(BeARPReply(ToMAC(otherMAC), SenderIP(b.StackIP()), TargetMAC(otherMAC)))
		b.ExpectNothingFor(5 * time.Second)
	})

	Spec("A2", func() {
		b := NewBench(WithoutARPAnswers())
		b.Inject(b.Peer().ARPRequest(otherIP))
		b.ExpectNothingFor(5 * time.Second)
		// Nothing was cached: an echo from the peer needs a resolution first.
		b.Inject(b.Peer().Echo(1, 1, nil))
		Expect(b.Next()).To(BeARPRequest(ToMAC(layers.EthernetBroadcast), TargetIP(b.Peer().IP)))
	})

	Spec("A3", func() {
		b := NewBench(WithoutARPAnswers())
		learn(b)
		b.Inject(b.Peer().Echo(7, 1, []byte("x")))
		Expect(b.Next()).To(BeICMPEchoReply(ToMAC(b.Peer().MAC), ICMPSeq(1)))
		b.ExpectNothing()
	})

	Spec("A4", func() {
		b := NewBench(WithoutARPAnswers())
		learn(b)
		// A reply not addressed to us still updates the entry we hold for the peer's IP.
		moved := *b.Peer()
		moved.MAC = otherMAC
		b.Inject(moved.ARPReply().ToMAC(layers.EthernetBroadcast).Mutate("target IP 198.18.0.3", func(f []byte) { copy(f[38:42], otherIP.AsSlice()) }))
		b.Inject(b.Peer().Echo(1, 1, nil))
		Expect(b.Next()).To(BeICMPEchoReply(ToMAC(otherMAC)))
		// A reply between two other hosts adds no entry: sending to 198.18.0.3 needs ARP.
		b.Inject(askedBy(b, otherMAC, otherIP, netip.MustParseAddr("198.18.0.4")).Mutate("opcode reply", func(f []byte) { f[21] = 2 }))
		b.ExpectNothing()
		b.Inject(b.Peer().Echo(2, 2, nil).FromIP(otherIP))
		Expect(b.Next()).To(BeARPRequest(TargetIP(otherIP)))
	})

	Spec("A5", func() {
		b := NewBench(WithoutARPAnswers())
		req := func() *Packet { return b.Peer().ARPRequest(b.StackIP()) }
		b.Inject(req().Mutate("hardware type 6", func(f []byte) { f[15] = 6 }))
		b.Inject(req().Mutate("protocol type IPv6", func(f []byte) { f[16], f[17] = 0x86, 0xdd }))
		b.Inject(req().Mutate("hardware length 8", func(f []byte) { f[18] = 8 }))
		b.Inject(req().Mutate("protocol length 16", func(f []byte) { f[19] = 16 }))
		b.Inject(req().Mutate("opcode 9", func(f []byte) { f[21] = 9 }))
		b.Inject(req().Truncate(14 + 27))
		b.Inject(req().Truncate(14))
		b.ExpectNothingFor(5 * time.Second)
		// None of them taught the stack anything.
		b.Inject(b.Peer().Echo(1, 1, nil))
		Expect(b.Next()).To(BeARPRequest(TargetIP(b.Peer().IP)))
		// The same request intact is answered, and teaches the stack the peer's MAC: the echo
		// waiting for it goes out.
		b.Inject(req())
		reply, echo := b.Next(), b.Next()
		if reply.ARP() == nil { // in either order: RFC 826 sets none
			reply, echo = echo, reply
		}
		Expect(reply).To(BeARPReply(ToMAC(b.Peer().MAC), SenderIP(b.StackIP()), TargetMAC(b.Peer().MAC)))
		Expect(echo).To(BeICMPEchoReply(ToMAC(b.Peer().MAC), ICMPSeq(1)))
		b.ExpectNothing()
	})

	Spec("A6", func() {
		b := NewBench(WithoutARPAnswers())
		for seq := uint16(1); seq <= 6; seq++ {
			b.Inject(b.Peer().Echo(9, seq, []byte{byte(seq)}))
		}
		Expect(b.Next()).To(BeARPRequest(ToMAC(layers.EthernetBroadcast), TargetIP(b.Peer().IP), TargetMAC(zeroMAC)))
		b.ExpectNothing() // one request however many packets wait
		b.Inject(b.Peer().ARPReply())
		// Four packets wait per destination: the latest four go out, in order.
		for seq := uint16(3); seq <= 6; seq++ {
			Expect(b.Next()).To(BeICMPEchoReply(ToMAC(b.Peer().MAC), ICMPSeq(seq)))
		}
		b.ExpectNothingFor(10 * time.Second)
	})

	Spec("A7", func() {
		b := NewBench(WithoutARPAnswers())
		b.Inject(b.Peer().Echo(1, 1, nil))
		Expect(b.Next()).To(BeARPRequest(TargetIP(b.Peer().IP)))
		start := b.Elapsed()
		for i := 2; i <= 3; i++ {
			Expect(b.NextWithin(2 * time.Second)).To(BeARPRequest(TargetIP(b.Peer().IP)))
			Expect(b.Elapsed() - start).To(Equal(time.Duration(i-1) * time.Second))
		}
		b.ExpectNothingFor(time.Minute) // gave up after three requests, one second apart

		// A stale entry is still used, and revalidated by unicast polls.
		b.Inject(b.Peer().ARPRequest(b.StackIP()))
		Expect(b.Next()).To(BeARPReply())
		b.Advance(60 * time.Second)
		b.Inject(b.Peer().Echo(1, 2, nil))
		Expect(b.Next()).To(BeICMPEchoReply(ToMAC(b.Peer().MAC)))
		Expect(b.Next()).To(BeARPRequest(ToMAC(b.Peer().MAC), TargetIP(b.Peer().IP)))
		b.Inject(b.Peer().ARPReply())
		b.ExpectNothingFor(10 * time.Second)
	})

	Spec("A8", func() {
		b := NewBench()
		echo := func(seq uint16) *Packet { return b.Peer().Echo(1, seq, []byte("a8")) }
		injectDropped(b, echo(1).ToMAC(otherMAC))
		injectDropped(b, echo(2).EtherType(0x88b5))
		b.Inject(b.Peer().ARPRequest(b.StackIP()).ToMAC(otherMAC))
		b.ExpectNothingFor(5 * time.Second)
		// The same frames, to the stack's MAC (the request to the broadcast address it was
		// meant for) and with EtherType IPv4, are answered.
		b.Inject(echo(1))
		Expect(b.Next()).To(BeICMPEchoReply(ToMAC(b.Peer().MAC), ICMPSeq(1), EchoData([]byte("a8"))))
		b.Inject(echo(2))
		Expect(b.Next()).To(BeICMPEchoReply(ToMAC(b.Peer().MAC), ICMPSeq(2), EchoData([]byte("a8"))))
		b.Inject(b.Peer().ARPRequest(b.StackIP()))
		Expect(b.Next()).To(BeARPReply(ToMAC(b.Peer().MAC), SenderIP(b.StackIP()), TargetMAC(b.Peer().MAC)))
		b.ExpectNothing()
	})
})
