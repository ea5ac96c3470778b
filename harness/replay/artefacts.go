package replay

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"time"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/replay/capture"
	"github.com/mtcp-go/mtcp/stack/clock"
)

// Capture artefacts: faults of the capture, not of the host, that the replay detects, works
// around and reports once each (Report.Artefacts), so that none of them turns into a cascade
// of differences. See the package doc.

// dupWindow is how close a repeat must follow a frame to be the capture's duplicate of it
// rather than a retransmission: a host retransmits after a round trip at least, a capture of
// a capture repeats within microseconds.
const dupWindow = time.Millisecond

// dupKey identifies an IPv4 datagram for duplicate detection: its length (the IPv4 total
// length) and its first 40 bytes (the IPv4 header with its ID and checksum, and the TCP header with its sequence
// numbers, flags, window and checksum, which covers the payload).
type dupKey struct {
	n   int
	hdr [40]byte
}

// recent is a small ring of the datagrams replayed last, with their capture times.
type recent struct {
	keys [8]dupKey
	at   [8]time.Time
	next int
}

// seen reports whether an IPv4 datagram is a byte-for-byte repeat of one seen within
// dupWindow before t; either way it is remembered.
func (r *recent) seen(ip []byte, t time.Time) bool {
	var k dupKey
	k.n = len(ip)
	if total := int(binary.BigEndian.Uint16(ip[2:4])); total >= 20 && total < k.n {
		k.n = total // Ethernet padding (a 54-byte frame seen again as 60) is not the datagram's
	}
	copy(k.hdr[:], ip[:k.n])
	for i := range r.keys {
		if r.keys[i].n == k.n && r.keys[i] == k && !t.Before(r.at[i]) && t.Sub(r.at[i]) <= dupWindow {
			return true
		}
	}
	r.keys[r.next], r.at[r.next] = k, t
	r.next = (r.next + 1) % len(r.keys)
	return false
}

// artefacts counts what the replay found, for one line each at the end.
type artefacts struct {
	dups, firstDup   int
	steps, firstStep int
	stepBy           time.Duration
	tso, firstTSO    int
	shift            time.Duration // how far later than its own the current ordered run is replayed
	afterEnd         int           // stack frames sent after the capture's end that nothing recorded answers
	endSegs, endData int           // the host's segments (and bytes) the stack could not send for want of an ACK the capture lacks
	gaps             int           // holes in the host's streams
	gapBytes         int64
	peerGaps         int // holes in the peers' streams that the host acknowledged
	expired          int // frames to the host a router answered with Time Exceeded
	firstExpired     int
	otherMAC         int // frames to the host's address sent to another MAC
	firstOtherMAC    int
	otherMACAddr     net.HardwareAddr
	snap             int // IEEE 802.3 frames with an LLC/SNAP header, read as Ethernet II
	reordered        int // peer SYN-ACKs captured before the SYN they answer
	firstReordered   int
	reorderedSYN     int
}

// duplicate reports whether the record is a capture's duplicate of a frame just before it,
// counting it.
func (e *engine) duplicate(data []byte, rec *capture.Record) bool {
	if len(data) < 14+20 || binary.BigEndian.Uint16(data[12:14]) != 0x0800 {
		return false
	}
	if !e.recent.seen(data[14:], rec.Time) {
		return false
	}
	if e.art.dups == 0 {
		e.art.firstDup = rec.Number
	}
	e.art.dups++
	return true
}

// ordered returns the virtual time of a record: its capture time, shifted so that time never
// runs back. A capture whose clock steps back (a host's clock set back, captures merged) is
// replayed as its ordered runs one after another: the run that begins where the clock stepped
// back follows the one before it.
func (e *engine) ordered(rec *capture.Record) time.Time {
	at := clock.Epoch.Add(rec.Time.Sub(e.sc.start) + e.art.shift)
	if at.Before(e.now) {
		back := e.now.Sub(at)
		if e.art.steps == 0 {
			e.art.firstStep, e.art.stepBy = rec.Number, back
		}
		e.art.steps++
		e.art.shift += back
		at = e.now
	}
	return at
}

// tsoLength gives an IPv4 datagram whose total length field is 0 (captured before TCP
// segmentation offload filled it in: Linux, Windows) the length of the frame, in a copy.
func (e *engine) tsoLength(data []byte) []byte {
	if len(data) < 14+20 || binary.BigEndian.Uint16(data[12:14]) != 0x0800 || binary.BigEndian.Uint16(data[16:18]) != 0 || data[14]>>4 != 4 {
		return data
	}
	if e.art.tso == 0 {
		e.art.firstTSO = e.frame
	}
	e.art.tso++
	f := append([]byte(nil), data...)
	n := len(f) - 14
	if n > 0xffff {
		return f // larger than IPv4 can say: splitSegment cuts it into MTU-sized ones
	}
	binary.BigEndian.PutUint16(f[16:18], uint16(n))
	harness.SetIPv4Checksum(f[14 : 14+int(f[14]&0x0f)*4])
	return f
}

// reportArtefacts adds a line for each kind of artefact found.
func (e *engine) reportArtefacts() {
	a := &e.art
	if a.dups > 0 {
		e.artefact("%s, each a byte-for-byte repeat of the IPv4 datagram just before it within %d ms (a capture of a capture, or one frame seen on two interfaces), first at frame %d: not replayed",
			plural(a.dups, "duplicate frame", "duplicate frames"), dupWindow.Milliseconds(), a.firstDup)
	}
	if a.steps > 0 {
		more := ""
		if a.steps > 1 {
			more = fmt.Sprintf(" (and %d more times)", a.steps-1)
		}
		e.artefact("the capture's clock steps back at frame %d, by %.6f s%s: replayed as ordered runs, each following the one before",
			a.firstStep, a.stepBy.Seconds(), more)
	}
	if a.tso > 0 {
		e.artefact("%s with IPv4 total length 0 (captured before TCP segmentation offload), first at frame %d: the length taken from the frame, split to the MTU",
			plural(a.tso, "frame", "frames"), a.firstTSO)
	}
	if a.gaps > maxGapsListed || a.peerGaps > maxGapsListed {
		e.artefact("more capture gaps than listed: %d in the host's streams (%d bytes in all), %d in its peers'", a.gaps, a.gapBytes, a.peerGaps)
	}
	if a.expired > 0 {
		e.artefact("%s to %v that a router answered with ICMP Time Exceeded (a traceroute's probes), first at frame %d: they never reached it, and are not injected",
			plural(a.expired, "frame", "frames"), e.sc.host, a.firstExpired)
	}
	if a.otherMAC > 0 {
		e.artefact("%s to %v went to another MAC than the host's, first at frame %d (%v: a man in the middle, a second router?): delivered to the stack all the same",
			plural(a.otherMAC, "frame", "frames"), e.sc.host, a.firstOtherMAC, a.otherMACAddr)
	}
	if a.snap > 0 {
		e.artefact("%s in IEEE 802.3 LLC/SNAP encapsulation (RFC 1042), read as the Ethernet II frames they carry",
			plural(a.snap, "frame", "frames"))
	}
	if a.reordered > 0 {
		e.artefact("%s captured before the host's SYN it answers, first at frame %d (the SYN at frame %d): replayed right after the SYN",
			plural(a.reordered, "SYN-ACK of a peer", "SYN-ACKs of peers"), a.firstReordered, a.reorderedSYN)
	}
	if a.endSegs > 0 {
		e.artefact("the capture ends before the peer acknowledges what the stack had sent: the recorded host's last %s (%d bytes), which the stack could send only once acknowledged, not judged",
			plural(a.endSegs, "data segment", "data segments"), a.endData)
	}
	if a.afterEnd > 0 {
		e.artefact("the capture ends at frame %d: %s the stack sent after it, which nothing recorded answers, not judged (its retransmissions of what the capture never shows acknowledged, say)",
			e.sc.records, plural(a.afterEnd, "segment", "segments"))
	}
}

func (e *engine) artefact(format string, args ...any) {
	e.rep.Artefacts = append(e.rep.Artefacts, fmt.Sprintf(format, args...))
}

// afterEnd reports whether the replay is past the capture's last record: what the stack sends
// then is judged only as far as it answers the recorded host.
func (e *engine) afterEnd() bool { return !e.end.IsZero() && e.now.After(e.end) }

// Loopback captures: both ends of every conversation have the one address (127.0.0.1, say)
// and no MAC (zeros), which no stack can take. The ends are told apart by port: the end that
// answered SYNs on a port (scan.listen) gets loopServer, the other loopClient, each with a MAC
// made up from its address, in both passes; the stack plays the end Options.Client asks for.
var (
	loopServer = netip.MustParseAddr("198.18.0.2")
	loopClient = netip.MustParseAddr("198.18.0.1")
)

// unloop gives the two ends of a loopback capture's TCP segment addresses of their own (see
// loopServer), in a copy; other frames are returned as they are.
func (s *scan) unloop(data []byte) []byte {
	if !s.loopback.IsValid() || len(data) < 14+20 || binary.BigEndian.Uint16(data[12:14]) != 0x0800 {
		return data
	}
	ip := data[14:]
	hl := int(ip[0]&0x0f) * 4
	lo := s.loopback.As4()
	if ip[9] != 6 || hl < 20 || len(ip) < hl+20 || [4]byte(ip[12:16]) != lo || [4]byte(ip[16:20]) != lo {
		return data
	}
	f := append([]byte(nil), data...)
	ip, seg := f[14:], f[14+hl:]
	src, dst := loopClient, loopServer
	if s.listen[binary.BigEndian.Uint16(seg[0:2])] {
		src, dst = loopServer, loopClient
	}
	sm, dm := madeUpMAC(src), madeUpMAC(dst)
	copy(f[0:6], dm[:])
	copy(f[6:12], sm[:])
	sa, da := src.As4(), dst.As4()
	copy(ip[12:16], sa[:])
	copy(ip[16:20], da[:])
	harness.SetIPv4Checksum(ip[:hl])
	if total := int(binary.BigEndian.Uint16(ip[2:])); total >= hl+20 && total <= len(ip) {
		harness.SetTCPChecksum(ip[:hl], ip[hl:total])
	}
	return f
}

// maxGapsListed bounds the capture gaps the report lists one by one.
const maxGapsListed = 20

// gap reports bytes of the host's stream that the capture lacks, before the segment of the
// record being replayed.
func (e *engine) gap(c *conv, n uint32) {
	c.gaps++
	e.art.gaps++
	e.art.gapBytes += int64(n)
	if e.art.gaps <= maxGapsListed {
		e.artefact("capture gap at frame %d: %s of the host's stream not captured (%s), written by the application all the same, not compared",
			e.frame, plural(int(n), "byte", "bytes"), c.name)
	}
}

// fillPeerGap injects, as zeros, the bytes of the peer's stream that the recorded host
// acknowledges (up to ack, relative to the peer's ISN) but the capture never showed: sent
// before it began (a conversation joined mid-stream) or lost to it ("previous segment not
// captured"). The host had them; the stack must too, or every later ACK differs.
func (c *conv) fillPeerGap(ack uint32) {
	n := ack - c.peerContig
	for _, r := range c.peerAhead {
		if seqGreater(ack, r[0]) {
			n -= min(r[1], ack) - r[0]
		}
	}
	if n == 0 || n > 64<<20 {
		return
	}
	e := c.e
	c.gaps++
	switch {
	case c.fill.line > 0 && c.fill.end == c.peerContig:
		// The same gap, acknowledged a bit further: one line for it.
		c.fill.bytes += int(n)
		e.rep.Artefacts[c.fill.line-1] = c.fill.text(c.name)
	default:
		e.art.peerGaps++
		if e.art.peerGaps <= maxGapsListed {
			c.fill = gapFill{frame: e.frame, bytes: int(n)}
			e.rep.Artefacts = append(e.rep.Artefacts, c.fill.text(c.name))
			c.fill.line = len(e.rep.Artefacts)
		}
	}
	c.fill.end = ack
	// Only the holes: what the capture showed past one is the stack's already.
	for seqGreater(ack, c.peerContig) {
		holeEnd := ack
		if len(c.peerAhead) > 0 && seqGreater(holeEnd, c.peerAhead[0][0]) {
			holeEnd = c.peerAhead[0][0]
		}
		c.injectZeros(c.peerContig, holeEnd)
		c.peerSpan(c.peerContig, holeEnd)
	}
	if seqGreater(ack, c.peerGiven) {
		c.peerGiven = ack
	}
}

// injectZeros injects peer segments of zeros over [from, to) of the peer's stream (relative),
// built on the headers of its last pure ACK or data segment (peerTmpl): pure ACKs but for
// their payload.
func (c *conv) injectZeros(from, to uint32) {
	b := c.builder()
	var zeros []byte
	for off := from; seqGreater(to, off); {
		if !b.template(c.peerTmpl) {
			return // cannot happen: it was injected
		}
		t := &b.tcp
		room := uint32(maxFrame - 14 - int(b.ip.IHL)*4 - int(t.DataOffset)*4)
		k := min(room, to-off)
		if zeros == nil {
			zeros = make([]byte, k)
		}
		t.Seq = c.peerISN + off
		t.FIN, t.SYN, t.RST, t.PSH, t.ACK, t.URG, t.ECE, t.CWR = false, false, false, false, true, false, false, false
		c.e.inject(b.segment(zeros[:k]), fmt.Sprintf("mtcp-replay: %d bytes of the peer's stream not in the capture (acknowledged by the recorded host at frame %d), as zeros", k, c.e.frame))
		off += k
	}
}

// maxAhead bounds the peer ranges kept past a hole: flat memory.
const maxAhead = 64

// peerSpan notes that the peer's stream [start, end) (relative) was injected: the stream
// without a hole grows, and ranges past a hole are kept until it is filled.
func (c *conv) peerSpan(start, end uint32) {
	if !seqGreater(end, c.peerContig) {
		return
	}
	if seqGreater(start, c.peerContig) {
		i := 0
		for i < len(c.peerAhead) && seqGreater(start, c.peerAhead[i][0]) {
			i++
		}
		switch {
		case i > 0 && !seqGreater(start, c.peerAhead[i-1][1]):
			// Touches or overlaps the range before it, as segments in order past a hole do.
			if seqGreater(end, c.peerAhead[i-1][1]) {
				c.peerAhead[i-1][1] = end
			}
		case len(c.peerAhead) < maxAhead:
			c.peerAhead = append(c.peerAhead, [2]uint32{})
			copy(c.peerAhead[i+1:], c.peerAhead[i:])
			c.peerAhead[i] = [2]uint32{start, end}
		}
		return
	}
	c.peerContig = end
	for len(c.peerAhead) > 0 && !seqGreater(c.peerAhead[0][0], c.peerContig) {
		if seqGreater(c.peerAhead[0][1], c.peerContig) {
			c.peerContig = c.peerAhead[0][1]
		}
		c.peerAhead = c.peerAhead[1:]
	}
}

// gapFill is the last gap of a peer's stream the replay filled, so that one acknowledged
// piece by piece is said once.
type gapFill struct {
	frame, bytes int
	line         int    // its line in Report.Artefacts, +1 (0: none)
	end          uint32 // where it ends, relative to the peer's ISN
}

func (g gapFill) text(conv string) string {
	return fmt.Sprintf("capture gap at frame %d: %s of the peer's stream not captured (%s), acknowledged by the recorded host: injected as zeros",
		g.frame, plural(g.bytes, "byte", "bytes"), conv)
}

// A peer's SYN-ACK captured before the host's SYN it answers (the two crossed on their way
// to the capture point, or the capture's clock misorders them) is held, and replayed right
// after the SYN, as it reached the host.

// maxEarly bounds the SYN-ACKs held: flat memory.
const maxEarly = 64

// heldFrame is a frame replayed later than captured.
type heldFrame struct {
	data  []byte
	frame int
	at    time.Time // its capture time
}

// holdSynAck holds the peer's SYN-ACK being replayed, for a conversation not begun yet, and
// reports whether it did.
func (e *engine) holdSynAck(key convKey, data []byte) bool {
	if e.early == nil {
		e.early = map[convKey]heldFrame{}
	}
	if _, ok := e.early[key]; ok || len(e.early) >= maxEarly {
		return false
	}
	e.early[key] = heldFrame{append([]byte(nil), data...), e.frame, e.recTime}
	return true
}

// synSent replays, after the host's SYN that begins the conversation key, the SYN-ACK held
// for it.
func (e *engine) synSent(key convKey) {
	if h, ok := e.early[key]; ok {
		delete(e.early, key)
		e.again = append(e.again, h)
		if e.art.reordered == 0 {
			e.art.firstReordered, e.art.reorderedSYN = h.frame, e.frame
		}
		e.art.reordered++
	}
}

// replayHeld replays the frames held for now (synSent), once what the record before them
// made the stack send is taken; frame is that record's, to go back to.
func (e *engine) replayHeld(frame int) {
	for len(e.again) > 0 {
		h := e.again[0]
		e.again = e.again[1:]
		e.frame = h.frame
		e.inRecord, e.recTime = true, h.at
		e.d.decode(h.data)
		e.ipRecord(h.data, "")
		e.inRecord = false
		e.step()
	}
	e.frame = frame
}

// unanswered counts the SYN-ACKs held that no SYN of the host ever came for.
func (e *engine) unanswered() {
	for key, h := range e.early {
		e.skip("conversations that began before the capture")
		if len(e.rep.NotReplayed) < maxListed {
			e.rep.NotReplayed = append(e.rep.NotReplayed, Skipped{fmt.Sprintf("%v -> %v:%d", key.peer, e.sc.host, key.port),
				fmt.Sprintf("the capture shows its SYN-ACK (frame %d), never the host's SYN", h.frame)})
		}
	}
	sort.Slice(e.rep.NotReplayed, func(i, j int) bool { return e.rep.NotReplayed[i].Name < e.rep.NotReplayed[j].Name })
	e.early = nil
}

// toHostMAC gives a frame to the host's address that went to another unicast MAC (a man in
// the middle after ARP spoofing, a second router, a capture in promiscuous mode) the host's
// MAC, in a copy: the replay plays the host by its address.
func (e *engine) toHostMAC(data []byte) []byte {
	if data[0]&1 != 0 || bytes.Equal(data[:6], e.sc.hostMAC) || bytes.Equal(data[:6], e.sc.stackMAC) {
		return data
	}
	if e.art.otherMAC == 0 {
		e.art.firstOtherMAC, e.art.otherMACAddr = e.frame, net.HardwareAddr(append([]byte(nil), data[:6]...))
	}
	e.art.otherMAC++
	f := append([]byte(nil), data...)
	copy(f, e.sc.hostMAC)
	return f
}

// expiredOnTheWay counts a frame to the host that a router answered with Time Exceeded.
func (e *engine) expiredOnTheWay() {
	if e.art.expired == 0 {
		e.art.firstExpired = e.frame
	}
	e.art.expired++
	e.skip("frames to the host that expired on the way (a router answered Time Exceeded)")
}
