package conformance

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/layers"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/linuxabi"
)

// Facts about the stack under test that the TCP specs rely on (its defaults, see the tcp
// package doc and the catalog in catalog.go).
const (
	stackMSS      = 1460             // MTU 1500 − 40 (RFC 6691)
	stackRcvShift = 3                // window scale of a 256 KiB receive buffer
	stackBuffer   = 256 << 10        // receive and send buffers
	synWindow     = 65535            // the window of its SYN and SYN-ACK, never scaled
	rto           = time.Second      // initial and minimum RTO (RFC 6298 2.1, 2.4)
	msl2          = 60 * time.Second // TIME-WAIT: 2·MSL
	delayedACK    = 200 * time.Millisecond
	serverPort    = DefaultStackPort // the port specs listen on, and the port the peer listens on for Dial
	clientPort    = DefaultPeerPort  // the peer's first port in passive opens
	peerISN       = 1000             // the peer's default initial sequence number
)

// handshake is how the peer opens a connection: what its SYN (or SYN-ACK) carries and how long
// it takes to answer.
type handshake struct {
	port   uint16 // the peer's port
	isn    uint32
	mss    uint16 // 0: no MSS option
	wscale int    // <= 0: no window scale option (Segment cannot send a shift of 0)
	win    uint16 // the window field of the peer's SYN and of its later segments
	rtt    time.Duration
	opts   []layers.TCPOption
	ts     bool // the peer offers timestamps (RFC 7323)
	sack   bool // the peer offers SACK (RFC 2018)
	ecn    bool // the peer's SYN asks for ECN (RFC 3168 6.1.1)
}

// peerOpt changes the peer's side of a handshake: its port, the MSS it announces (0: none),
// its window scale shift, its window field, more options on its SYN.
type peerOpt func(*handshake)

func fromPort(p uint16) peerOpt    { return func(h *handshake) { h.port = p } }
func peerMSS(mss uint16) peerOpt   { return func(h *handshake) { h.mss = mss } }
func peerWScale(shift int) peerOpt { return func(h *handshake) { h.wscale = shift } }
func peerWindow(w uint16) peerOpt  { return func(h *handshake) { h.win = w } }
func peerOptions(o ...layers.TCPOption) peerOpt {
	return func(h *handshake) { h.opts = append(h.opts, o...) }
}
func peerTimestamps() peerOpt { return func(h *handshake) { h.ts = true } }
func peerSACK() peerOpt       { return func(h *handshake) { h.sack = true } }
func peerECN() peerOpt        { return func(h *handshake) { h.ecn = true } }

// peerTSBase is the peer's TSval when the bench starts; its clock ticks in milliseconds.
const peerTSBase = 1_000_000

func newHandshake(port uint16, opts []peerOpt) handshake {
	h := handshake{port: port, isn: peerISN, mss: 1460, wscale: -1, win: 65535, rtt: 10 * time.Millisecond}
	for _, o := range opts {
		o(&h)
	}
	return h
}

// tcpConn is one connection between the bench's peer and the stack, seen from the peer: both
// ports, both initial sequence numbers, and the sequence numbers the peer sends and
// acknowledges next, so that specs build segments without arithmetic.
type tcpConn struct {
	b                   *Bench
	c                   *sock  // the stack's end
	syn                 *Frame // the stack's SYN or SYN-ACK
	peerPort, stackPort uint16
	iss, irs            uint32 // the stack's ISN, the peer's ISN
	nxt                 uint32 // the peer's next sequence number
	ack                 uint32 // the stack's next sequence number as the peer has seen it: what it acknowledges
	win                 uint16 // the window field of the peer's segments
	peerShift           uint   // the peer's window scale in force (0 without scaling)
	stackShift          uint   // the stack's window scale in force
	acked               uint32 // the acknowledgment number of the stack's last segment
	edge                uint32 // the right edge of the window the stack advertised last
	ts                  bool   // timestamps agreed: every segment of the peer carries one
	stackTS             uint32 // the TSval of the stack's last segment: what the peer echoes
	peerTS              uint32 // the TSval of the peer's last segment
}

// synOptions are the options of the peer's SYN or SYN-ACK: h.opts, then timestamps and
// SACK-permitted when the peer offers them.
func (h handshake) synOptions(b *Bench, ecr uint32) []layers.TCPOption {
	opts := append([]layers.TCPOption(nil), h.opts...)
	if h.sack {
		opts = append(opts, SACKPermittedOption)
	}
	if h.ts {
		opts = append(opts, TimestampOption(peerTSAt(b), ecr))
	}
	return opts
}

// peerTSAt is the peer's TSval now: a millisecond clock from the bench's start.
func peerTSAt(b *Bench) uint32 { return peerTSBase + uint32(b.Elapsed()/time.Millisecond) }

// agreed notes whether the handshake settled on timestamps, from both SYNs: from then on every
// segment of the peer carries one (RFC 7323 3.2).
func (k *tcpConn) agreed(h handshake, stackSyn *Frame) {
	_, _, hasTS := TimestampOf(stackSyn)
	k.ts = h.ts && hasTS
}

// newBenchWith makes a bench whose target runs with its policy changed by sysctl assignments
// ("net.ipv4.tcp_sack=0"): a variant of a case with a feature switched off, or a timer made
// shorter. A target that cannot take one fails the spec.
func newBenchWith(settings ...string) *Bench {
	GinkgoHelper()
	return newBenchOn(newDUT(settings...))
}

// listen opens a listener on serverPort.
func listen(b *Bench) *listener {
	GinkgoHelper()
	return listenOn(b, serverPort, 128)
}

// accept opens a connection to ln from the peer (SYN, SYN-ACK, ACK after one RTT) and accepts it.
func accept(b *Bench, ln *listener, opts ...peerOpt) *tcpConn {
	GinkgoHelper()
	h := newHandshake(clientPort, opts)
	synTS := peerTSAt(b)
	syn := Segment{SrcPort: h.port, DstPort: serverPort, Flags: SYN, Seq: h.isn, Win: h.win, MSS: h.mss, Options: h.synOptions(b, 0)}
	if h.wscale > 0 {
		syn.WScale = h.wscale
	}
	if h.ecn {
		syn.Flags |= ECE | CWR
	}
	b.Inject(b.Peer().TCP(syn))
	sa := b.Next()
	Expect(sa).To(BeTCP(Flags(Or(Equal(SYN|ACK), Equal(SYN|ACK|ECE))), SrcPort(serverPort), DstPort(h.port), Ack(h.isn+1)))
	k := &tcpConn{b: b, syn: sa, peerPort: h.port, stackPort: serverPort, iss: sa.TCP().Seq, irs: h.isn, win: h.win, peerTS: synTS}
	k.nxt, k.ack = h.isn+1, k.iss+1
	k.scaling(h, sa)
	k.agreed(h, sa)
	k.saw(sa)
	b.Advance(h.rtt)
	k.send(ACK, nil)
	k.accepted(ln)
	b.ExpectNothing()
	return k
}

// accepted takes this connection from ln, which must have it ready, ESTABLISHED.
func (k *tcpConn) accepted(ln *listener) {
	GinkgoHelper()
	k.b.Do(func() {
		var err error
		k.c, err = ln.Accept(k.peerPort)
		Expect(err).NotTo(HaveOccurred(), "the ACK from port %d completed no connection", k.peerPort)
	})
	Expect(k.c.State()).To(Equal(TCPEstablished))
}

// startDial makes the stack dial the peer's port (a non-blocking connect: EINPROGRESS) and
// returns the connection and its SYN.
func startDial(b *Bench, port uint16) (*sock, *Frame) {
	GinkgoHelper()
	s := socketsOf(b)
	c := &sock{b: b, remote: netip.AddrPortFrom(b.Peer().IP, port)}
	b.Do(func() {
		var err error
		c.fd, err = s.Socket()
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Connect(c.fd, c.remote)).To(MatchError(linuxabi.EINPROGRESS))
	})
	syn := b.Next()
	Expect(syn).To(BeTCP(Flags(Or(Equal(SYN), Equal(SYN|ECE|CWR))), DstPort(port), Ack(0)))
	c.local = netip.AddrPortFrom(b.StackIP(), uint16(syn.TCP().SrcPort))
	Expect(c.State()).To(Equal(TCPSynSent))
	return c, syn
}

// dial makes the stack open a connection to the peer's serverPort (SYN, the peer's SYN-ACK
// after one RTT, the stack's ACK).
func dial(b *Bench, opts ...peerOpt) *tcpConn {
	GinkgoHelper()
	h := newHandshake(serverPort, opts)
	c, syn := startDial(b, h.port)
	k := &tcpConn{b: b, c: c, syn: syn, peerPort: h.port, stackPort: uint16(syn.TCP().SrcPort), iss: syn.TCP().Seq, irs: h.isn, win: h.win}
	k.nxt, k.ack = h.isn, k.iss+1
	k.scaling(h, syn)
	k.saw(syn)
	b.Advance(h.rtt)
	s := k.seg(SYN|ACK, nil)
	s.MSS, s.Options = h.mss, h.synOptions(b, k.stackTS)
	if h.wscale > 0 {
		s.WScale = h.wscale
	}
	if h.ecn { // an ECN-setup SYN-ACK: ECE without CWR (RFC 3168 6.1.1)
		s.Flags |= ECE
	}
	k.agreed(h, syn)
	k.inject(s) // notes the SYN-ACK's TSval
	k.nxt++
	k.next(Flags(ACK), Seq(k.iss+1), Ack(k.nxt))
	Expect(c.State()).To(Equal(TCPEstablished))
	return k
}

// scaling records the window scales in force once both SYNs are known (RFC 7323 2.2-2.3).
func (k *tcpConn) scaling(h handshake, stackSyn *Frame) {
	o, ok := tcpOptionOf(stackSyn, layers.TCPOptionKindWindowScale)
	if h.wscale <= 0 || !ok {
		return
	}
	k.peerShift, k.stackShift = uint(min(h.wscale, 14)), uint(o.OptionData[0])
}

func tcpOptionOf(f *Frame, kind layers.TCPOptionKind) (layers.TCPOption, bool) {
	for _, o := range f.TCP().Options {
		if o.OptionType == kind && len(o.OptionData) > 0 {
			return o, true
		}
	}
	return layers.TCPOption{}, false
}

// seg is a segment of this connection from the peer, at the peer's next sequence number,
// acknowledging everything the stack sent, with the peer's window, and a timestamp when they
// were agreed (the peer's clock, echoing the stack's last TSval).
func (k *tcpConn) seg(flags TCPFlags, data []byte) Segment {
	return Segment{SrcPort: k.peerPort, DstPort: k.stackPort, Flags: flags, Seq: k.nxt, Ack: k.ack, Win: k.win, Data: data, Options: k.opts()}
}

// opts are the options of the peer's segments: the timestamp, when agreed, then extra.
func (k *tcpConn) opts(extra ...layers.TCPOption) []layers.TCPOption {
	var o []layers.TCPOption
	if k.ts {
		o = append(o, NOPOption, NOPOption, TimestampOption(peerTSAt(k.b), k.stackTS))
	}
	return append(o, extra...)
}

// inject hands the stack a segment of this connection.
func (k *tcpConn) inject(s Segment) {
	GinkgoHelper()
	for _, o := range s.Options {
		if o.OptionType == layers.TCPOptionKindTimestamps && len(o.OptionData) == 8 {
			k.peerTS = binary.BigEndian.Uint32(o.OptionData)
		}
	}
	k.b.Inject(k.b.Peer().TCP(s))
}

// withTSVal is seg(flags, data) with the peer's timestamp set to val (an old one, say).
func (k *tcpConn) withTSVal(flags TCPFlags, data []byte, val uint32) Segment {
	s := k.seg(flags, data)
	s.Options = []layers.TCPOption{NOPOption, NOPOption, TimestampOption(val, k.stackTS)}
	return s
}

// send injects seg(flags, data) and moves the peer's sequence number past it.
func (k *tcpConn) send(flags TCPFlags, data []byte) {
	GinkgoHelper()
	k.inject(k.seg(flags, data))
	k.nxt += uint32(len(data))
	if flags&(SYN|FIN) != 0 {
		k.nxt++
	}
}

// is matches a segment of this connection from the stack.
func (k *tcpConn) is(fields ...Field) *FrameMatcher {
	return BeTCP(append([]Field{SrcPort(k.stackPort), DstPort(k.peerPort)}, fields...)...)
}

// next takes the stack's next frame, expects it to be a segment of this connection with the
// given fields, and notes how far the stack's sequence numbers went.
func (k *tcpConn) next(fields ...Field) *Frame {
	GinkgoHelper()
	return k.nextWithin(0, fields...)
}

// nextWithin is next, waiting up to d of virtual time.
func (k *tcpConn) nextWithin(d time.Duration, fields ...Field) *Frame {
	GinkgoHelper()
	f := k.b.NextWithin(d)
	Expect(f).To(k.is(fields...))
	k.saw(f)
	return f
}

// saw notes a segment from the stack: k.ack moves past its data and FIN; its acknowledgment
// number and window give k.acked and k.edge.
func (k *tcpConn) saw(f *Frame) {
	t := f.TCP()
	if val, _, ok := TimestampOf(f); ok {
		k.stackTS = val
	}
	if end := seqEnd(f); int32(end-k.ack) > 0 {
		k.ack = end
	}
	if t.ACK && !t.RST {
		shift := k.stackShift
		if t.SYN {
			shift = 0 // a SYN's window is never scaled (RFC 7323 2.2)
		}
		k.acked, k.edge = t.Ack, t.Ack+uint32(t.Window)<<shift
	}
}

// seqEnd is the sequence number after a segment: its data, SYN and FIN.
func seqEnd(f *Frame) uint32 {
	t := f.TCP()
	end := t.Seq + uint32(len(t.Payload))
	if t.SYN {
		end++
	}
	if t.FIN {
		end++
	}
	return end
}

// write makes the application write all of p, and collects what the stack sent.
func (k *tcpConn) write(p []byte) {
	GinkgoHelper()
	k.b.Do(func() {
		n, err := k.c.Write(p)
		Expect(err).NotTo(HaveOccurred())
		Expect(n).To(Equal(len(p)))
	})
}

// read returns what the application can read now (nothing: an empty slice).
func (k *tcpConn) read() []byte {
	GinkgoHelper()
	var out []byte
	k.b.Do(func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := k.c.Read(buf)
			if errAgain(err) {
				return
			}
			Expect(err).NotTo(HaveOccurred())
			if n == 0 { // the end of the stream
				return
			}
			out = append(out, buf[:n]...)
		}
	})
	return out
}

// readN makes the application read exactly n bytes.
func (k *tcpConn) readN(n int) []byte {
	GinkgoHelper()
	buf := make([]byte, n)
	k.b.Do(func() {
		got, err := k.c.Read(buf)
		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(Equal(n))
	})
	return buf
}

// close makes the application close the connection.
func (k *tcpConn) close() {
	GinkgoHelper()
	k.b.Do(func() { Expect(k.c.Close()).To(Succeed()) })
}

// push sends data in full-sized segments, taking the stack's immediate answers, which must be
// pure ACKs; it returns the last one (nil if the stack sent none). It ignores the stack's window:
// specs use it only within the window.
func (k *tcpConn) push(data []byte) *Frame {
	GinkgoHelper()
	var last *Frame
	for len(data) > 0 {
		n := min(len(data), stackMSS)
		k.send(ACK, data[:n])
		data = data[n:]
		for f := k.b.TryNextWithin(0); f != nil; f = k.b.TryNextWithin(0) {
			Expect(f).To(k.is(Flags(ACK), PayloadLen(0)))
			k.saw(f)
			last = f
		}
	}
	return last
}

// acks takes every segment the stack sends within d, each of which must be a pure ACK of
// everything the peer sent (window updates, delayed ACKs), and returns them.
func (k *tcpConn) acks(d time.Duration) []*Frame {
	GinkgoHelper()
	var out []*Frame
	for f := k.b.TryNextWithin(d); f != nil; f = k.b.TryNextWithin(d) {
		Expect(f).To(k.is(Flags(ACK), Seq(k.ack), Ack(k.nxt), PayloadLen(0)))
		k.saw(f)
		out = append(out, f)
	}
	return out
}

// fill sends stream from its start as a well-behaved sender would: full-sized segments within
// the window the stack advertised last, waiting for its (delayed) ACK when the window is used
// up, until the stack has acknowledged everything and advertises a zero window. It returns the
// number of bytes sent.
func (k *tcpConn) fill(stream []byte) int {
	GinkgoHelper()
	sent := 0
	for {
		if room := int(int32(k.edge - k.nxt)); room > 0 {
			n := min(stackMSS, room)
			Expect(sent+n).To(BeNumerically("<=", len(stream)), "the stack's window never closed")
			k.push(stream[sent : sent+n])
			sent += n
			continue
		}
		if k.acked == k.nxt {
			return sent
		}
		k.nextWithin(time.Second, Flags(ACK), PayloadLen(0))
	}
}

// received is what receive took from the stack.
type received struct {
	data      []byte
	segments  []*Frame
	maxFlight int // the most bytes the stack had in flight at once
}

// receive takes n bytes of data from the stack as a prompt receiver: it acknowledges every
// segment as soon as it arrives, with window field win, and fails the spec if a segment is not
// the next in order or goes past the right edge of the window the peer advertised (RFC 9293
// 3.8.6). It starts from a peer that has acknowledged everything with window field k.win.
func (k *tcpConn) receive(n int, win uint16) received {
	GinkgoHelper()
	var r received
	una := k.ack
	edge := una + uint32(k.win)<<k.peerShift
	var queue []*Frame
	take := func(f *Frame) {
		Expect(f).To(k.is(Seq(k.ack)), "the stack's next segment in order")
		end := seqEnd(f)
		Expect(int32(end-edge)).To(BeNumerically("<=", 0),
			"segment [%d, %d) goes past the right edge %d of the peer's window", f.TCP().Seq, end, edge)
		r.maxFlight = max(r.maxFlight, int(end-una))
		r.data = append(r.data, f.TCP().Payload...)
		r.segments = append(r.segments, f)
		k.saw(f)
		queue = append(queue, f)
	}
	drain := func() {
		for f := k.b.TryNextWithin(0); f != nil; f = k.b.TryNextWithin(0) {
			take(f)
		}
	}
	drain()
	k.win = win
	for len(r.data) < n {
		if len(queue) == 0 {
			take(k.b.NextWithin(rto / 2))
			drain()
		}
		f := queue[0]
		queue = queue[1:]
		s := k.seg(ACK, nil)
		s.Ack = seqEnd(f)
		k.inject(s)
		una, edge = s.Ack, s.Ack+uint32(win)<<k.peerShift
		drain()
	}
	for _, f := range queue { // acknowledge what is left
		s := k.seg(ACK, nil)
		s.Ack = seqEnd(f)
		k.inject(s)
	}
	return r
}

// pattern returns n bytes that differ from their neighbours, so misplaced bytes show.
func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte('a' + i%23 + i/23%3)
	}
	return p
}
