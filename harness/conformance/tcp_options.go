package conformance

import (
	"time"

	"github.com/gopacket/gopacket/layers"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
)

// An option nobody knows.
// unknownKind is an option kind no stack knows (unassigned): it must be skipped.
const unknownKind = 99

var unknownOption = layers.TCPOption{OptionType: unknownKind, OptionData: []byte{0xab, 0xcd}}

var _ = Describe("TCP options (RFC 9293 3.1, 3.7.1; RFC 6691; RFC 7323 2)", Label("tcp"), func() {
	Spec("O1", func() {
		b := NewBench()
		k := dial(b, peerMSS(9000))
		Expect(k.syn).To(k.is(Flags(SYN), HasMSS(stackMSS)))
		ln := listen(b)
		k2 := accept(b, ln, peerMSS(9000))
		Expect(k2.syn).To(k2.is(Flags(SYN|ACK), HasMSS(stackMSS)))
		// The peer's larger MSS does not make the stack send more than its own MTU allows.
		data := pattern(4 * stackMSS)
		k2.write(data)
		r := k2.receive(len(data), 65535)
		Expect(r.data).To(Equal(data))
		for _, f := range r.segments {
			Expect(f).To(BeTCP(PayloadLen(BeNumerically("<=", stackMSS))))
		}
		Expect(r.segments[0]).To(BeTCP(PayloadLen(stackMSS)))
	})

	Spec("O2", func() {
		b := NewBench()
		k := accept(b, listen(b), peerMSS(0))
		data := pattern(5000)
		k.write(data)
		r := k.receive(len(data), 65535)
		Expect(r.data).To(Equal(data))
		for _, f := range r.segments {
			Expect(f).To(BeTCP(PayloadLen(BeNumerically("<=", 536))))
		}
	})

	Spec("O3", func() {
		b := NewBench()
		k := accept(b, listen(b), peerMSS(500))
		data := pattern(5000)
		k.write(data)
		r := k.receive(len(data), 65535)
		Expect(r.data).To(Equal(data))
		for _, f := range r.segments {
			Expect(f).To(BeTCP(PayloadLen(BeNumerically("<=", 500))))
		}
		Expect(r.segments[0]).To(BeTCP(PayloadLen(500)))
	})

	Spec("O4", func() {
		b := NewBench()
		k := accept(b, listen(b))
		// An MSS option of 100 on a data segment: the data counts, the option does not.
		s := k.seg(ACK|PSH, []byte("abc"))
		s.MSS = 100
		k.inject(s)
		k.nxt += 3
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt))
		Expect(k.read()).To(Equal([]byte("abc")))
		data := pattern(2 * stackMSS)
		k.write(data)
		r := k.receive(len(data), 65535)
		Expect(r.segments[0]).To(BeTCP(PayloadLen(stackMSS)))
	})

	Spec("O5", func() {
		b := NewBench()
		ln := listen(b)
		// An unknown option (kind 99) on the SYN and on data is skipped.
		k := accept(b, ln, peerOptions(unknownOption))
		s := k.seg(ACK|PSH, []byte("one"))
		s.Options = []layers.TCPOption{unknownOption}
		k.inject(s)
		k.nxt += 3
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt))
		Expect(k.read()).To(Equal([]byte("one")))

		// Malformed options, with a correct checksum: dropped, nothing sent, nothing delivered.
		withOption := func(o layers.TCPOption) *Packet {
			s := k.seg(ACK|PSH, []byte("two"))
			s.Options = []layers.TCPOption{o}
			return k.b.Peer().TCP(s)
		}
		b.Inject(withOption(unknownOption).MutateTCP("option length 0", func(t []byte) { t[21] = 0 }))
		b.Inject(withOption(unknownOption).MutateTCP("option length 1", func(t []byte) { t[21] = 1 }))
		b.Inject(withOption(unknownOption).MutateTCP("option length 40, past the header", func(t []byte) { t[21] = 40 }))
		mss := layers.TCPOption{OptionType: layers.TCPOptionKindMSS, OptionData: []byte{0x05, 0xb4}}
		b.Inject(withOption(mss).MutateTCP("MSS option length 3", func(t []byte) { t[21] = 3 }))
		syn := b.Peer().TCP(Segment{SrcPort: 40001, Flags: SYN, Seq: 5000, Win: 29200, Options: []layers.TCPOption{unknownOption}})
		b.Inject(syn.MutateTCP("option length 1", func(t []byte) { t[21] = 1 }))
		b.ExpectNothingFor(time.Second)
		Expect(k.read()).To(BeEmpty())

		// The connection is unharmed.
		k.send(ACK|PSH, []byte("two"))
		k.nextWithin(time.Second, Flags(ACK), Ack(k.nxt))
		Expect(k.read()).To(Equal([]byte("two")))
	})

	Spec("O6", func() {
		b := NewBench()
		// Passive: the peer asks for a shift of 15, which counts as 14 (RFC 7323 2.3); its
		// window field 1 after the SYN means 16384 bytes.
		k := accept(b, listen(b), peerWScale(15), peerWindow(1))
		Expect(k.syn).To(k.is(Flags(SYN|ACK), HasWScale(stackRcvShift), Window(synWindow)))
		data := pattern(40000)
		k.write(data)
		r := k.receive(len(data), 1) // fails on any byte past 16384 beyond the ACK
		Expect(r.data).To(Equal(data))
		Expect(r.maxFlight).To(BeNumerically(">", 16384-stackMSS), "the stack never used the 16384-byte window")
		// The stack's own windows are scaled after the SYN: 256 KiB >> 3.
		Expect(r.segments[0]).To(BeTCP(Window(stackBuffer >> stackRcvShift)))

		// Active: its SYN offers a shift with an unscaled window; the peer's SYN-ACK window of
		// 2000 is 2000 bytes, not 2000 << 14.
		k2 := dial(b, fromPort(8080), peerWScale(14), peerWindow(2000))
		Expect(k2.syn).To(k2.is(Flags(SYN), HasWScale(stackRcvShift), Window(synWindow)))
		k2.write(pattern(10000))
		sent := 0
		for f := b.TryNextWithin(0); f != nil; f = b.TryNextWithin(0) {
			Expect(f).To(k2.is(Window(stackBuffer >> stackRcvShift)))
			k2.saw(f)
			sent += len(f.TCP().Payload)
		}
		Expect(sent).To(And(BeNumerically(">", 0), BeNumerically("<=", 2000)), "bytes sent into a 2000-byte window")
	})

	Spec("O7", func() {
		b := NewBench()
		// Passive: no window scale option in the SYN-ACK; windows are plain bytes both ways.
		k := accept(b, listen(b), peerWindow(3000))
		Expect(k.syn).To(k.is(Flags(SYN|ACK), WithoutOption(layers.TCPOptionKindWindowScale), Window(synWindow)))
		data := pattern(10000)
		k.write(data)
		r := k.receive(len(data), 3000)
		Expect(r.data).To(Equal(data))
		Expect(r.segments[0]).To(BeTCP(Window(65535))) // 256 KiB does not fit: the most the field holds
		// Active: the stack offered a shift, the peer did not: no scaling either way.
		k2 := dial(b, fromPort(8080), peerWindow(3000))
		Expect(k2.syn).To(k2.is(Flags(SYN), HasWScale(stackRcvShift)))
		k2.write(data)
		r = k2.receive(len(data), 3000)
		Expect(r.data).To(Equal(data))
		Expect(r.segments[0]).To(BeTCP(Window(65535)))
	})
})
