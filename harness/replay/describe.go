package replay

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// How the report numbers and describes a conversation's segments, and what --compare adds to
// the comparison of its control segments. The state lives in conv.cmp.
//
// Sequence numbers are relative, as Wireshark shows them by default: the recorded host's and
// the peer's to their ISNs as the capture shows them, the stack's to its own ISN, so that the
// recorded host's numbers and the stack's line up (both count the same bytes of the same
// application). Options.Absolute shows them as sent instead, every number of the report alike.
// A side whose SYN the replay never saw (a reset from a closed port, a SYN damaged in the
// capture) is numbered from its first number seen, less one, as Wireshark does; the recorded
// host and the stack then share that base, since their numbers are compared as they are.

// convCompare is a conversation's numbering and comparison state beyond conv's own.
type convCompare struct {
	ownGuess  seqGuess // the base of the host's and the stack's numbers when their ISN is unknown
	peerGuess seqGuess // the base of the peer's, likewise

	// Window scale shifts (RFC 7323 2.2) of each side's SYN, and whether it was seen.
	hostWS, stackWS, peerWS                int
	hostSYNSeen, stackSYNSeen, peerSYNSeen bool

	// acks are the stack's ack advances, oldest first, so that a recorded ACK matched later
	// can name the stack's frame that reached it (the output's comments).
	acks []ackMark

	// The stack's first retransmission beyond the recorded host's, for the report.
	firstRetransDesc string
	firstRetransAt   time.Time
}

type ackMark struct {
	ack uint32 // relative to the peer's ISN
	out *outFrame
}

// maxAckMarks bounds the ack advances kept for the output's comments: flat memory.
const maxAckMarks = 256

// seqGuess is a numbering base taken from the first number seen.
type seqGuess struct {
	base uint32
	ok   bool
}

func (g *seqGuess) of(abs uint32) uint32 {
	if !g.ok {
		g.base, g.ok = abs-1, true
	}
	return abs - g.base
}

// hostSeq, stackSeq and peerSeq render a sequence number of the recorded host, the stack and
// the peer (the acks of the first two are the peer's numbers).
func (c *conv) hostSeq(abs uint32) uint32 {
	return c.relative(abs, c.hostISN, c.hostISNOK, &c.cmp.ownGuess)
}

func (c *conv) stackSeq(abs uint32) uint32 {
	return c.relative(abs, c.stackISN, c.stackOK, &c.cmp.ownGuess)
}

func (c *conv) peerSeq(abs uint32) uint32 {
	return c.relative(abs, c.peerISN, c.peerISNOK, &c.cmp.peerGuess)
}

// relative is abs counted from isn when it is known, from the guessed base otherwise, or
// abs itself with --absolute.
func (c *conv) relative(abs, isn uint32, known bool, guess *seqGuess) uint32 {
	switch {
	case c.e.opts.Absolute:
		return abs
	case known:
		return abs - isn
	}
	return guess.of(abs)
}

// hostByte and stackByte render the sequence number of a byte offset in the recorded host's
// stream and in the stack's (the SYN takes number 0 relative, so offset 0 is 1).
func (c *conv) hostByte(off uint32) uint32  { return c.hostSeq(c.hostISN + 1 + off) }
func (c *conv) stackByte(off uint32) uint32 { return c.stackSeq(c.stackISN + 1 + off) }

// asStacks renders, in absolute numbers only, bytes [from, to) of the stream as the stack
// numbers them (", the stack's 5001:5085"): the recorded host's and the stack's numbers are
// then apart, while relative ones are the same.
func (c *conv) asStacks(from, to uint32) string {
	if !c.e.opts.Absolute || !c.stackOK {
		return ""
	}
	return fmt.Sprintf(", the stack's %d:%d", c.stackByte(from), c.stackByte(to))
}

// render gives a recorded host's segment its description and the ack the report shows, once,
// and returns the description. Most segments are matched and never shown, so it is done when
// needed, but at once while the numbering takes a base from the first number seen.
func (c *conv) render(x *tcpExp) string {
	if x.desc == "" {
		if x.raw.ackFlag {
			x.ackShown = c.peerSeq(x.raw.ack)
		}
		x.desc = segDesc(x.raw.flags, c.hostSeq(x.raw.seq), x.raw.n, x.ackShown, x.raw.ackFlag, x.win, x.opts)
	}
	return x.desc
}

// stackDesc describes a segment of the stack (render, one of the recorded host).
func (c *conv) stackDesc(t *layers.TCP, flags uint8, opts string) string {
	return segDesc(flags, c.stackSeq(t.Seq), len(t.Payload), c.ackShown(t), t.ACK, t.Window, opts)
}

// ackShown is the ack of a segment of the recorded host or the stack as the report shows it;
// 0 without ACK (the field means nothing then).
func (c *conv) ackShown(t *layers.TCP) uint32 {
	if !t.ACK {
		return 0
	}
	return c.peerSeq(t.Ack)
}

// wscaleOf returns the shift of a window scale option, if the options hold one.
func wscaleOf(opts []layers.TCPOption) (int, bool) {
	for _, o := range opts {
		if o.OptionType == layers.TCPOptionKindWindowScale && len(o.OptionData) == 1 {
			return min(int(o.OptionData[0]), 14), true // RFC 7323 2.3: at most 14
		}
	}
	return 0, false
}

// noteSYN takes the window scale of a SYN or SYN-ACK: the recorded host's, the stack's or the
// peer's. ws is -1 when the segment has none.
func noteSYN(seen *bool, ws *int, t *layers.TCP) {
	if *seen {
		return
	}
	*seen = true
	if s, ok := wscaleOf(t.Options); ok {
		*ws = s
	} else {
		*ws = -1
	}
}

// peerSYN takes the peer's SYN or SYN-ACK the replay just injected (e.d), for the window
// scale it offered. Called after tcpToHost.
func (e *engine) peerSYN() {
	t := &e.d.tcp
	if !t.SYN {
		return
	}
	c := e.convOf(convKey{uint16(t.DstPort), netip.AddrPortFrom(e.d.srcIP(), uint16(t.SrcPort))})
	if c != nil {
		noteSYN(&c.cmp.peerSYNSeen, &c.cmp.peerWS, t)
	}
}

// scale is the shift a side's windows take once the handshake is over: its own, when both
// it and the peer offered one (RFC 7323 2.2); 0 otherwise, or when the SYNs are not known.
func (c *conv) scale(own int, ownSeen bool) int {
	if !ownSeen || !c.cmp.peerSYNSeen || own < 0 || c.cmp.peerWS < 0 {
		return 0
	}
	return own
}

// windowDiff compares the windows of the stack's control segment and the recorded host's:
// those of SYNs as they are (a SYN's window is never scaled), the others scaled by what each
// side negotiated. It returns "" when they are the same.
func (c *conv) windowDiff(s *ctlSeg, x *tcpExp) string {
	if x.flags&flSYN != 0 {
		if s.win == x.win {
			return ""
		}
		return fmt.Sprintf("window %d, recorded %d (a SYN's window is not scaled)", s.win, x.win)
	}
	ss, hs := c.scale(c.cmp.stackWS, c.cmp.stackSYNSeen), c.scale(c.cmp.hostWS, c.cmp.hostSYNSeen)
	sw, hw := uint64(s.win)<<ss, uint64(x.win)<<hs
	if sw == hw {
		return ""
	}
	return fmt.Sprintf("window %d (%d << scale %d), recorded %d (%d << scale %d)", sw, s.win, ss, hw, x.win, hs)
}

// ctlKey identifies a control segment for telling retransmissions apart: its control bits
// (a reset's without ACK, so that RST and RST+ACK pair) and sequence number.
func ctlKey(flags uint8, seq uint32) uint64 {
	if flags&flRST != 0 {
		flags &^= flACK
	}
	return uint64(flags)<<32 | uint64(seq)
}

// sameControl says whether the stack's control bits s answer the recorded host's x: the same,
// or resets that differ in ACK alone (reported only with Options.CompareRSTACK).
func sameControl(s, x uint8) bool {
	return s == x || (s&flRST != 0 && x&flRST != 0 && s^x == flACK)
}

// rstACKDiff says how a paired reset differs in its ACK bit, with Options.CompareRSTACK.
func (c *conv) rstACKDiff(s *ctlSeg, x *tcpExp) string {
	if !c.e.opts.CompareRSTACK || s.flags == x.flags {
		return ""
	}
	if s.flags&flACK != 0 {
		return "the stack's reset carries an ACK, the recorded host's does not"
	}
	return "the recorded host's reset carries an ACK, the stack's does not"
}

// ackAdvanced records that the stack's frame out took its ack to ack.
func (c *conv) ackAdvanced(ack uint32, out *outFrame) {
	if len(c.cmp.acks) == maxAckMarks {
		c.cmp.acks = append(c.cmp.acks[:0], c.cmp.acks[1:]...)
	}
	c.cmp.acks = append(c.cmp.acks, ackMark{ack, out})
}

// ackMatched names, on the stack's frame that first acknowledged as far as the recorded
// host's ACK x, the capture frame of x; the ack advances before it are of no more use.
func (c *conv) ackMatched(x *tcpExp) {
	for i, m := range c.cmp.acks {
		if !seqGreater(x.ack, m.ack) {
			m.out.corresponds(x.frame)
			c.cmp.acks = append(c.cmp.acks[:0], c.cmp.acks[i:]...)
			return
		}
	}
}

// dataNotes comments the stack's data segment, bytes [start, end) of its stream, with the
// recorded host's segments whose bytes it carries, or as a retransmission.
func (c *conv) dataNotes(start, end uint32, retrans bool, out *outFrame) {
	if out == nil {
		return
	}
	found := false
	for _, x := range c.exps {
		if x.kind == expData && seqGreater(end, x.seq) && seqGreater(x.end, start) {
			out.corresponds(x.frame)
			found = true
		}
	}
	if retrans {
		out.note("a retransmission of %d:%d", c.stackByte(start), c.stackByte(end))
	} else if !found {
		out.fallback = "extra: no recorded frame corresponds (the recorded host's segment with these bytes was reported as not sent, or they were never awaited)"
	}
}

// times renders a count of times: "once", "twice", "3 times", "never".
func times(n int) string {
	switch n {
	case 0:
		return "never"
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}

// plural renders n things: "1 difference", "2 differences".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// frameList renders capture frames: "frame 3", "frames 3, 4 and 7".
func frameList(fs []int) string {
	if len(fs) == 1 {
		return fmt.Sprintf("frame %d", fs[0])
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprint(f)
	}
	return "frames " + strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
