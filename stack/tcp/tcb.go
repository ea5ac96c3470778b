package tcp

import (
	"fmt"
	"io"
	"math"
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
	sndBuf               buffer   // data from sndBufSeq on, sent or not
	sndBufSeq            wire.Seq // sequence number of sndBuf's first byte
	finQueued            bool     // CloseWrite or Close: a FIN follows the data
	sent                 sendQueue

	// Receive sequence space.
	irs, rcvNxt wire.Seq
	rcvAdv      wire.Seq // right edge of the window last advertised
	rcvBuf      buffer
	ooo         *oooState // out-of-order data and FIN, SACK blocks to report; nil until needed
	finRcvd     bool      // the peer's FIN was received in order: EOF after rcvBuf

	// Options both SYNs agreed on.
	tsOK, sackOK, ecnOK bool

	ts   timestamps // RFC 7323
	rtt  rttState   // RFC 6298, RFC 7323 4
	cc   congestion // RFC 5681, RFC 6582, RFC 6675
	rack *rack      // RFC 8985; made when data is first delivered with RACK on
	ecn  ecnState   // RFC 3168

	// ACK policy (RFC 1122 4.2.3.2).
	ackNow     bool
	unackedSeg int32   // full-sized segments received since the last ACK
	quickAcks  int32   // segments still to be acknowledged one by one (enterQuickAck)
	lastOOWAck instant // last ACK for an unacceptable segment (rate-limited)

	tm             connTimers
	persistBackoff int32
	probesOut      int32 // zero-window probes sent since the last ACK
	keepProbes     int32
	keepCount      int32
	userTimeout    time.Duration
	progressAt     instant // data in flight last made progress: first sent, or SND.UNA moved
	lastAckAt      instant // the last acceptable ACK arrived

	peerMSS                int // the MSS the peer announced (536 without the option, RFC 9293 3.7.1)
	pmtu                   int // the path MTU (RFC 1191): the interface's, lowered by ICMP
	sndBufSize, rcvBufSize int // bytes; from Config or BufferSizes

	noDelay, keepAlive, lingerZero bool
	noOpt                          bool   // TCP_NOOPT: no option in our SYN or SYN-ACK, so none agreed
	appClosed                      bool   // Close was called: the application reads no more
	userMSS                        uint16 // TCP_MAXSEG: a cap on the MSS announced and sent (0: none)
	keepIdle, keepIntvl            time.Duration
	connectTimeout                 time.Duration
	err                            error
	softErr                        error
	notify                         Notifier

	counts connCounts
}

// connCounts are a connection's traffic counters and times, for Info: each is one increment
// or store on a path that sends or takes a segment anyway. Segments are counted in 32 bits,
// as Linux's tcp_info does; times are Unix nanoseconds, 0 for never.
type connCounts struct {
	segsIn, segsOut, dataSegsIn, dataSegsOut uint32
	retransmits, delivered                   uint32 // segments sent again (SYNs included); segments delivered: acknowledged or SACKed
	bytesSent, bytesRetrans                  uint64 // data sent, retransmissions included; data sent again
	bytesAcked, bytesReceived                uint64 // SND.UNA's and RCV.NXT's advance (FIN included; SYN: ours if active)
	lastDataSent, lastDataRecv               int64
}

func (l *Layer) newConn(t fourTuple, state State, bufs BufferSizes) *Conn {
	c := &Conn{layer: l, tuple: t, state: state, peerMSS: 536, pmtu: l.host.MTU(),
		keepIdle: l.cfg.KeepAliveIdle, keepIntvl: l.cfg.KeepAliveInterval, keepCount: int32(l.cfg.KeepAliveProbes)}
	c.rtt.rto = l.cfg.RTOInitial
	c.sndBufSize, c.rcvBufSize = l.cfg.SendBuffer, l.cfg.ReceiveBuffer
	if bufs.Send > 0 {
		c.sndBufSize = bufs.Send
	}
	if bufs.Receive > 0 {
		c.rcvBufSize = bufs.Receive
	}
	c.tm.entry.Init(c.timersFired)
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
	if s.synchronized() && !c.state.synchronized() {
		c.stop(waitTimer) // the handshake is done: no connect timeout
	}
	c.state = s
	if s == FinWait2 {
		c.armFinWait2(c.layer.now())
	}
	c.wake()
}

func (c *Conn) wake() {
	if c.notify != nil {
		c.notify.Notify()
	}
}

// Notifier is told whenever a connection may have become readable, writable, connected or
// closed. Notify runs on the core's goroutine, under the core's lock, and must not call back
// into the connection.
type Notifier interface{ Notify() }

// SetNotify sets the connection's Notifier (nil: none).
func (c *Conn) SetNotify(n Notifier) { c.notify = n }

// State returns the connection state.
func (c *Conn) State() State {
	if c.state == TimeWait && !c.layer.inTimeWait(c) {
		return Closed // TIME-WAIT ended: the layer let go of c (see twEntry)
	}
	return c.state
}

// LocalAddr returns the stack's address and port.
func (c *Conn) LocalAddr() netip.AddrPort { return c.tuple.local() }

// RemoteAddr returns the peer's address and port.
func (c *Conn) RemoteAddr() netip.AddrPort { return c.tuple.remote() }

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

// Buffered returns the bytes written but not yet acknowledged (Linux's SIOCOUTQ).
func (c *Conn) Buffered() int { return c.sndBuf.Len() }

// Unsent returns the bytes written and not yet sent (Linux's SIOCOUTQNSD).
func (c *Conn) Unsent() int { return max(c.unsent(), 0) }

// Unread returns the bytes received in order and not yet read (FIONREAD, SIOCINQ).
func (c *Conn) Unread() int { return c.rcvBuf.Len() }

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
	return 0, c.noData(len(p))
}

// Peek is Read without taking the bytes (MSG_PEEK): the next Read returns them again.
func (c *Conn) Peek(p []byte) (int, error) {
	if c.appClosed {
		return 0, ErrClosed
	}
	if c.rcvBuf.Len() > 0 {
		return c.rcvBuf.copyTo(p), nil
	}
	return 0, c.noData(len(p))
}

// Discard is Read that drops up to n bytes instead of copying them (Linux's MSG_TRUNC on
// TCP), and returns how many it dropped.
func (c *Conn) Discard(n int) (int, error) {
	if c.appClosed {
		return 0, ErrClosed
	}
	if c.rcvBuf.Len() > 0 {
		n = min(max(n, 0), c.rcvBuf.Len())
		c.rcvBuf.Discard(n)
		c.windowOpened()
		return n, nil
	}
	return 0, c.noData(n)
}

// noData is what reading n bytes returns when none are buffered: io.EOF past the peer's FIN
// or after a normal close, the connection's error, nothing for n = 0, else ErrWouldBlock.
func (c *Conn) noData(n int) error {
	switch {
	case c.finRcvd:
		return io.EOF
	case c.err != nil:
		return c.err
	case c.state == Closed:
		return io.EOF
	case n <= 0:
		return nil
	}
	return ErrWouldBlock
}

// Readiness is what poll(2) says of a connection.
type Readiness struct {
	Readable, Writable bool // as Conn.Readable and Conn.Writable: POLLIN, POLLOUT
	Error              bool // the connection failed (Err): POLLERR
	ReadHangUp         bool // no more data will arrive: the peer's FIN came, or the connection ended (POLLRDHUP)
	HangUp             bool // neither direction is open: the peer's FIN came and ours is queued, or the connection ended (POLLHUP)
}

// Poll returns the connection's readiness. As Linux's tcp_poll, a connection that ended
// (CLOSED, or TIME-WAIT, where the socket is done) has hung up in both directions.
func (c *Conn) Poll() Readiness {
	ended := c.state == Closed || c.state == TimeWait
	return Readiness{
		Readable: c.Readable(), Writable: c.Writable(), Error: c.err != nil,
		ReadHangUp: c.finRcvd || ended, HangUp: c.finRcvd && c.finQueued || ended,
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
	case c.lingerZero || c.rcvBuf.Len() > 0 || c.oooBytes() > 0,
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
	switch c.State() {
	case Closed:
		return
	case SynReceived, Established, FinWait1, FinWait2, CloseWait:
		c.sendReset(wire.RST)
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
		b.Send = min(max(b.Send, MinBuffer), 1<<30)
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
		c.keepIdle, c.keepIntvl = d, d
		c.armKeepAlive(c.layer.now())
	}
}

// SetKeepAliveIdle sets the idle time before the first probe (TCP_KEEPIDLE); d <= 0 leaves it.
func (c *Conn) SetKeepAliveIdle(d time.Duration) {
	if d > 0 {
		c.keepIdle = d
		c.armKeepAlive(c.layer.now())
	}
}

// SetKeepAliveInterval sets the time between probes left unanswered (TCP_KEEPINTVL), from
// the next probe on; d <= 0 leaves it.
func (c *Conn) SetKeepAliveInterval(d time.Duration) {
	if d > 0 {
		c.keepIntvl = d
	}
}

// SetKeepAliveCount sets how many probes go unanswered before ErrTimeout (TCP_KEEPCNT);
// n <= 0 leaves it.
func (c *Conn) SetKeepAliveCount(n int) {
	if n > 0 {
		c.keepCount = int32(min(n, math.MaxInt32))
	}
}

// KeepAlive reports whether keepalive probes are on (SO_KEEPALIVE).
func (c *Conn) KeepAlive() bool { return c.keepAlive }

// KeepAliveIdle returns the idle time before the first probe.
func (c *Conn) KeepAliveIdle() time.Duration { return c.keepIdle }

// KeepAliveInterval returns the time between probes left unanswered.
func (c *Conn) KeepAliveInterval() time.Duration { return c.keepIntvl }

// KeepAliveCount returns how many probes go unanswered before ErrTimeout.
func (c *Conn) KeepAliveCount() int { return int(c.keepCount) }

// NoOptions reports whether the connection's SYN (or SYN-ACK) went without options
// (TCP_NOOPT: DialOptions.NoOptions, Listener.SetNoOptions).
func (c *Conn) NoOptions() bool { return c.noOpt }

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
	c.stopTimers()
	c.sndBuf.Release()
	c.sent.release()
	if c.ooo != nil {
		c.ooo.q.recycle()
		c.ooo = nil
	}
}

// closeNormally ends a connection whose close handshake completed (or whose TIME-WAIT ended).
func (c *Conn) closeNormally() { c.abort(nil) }

// CAState is where a connection stands in loss recovery, numbered as Linux's tcpi_ca_state.
type CAState uint8

// The congestion-avoidance states.
const (
	CAOpen     CAState = iota // nothing amiss
	CADisorder                // duplicate ACKs or SACKs came, no loss recovery yet
	CACWR                     // the window came down for ECN (RFC 3168 6.1.2) or a tail loss probe's repair (RFC 8985 7.4.2), for the data then in flight
	CARecovery                // fast retransmit and loss recovery (RFC 5681 3.2, RFC 6582, RFC 6675)
	CALoss                    // after a retransmission timeout, until the data then in flight is acknowledged (RFC 5681 3.1)
)

var caStateNames = [...]string{"Open", "Disorder", "CWR", "Recovery", "Loss"}

func (s CAState) String() string {
	if int(s) < len(caStateNames) {
		return caStateNames[s]
	}
	return fmt.Sprintf("CAState(%d)", uint8(s))
}

// caState works out the congestion-avoidance state from the recovery state and from what last
// set the recovery point: it lasts until SND.UNA reaches it.
func (c *Conn) caState() CAState {
	cc := &c.cc
	switch {
	case cc.inRecovery:
		return CARecovery
	case c.sndUna.LessThan(cc.recover) && (cc.event == CALoss || cc.event == CACWR):
		return cc.event
	case cc.dupAcks > 0 || c.sent.nSack > 0:
		return CADisorder
	}
	return CAOpen
}

// Info is a snapshot of a connection's control block, like Linux's TCP_INFO (struct tcp_info:
// its names follow in parentheses where they differ).
type Info struct {
	State                       State
	CAState                     CAState // (ca_state)
	ISS, SndUna, SndNxt         wire.Seq
	SndWnd                      uint32
	IRS, RcvNxt                 wire.Seq
	RcvWnd                      uint32 // as last advertised, unscaled
	SndMSS                      int    // the most data a segment carries: MSS and path MTU, less the timestamp option
	AdvMSS                      int    // the MSS the stack announces (RFC 9293 3.7.1), in its SYN unless NoOptions
	PMTU                        int    // the path MTU (RFC 1191)
	SndWScale, RcvWScale        uint8
	Timestamps, SACK, ECN       bool // negotiated in the handshake
	WindowScale                 bool // both SYNs carried window scale (RFC 7323 2)
	RTO, SRTT, RTTVar, MinRTT   time.Duration
	ATO                         time.Duration // the delayed-ACK timeout (Config.DelayedACK)
	Cwnd, Ssthresh              int           // bytes
	Backoffs, DupAcks           int           // RTO expirations since the last new ACK (retransmits, backoff); duplicate ACKs in a row
	Reordering                  int           // the duplicate ACKs that mean a loss without RACK: RFC 5681's DupThresh, fixed
	InRecovery                  bool
	InFlight                    int // RFC 6675's pipe: bytes thought to be in the network
	Sacked, Lost                int // bytes of the retransmission queue the peer SACKed, and thought lost
	UnackedSegs, SackedSegs     int // segments sent and not cumulatively acknowledged (unacked), and of them SACKed (sacked)
	LostSegs, RetransSegs       int // of them thought lost (lost), and sent again with the retransmission in flight (retrans)
	SendQueued, RecvQueued, OOO int
	NotSent                     int    // bytes written and not yet sent (notsent_bytes)
	TotalRetrans                uint32 // segments sent again, SYNs included (total_retrans)
	BytesSent, BytesRetrans     uint64 // data bytes sent, retransmissions included, and sent again
	BytesAcked, BytesReceived   uint64 // SND.UNA's and RCV.NXT's advance: data and FIN, and our SYN on an active open
	SegsOut, SegsIn             uint32
	DataSegsOut, DataSegsIn     uint32
	Delivered                   uint32        // segments the peer acknowledged, cumulatively or by SACK
	LastDataSent, LastDataRecv  time.Duration // since new data last went and data last came; 0 if never
	LastAckRecv                 time.Duration // since the last acceptable ACK came; 0 if none
}

// Info returns the connection's control block.
func (c *Conn) Info() Info {
	now := c.layer.now()
	since := func(t time.Time) time.Duration {
		if t.IsZero() {
			return 0
		}
		return now.Sub(t)
	}
	sinceNanos := func(ns int64) time.Duration {
		if ns == 0 {
			return 0
		}
		return time.Duration(now.UnixNano() - ns)
	}
	in := Info{
		State: c.State(), CAState: c.caState(), ISS: c.iss, SndUna: c.sndUna, SndNxt: c.sndNxt, SndWnd: c.sndWnd,
		IRS: c.irs, RcvNxt: c.rcvNxt, RcvWnd: c.rcvWnd(), SndMSS: c.smss(), AdvMSS: c.advMSS(), PMTU: c.pmtu,
		SndWScale: c.sndWScale, RcvWScale: c.rcvWScale, Timestamps: c.tsOK, SACK: c.sackOK, ECN: c.ecnOK, WindowScale: c.wsOK,
		RTO: c.rtt.rto, SRTT: c.rtt.srtt, RTTVar: c.rtt.rttvar, MinRTT: c.rtt.minRTT, ATO: c.layer.cfg.DelayedACK,
		Cwnd: c.cc.cwnd, Ssthresh: c.cc.ssthresh, Backoffs: c.rtt.backoffs, DupAcks: c.cc.dupAcks, Reordering: dupThresh,
		InRecovery: c.cc.inRecovery, InFlight: c.pipe(), Sacked: int(c.sent.sacked), Lost: int(c.sent.lost),
		UnackedSegs: c.sent.len(), SackedSegs: int(c.sent.nSack),
		SendQueued: c.sndBuf.Len(), RecvQueued: c.rcvBuf.Len(), OOO: c.oooBytes(), NotSent: c.Unsent(),
		TotalRetrans: c.counts.retransmits, BytesSent: c.counts.bytesSent, BytesRetrans: c.counts.bytesRetrans,
		BytesAcked: c.counts.bytesAcked, BytesReceived: c.counts.bytesReceived,
		SegsOut: c.counts.segsOut, SegsIn: c.counts.segsIn, DataSegsOut: c.counts.dataSegsOut, DataSegsIn: c.counts.dataSegsIn,
		Delivered: c.counts.delivered, LastDataSent: sinceNanos(c.counts.lastDataSent), LastDataRecv: sinceNanos(c.counts.lastDataRecv),
		LastAckRecv: since(c.layer.timeAt(c.lastAckAt)),
	}
	// The queue keeps byte counts; segment counts are for Info alone, so they are counted here.
	for i := range c.sent.len() {
		s := c.sent.at(i)
		if s.is(segSacked) {
			continue
		}
		if s.is(segLost) {
			in.LostSegs++
		}
		if s.is(segRxtInFlight) {
			in.RetransSegs++
		}
	}
	return in
}
