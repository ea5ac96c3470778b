package conformance

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
)

var (
	subnetBroadcast  = netip.MustParseAddr("198.18.0.255")
	limitedBroadcast = netip.MustParseAddr("255.255.255.255")
)

// reassemblyTimeout is the stack's default (RFC 1122 3.3.2 recommends 60 to 120 s).
const reassemblyTimeout = 60 * time.Second

// fixIPChecksum recomputes the IPv4 header checksum of a frame after a mutation, with the
// oracle's checksum.
func fixIPChecksum(f []byte) {
	SetIPv4Checksum(f[14 : 14+int(f[14]&0x0f)*4])
}

// injectDropped injects a damaged frame, one that fails a check of the layer that gets it (a
// checksum, the IP version, a length, a truncated header, an Ethernet destination or type or
// an IP destination not the stack's), which every stack counts as an input error. On a target
// that counts the frames it discards (harness.DropCounter) it checks that this one was
// counted; on one without counters the frame is injected all the same. Well-formed frames
// that a rule says to ignore (an unknown ICMP type, a broadcast or multicast address, a
// martian source), and ARP frames, which kernels drop without counting, are injected with
// Inject.
func injectDropped(b *Bench, p Injectable) {
	GinkgoHelper()
	d, counts := b.DUT().(DropCounter)
	var before uint64
	if counts {
		before = d.Drops()
	}
	b.Inject(p)
	if counts {
		Expect(d.Drops()).To(BeNumerically(">", before), "the target did not count this frame as dropped: %s", p)
	}
}

// unknownProto is a datagram the stack would answer with protocol unreachable if it took it.
func unknownProto(b *Bench) *Packet {
	return b.Peer().IPv4(253, gopacket.Payload("0123456789abcdef"))
}

var _ = Describe("IPv4 (RFC 791, RFC 1122 3.2 and 3.3)", Label("ipv4"), func() {
	Spec("I1", func() {
		b := NewBench()
		echo := func() *Packet { return b.Peer().Echo(1, 1, []byte("abc")) }
		injectDropped(b, echo().Mutate("header checksum off by one bit", func(f []byte) { f[24] ^= 1 }))
		b.ExpectNothingFor(5 * time.Second)
		// The same datagram with its checksum right is answered.
		b.Inject(echo())
		Expect(b.Next()).To(BeICMPEchoReply(ICMPSeq(1), EchoData([]byte("abc"))))
		b.ExpectNothing()
	})

	Spec("I2", func() {
		b := NewBench()
		echo := func() *Packet { return b.Peer().Echo(1, 1, []byte("v4")) }
		injectDropped(b, echo().Mutate("version 6 (checksum fixed)", func(f []byte) { f[14] = 6<<4 | 5; fixIPChecksum(f) }))
		b.ExpectNothingFor(5 * time.Second)
		// The same datagram with version 4 is answered.
		b.Inject(echo())
		Expect(b.Next()).To(BeICMPEchoReply(ICMPSeq(1), EchoData([]byte("v4"))))
		b.ExpectNothing()
	})

	Spec("I3", func() {
		b := NewBench()
		echo := func() *Packet { return b.Peer().Echo(1, 1, []byte("payload")) }
		injectDropped(b, echo().Mutate("IHL 4 (checksum fixed)", func(f []byte) { f[14] = 0x44; fixIPChecksum(f) }))
		injectDropped(b, echo().Mutate("IHL 15, past the frame", func(f []byte) { f[14] = 0x4f }))
		injectDropped(b, echo().Mutate("total length 1 byte past the frame", func(f []byte) {
			binary.BigEndian.PutUint16(f[16:], uint16(len(f)-14+1))
			fixIPChecksum(f)
		}))
		injectDropped(b, echo().Mutate("total length 19", func(f []byte) { binary.BigEndian.PutUint16(f[16:], 19); fixIPChecksum(f) }))
		injectDropped(b, echo().Truncate(14+19))
		b.ExpectNothingFor(5 * time.Second)
		// The same echo intact is answered.
		b.Inject(echo())
		Expect(b.Next()).To(BeICMPEchoReply(ICMPSeq(1), EchoData([]byte("payload"))))
		// Ethernet padding after the datagram is not data.
		b.Inject(b.Peer().Echo(1, 2, []byte("hi")).Pad(60))
		Expect(b.Next()).To(BeICMPEchoReply(ICMPSeq(2), EchoData([]byte("hi"))))
	})

	Spec("I4", func() {
		b := NewBench()
		injectDropped(b, unknownProto(b).ToIP(otherIP))
		// The rest are well-formed datagrams that RFC 1122 says to drop, or to answer with no
		// ICMP error.
		b.Inject(unknownProto(b).ToIP(netip.MustParseAddr("224.0.0.1")))
		b.Inject(unknownProto(b).FromIP(subnetBroadcast))
		b.Inject(unknownProto(b).FromIP(limitedBroadcast))
		b.Inject(unknownProto(b).FromIP(netip.MustParseAddr("224.0.0.5")))
		b.Inject(unknownProto(b).FromIP(netip.MustParseAddr("127.0.0.1")))
		b.Inject(unknownProto(b).ToMAC(layers.EthernetBroadcast)) // unicast IP in a link broadcast (RFC 1122 3.3.6)
		syn := func() *Packet { return b.Peer().TCP(Segment{Flags: SYN, Seq: 1000, Win: 29200}) }
		b.Inject(syn().ToIP(subnetBroadcast).ToMAC(layers.EthernetBroadcast))
		b.ExpectNothingFor(5 * time.Second)
		// The same datagrams from the peer to the stack's address and MAC are answered: the
		// unknown protocol with protocol unreachable, the SYN (to a closed port) with RST|ACK.
		p := unknownProto(b)
		b.Inject(p)
		Expect(b.Next()).To(BeICMPError(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodeProtocol,
			FromIP(b.StackIP()), ToIP(b.Peer().IP), Quoting(p)))
		b.Inject(syn())
		Expect(b.Next()).To(BeTCP(Flags(RST|ACK), SrcPort(DefaultStackPort), DstPort(DefaultPeerPort), Ack(1001)))
		b.ExpectNothing()
	})

	Spec("I5", func() {
		b := NewBench()
		b.Inject(b.Peer().Echo(1, 5, []byte("ttl")).TTL(1))
		Expect(b.Next()).To(BeICMPEchoReply(ICMPSeq(5), TTL(64)))
	})

	Spec("I6", func() {
		b := NewBench()
		b.Inject(b.Peer().Echo(1, 6, []byte("opts")).IPOptions(
			layers.IPv4Option{OptionType: 0x9e, OptionLength: 6, OptionData: []byte{1, 2, 3, 4}}, // unknown, copied class
			layers.IPv4Option{OptionType: 1}, layers.IPv4Option{OptionType: 1}))
		Expect(b.Next()).To(BeICMPEchoReply(ICMPSeq(6), EchoData([]byte("opts"))))
	})

	Spec("I7", func() {
		b := NewBench()
		data := bytes.Repeat([]byte("0123456789abcdef"), 40)
		for i, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {0, 0, 1, 2, 1}} {
			seq := uint16(i + 1)
			fr := b.Peer().Echo(0x4d54, seq, data).Fragments(uint16(100+i), 256, 256, 0)
			for _, j := range order {
				b.Inject(fr[j])
			}
			Expect(b.Next()).To(BeICMPEchoReply(ICMPSeq(seq), EchoData(data)))
			b.ExpectNothing() // once, however often a fragment came
		}
		// A fragment overlapping its neighbours with other extents drops the whole datagram.
		fr := b.Peer().Echo(0x4d54, 9, data).Fragments(200, 256, 256, 0)
		evil := b.Peer().IPv4(layers.IPProtocolICMPv4, gopacket.Payload(bytes.Repeat([]byte{'X'}, 256))).ID(200).
			Mutate("fragment at offset 128 with MF (checksum fixed)", func(f []byte) {
				binary.BigEndian.PutUint16(f[20:], 0x2000|128/8)
				fixIPChecksum(f)
			})
		b.InjectAll(fr[0], evil, fr[1], fr[2])
		b.ExpectNothingFor(2 * reassemblyTimeout)
	})

	Spec("I8", func() {
		b := NewBench()
		fr := b.Peer().Echo(1, 1, bytes.Repeat([]byte("z"), 600)).Fragments(90, 256, 256, 0)
		b.InjectAll(fr[0], fr[2])
		b.ExpectNothingFor(reassemblyTimeout - time.Millisecond)
		Expect(b.NextWithin(time.Millisecond)).To(BeICMPError(layers.ICMPv4TypeTimeExceeded, layers.ICMPv4CodeFragmentReassemblyTimeExceeded,
			ToIP(b.Peer().IP), Quoting(fr[0])))
		// Without fragment 0 the state is freed silently.
		late := b.Peer().Echo(1, 2, bytes.Repeat([]byte("z"), 600)).Fragments(91, 256, 256, 0)
		b.Inject(late[1])
		b.ExpectNothingFor(2 * reassemblyTimeout)
		// Freed means forgotten: the remaining fragments alone do not complete it.
		b.InjectAll(late[0], late[2])
		b.ExpectNothing()
	})

	Spec("I9", func() {
		b := NewBench()
		p := unknownProto(b)
		b.Inject(p)
		Expect(b.Next()).To(BeICMPError(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodeProtocol,
			FromIP(b.StackIP()), ToIP(b.Peer().IP), Quoting(p)))
		b.ExpectNothing()
	})

	Spec("I10", func() {
		b := NewBench()
		seen := map[uint16]bool{}
		for seq := uint16(1); seq <= 20; seq++ {
			b.Inject(b.Peer().Echo(1, seq, []byte("same")))
			f := b.Next()
			Expect(f).To(BeICMPEchoReply(ICMPSeq(seq), DontFragment(false)))
			id := f.IPv4().Id
			Expect(seen).NotTo(HaveKey(id), "IP ID 0x%04x repeated", id)
			seen[id] = true
		}
	})
})
