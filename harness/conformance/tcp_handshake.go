package conformance

import (
	"time"

	"github.com/gopacket/gopacket/layers"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/linuxabi"
)

var _ = Describe("TCP connection establishment (RFC 9293 3.5, 3.10.7)", Label("tcp"), func() {
	Spec("H1", func() {
		b := NewBench()
		ln := listen(b)
		b.Inject(b.Peer().TCP(Segment{Flags: SYN, Seq: 1000, Win: 29200, MSS: 1460}))
		sa := b.Next()
		Expect(sa).To(BeTCP(SrcPort(serverPort), DstPort(clientPort), Flags(SYN|ACK), Ack(1001),
			HasMSS(stackMSS), Window(synWindow), WithoutOption(layers.TCPOptionKindWindowScale)))
		b.ExpectNothing()
		// The ACK of the SYN-ACK completes the handshake: the application gets the connection.
		b.Inject(b.Peer().TCP(Segment{Flags: ACK, Seq: 1001, Ack: sa.TCP().Seq + 1, Win: 29200}))
		c, err := ln.Accept(clientPort)
		Expect(err).NotTo(HaveOccurred())
		Expect(c.State()).To(Equal(TCPEstablished))
		b.ExpectNothingFor(5 * time.Second)
	})

	Spec("H2", func() {
		b := NewBench()
		b.Inject(b.Peer().TCP(Segment{Flags: SYN, Seq: 1000, Win: 29200, MSS: 1460}))
		Expect(b.Next()).To(BeTCP(SrcPort(serverPort), DstPort(clientPort), Flags(RST|ACK), Seq(0), Ack(1001)))
		// Data on the SYN counts too: SEG.LEN = 1 + 10.
		b.Inject(b.Peer().TCP(Segment{SrcPort: 40001, Flags: SYN, Seq: 0xfffffffa, Win: 29200, Data: pattern(10)}))
		Expect(b.Next()).To(BeTCP(DstPort(40001), Flags(RST|ACK), Seq(0), Ack(5))) // wraps around
		// So does a FIN without ACK.
		b.Inject(b.Peer().TCP(Segment{SrcPort: 40002, Flags: FIN, Seq: 7000, Win: 29200}))
		Expect(b.Next()).To(BeTCP(DstPort(40002), Flags(RST|ACK), Seq(0), Ack(7001)))
		b.ExpectNothingFor(5 * time.Second)
	})

	Spec("H3", func() {
		b := NewBench()
		b.Inject(b.Peer().TCP(Segment{Flags: ACK, Seq: 1000, Ack: 0xdeadbeef, Win: 29200}))
		Expect(b.Next()).To(BeTCP(SrcPort(serverPort), DstPort(clientPort), Flags(RST), Seq(uint32(0xdeadbeef))))
		b.Inject(b.Peer().TCP(Segment{Flags: ACK | PSH, Seq: 1000, Ack: 77, Win: 29200, Data: []byte("hello")}))
		Expect(b.Next()).To(BeTCP(Flags(RST), Seq(77)))
		b.Inject(b.Peer().TCP(Segment{Flags: FIN | ACK, Seq: 1005, Ack: 78, Win: 29200}))
		Expect(b.Next()).To(BeTCP(Flags(RST), Seq(78)))
		b.ExpectNothingFor(5 * time.Second)
	})

	Spec("H4", func() {
		b := NewBench()
		b.Inject(b.Peer().TCP(Segment{Flags: RST, Seq: 1000}))
		b.Inject(b.Peer().TCP(Segment{Flags: RST | ACK, Seq: 1000, Ack: 5000}))
		listen(b)
		b.Inject(b.Peer().TCP(Segment{Flags: RST, Seq: 1000}))
		b.Inject(b.Peer().TCP(Segment{Flags: RST | ACK, Seq: 1000, Ack: 5000}))
		b.ExpectNothingFor(5 * time.Second)
		// The listener is still there.
		b.Inject(b.Peer().TCP(Segment{Flags: SYN, Seq: 1000, Win: 29200, MSS: 1460}))
		Expect(b.Next()).To(BeTCP(Flags(SYN|ACK), Ack(1001)))
	})

	Spec("H5", func() {
		b := NewBench()
		ln := listen(b)
		b.Inject(b.Peer().TCP(Segment{Flags: ACK, Seq: 1000, Ack: 123456, Win: 29200}))
		Expect(b.Next()).To(BeTCP(SrcPort(serverPort), DstPort(clientPort), Flags(RST), Seq(123456)))
		b.Inject(b.Peer().TCP(Segment{Flags: SYN | ACK, Seq: 1000, Ack: 654321, Win: 29200, MSS: 1460}))
		Expect(b.Next()).To(BeTCP(Flags(RST), Seq(654321)))
		b.ExpectNothingFor(5 * time.Second)
		_, err := ln.Accept(0)
		Expect(err).To(MatchError(linuxabi.EAGAIN))
	})

	Spec("H6", func() {
		b := NewBench()
		c, syn := startDial(b, serverPort)
		iss, port := syn.TCP().Seq, uint16(syn.TCP().SrcPort)
		synAck := func(ack uint32) *Packet {
			return b.Peer().TCP(Segment{SrcPort: serverPort, DstPort: port, Flags: SYN | ACK, Seq: 5000, Ack: ack, Win: 29200, MSS: 1460})
		}
		for _, bad := range []uint32{iss, iss - 1000, iss + 2} { // SEG.ACK =< ISS or SEG.ACK > SND.NXT
			b.Inject(synAck(bad))
			Expect(b.Next()).To(BeTCP(SrcPort(port), DstPort(serverPort), Flags(RST), Seq(bad)))
			Expect(c.State()).To(Equal(TCPSynSent))
		}
		// Still in SYN-SENT: the right SYN-ACK completes the handshake.
		b.Inject(synAck(iss + 1))
		Expect(b.Next()).To(BeTCP(Flags(ACK), Seq(iss+1), Ack(5001)))
		Expect(c.State()).To(Equal(TCPEstablished))
	})

	Spec("H7", func() {
		b := NewBench()
		c, syn := startDial(b, serverPort)
		iss, port := syn.TCP().Seq, uint16(syn.TCP().SrcPort)
		rst := func(flags TCPFlags, ack uint32) *Packet {
			return b.Peer().TCP(Segment{SrcPort: serverPort, DstPort: port, Flags: flags, Seq: 0, Ack: ack})
		}
		// A RST without ACK, or with an ACK that does not acknowledge the SYN, is dropped.
		b.Inject(rst(RST, 0))
		b.Inject(rst(RST|ACK, iss+5))
		b.ExpectNothing()
		Expect(c.State()).To(Equal(TCPSynSent))
		// A RST|ACK acknowledging the SYN refuses the connection: no more SYNs.
		b.Inject(rst(RST|ACK, iss+1))
		Expect(c.State()).To(Equal(TCPClose))
		Expect(c.Err()).To(MatchError(linuxabi.ECONNREFUSED))
		b.ExpectNothingFor(2 * time.Minute)
	})

	Spec("H8", func() {
		b := NewBench()
		c, syn := startDial(b, serverPort)
		iss, port := syn.TCP().Seq, uint16(syn.TCP().SrcPort)
		// The peer's SYN crosses ours: SYN-RECEIVED, and a SYN-ACK from the same ISN.
		b.Inject(b.Peer().TCP(Segment{SrcPort: serverPort, DstPort: port, Flags: SYN, Seq: 5000, Win: 29200, MSS: 1460}))
		Expect(b.Next()).To(BeTCP(SrcPort(port), DstPort(serverPort), Flags(SYN|ACK), Seq(iss), Ack(5001), HasMSS(stackMSS)))
		Expect(c.State()).To(Equal(TCPSynRecv))
		// The peer's SYN-ACK (figure 7, line 6) acknowledges our SYN: ESTABLISHED. An ACK for it
		// is allowed, not required.
		b.Inject(b.Peer().TCP(Segment{SrcPort: serverPort, DstPort: port, Flags: SYN | ACK, Seq: 5000, Ack: iss + 1, Win: 29200, MSS: 1460}))
		if f := b.TryNextWithin(0); f != nil {
			Expect(f).To(BeTCP(Flags(ACK), Seq(iss+1), Ack(5001)))
		}
		Expect(c.State()).To(Equal(TCPEstablished))
		// Data flows both ways.
		b.Do(func() { _, _ = c.Write([]byte("ping")) })
		Expect(b.Next()).To(BeTCP(Flags(PSH|ACK), Seq(iss+1), Ack(5001), Payload([]byte("ping"))))
		b.Inject(b.Peer().TCP(Segment{SrcPort: serverPort, DstPort: port, Flags: PSH | ACK, Seq: 5001, Ack: iss + 5, Win: 29200, Data: []byte("pong")}))
		b.Do(func() {
			buf := make([]byte, 10)
			n, err := c.Read(buf)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(buf[:n])).To(Equal("pong"))
		})
	})

	Spec("H9", func() {
		b := NewBench()
		ln := listen(b)
		// Passive: the half-open connection goes, the listener stays.
		b.Inject(b.Peer().TCP(Segment{Flags: SYN, Seq: 1000, Win: 29200, MSS: 1460}))
		iss := b.Next().TCP().Seq
		b.Inject(b.Peer().TCP(Segment{Flags: RST, Seq: 1001}))
		b.ExpectNothingFor(10 * time.Second) // no SYN-ACK retransmission
		b.Inject(b.Peer().TCP(Segment{Flags: ACK, Seq: 1001, Ack: iss + 1, Win: 29200}))
		Expect(b.Next()).To(BeTCP(Flags(RST), Seq(iss+1))) // an ACK to LISTEN (H5)
		_, err := ln.Accept(0)
		Expect(err).To(MatchError(linuxabi.EAGAIN))
		b.Inject(b.Peer().TCP(Segment{Flags: SYN, Seq: 9000, Win: 29200, MSS: 1460}))
		Expect(b.Next()).To(BeTCP(Flags(SYN|ACK), Ack(9001)))
		b.Inject(b.Peer().TCP(Segment{Flags: RST | ACK, Seq: 9001})) // and gone again

		// Active (simultaneous open): the connection is refused.
		c, syn := startDial(b, 8080)
		iss, port := syn.TCP().Seq, uint16(syn.TCP().SrcPort)
		b.Inject(b.Peer().TCP(Segment{SrcPort: 8080, DstPort: port, Flags: SYN, Seq: 5000, Win: 29200, MSS: 1460}))
		Expect(b.Next()).To(BeTCP(Flags(SYN|ACK), Seq(iss), Ack(5001)))
		b.Inject(b.Peer().TCP(Segment{SrcPort: 8080, DstPort: port, Flags: RST, Seq: 5001}))
		Expect(c.State()).To(Equal(TCPClose))
		Expect(c.Err()).To(MatchError(linuxabi.ECONNREFUSED))
		b.ExpectNothingFor(10 * time.Second)
	})

	Spec("H10", func() {
		b := NewBench()
		ln := listen(b)
		b.Inject(b.Peer().TCP(Segment{Flags: SYN, Seq: 1000, Win: 29200, MSS: 1460}))
		iss := b.Next().TCP().Seq
		for _, bad := range []uint32{iss, iss + 2, iss + 100000} { // not SND.UNA < SEG.ACK =< SND.NXT
			b.Inject(b.Peer().TCP(Segment{Flags: ACK, Seq: 1001, Ack: bad, Win: 29200}))
			Expect(b.Next()).To(BeTCP(Flags(RST), Seq(bad)))
		}
		_, err := ln.Accept(0)
		Expect(err).To(MatchError(linuxabi.EAGAIN))
		// The connection is still half-open: the right ACK completes it.
		b.Inject(b.Peer().TCP(Segment{Flags: ACK, Seq: 1001, Ack: iss + 1, Win: 29200}))
		c, err := ln.Accept(clientPort)
		Expect(err).NotTo(HaveOccurred())
		Expect(c.State()).To(Equal(TCPEstablished))
	})

	Spec("H11", func() {
		b := NewBench()
		c, syn := startDial(b, serverPort)
		iss := syn.TCP().Seq
		// RFC 6298 5.5: each retransmission doubles the RTO; 5 retransmissions (our SynRetries).
		var at time.Duration
		for _, gap := range []time.Duration{1, 2, 4, 8, 16} {
			at += gap * time.Second
			f := b.NextWithin(time.Minute)
			Expect(f).To(BeTCP(Flags(SYN), Seq(iss), HasMSS(stackMSS), HasWScale(stackRcvShift)))
			Expect(f.Offset-syn.Offset).To(Equal(at), "SYN retransmission after %v", gap*time.Second)
		}
		// The connection gives up one doubled RTO (32 s) after the last SYN.
		b.ExpectNothingFor(32*time.Second - time.Millisecond)
		Expect(c.State()).To(Equal(TCPSynSent))
		b.Advance(time.Millisecond)
		Expect(c.State()).To(Equal(TCPClose))
		Expect(c.Err()).To(MatchError(linuxabi.ETIMEDOUT))
		b.ExpectNothingFor(5 * time.Minute)
	})

	Spec("H12", func() {
		b := NewBench()
		// Data on the SYN-ACK is taken and acknowledged (RFC 9293 3.10.7.3: "continue
		// processing at the sixth step"), not dropped.
		c, syn := startDial(b, serverPort)
		b.Advance(10 * time.Millisecond)
		b.Inject(b.Peer().TCP(Segment{SrcPort: serverPort, DstPort: uint16(syn.TCP().SrcPort), Flags: SYN | ACK,
			Seq: peerISN, Ack: syn.TCP().Seq + 1, Win: 65535, MSS: 1460, Data: []byte("hello")}))
		Expect(b.Next()).To(BeTCP(Flags(ACK), Seq(syn.TCP().Seq+1), Ack(peerISN+1+5)))
		Expect(c.State()).To(Equal(TCPEstablished))
		buf := make([]byte, 10)
		b.Do(func() {
			n, err := c.Read(buf)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(buf[:n])).To(Equal("hello"))
		})
		// Data and a FIN on the SYN-ACK: both taken; the connection goes to CLOSE-WAIT.
		c2, syn2 := startDial(b, serverPort+1)
		b.Inject(b.Peer().TCP(Segment{SrcPort: serverPort + 1, DstPort: uint16(syn2.TCP().SrcPort), Flags: SYN | ACK | FIN,
			Seq: peerISN, Ack: syn2.TCP().Seq + 1, Win: 65535, MSS: 1460, Data: []byte("bye")}))
		Expect(b.Next()).To(BeTCP(Flags(ACK), Ack(peerISN+1+3+1)))
		Expect(c2.State()).To(Equal(TCPCloseWait))
		b.Do(func() {
			n, err := c2.Read(buf)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(buf[:n])).To(Equal("bye"))
			n, err = c2.Read(buf)
			Expect(err).NotTo(HaveOccurred())
			Expect(n).To(BeZero(), "end of stream")
		})
	})
})

var _ = Describe("TCP initial sequence numbers (RFC 6528)", Label("tcp"), func() {
	Spec("N1", func() {
		b := NewBench()
		listen(b)
		var isns []uint32
		synFrom := func(port uint16) {
			b.Inject(b.Peer().TCP(Segment{SrcPort: port, Flags: SYN, Seq: 1000, Win: 29200, MSS: 1460}))
			isns = append(isns, b.Next().TCP().Seq)
			b.Inject(b.Peer().TCP(Segment{SrcPort: port, Flags: RST, Seq: 1001})) // no SYN-ACK retransmissions
		}
		// Five SYNs from neighbouring ports at the same instant, then two more a second apart.
		for port := uint16(40000); port < 40005; port++ {
			synFrom(port)
		}
		for port := uint16(40005); port < 40007; port++ {
			b.Advance(time.Second)
			synFrom(port)
		}
		// Two active opens.
		for i := range 2 {
			_, syn := startDial(b, uint16(8080+i))
			isns = append(isns, syn.TCP().Seq)
		}
		GinkgoWriter.Printf("ISNs: %v\n", isns)
		for i, a := range isns {
			Expect(a).NotTo(BeZero())
			for _, o := range isns[:i] {
				d := a - o
				dist := min(d, -d) // distance in sequence space, either way round
				Expect(dist).To(BeNumerically(">", 1<<16), "ISNs %d and %d are %d apart", o, a, dist)
			}
		}
	})
})
