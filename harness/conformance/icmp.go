package conformance

import (
	"bytes"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
)

var _ = Describe("ICMP (RFC 792, RFC 1122 3.2.2)", Label("icmp"), func() {
	Spec("C1", func() {
		b := NewBench()
		for _, n := range []int{0, 1, 7, 56, 57, 1471, 1472} { // odd lengths; 1472 fills the MTU
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(i*7 + 3)
			}
			b.Inject(b.Peer().Echo(0x4d54, uint16(n), data))
			Expect(b.Next()).To(BeICMPEchoReply(FromIP(b.StackIP()), ToIP(b.Peer().IP), ICMPID(0x4d54), ICMPSeq(n), EchoData(data)))
		}
		b.ExpectNothing()
	})

	Spec("C2", func() {
		b := NewBench()
		echo := func() *Packet { return b.Peer().Echo(1, 1, []byte("abc")) }
		injectDropped(b, echo().Mutate("ICMP checksum inverted", func(f []byte) { f[36] ^= 0xff }))
		b.Inject(b.Peer().ICMP(42, 0, 1<<16|2, []byte("????"))) // well-formed: ignored, not damaged
		// An echo request cut short: its 8-byte ICMP header, checksum and all, less the last byte.
		header := echo().Bytes()[34:42]
		injectDropped(b, b.Peer().IPv4(layers.IPProtocolICMPv4, gopacket.Payload(header[:7])))
		b.ExpectNothingFor(5 * time.Second)
		// Intact, the same messages are answered: the echo with its checksum right, the
		// message of type 42 with type 8 (echo request), the header with its eighth byte.
		b.Inject(echo())
		Expect(b.Next()).To(BeICMPEchoReply(ICMPID(1), ICMPSeq(1), EchoData([]byte("abc"))))
		b.Inject(b.Peer().ICMP(layers.ICMPv4TypeEchoRequest, 0, 1<<16|2, []byte("????")))
		Expect(b.Next()).To(BeICMPEchoReply(ICMPID(1), ICMPSeq(2), EchoData([]byte("????"))))
		b.Inject(b.Peer().Echo(1, 1, nil))
		Expect(b.Next()).To(BeICMPEchoReply(ICMPID(1), ICMPSeq(1), EchoData([]byte{})))
		b.ExpectNothing()
	})

	Spec("C3", func() {
		b := NewBench()
		echo := func(seq uint16) *Packet { return b.Peer().Echo(1, seq, []byte("bc")) }
		b.Inject(echo(1).ToIP(subnetBroadcast).ToMAC(layers.EthernetBroadcast))
		b.Inject(echo(2).ToIP(limitedBroadcast).ToMAC(layers.EthernetBroadcast))
		b.ExpectNothingFor(5 * time.Second)
		// The same requests to the stack's own address are answered.
		for seq := uint16(1); seq <= 2; seq++ {
			b.Inject(echo(seq))
			Expect(b.Next()).To(BeICMPEchoReply(FromIP(b.StackIP()), ICMPSeq(seq), EchoData([]byte("bc"))))
		}
		b.ExpectNothing()
	})

	Spec("C4", func() {
		b := NewBench()
		// The first fragment of an ICMP error, never completed: no time exceeded about it.
		data := bytes.Repeat([]byte{0x45}, 64)
		unreach := b.Peer().ICMP(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodePort, 0, data)
		b.Inject(unreach.Fragments(3, 40, 0)[0])
		// An unknown protocol sent to the broadcast address: no protocol unreachable.
		b.Inject(unknownProto(b).ToIP(subnetBroadcast).ToMAC(layers.EthernetBroadcast))
		// A non-first fragment alone: no time exceeded when its reassembly times out.
		b.Inject(unknownProto(b).Fragments(4, 8, 0)[1])
		b.ExpectNothingFor(2 * reassemblyTimeout)

		// The same datagrams where an error is due draw one. To the stack's own address, the
		// unknown protocol draws protocol unreachable.
		p := unknownProto(b)
		b.Inject(p)
		Expect(b.Next()).To(BeICMPError(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodeProtocol,
			ToIP(b.Peer().IP), Quoting(p)))
		// Fragment 0 of the same kind of message but not an error (an echo request), and
		// fragment 0 of the unknown protocol's datagram, never completed: time exceeded about
		// each when its reassembly times out (when exactly is I8's business).
		for _, first := range []Injectable{
			b.Peer().ICMP(layers.ICMPv4TypeEchoRequest, 0, 0, data).Fragments(5, 40, 0)[0],
			unknownProto(b).Fragments(6, 8, 0)[0],
		} {
			b.Inject(first)
			Expect(b.NextWithin(2 * reassemblyTimeout)).To(BeICMPError(layers.ICMPv4TypeTimeExceeded, layers.ICMPv4CodeFragmentReassemblyTimeExceeded,
				ToIP(b.Peer().IP), Quoting(first)))
		}
		b.ExpectNothingFor(2 * reassemblyTimeout)
	})
})
