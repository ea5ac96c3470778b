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
	// queue[head:] are established, not yet accepted; the array is reused from its start
	// once they are all taken, so a listener accepting as fast as connections come
	// allocates nothing for its queue.
	queue []*Conn
	head  int
	// halfOpen counts the listener's connections in SYN-RECEIVED; maxHalfOpen bounds them.
	halfOpen, maxHalfOpen int
	cookieSentAt          time.Time // when the last SYN cookie went out
	closed                bool
	noOpt                 bool   // TCP_NOOPT: SYN-ACKs without options
	userMSS               uint16 // TCP_MAXSEG: a cap on the MSS of the connections it opens
	notify                func()
	bufs                  BufferSizes
}

// SetBuffers sets the buffer sizes of the connections the listener opens from now on
// (SO_SNDBUF and SO_RCVBUF set on a listening socket); zero keeps the Config's.
func (ln *Listener) SetBuffers(b BufferSizes) { ln.bufs = b.clamp() }

// SetNoOptions makes the listener answer SYNs from now on with SYN-ACKs that carry no TCP
// option, not even the MSS, cookie SYN-ACKs included; so no extension is agreed and none is
// used after (FreeBSD's TCP_NOOPT set on a listening socket). The peer's MSS still counts.
func (ln *Listener) SetNoOptions(on bool) { ln.noOpt = on }

// NoOptions reports whether the listener's SYN-ACKs go without options.
func (ln *Listener) NoOptions() bool { return ln.noOpt }

// SetMSS caps the MSS the listener's connections announce and send from now on (TCP_MAXSEG
// set on a listening socket); 0 removes the cap.
func (ln *Listener) SetMSS(mss int) { ln.userMSS = uint16(min(max(mss, 0), 0xffff)) }

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
	ln := &Listener{layer: l, port: port, backlog: backlog, maxHalfOpen: l.cfg.MaxHalfOpen}
	l.listeners[port] = ln
	return ln, nil
}

// Port returns the port listened on.
func (ln *Listener) Port() uint16 { return ln.port }

// SetNotify sets a function called when a connection becomes ready to accept, or the listener closes.
func (ln *Listener) SetNotify(f func()) { ln.notify = f }

// Pending returns the established connections waiting for Accept.
func (ln *Listener) Pending() int { return len(ln.queue) - ln.head }

// HalfOpen returns the listener's connections in SYN-RECEIVED.
func (ln *Listener) HalfOpen() int { return ln.halfOpen }

// SetHalfOpenLimit bounds the listener's connections in SYN-RECEIVED (n <= 0 takes
// Config.MaxHalfOpen). Past it, SYNs are answered with SYN cookies, or dropped when
// Config.SynCookies is Off.
func (ln *Listener) SetHalfOpenLimit(n int) {
	if n <= 0 {
		n = ln.layer.cfg.MaxHalfOpen
	}
	ln.maxHalfOpen = n
}

// Accept returns the oldest established connection, or ErrWouldBlock.
func (ln *Listener) Accept() (*Conn, error) {
	if ln.closed {
		return nil, ErrClosed
	}
	if ln.Pending() == 0 {
		return nil, ErrWouldBlock
	}
	c := ln.queue[ln.head]
	ln.queue[ln.head] = nil // the queue's array must not keep an accepted connection alive
	ln.head++
	if ln.head == len(ln.queue) {
		ln.queue, ln.head = ln.queue[:0], 0
	}
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
	for _, c := range ln.queue[ln.head:] {
		c.listener = nil
		c.Abort()
	}
	ln.queue, ln.head = nil, 0
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
	case s.has(wire.ACK):
		// The ACK that completes a handshake answered with a SYN cookie; any other ACK in
		// LISTEN draws a RST with seq = SEG.ACK.
		if !ln.cookieAck(now, s) {
			l.sendReset(s.tuple, s.ack, 0, wire.RST)
		}
		return
	case !s.has(wire.SYN):
		return
	case s.has(wire.FIN) && l.cfg.SynFin != SynFinAccept:
		// SYN+FIN: our policy, as Linux (and FreeBSD's drop_synfin), is to drop it without an
		// answer; SynFinAccept takes it as a SYN, its FIN left for the peer to send again.
		return
	}
	if ln.admit() {
		ln.synAdmitted(now, s)
	}
}

// synAdmitted answers a SYN the listener has room for: with a new half-open connection, or
// with a SYN cookie once the listener's half-open connections are at their limit (dropped, if
// cookies are off: the peer retries).
func (ln *Listener) synAdmitted(now time.Time, s *segment) {
	switch {
	case ln.halfOpen < ln.maxHalfOpen:
		ln.synArrives(now, s)
	case ln.layer.cfg.SynCookies == On:
		ln.sendCookie(now, s)
	default:
		ln.layer.stats.ListenOverflow++
	}
}

// admit reports whether the listener may take one more connection, counting why not: our
// policy, as Linux's, is that a full accept queue drops the SYN (or the ACK of a cookie), and
// so does a full connection table (TIME-WAIT is not in it).
func (ln *Listener) admit() bool {
	l := ln.layer
	if ln.Pending() >= ln.backlog {
		l.stats.ListenOverflow++
		return false
	}
	if len(l.conns) >= l.cfg.MaxConnections {
		l.stats.TableFull++
		return false
	}
	return true
}
