package tcp

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// A mid-stream join: a connection that is already ESTABLISHED when the stack first hears of
// it, as a packet capture shows a conversation whose SYNs came before the capture began. There
// is no handshake to replay (RFC 9293 3.5), so the state it would have left is given instead:
// the sequence numbers each side stands at, and the options the two SYNs agreed on.

// ErrInvalidJoinState is returned by Join for a JoinState that no handshake could have left:
// a window scale outside 0..14 or on one way only, a peer's window its window field cannot
// say, a receive buffer the window scale cannot advertise, or an MSS outside 0..65535.
var ErrInvalidJoinState = errors.New("tcp: invalid join state")

// JoinState is what a capture shows of a connection established before it began. Nothing
// this side sent may be in flight: SND.UNA = SND.NXT.
type JoinState struct {
	Local  uint16         // the local port; the address is the layer's (Host.LocalAddr)
	Remote netip.AddrPort // the peer's address and port
	SndNxt uint32         // SND.NXT, the next sequence number this side sends; SND.UNA is the same
	RcvNxt uint32         // RCV.NXT, the next sequence number expected from the peer
	SndWnd uint32         // SND.WND, the peer's window in bytes, already scaled; 0 is a zero window
	// MSS is the MSS the peer announced, RFC 9293 3.7.1's SendMSS: as after a handshake, a
	// segment carries at most this, bounded by the path MTU, less the timestamp option when
	// Timestamps. 0 takes 536, as a SYN without the option does; values below 64 count as 64,
	// as in a handshake.
	MSS int
	// SndShift and RcvShift are the window scale shifts (RFC 7323 2): the peer's window field
	// is shifted left by SndShift, ours right by RcvShift. Both within 0..14, or both -1: no
	// window scaling (one SYN lacked the option).
	SndShift, RcvShift int
	Timestamps         bool        // RFC 7323 timestamps in use: every segment carries one, PAWS applies
	TSRecent           uint32      // TS.Recent, the peer's last TSval (RFC 7323 4.3); ignored without Timestamps
	SACK               bool        // SACK permitted both ways (RFC 2018 2)
	Buffers            BufferSizes // as for DialWith: zero keeps the Config's
}

// Join creates a connection already ESTABLISHED in the state j gives, for a conversation whose
// handshake predates the capture that shows it. Join sends nothing. The connection is in the
// layer's table like a dialed one, so the peer's segments find it, and it is readable and
// writable at once, like an accepted one; Stats.Joins counts it (not ActiveOpens, PassiveOpens
// or Established: no handshake completed).
//
// The control block is the one a handshake just completed would leave: ISS = SndNxt-1 and IRS
// = RcvNxt-1, as if each SYN had taken the sequence number just before, so relative sequence
// numbers count from 1; SND.UNA = SND.NXT = SndNxt; SND.WND = SndWnd, SND.WL1 = IRS and
// SND.WL2 = SND.UNA, so the next acceptable segment sets the window (RFC 9293 3.10.7.4); the
// congestion window the initial window (RFC 5681 3.1, Config.InitialWindow), in slow start;
// the RTO Config.RTOInitial (RFC 6298 2.1: 1 s by default), with no RTT sample yet; ECN off.
// The window advertised is the receive buffer as far as the window field says with RcvShift
// (at most 65535 << RcvShift), rounded down to the scale's unit so that the peer computes it
// exactly; a receive buffer smaller than that unit (1 << RcvShift) could only be advertised as
// a zero window, and is refused. The extensions are the ones j gives, whatever the Config's
// switches say: those choose what a SYN offers, and here the SYNs are past. Config.RACK still
// applies to a connection with SACK.
//
// Errors: ErrInvalidAddress for a remote address that is not IPv4, or is unspecified or
// multicast, or port 0 at either end (as DialWith); ErrInvalidJoinState for j's other fields
// (see there); ErrAddrInUse when the four-tuple has a connection, or a TIME-WAIT entry;
// ErrTooManyConns when the table is full (counted in Stats.TableFull). A listener on the
// local port is no obstacle: the connection is not its.
//
// Limits: nothing this side sent may be in flight. The stack holds no copy of data the
// capture shows sent and not yet acknowledged, so an ACK for it would acknowledge something
// not yet sent and be dropped with an ACK (RFC 9293 3.10.7.4, RFC 5961 5.2). A caller that
// joins with data in flight should give the peer's last cumulative ACK as SndNxt and write the
// bytes in flight again: they go at their sequence numbers, to the peer retransmissions. Data
// the peer has in flight is taken as any segment is, within the window advertised here, which
// need not be the recorded host's. Only ESTABLISHED can be joined: neither side's FIN may have
// been sent. Our TSval clock is the stack's own (keyed per connection, RFC 7323 7.1), not the
// recorded host's.
func (l *Layer) Join(j JoinState) (*Conn, error) {
	r := j.Remote
	if !r.Addr().Is4() || r.Port() == 0 || r.Addr().IsUnspecified() || r.Addr().IsMulticast() || j.Local == 0 {
		return nil, fmt.Errorf("%w: %v, local port %d", ErrInvalidAddress, r, j.Local)
	}
	bufs := j.Buffers.clamp()
	rcvBuf := l.cfg.ReceiveBuffer
	if bufs.Receive > 0 {
		rcvBuf = bufs.Receive
	}
	if err := j.check(rcvBuf); err != nil {
		return nil, err
	}
	t := tupleOf(netip.AddrPortFrom(l.host.LocalAddr(), j.Local), r)
	if l.conns[t] != nil || l.tw.entries[t] != nil {
		return nil, fmt.Errorf("%w: %v to %v", ErrAddrInUse, t.local(), t.remote())
	}
	if len(l.conns) >= l.cfg.MaxConnections {
		l.stats.TableFull++
		return nil, ErrTooManyConns
	}
	now := l.now()
	c := l.newConn(t, Established, bufs) // into the table; no handshake, so no setState

	// Send sequence space: nothing in flight, nothing buffered.
	c.iss = wire.Seq(j.SndNxt).Add(^uint32(0))
	c.sndUna, c.sndNxt, c.sndBufSeq = wire.Seq(j.SndNxt), wire.Seq(j.SndNxt), wire.Seq(j.SndNxt)
	c.cc.recover = c.iss // RFC 6582: recover starts at ISS, as in newConn
	// Receive sequence space.
	c.irs, c.rcvNxt = wire.Seq(j.RcvNxt).Add(^uint32(0)), wire.Seq(j.RcvNxt)

	// What the SYNs agreed on (negotiate's results).
	c.peerMSS = 536 // RFC 9293 3.7.1: without the option
	if j.MSS > 0 {
		c.peerMSS = max(j.MSS, 64)
	}
	c.wsOK = j.SndShift >= 0
	if c.wsOK {
		c.sndWScale, c.rcvWScale = uint8(j.SndShift), uint8(j.RcvShift)
	} else {
		c.sndWScale, c.rcvWScale = 0, 0 // RFC 7323 2.2: no scaling unless both SYNs had the option
	}
	c.tsOK, c.sackOK = j.Timestamps, j.SACK
	if c.tsOK {
		c.ts.recent, c.ts.recentAge = j.TSRecent, c.layer.instant(now)
	}
	c.ts.lastAckSent = c.rcvNxt // as if our last ACK said RCV.NXT: the next segment there moves TS.Recent

	// The windows. SND.WL1 = IRS, SND.WL2 = SND.UNA: the peer's next acceptable segment sets
	// SND.WND, as the first after a handshake does.
	c.sndWnd, c.maxSndWnd = j.SndWnd, j.SndWnd
	c.sndWl1, c.sndWl2 = c.irs, c.sndUna
	c.rcvAdv = c.rcvNxt.Add(c.joinWindow())

	c.initCongestion() // after the MSS and timestamps, which fix SMSS
	l.stats.Joins++
	return c, nil
}

// joinWindow is the receive window a joined connection starts with: its receive buffer (empty
// yet), as far as the window field says with its scale, rounded down to the scale's unit.
func (c *Conn) joinWindow() uint32 {
	return min(uint32(c.rcvSpace()), c.maxWindow()) >> c.rcvWScale << c.rcvWScale
}

// check reports the first field of j that no handshake could have left, with a receive buffer
// of rcvBuf bytes.
func (j *JoinState) check(rcvBuf int) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidJoinState}, a...)...)
	}
	inRange := func(s int) bool { return s >= 0 && s <= wire.MaxWindowScale }
	switch {
	case j.MSS < 0 || j.MSS > 0xffff:
		return bad("MSS %d outside 0..65535", j.MSS)
	case j.SndShift == -1 && j.RcvShift == -1: // no window scaling
	case j.SndShift == -1 || j.RcvShift == -1:
		return bad("window scale one way only (SndShift %d, RcvShift %d): RFC 7323 2.2 scales both or neither", j.SndShift, j.RcvShift)
	case !inRange(j.SndShift) || !inRange(j.RcvShift):
		return bad("SndShift %d, RcvShift %d: shifts are 0..%d, or -1 both (RFC 7323 2.3)", j.SndShift, j.RcvShift, wire.MaxWindowScale)
	case rcvBuf < 1<<j.RcvShift:
		return bad("receive buffer of %d bytes under RcvShift %d's unit of %d: only a zero window could be advertised", rcvBuf, j.RcvShift, 1<<j.RcvShift)
	}
	if most := uint64(0xffff) << max(j.SndShift, 0); uint64(j.SndWnd) > most {
		return bad("SndWnd %d past what the window field says with SndShift %d (%d)", j.SndWnd, j.SndShift, most)
	}
	return nil
}
