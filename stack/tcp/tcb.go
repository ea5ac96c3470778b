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

	// Send sequence space (RFC 9293 3.3.1). SND.NXT is the next new sequence number: a
	// retransmission never moves it back.
	iss, sndUna, sndNxt  wire.Seq
	sndWnd, maxSndWnd    uint32 // the peer's window, scaled
	sndWl1, sndWl2       wire.Seq
	sndWScale, rcvWScale uint8
	wsOK                 bool     // both SYNs carried window scale
	peerMSS              int      // the MSS the peer announced (536 without the option, RFC 9293 3.7.1)
	pmtu                 int      // the path MTU (RFC 1191): the interface's, lowered by ICMP
	sndBuf               buffer   // data from sndBufSeq on, sent or not
	sndBufSeq            wire.Seq // sequence number of sndBuf's first byte
	finQueued            bool     // CloseWrite or Close: a FIN follows the data
	sent                 sendQueue

	// Receive sequence space.
	irs, rcvNxt wire.Seq
	rcvAdv      wire.Seq // right edge of the window last advertised
	rcvBuf      buffer
	ooo         reassembly // out-of-order data and FIN
	finRcvd     bool       // the peer's FIN was received in order: EOF after rcvBuf

	// Options both SYNs agreed on.
	tsOK, sackOK, ecnOK bool

	ts     timestamps // RFC 7323
	report sackReport // the SACK blocks this end reports (RFC 2018, RFC 2883)
	rtt    rttState   // RFC 6298, RFC 7323 4
	cc     congestion // RFC 5681, RFC 6582, RFC 6675
	rack   rack       // RFC 8985
	ecn    ecnState   // RFC 3168

	// ACK policy (RFC 1122 4.2.3.2).
	ackNow     bool
	unackedSeg int       // full-sized segments received since the last ACK
	quickAcks  int       // segments still to be acknowledged one by one (enterQuickAck)
	lastOOWAck time.Time // last ACK for an unacceptable segment (rate-limited)

	rtxTimer, delackTimer, persistTimer, keepTimer, waitTimer, probeTimer, reoTimer timer.Timer
	persistBackoff                                                                  int
	probesOut                                                                       int // zero-window probes sent since the last ACK
	keepProbes                                                                      int
	userTimeout                                                                     time.Duration
	progressAt                                                                      time.Time // data in flight last made progress: first sent, or SND.UNA moved
	lastAckAt                                                                       time.Time // the last acceptable ACK arrived

	sndBufSize, rcvBufSize int // bytes; from Config or BufferSizes

	noDelay, keepAlive, lingerZero bool
	keepIdle                       time.Duration
	appClosed                      bool // Close was called: the application reads no more
	err                            error
	softErr                        error
	notify                         func()
}

func (l *Layer) newConn(t fourTuple, state State, bufs BufferSizes) *Conn {
	c := &Conn{layer: l, tuple: t, state: state, peerMSS: 536, pmtu: l.host.MTU(), keepIdle: l.cfg.KeepAliveIdle}
	c.rtt.rto = l.cfg.RTOInitial
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
	c.waitTimer.Init(c.finWait2Fired)
	c.probeTimer.Init(c.probeFired)
	c.reoTimer.Init(c.reorderFired)
	c.iss = l.isn(t)
	c.sndUna, c.sndNxt, c.cc.recover = c.iss, c.iss, c.iss
	c.sndBufSeq = c.iss.Add(1)
	c.ts.offset = l.keyedHash("timestamps", t)
	c.rcvWScale = windowScaleFor(c.rcvBufSize)
	l.conns[t] = c
	return c
}

func (c *Conn) timers() *timer.Heap { return c.layer.host.Timers() }

// setState is the one place a connection changes state, CLOSED included.
func (c *Conn) setState(s State) {
	if c.state == s {
		return
	}
	if c.state == SynReceived && c.listener != nil {
		c.listener.halfOpen--
	}
	if s == Established {
		c.layer.stats.Established++
	}
	c.state = s
	if s == FinWait2 {
		c.armFinWait2(c.layer.now())
	}
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
	n := max(min(len(p), c.sndBufSize-c.sndBuf.Len()), 0) // SetBuffers may have shrunk it below what is queued
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

// CloseWrite sends a FIN after the data already written (half-close, RFC 9293 3.6). In
// SYN-SENT there is nothing to close: the connection is deleted (RFC 9293 3.10.4).
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
// abort with RST (RFC 1122 4.2.2.13); in SYN-SENT the connection is deleted without a word
// (RFC 9293 3.10.4); otherwise a FIN follows the data written and the connection finishes in
// the background.
func (c *Conn) Close() error {
	if c.appClosed {
		return nil
	}
	c.appClosed = true
	c.armFinWait2(c.layer.now())
	switch {
	case c.state == Closed:
		return nil
	case c.state == SynSent:
		c.abort(ErrClosed)
		return nil
	case c.lingerZero || c.rcvBuf.Len() > 0 || c.ooo.bytes > 0,
		c.state == SynReceived && c.listener == nil:
		c.Abort()
		return nil
	}
	return c.CloseWrite()
}

// Abort resets the connection (RFC 9293 3.10.5): a RST goes to the peer when it has a
// connection to reset (SYN-RECEIVED or synchronized, not TIME-WAIT), and the connection is
// gone.
func (c *Conn) Abort() {
	switch c.state {
	case Closed:
		return
	case SynReceived, Established, FinWait1, FinWait2, CloseWait:
		c.sendReset()
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
	ln := c.listener
	c.setState(Closed)
	c.listener = nil
	if ln != nil && err != nil {
		// Reset or timed out before Accept: our policy, as FreeBSD's, is to take it out of
		// the accept queue, so a dead connection holds no backlog slot and Accept never
		// returns one.
		ln.queue = slices.DeleteFunc(ln.queue, func(q *Conn) bool { return q == c })
	}
	c.release()
	c.layer.remove(c)
	c.wake()
}

// release stops the connection's timers and frees what it holds to send and to reassemble.
func (c *Conn) release() {
	h := c.timers()
	for _, t := range []*timer.Timer{&c.rtxTimer, &c.delackTimer, &c.persistTimer, &c.keepTimer, &c.waitTimer, &c.probeTimer, &c.reoTimer} {
		h.Stop(t)
	}
	c.sndBuf.Release()
	c.sent.release()
	c.ooo.release()
}

// closeNormally ends a connection whose close handshake completed (or whose TIME-WAIT ended).
func (c *Conn) closeNormally() { c.abort(nil) }

// Info is a snapshot of a connection's control block, like Linux's TCP_INFO.
type Info struct {
	State                       State
	ISS, SndUna, SndNxt         wire.Seq
	SndWnd                      uint32
	IRS, RcvNxt                 wire.Seq
	RcvWnd                      uint32 // as last advertised, unscaled
	SndMSS                      int    // the most data a segment carries: MSS and path MTU, less the timestamp option
	PMTU                        int    // the path MTU (RFC 1191)
	SndWScale, RcvWScale        uint8
	Timestamps, SACK, ECN       bool // negotiated in the handshake
	RTO, SRTT, RTTVar, MinRTT   time.Duration
	Cwnd, Ssthresh              int
	Backoffs, DupAcks           int
	InRecovery                  bool
	InFlight                    int // RFC 6675's pipe: bytes thought to be in the network
	Sacked, Lost                int // bytes of the retransmission queue the peer SACKed, and thought lost
	SendQueued, RecvQueued, OOO int
}

// Info returns the connection's control block.
func (c *Conn) Info() Info {
	return Info{
		State: c.state, ISS: c.iss, SndUna: c.sndUna, SndNxt: c.sndNxt, SndWnd: c.sndWnd,
		IRS: c.irs, RcvNxt: c.rcvNxt, RcvWnd: c.rcvWnd(), SndMSS: c.smss(), PMTU: c.pmtu,
		SndWScale: c.sndWScale, RcvWScale: c.rcvWScale, Timestamps: c.tsOK, SACK: c.sackOK, ECN: c.ecnOK,
		RTO: c.rtt.rto, SRTT: c.rtt.srtt, RTTVar: c.rtt.rttvar, MinRTT: c.rack.minRTT,
		Cwnd: c.cc.cwnd, Ssthresh: c.cc.ssthresh, Backoffs: c.rtt.backoffs, DupAcks: c.cc.dupAcks, InRecovery: c.cc.inRecovery,
		InFlight: c.pipe(), Sacked: int(c.sent.sacked), Lost: int(c.sent.lost),
		SendQueued: c.sndBuf.Len(), RecvQueued: c.rcvBuf.Len(), OOO: c.ooo.bytes,
	}
}
