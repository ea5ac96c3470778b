package stack

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mtcp-go/mtcp/stack/tcp"
)

// Conn is a TCP connection of a Stack, with blocking net.Conn semantics over the TCP core's
// non-blocking socket. It is safe for concurrent use: one goroutine may read while another
// writes, and calls of the same kind are serialized, so concurrent Writes never interleave.
type Conn struct {
	s  *Stack
	tc *tcp.Conn

	readMu, writeMu sync.Mutex // serialize Reads, and Writes
	// rd and wr are made when a deadline is first set: most connections never need them.
	// Setting one wakes a blocked call, so that it sleeps on the deadline's channel too.
	rd, wr atomic.Pointer[deadline]

	// Guarded by s.mu.
	// A blocked Read (Write, dial) sleeps on rdSig (wrSig) and is woken by a token sent there.
	// Reads and Writes are each serialized, so each channel has one sleeper at most; the
	// channels are made on the first wait and reused, so a steady stream allocates nothing. A
	// token left over from an earlier wake-up only makes the next wait re-check at once.
	rdSig, wrSig         chan struct{}
	rdWaiting, wrWaiting bool
	closed               bool // Close was called
	readShut             bool // CloseRead was called: Read returns io.EOF, arriving data is dropped
	drainQueued          bool // in s.shutReads
}

var _ net.Conn = (*Conn)(nil)

// adopt wraps tc and hooks it to the TCP core's notifications; s.mu is held. The TCP core's
// table holds tc, and tc the hook: nothing else is kept per connection.
func (s *Stack) adopt(tc *tcp.Conn) *Conn {
	c := &Conn{s: s, tc: tc}
	tc.SetNotify((*notifier)(c))
	tc.SetNoDelay(true) // as Go's own TCP connections: see SetNoDelay
	c.notified()        // the connection may have changed before it had a hook
	return c
}

// notifier is the TCP core's view of a Conn: its hook, without a closure to allocate.
type notifier Conn

func (n *notifier) Notify() { (*Conn)(n).notified() }

// notified is the TCP core's notify hook: it runs under s.mu, whenever the connection may have
// become readable, writable, connected or closed, and wakes the calls that can now proceed.
// It must not call back into the TCP core.
func (c *Conn) notified() {
	tc := c.tc
	// Closed, or in TIME-WAIT, where the TCP core keeps only a compact record: nothing more
	// will come, so a busy server's closed connections are freed as soon as the application
	// drops them.
	if st := tc.State(); st == tcp.Closed || st == tcp.TimeWait {
		c.wakeAll()
	}
	if c.rdWaiting && tc.Readable() {
		c.wakeRead()
	}
	if c.wrWaiting && c.writeReady() {
		c.wakeWrite()
	}
	if c.readShut && !c.drainQueued && tc.Readable() {
		c.drainQueued = true
		c.s.shutReads = append(c.s.shutReads, c)
	}
}

// writeReady reports whether a blocked Write (or dial) should try again: the connection is
// connected with a quarter of the send buffer free, or it can no longer take data at all. Waking
// a writer for every few freed bytes would cost a wake-up per ACK for little progress (Linux
// waits for a third of the buffer, sk_stream_write_space).
func (c *Conn) writeReady() bool {
	tc := c.tc
	if !tc.Writable() {
		return false
	}
	switch tc.State() {
	case tcp.Established, tcp.CloseWait:
		return tc.Err() != nil || c.s.sendBuffer-tc.Buffered() >= c.s.sendBuffer/4
	}
	return true
}

// wakeAll wakes every call blocked on the connection; s.mu is held.
func (c *Conn) wakeAll() {
	c.wakeRead()
	c.wakeWrite()
}

// wakeRead wakes a blocked Read, if there is one; s.mu is held.
func (c *Conn) wakeRead() {
	if c.rdWaiting {
		c.rdWaiting = false
		signal(c.rdSig)
	}
}

// wakeWrite wakes a blocked Write or dial, if there is one; s.mu is held.
func (c *Conn) wakeWrite() {
	if c.wrWaiting {
		c.wrWaiting = false
		signal(c.wrSig)
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default: // a token is already there
	}
}

// readWait returns the channel a blocked Read sleeps on; s.mu is held.
func (c *Conn) readWait() <-chan struct{} {
	if c.rdSig == nil {
		c.rdSig = make(chan struct{}, 1)
	}
	c.rdWaiting = true
	return c.rdSig
}

// writeWait returns the channel a blocked Write or dial sleeps on; s.mu is held.
func (c *Conn) writeWait() <-chan struct{} {
	if c.wrSig == nil {
		c.wrSig = make(chan struct{}, 1)
	}
	c.wrWaiting = true
	return c.wrSig
}

func (c *Conn) opError(op string, err error) error {
	return opError(op, c.tc.LocalAddr(), c.tc.RemoteAddr(), err)
}

// lock is lockCore for a call on c: it fails, with s.mu released, if c or the stack is closed.
func (c *Conn) lock(op string) error {
	if !c.s.lockCore() {
		return c.opError(op, ErrStackClosed)
	}
	if c.closed {
		c.s.unlockCore()
		return c.opError(op, net.ErrClosed)
	}
	return nil
}

// Read reads received data into b. It blocks until some data is there, the peer has closed its
// side (io.EOF, bare, after the data before the FIN), the connection failed (ErrConnReset, ...),
// the read deadline passes (os.ErrDeadlineExceeded), or the connection or stack is closed
// (net.ErrClosed). Errors other than io.EOF are *net.OpError.
func (c *Conn) Read(b []byte) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	for {
		if c.rd.Load().expired() {
			return 0, c.opError("read", os.ErrDeadlineExceeded)
		}
		s := c.s
		if err := c.lock("read"); err != nil {
			return 0, err
		}
		if c.readShut {
			s.unlockCore()
			return 0, io.EOF
		}
		n, err := c.tc.Read(b)
		if err == tcp.ErrWouldBlock {
			ready := c.readWait()
			s.unlockCore()
			s.sleep(ready, c.rd.Load().wait())
			continue
		}
		s.unlockCore()
		switch err {
		case nil, io.EOF:
			return n, err
		}
		return n, c.opError("read", mapErr(err))
	}
}

// Write queues all of b for sending. The send buffer is bounded (tcp.Config.SendBuffer), so a
// large b is queued piece by piece as the peer acknowledges; Write blocks until the last piece
// is queued, the connection fails, the write deadline passes (os.ErrDeadlineExceeded), or the
// connection or stack is closed. It returns how many bytes were queued, and a *net.OpError
// when that is less than len(b).
func (c *Conn) Write(b []byte) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	total := 0
	for {
		if c.wr.Load().expired() {
			return total, c.opError("write", os.ErrDeadlineExceeded)
		}
		s := c.s
		if err := c.lock("write"); err != nil {
			return total, err
		}
		n, err := c.tc.Write(b[total:])
		total += n
		if err == nil && total == len(b) {
			s.unlockCore()
			return total, nil
		}
		if err == nil || err == tcp.ErrWouldBlock {
			ready := c.writeWait()
			s.unlockCore()
			s.sleep(ready, c.wr.Load().wait())
			continue
		}
		s.unlockCore()
		return total, c.opError("write", mapErr(err))
	}
}

// SetUserTimeout sets how long written data may stay unacknowledged, or wait behind a zero
// window with its probes unanswered, before the connection is aborted with a timeout (RFC
// 5482, Linux's TCP_USER_TIMEOUT); 0 leaves it to the retry counts.
func (c *Conn) SetUserTimeout(d time.Duration) error {
	return c.set(func(tc *tcp.Conn) { tc.SetUserTimeout(d) })
}

// Close closes the connection. Data written is still sent, followed by a FIN, and the
// connection finishes in the background; but if received data was left unread, or after
// SetLinger(0), the connection is aborted with a RST (RFC 1122 4.2.2.13). Blocked calls
// return net.ErrClosed. A second Close returns an error wrapping net.ErrClosed.
func (c *Conn) Close() error {
	s := c.s
	s.mu.Lock()
	if c.closed {
		s.mu.Unlock()
		return c.opError("close", net.ErrClosed)
	}
	c.closed = true
	c.wakeAll()
	if s.closed {
		s.mu.Unlock()
	} else {
		s.core.Advance(s.now())
		_ = c.tc.Close() // errors here are the connection's earlier failure, already reported
		s.unlockCore()
	}
	c.rd.Load().stop()
	c.wr.Load().stop()
	return nil
}

// CloseWrite shuts the sending side: a FIN follows the data already written (half-close,
// RFC 9293 3.6). Reading goes on until the peer closes its side.
func (c *Conn) CloseWrite() error {
	s := c.s
	if err := c.lock("close"); err != nil {
		return err
	}
	err := c.tc.CloseWrite()
	c.wakeWrite() // a blocked Write now fails
	s.unlockCore()
	if err != nil {
		return c.opError("close", mapErr(err))
	}
	return nil
}

// CloseRead shuts the receiving side for the application: Read returns io.EOF from now on.
// TCP has no way to tell the peer, so the stack goes on accepting and acknowledging what
// arrives, and drops it.
func (c *Conn) CloseRead() error {
	s := c.s
	if err := c.lock("close"); err != nil {
		return err
	}
	c.readShut = true
	c.wakeRead()
	if !c.drainQueued {
		c.drainQueued = true
		s.shutReads = append(s.shutReads, c)
	}
	s.unlockCore()
	return nil
}

// set runs a socket option call on the TCP core.
func (c *Conn) set(f func(tc *tcp.Conn)) error {
	if err := c.lock("set"); err != nil {
		return err
	}
	f(c.tc)
	c.s.unlockCore()
	return nil
}

// SetNoDelay turns Nagle's algorithm (RFC 896) off when noDelay is true, so that small writes
// go out at once. As with Go's *net.TCPConn, the default is true (no delay): a server that
// writes a response's header and body in two Writes, as net/http does, would otherwise wait
// for the ACK of the first, which a peer delaying its ACKs holds back up to 40 ms (Linux) or
// 200 ms. SetNoDelay(false) turns Nagle's algorithm on. (The TCP core's sockets, and so the
// conformance scripts, keep Nagle on, as Linux's do.)
func (c *Conn) SetNoDelay(noDelay bool) error {
	return c.set(func(tc *tcp.Conn) { tc.SetNoDelay(noDelay) })
}

// SetKeepAlive turns keepalive probes (RFC 1122 4.2.3.6) on or off; they are off by default.
func (c *Conn) SetKeepAlive(on bool) error {
	return c.set(func(tc *tcp.Conn) { tc.SetKeepAlive(on) })
}

// SetKeepAlivePeriod sets the idle time before the first keepalive probe and between probes;
// d <= 0 leaves it unchanged.
func (c *Conn) SetKeepAlivePeriod(d time.Duration) error {
	return c.set(func(tc *tcp.Conn) { tc.SetKeepAlivePeriod(d) })
}

// SetLinger(0) makes Close abort the connection with a RST, dropping unsent data; any other
// value restores the default graceful close (data sent, then a FIN, in the background).
func (c *Conn) SetLinger(sec int) error {
	return c.set(func(tc *tcp.Conn) { tc.SetLinger(sec) })
}

// Info returns a snapshot of the connection's control block (state, sequence numbers,
// windows, RTT, queues).
func (c *Conn) Info() tcp.Info {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.tc.Info()
}

// LocalAddr returns the stack's address and port, a *net.TCPAddr.
func (c *Conn) LocalAddr() net.Addr { return net.TCPAddrFromAddrPort(c.tc.LocalAddr()) }

// RemoteAddr returns the peer's address and port, a *net.TCPAddr.
func (c *Conn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.tc.RemoteAddr()) }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	deadlineOf(&c.rd).set(t)
	deadlineOf(&c.wr).set(t)
	c.wakeForDeadline()
	return nil
}

// wakeForDeadline wakes the calls blocked on c, so that they look at their deadlines again: a
// call that blocked before its direction had a deadline sleeps without one.
func (c *Conn) wakeForDeadline() {
	c.s.mu.Lock()
	c.wakeAll()
	c.s.mu.Unlock()
}

// SetReadDeadline sets when blocked and future Reads fail with os.ErrDeadlineExceeded; a time
// in the past fails them at once, the zero time clears the deadline. It may be called while a
// Read is blocked, to make it return sooner or later.
func (c *Conn) SetReadDeadline(t time.Time) error {
	deadlineOf(&c.rd).set(t)
	c.wakeForDeadline()
	return nil
}

// SetWriteDeadline is SetReadDeadline for Write. A Write that times out may have queued part
// of its data; it returns how much.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	deadlineOf(&c.wr).set(t)
	c.wakeForDeadline()
	return nil
}

// deadline is one direction's deadline: a channel, closed when the deadline passes, that
// blocked calls select on. Moving the deadline keeps the channel (so a blocked call sleeps on
// until the new time) unless it was already closed.
type deadline struct {
	mu     sync.Mutex
	at     time.Time
	ch     chan struct{} // nil until a deadline is first set or a call first waits
	passed bool          // ch is closed
	timer  *time.Timer
}

// deadlineOf returns *p, made if there is none yet.
func deadlineOf(p *atomic.Pointer[deadline]) *deadline {
	if d := p.Load(); d != nil {
		return d
	}
	p.CompareAndSwap(nil, new(deadline))
	return p.Load()
}

// expired reports whether the deadline has passed; a nil deadline is none.
func (d *deadline) expired() bool {
	if d == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.passed
}

// set moves the deadline to t; the zero t clears it.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.at = t
	if d.passed {
		d.ch, d.passed = nil, false
	}
	if t.IsZero() {
		if d.timer != nil {
			d.timer.Stop()
		}
		return
	}
	if d.ch == nil {
		d.ch = make(chan struct{})
	}
	wait := time.Until(t)
	if wait <= 0 {
		if d.timer != nil {
			d.timer.Stop()
		}
		close(d.ch)
		d.passed = true
		return
	}
	if d.timer == nil {
		d.timer = time.AfterFunc(wait, d.fire)
	} else {
		d.timer.Reset(wait)
	}
}

// fire runs on the timer's goroutine. A timer that went off for an earlier setting, racing with
// set, finds the deadline not yet passed and re-arms instead.
func (d *deadline) fire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.passed || d.at.IsZero() {
		return
	}
	if wait := time.Until(d.at); wait > 0 {
		d.timer.Reset(wait)
		return
	}
	close(d.ch)
	d.passed = true
}

// wait returns the channel to sleep on, closed if the deadline has passed; nil (no wake-up)
// for a nil deadline. The channel is made here if setting the deadline has not made it yet,
// so that the deadline moved later, while the caller sleeps, closes the very channel it
// sleeps on.
func (d *deadline) wait() <-chan struct{} {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ch == nil {
		d.ch = make(chan struct{})
	}
	return d.ch
}

// stop releases the timer, if there is one.
func (d *deadline) stop() {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
	}
}
