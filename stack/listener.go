package stack

import (
	"net"
	"net/netip"

	"github.com/mtcp-go/mtcp/stack/tcp"
)

// Listener accepts TCP connections on one port of a Stack. It is a net.Listener and safe for
// concurrent use.
type Listener struct {
	s    *Stack
	tl   *tcp.Listener
	addr netip.AddrPort

	// Guarded by s.mu.
	wait   chan struct{} // closed when a connection is ready or the listener closes; nil when nobody waits
	closed bool
}

var _ net.Listener = (*Listener)(nil)

// Listen opens a listener on port of the stack's address. Up to tcp.Config.Backlog
// established connections wait for Accept; further SYNs are dropped (the peer retries). A port
// that already has a listener fails with ErrAddrInUse.
func (s *Stack) Listen(port uint16) (*Listener, error) {
	addr := netip.AddrPortFrom(s.Addr().Addr(), port)
	if !s.lockCore() {
		return nil, opError("listen", netip.AddrPort{}, addr, ErrStackClosed)
	}
	tl, err := s.core.TCP().Listen(port, 0)
	if err != nil {
		s.unlockCore()
		return nil, opError("listen", netip.AddrPort{}, addr, err)
	}
	ln := &Listener{s: s, tl: tl, addr: addr}
	tl.SetNotify(ln.wakeAll)
	s.listeners[ln] = struct{}{}
	s.unlockCore()
	return ln, nil
}

// wakeAll wakes the blocked Accepts; s.mu is held. It is also the TCP core's notify hook.
func (ln *Listener) wakeAll() {
	if ln.wait != nil {
		close(ln.wait)
		ln.wait = nil
	}
}

// Accept waits for the next established connection and returns it as a net.Conn (a *Conn).
func (ln *Listener) Accept() (net.Conn, error) {
	c, err := ln.AcceptTCP()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// lock is lockCore for a call on ln: it fails, with s.mu released, if ln or the stack is
// closed.
func (ln *Listener) lock(op string) error {
	if !ln.s.lockCore() {
		return opError(op, netip.AddrPort{}, ln.addr, ErrStackClosed)
	}
	if ln.closed {
		ln.s.unlockCore()
		return opError(op, netip.AddrPort{}, ln.addr, net.ErrClosed)
	}
	return nil
}

// AcceptTCP waits for the next established connection. After Close, or the stack's Close, it
// fails with an error wrapping net.ErrClosed.
func (ln *Listener) AcceptTCP() (*Conn, error) {
	s := ln.s
	for {
		if err := ln.lock("accept"); err != nil {
			return nil, err
		}
		tc, err := ln.tl.Accept()
		if err == nil {
			c := s.adopt(tc)
			s.unlockCore()
			return c, nil
		}
		if err != tcp.ErrWouldBlock {
			s.unlockCore()
			return nil, opError("accept", netip.AddrPort{}, ln.addr, mapErr(err))
		}
		if ln.wait == nil {
			ln.wait = make(chan struct{})
		}
		ready := ln.wait
		s.unlockCore()
		s.sleep(ready, nil)
	}
}

// Close stops listening. Connections not yet accepted are reset; accepted ones are not
// affected. Blocked Accepts return an error wrapping net.ErrClosed.
func (ln *Listener) Close() error {
	s := ln.s
	if err := ln.lock("close"); err != nil {
		return err
	}
	ln.closed = true
	ln.tl.Close()
	ln.wakeAll()
	delete(s.listeners, ln)
	s.unlockCore()
	return nil
}

// Addr returns the address listened on, a *net.TCPAddr.
func (ln *Listener) Addr() net.Addr { return net.TCPAddrFromAddrPort(ln.addr) }
