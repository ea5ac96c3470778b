package conformance

import (
	"encoding/binary"
	"time"

	"github.com/gopacket/gopacket/layers"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/linuxabi"
)

// quote is what an ICMP error carries of a datagram the stack sent: its IP header and the
// first 8 bytes of its TCP header (ports and sequence number), RFC 792's minimum.
func quote(f *Frame) []byte {
	ip := f.Data[14:]
	hl := int(ip[0]&0x0f) * 4
	return append([]byte(nil), ip[:hl+8]...)
}

// withSeq changes the sequence number in a quote.
func withSeq(q []byte, seq uint32) []byte {
	q = append([]byte(nil), q...)
	binary.BigEndian.PutUint32(q[int(q[0]&0x0f)*4+4:], seq)
	return q
}

var _ = Describe("TCP and ICMP errors (RFC 1122 4.2.3.9, RFC 5927)", Label("tcp"), func() {
	Spec("C5", func() {
		b := NewBench()
		for _, code := range []uint8{layers.ICMPv4CodePort, layers.ICMPv4CodeProtocol} {
			c, syn := startDial(b, serverPort)
			b.Inject(b.Peer().ICMP(layers.ICMPv4TypeDestinationUnreachable, code, 0, quote(syn)))
			Expect(c.State()).To(Equal(TCPClose), "after ICMP unreachable code %d", code)
			Expect(c.Err()).To(MatchError(linuxabi.ECONNREFUSED))
			b.ExpectNothingFor(2 * time.Minute) // no more SYNs
		}
	})

	Spec("C6", func() {
		b := NewBench()
		c, syn := startDial(b, serverPort)
		iss, port := syn.TCP().Seq, uint16(syn.TCP().SrcPort)
		// Port unreachable quoting a sequence number outside [SND.UNA, SND.NXT): not about
		// anything in flight, so not believed.
		for _, seq := range []uint32{iss + 1, iss + 1000, iss - 1} {
			b.Inject(b.Peer().ICMP(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodePort, 0, withSeq(quote(syn), seq)))
			Expect(c.State()).To(Equal(TCPSynSent), "after an ICMP error quoting seq ISS%+d", int32(seq-iss))
		}
		b.ExpectNothing()
		// The handshake goes on.
		b.Inject(b.Peer().TCP(Segment{SrcPort: serverPort, DstPort: port, Flags: SYN | ACK, Seq: 5000, Ack: iss + 1, Win: 29200, MSS: 1460}))
		Expect(b.Next()).To(BeTCP(Flags(ACK), Seq(iss+1), Ack(5001)))
		Expect(c.State()).To(Equal(TCPEstablished))
	})

	Spec("C7", func() {
		b := NewBench()
		k := accept(b, listen(b))
		k.write([]byte("data"))
		f0 := k.next(Payload([]byte("data")))
		// Time exceeded, and host unreachable, about the segment in flight: soft errors.
		b.Inject(b.Peer().ICMP(layers.ICMPv4TypeTimeExceeded, layers.ICMPv4CodeTTLExceeded, 0, quote(f0)))
		b.Inject(b.Peer().ICMP(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodeHost, 0, quote(f0)))
		b.ExpectNothing()
		Expect(k.c.State()).To(Equal(TCPEstablished))
		Expect(k.c.Err()).NotTo(HaveOccurred())
		// The retransmission goes on as if nothing happened, and gets through.
		f1 := k.nextWithin(2*rto, Seq(f0.TCP().Seq), Payload([]byte("data")))
		Expect(f1.Offset - f0.Offset).To(Equal(rto))
		k.send(ACK, nil)
		k.stillUp()
	})
})
