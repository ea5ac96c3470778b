package replay

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/mtcp-go/mtcp/harness"
)

// peerState is what the newest segment of the peer injected in a conversation said of the
// peer's state: how far it acknowledged, its receive window and its options. A held ACK is
// given back later than the peer sent it, after newer segments of the peer (window updates,
// its FIN): it advertises these, not the window and SACK blocks it was recorded with, which
// those segments superseded. The stack takes the window of the segment with the newest
// sequence and acknowledgement numbers (RFC 9293 3.10.7.4), and a held ACK given back
// carries the peer's newest of both: with its own window, a zero window the peer had long
// reopened would close the stack's again, and nothing the peer sends after its FIN would
// reopen it.
//
// A window is a right edge: the peer takes bytes up to its ack plus its window. An ACK that
// acknowledges less than the peer did (held at what the stack has sent, or given back as far
// as the stack has sent) advertises the peer's right edge, not its window field counted from
// the lower ack: the peer had room for every byte it acknowledged, and a zero window closes
// after them, where the recorded host stopped, not where the stack, slower, has got to.
type peerState struct {
	ok   bool
	ack  uint32 // its ack as recorded, an offset in the stack's stream (+1 for the SYN): not held back
	win  uint16 // the window field as the peer sent it: scaled (RFC 7323 2.3), but in a SYN
	syn  bool   // it came in a SYN, whose window is never scaled (RFC 7323 2.2)
	opts []byte // its TCP options, rebased: SACK blocks in the stack's sequence space, TS echo on its clock
	// wscale is the window scale the peer's SYN offered, -1 if none: the shift the stack
	// applies to its windows once both SYNs carried the option, when the stack cannot be asked.
	wscale int
	// shift is the shift the stack applies to the peer's windows, once its connection is
	// synchronized (it does not change after).
	shift      uint8
	shiftKnown bool
}

// notePeerSegment keeps what a segment of the peer about to be injected says of its state:
// seg is its TCP header and payload, rebased; ack is its ack as recorded, an offset in the
// stack's stream, and win its window field as recorded (a held ACK goes in with others). Only
// segments with an ACK advertise a window the stack takes, and a reset's window means nothing.
func (c *conv) notePeerSegment(seg []byte, ack uint32, win uint16) {
	flags := seg[13]
	if flags&flSYN != 0 {
		c.newest.wscale = -1
		eachOption(seg, func(kind byte, o []byte) {
			if kind == 3 && len(o) == 3 {
				c.newest.wscale = int(o[2])
			}
		})
	}
	if flags&flACK == 0 || flags&flRST != 0 {
		return
	}
	c.newest.ok = true
	c.newest.ack, c.newest.win = ack, win
	c.newest.syn = flags&flSYN != 0
	c.newest.opts = append(c.newest.opts[:0], seg[20:int(seg[12]>>4)*4]...)
}

// peerWindow is the window field a held ACK given back with ack (an offset in the stack's
// stream) advertises: the right edge of the peer's newest segment (windowAt). Without a
// segment of the peer noted, the held ACK's own field.
func (c *conv) peerWindow(ack uint32, own uint16) uint16 {
	if !c.newest.ok {
		return own
	}
	return c.windowAt(c.newest.ack, c.newest.win, c.newest.syn, ack)
}

// windowAt is the window field that, with the ack at (an offset in the stack's stream),
// advertises the right edge a segment of the peer advertised with ack and its window field
// win: the bytes from at to ack, which the peer acknowledged, and its window past them,
// scaled by the shift the peer negotiated (a SYN's window is never scaled), rounded up to
// the next unit of that shift and at most 0xffff units. At ack itself, win (but a SYN's,
// scaled down). An at past ack (a segment of the peer out of order) counts the window from
// at.
func (c *conv) windowAt(ack uint32, win uint16, syn bool, at uint32) uint16 {
	shift := c.peerWindowShift()
	edge := uint64(win) // bytes past ack the peer takes
	if !syn {
		edge <<= shift
	}
	if seqGreater(ack, at) {
		edge += uint64(ack - at)
	}
	return uint16(min((edge+1<<shift-1)>>shift, 0xffff))
}

// peerWindowShift is the shift the stack applies to the peer's window fields: the peer's
// window scale when both SYNs carried the option (RFC 7323 2.2), as the stack's connection
// says (askShift); before the stack has one, the peer's offer (the stack offers window scaling
// by default).
func (c *conv) peerWindowShift() uint8 {
	if c.newest.shiftKnown {
		return c.newest.shift
	}
	if c.hasFD {
		shift, final := c.askShift()
		if final {
			c.newest.shift, c.newest.shiftKnown = shift, true
		}
		return shift
	}
	if c.newest.wscale < 0 {
		return 0
	}
	return uint8(min(c.newest.wscale, 14)) // RFC 7323 2.3: larger shifts count as 14
}

// askShift asks the stack for the shift it applies to the peer's window fields on the
// conversation's socket (tcp_info's tcpi_snd_wscale, with window scaling in tcpi_options),
// and whether it is final: the connection is synchronized, or the socket is about to be closed
// (closing), after which nothing changes it.
func (c *conv) askShift() (shift uint8, final bool) {
	in, err := c.e.socks.TCPInfo(c.fd)
	if err != nil {
		return 0, false
	}
	if in["tcpi_options"]&tcpiOptWScale != 0 {
		shift = uint8(in["tcpi_snd_wscale"])
	}
	switch harness.TCPState(in["tcpi_state"]) {
	case harness.TCPClose, harness.TCPListen, harness.TCPSynSent, harness.TCPSynRecv:
		return shift, false
	}
	return shift, true
}

// closing notes, before the application closes its socket, what the replay asks of it later:
// the shift of the peer's windows, which the connection keeps as it was.
func (c *conv) closing() {
	if !c.newest.shiftKnown {
		c.newest.shift, _ = c.askShift()
		c.newest.shiftKnown = true
	}
}

// releasedOptions are the options of a held ACK given back with ack (an offset in the
// stack's stream): the peer's newest options, with, for timestamps, the TS echo the held ACK
// carried, rebased (it echoes the data acknowledged, for the stack's RTT; releasedAck raises
// the TSval to the peer's newest), and for SACK the blocks of the peer's newest segment still
// above ack (a block below it would read as a D-SACK, RFC 2883). held is the held segment:
// its own options stand when no segment of the peer was noted. At most 40 bytes: SACK blocks
// that do not fit are left out.
func (c *conv) releasedOptions(held []byte, ack uint32) []byte {
	src := held[20 : int(held[12]>>4)*4]
	if c.newest.ok {
		src = c.newest.opts
	}
	var heldTS []byte
	eachOption(held, func(kind byte, o []byte) {
		if kind == 8 && len(o) == 10 {
			heldTS = o
		}
	})
	out := make([]byte, 0, 40)
	var ts []byte
	var sack [][]byte
	for len(src) > 0 {
		kind := src[0]
		if kind == 0 {
			break
		}
		if kind == 1 {
			src = src[1:]
			continue
		}
		if len(src) < 2 || int(src[1]) < 2 || int(src[1]) > len(src) {
			break // malformed: what follows cannot be read
		}
		o := src[:src[1]]
		src = src[src[1]:]
		switch {
		case kind == 8 && len(o) == 10:
			ts = append([]byte(nil), o...)
			if heldTS != nil {
				copy(ts[6:], heldTS[6:]) // the held ACK's echo
			}
		case kind == 5:
			edge := c.stackISN + ack
			for i := 2; i+8 <= len(o); i += 8 {
				if seqGreater(binary.BigEndian.Uint32(o[i+4:]), edge) {
					sack = append(sack, o[i:i+8])
				}
			}
		default:
			out = append(out, o...)
		}
	}
	if ts != nil {
		if len(out)+2+len(ts) <= 40 {
			out = append(out, 1, 1) // aligned, as Linux sends it
		}
		out = append(out, ts...)
	}
	if n := min(len(sack), (40-len(out)-4)/8); n > 0 {
		out = append(out, 1, 1, 5, byte(2+8*n))
		for _, b := range sack[:n] {
			out = append(out, b...)
		}
	}
	for len(out)%4 != 0 {
		out = append(out, 0)
	}
	return out
}

// releasedAck makes a held ACK into the pure ACK the peer sends when it is given back: the
// held frame's addresses and ports, of ack (an offset in the stack's stream), at the peer's
// next sequence number, with its newest TSval, window and options as they are by then (the
// peer's FIN and window updates, say, may have gone in meanwhile: releasedOptions,
// peerWindow), so that the stack takes it as current and as all the peer says.
func (c *conv) releasedAck(held []byte, ack uint32) []byte {
	b := c.builder()
	if !b.template(held) {
		return append([]byte(nil), held...) // cannot happen: it was taken apart when it was held
	}
	t := &b.tcp
	opts := c.releasedOptions(b.ip.Payload, ack)
	if c.peerTSOK {
		raiseTSValIn(opts, c.peerTS)
	}
	t.Window = c.peerWindow(ack, t.Window)
	t.Seq, t.Ack, t.Urgent = c.peerISN+c.peerGiven, c.stackISN+ack, 0
	t.FIN, t.PSH, t.SYN, t.RST, t.URG = false, false, false, false, false
	t.Options = tcpOptions(opts, t.Options)
	return b.segment(nil)
}

// builder is the engine's frame builder; a conversation without an engine (a test's) has one
// of its own.
func (c *conv) builder() *frameBuilder {
	if c.e != nil {
		return c.e.builder()
	}
	return newFrameBuilder()
}

// collapsedNote is the comment of a held ACK given back for several at once: the capture
// frames they came from; the newest information (its ack, window and options) stands for
// them all.
func collapsedNote(frames []int) string {
	if len(frames) == 1 {
		return fmt.Sprintf("capture frame %d, its ack replayed once the stack had sent what it acknowledges", frames[0])
	}
	s := make([]string, len(frames))
	for i, f := range frames {
		s[i] = fmt.Sprint(f)
	}
	return fmt.Sprintf("capture frames %s, their acks replayed as one once the stack had sent what they acknowledge", strings.Join(s, ", "))
}

// tcpiOptWScale is Linux's TCPI_OPT_WSCALE bit of tcpi_options (include/uapi/linux/tcp.h).
const tcpiOptWScale = 4
