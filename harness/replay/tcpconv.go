package replay

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/linuxabi"
	"github.com/mtcp-go/mtcp/stack/clock"
)

// conv is one TCP conversation of the host with a peer: the application behind the stack's
// socket, the rebasing of the peer's segments, and the comparison of the stack's segments
// with the recorded host's.
type conv struct {
	e         *engine
	index     int  // in engine.order
	isLive    bool // in engine.live
	name      string
	peer      netip.AddrPort
	hostPort  uint16     // the recorded host's port
	stackPort uint16     // the stack's port: the same as a server; its own ephemeral one as a client
	client    bool       // the stack dials
	stray     bool       // the stack sent this without a conversation in the capture
	joining   *joinState // a conversation that began before the capture, until the replay joins it (join.go)
	joinedAt  int        // the capture frame where the replay joined it, if it did
	joinNote  string     // what the report says of the join
	ends      uint8      // hostFin, peerFin, reset: how the capture shows the conversation ending

	peerISN, hostISN, stackISN    uint32
	peerISNOK, hostISNOK, stackOK bool

	// The application: it writes the bytes the recorded host sent, each once it has read what
	// the recorded host had acknowledged when it sent them, and closes as the host did. Its
	// socket is fd, on the stack's Sockets, once hasFD (it stays set once the application is
	// done; the descriptor is not used again).
	fd       int
	hasFD    bool
	readErr  bool   // a read failed: the connection's error was reported, nothing more to read
	idleAt   uint64 // engine.changed when a read last found nothing: until the stack changes, none would find more
	writes   []appWrite
	hostNext uint32 // offset of the next new byte of the recorded host's stream
	closeAt  *appWrite
	abortAt  *appWrite
	read     uint32 // bytes read from the stack, +1 once EOF was read
	eof      bool
	closed   bool // the application shut down writing
	done     bool

	// The comparison.
	exps          []*tcpExp // the recorded host's segments waiting for the stack's
	stackCtl      []*ctlSeg // the stack's SYN, FIN and RST waiting for the recorded host's
	sentEnd       uint32    // the stack's stream: bytes sent (offset past the highest)
	maxAck        uint32    // the highest (relative) ack the stack sent
	hasAck        bool
	written       writtenLog // bytes the application wrote, from offset writtenBase, for checking payloads
	slab          []byte     // where the application's writes are copied to (keep)
	slabs         [][]byte   // the full-sized slabs among them, for use again (freeSlabs)
	writtenBase   uint32
	deferred      []deferredAck
	ctlSeen       map[uint64]bool // the host's control segments so far (flags<<32 | seq)
	ctlRepeats    map[uint64]int  // how many times the host sent one again
	stackCtlSeen  map[uint64]bool // the stack's control segments so far
	peerGiven     uint32          // the peer's sequence space injected so far, relative to its ISN
	peerContig    uint32          // the peer's sequence space injected without a hole, relative to its ISN
	peerAhead     [][2]uint32     // peer ranges injected past a hole, [start, end) relative, in order (at most maxAhead)
	fill          gapFill         // the last gap of the peer's stream filled
	gaps          int             // capture gaps in either stream (artefacts.go)
	peerTmpl      []byte          // the headers of the peer's last pure ACK or data segment, rebased
	peerAcked     uint32          // the highest ack of the stack's stream injected, relative to the stack's ISN
	peerAckedOK   bool
	lastReleased  uint32
	stackFin      bool // the stack's FIN is out
	hostSegs      int
	stackSegs     int
	hostBytes     int64
	stackBytes    int64
	hostRetrans   int
	stackRetrans  int
	firstRetrans  *outFrame
	differences   int
	recordedFirst int         // the first capture frame of the conversation
	cmp           convCompare // the report's numbering, window scales, the output's notes (describe.go)
	// Timestamps (RFC 7323): the first TSval the recorded host sent and the first the stack
	// sent, so that the TSecr of a peer's segment, an echo of the host's clock, can be given
	// to the stack as the echo of its own.
	hostTS, stackTS     uint32
	hostTSOK, stackTSOK bool
	// The newest TSval of the peer's segments injected so far: a held ACK given back later
	// carries no older one, or the stack would drop it as an old duplicate (RFC 7323 5.3).
	peerTS   uint32
	peerTSOK bool
	// The peer's newest window and options (see peerState): a held ACK given back carries
	// them, not the ones it was recorded with.
	newest peerState
	// The round-trip time the capture shows, from the host's SYN or SYN-ACK to the peer's
	// answer: how long after the stack's data a held ACK of it is given back, so that the
	// stack's RTT estimate is the network's, not zero.
	hostSynAt time.Time
	recRTT    time.Duration
}

type appWrite struct {
	after uint32 // what the application must have read first
	at    time.Time
	data  []byte
	frame int
}

// tcpExp is a segment of the recorded host waiting for its counterpart.
type tcpExp struct {
	frame    int
	at       time.Time
	kind     int    // expCtl, expData, expAck
	flags    uint8  // control bits but PSH
	seq, end uint32 // relative to the host's ISN (data: byte offsets [seq, end))
	ack      uint32 // relative to the peer's ISN
	hasAck   bool
	ackShown uint32 // the ack as the report shows it (render)
	// The segment as captured, for the report's notation (render): sequence and
	// acknowledgement numbers as sent, payload length, every control bit, the ACK bit.
	raw struct {
		seq, ack uint32
		n        int
		flags    uint8
		ackFlag  bool
	}
	win  uint16
	opts string
	desc string
}

const (
	expCtl = iota
	expData
	expAck
)

// ctlSeg is a control segment the stack sent, waiting for the recorded host's.
type ctlSeg struct {
	at    time.Time
	flags uint8
	seq   uint32 // relative to the stack's ISN (absolute when unknown)
	ack   uint32
	given uint32 // how far the peer's sequence space had been injected when it was sent
	win   uint16
	opts  string
	desc  string
	out   *outFrame
}

type deferredAck struct {
	frame   []byte // the peer's segment, rebased except for the ack
	ack     uint32 // the ack it carried, as an offset in the stack's stream (+1 for SYN)
	capture int    // the capture frame it came from
}

// ctlMask is what must match of a control segment: every bit but PSH.
const ctlMask = ^uint8(flPSH)

func (e *engine) newConv(hostPort uint16, peer netip.AddrPort, client bool) *conv {
	c := &conv{e: e, peer: peer, hostPort: hostPort, stackPort: hostPort, client: client, recordedFirst: e.frame}
	if client {
		c.name = fmt.Sprintf("%v:%d -> %v", e.sc.host, hostPort, peer)
	} else {
		c.name = fmt.Sprintf("%v -> %v:%d", peer, e.sc.host, hostPort)
	}
	e.convs[convKey{hostPort, peer}] = c
	e.lastConv = nil // convOf's cache
	if !client {
		e.byStack[convKey{hostPort, peer}] = c
	}
	c.index = len(e.order)
	e.order = append(e.order, c)
	c.isLive = true
	e.live = append(e.live, c) // the newest: last in order
	return c
}

// quiet reports whether the conversation is finished and judged: its application done, and
// nothing of either side waiting for its counterpart or for the horizon. Until a segment of it
// comes again (wake), step and expire have nothing to do with it.
func (c *conv) quiet() bool {
	return c.done && len(c.exps) == 0 && len(c.stackCtl) == 0 && c.written.Len() == 0
}

// wake puts the conversation back among those step and expire look at (engine.live), in its
// place in engine.order, if it left them.
func (c *conv) wake() {
	if c.isLive {
		return
	}
	c.isLive = true
	e := c.e
	i := sort.Search(len(e.live), func(i int) bool { return e.live[i].index > c.index })
	e.live = slices.Insert(e.live, i, c)
}

// convOf returns e.convs[key], the last one found straight away: most records are of the
// conversation of the record before (a map lookup hashes the key's address, every record).
func (e *engine) convOf(key convKey) *conv {
	if e.lastConv != nil && e.lastConvKey == key {
		return e.lastConv
	}
	c := e.convs[key]
	if c != nil {
		e.lastConvKey, e.lastConv = key, c
	}
	return c
}

// strayConv is where a segment of the stack without a conversation goes (a reset to a
// segment of a conversation that began before the capture, say).
func (e *engine) strayConv(port uint16, peer netip.AddrPort) *conv {
	c := e.newConv(port, peer, false)
	c.stray = true
	c.name = fmt.Sprintf("%v:%d <-> %v", e.sc.host, port, peer)
	return c
}

// tcpToHost injects a peer's segment, rebased onto the stack's sequence numbers.
func (e *engine) tcpToHost(data []byte) {
	d := e.d
	t := &d.tcp
	peer := netip.AddrPortFrom(d.srcIP(), uint16(t.SrcPort))
	key := convKey{uint16(t.DstPort), peer}
	c := e.convOf(key)
	syn := t.SYN && !t.ACK
	if syn && (c == nil || (!c.client && ((c.peerISNOK && c.peerISN != t.Seq) || c.ended()))) {
		if e.opts.HostPort != 0 && uint16(t.DstPort) != e.opts.HostPort {
			e.skip("other ports of the host (--host IP:PORT)")
			return
		}
		if c != nil {
			delete(e.convs, key) // a new conversation on the same ports
			e.lastConv = nil
			delete(e.byStack, key)
		}
		c = e.newConv(uint16(t.DstPort), peer, false)
	}
	if c == nil && !t.SYN && !t.RST {
		c = e.pendingJoin(key)
	}
	if c == nil && t.SYN && t.ACK && e.holdSynAck(key, data) {
		return // replayed after the host's SYN, if it comes (synSent)
	}
	if c == nil {
		if !e.began[key] {
			e.began[key] = true
			e.skip("conversations that began before the capture")
			if len(e.rep.NotReplayed) < maxListed {
				e.rep.NotReplayed = append(e.rep.NotReplayed, Skipped{fmt.Sprintf("%v -> %v:%d", peer, e.sc.host, key.port),
					"it began before the capture (no SYN), and its first segment seen cannot be joined at (a reset, a SYN-ACK)"})
			}
		} else {
			e.skip("segments of conversations that began before the capture")
		}
		return
	}
	c.wake()
	if c.joining != nil {
		c.joining.peerSaw(t)
		if !c.joinPending(t) {
			e.skip("segments of conversations that began before the capture, before the replay joins them")
			return
		}
	}
	c.noteEnd(t, peerFin)
	if syn || (t.SYN && !c.peerISNOK) { // the peer's SYN, or its SYN-ACK when the stack dialled
		c.peerISN, c.peerISNOK = t.Seq, true
	}
	if t.ACK && c.recRTT == 0 && !c.hostSynAt.IsZero() && t.Ack == c.hostISN+1 {
		c.recRTT = e.now.Sub(c.hostSynAt) // the peer's answer to the host's SYN
	}
	if c.peerISNOK {
		end := t.Seq - c.peerISN + uint32(len(t.Payload))
		if t.SYN {
			end++
		}
		if t.FIN {
			end++
		}
		if seqGreater(end, c.peerGiven) {
			c.peerGiven = end
		}
		c.peerSpan(t.Seq-c.peerISN, end)
	}
	f := append([]byte(nil), data...)
	ipHdr, seg, ok := tcpOffsets(f)
	if !ok {
		e.damaged("TCP: headers do not fit the frame")
		e.inject(data, e.note(), "damaged: injected as captured")
		return
	}
	var notes []string // the output's comments on it: none without an output (-o)
	if e.out.w != nil {
		notes = []string{e.note()}
	}
	// The segment's right checksum, before the rewriting below, tells whether the captured one
	// is right (as harness.TCPChecksumOK does: 0x0000 and 0xffff alike); the checksum of the
	// rewritten segment is then worked out from it and the header's words that changed
	// (checksumUpdate), not from a second pass over the payload.
	captured := binary.BigEndian.Uint16(seg[16:])
	harness.SetTCPChecksum(ipHdr, seg)
	right := binary.BigEndian.Uint16(seg[16:])
	sumOK := captured == right || (right == 0 && captured == 0xffff)
	var before [60]byte
	hdr := seg[:int(seg[12]>>4)*4]
	copy(before[:], hdr)
	if c.client {
		binary.BigEndian.PutUint16(seg[2:], c.stackPort)
	}
	var deferred *deferredAck
	if t.ACK {
		if !c.hostISNOK || !c.stackOK {
			e.skip("segments whose ack cannot be rebased (the host's or the stack's SYN is missing)")
			return
		}
		off := t.Ack - c.hostISN // offset in the host's stream, +1 for its SYN
		live := c.stackISN + off
		if sent := c.sentEnd + 1 + c.finSent(); seqGreater(off, sent) {
			// The peer acknowledges bytes the stack has not sent yet (it is slower than the
			// recorded host): the peer acknowledges what it has, and the rest when the stack
			// sends it. Its window keeps its right edge: the bytes it acknowledged are bytes
			// it has room for (a zero window closes after them, not at what the stack sent).
			deferred = &deferredAck{ack: off, capture: e.frame}
			live = c.stackISN + sent
			win := c.windowAt(off, t.Window, t.SYN, sent)
			binary.BigEndian.PutUint16(seg[14:], win)
			notes = append(notes, fmt.Sprintf("ack held at what the stack has sent (%d of %d), win %d for the same right edge", sent, off, win))
		}
		binary.BigEndian.PutUint32(seg[8:], live)
		if a := live - c.stackISN; !c.peerAckedOK || seqGreater(a, c.peerAcked) {
			c.peerAcked, c.peerAckedOK = a, true
		}
		rebaseSACK(seg, c.hostISN, c.stackISN)
		if c.hostTSOK && c.stackTSOK {
			rebaseTSEcr(seg, c.hostTS, c.stackTS)
		}
	}
	if !e.opts.KeepChecksums {
		old := binary.BigEndian.Uint16(ipHdr[10:])
		harness.SetIPv4Checksum(ipHdr)
		if old != binary.BigEndian.Uint16(ipHdr[10:]) || !sumOK {
			e.rep.ChecksumsFixed++
			notes = append(notes, "checksum corrected (wrong in the capture)")
		}
		binary.BigEndian.PutUint16(seg[16:], checksumUpdate(right, before[:len(hdr)], hdr))
	} else {
		// The rewritten fields need a new checksum; one that was wrong stays wrong.
		binary.BigEndian.PutUint16(seg[16:], checksumUpdate(right, before[:len(hdr)], hdr))
		if !sumOK {
			seg[16] ^= 0xff
		}
	}
	if deferred != nil {
		deferred.frame = append([]byte(nil), f...)
		c.deferred = append(c.deferred, *deferred)
	}
	if t.ACK && !t.SYN && !t.RST && !t.FIN {
		c.peerTmpl = f[:14+len(ipHdr)+int(seg[12]>>4)*4] // its headers, for the bytes a capture gap lacks (fillPeerGap); f is not written to again
	}
	c.notePeerSegment(seg, t.Ack-c.hostISN, t.Window) // rebased: what a held ACK given back from now on advertises
	if v, ok := tsValOf(t.Options); ok && (!c.peerTSOK || seqGreater(v, c.peerTS)) {
		c.peerTS, c.peerTSOK = v, true
	}
	if len(f) <= maxFrame {
		e.inject(f, notes...)
		return
	}
	for _, part := range e.builder().split(f) {
		e.inject(part, notes...)
	}
}

// How a conversation ends in the capture (conv.ends).
const (
	hostFin uint8 = 1 << iota
	peerFin
	reset
)

// noteEnd notes a FIN (of the side fin names) or a reset in the capture.
func (c *conv) noteEnd(t *layers.TCP, fin uint8) {
	switch {
	case t.RST:
		c.ends |= reset
	case t.FIN:
		c.ends |= fin
	}
}

// ended reports whether the capture shows the conversation over: both FINs, or a reset. A SYN
// on the same ports after that begins a new one, even with the same ISN (a capture of the
// same exchange twice, a port reused after TIME-WAIT).
func (c *conv) ended() bool { return c.ends&reset != 0 || c.ends&(hostFin|peerFin) == hostFin|peerFin }

// finSent is 1 once the stack's FIN is out, for the ack that covers it.
func (c *conv) finSent() uint32 {
	if c.stackFin {
		return 1
	}
	return 0
}

// seqGreater compares offsets that may wrap.
func seqGreater(a, b uint32) bool { return int32(a-b) > 0 }

// rebaseSACK moves SACK blocks from the host's sequence space to the stack's.
func rebaseSACK(seg []byte, from, to uint32) {
	eachOption(seg, func(kind byte, o []byte) {
		if kind == 5 {
			for i := 2; i+8 <= len(o); i += 8 {
				binary.BigEndian.PutUint32(o[i:], binary.BigEndian.Uint32(o[i:])-from+to)
				binary.BigEndian.PutUint32(o[i+4:], binary.BigEndian.Uint32(o[i+4:])-from+to)
			}
		}
	})
}

// eachOption calls f with each option of a TCP segment (kind, and the option's bytes from its
// kind byte on), to rewrite in place; it stops at the end-of-list option or at a malformed one.
// The replay reads frames with its own code, not the stack's wire package: a parsing bug must
// not hide on both sides of the comparison.
func eachOption(seg []byte, f func(kind byte, o []byte)) {
	eachOptionIn(seg[20:int(seg[12]>>4)*4], f)
}

// eachOptionIn is eachOption over TCP options as bytes.
func eachOptionIn(opts []byte, f func(kind byte, o []byte)) {
	for len(opts) > 0 {
		switch opts[0] {
		case 0:
			return
		case 1:
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || int(opts[1]) < 2 || int(opts[1]) > len(opts) {
			return
		}
		f(opts[0], opts[:opts[1]])
		opts = opts[opts[1]:]
	}
}

// rebaseTSEcr moves the TSecr of a timestamp option from the recorded host's clock to the
// stack's (both tick in milliseconds, RFC 7323 5.4): the peer echoes what the host sent, and
// the stack must read it as the echo of what it sent, for its RTT samples.
func rebaseTSEcr(seg []byte, from, to uint32) {
	eachOption(seg, func(kind byte, o []byte) {
		if kind == 8 && len(o) == 10 {
			if ecr := binary.BigEndian.Uint32(o[6:]); ecr != 0 {
				binary.BigEndian.PutUint32(o[6:], ecr-from+to)
			}
		}
	})
}

// tsValOf returns the TSval of a timestamp option, if the options hold one.
func tsValOf(opts []layers.TCPOption) (uint32, bool) {
	for _, o := range opts {
		if o.OptionType == layers.TCPOptionKindTimestamps && len(o.OptionData) == 8 {
			return binary.BigEndian.Uint32(o.OptionData), true
		}
	}
	return 0, false
}

// split cuts a segment coalesced by GRO or TSO in the capture (larger than the link's MTU)
// into MTU-sized ones, as they were on the wire: only the last closes or pushes.
func (b *frameBuilder) split(f []byte) [][]byte {
	if !b.template(f) {
		return nil
	}
	payload := b.tcp.Payload
	room := maxFrame - 14 - int(b.ip.IHL)*4 - int(b.tcp.DataOffset)*4
	seq, fin, psh := b.tcp.Seq, b.tcp.FIN, b.tcp.PSH
	var out [][]byte
	for off := 0; off < len(payload); off += room {
		n := min(room, len(payload)-off)
		last := off+n == len(payload)
		b.tcp.Seq, b.tcp.FIN, b.tcp.PSH = seq+uint32(off), fin && last, psh && last
		out = append(out, b.segment(payload[off:off+n]))
	}
	return out
}

// tcpFromHost takes a segment of the recorded host: what the application behind the stack
// must do, and what the stack must send.
func (e *engine) tcpFromHost(data []byte) {
	d := e.d
	t := &d.tcp
	peer := netip.AddrPortFrom(d.dstIP(), uint16(t.DstPort))
	key := convKey{uint16(t.SrcPort), peer}
	c := e.convOf(key)
	if t.SYN && t.ACK && c == nil && (e.opts.HostPort == 0 || uint16(t.SrcPort) == e.opts.HostPort) {
		// The host's SYN-ACK before the peer's SYN (the capture reordered them).
		c = e.newConv(uint16(t.SrcPort), peer, false)
	}
	if t.SYN && !t.ACK && (c == nil || c.hostISN != t.Seq || c.ended()) {
		if e.opts.HostPort != 0 && uint16(t.SrcPort) != e.opts.HostPort {
			e.skip("other ports of the host (--host IP:PORT)")
			return
		}
		c = e.newConv(uint16(t.SrcPort), peer, true)
		c.hostISN, c.hostISNOK = t.Seq, true
		c.dial()
		e.synSent(key)
	}
	if c == nil && !t.SYN && !t.RST {
		c = e.pendingJoin(key)
	}
	if c != nil && c.joining != nil && !c.join(t) {
		e.skip("segments of conversations that began before the capture, before the replay joins them")
		return
	}
	if c == nil || c.stray {
		e.skip("segments of conversations that began before the capture")
		return
	}
	c.wake()
	c.noteEnd(t, hostFin)
	if t.SYN {
		c.hostISN, c.hostISNOK = t.Seq, true
		c.hostSynAt = e.now
	}
	if !c.hostISNOK && !t.RST {
		e.skip("segments of conversations that began before the capture")
		return
	}
	if e.sc.oneSided && !t.SYN && !c.peerISNOK {
		// The host goes on as answered (an ACK of the peer's SYN-ACK, data after it): by
		// frames the one-sided capture lacks, which the stack never gets.
		e.skip("segments of the host answering its peer, whose frames the one-sided capture lacks")
		return
	}
	// A reset from a closed port: its numbers are absolute, as the stack's own (it never
	// sent a SYN there).
	isn := c.hostISN
	if !c.hostISNOK {
		isn = 0
	}
	e.rep.Compared++
	c.hostSegs++
	if !c.hostTSOK {
		c.hostTS, c.hostTSOK = tsValOf(t.Options)
	}
	if t.SYN {
		noteSYN(&c.cmp.hostSYNSeen, &c.cmp.hostWS, t)
	}
	flags := tcpFlags(t)
	x := &tcpExp{frame: e.frame, at: e.now, flags: flags & ctlMask, seq: t.Seq - isn, win: t.Window,
		opts: optionString(t.Options)}
	if t.ACK && c.peerISNOK {
		x.ack, x.hasAck = t.Ack-c.peerISN, true
	}
	if x.hasAck && c.hasFD && c.peerTmpl != nil && seqGreater(x.ack, c.peerContig) && !t.SYN {
		c.fillPeerGap(x.ack)
	}
	x.raw.seq, x.raw.ack, x.raw.n, x.raw.flags, x.raw.ackFlag = t.Seq, t.Ack, len(t.Payload), flags, t.ACK
	if !c.hostISNOK || !c.peerISNOK {
		c.render(x) // now: a numbering base is still to be taken from the first number seen
	}
	// The application's part.
	if n := len(t.Payload); n > 0 {
		start := t.Seq - c.hostISN - 1 // offset in the stream
		c.hostBytes += int64(n)
		if gap := start - c.hostNext; int32(gap) > 0 {
			// Bytes of the host's stream the capture lacks ("previous segment not captured"):
			// the application still writes them, zeros in their place, so that the stream
			// goes on where the host's did; no recorded segment compares them.
			c.writes = append(c.writes, appWrite{after: x.ack - 1, at: e.now, data: make([]byte, gap), frame: e.frame})
			e.gap(c, gap)
			c.hostNext = start
		}
		if int32(start+uint32(n)-c.hostNext) > 0 {
			skip := uint32(0)
			if int32(c.hostNext-start) > 0 {
				skip = c.hostNext - start
				c.hostRetrans++
			}
			c.writes = append(c.writes, appWrite{after: x.ack - 1, at: e.now, data: c.keep(t.Payload[skip:]), frame: e.frame})
			c.hostNext = start + uint32(n)
		} else {
			c.hostRetrans++
		}
	}
	switch {
	case t.RST && c.hasFD && c.hostSegs > 1:
		c.abortAt = &appWrite{after: x.ack - 1, at: e.now, frame: e.frame}
	case t.FIN && c.closeAt == nil:
		c.closeAt = &appWrite{after: x.ack - 1, at: e.now, frame: e.frame}
	}
	// The comparison's part.
	switch {
	case t.SYN || t.FIN || t.RST:
		x.kind = expCtl
		if t.FIN {
			x.seq += uint32(len(t.Payload)) // the FIN's own sequence number
		}
		key := ctlKey(x.flags, x.seq)
		if c.ctlSeen[key] {
			// The host sent this control segment again: a retransmission (or a capture's
			// duplicate). Not something more the stack must send, but a retransmission of
			// the stack's own may pair with it: one sent already (its timer a little ahead
			// of the host's), or one to come.
			c.hostRetrans++
			if !c.pairRetransmission(key) {
				c.ctlRepeats[key]++
			}
			if len(t.Payload) == 0 {
				return
			}
			x.kind = -1
		}
		if c.ctlSeen == nil {
			c.ctlSeen, c.ctlRepeats = map[uint64]bool{}, map[uint64]int{}
		}
		c.ctlSeen[key] = true
		if len(t.Payload) > 0 {
			c.exps = append(c.exps, &tcpExp{frame: e.frame, at: e.now, kind: expData, seq: t.Seq - c.hostISN - 1,
				end: t.Seq - c.hostISN - 1 + uint32(len(t.Payload)), desc: x.desc, ackShown: x.ackShown, raw: x.raw, win: t.Window, opts: x.opts})
		}
		if x.kind < 0 {
			c.match()
			return
		}
	case len(t.Payload) > 0:
		x.kind = expData
		x.seq = t.Seq - c.hostISN - 1
		x.end = x.seq + uint32(len(t.Payload))
	default:
		x.kind = expAck
	}
	c.exps = append(c.exps, x)
	c.match()
}

// dial opens the stack's connection for a conversation the recorded host began. Its port is
// the one the stack's SYN comes from (connecting).
func (c *conv) dial() {
	e := c.e
	fd, err := e.socks.Socket()
	if err == nil {
		if err = e.socks.Connect(fd, c.peer); errors.Is(err, linuxabi.EINPROGRESS) {
			err = nil
		} else if err != nil {
			_ = e.socks.Close(fd)
		}
	}
	if err != nil {
		e.diff(Difference{Frame: e.frame, At: e.now.Sub(clock.Epoch), Conv: c.name, What: "the stack cannot dial: " + err.Error()}, nil)
		return
	}
	c.fd, c.hasFD = fd, true
	e.dialing[c.peer] = append(e.dialing[c.peer], c)
}

// connecting takes a SYN the stack sent from port to peer: the first of an active open
// waiting for it (dial), whose port it tells, or c, the conversation of that port and peer so
// far, when it is the SYN of c sent again or none waits. harness.Sockets names no descriptor's
// ends; the stack sends the SYN of each active open as it opens it, or, when the peer's MAC is
// to be resolved, once the replay's ARP reply came, before the next record.
func (e *engine) connecting(port uint16, peer netip.AddrPort, seq uint32, c *conv) *conv {
	q := e.dialing[peer]
	if len(q) == 0 || (c != nil && c.client && c.stackOK && c.stackISN == seq) {
		return c
	}
	d := q[0]
	if len(q) == 1 {
		delete(e.dialing, peer)
	} else {
		e.dialing[peer] = q[1:]
	}
	d.stackPort = port
	e.byStack[convKey{port, peer}] = d
	return d
}

// accepted takes the connection the stack accepted on port from peer: the application of its
// conversation. A connection of no conversation, or of one that has its own already, is
// reset.
func (e *engine) accepted(fd int, port uint16, peer netip.AddrPort) {
	c := e.byStack[convKey{port, peer}]
	if c == nil || c.hasFD {
		_ = e.socks.SetSockOpt(fd, linuxabi.SOL_SOCKET, linuxabi.SO_LINGER, 0)
		_ = e.socks.Close(fd)
		return
	}
	c.fd, c.hasFD = fd, true
}

// app lets the application act: read what came, write what is due, close as the host did.
// It reports whether anything happened.
func (c *conv) app() bool {
	if !c.hasFD || c.done {
		return false
	}
	acted := false
	socks := c.e.socks
	buf := c.e.readBuf[:]
	for !c.eof && !c.readErr && c.idleAt != c.e.changed {
		n, err := socks.Read(c.fd, buf)
		if errors.Is(err, linuxabi.EAGAIN) {
			c.idleAt = c.e.changed
			break
		}
		if err != nil {
			c.readErr = true // reported once; a read after it would say end of stream
			break
		}
		if n == 0 {
			c.eof, acted = true, true
			c.read++
			break
		}
		c.read += uint32(n)
		acted = true
	}
	now := c.e.now
	for len(c.writes) > 0 {
		w := &c.writes[0]
		if int32(c.read-w.after) < 0 || w.at.After(now) {
			break
		}
		n, err := socks.Write(c.fd, w.data)
		if n > 0 {
			acted = true
			c.written.append(w.data[:n])
			w.data = w.data[n:]
		}
		if err != nil && !errors.Is(err, linuxabi.EAGAIN) {
			c.done = true // the connection failed: the comparison shows it
			return acted
		}
		if len(w.data) > 0 {
			return acted
		}
		c.writes[0] = appWrite{} // its data, in a slab (keep), is the written log's now
		c.writes = c.writes[1:]
	}
	if len(c.writes) > 0 {
		return acted
	}
	if a := c.abortAt; a != nil && int32(c.read-a.after) >= 0 {
		c.closing()
		_ = socks.SetSockOpt(c.fd, linuxabi.SOL_SOCKET, linuxabi.SO_LINGER, 0)
		_ = socks.Close(c.fd)
		c.done = true
		return true
	}
	if a := c.closeAt; a != nil && int32(c.read-a.after) >= 0 {
		_ = socks.Shutdown(c.fd, linuxabi.SHUT_WR)
		c.closeAt = nil
		c.closed = true
		acted = true
	}
	if c.closed && c.eof {
		c.done = true // nothing more for the application to do
	}
	return acted
}

// stackSegment takes a segment the stack sent in this conversation.
func (c *conv) stackSegment(t *layers.TCP, of *outFrame) {
	e := c.e
	c.wake()
	flags := tcpFlags(t)
	if t.SYN && !c.stackOK {
		c.stackISN, c.stackOK = t.Seq, true
	}
	if t.SYN {
		noteSYN(&c.cmp.stackSYNSeen, &c.cmp.stackWS, t)
	}
	if !c.stackTSOK {
		c.stackTS, c.stackTSOK = tsValOf(t.Options)
	}
	c.stackSegs++
	rel := t.Seq
	if c.stackOK {
		rel = t.Seq - c.stackISN
	}
	var ack uint32
	if t.ACK && c.peerISNOK {
		ack = t.Ack - c.peerISN
		if !c.hasAck || seqGreater(ack, c.maxAck) {
			c.maxAck, c.hasAck = ack, true
			c.ackAdvanced(ack, of)
		}
	}
	// The segment in the report's notation, rendered when something needs it (most segments
	// match and are never shown), but at once while a numbering base is still to be taken from
	// the first number seen, so that it is taken in the order of the segments.
	var desc string
	describe := func() string {
		if desc == "" {
			desc = c.stackDesc(t, flags, optionString(t.Options))
		}
		return desc
	}
	if !c.stackOK || !c.peerISNOK {
		describe()
	}
	if t.ACK && c.peerISNOK && seqGreater(ack, c.peerGiven) {
		c.difference(Difference{Stack: describe(), What: fmt.Sprintf("the stack acknowledges %d, past the %d it was given",
			c.peerSeq(t.Ack), c.peerSeq(c.peerISN+c.peerGiven))}, of)
	}
	n := len(t.Payload)
	switch {
	case n > 0 && c.stackOK:
		start := rel - 1
		end := start + uint32(n)
		c.stackBytes += int64(n)
		retrans := int32(c.sentEnd-start) > 0
		if retrans && e.afterEnd() {
			// After the capture's end: the peer's ACK of it may simply not be in the capture.
			e.art.afterEnd++
		} else if retrans {
			c.stackRetrans++
			if c.stackRetrans > c.hostRetrans && c.firstRetrans == nil {
				c.firstRetrans = of
				c.cmp.firstRetransDesc, c.cmp.firstRetransAt = describe(), e.now
			}
		}
		c.dataNotes(start, end, retrans, of)
		// Coverage is contiguous: a segment past a byte the stack never sent leaves a hole,
		// and what lies beyond it counts only once the hole is filled.
		if seqGreater(end, c.sentEnd) && !seqGreater(start, c.sentEnd) {
			c.sentEnd = end
		} else if seqGreater(start, c.sentEnd) {
			c.difference(Difference{Stack: describe(), What: fmt.Sprintf("the stack skipped %d:%d (this segment begins past what it had sent)",
				c.stackByte(c.sentEnd), c.stackByte(start))}, of)
		}
		c.checkPayload(start, t.Payload, of, describe)
	case n == 0 && !t.SYN && !t.FIN && !t.RST && of != nil:
		of.fallback = "extra: no recorded ACK corresponds (the stack's ACKs are compared by how far they acknowledge, not one by one)"
	}
	if t.SYN || t.FIN || t.RST {
		s := &ctlSeg{at: e.now, flags: flags & ctlMask, seq: rel, ack: ack, given: c.peerGiven, win: t.Window, opts: optionString(t.Options), desc: describe(), out: of}
		if t.FIN {
			s.seq += uint32(len(t.Payload))
			c.stackFin = true
		}
		key := ctlKey(s.flags, s.seq)
		if c.stackCtlSeen[key] && c.ctlRepeats[key] > 0 {
			// A retransmission the recorded host made too.
			c.ctlRepeats[key]--
			of.note("a retransmission, as the recorded host's")
		} else {
			c.stackCtl = append(c.stackCtl, s)
		}
		if c.stackCtlSeen == nil {
			c.stackCtlSeen = map[uint64]bool{}
		}
		c.stackCtlSeen[key] = true
	}
	c.releaseDeferred()
	c.match()
}

// checkPayload compares bytes the stack sent with those the application wrote.
func (c *conv) checkPayload(start uint32, p []byte, of *outFrame, desc func() string) {
	off := int(int32(start - c.writtenBase))
	if off+len(p) > c.written.Len() {
		c.difference(Difference{Stack: desc(), What: fmt.Sprintf("the stack sent %d:%d, which the application never wrote",
			c.stackByte(start), c.stackByte(start+uint32(len(p))))}, of)
		return
	}
	if off < 0 {
		return // before what is kept (a retransmission of long ago): nothing to compare
	}
	if i := c.written.mismatch(off, p); i >= 0 {
		c.difference(Difference{Stack: desc(), What: fmt.Sprintf("the stack's payload differs from what the application wrote from %d on",
			c.stackByte(start+uint32(i)))}, of)
	}
	// Keep the last 4 MiB written, for retransmissions: flat memory.
	if drop := c.written.Len() - 4<<20; drop > 0 {
		c.written.drop(drop)
		c.writtenBase += uint32(drop)
	}
}

// releaseDeferred replays the peer's acks the stack has now caught up with. Those given back
// at once collapse into one ACK, with the newest information: the newest ack (as far as the
// stack has sent, when a held ACK acknowledges more) and the held frame it came from, and the
// peer's newest window and options when it is injected (releasedAck). A held ACK that
// acknowledges more than the stack has sent is given back as far as the stack has sent, and
// the rest later.
func (c *conv) releaseDeferred() {
	if len(c.deferred) == 0 {
		return
	}
	sent := c.sentEnd + 1 + c.finSent()
	n := 0 // the held ACKs the stack has caught up with
	var ack uint32
	for n < len(c.deferred) && !seqGreater(c.deferred[n].ack, sent) {
		if n == 0 || seqGreater(c.deferred[n].ack, ack) {
			ack = c.deferred[n].ack
		}
		n++
	}
	last := n - 1 // the newest held ACK given back: its frame, for the addresses and the TS echo
	if n < len(c.deferred) && (n == 0 || seqGreater(sent, ack)) {
		// The next acknowledges more than the stack has sent: as far as it has sent.
		ack, last = sent, n
	}
	if !seqGreater(ack, c.lastReleased) {
		// Nothing newer than what was given back already (a peer's ack out of order).
		clear(c.deferred[:n])
		c.deferred = c.deferred[n:]
		return
	}
	frames := make([]int, 0, last+1)
	for _, h := range c.deferred[:last+1] {
		frames = append(frames, h.capture)
	}
	held := c.deferred[last].frame
	clear(c.deferred[:n])
	c.deferred = c.deferred[n:]
	c.lastReleased = ack
	c.e.rep.Synthesized++
	c.e.injectAt(c.e.now.Add(c.recRTT), func() []byte { return c.releasedAck(held, ack) }, collapsedNote(frames))
}

// raiseTSVal sets the TSval of a segment's timestamp option to at least v.
func raiseTSVal(seg []byte, v uint32) { raiseTSValIn(seg[20:int(seg[12]>>4)*4], v) }

// raiseTSValIn is raiseTSVal over TCP options as bytes.
func raiseTSValIn(opts []byte, v uint32) {
	eachOptionIn(opts, func(kind byte, o []byte) {
		if kind == 8 && len(o) == 10 && seqGreater(v, binary.BigEndian.Uint32(o[2:])) {
			binary.BigEndian.PutUint32(o[2:], v)
		}
	})
}

// pairRetransmission pairs a retransmission of the host's control segment key with one of
// the stack's waiting for it, and reports whether there was one.
func (c *conv) pairRetransmission(key uint64) bool {
	for i, s := range c.stackCtl {
		if c.stackCtlSeen[key] && ctlKey(s.flags, s.seq) == key {
			s.out.note("a retransmission, as the recorded host's")
			c.stackCtl = append(c.stackCtl[:i], c.stackCtl[i+1:]...)
			return true
		}
	}
	return false
}

// match pairs the recorded host's segments with the stack's.
func (c *conv) match() {
	keep := c.exps[:0]
	for _, x := range c.exps {
		if !c.matchOne(x) {
			keep = append(keep, x)
		}
	}
	for i := len(keep); i < len(c.exps); i++ {
		c.exps[i] = nil
	}
	c.exps = keep
}

func (c *conv) matchOne(x *tcpExp) bool {
	switch x.kind {
	case expAck:
		if !c.hasAck || seqGreater(x.ack, c.maxAck) {
			return false
		}
		c.ackMatched(x)
		return true
	case expData:
		if seqGreater(x.end, c.sentEnd) || !c.stackOK {
			return false
		}
		return true
	}
	for i, s := range c.stackCtl {
		// The same control bits (a reset with or without ACK, unless --compare rst-ack) and
		// sequence number.
		if !sameControl(s.flags, x.flags) || (x.flags&flSYN == 0 && s.seq != x.seq) {
			continue
		}
		// The same ack, or a later one up to what the stack had been given: the replay hands
		// the stack the peer's segments at their recorded instants, and a FIN crossing the
		// peer's on the wire may come out after it here (a simultaneous close).
		if x.hasAck && x.flags&flACK != 0 && s.flags&flACK != 0 && s.ack != x.ack && (seqGreater(x.ack, s.ack) || seqGreater(s.ack, s.given)) {
			continue
		}
		s.out.corresponds(x.frame)
		var what []string
		if d := c.rstACKDiff(s, x); d != "" {
			what = append(what, d)
		}
		if c.e.opts.CompareWindow {
			if d := c.windowDiff(s, x); d != "" {
				what = append(what, d)
			}
		}
		if c.e.opts.CompareOptions && optionKinds(s.opts) != optionKinds(x.opts) {
			what = append(what, fmt.Sprintf("options <%s>, recorded <%s>", s.opts, x.opts))
		}
		if len(what) > 0 {
			c.difference(Difference{Frame: x.frame, At: x.at.Sub(clock.Epoch), Recorded: c.render(x), Stack: s.desc, What: strings.Join(what, "; ")}, s.out)
		}
		c.stackCtl = append(c.stackCtl[:i], c.stackCtl[i+1:]...)
		return true
	}
	return false
}

func (c *conv) difference(d Difference, of *outFrame) {
	d.Conv = c.name
	if d.At == 0 && d.Frame == 0 {
		d.At = c.e.now.Sub(clock.Epoch)
	}
	c.differences++
	c.e.diff(d, of)
}

// expire reports what waited past the horizon (everything, at the end).
func (c *conv) expire(now time.Time, all bool) {
	h := c.e.opts.Horizon
	late := func(at time.Time) bool { return all || now.Sub(at) > h }
	// Both lists are in time order: only their heads can be late.
	n := 0
	unacked := !c.e.end.IsZero() && c.waitsForAck()
	for ; n < len(c.exps) && late(c.exps[n].at); n++ {
		x := c.exps[n]
		if unacked && x.kind == expData {
			// The stack waits for an acknowledgement of what it sent that the capture ends
			// before: the host's data it could not send yet is not judged.
			c.e.art.endData += int(x.end - x.seq)
			c.e.art.endSegs++
			c.e.rep.Compared--
			continue
		}
		what := "the recorded host sent this, the stack did not"
		switch x.kind {
		case expData:
			what = fmt.Sprintf("the stack did not send %d:%d%s (%s)", c.hostByte(x.seq), c.hostByte(x.end), c.asStacks(x.seq, x.end), c.sentSoFar())
		case expAck:
			what = c.ackMissing(x)
		}
		c.difference(Difference{Frame: x.frame, At: x.at.Sub(clock.Epoch), Recorded: c.render(x), What: what}, nil)
	}
	c.exps = c.exps[n:]
	n = 0
	for ; n < len(c.stackCtl) && late(c.stackCtl[n].at); n++ {
		s := c.stackCtl[n]
		if !c.e.end.IsZero() && s.at.After(c.e.end) {
			c.e.art.afterEnd++ // nothing recorded answers it: not judged
			continue
		}
		c.difference(Difference{At: s.at.Sub(clock.Epoch), Stack: s.desc, What: "the stack sent this, the recorded host did not"}, s.out)
	}
	c.stackCtl = c.stackCtl[n:]
	if c.done && len(c.exps) == 0 && len(c.stackCtl) == 0 && c.written.Len() > 0 {
		// Finished and judged: what the application wrote is no longer needed.
		c.writtenBase += uint32(c.written.Len())
		c.written.reset()
		c.freeSlabs()
	}
	if all && len(c.deferred) > 0 {
		d := c.deferred[0]
		what := fmt.Sprintf("the peer acknowledged %d", c.hostSeq(c.hostISN+d.ack))
		if c.e.opts.Absolute {
			what += fmt.Sprintf(" (the stack's %d)", c.stackSeq(c.stackISN+d.ack))
		}
		what += fmt.Sprintf(", which the stack never sent (it sent up to %d): the ack was held until the stack sent it, and never given back",
			c.stackSeq(c.stackISN+c.sentEnd+1+c.finSent()))
		c.difference(Difference{Frame: d.capture, What: what}, nil)
		c.deferred = nil
	}
	if all && c.stackRetrans > c.hostRetrans && c.gaps > 0 {
		// What the capture lacks of the host's stream, it lacks of the peer's ACKs too: the
		// stack's retransmissions of what they acknowledged say nothing of the stack.
		c.e.artefact("retransmissions not compared in %s, which has capture gaps (the peer's ACKs are missing with the host's segments): the stack retransmitted %s, the recorded host %s",
			c.name, times(c.stackRetrans), times(c.hostRetrans))
	} else if all && c.stackRetrans > c.hostRetrans {
		d := Difference{
			What:     fmt.Sprintf("the stack retransmitted %s, the recorded host %s", times(c.stackRetrans), times(c.hostRetrans)),
			Recorded: plural(c.hostRetrans, "retransmission", "retransmissions"),
			Stack:    plural(c.stackRetrans, "retransmission", "retransmissions"),
		}
		if c.cmp.firstRetransDesc != "" {
			d.Stack += "; the first beyond the recorded host's: " + c.cmp.firstRetransDesc
			d.At = c.cmp.firstRetransAt.Sub(clock.Epoch)
		}
		c.difference(d, c.firstRetrans)
	}
}

// waitsForAck reports whether the stack has sent data the capture never acknowledges, with no
// held ACK of the peer still to be given back: at the capture's end, what it has yet to send
// waits for an acknowledgement the capture does not hold.
func (c *conv) waitsForAck() bool {
	return c.stackOK && len(c.deferred) == 0 && c.sentEnd > 0 && (!c.peerAckedOK || seqGreater(c.sentEnd+1, c.peerAcked))
}

// sentSoFar says how far the stack's data went, for a difference about data it did not send.
func (c *conv) sentSoFar() string {
	switch {
	case c.stackSegs == 0:
		return "it sent nothing in this conversation"
	case !c.stackOK:
		return "it sent no SYN, so no data"
	case c.sentEnd == 0:
		return "it sent no data"
	}
	return fmt.Sprintf("it sent up to %d", c.stackByte(c.sentEnd))
}

// ackMissing says how the stack fell short of the recorded host's ACK x.
func (c *conv) ackMissing(x *tcpExp) string {
	c.render(x)
	what := fmt.Sprintf("the stack did not acknowledge %d", x.ackShown)
	switch {
	case !c.peerISNOK:
		return what + " (no SYN of the peer was replayed, so the stack's acks cannot be compared: the capture lacks it, or it is damaged)"
	case c.stackSegs == 0:
		return what + " (it sent nothing in this conversation)"
	case !c.hasAck:
		return what + " (it acknowledged nothing)"
	}
	return what + fmt.Sprintf(" (it acknowledged up to %d)", c.peerSeq(c.peerISN+c.maxAck))
}

func (c *conv) summary() *ConvSummary {
	s := &ConvSummary{Name: c.name, Role: "server", HostBytes: c.hostBytes, StackBytes: c.stackBytes, HostSegments: c.hostSegs,
		StackSegments: c.stackSegs, HostRetransmits: c.hostRetrans, StackRetran: c.stackRetrans, Differences: c.differences}
	switch {
	case c.stray:
		s.Role = ""
	case c.client:
		s.Role = "client"
		if c.hasFD && c.stackOK {
			s.StackPort = c.stackPort
		}
	}
	if c.joinNote != "" {
		s.Numbering = append(s.Numbering, c.joinNote)
	}
	if c.cmp.ownGuess.ok && !c.e.opts.Absolute {
		s.Numbering = append(s.Numbering, "the recorded host's and the stack's sequence numbers count from the first seen (no SYN of theirs)")
	}
	if c.cmp.peerGuess.ok && !c.e.opts.Absolute {
		s.Numbering = append(s.Numbering, "the peer's sequence numbers count from the first ack of them seen (no SYN of the peer replayed)")
	}
	return s
}

// segDesc renders a segment as packetdrill does (its numbers as given: see describe.go).
func segDesc(flags uint8, seq uint32, n int, ack uint32, hasAck bool, win uint16, opts string) string {
	s := fmt.Sprintf("%s %d:%d(%d)", flagString(flags), seq, seq+uint32(n), n)
	if hasAck {
		s += fmt.Sprintf(" ack %d", ack)
	}
	s += fmt.Sprintf(" win %d", win)
	if opts != "" {
		s += " <" + opts + ">"
	}
	return s
}

// optionKinds is what --compare options compares: the kinds of options a segment carries,
// sorted, padding left out. Their values (the window scale, say) follow each host's buffers,
// and their order each implementation's habit.
func optionKinds(opts string) string {
	var kinds []string
	for _, o := range strings.Split(opts, ",") {
		k, _, _ := strings.Cut(o, " ")
		if k == "kind" { // an option optionString has no name for: its number tells it apart
			k = o
		}
		if k != "" && k != "nop" && k != "eol" {
			kinds = append(kinds, k)
		}
	}
	sort.Strings(kinds)
	return strings.Join(kinds, ",")
}

// optionString renders TCP options as packetdrill does. It is called for every segment of
// the recorded host's: the text is built in a buffer on the stack, and the usual ones are
// returned as constants, so that most segments cost no allocation.
func optionString(opts []layers.TCPOption) string {
	var arr [128]byte
	b := arr[:0]
	part := func() {
		if len(b) > 0 {
			b = append(b, ',')
		}
	}
	for _, o := range opts {
		switch o.OptionType {
		case layers.TCPOptionKindMSS:
			if len(o.OptionData) == 2 {
				part()
				b = strconv.AppendUint(append(b, "mss "...), uint64(binary.BigEndian.Uint16(o.OptionData)), 10)
			}
		case layers.TCPOptionKindWindowScale:
			if len(o.OptionData) == 1 {
				part()
				b = strconv.AppendUint(append(b, "wscale "...), uint64(o.OptionData[0]), 10)
			}
		default:
			part()
			b = append(b, optionName(byte(o.OptionType))...)
		}
	}
	for _, s := range commonOptions {
		if string(b) == s {
			return s
		}
	}
	return string(b)
}

// commonOptions are the renderings of the options most segments carry.
var commonOptions = [...]string{"", "nop,nop,TS", "nop,nop,sack", "nop,nop,TS,nop,nop,sack"}
