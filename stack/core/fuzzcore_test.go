package core_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mtcp-go/mtcp/stack/arp"
	"github.com/mtcp-go/mtcp/stack/clock"
	"github.com/mtcp-go/mtcp/stack/core"
	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/link"
	"github.com/mtcp-go/mtcp/stack/tcp"
	"github.com/mtcp-go/mtcp/stack/wire"
)

// FuzzCore fuzzes the whole deterministic core, not only its parsers: ARP, IPv4 with
// reassembly, ICMP, and TCP with its timers and socket API, driven in virtual time.
//
// An input is a 14-byte setup header (the peer's SYN options and the stack's configuration, all
// zeros meaning Linux-like defaults) and then a sequence of steps, each an opcode byte whose low
// nibble says what the step is and whose high nibble is a small argument (usually which
// connection):
//
//	0-4  a TCP segment built from a template, to a known connection: flags, sequence and
//	     acknowledgment numbers as offsets from the connection's RCV.NXT, RCV.NXT+RCV.WND, IRS,
//	     SND.NXT, SND.UNA or ISS (or absolute), window, timestamps, SACK blocks, raw option
//	     bytes, the CE mark, and a payload whose every byte is a function of its sequence
//	     number, with valid checksums, so that most inputs reach in-window code
//	5    a raw frame from the input, optionally retargeted at the stack (MACs, addresses, port,
//	     checksums fixed)
//	6    time advances by a small duration (1 ms to about an hour), firing timers on the way
//	7    time advances to the next timer deadline(s)
//	8, 9 the application writes to or reads from a connection
//	10   another application action: Close, CloseWrite, Abort, socket options, SetBuffers,
//	     Accept, Dial, closing and reopening a listener
//	11   a segment from a new peer port (SYNs, floods, cookies, stray ACKs)
//	12   an ICMP error quoting a connection's segment (fragmentation needed, unreachable, ...)
//	13   an ICMP echo request, to the stack or to the subnet's broadcast address
//	14   a template segment cut into IP fragments, in order or not, duplicated or incomplete
//	15   an ARP packet (request or reply, conflicting, from another host, ...)
//
// Before the steps, the peer teaches the stack its MAC and opens a connection to the listener
// on 8080 with a scripted handshake, which is accepted: the fuzzer starts in ESTABLISHED.
//
// After every step the target checks what the stack sent and what state it is in (see
// fzHarness.checkFrame and fzHarness.checkState): every frame parses with stack/wire and has
// valid checksums and sane addresses; the segments of a connection stay inside its sequence
// space, never carry a byte that was not written or differs from what was written, never
// acknowledge what was not received and never take back window; the connections' sequence
// variables and queues agree with what the application wrote and read and stay within the
// buffer sizes; table sizes, timers and counters stay within the configured bounds; data read
// is byte for byte what the peer sent; and each step emits a bounded number of frames.
//
// The seed corpus is built from the captures in pcaps/ (single frames, and each recorded TCP
// conversation replayed as template steps against the scripted connection) and a few
// hand-written scenarios. Run it with:
//
//	go test -run '^$' -fuzz '^FuzzCore$' -fuzztime 60s ./stack/core
//
// FUZZCORE_TRACE=1 logs every step and every frame the stack sends, for reading a crasher.
// FUZZCORE_DUMP_SEEDS=dir writes the seeds there in the corpus format. The inputs in
// testdata/fuzz/FuzzCore are what it found: a Write after SetBuffers shrank the send buffer
// below what was queued, a header with SACK blocks longer than an MTU-68 link's payload, and a
// fragmentation-needed that raised the path MTU above a small interface's.
func FuzzCore(f *testing.F) {
	for _, s := range fzSeeds(f) {
		f.Add(s)
	}
	trace := os.Getenv("FUZZCORE_TRACE") != ""
	f.Fuzz(func(t *testing.T, in []byte) {
		fzRun(t, in, trace)
	})
}

// Addresses: the stack is the server of the captures in pcaps/ (linux-*.pcapng), so their
// frames reach it unchanged.
var (
	fzStackMAC  = wire.MAC{0x02, 0x00, 0xc6, 0x12, 0x01, 0x02}
	fzPeerMAC   = wire.MAC{0x02, 0x00, 0xc6, 0x12, 0x01, 0x01}
	fzRouterMAC = wire.MAC{0x02, 0x00, 0xc6, 0x12, 0x01, 0xfe}
	fzStackIP   = netip.AddrFrom4([4]byte{198, 18, 1, 2})
	fzPeerIP    = netip.AddrFrom4([4]byte{198, 18, 1, 1})
	fzOtherIP   = netip.AddrFrom4([4]byte{198, 18, 1, 3}) // on the link, never answers ARP
	fzRouterIP  = netip.AddrFrom4([4]byte{198, 18, 1, 254})
	fzSubnetBC  = netip.AddrFrom4([4]byte{198, 18, 1, 255})
	// The listeners (8080 is the scripted connection's), and a port nobody listens on.
	fzListenPorts = [3]uint16{8080, 7, 5001}
	fzAllPorts    = [4]uint16{8080, 7, 5001, 8081}
)

const (
	fzHeaderLen        = 14
	fzLinkMTU          = 1500
	fzMaxSteps         = 256
	fzMaxTargets       = 12
	fzMaxPayload       = 1460
	fzMaxRaw           = 1600
	fzMaxWrite         = 32 << 10
	fzMaxFramesPerStep = 4096
	fzMaxBytesPerStep  = 8 << 20
	fzDefaultPeerPort  = 40000
)

// fzPat is the byte the peer sends at sequence number s: every template segment carries the
// same bytes at the same sequence numbers, so whatever order, overlap or duplication the
// fuzzer chooses, the application must read exactly fzPat of consecutive sequence numbers.
func fzPat(s uint32) byte { return byte((s * 2654435761) >> 24) }

// fzPatOut is the byte the application writes at stream offset o: a table with a prime period,
// so that a byte sent from a wrong offset shows (unless off by a multiple of the period).
func fzPatOut(o int) byte { return fzOutTable[o%fzOutPeriod] }

const fzOutPeriod = 65521

// fzOutTable holds a period of fzPatOut and fzMaxWrite bytes more, so that a write copies it.
var fzOutTable = func() []byte {
	b := make([]byte, fzOutPeriod+fzMaxWrite)
	for i := range b {
		b[i] = byte((uint32(i%fzOutPeriod)*0x85ebca6b + 0x1234567) >> 24)
	}
	return b
}()

// fzReader hands out the input's bytes; past the end it reads zeros.
type fzReader struct {
	b   []byte
	off int
}

func (r *fzReader) left() int { return len(r.b) - r.off }

func (r *fzReader) u8() byte {
	if r.off >= len(r.b) {
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

func (r *fzReader) u16() uint16 { return uint16(r.u8())<<8 | uint16(r.u8()) }
func (r *fzReader) u32() uint32 { return uint32(r.u16())<<16 | uint32(r.u16()) }

// take returns up to n bytes (fewer at the end of the input).
func (r *fzReader) take(n int) []byte {
	n = max(min(n, r.left()), 0)
	b := r.b[r.off : r.off+n]
	r.off += n
	return b
}

// fzSetup is the decoded header.
type fzSetup struct {
	synTS, synSACK, synWS, synMSS, synECN bool
	noAutoARP, noHandshakeACK             bool
	wscale                                uint8
	mss, window                           uint16
	isn                                   uint32
	port                                  uint16
	cfg                                   core.Config
}

// fzDecodeSetup reads the header. Byte 0: the peer's SYN options (bits set turn off
// timestamps, SACK-permitted, window scale, MSS; bit 3 asks for ECN), bit 5 no automatic ARP
// answers, bit 6 no third ACK (the connection stays half-open), bit 7 Reno, no quick ACKs
// and new data in tail loss probes (the conformance bench's choices). 1: the peer's window
// scale (xor 7). 2-3: its MSS (xor 1460). 4-5: its window (xor 0xffff). 6: the stack's send and
// receive buffers and its switches (timestamps, SACK, RACK off; ECN on). 7: PMTUD off, missing
// timestamps tolerated, the MTU, the connection limit, small backlog and half-open limits, fast
// timers. 8-11: the peer's ISN. 12-13: its port (0: 40000).
func fzDecodeSetup(r *fzReader) fzSetup {
	var h [fzHeaderLen]byte
	copy(h[:], r.take(fzHeaderLen))
	s := fzSetup{
		synTS: h[0]&1 == 0, synSACK: h[0]&2 == 0, synWS: h[0]&4 == 0, synECN: h[0]&8 != 0, synMSS: h[0]&16 == 0,
		noAutoARP: h[0]&32 != 0, noHandshakeACK: h[0]&64 != 0,
		wscale: h[1] ^ 7,
		mss:    binary.BigEndian.Uint16(h[2:]) ^ 1460,
		window: binary.BigEndian.Uint16(h[4:]) ^ 0xffff,
		isn:    binary.BigEndian.Uint32(h[8:]),
		port:   binary.BigEndian.Uint16(h[12:]),
	}
	if s.port == 0 {
		s.port = fzDefaultPeerPort
	}
	bufs := [4]int{0, 1024, 4096, 65535}
	tc := tcp.Config{SendBuffer: bufs[h[6]&3], ReceiveBuffer: bufs[h[6]>>2&3]}
	if h[6]&16 != 0 {
		tc.Timestamps = tcp.Off
	}
	if h[6]&32 != 0 {
		tc.SACK = tcp.Off
	}
	if h[6]&64 != 0 {
		tc.RACK = tcp.Off
	}
	if h[6]&128 != 0 {
		tc.ECN = tcp.ECNOn
	}
	if h[7]&1 != 0 {
		tc.PMTUD = tcp.Off
	}
	tc.TolerateMissingTimestamps = h[7]&2 != 0
	mtus := [4]int{1500, 576, 1006, 68}
	tc.MaxConnections = [4]int{0, 2, 8, 32}[h[7]>>4&3]
	if h[7]&64 != 0 {
		tc.Backlog, tc.MaxHalfOpen = 2, 2
	}
	reasm := ipv4.ReassemblyConfig{MaxBytes: 16 << 10, MaxDatagrams: 4}
	if h[0]&128 != 0 { // the RFC-plain choices the conformance bench makes
		tc.Congestion, tc.QuickACK, tc.TLPNewData = tcp.CongestionReno, tcp.Off, tcp.On
	}
	if h[7]&128 != 0 { // fast timers: every timeout within a few steps
		tc.RTOMin, tc.RTOInitial, tc.RTOMax = 10*time.Millisecond, 100*time.Millisecond, time.Second
		tc.MSL, tc.DelayedACK = time.Second, 10*time.Millisecond
		reasm.Timeout = 2 * time.Second
	}
	s.cfg = core.Config{
		MAC:        fzStackMAC.HardwareAddr(),
		Interface:  ipv4.Interface{Addr: netip.PrefixFrom(fzStackIP, 24), Gateway: fzRouterIP},
		MTU:        mtus[h[7]>>2&3],
		ARP:        arp.Config{CacheSize: 8},
		Reassembly: reasm,
		TCP:        tc,
		Secret:     [16]byte{'f', 'u', 'z', 'z'},
	}
	return s
}

// fzLink is the stack's link: it keeps what the stack sends, for the harness to check.
type fzLink struct {
	arena  []byte
	frames [][]byte
}

func (l *fzLink) MTU() int { return fzLinkMTU }
func (l *fzLink) WriteFrame(f []byte) error {
	start := len(l.arena)
	l.arena = append(l.arena, f...)
	l.frames = append(l.frames, l.arena[start:len(l.arena):len(l.arena)])
	return nil
}
func (l *fzLink) Attach(link.Receiver) {}
func (l *fzLink) Close() error         { return nil }

// fzTarget is a connection the harness knows: by its four-tuple, with the stack's *tcp.Conn
// once accepted or dialled, the peer's view of it (from what was sent and received), and the
// application's bookkeeping.
type fzTarget struct {
	local  uint16
	remote netip.AddrPort
	conn   *tcp.Conn

	// The peer's side.
	peerISN                wire.Seq
	hasPeerISN             bool
	peerSndNxt, peerAcked  wire.Seq
	hasPeerSnd, hasPeerAck bool
	stackISS, stackSndMax  wire.Seq
	hasISS, hasSndMax      bool
	lastAck                wire.Seq
	lastWnd                uint16
	hasAck                 bool
	lastTSval              uint32
	stackTS                bool
	tainted                bool // a raw frame reached the tuple: its data is not fzPat
	written, read          int
	maxSnd, maxRcv         int
	edge                   wire.Seq // the right edge of the window the stack advertised
	hasEdge, sawClosed     bool
}

func (tg *fzTarget) String() string {
	s := fmt.Sprintf("%d<->%v", tg.local, tg.remote)
	if tg.conn != nil {
		s += fmt.Sprintf(" %v written %d read %d\n\tinfo %+v", tg.conn.State(), tg.written, tg.read, tg.conn.Info())
	}
	return s
}

type fzHarness struct {
	t      *testing.T
	trace  bool
	setup  fzSetup
	cfg    core.Config // with defaults
	now    time.Time
	core   *core.Core
	link   *fzLink
	lns    [3]*tcp.Listener
	tgs    []*fzTarget
	ipID   uint16
	tsBase uint32

	scanned             int
	stepFrames          int
	stepBytes           int
	framesIn, framesOut uint64
	arpOut, ipOut       uint64
	tcpOut, icmpOut     uint64
	arpReplies          [][]byte
	taintAll            bool
	prev                core.Stats
	step                int
	steps               []fzStepRec
	frameBuf, segBuf    []byte
	rbuf, fixupBuf      []byte
}

type fzStepRec struct {
	op  byte
	off int
}

var fzOpNames = [16]string{"segment", "segment", "segment", "segment", "segment", "raw frame", "advance",
	"next deadlines", "write", "read", "app action", "new-tuple segment", "ICMP error", "echo request",
	"fragmented segment", "ARP"}

// fzBufs are the harness's buffers, kept from one execution to the next.
type fzBufs struct {
	frame, seg, fixup, rbuf, arena []byte
	frames                         [][]byte
}

var fzBufPool = sync.Pool{New: func() any { return new(fzBufs) }}

func fzRun(t *testing.T, in []byte, trace bool) {
	r := &fzReader{b: in}
	bufs := fzBufPool.Get().(*fzBufs)
	h := &fzHarness{t: t, trace: trace, now: clock.Epoch, link: &fzLink{arena: bufs.arena[:0], frames: bufs.frames[:0]}, step: -1,
		frameBuf: bufs.frame, segBuf: bufs.seg, fixupBuf: bufs.fixup, rbuf: bufs.rbuf}
	defer func() {
		*bufs = fzBufs{frame: h.frameBuf, seg: h.segBuf, fixup: h.fixupBuf, rbuf: h.rbuf, arena: h.link.arena, frames: h.link.frames}
		clear(bufs.frames[:cap(bufs.frames)]) // no frames kept alive
		fzBufPool.Put(bufs)
	}()
	h.setup = fzDecodeSetup(r)
	h.tsBase = h.setup.isn*2654435761 + 12345
	c, err := core.New(h.setup.cfg, h.link)
	if err != nil {
		t.Fatalf("core.New with the fuzzer's configuration: %v", err)
	}
	h.core, h.cfg = c, c.Config()
	defer func() {
		if p := recover(); p != nil {
			h.fail("panic: %v\n%s", p, debug.Stack())
		}
	}()
	h.begin()
	h.start()
	h.end()
	for h.step = 0; r.left() > 0 && h.step < fzMaxSteps; h.step++ {
		op := r.u8()
		h.steps = append(h.steps, fzStepRec{op, r.off - 1})
		h.begin()
		h.doStep(r, op)
		h.end()
	}
}

// fail reports a broken invariant with the step that broke it and the connections' state.
func (h *fzHarness) fail(format string, args ...any) {
	h.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, format, args...)
	fmt.Fprintf(&b, "\n--- at step %d, virtual time +%v", h.step, h.now.Sub(clock.Epoch))
	if n := len(h.steps); n > 0 {
		b.WriteString("; last steps:")
		for _, s := range h.steps[max(n-8, 0):] {
			fmt.Fprintf(&b, " [%s/%d @%d]", fzOpNames[s.op&15], s.op>>4, s.off)
		}
	}
	for i, tg := range h.tgs {
		fmt.Fprintf(&b, "\n  target %d: %v", i, tg)
	}
	h.t.Fatal(b.String())
}

func (h *fzHarness) logf(format string, args ...any) {
	if h.trace {
		h.t.Helper()
		h.t.Logf("[+%v step %d] %s", h.now.Sub(clock.Epoch), h.step, fmt.Sprintf(format, args...))
	}
}

// begin starts a step: the frames of the last one were checked.
func (h *fzHarness) begin() {
	h.link.arena, h.link.frames = h.link.arena[:0], h.link.frames[:0]
	h.scanned, h.stepFrames, h.stepBytes = 0, 0, 0
}

// end finishes a step: everything sent is checked, then the state.
func (h *fzHarness) end() {
	h.drain()
	h.checkState()
}

// start opens the listeners and the scripted connection.
func (h *fzHarness) start() {
	s := &h.setup
	h.core.Advance(h.now)
	h.deliver(fzARP(wire.ARPRequest, fzPeerMAC, fzPeerIP, wire.MAC{}, fzStackIP, wire.BroadcastMAC))
	for i, p := range fzListenPorts {
		ln, err := h.core.TCP().Listen(p, 0)
		if err != nil {
			h.fail("Listen(%d): %v", p, err)
		}
		h.lns[i] = ln
	}
	tg := h.target(fzListenPorts[0], netip.AddrPortFrom(fzPeerIP, s.port), true)
	syn := wire.TCPFields{SourcePort: s.port, DestinationPort: fzListenPorts[0], SeqNum: wire.Seq(s.isn), Flags: wire.SYN, WindowSize: s.window}
	o := &syn.Options
	if s.synMSS {
		o.MSS = s.mss
	}
	o.HasWindowScale, o.WindowScale = s.synWS, s.wscale
	o.SACKPermitted = s.synSACK
	if s.synTS {
		o.HasTimestamp, o.TSVal = true, h.peerTS()
	}
	if s.synECN {
		syn.Flags |= wire.ECE | wire.CWR
	}
	tg.peerISN, tg.hasPeerISN = syn.SeqNum, true
	h.sendTCP(tg, syn, 0, wire.NotECT)
	h.drain()
	if s.noHandshakeACK || !tg.hasISS {
		return
	}
	ack := wire.TCPFields{SourcePort: s.port, DestinationPort: fzListenPorts[0], SeqNum: syn.SeqNum.Add(1),
		AckNum: tg.stackISS.Add(1), Flags: wire.ACK, WindowSize: s.window}
	if s.synTS && tg.stackTS {
		ack.Options.HasTimestamp, ack.Options.TSVal, ack.Options.TSEcr = true, h.peerTS(), tg.lastTSval
	}
	h.sendTCP(tg, ack, 0, wire.NotECT)
	h.drain()
	h.accept(0)
}

// peerTS is the peer's timestamp clock: milliseconds.
func (h *fzHarness) peerTS() uint32 {
	return h.tsBase + uint32(h.now.Sub(clock.Epoch)/time.Millisecond)
}

func (h *fzHarness) nextID() uint16 { h.ipID++; return h.ipID }

// target finds the target of a tuple, adding it when add and there is room (nil otherwise).
func (h *fzHarness) target(local uint16, remote netip.AddrPort, add bool) *fzTarget {
	for _, tg := range h.tgs {
		if tg.local == local && tg.remote == remote {
			return tg
		}
	}
	if !add || len(h.tgs) >= fzMaxTargets {
		return nil
	}
	tg := &fzTarget{local: local, remote: remote}
	h.tgs = append(h.tgs, tg)
	return tg
}

// attach makes c the connection of its tuple's target: a new incarnation starts afresh.
func (h *fzHarness) attach(c *tcp.Conn) {
	tg := h.target(c.LocalAddr().Port(), c.RemoteAddr(), true)
	if tg == nil {
		return
	}
	if tg.conn != nil && tg.conn != c {
		*tg = fzTarget{local: tg.local, remote: tg.remote, peerISN: tg.peerISN, hasPeerISN: tg.hasPeerISN,
			peerSndNxt: tg.peerSndNxt, hasPeerSnd: tg.hasPeerSnd, lastTSval: tg.lastTSval, stackTS: tg.stackTS}
	}
	tg.conn = c
	b := c.Buffers()
	tg.maxSnd, tg.maxRcv = max(tg.maxSnd, b.Send), max(tg.maxRcv, b.Receive)
}

func (h *fzHarness) accept(i int) {
	ln := h.lns[i%len(h.lns)]
	if c, err := ln.Accept(); err == nil {
		h.attach(c)
		h.logf("accepted %v", c.RemoteAddr())
	}
	h.drain()
}

// deliver hands the stack a frame at the current time and checks what it sends back.
func (h *fzHarness) deliver(f []byte) {
	h.framesIn++
	h.core.HandleFrame(h.now, f)
	h.drain()
}

// drain checks every frame sent since the last call, answering the stack's ARP requests for the
// peer and the router unless the setup says not to.
func (h *fzHarness) drain() {
	for round := 0; ; round++ {
		for h.scanned < len(h.link.frames) {
			f := h.link.frames[h.scanned]
			h.scanned++
			h.checkFrame(f)
		}
		if len(h.arpReplies) == 0 {
			return
		}
		if round > 16 {
			h.fail("ARP exchange did not settle after %d rounds", round)
		}
		replies := h.arpReplies
		h.arpReplies = nil
		for _, f := range replies {
			h.framesIn++
			h.core.HandleFrame(h.now, f)
		}
	}
}

// advanceTo moves time to at, stopping at every deadline on the way (at most a bound of them;
// the rest fire in one Advance, in order, as the heap guarantees).
func (h *fzHarness) advanceTo(at time.Time) {
	for range 512 {
		next, ok := h.core.NextDeadline()
		if !ok || next.After(at) {
			break
		}
		if next.After(h.now) {
			h.now = next
		}
		h.core.Advance(h.now)
		h.drain()
	}
	if at.After(h.now) {
		h.now = at
	}
	h.core.Advance(h.now)
	h.drain()
}

// fzDuration decodes a step's duration: six bits of count in units of 1 ms, 10 ms, 1 s or 1 min.
func fzDuration(v byte) time.Duration {
	units := [4]time.Duration{time.Millisecond, 10 * time.Millisecond, time.Second, time.Minute}
	return time.Duration(v&63) * units[v>>6]
}

func (h *fzHarness) doStep(r *fzReader, op byte) {
	arg := int(op >> 4)
	switch op & 15 {
	case 0, 1, 2, 3, 4:
		if tg := h.pick(arg); tg != nil {
			s := h.decodeTemplate(r, tg)
			h.sendTCP(tg, s.f, s.plen, s.ecn)
		}
	case 5:
		h.opRaw(r)
	case 6:
		d := fzDuration(r.u8())
		h.logf("advance %v", d)
		h.advanceTo(h.now.Add(d))
	case 7:
		for range arg + 1 {
			next, ok := h.core.NextDeadline()
			if !ok {
				break
			}
			h.logf("advance to the deadline at +%v", next.Sub(clock.Epoch))
			if next.After(h.now) {
				h.now = next
			}
			h.core.Advance(h.now)
			h.drain()
		}
	case 8:
		n := int(r.u16()) % (fzMaxWrite + 1)
		if tg := h.pick(arg); tg != nil && tg.conn != nil {
			h.write(tg, n)
		}
	case 9:
		n := int(r.u16())
		if n == 0 {
			n = 1 << 16
		}
		if tg := h.pick(arg); tg != nil && tg.conn != nil {
			h.read(tg, n)
		}
	case 10:
		h.opApp(r, arg)
	case 11:
		h.opNewTuple(r, arg)
	case 12:
		h.opICMPError(r, arg)
	case 13:
		h.opEcho(r, arg)
	case 14:
		h.opFragments(r, arg)
	case 15:
		h.opARP(r)
	}
}

func (h *fzHarness) pick(i int) *fzTarget {
	if len(h.tgs) == 0 {
		return nil
	}
	return h.tgs[i%len(h.tgs)]
}

// fzBases are the sequence numbers template segments are relative to.
type fzBases struct {
	rcvNxt, edge, irs1, sndNxt, sndUna, iss1 wire.Seq
}

// bases returns the connection's sequence variables, from its control block once the stack's
// Conn is known, else from what the peer saw.
func (h *fzHarness) bases(tg *fzTarget) fzBases {
	var b fzBases
	b.irs1 = tg.peerISN.Add(1)
	b.rcvNxt = b.irs1
	if tg.hasPeerSnd {
		b.rcvNxt = tg.peerSndNxt
	}
	if tg.hasAck {
		b.rcvNxt = tg.lastAck
	}
	b.edge = b.rcvNxt.Add(uint32(tg.lastWnd))
	b.iss1 = tg.stackISS.Add(1)
	b.sndNxt = b.iss1
	if tg.hasSndMax {
		b.sndNxt = tg.stackSndMax
	}
	b.sndUna = b.iss1
	if tg.hasPeerAck {
		b.sndUna = tg.peerAcked
	}
	if tg.conn != nil { // a closed one leaves the tuple to the peer's view: a new incarnation may own it
		if in := tg.conn.Info(); in.State != tcp.Closed {
			if in.State != tcp.SynSent {
				b.rcvNxt, b.edge, b.irs1 = in.RcvNxt, in.RcvNxt.Add(in.RcvWnd), in.IRS.Add(1)
			}
			b.sndNxt, b.sndUna, b.iss1 = in.SndNxt, in.SndUna, in.ISS.Add(1)
		}
	}
	return b
}

func fzOff16(v uint16) uint32 { return uint32(int32(int16(v))) }

type fzSeg struct {
	f    wire.TCPFields
	plen int
	ecn  wire.ECN
}

// decodeTemplate reads a template segment: flags (xor ACK), mode, sequence number, ack number,
// window (xor 0xffff), payload length, then the options the mode asks for. Mode bits 0-1: SEQ
// from RCV.NXT + int16, IRS+1 + uint32, RCV.NXT+RCV.WND + int16, or absolute; bits 2-3: ACK
// from SND.NXT + int16, SND.UNA + int16, ISS+1 + uint32, or absolute; bit 4 timestamps (TSval
// and TSecr deltas, -128 meaning far off), bit 5 SACK blocks (from SND.UNA), bit 6 raw option
// bytes after those, bit 7 CE.
func (h *fzHarness) decodeTemplate(r *fzReader, tg *fzTarget) fzSeg {
	flags := wire.TCPFlags(r.u8()) ^ wire.ACK
	mode := r.u8()
	b := h.bases(tg)
	var seq, ack wire.Seq
	switch mode & 3 {
	case 0:
		seq = b.rcvNxt.Add(fzOff16(r.u16()))
	case 1:
		seq = b.irs1.Add(r.u32())
	case 2:
		seq = b.edge.Add(fzOff16(r.u16()))
	default:
		seq = wire.Seq(r.u32())
	}
	switch mode >> 2 & 3 {
	case 0:
		ack = b.sndNxt.Add(fzOff16(r.u16()))
	case 1:
		ack = b.sndUna.Add(fzOff16(r.u16()))
	case 2:
		ack = b.iss1.Add(r.u32())
	default:
		ack = wire.Seq(r.u32())
	}
	s := fzSeg{f: wire.TCPFields{SourcePort: tg.remote.Port(), DestinationPort: tg.local, SeqNum: seq, AckNum: ack,
		Flags: flags, WindowSize: r.u16() ^ 0xffff}}
	s.plen = int(r.u16()) % (fzMaxPayload + 1)
	var o wire.TCPOptions
	if mode&0x10 != 0 {
		dv, de := int8(r.u8()), int8(r.u8())
		o.HasTimestamp = true
		o.TSVal = h.peerTS() + uint32(int32(dv))
		if dv == -128 {
			o.TSVal ^= 1 << 31
		}
		o.TSEcr = tg.lastTSval + uint32(int32(de))
		if de == -128 {
			o.TSEcr = 0
		}
	}
	if mode&0x20 != 0 {
		o.NumSACKBlocks = int(r.u8()%4) + 1
		for i := range o.NumSACKBlocks {
			left := b.sndUna.Add(fzOff16(r.u16()))
			o.SACKBlocks[i] = wire.SACKBlock{Left: left, Right: left.Add(uint32(r.u16()))}
		}
	}
	if mode&0x40 != 0 {
		raw := r.take(int(r.u8()) % 41)
		f := wire.TCPFields{Options: o}
		enc := make([]byte, f.HeaderLen())
		f.Encode(enc, fzPeerIP, fzStackIP)
		s.f.RawOptions = append(enc[wire.TCPMinHeaderLen:], raw...)
		s.f.RawOptions = s.f.RawOptions[:min(len(s.f.RawOptions), 40)]
	} else {
		s.f.Options = o
	}
	if mode&0x80 != 0 {
		s.ecn = wire.CE
	}
	return s
}

// segment encodes a TCP segment with plen bytes of fzPat from its sequence number on.
func (h *fzHarness) segment(f *wire.TCPFields, plen int, src netip.Addr) []byte {
	hl := f.HeaderLen()
	if cap(h.segBuf) < hl+plen {
		h.segBuf = make([]byte, hl+plen+512)
	}
	seg := h.segBuf[:hl+plen]
	start := uint32(f.SeqNum)
	if f.Flags&wire.SYN != 0 {
		start++
	}
	for i := range plen {
		seg[hl+i] = fzPat(start + uint32(i))
	}
	f.Encode(seg, src, fzStackIP)
	return seg
}

// ipFrame builds Ethernet + IPv4 + payload into the harness's frame buffer.
func (h *fzHarness) ipFrame(ip wire.IPv4Fields, payload []byte, ethDst, ethSrc wire.MAC) []byte {
	hl := ip.HeaderLen()
	n := wire.EthernetHeaderLen + hl + len(payload)
	if cap(h.frameBuf) < n {
		h.frameBuf = make([]byte, n+512)
	}
	fr := h.frameBuf[:n]
	eth := wire.EthernetFields{Destination: ethDst, Source: ethSrc, EtherType: wire.EtherTypeIPv4}
	eth.Encode(fr)
	copy(fr[wire.EthernetHeaderLen+hl:], payload)
	ip.Encode(fr[wire.EthernetHeaderLen:], len(payload))
	return fr
}

func (h *fzHarness) peerIPFields(proto wire.IPProtocol, tos uint8, dst netip.Addr) wire.IPv4Fields {
	return wire.IPv4Fields{TOS: tos, ID: h.nextID(), TTL: 64, Protocol: proto, Source: fzPeerIP, Destination: dst}
}

// noteSent records a segment the peer sends on tg.
func (tg *fzTarget) noteSent(f *wire.TCPFields, plen int) {
	n := uint32(plen)
	if f.Flags&wire.SYN != 0 {
		n++
		if f.Flags&wire.ACK == 0 {
			tg.peerISN, tg.hasPeerISN = f.SeqNum, true
		}
	}
	if f.Flags&wire.FIN != 0 {
		n++
	}
	if end := f.SeqNum.Add(n); !tg.hasPeerSnd || end.GreaterThan(tg.peerSndNxt) {
		tg.peerSndNxt, tg.hasPeerSnd = end, true
	}
	if f.Flags&wire.ACK != 0 && f.Flags&wire.RST == 0 {
		tg.peerAcked, tg.hasPeerAck = f.AckNum, true
	}
}

// sendTCP sends a segment from the peer on tg.
func (h *fzHarness) sendTCP(tg *fzTarget, f wire.TCPFields, plen int, ecn wire.ECN) {
	tg.noteSent(&f, plen)
	seg := h.segment(&f, plen, tg.remote.Addr())
	h.logf("peer sends %v seq %d ack %d win %d len %d to %d<->%v", f.Flags, f.SeqNum, f.AckNum, f.WindowSize, plen, tg.local, tg.remote)
	h.deliver(h.ipFrame(h.peerIPFields(wire.ProtocolTCP, uint8(ecn), fzStackIP), seg, fzStackMAC, fzPeerMAC))
}

// opRaw: fixup byte, length (uint16), bytes. Fixups: bit 0 the MACs are the peer's and the
// stack's; bit 1 the IPv4 destination is the stack; bit 2 the IPv4 header checksum is made
// right; bit 3 the TCP or ICMP checksum is made right; bit 4 TCP goes to port 8080; bit 5 an
// ARP packet's target is the stack.
func (h *fzHarness) opRaw(r *fzReader) {
	fix := r.u8()
	n := int(r.u16()) % (fzMaxRaw + 1)
	h.fixupBuf = append(h.fixupBuf[:0], r.take(n)...)
	f := h.fixupBuf
	if fix&1 != 0 && len(f) >= wire.EthernetHeaderLen {
		copy(f[0:6], fzStackMAC[:])
		copy(f[6:12], fzPeerMAC[:])
	}
	if len(f) >= wire.EthernetHeaderLen {
		switch wire.EtherType(binary.BigEndian.Uint16(f[12:])) {
		case wire.EtherTypeIPv4:
			h.fixIPv4(f[wire.EthernetHeaderLen:], fix)
		case wire.EtherTypeARP:
			if p := f[wire.EthernetHeaderLen:]; fix&32 != 0 && len(p) >= wire.ARPLen {
				a := fzStackIP.As4()
				copy(p[24:28], a[:])
			}
		}
	}
	h.logf("raw frame of %d bytes, fixups %#x", len(f), fix)
	h.deliver(f)
}

// fixIPv4 applies the fixups to an IPv4 datagram and notes which connection its TCP data may
// reach (raw data is not fzPat).
func (h *fzHarness) fixIPv4(p []byte, fix byte) {
	if len(p) < wire.IPv4MinHeaderLen {
		return
	}
	ihl := int(p[0]&15) * 4
	if ihl < wire.IPv4MinHeaderLen || ihl > len(p) {
		return
	}
	if fix&2 != 0 {
		a := fzStackIP.As4()
		copy(p[16:20], a[:])
	}
	total := min(int(binary.BigEndian.Uint16(p[2:])), len(p))
	fragment := binary.BigEndian.Uint16(p[6:])&0x3fff != 0
	proto := wire.IPProtocol(p[9])
	if total >= ihl && !fragment {
		payload := p[ihl:total]
		src, dst := netip.AddrFrom4([4]byte(p[12:16])), netip.AddrFrom4([4]byte(p[16:20]))
		switch {
		case proto == wire.ProtocolTCP && len(payload) >= wire.TCPMinHeaderLen:
			if fix&16 != 0 {
				binary.BigEndian.PutUint16(payload[2:], fzListenPorts[0])
			}
			if fix&8 != 0 {
				payload[16], payload[17] = 0, 0
				binary.BigEndian.PutUint16(payload[16:], wire.Fold(wire.Sum(payload, wire.PseudoHeaderSum(src, dst, wire.ProtocolTCP, len(payload)))))
			}
			remote := netip.AddrPortFrom(src, binary.BigEndian.Uint16(payload[0:]))
			if tg := h.target(binary.BigEndian.Uint16(payload[2:]), remote, false); tg != nil {
				tg.tainted = true
			}
		case proto == wire.ProtocolICMP && len(payload) >= wire.ICMPv4HeaderLen && fix&8 != 0:
			payload[2], payload[3] = 0, 0
			binary.BigEndian.PutUint16(payload[2:], wire.Checksum(payload))
		}
	}
	if fragment && proto == wire.ProtocolTCP {
		h.taintAll = true // reassembled with fragments of template segments, it may reach anything
	}
	if fix&4 != 0 {
		p[10], p[11] = 0, 0
		binary.BigEndian.PutUint16(p[10:], wire.Checksum(p[:ihl]))
	}
}

// opApp: the action is the step's argument, then a target byte and the action's operands.
func (h *fzHarness) opApp(r *fzReader, sub int) {
	x := int(r.u8())
	tg := h.pick(x)
	l := h.core.TCP()
	var c *tcp.Conn
	if tg != nil {
		c = tg.conn
	}
	switch sub {
	case 0, 1, 2, 3, 4, 5, 6, 7, 8, 9:
		var a, b uint16
		switch sub {
		case 5:
			a = uint16(r.u8())
		case 7:
			a, b = r.u16(), r.u16()
		}
		if c == nil {
			return
		}
		h.logf("app action %d on %v", sub, tg.remote)
		switch sub {
		case 0:
			_ = c.Close()
		case 1:
			_ = c.CloseWrite()
		case 2:
			c.Abort()
		case 3:
			c.SetNoDelay(true)
		case 4:
			c.SetNoDelay(false)
		case 5:
			c.SetKeepAlive(true)
			c.SetKeepAlivePeriod(time.Duration(a+1) * time.Second)
		case 6:
			c.SetKeepAlive(false)
		case 7:
			c.SetBuffers(tcp.BufferSizes{Send: int(a), Receive: int(b)})
			bs := c.Buffers()
			tg.maxSnd, tg.maxRcv = max(tg.maxSnd, bs.Send), max(tg.maxRcv, bs.Receive)
		case 8:
			c.SetLinger(0)
		case 9:
			c.SetLinger(1)
		}
	case 10:
		h.accept(x)
	case 11, 12:
		ip := fzPeerIP
		if sub == 12 {
			ip = fzOtherIP
		}
		port := r.u16()
		c, err := l.Dial(netip.AddrPortFrom(ip, port))
		h.logf("dial %v:%d: %v", ip, port, err)
		if err == nil {
			h.attach(c)
		}
	case 13:
		h.lns[x%3].Close()
	case 14:
		i := x % 3
		if ln, err := l.Listen(fzListenPorts[i], 0); err == nil {
			h.lns[i] = ln
		}
	}
	h.drain()
}

// write has the application write n bytes of fzPatOut.
func (h *fzHarness) write(tg *fzTarget, n int) {
	start := tg.written % fzOutPeriod
	p := fzOutTable[start : start+n]
	m, err := tg.conn.Write(p)
	h.logf("write %d to %v: %d, %v", n, tg.remote, m, err)
	if m < 0 || m > n || (m == 0 && n > 0 && err == nil) {
		h.fail("Write of %d bytes returned %d, %v", n, m, err)
	}
	tg.written += m
	h.drain()
}

// read has the application read up to n bytes and checks them against what the peer sent.
func (h *fzHarness) read(tg *fzTarget, n int) {
	if cap(h.rbuf) < n {
		h.rbuf = make([]byte, n)
	}
	p := h.rbuf[:n]
	irs := tg.conn.Info().IRS
	m, err := tg.conn.Read(p)
	h.logf("read %d from %v: %d, %v", n, tg.remote, m, err)
	if m < 0 || m > n || (m == 0 && n > 0 && err == nil) {
		h.fail("Read of %d bytes returned %d, %v", n, m, err)
	}
	if !tg.tainted && !h.taintAll {
		base := uint32(irs) + 1 + uint32(tg.read)
		for i, b := range p[:m] {
			if want := fzPat(base + uint32(i)); b != want {
				h.fail("%v: byte %d of the stream (seq %d) read as %#02x, the peer sent %#02x", tg.remote, tg.read+i, base+uint32(i), b, want)
			}
		}
	}
	tg.read += m
	h.drain()
}

// opNewTuple: peer port, flags (xor SYN), seq, ack, window (xor 0xffff), option bits (set:
// no MSS, no timestamps, no SACK-permitted, no window scale), payload length; the destination
// port is the step's argument (three listeners and a closed port).
func (h *fzHarness) opNewTuple(r *fzReader, arg int) {
	port := r.u16()
	f := wire.TCPFields{SourcePort: port, DestinationPort: fzAllPorts[arg&3], Flags: wire.TCPFlags(r.u8()) ^ wire.SYN,
		SeqNum: wire.Seq(r.u32()), AckNum: wire.Seq(r.u32()), WindowSize: r.u16() ^ 0xffff}
	ob := r.u8()
	plen := int(r.u8())
	tg := h.target(f.DestinationPort, netip.AddrPortFrom(fzPeerIP, port), true)
	if tg == nil {
		tg = &fzTarget{local: f.DestinationPort, remote: netip.AddrPortFrom(fzPeerIP, port)}
	}
	o := &f.Options
	if ob&1 == 0 {
		o.MSS = 1460
	}
	if ob&2 == 0 {
		o.HasTimestamp, o.TSVal, o.TSEcr = true, h.peerTS(), tg.lastTSval
	}
	o.SACKPermitted = ob&4 == 0
	o.HasWindowScale, o.WindowScale = ob&8 == 0, 7
	h.sendTCP(tg, f, plen, wire.ECN(ob>>4&3))
}

// opICMPError: kind, MTU, offset of the quoted sequence number from SND.UNA (int16), quoted
// total length (xor 1500), source (bit 0: the router, bit 1: quote the stack's address as the
// destination instead).
func (h *fzHarness) opICMPError(r *fzReader, arg int) {
	kinds := [8][2]uint8{{3, 4}, {3, 1}, {3, 3}, {3, 2}, {11, 0}, {12, 0}, {3, 0}, {4, 0}}
	k := kinds[r.u8()%8]
	mtu, off, ql, sb := r.u16(), r.u16(), r.u16()^1500, r.u8()
	tg := h.pick(arg)
	if tg == nil {
		return
	}
	b := h.bases(tg)
	var q [wire.IPv4MinHeaderLen + 8]byte
	qip := wire.IPv4Fields{Flags: wire.IPv4DontFragment, TTL: 64, Protocol: wire.ProtocolTCP, Source: fzStackIP, Destination: tg.remote.Addr()}
	if sb&2 != 0 {
		qip.Source, qip.Destination = tg.remote.Addr(), fzStackIP
	}
	qip.Encode(q[:], 0)
	binary.BigEndian.PutUint16(q[2:], ql) // the datagram's length as sent, not what is quoted
	binary.BigEndian.PutUint16(q[10:], 0)
	binary.BigEndian.PutUint16(q[10:], wire.Checksum(q[:wire.IPv4MinHeaderLen]))
	binary.BigEndian.PutUint16(q[20:], tg.local)
	binary.BigEndian.PutUint16(q[22:], tg.remote.Port())
	binary.BigEndian.PutUint32(q[24:], uint32(b.sndUna.Add(fzOff16(off))))
	msg := make([]byte, wire.ICMPv4HeaderLen+len(q))
	copy(msg[wire.ICMPv4HeaderLen:], q[:])
	rest := uint32(mtu)
	if k[0] == 12 {
		rest = uint32(mtu) << 16
	}
	(&wire.ICMPv4Fields{Type: k[0], Code: k[1], RestOfHeader: rest}).Encode(msg)
	ip := h.peerIPFields(wire.ProtocolICMP, 0, fzStackIP)
	src := fzPeerMAC
	if sb&1 != 0 {
		ip.Source, src = fzRouterIP, fzRouterMAC
	}
	h.logf("ICMP %d/%d mtu %d about seq SND.UNA%+d on %v", k[0], k[1], mtu, int16(off), tg.remote)
	h.deliver(h.ipFrame(ip, msg, fzStackMAC, src))
}

// opEcho: data length; the argument's bit 0 sends it to the subnet's broadcast address.
func (h *fzHarness) opEcho(r *fzReader, arg int) {
	n := int(r.u16()) % 1473
	msg := make([]byte, wire.ICMPv4HeaderLen+n)
	for i := range n {
		msg[wire.ICMPv4HeaderLen+i] = byte(i)
	}
	f := wire.EchoFields(wire.ICMPv4Echo, uint16(arg), h.ipID)
	f.Encode(msg)
	dst, eth := fzStackIP, fzStackMAC
	if arg&1 != 0 {
		dst, eth = fzSubnetBC, wire.BroadcastMAC
	}
	h.deliver(h.ipFrame(h.peerIPFields(wire.ProtocolICMP, 0, dst), msg, eth, fzPeerMAC))
}

// opFragments: control byte (bit 0 reversed order, bit 1 the first fragment again at the end,
// bit 2 the last one left out, bits 4-5 the number of fragments less two), fragment sizes in
// units of 8 bytes, then a template segment, sent in IPv4 fragments.
func (h *fzHarness) opFragments(r *fzReader, arg int) {
	ctl := r.u8()
	nfr := 2 + int(ctl>>4&3)%3
	sizes := make([]int, nfr-1)
	for i := range sizes {
		sizes[i] = (int(r.u8())%24 + 1) * 8
	}
	tg := h.pick(arg)
	if tg == nil {
		return
	}
	s := h.decodeTemplate(r, tg)
	tg.noteSent(&s.f, s.plen)
	seg := h.segment(&s.f, s.plen, tg.remote.Addr())
	id := h.nextID()
	type frag struct {
		off, end int
	}
	var frags []frag
	off := 0
	for _, n := range sizes {
		if off+n >= len(seg) {
			break
		}
		frags = append(frags, frag{off, off + n})
		off += n
	}
	frags = append(frags, frag{off, len(seg)})
	last := len(frags) - 1
	order := make([]int, 0, len(frags)+1)
	for i := range frags {
		if ctl&4 != 0 && i == last && last > 0 {
			continue
		}
		order = append(order, i)
	}
	if ctl&1 != 0 {
		for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
			order[i], order[j] = order[j], order[i]
		}
	}
	if ctl&2 != 0 {
		order = append(order, order[0])
	}
	h.logf("segment %v seq %d len %d in %d fragments, order %v", s.f.Flags, s.f.SeqNum, s.plen, len(frags), order)
	data := append([]byte(nil), seg...)
	for _, i := range order {
		fr := frags[i]
		ip := wire.IPv4Fields{TOS: uint8(s.ecn), ID: id, TTL: 64, Protocol: wire.ProtocolTCP, Source: tg.remote.Addr(),
			Destination: fzStackIP, FragmentOffset: fr.off}
		if i != last {
			ip.Flags = wire.IPv4MoreFragments
		}
		h.deliver(h.ipFrame(ip, data[fr.off:fr.end], fzStackMAC, fzPeerMAC))
	}
}

// opARP: bit 0 reply, bits 1-2 the sender's IP (the peer, another host, the stack's own, 0),
// bits 3-4 its MAC (the peer's, another, a group address, zero), bit 5 the target is another
// host, bit 6 sent to broadcast; then a byte for the other host.
func (h *fzHarness) opARP(r *fzReader) {
	sub, x := r.u8(), r.u8()
	op := wire.ARPRequest
	if sub&1 != 0 {
		op = wire.ARPReply
	}
	other := netip.AddrFrom4([4]byte{198, 18, 1, x})
	spa := [4]netip.Addr{fzPeerIP, other, fzStackIP, netip.AddrFrom4([4]byte{})}[sub>>1&3]
	sha := [4]wire.MAC{fzPeerMAC, {0x02, 0, 0, 0, 0, x}, {0x01, 0, 0x5e, 0, 0, x}, {}}[sub>>3&3]
	tpa := fzStackIP
	if sub&32 != 0 {
		tpa = netip.AddrFrom4([4]byte{198, 18, 1, x ^ 0x55})
	}
	dst := fzStackMAC
	if sub&64 != 0 {
		dst = wire.BroadcastMAC
	}
	src := sha
	if src.IsMulticast() || src.IsZero() {
		src = fzPeerMAC // the link layer's source must be a unicast address to pass the core
	}
	f := fzARP(op, sha, spa, wire.MAC{}, tpa, dst)
	copy(f[6:12], src[:])
	h.deliver(f)
}

// fzARP builds an ARP frame, padded to the Ethernet minimum.
func fzARP(op uint16, sha wire.MAC, spa netip.Addr, tha wire.MAC, tpa netip.Addr, dst wire.MAC) []byte {
	f := make([]byte, wire.EthernetMinFrame)
	eth := wire.EthernetFields{Destination: dst, Source: sha, EtherType: wire.EtherTypeARP}
	eth.Encode(f)
	a := wire.ARPFields{Operation: op, SenderHardwareAddr: sha, SenderProtocolAddr: spa, TargetHardwareAddr: tha, TargetProtocolAddr: tpa}
	a.Encode(f[wire.EthernetHeaderLen:])
	return f
}

// checkFrame checks one frame the stack sent, and learns from it what the peer would.
func (h *fzHarness) checkFrame(f []byte) {
	h.framesOut++
	h.stepFrames++
	h.stepBytes += len(f)
	if h.stepFrames > fzMaxFramesPerStep || h.stepBytes > fzMaxBytesPerStep {
		h.fail("the stack sent %d frames (%d bytes) in one step, more than the bound of %d frames / %d bytes",
			h.stepFrames, h.stepBytes, fzMaxFramesPerStep, fzMaxBytesPerStep)
	}
	eth, err := wire.ParseEthernet(f)
	if err != nil {
		h.fail("the stack sent a frame that does not parse: %v\n%x", err, f)
	}
	if len(f) > wire.EthernetHeaderLen+fzLinkMTU {
		h.fail("the stack sent a frame of %d bytes on a link of MTU %d", len(f), fzLinkMTU)
	}
	if eth.Source() != fzStackMAC {
		h.fail("the stack sent a frame from %v, not its MAC %v", eth.Source(), fzStackMAC)
	}
	if d := eth.Destination(); d.IsZero() || d.IsMulticast() && !d.IsBroadcast() {
		h.fail("the stack sent a frame to %v", d)
	}
	switch eth.EtherType() {
	case wire.EtherTypeARP:
		h.checkARP(eth)
	case wire.EtherTypeIPv4:
		h.checkIPv4(eth)
	default:
		h.fail("the stack sent a frame of EtherType %v", eth.EtherType())
	}
}

func (h *fzHarness) checkARP(eth wire.Ethernet) {
	h.arpOut++
	a, err := wire.ParseARP(eth.Payload())
	if err != nil {
		h.fail("the stack sent an ARP packet that does not parse: %v\n%x", err, []byte(eth))
	}
	if a.SenderHardwareAddr() != fzStackMAC || a.SenderProtocolAddr() != fzStackIP {
		h.fail("the stack sent ARP as %v at %v", a.SenderProtocolAddr(), a.SenderHardwareAddr())
	}
	if a.Operation() == wire.ARPReply && eth.Destination().IsBroadcast() {
		h.fail("the stack broadcast an ARP reply")
	}
	h.logf("stack sends ARP %d for %v to %v", a.Operation(), a.TargetProtocolAddr(), eth.Destination())
	if a.Operation() != wire.ARPRequest || h.setup.noAutoARP {
		return
	}
	var mac wire.MAC
	switch a.TargetProtocolAddr() {
	case fzPeerIP:
		mac = fzPeerMAC
	case fzRouterIP:
		mac = fzRouterMAC
	default:
		return
	}
	h.arpReplies = append(h.arpReplies, fzARP(wire.ARPReply, mac, a.TargetProtocolAddr(), fzStackMAC, fzStackIP, fzStackMAC))
}

func (h *fzHarness) checkIPv4(eth wire.Ethernet) {
	h.ipOut++
	p, err := wire.ParseIPv4(eth.Payload())
	if err != nil {
		h.fail("the stack sent an IPv4 datagram that does not parse: %v\n%x", err, []byte(eth))
	}
	if !p.ChecksumValid() {
		h.fail("the stack sent an IPv4 header with a wrong checksum:\n%x", []byte(p))
	}
	if len(eth.Payload()) != len(p) {
		h.fail("the stack sent a frame of %d bytes with an IPv4 datagram of %d", len(eth), len(p))
	}
	if p.HeaderLen() != wire.IPv4MinHeaderLen || len(p) > h.cfg.MTU || p.TTL() != h.cfg.TTL || p.Source() != fzStackIP {
		h.fail("the stack sent an IPv4 header of %d bytes, %d bytes in all (MTU %d), TTL %d, from %v",
			p.HeaderLen(), len(p), h.cfg.MTU, p.TTL(), p.Source())
	}
	if d := p.Destination(); !d.Is4() || d.IsUnspecified() || d.IsMulticast() || d.IsLoopback() || d == fzStackIP ||
		h.cfg.Interface.IsBroadcast(d) != eth.Destination().IsBroadcast() {
		h.fail("the stack sent a datagram to %v in a frame to %v", d, eth.Destination())
	}
	if p.DontFragment() && p.IsFragment() {
		h.fail("the stack sent a fragment with DF set")
	}
	if p.FragmentOffset() != 0 {
		return
	}
	switch p.Protocol() {
	case wire.ProtocolTCP:
		h.tcpOut++
		if !p.IsFragment() {
			h.checkTCP(p)
		}
	case wire.ProtocolICMP:
		h.icmpOut++
		m, err := wire.ParseICMPv4(p.Payload())
		if err != nil {
			h.fail("the stack sent an ICMP message that does not parse: %v", err)
		}
		if !p.IsFragment() && !m.ChecksumValid() {
			h.fail("the stack sent an ICMP message with a wrong checksum:\n%x", []byte(m))
		}
		if t := m.Type(); t != wire.ICMPv4EchoReply && t != wire.ICMPv4DestUnreach && t != wire.ICMPv4TimeExceeded {
			h.fail("the stack sent ICMP type %d", t)
		}
		h.logf("stack sends ICMP %d/%d to %v, %d bytes", m.Type(), m.Code(), p.Destination(), len(m))
	default:
		h.fail("the stack sent a datagram of protocol %v", p.Protocol())
	}
}

func (h *fzHarness) checkTCP(p wire.IPv4) {
	s, err := wire.ParseTCP(p.Payload())
	if err != nil {
		h.fail("the stack sent a TCP segment that does not parse: %v\n%x", err, []byte(p))
	}
	if !s.ChecksumValid(p.Source(), p.Destination()) {
		h.fail("the stack sent a TCP segment with a wrong checksum:\n%x", []byte(p))
	}
	flags, data := s.Flags(), s.Payload()
	h.logf("stack sends %v seq %d ack %d win %d len %d from %d to %v:%d", flags, s.SeqNum(), s.AckNum(), s.WindowSize(),
		len(data), s.SourcePort(), p.Destination(), s.DestinationPort())
	switch {
	case s.SourcePort() == 0 || s.DestinationPort() == 0:
		h.fail("the stack sent a segment from port %d to port %d", s.SourcePort(), s.DestinationPort())
	case flags&wire.SYN != 0 && flags&(wire.FIN|wire.RST) != 0:
		h.fail("the stack sent a segment with flags %v", flags)
	case flags&wire.RST != 0 && len(data) > 0:
		h.fail("the stack sent a RST with %d bytes of data", len(data))
	case s.Reserved() != 0:
		h.fail("the stack sent reserved bits %#x", s.Reserved())
	}
	remote := netip.AddrPortFrom(p.Destination(), s.DestinationPort())
	tg := h.target(s.SourcePort(), remote, flags&(wire.SYN|wire.ACK) == wire.SYN|wire.ACK)
	if tg == nil {
		return
	}
	seq := s.SeqNum()
	n := uint32(len(data))
	if flags&wire.SYN != 0 {
		tg.stackISS, tg.hasISS = seq, true
		n++
	}
	if flags&wire.FIN != 0 {
		n++
	}
	if end := seq.Add(n); flags&wire.RST == 0 && (!tg.hasSndMax || end.GreaterThan(tg.stackSndMax)) {
		tg.stackSndMax, tg.hasSndMax = end, true
	}
	if flags&wire.ACK != 0 && flags&wire.RST == 0 {
		tg.lastAck, tg.lastWnd, tg.hasAck = s.AckNum(), s.WindowSize(), true
	}
	opts := s.DecodeOptions()
	if opts.HasTimestamp {
		tg.lastTSval, tg.stackTS = opts.TSVal, true
	}
	if tg.conn == nil || flags&(wire.SYN|wire.RST) != 0 {
		return
	}
	in := tg.conn.Info()
	if in.State == tcp.Closed || in.State == tcp.TimeWait {
		return // a new incarnation of the tuple may be answering, and this one is done
	}
	// The segment lies within what the connection has sent, and its data is what was written.
	if seq.LessThan(in.ISS) || seq.Add(n).GreaterThan(in.SndNxt) {
		h.fail("%v: the stack sent seq %d..%d outside ISS %d .. SND.NXT %d", tg.remote, seq, seq.Add(n), in.ISS, in.SndNxt)
	}
	if len(data) > 0 {
		off := int(seq.Sub(in.ISS.Add(1)))
		if off < 0 || off+len(data) > tg.written {
			h.fail("%v: the stack sent stream bytes %d..%d, only %d were written", tg.remote, off, off+len(data), tg.written)
		}
		for i, b := range data {
			if want := fzPatOut(off + i); b != want {
				h.fail("%v: the stack sent stream byte %d as %#02x, %#02x was written", tg.remote, off+i, b, want)
			}
		}
	}
	if flags&wire.ACK == 0 {
		h.fail("%v: the stack sent a %v segment without ACK in %v", tg.remote, flags, in.State)
	}
	// It acknowledges only what was received, and never takes back window it offered (RFC 9293
	// 3.8.6.2.2), but for the rounding of the scaled window field.
	ack := s.AckNum()
	if ack.GreaterThan(in.RcvNxt) || ack.LessThan(in.IRS.Add(1)) {
		h.fail("%v: the stack acknowledged %d, RCV.NXT is %d and IRS %d", tg.remote, ack, in.RcvNxt, in.IRS)
	}
	edge := ack.Add(uint32(s.WindowSize()) << in.RcvWScale)
	slack := uint32(1)<<in.RcvWScale - 1
	if tg.hasEdge && edge.Add(slack).LessThan(tg.edge) {
		h.fail("%v: the stack's window now ends at %d (ack %d, window %d << %d), it had offered up to %d",
			tg.remote, edge, ack, s.WindowSize(), in.RcvWScale, tg.edge)
	}
	if !tg.hasEdge || edge.GreaterThan(tg.edge) {
		tg.edge, tg.hasEdge = edge, true
	}
}

// checkState checks the connections, tables, timers and counters after a step.
func (h *fzHarness) checkState() {
	for _, tg := range h.tgs {
		if tg.conn != nil {
			h.checkConn(tg)
		}
	}
	tc := h.cfg.TCP
	l := h.core.TCP()
	if n := l.Conns(); n > tc.MaxConnections {
		h.fail("%d connections in the table, MaxConnections is %d", n, tc.MaxConnections)
	}
	for i, ln := range h.lns {
		if n := ln.Pending(); n > tc.Backlog {
			h.fail("listener %d holds %d connections for Accept, Backlog is %d", fzListenPorts[i], n, tc.Backlog)
		}
	}
	if n := h.core.ARP().Len(); n > h.cfg.ARP.CacheSize {
		h.fail("%d ARP entries, CacheSize is %d", n, h.cfg.ARP.CacheSize)
	}
	// Seven timers per connection, one per ARP entry and per datagram in reassembly, and a few
	// for the layers.
	if n, bound := h.core.Timers().Len(), 7*tc.MaxConnections+h.cfg.ARP.CacheSize+h.cfg.Reassembly.MaxDatagrams+8; n > bound {
		h.fail("%d timers armed, more than the bound of %d", n, bound)
	}
	if now := h.core.Now(); now.After(h.now) {
		h.fail("the core's time %v is ahead of the time it was given, %v", now, h.now)
	} else if next, ok := h.core.NextDeadline(); ok && !next.After(now) {
		h.fail("a timer due at +%v has not fired at +%v", next.Sub(clock.Epoch), now.Sub(clock.Epoch))
	}
	st := h.core.Stats()
	if fzStatsWords {
		prev, cur := fzWords(&h.prev), fzWords(&st)
		for i := range cur {
			if cur[i] < prev[i] {
				h.fail("a counter went back: %s", fzMonotonic(reflect.ValueOf(h.prev), reflect.ValueOf(st), "Stats"))
			}
		}
	} else if msg := fzMonotonic(reflect.ValueOf(h.prev), reflect.ValueOf(st), "Stats"); msg != "" {
		h.fail("a counter went back: %s", msg)
	}
	h.prev = st
	switch {
	case st.Link.FramesIn != h.framesIn || st.Link.FramesOut != h.framesOut || st.Link.WriteErrors != 0:
		h.fail("link counters: %d frames in, %d out, %d write errors; the harness delivered %d and saw %d",
			st.Link.FramesIn, st.Link.FramesOut, st.Link.WriteErrors, h.framesIn, h.framesOut)
	case h.arpOut != st.ARP.RequestsOut+st.ARP.RepliesOut:
		h.fail("%d ARP frames sent, the counters say %d requests and %d replies", h.arpOut, st.ARP.RequestsOut, st.ARP.RepliesOut)
	case h.ipOut > st.IPv4.PacketsOut:
		h.fail("%d IPv4 datagrams sent, the counter says %d", h.ipOut, st.IPv4.PacketsOut)
	case h.tcpOut > st.TCP.SegmentsOut:
		h.fail("%d TCP segments sent, the counter says %d", h.tcpOut, st.TCP.SegmentsOut)
	case h.icmpOut > st.ICMP.EchoRepliesOut+st.ICMP.ErrorsOut:
		h.fail("%d ICMP messages sent, the counters say %d echo replies and %d errors", h.icmpOut, st.ICMP.EchoRepliesOut, st.ICMP.ErrorsOut)
	}
}

// checkConn checks one connection's control block against its bounds and against what the
// application wrote and read.
func (h *fzHarness) checkConn(tg *fzTarget) {
	c := tg.conn
	in := c.Info()
	tc := h.cfg.TCP
	st := c.State()
	bs := c.Buffers()
	tg.maxSnd, tg.maxRcv = max(tg.maxSnd, bs.Send), max(tg.maxRcv, bs.Receive)
	switch {
	case in.State != st:
		h.fail("%v: Info says %v, State %v", tg.remote, in.State, st)
	case st > tcp.TimeWait:
		h.fail("%v: state %v", tg.remote, st)
	case tg.sawClosed && st != tcp.Closed:
		h.fail("%v: back to %v after CLOSED", tg.remote, st)
	case c.Err() != nil && st != tcp.Closed:
		h.fail("%v: error %v in %v", tg.remote, c.Err(), st)
	case in.SndNxt.LessThan(in.SndUna):
		h.fail("%v: SND.NXT %d < SND.UNA %d", tg.remote, in.SndNxt, in.SndUna)
	case in.SendQueued < 0 || in.SendQueued > tg.maxSnd:
		h.fail("%v: %d bytes queued to send, the send buffer was never above %d", tg.remote, in.SendQueued, tg.maxSnd)
	case in.RecvQueued < 0 || in.OOO < 0 || in.RecvQueued+in.OOO > tg.maxRcv:
		h.fail("%v: %d bytes received unread and %d out of order, the receive buffer was never above %d",
			tg.remote, in.RecvQueued, in.OOO, tg.maxRcv)
	case st != tcp.Closed && in.RecvQueued+int(in.RcvWnd) > tg.maxRcv:
		h.fail("%v: %d bytes unread and a window of %d offered, the receive buffer was never above %d",
			tg.remote, in.RecvQueued, in.RcvWnd, tg.maxRcv)
	case st != tcp.Closed && (in.PMTU < link.MinMTU || in.PMTU > h.cfg.MTU):
		h.fail("%v: path MTU %d, the interface's is %d", tg.remote, in.PMTU, h.cfg.MTU)
	case st != tcp.Closed && (in.RTO < tc.RTOMin || in.RTO > tc.RTOMax):
		h.fail("%v: RTO %v outside RTOMin %v .. RTOMax %v", tg.remote, in.RTO, tc.RTOMin, tc.RTOMax)
	}
	if st == tcp.Closed {
		tg.sawClosed = true
		return
	}
	if st < tcp.Established {
		return
	}
	// Synchronized: the SYNs are behind both sequence spaces.
	flight := int(in.SndNxt.Sub(in.SndUna))
	acked := int(in.SndUna.Sub(in.ISS.Add(1))) // data acknowledged, and our FIN
	sent := int(in.SndNxt.Sub(in.ISS.Add(1)))
	switch {
	case acked < 0:
		h.fail("%v: SND.UNA %d is not past ISS %d in %v", tg.remote, in.SndUna, in.ISS, st)
	case sent > tg.written+1:
		h.fail("%v: %d sequence numbers sent, %d bytes were written", tg.remote, sent, tg.written)
	case in.SendQueued != max(tg.written-acked, 0):
		h.fail("%v: %d bytes queued to send, %d written and %d acknowledged", tg.remote, in.SendQueued, tg.written, acked)
	case flight > in.SendQueued+1:
		h.fail("%v: %d in flight, only %d bytes queued", tg.remote, flight, in.SendQueued)
	case in.Sacked < 0 || in.Lost < 0 || in.Sacked+in.Lost > flight || in.InFlight < 0 || in.InFlight > 2*flight:
		h.fail("%v: scoreboard of %d SACKed, %d lost, pipe %d for %d in flight", tg.remote, in.Sacked, in.Lost, in.InFlight, flight)
	case in.Cwnd <= 0 || in.Ssthresh <= 0 || in.SndMSS <= 0:
		h.fail("%v: cwnd %d, ssthresh %d, SMSS %d", tg.remote, in.Cwnd, in.Ssthresh, in.SndMSS)
	}
	// Everything received in order was read or is waiting to be (the peer's FIN takes one).
	delivered := int(in.RcvNxt.Sub(in.IRS.Add(1)))
	switch st {
	case tcp.CloseWait, tcp.Closing, tcp.LastAck, tcp.TimeWait:
		delivered--
	}
	if delivered != tg.read+in.RecvQueued {
		h.fail("%v: RCV.NXT says %d bytes arrived in order, %d were read and %d wait", tg.remote, delivered, tg.read, in.RecvQueued)
	}
}

// fzStatsWords says that core.Stats is made of uint64 counters only, so that two of them
// compare as arrays of words (fzWords); otherwise fzMonotonic walks them with reflect.
var fzStatsWords = func() bool {
	var all func(t reflect.Type) bool
	all = func(t reflect.Type) bool {
		if t.Kind() == reflect.Uint64 {
			return true
		}
		if t.Kind() != reflect.Struct {
			return false
		}
		for i := range t.NumField() {
			if !all(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return all(reflect.TypeFor[core.Stats]())
}()

// fzWords views the counters as words (only when fzStatsWords).
func fzWords(s *core.Stats) []uint64 {
	return unsafe.Slice((*uint64)(unsafe.Pointer(s)), unsafe.Sizeof(*s)/8)
}

// fzMonotonic reports the first counter of cur that is below prev's.
func fzMonotonic(prev, cur reflect.Value, path string) string {
	switch cur.Kind() {
	case reflect.Struct:
		for i := range cur.NumField() {
			if msg := fzMonotonic(prev.Field(i), cur.Field(i), path+"."+cur.Type().Field(i).Name); msg != "" {
				return msg
			}
		}
	case reflect.Uint64, reflect.Uint32, reflect.Uint, reflect.Int, reflect.Int64:
		if fzLess(cur, prev) {
			return fmt.Sprintf("%s from %v to %v", path, prev, cur)
		}
	}
	return ""
}

func fzLess(a, b reflect.Value) bool {
	if a.CanUint() {
		return a.Uint() < b.Uint()
	}
	return a.Int() < b.Int()
}

// ---- The seed corpus ----

// fzEnc writes inputs in the format fzRun reads.
type fzEnc struct{ b []byte }

func (e *fzEnc) u8(v byte)    { e.b = append(e.b, v) }
func (e *fzEnc) u16(v uint16) { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *fzEnc) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }

// fzHeader are the setup header's values, as fzDecodeSetup reads them.
type fzHeader struct {
	noTS, noSACK, noWS, ecn, noMSS, noAutoARP, noACK bool
	wscale                                           uint8
	mss, window                                      uint16
	stack6, stack7                                   byte
	isn                                              uint32
	port                                             uint16
}

func fzNewEnc(hd fzHeader) *fzEnc {
	e := &fzEnc{}
	var b0 byte
	for i, on := range []bool{hd.noTS, hd.noSACK, hd.noWS, hd.ecn, hd.noMSS, hd.noAutoARP, hd.noACK} {
		if on {
			b0 |= 1 << i
		}
	}
	e.u8(b0)
	e.u8(hd.wscale ^ 7)
	e.u16(hd.mss ^ 1460)
	e.u16(hd.window ^ 0xffff)
	e.u8(hd.stack6)
	e.u8(hd.stack7)
	e.u32(hd.isn)
	e.u16(hd.port)
	return e
}

// fzDefaultHeader is Linux's SYN: MSS 1460, SACK-permitted, timestamps, window scale 7.
var fzDefaultHeader = fzHeader{wscale: 7, mss: 1460, window: 64240, isn: 1000000, port: fzDefaultPeerPort}

// fzTmpl is a template segment to encode.
type fzTmpl struct {
	target   byte
	flags    wire.TCPFlags
	seqMode  byte // 0 RCV.NXT+int16, 1 IRS+1+uint32, 2 RCV.NXT+RCV.WND+int16, 3 absolute
	ackMode  byte // 0 SND.NXT+int16, 1 SND.UNA+int16, 2 ISS+1+uint32, 3 absolute
	seq, ack uint32
	window   uint16
	plen     uint16
	ts       bool
	tsDV     int8
	tsDE     int8
	sacks    [][2]uint16 // left offset from SND.UNA (int16), length
	raw      []byte
	rawOn    bool
	ce       bool
}

func (e *fzEnc) body(s fzTmpl) {
	e.u8(byte(s.flags ^ wire.ACK))
	mode := s.seqMode&3 | (s.ackMode&3)<<2
	if s.ts {
		mode |= 0x10
	}
	if len(s.sacks) > 0 {
		mode |= 0x20
	}
	if s.rawOn {
		mode |= 0x40
	}
	if s.ce {
		mode |= 0x80
	}
	e.u8(mode)
	if s.seqMode == 1 || s.seqMode == 3 {
		e.u32(s.seq)
	} else {
		e.u16(uint16(s.seq))
	}
	if s.ackMode >= 2 {
		e.u32(s.ack)
	} else {
		e.u16(uint16(s.ack))
	}
	e.u16(s.window ^ 0xffff)
	e.u16(s.plen)
	if s.ts {
		e.u8(byte(s.tsDV))
		e.u8(byte(s.tsDE))
	}
	if n := min(len(s.sacks), 4); n > 0 {
		e.u8(byte(n - 1))
		for _, b := range s.sacks[:n] {
			e.u16(b[0])
			e.u16(b[1])
		}
	}
	if s.rawOn {
		e.u8(byte(len(s.raw)))
		e.b = append(e.b, s.raw...)
	}
}

func (e *fzEnc) seg(s fzTmpl) { e.u8(s.target << 4); e.body(s) }

// ack is a pure ACK at RCV.NXT acknowledging SND.NXT+off, with timestamps.
func (e *fzEnc) ack(off int16, window uint16) {
	e.seg(fzTmpl{flags: wire.ACK, ack: uint32(uint16(off)), window: window, ts: true})
}

func (e *fzEnc) data(n uint16, flags wire.TCPFlags) {
	e.seg(fzTmpl{flags: flags, window: 64240, plen: n, ts: true})
}

func (e *fzEnc) raw(fix byte, f []byte) {
	e.u8(5)
	e.u8(fix)
	e.u16(uint16(len(f)))
	e.b = append(e.b, f...)
}

// advance encodes d as steps of fzDuration, at most 63 units each.
func (e *fzEnc) advance(d time.Duration) {
	for d >= time.Millisecond {
		var v byte
		switch {
		case d < 64*time.Millisecond:
			v = byte(d / time.Millisecond)
		case d < 640*time.Millisecond:
			v = 1<<6 | byte(d/(10*time.Millisecond))
		case d < 64*time.Second:
			v = 2<<6 | byte(d/time.Second)
		default:
			v = 3<<6 | byte(min(d/time.Minute, 63))
		}
		e.u8(6)
		e.u8(v)
		d -= fzDuration(v)
	}
}

func (e *fzEnc) deadlines(n int)             { e.u8(byte(n-1)<<4 | 7) }
func (e *fzEnc) write(target byte, n uint16) { e.u8(target<<4 | 8); e.u16(n) }
func (e *fzEnc) read(target byte, n uint16)  { e.u8(target<<4 | 9); e.u16(n) }
func (e *fzEnc) app(sub, x byte, extra ...byte) {
	e.u8(sub<<4 | 10)
	e.u8(x)
	e.b = append(e.b, extra...)
}
func (e *fzEnc) echo(bcast byte, n uint16) { e.u8(bcast<<4 | 13); e.u16(n) }
func (e *fzEnc) arp(sub, x byte)           { e.u8(15); e.u8(sub); e.u8(x) }
func (e *fzEnc) icmp(target, kind byte, mtu, off uint16) {
	e.u8(target<<4 | 12)
	e.u8(kind)
	e.u16(mtu)
	e.u16(off)
	e.u16(0) // the quoted datagram was 1500 bytes
	e.u8(1)  // from the router
}

func (e *fzEnc) newTuple(dst byte, port uint16, flags wire.TCPFlags, seq, ack uint32, ob, plen byte) {
	e.u8(dst<<4 | 11)
	e.u16(port)
	e.u8(byte(flags ^ wire.SYN))
	e.u32(seq)
	e.u32(ack)
	e.u16(0) // window 65535
	e.u8(ob)
	e.u8(plen)
}

func (e *fzEnc) fragments(target, ctl byte, sizes []byte, s fzTmpl) {
	e.u8(target<<4 | 14)
	e.u8(ctl)
	e.b = append(e.b, sizes...)
	e.body(s)
}

// fzScenarios are hand-written inputs that walk the main paths, for the fuzzer to start from.
func fzScenarios() [][]byte {
	var out [][]byte
	add := func(e *fzEnc) { out = append(out, e.b) }
	hd := fzDefaultHeader

	// Data both ways, delayed ACK, the peer's FIN, close.
	e := fzNewEnc(hd)
	e.write(0, 3000)
	e.ack(1448, 64240)
	e.data(500, wire.ACK|wire.PSH)
	e.read(0, 0)
	e.advance(250 * time.Millisecond)
	e.ack(0, 64240)
	e.seg(fzTmpl{flags: wire.ACK | wire.FIN, window: 64240, ts: true})
	e.read(0, 0)
	e.app(0, 0)
	e.ack(0, 64240)
	e.advance(61 * time.Second)
	add(e)

	// Retransmission timeouts until the connection gives up (fast timers).
	h2 := hd
	h2.stack7 = 128
	e = fzNewEnc(h2)
	e.write(0, 8000)
	for range 12 {
		e.deadlines(2)
	}
	add(e)

	// Out-of-order data, a hole filled, a duplicate, reading it all; small receive buffer.
	h3 := hd
	h3.stack6 = 1 << 2 // 1 KiB receive buffer
	e = fzNewEnc(h3)
	e.seg(fzTmpl{flags: wire.ACK, seq: 300, window: 64240, plen: 200, ts: true})
	e.seg(fzTmpl{flags: wire.ACK | wire.FIN, seq: 700, window: 64240, plen: 100, ts: true})
	e.data(300, wire.ACK)
	e.data(100, wire.ACK)
	e.seg(fzTmpl{flags: wire.ACK, seq: uint32(uint16(0xffff - 99)), window: 64240, plen: 300, ts: true})
	e.read(0, 700)
	e.seg(fzTmpl{flags: wire.ACK, seqMode: 2, seq: uint32(uint16(0xffff - 9)), window: 64240, plen: 50, ts: true})
	e.read(0, 0)
	add(e)

	// The peer's window closes: persist probes, then it opens.
	e = fzNewEnc(hd)
	e.ack(0, 0)
	e.write(0, 5000)
	e.deadlines(4)
	e.ack(0, 0)
	e.deadlines(2)
	e.ack(0, 64240)
	e.advance(5 * time.Second)
	add(e)

	// SACK recovery: a burst, duplicate ACKs SACKing what is past the first segment, then the
	// retransmission acknowledged; and D-SACK.
	h5 := hd
	h5.stack6 = 2 // 4 KiB send buffer
	e = fzNewEnc(h5)
	e.app(3, 0) // no Nagle
	e.write(0, 4096)
	for i := range 3 {
		e.seg(fzTmpl{flags: wire.ACK, ackMode: 1, window: 64240, ts: true, sacks: [][2]uint16{{1448, uint16(1448 * (i + 1))}}})
	}
	e.advance(30 * time.Millisecond)
	e.seg(fzTmpl{flags: wire.ACK, ackMode: 1, ack: 2896, window: 64240, ts: true, sacks: [][2]uint16{{0xffff - 99, 100}}})
	e.ack(0, 64240)
	e.advance(3 * time.Second)
	add(e)

	// NewReno without SACK or timestamps: three duplicate ACKs.
	h6 := hd
	h6.noTS, h6.noSACK = true, true
	e = fzNewEnc(h6)
	e.write(0, 12000)
	for range 4 {
		e.seg(fzTmpl{flags: wire.ACK, ackMode: 1, window: 64240})
	}
	e.seg(fzTmpl{flags: wire.ACK, ackMode: 1, ack: 2920, window: 64240})
	e.seg(fzTmpl{flags: wire.ACK, window: 64240})
	add(e)

	// Path MTU: fragmentation needed for a segment in flight; a bogus one; an unreachable.
	e = fzNewEnc(hd)
	e.write(0, 6000)
	e.icmp(0, 0, 1200, 0)
	e.icmp(0, 0, 300, 0)
	e.icmp(0, 1, 0, 0xfff0)
	e.ack(0, 64240)
	add(e)

	// An active open to the peer, its SYN-ACK with data, a refused one and an unreachable one.
	e = fzNewEnc(hd)
	e.app(11, 0, 0x1f, 0x90) // dial 198.18.1.1:8080
	e.seg(fzTmpl{target: 1, flags: wire.SYN | wire.ACK, seqMode: 3, seq: 5000, window: 64240, plen: 10,
		rawOn: true, raw: []byte{2, 4, 5, 0xb4, 4, 2, 1, 3, 3, 7}})
	e.read(1, 0)
	e.write(1, 100)
	e.app(11, 0, 0x00, 0x50) // dial :80
	e.seg(fzTmpl{target: 2, flags: wire.RST | wire.ACK, seqMode: 3, window: 0})
	e.app(12, 0, 0x00, 0x51) // dial 198.18.1.3:81: ARP fails
	e.advance(4 * time.Second)
	add(e)

	// A SYN flood on the listeners, a stray ACK, a SYN to a closed port; accept what completes.
	h9 := hd
	h9.stack7 = 64 | 1<<4 // backlog and half-open limits 2, two connections at most
	e = fzNewEnc(h9)
	for i := range 5 {
		e.newTuple(byte(i%4), uint16(41000+i), wire.SYN, uint32(i)*7777, 0, 0, 0)
	}
	e.newTuple(0, 41000, wire.ACK, 1, 1, 0, 0)
	e.seg(fzTmpl{target: 1, flags: wire.ACK, ts: true, window: 1000})
	e.app(10, 0)
	e.app(10, 1)
	e.advance(30 * time.Second)
	add(e)

	// A segment in fragments (out of order and duplicated), an incomplete one that times out.
	e = fzNewEnc(hd)
	e.fragments(0, 3|1<<4, []byte{10, 20}, fzTmpl{flags: wire.ACK | wire.PSH, window: 64240, plen: 1000, ts: true})
	e.fragments(0, 4, []byte{5}, fzTmpl{flags: wire.ACK, seq: 1000, window: 64240, plen: 600, ts: true})
	e.read(0, 0)
	e.advance(61 * time.Second)
	add(e)

	// Keepalive probes unanswered; ICMP echo, and to broadcast; ARP conflicts and other hosts.
	e = fzNewEnc(hd)
	e.app(5, 0, 9) // keepalive every 10 s
	e.echo(0, 56)
	e.echo(1, 56)
	e.arp(0, 7)
	e.arp(1|2<<1, 9)
	e.arp(1<<1|1<<3, 20)
	e.advance(3 * time.Minute)
	add(e)

	// TIME-WAIT: our FIN first, acknowledged, the peer's FIN, then a new SYN on the same tuple.
	e = fzNewEnc(hd)
	e.app(1, 0)
	e.ack(0, 64240)
	e.seg(fzTmpl{flags: wire.ACK | wire.FIN, window: 64240, ts: true})
	e.advance(5 * time.Second)
	e.newTuple(0, fzDefaultPeerPort, wire.SYN, 1000000+100000, 0, 0, 0)
	e.seg(fzTmpl{flags: wire.ACK, ts: true, window: 64240})
	e.app(10, 0)
	e.advance(61 * time.Second)
	add(e)

	// RST, in window and exact; SYN in ESTABLISHED; PAWS.
	e = fzNewEnc(hd)
	e.seg(fzTmpl{flags: wire.SYN, ts: true, window: 64240})
	e.seg(fzTmpl{flags: wire.ACK, ts: true, tsDV: -128, window: 64240, plen: 10})
	e.seg(fzTmpl{flags: wire.RST, seq: 5, window: 64240})
	e.seg(fzTmpl{flags: wire.RST, window: 64240})
	add(e)

	// SetBuffers below what is queued, the window opens; Close with unread data.
	e = fzNewEnc(hd)
	e.ack(0, 0)
	e.write(0, 20000)
	e.app(7, 0, 0x04, 0x00, 0x04, 0x00)
	e.ack(0, 64240)
	e.data(100, wire.ACK)
	e.app(0, 0)
	add(e)

	// A full half-open queue (limit 2): SYN cookies, their ACKs, and accepting it all.
	hc := hd
	hc.stack7 = 64
	e = fzNewEnc(hc)
	for i := range 4 {
		e.newTuple(0, uint16(41000+i), wire.SYN, uint32(i+1)*100000, 0, 0, 0)
	}
	for i := range 2 {
		e.seg(fzTmpl{target: byte(1 + i), flags: wire.ACK, ts: true, window: 64240})
	}
	e.app(10, 0)
	e.app(10, 0)
	for i := range 2 {
		e.seg(fzTmpl{target: byte(3 + i), flags: wire.ACK, ts: true, window: 64240, plen: 10})
	}
	e.app(10, 0)
	e.app(10, 0)
	e.read(3, 0)
	add(e)

	// Close, our FIN acknowledged, the peer never closes: the FIN-WAIT-2 timeout.
	e = fzNewEnc(hd)
	e.app(0, 0)
	e.ack(0, 64240)
	e.advance(61 * time.Second)
	add(e)

	// A longer transfer with reordering and holes, SACK with RACK (and without, below):
	// cumulative ACKs grow cwnd, then SACKs above a hole, time for RACK's reordering window.
	for _, stack6 := range []byte{0, 64} {
		hs := hd
		hs.stack6 = stack6
		e = fzNewEnc(hs)
		e.app(3, 0)
		e.write(0, 30000)
		for _, n := range []uint16{1448, 2896, 5792} {
			e.seg(fzTmpl{flags: wire.ACK, ackMode: 1, ack: uint32(n), window: 64240, ts: true})
		}
		e.advance(20 * time.Millisecond)
		for i := range 4 {
			e.seg(fzTmpl{flags: wire.ACK, ackMode: 1, window: 64240, ts: true,
				sacks: [][2]uint16{{2896, uint16(1448 * (i + 1))}, {uint16(2896 * 3), 1448}}})
			e.advance(5 * time.Millisecond)
		}
		e.advance(300 * time.Millisecond)
		e.seg(fzTmpl{flags: wire.ACK, ackMode: 1, ack: 1448, window: 64240, ts: true, sacks: [][2]uint16{{1448, 8000}}})
		e.deadlines(3)
		e.ack(0, 64240)
		add(e)
	}

	// ECN on: an active open whose SYN-ACK agrees, CE-marked data, ECE echoed back.
	he := hd
	he.stack6 = 128
	e = fzNewEnc(he)
	e.app(11, 0, 0x1f, 0x90)
	e.seg(fzTmpl{target: 1, flags: wire.SYN | wire.ACK | wire.ECE, seqMode: 3, seq: 7000, window: 64240,
		rawOn: true, raw: []byte{2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7}})
	e.seg(fzTmpl{target: 1, flags: wire.ACK, window: 64240, plen: 100, ts: true, ce: true})
	e.write(1, 4000)
	e.seg(fzTmpl{target: 1, flags: wire.ACK | wire.ECE, window: 64240, ts: true})
	e.write(1, 100)
	e.seg(fzTmpl{target: 1, flags: wire.ACK, window: 64240, ts: true})
	add(e)
	return out
}

// fzPacket is a captured frame.
type fzPacket struct {
	at   time.Time
	data []byte
}

// fzReadCapture reads a pcap or pcapng file of Ethernet frames, as far as it is readable (some
// captures in pcaps/public are damaged on purpose).
func fzReadCapture(path string) []fzPacket {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var pkts []fzPacket
	add := func(data []byte, at time.Time) bool {
		pkts = append(pkts, fzPacket{at, append([]byte(nil), data...)})
		return len(pkts) < 1500
	}
	var src gopacket.PacketDataSource
	if r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions); err == nil {
		if r.LinkType() != layers.LinkTypeEthernet {
			return nil
		}
		src = r
	} else if r, err := pcapgo.NewReader(bytes.NewReader(raw)); err == nil && r.LinkType() == layers.LinkTypeEthernet {
		src = r
	} else {
		return nil
	}
	for {
		data, ci, err := src.ReadPacketData()
		if err != nil || !add(data, ci.Timestamp) {
			break
		}
	}
	return pkts
}

// fzSeeds returns the scenarios, then frames of the captures in pcaps/ and their recorded TCP
// conversations, at most 200 inputs in all.
func fzSeeds(tb testing.TB) [][]byte {
	const maxSeeds, perFile = 200, 6
	seeds := fzScenarios()
	files, _ := filepath.Glob(filepath.Join("..", "..", "pcaps", "*.pcap*"))
	public, _ := filepath.Glob(filepath.Join("..", "..", "pcaps", "public", "*.pcap*"))
	var frames [][]byte
	for _, path := range append(files, public...) {
		pkts := fzReadCapture(path)
		if len(pkts) == 0 {
			continue
		}
		recorded := !strings.Contains(path, "public")
		if recorded {
			if s, ok := fzConversation(pkts); ok {
				seeds = append(seeds, s)
			}
		}
		// The first frame of each kind: EtherType, protocol, TCP flags, data or not. Frames of
		// the recorded captures are the client's, which reach the stack as they are; public
		// ones are retargeted at it.
		seen := map[string]bool{}
		n := 0
		for _, p := range pkts {
			if n >= perFile {
				break
			}
			if recorded && (len(p.data) < 12 || !bytes.Equal(p.data[6:12], fzPeerMAC[:])) {
				continue
			}
			k := fzFrameKind(p.data)
			if seen[k] {
				continue
			}
			seen[k] = true
			fix := byte(0)
			if !recorded {
				fix = 0x3f
			}
			e := fzNewEnc(fzDefaultHeader)
			e.raw(fix, p.data[:min(len(p.data), fzMaxRaw)])
			frames = append(frames, e.b)
			n++
		}
	}
	seeds = append(seeds, frames...)
	if len(seeds) > maxSeeds {
		seeds = seeds[:maxSeeds]
	}
	if dir := os.Getenv("FUZZCORE_DUMP_SEEDS"); dir != "" { // for reading them, or running one alone
		for i, s := range seeds {
			file := filepath.Join(dir, fmt.Sprintf("seed-%03d", i))
			if err := os.WriteFile(file, fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", s), 0o644); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if testing.Verbose() {
		tb.Logf("FuzzCore: %d seeds (%d from single captured frames)", len(seeds), len(frames))
	}
	return seeds
}

func fzFrameKind(f []byte) string {
	eth, err := wire.ParseEthernet(f)
	if err != nil {
		return "bad"
	}
	k := eth.EtherType().String()
	if eth.EtherType() != wire.EtherTypeIPv4 {
		return k
	}
	p, err := wire.ParseIPv4(eth.Payload())
	if err != nil {
		return k + "/bad"
	}
	k += "/" + p.Protocol().String()
	if p.Protocol() == wire.ProtocolTCP && !p.IsFragment() {
		if s, err := wire.ParseTCP(p.Payload()); err == nil {
			k += fmt.Sprintf("/%v/%v", s.Flags(), len(s.Payload()) > 0)
		}
	}
	return k
}

// fzConversation turns the TCP connection of a recorded capture into an input: the header
// repeats the client's SYN (ISN, port, options), so the scripted handshake opens the
// connection the capture opened; each later client segment becomes a template segment with its
// sequence and acknowledgment numbers relative to IRS and ISS (so it lands where it landed on
// Linux), the server's new data and FIN become the application's writes and CloseWrite, the
// server's window updates and answers its reads, and the gaps between frames advances of time.
func fzConversation(pkts []fzPacket) ([]byte, bool) {
	type tcpFrame struct {
		i        int
		fromPeer bool
		s        wire.TCP
	}
	var segs []tcpFrame
	for i, p := range pkts {
		eth, err := wire.ParseEthernet(p.data)
		if err != nil || eth.EtherType() != wire.EtherTypeIPv4 {
			continue
		}
		ip, err := wire.ParseIPv4(eth.Payload())
		if err != nil || ip.Protocol() != wire.ProtocolTCP || ip.IsFragment() {
			continue
		}
		s, err := wire.ParseTCP(ip.Payload())
		if err != nil {
			continue
		}
		segs = append(segs, tcpFrame{i, ip.Source() == fzPeerIP && ip.Destination() == fzStackIP, s})
	}
	syn, synack := -1, -1
	for j, f := range segs {
		fl := f.s.Flags()
		if syn < 0 && f.fromPeer && fl&(wire.SYN|wire.ACK) == wire.SYN {
			syn = j
		} else if syn >= 0 && !f.fromPeer && fl&(wire.SYN|wire.ACK) == wire.SYN|wire.ACK && f.s.DestinationPort() == segs[syn].s.SourcePort() {
			synack = j
			break
		}
	}
	if synack < 0 {
		return nil, false
	}
	s := segs[syn].s
	o := s.DecodeOptions()
	hd := fzHeader{noTS: !o.HasTimestamp, noSACK: !o.SACKPermitted, noWS: !o.HasWindowScale, noMSS: o.MSS == 0,
		ecn: s.Flags()&(wire.ECE|wire.CWR) == wire.ECE|wire.CWR, wscale: o.WindowScale, mss: o.MSS, window: s.WindowSize(),
		isn: uint32(s.SeqNum()), port: s.SourcePort()}
	e := fzNewEnc(hd)
	cliISN, srvISN := s.SeqNum(), segs[synack].s.SeqNum()
	srvMax := srvISN.Add(1)
	lastWnd := segs[synack].s.WindowSize()
	prev := pkts[segs[synack].i].at
	handshakeACK, finWritten := false, false
	steps := 0
	for _, f := range segs[synack+1:] {
		if steps >= 80 {
			break
		}
		if f.s.SourcePort() != hd.port && f.s.DestinationPort() != hd.port {
			continue
		}
		if at := pkts[f.i].at; at.Sub(prev) >= time.Millisecond {
			e.advance(min(at.Sub(prev), 10*time.Second))
			prev = at
		}
		fl, data := f.s.Flags(), f.s.Payload()
		if f.fromPeer {
			if !handshakeACK && fl == wire.ACK && len(data) == 0 && f.s.SeqNum() == cliISN.Add(1) && f.s.AckNum() == srvISN.Add(1) {
				handshakeACK = true // the scripted handshake sent it
				continue
			}
			fo := f.s.DecodeOptions()
			t := fzTmpl{flags: fl, seqMode: 1, seq: uint32(f.s.SeqNum().Sub(cliISN.Add(1))), ackMode: 2,
				ack: uint32(f.s.AckNum().Sub(srvISN.Add(1))), window: f.s.WindowSize(), plen: uint16(len(data)), ts: fo.HasTimestamp}
			for _, b := range fo.SACKBlocks[:fo.NumSACKBlocks] {
				t.sacks = append(t.sacks, [2]uint16{uint16(b.Left.Sub(f.s.AckNum())), uint16(b.Right.Sub(b.Left))})
			}
			e.seg(t)
			steps++
			continue
		}
		if end := f.s.SeqNum().Add(uint32(len(data))); len(data) > 0 && end.GreaterThan(srvMax) {
			e.write(0, uint16(min(end.Sub(srvMax), fzMaxWrite)))
			srvMax = end
			steps++
		}
		if fl&wire.FIN != 0 && !finWritten {
			e.app(1, 0)
			finWritten = true
			steps++
		}
		if len(data) > 0 || f.s.WindowSize() > lastWnd {
			e.read(0, 0)
			steps++
		}
		lastWnd = f.s.WindowSize()
	}
	return e.b, true
}
