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

// fixIPChecksum recomputes the IPv4 header checksum of a frame after a mutation.
func fixIPChecksum(f []byte) {
	h := f[14 : 14+int(f[14]&0x0f)*4]
	h[10], h[11] = 0, 0
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(h[10:], ^uint16(sum))
}

// unknownProto is a datagram the stack would answer with protocol unreachable if it took it.
func unknownProto(b *Bench) *Packet {
	return b.Peer().IPv4(253, gopacket.Payload("0123456789abcdef"))
}

var _ = Describe("IPv4 (RFC 791, RFC 1122 3.2 and 3.3)", Label("ipv4"), func() {
	Spec("I1", func() {
		b := NewBench()
		b.Inject(b.Peer().Echo(1, 1, []byte("abc")).Mutate("header checksum off by one bit", func(f []byte) { f[24] ^= 1 }))
		b.ExpectNothingFor(5 * time.Second)
	})

	Spec("I2", func() {
		b := NewBench()
		b.Inject(b.Peer().Echo(1, 1, nil).Mutate("version 6 (checksum fixed)", func(f []byte) { f[14] = 6<<4 | 5; fixIPChecksum(f) }))
		b.ExpectNothingFor(5 * time.Second)
	})

	Spec("I3", func() {
		b := NewBench()
		echo := func() *Packet { return b.Peer().Echo(1, 1, []byte("payload")) }
		b.Inject(echo().Mutate("IHL 4 (checksum fixed)", func(f []byte) { f[14] = 0x44; fixIPChecksum(f) }))
		b.Inject(echo().Mutate("IHL 15, past the frame", func(f []byte) { f[14] = 0x4f }))
		b.Inject(echo().Mutate("total length 1 byte past the frame", func(f []byte) {
			binary.BigEndian.PutUint16(f[16:], uint16(len(f)-14+1))
			fixIPChecksum(f)
		}))
		b.Inject(echo().Mutate("total length 19", func(f []byte) { binary.BigEndian.PutUint16(f[16:], 19); fixIPChecksum(f) }))
		b.Inject(echo().Truncate(14 + 19))
		b.ExpectNothingFor(5 * time.Second)
		// Ethernet padding after the datagram is not data.
		b.Inject(b.Peer().Echo(1, 2, []byte("hi")).Pad(60))
		Expect(b.Next()).To(BeICMPEchoReply(ICMPSeq(2), EchoData([]byte("hi"))))
	})

	Spec("I4", func() {
		b := NewBench()
		b.Inject(unknownProto(b).ToIP(otherIP))
		b.Inject(unknownProto(b).ToIP(netip.MustParseAddr("224.0.0.1")))
		b.Inject(unknownProto(b).FromIP(subnetBroadcast))
		b.Inject(unknownProto(b).FromIP(limitedBroadcast))
		b.Inject(unknownProto(b).FromIP(netip.MustParseAddr("224.0.0.5")))
		b.Inject(unknownProto(b).FromIP(netip.MustParseAddr("127.0.0.1")))
		b.Inject(unknownProto(b).ToMAC(layers.EthernetBroadcast)) // unicast IP in a link broadcast (RFC 1122 3.3.6)
		syn := &layers.TCP{SrcPort: 40000, DstPort: 80, SYN: true, Seq: 1000, Window: 29200}
		b.Inject(b.Peer().IPv4(layers.IPProtocolTCP, syn).ToIP(subnetBroadcast).ToMAC(layers.EthernetBroadcast))
		b.ExpectNothingFor(5 * time.Second)
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
