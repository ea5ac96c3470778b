package conformance

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/linuxabi"
)

// Offsets in a frame the peer builds: Ethernet, a 20-byte IPv4 header, then TCP.
const tcpChecksumOffset = 14 + 20 + 16

// packet builds a segment of this connection from the peer without sending it, for mutation.
func (k *tcpConn) packet(s Segment) *Packet { return k.b.Peer().TCP(s) }

var _ = Describe("TCP robustness (RFC 9293 3.1, RFC 6093)", Label("tcp"), func() {
	Spec("B1", func() {
		b := NewBench()
		ln := listen(b)
		badSum := func(p *Packet) *Packet {
			return p.Mutate("TCP checksum inverted", func(f []byte) { f[tcpChecksumOffset] ^= 0xff; f[tcpChecksumOffset+1] ^= 0xff })
		}
		b.Inject(badSum(b.Peer().TCP(Segment{SrcPort: 40001, Flags: SYN, Seq: 1000, Win: 29200, MSS: 1460})))
		b.Inject(badSum(b.Peer().TCP(Segment{SrcPort: 40001, DstPort: 81, Flags: SYN, Seq: 1000, Win: 29200})))
		b.Inject(badSum(b.Peer().TCP(Segment{SrcPort: 40001, DstPort: 81, Flags: ACK, Seq: 1000, Ack: 5000, Win: 29200})))
		b.ExpectNothingFor(time.Second)
		_, err := ln.Accept(0)
		Expect(err).To(MatchError(linuxabi.EAGAIN))
		// On a connection: data, a RST and a FIN, each with a bad checksum, change nothing.
		k := accept(b, ln)
		b.Inject(badSum(k.packet(k.seg(ACK|PSH, []byte("corrupt")))))
		b.Inject(badSum(k.packet(k.seg(RST, nil))))
		b.Inject(badSum(k.packet(k.seg(FIN|ACK, nil))))
		b.ExpectNothingFor(time.Second)
		Expect(k.read()).To(BeEmpty())
		k.stillUp()
	})

	Spec("B2", func() {
		b := NewBench()
		ln := listen(b)
		reserved := func(p *Packet) *Packet {
			return p.MutateTCP("reserved bits 1111", func(t []byte) { t[12] |= 0x0f })
		}
		// A SYN with the reserved bits set is a SYN; the stack's SYN-ACK has them zero.
		b.Inject(reserved(b.Peer().TCP(Segment{SrcPort: 40001, Flags: SYN, Seq: 1000, Win: 29200, MSS: 1460})))
		Expect(b.Next()).To(BeTCP(DstPort(40001), Flags(SYN|ACK), Ack(1001), ReservedBits(0)))
		b.Inject(b.Peer().TCP(Segment{SrcPort: 40001, Flags: RST, Seq: 1001}))
		// Data with them set is data.
		k := accept(b, ln)
		b.Inject(reserved(k.packet(k.seg(ACK|PSH, []byte("reserved")))))
		k.nxt += 8
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt), ReservedBits(0))
		Expect(k.read()).To(Equal([]byte("reserved")))
	})

	Spec("B3", func() {
		b := NewBench()
		ln := listen(b)
		k := accept(b, ln)
		// No ACK bit in a synchronized state: dropped (RFC 9293 3.10.7.4, fifth).
		k.inject(k.seg(PSH, []byte("no ack")))
		k.inject(k.seg(0, []byte("no flags")))
		// Data offsets below 5, or past the end of the segment: dropped (RFC 9293 3.1).
		offset := func(p *Packet, off byte) *Packet {
			return p.MutateTCP("data offset", func(t []byte) { t[12] = off<<4 | t[12]&0x0f })
		}
		b.Inject(offset(k.packet(k.seg(ACK|PSH, []byte("bad"))), 4))
		b.Inject(offset(k.packet(k.seg(ACK|PSH, []byte("bad"))), 0))
		b.Inject(offset(k.packet(k.seg(ACK|PSH, []byte("bad"))), 15))
		b.Inject(offset(k.packet(k.seg(RST, nil)), 4))
		// To a closed port or a listener, not even a RST.
		b.Inject(offset(b.Peer().TCP(Segment{SrcPort: 40001, DstPort: 81, Flags: SYN, Seq: 1000, Win: 29200}), 4))
		b.Inject(offset(b.Peer().TCP(Segment{SrcPort: 40001, DstPort: 81, Flags: ACK, Seq: 1000, Ack: 1, Win: 29200}), 15))
		b.Inject(offset(b.Peer().TCP(Segment{SrcPort: 40001, Flags: SYN, Seq: 1000, Win: 29200}), 3))
		b.ExpectNothingFor(time.Second)
		Expect(k.read()).To(BeEmpty())
		k.stillUp()
	})

	Spec("B4", func() {
		b := NewBench()
		ln := listen(b)
		// To a listener: dropped without an answer (our policy, as Linux).
		b.Inject(b.Peer().TCP(Segment{SrcPort: 40001, Flags: SYN | FIN, Seq: 1000, Win: 29200, MSS: 1460}))
		b.ExpectNothingFor(5 * time.Second)
		_, err := ln.Accept(0)
		Expect(err).To(MatchError(linuxabi.EAGAIN))
		// To a closed port: RST|ACK, ack = SEG.SEQ + 2 (SYN and FIN count one each).
		b.Inject(b.Peer().TCP(Segment{SrcPort: 40001, DstPort: 81, Flags: SYN | FIN, Seq: 1000, Win: 29200}))
		Expect(b.Next()).To(BeTCP(Flags(RST|ACK), Seq(0), Ack(1002)))
		// On a connection: a SYN, so a challenge ACK; the FIN is not taken.
		k := accept(b, ln)
		k.inject(k.seg(SYN|FIN|ACK, nil))
		k.next(Flags(ACK), Seq(k.ack), Ack(k.nxt))
		k.stillUp()
	})

	Spec("B5", func() {
		b := NewBench()
		k := accept(b, listen(b))
		s := k.seg(ACK|PSH|URG, []byte("abcdef"))
		s.Urgent = 3
		k.inject(s)
		k.nxt += 6
		k.send(ACK|PSH, []byte("ghi"))
		s = k.seg(ACK|URG, []byte("jkl")) // an urgent pointer past the segment
		s.Urgent = 1000
		k.inject(s)
		k.nxt += 3
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt))
		Expect(k.read()).To(Equal([]byte("abcdefghijkl")))
	})
})
