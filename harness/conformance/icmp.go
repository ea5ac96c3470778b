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
		b.Inject(b.Peer().Echo(1, 1, []byte("abc")).Mutate("ICMP checksum inverted", func(f []byte) { f[36] ^= 0xff }))
		b.Inject(b.Peer().ICMP(42, 0, 0, []byte("????")))
		b.Inject(b.Peer().IPv4(layers.IPProtocolICMPv4, gopacket.Payload("1234567"))) // shorter than an ICMP header
		b.ExpectNothingFor(5 * time.Second)
	})

	Spec("C3", func() {
		b := NewBench()
		b.Inject(b.Peer().Echo(1, 1, []byte("bc")).ToIP(subnetBroadcast).ToMAC(layers.EthernetBroadcast))
		b.Inject(b.Peer().Echo(1, 2, []byte("bc")).ToIP(limitedBroadcast).ToMAC(layers.EthernetBroadcast))
		b.ExpectNothingFor(5 * time.Second)
	})

	Spec("C4", func() {
		b := NewBench()
		// The first fragment of an ICMP error, never completed: no time exceeded about it.
		unreach := b.Peer().ICMP(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodePort, 0, bytes.Repeat([]byte{0x45}, 64))
		b.Inject(unreach.Fragments(3, 40, 0)[0])
		// An unknown protocol sent to the broadcast address: no protocol unreachable.
		b.Inject(unknownProto(b).ToIP(subnetBroadcast).ToMAC(layers.EthernetBroadcast))
		// A non-first fragment alone: no time exceeded when its reassembly times out.
		b.Inject(unknownProto(b).Fragments(4, 8, 0)[1])
		b.ExpectNothingFor(2 * reassemblyTimeout)
	})
})
