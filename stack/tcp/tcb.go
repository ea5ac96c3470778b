package tcp

import (
	"io"
	"net/netip"
	"slices"
	"time"

	"github.com/mtcp-go/mtcp/stack/timer"
	"github.com/mtcp-go/mtcp/stack/wire"
)

// Conn is one connection: its transmission control block (RFC 9293 3.3.1) and its
// non-blocking socket API. All methods must be called from the core's owner (under the
// runtime's lock, or on the bench's goroutine).
type Conn struct {
	layer    *Layer
	tuple    fourTuple
	state    State
	listener *Listener // passive opens, until accepted

	// Send sequence space (RFC 9293 3.3.1).
	iss, sndUna, sndNxt, sndMax wire.Seq
	sndWnd, maxSndWnd           uint32 // the peer's window, scaled
	sndWl1, sndWl2              wire.Seq
	sndWScale, rcvWScale        uint8
	wsOK                        bool // both SYNs carried window scale
	sndMSS                      int
	sndBuf                      buffer   // data from sndBufSeq on, sent or not
	sndBufSeq                   wire.Seq // sequence number of sndBuf's first byte
	finQueued                   bool     // CloseWrite or Close: a FIN follows the data

	// Receive sequence space.
	irs, rcvNxt wire.Seq
	rcvAdv      wire.Seq // right edge of the window last advertised
	rcvBuf      buffer
	ooo         []oooSegment // out-of-order data, sorted, not overlapping
	oooBytes    int
	finRcvd     bool // the peer's FIN was received in order: EOF after rcvBuf

	// Retransmission (RFC 6298) and congestion control (RFC 5681, RFC 6582).
	rto, srtt, rttvar time.Duration
	rttTiming         bool
	rttSeq            wire.Seq
	rttStart          time.Time
	backoffs          int
	cwnd, ssthresh    int
	dupAcks           int
	flightAtDup       int // bytes in flight at the first duplicate ACK, before limited transmit
	lastAdvance       int // bytes the last new ACK covered (RFC 6582 3.2 heuristic)
	inRecovery        bool
	recover           wire.Seq

	// ACK policy (RFC 1122 4.2.3.2).
	ackNow     bool
	unackedSeg int // full-sized segments received since the last ACK

	rtxTimer, delackTimer, persistTimer, keepTimer, waitTimer timer.Timer
	persistBackoff                                            int
	keepProbes                                                int

	sndBufSize, rcvBufSize int // bytes; from Config or BufferSizes

	noDelay, keepAlive, lingerZero bool
	keepIdle                       time.Duration
	appClosed                      bool // Close was called: the application reads no more
	err                            error
	softErr                        error
	notify                         func()
}

type oooSegment struct {
	seq  wire.Seq
	data []byte
}

func (l *Layer) newConn(t fourTuple, state State, bufs BufferSizes) *Conn {
	c := &Conn{layer: l, tuple: t, state: state, rto: l.cfg.RTOInitial, sndMSS: 536, keepIdle: l.cfg.KeepAliveIdle}
	c.sndBufSize, c.rcvBufSize = l.cfg.SendBuffer, l.cfg.ReceiveBuffer
	if bufs.Send > 0 {
		c.sndBufSize = bufs.Send
	}
	if bufs.Receive > 0 {
		c.rcvBufSize = bufs.Receive
	}
	c.rtxTimer.Init(c.rtxFired)
	c.delackTimer.Init(c.delackFired)
	c.persistTimer.Init(c.persistFired)
	c.keepTimer.Init(c.keepFired)
	c.waitTimer.Init(c.waitFired)
	c.iss = l.isn(t)
	c.sndUna, c.sndNxt, c.sndMax, c.recover = c.iss, c.iss, c.iss, c.iss
	c.sndBufSeq = c.iss.Add(1)
	for (c.rcvBufSize >> c.rcvWScale) > 0xffff {
		c.rcvWScale++
	}
	l.conns[t] = c
	return c
}

func (c *Conn) timers() *timer.Heap { return c.layer.host.Timers() }

// setState is the one place a connection changes state.
func (c *Conn) setState(s State) {
	if c.state == s {
		return
	}
	if c.state == SynReceived && c.listener != nil {
		c.layer.halfOpen--
	}
	if s == Established {
		c.layer.stats.Established++
	}
	c.state = s
	c.wake()
}

func (c *Conn) wake() {
	if c.notify != nil {
		c.notify()
	}
}

// SetNotify sets a function called whenever the connection may have become readable,
// writable, connected or closed. It runs on the core's goroutine, under the core's lock.
func (c *Conn) SetNotify(f func()) { c.notify = f }

// State returns the connection state.
func (c *Conn) State() State { return c.state }

// LocalAddr returns the stack's address and port.
func (c *Conn) LocalAddr() netip.AddrPort { return c.tuple.local }

// RemoteAddr returns the peer's address and port.
func (c *Conn) RemoteAddr() netip.AddrPort { return c.tuple.remote }

// Err returns why the connection failed (ErrConnReset, ErrConnRefused, ErrTimeout, ...), or nil.
func (c *Conn) Err() error { return c.err }

// SoftError returns the last ICMP soft error reported for the connection (RFC 1122 4.2.3.9), or nil.
func (c *Conn) SoftError() error { return c.softErr }

// Connected reports whether the handshake is done (or the connection got past it).
func (c *Conn) Connected() bool { return c.state.synchronized() || (c.state == Closed && c.err == nil) }

// Readable reports whether Read would not return ErrWouldBlock.
func (c *Conn) Readable() bool {
	return c.rcvBuf.Len() > 0 || c.finRcvd || c.err != nil || c.state == Closed
}

// Writable reports whether Write would not return ErrWouldBlock.
func (c *Conn) Writable() bool {
	return c.err != nil || c.finQueued || c.state == Closed || (c.state.synchronized() && c.sndBuf.Len() < c.sndBufSize)
}

// Buffered returns the bytes written but not yet acknowledged.
func (c *Conn) Buffered() int { return c.sndBuf.Len() }

// Read moves received bytes into p. It returns ErrWouldBlock when nothing is there yet,
// io.EOF once the peer's FIN has been read past, and the connection's error once it failed.
func (c *Conn) Read(p []byte) (int, error) {
	if c.appClosed {
		return 0, ErrClosed
	}
	if c.rcvBuf.Len() > 0 {
		n := c.rcvBuf.Read(p)
		c.windowOpened()
		return n, nil
	}
	switch {
	case c.finRcvd:
		return 0, io.EOF
	case c.err != nil:
		return 0, c.err
	case c.state == Closed:
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	return 0, ErrWouldBlock
}

// windowOpened sends a window update when reading opened the window enough (RFC 9293 3.8.6.2,
// RFC 1122 4.2.3.3): the right edge must move by at least min(MSS, half the buffer), and the
// update goes at once only when the peer may be stalled (less than that left of the window
// advertised) or the window at least doubles and no ACK is pending anyway; otherwise the next
// ACK or data segment carries it.
func (c *Conn) windowOpened() {
	if !c.state.synchronized() || c.finRcvd {
		return
	}
	grow := int(c.rightEdge().Sub(c.rcvAdv))
	if grow < c.swsThreshold() {
		return
	}
	remaining := max(int(c.rcvAdv.Sub(c.rcvNxt)), 0)
	if remaining < c.swsThreshold() || (!c.delackTimer.Armed() && grow >= remaining) {
		c.ackNow = true
		c.output(c.layer.now())
	}
}

// Write queues p for sending and returns how much fit in the send buffer; ErrWouldBlock when
// nothing fit. Before the handshake completes nothing is queued.
func (c *Conn) Write(p []byte) (int, error) {
	switch {
	case c.err != nil:
		return 0, c.err
	case c.appClosed:
		return 0, ErrClosed
	case c.finQueued:
		return 0, ErrWriteClosed
	case c.state == Closed:
		return 0, ErrClosed
	case !c.state.synchronized():
		return 0, ErrWouldBlock
	}
	n := min(len(p), c.sndBufSize-c.sndBuf.Len())
	if n == 0 {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, ErrWouldBlock
	}
	c.sndBuf.Write(p[:n])
	c.output(c.layer.now())
	return n, nil
}

// CloseWrite sends a FIN after the data already written (half-close, RFC 9293 3.6).
func (c *Conn) CloseWrite() error {
	if c.err != nil {
		return c.err
	}
	if c.finQueued || c.state == Closed {
		return nil
	}
	c.finQueued = true
	switch c.state {
	case Established:
		c.setState(FinWait1)
	case CloseWait:
		c.setState(LastAck)
	case SynSent:
		c.abort(ErrClosed)
		return nil
	}
	c.output(c.layer.now())
	return nil
}

// Close closes the connection for the application. Unread data, or SetLinger(0), makes it an
// abort with RST (RFC 1122 4.2.2.13); otherwise a FIN follows the data written and the
// connection finishes in the background.
func (c *Conn) Close() error {
	if c.appClosed {
		return nil
	}
	c.appClosed = true
	if c.state == Closed {
		return nil
	}
	if c.lingerZero || c.rcvBuf.Len() > 0 || c.oooBytes > 0 {
		c.Abort()
		return nil
	}
	if c.state == SynSent || c.state == SynReceived && c.listener == nil {
		c.Abort()
		return nil
	}
	return c.CloseWrite()
}

// Abort resets the connection: a RST goes to the peer (when synchronized or half-open) and
// the connection is gone.
func (c *Conn) Abort() {
	if c.state == Closed {
		return
	}
	if c.state != Listen && c.state != TimeWait {
		f := wire.TCPFields{SourcePort: c.tuple.local.Port(), DestinationPort: c.tuple.remote.Port(), SeqNum: c.sndNxt, Flags: wire.RST}
		if c.state == SynSent {
			f.SeqNum = c.iss.Add(1)
		}
		c.layer.stats.ResetsOut++
		c.layer.send(c.tuple, &f, nil)
	}
	c.abort(ErrConnAborted)
}

// SetNoDelay turns Nagle's algorithm off (true) or on (false, the default).
func (c *Conn) SetNoDelay(on bool) {
	c.noDelay = on
	if on {
		c.output(c.layer.now())
	}
}

// BufferSizes are a connection's send and receive buffer sizes in bytes; zero keeps the
// Config's. Sizes below MinBuffer count as MinBuffer.
type BufferSizes struct{ Send, Receive int }

// MinBuffer is the smallest buffer a connection takes.
const MinBuffer = 1024

func (b BufferSizes) clamp() BufferSizes {
	if b.Send > 0 {
		b.Send = max(b.Send, MinBuffer)
	}
	if b.Receive > 0 {
		b.Receive = min(max(b.Receive, MinBuffer), 1<<30)
	}
	return b
}

// Buffers returns the connection's buffer sizes.
func (c *Conn) Buffers() BufferSizes { return BufferSizes{Send: c.sndBufSize, Receive: c.rcvBufSize} }

// SetBuffers changes the buffer sizes of an open connection (zero keeps a size). A smaller
// receive buffer never takes back window already advertised (RFC 9293 3.8.6.2.2); the window
// scale stays the one the handshake chose, so a larger buffer is advertised only as far as
// that scale allows.
func (c *Conn) SetBuffers(b BufferSizes) {
	b = b.clamp()
	if b.Send > 0 {
		c.sndBufSize = b.Send
	}
	if b.Receive > 0 {
		c.rcvBufSize = b.Receive
	}
	c.wake()
}

// SetLinger(0) makes Close an abort with RST; any other value restores the graceful close.
func (c *Conn) SetLinger(sec int) { c.lingerZero = sec == 0 }

// SetKeepAlive turns keepalive probes on or off (RFC 1122 4.2.3.6: off by default).
func (c *Conn) SetKeepAlive(on bool) {
	c.keepAlive = on
	c.armKeepAlive(c.layer.now())
}

// SetKeepAlivePeriod sets the idle time before the first probe and between probes.
func (c *Conn) SetKeepAlivePeriod(d time.Duration) {
	if d > 0 {
		c.keepIdle = d
		c.armKeepAlive(c.layer.now())
	}
}

// abort ends the connection with err (nil: a normal end) and frees everything but the data
// received and not yet read.
func (c *Conn) abort(err error) {
	if c.err == nil {
		c.err = err
	}
	if c.state == SynReceived && c.listener != nil {
		c.layer.halfOpen--
		c.listener = nil
	}
	if ln := c.listener; ln != nil && err != nil {
		// Reset or timed out before Accept: our policy, as FreeBSD's, is to take it out of
		// the accept queue, so a dead connection holds no backlog slot and Accept never
		// returns one.
		ln.queue = slices.DeleteFunc(ln.queue, func(q *Conn) bool { return q == c })
		c.listener = nil
	}
	c.state = Closed
	h := c.timers()
	for _, t := range []*timer.Timer{&c.rtxTimer, &c.delackTimer, &c.persistTimer, &c.keepTimer, &c.waitTimer} {
		h.Stop(t)
	}
	c.sndBuf.Release()
	c.ooo, c.oooBytes = nil, 0
	c.layer.remove(c)
	c.wake()
}

// closeNormally ends a connection whose close handshake completed (or whose TIME-WAIT ended).
func (c *Conn) closeNormally() { c.abort(nil) }

// Info is a snapshot of a connection's control block, like Linux's TCP_INFO.
type Info struct {
	State                       State
	ISS, SndUna, SndNxt, SndMax wire.Seq
	SndWnd                      uint32
	IRS, RcvNxt                 wire.Seq
	RcvWnd                      uint32 // as last advertised, unscaled
	SndMSS                      int
	SndWScale, RcvWScale        uint8
	RTO, SRTT, RTTVar           time.Duration
	Cwnd, Ssthresh              int
	Backoffs, DupAcks           int
	InRecovery                  bool
	SendQueued, RecvQueued, OOO int
}

// Info returns the connection's control block.
func (c *Conn) Info() Info {
	return Info{
		State: c.state, ISS: c.iss, SndUna: c.sndUna, SndNxt: c.sndNxt, SndMax: c.sndMax, SndWnd: c.sndWnd,
		IRS: c.irs, RcvNxt: c.rcvNxt, RcvWnd: uint32(max(c.rcvAdv.Sub(c.rcvNxt), 0)), SndMSS: c.sndMSS,
		SndWScale: c.sndWScale, RcvWScale: c.rcvWScale, RTO: c.rto, SRTT: c.srtt, RTTVar: c.rttvar,
		Cwnd: c.cwnd, Ssthresh: c.ssthresh, Backoffs: c.backoffs, DupAcks: c.dupAcks, InRecovery: c.inRecovery,
		SendQueued: c.sndBuf.Len(), RecvQueued: c.rcvBuf.Len(), OOO: c.oooBytes,
	}
}
