package tcp

import (
	"fmt"
	"time"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// Listener accepts connections on one port (RFC 9293 3.10.1, passive OPEN).
type Listener struct {
	layer   *Layer
	port    uint16
	backlog int
	queue   []*Conn // established, not yet accepted
	closed  bool
	notify  func()
	bufs    BufferSizes
}

// SetBuffers sets the buffer sizes of the connections the listener opens from now on
// (SO_SNDBUF and SO_RCVBUF set on a listening socket); zero keeps the Config's.
func (ln *Listener) SetBuffers(b BufferSizes) { ln.bufs = b.clamp() }

// Listen opens a listener on port. backlog <= 0 takes Config.Backlog.
func (l *Layer) Listen(port uint16, backlog int) (*Listener, error) {
	if port == 0 {
		return nil, fmt.Errorf("%w: port 0", ErrInvalidAddress)
	}
	if l.listeners[port] != nil {
		return nil, fmt.Errorf("%w: port %d", ErrAddrInUse, port)
	}
	if backlog <= 0 {
		backlog = l.cfg.Backlog
	}
	ln := &Listener{layer: l, port: port, backlog: backlog}
	l.listeners[port] = ln
	return ln, nil
}

// Port returns the port listened on.
func (ln *Listener) Port() uint16 { return ln.port }

// SetNotify sets a function called when a connection becomes ready to accept, or the listener closes.
func (ln *Listener) SetNotify(f func()) { ln.notify = f }

// Pending returns the established connections waiting for Accept.
func (ln *Listener) Pending() int { return len(ln.queue) }

// Accept returns the oldest established connection, or ErrWouldBlock.
func (ln *Listener) Accept() (*Conn, error) {
	if ln.closed {
		return nil, ErrClosed
	}
	if len(ln.queue) == 0 {
		return nil, ErrWouldBlock
	}
	c := ln.queue[0]
	ln.queue = ln.queue[1:]
	c.listener = nil
	return c, nil
}

// Close stops listening: connections not yet accepted are reset, established ones stay.
func (ln *Listener) Close() {
	if ln.closed {
		return
	}
	ln.closed = true
	if ln.layer.listeners[ln.port] == ln {
		delete(ln.layer.listeners, ln.port)
	}
	for _, c := range ln.queue {
		c.listener = nil
		c.Abort()
	}
	ln.queue = nil
	for _, c := range ln.layer.conns {
		if c.listener == ln {
			c.Abort()
		}
	}
	if ln.notify != nil {
		ln.notify()
	}
}

func (ln *Listener) wake() {
	if ln.notify != nil {
		ln.notify()
	}
}

// segmentArrives handles a segment to the listening port with no connection (RFC 9293 3.10.7.2).
func (ln *Listener) segmentArrives(now time.Time, s *segment) {
	l := ln.layer
	switch {
	case s.has(wire.RST): // an incoming RST is ignored
		return
	case s.has(wire.ACK): // an ACK in LISTEN: RST with seq = SEG.ACK
		l.sendReset(s.tuple, s.ack, 0, wire.RST)
		return
	case !s.has(wire.SYN):
		return
	case s.has(wire.FIN):
		// SYN+FIN: our policy, as Linux: dropped without an answer (CONFORMANCE B4).
		return
	}
	if l.halfOpen >= l.cfg.MaxHalfOpen || len(ln.queue) >= ln.backlog {
		// Our policy: a full half-open table or accept queue drops the SYN; the peer retries.
		l.stats.ListenOverflow++
		return
	}
	if len(l.conns) >= l.cfg.MaxConnections {
		l.stats.TableFull++
		return
	}
	c := l.newConn(s.tuple, SynReceived, ln.bufs)
	c.listener = ln
	l.halfOpen++
	l.stats.PassiveOpens++
	c.irs, c.rcvNxt = s.seq, s.seq.Add(1)
	c.peerOptions(s)
	c.sndWnd = uint32(s.wnd) // a SYN's window is never scaled (RFC 7323 2.2)
	c.sndWl1, c.sndWl2 = s.seq, s.ack
	c.maxSndWnd = c.sndWnd
	// Data on the SYN is not taken: it is not acknowledged, so the peer sends it again.
	c.sendSyn(now)
}

// peerOptions takes the options of the peer's SYN: MSS (536 without it, RFC 9293 3.7.1) and
// window scale (used only when both SYNs carry it, RFC 7323 2.2).
func (c *Conn) peerOptions(s *segment) {
	o := s.tcp.DecodeOptions()
	mss := 536
	if o.MSS != 0 {
		mss = int(o.MSS)
	}
	c.sndMSS = max(min(mss, c.layer.mss()), 64)
	c.wsOK = o.HasWindowScale
	if c.wsOK {
		c.sndWScale = min(o.WindowScale, wire.MaxWindowScale) // RFC 7323 2.3: larger shifts count as 14
	} else {
		c.sndWScale, c.rcvWScale = 0, 0 // RFC 7323 2.2: scaling only when both SYNs carry the option
	}
	c.cwnd = initialWindow(c.sndMSS)
	c.ssthresh = 1 << 30
}

// initialWindow is RFC 5681 3.1's IW.
func initialWindow(mss int) int {
	switch {
	case mss > 2190:
		return 2 * mss
	case mss > 1095:
		return 3 * mss
	}
	return 4 * mss
}

// sendSyn sends (or resends) our SYN or SYN-ACK, with MSS and, when allowed, window scale.
func (c *Conn) sendSyn(now time.Time) {
	f := wire.TCPFields{
		SourcePort: c.tuple.local.Port(), DestinationPort: c.tuple.remote.Port(),
		SeqNum: c.iss, Flags: wire.SYN,
		WindowSize: uint16(min(c.rcvBufSize, 0xffff)), // never scaled in a SYN
		Options:    wire.TCPOptions{MSS: uint16(c.layer.mss())},
	}
	if c.state == SynReceived {
		f.Flags |= wire.ACK
		f.AckNum = c.rcvNxt
		if c.wsOK {
			f.Options.HasWindowScale, f.Options.WindowScale = true, c.rcvWScale
		}
	} else {
		f.Options.HasWindowScale, f.Options.WindowScale = true, c.rcvWScale
	}
	c.sndNxt = c.iss.Add(1)
	c.sndMax = c.sndNxt
	c.rcvAdv = c.rcvNxt.Add(uint32(f.WindowSize))
	c.layer.send(c.tuple, &f, nil)
	if !c.rtxTimer.Armed() {
		c.timers().Arm(&c.rtxTimer, now.Add(c.rto))
	}
	if c.backoffs == 0 {
		c.rttTiming, c.rttSeq, c.rttStart = true, c.iss, now
	}
}
