package stack

import (
	"context"
	"net"
	"net/netip"
	"strconv"

	"github.com/mtcp-go/mtcp/stack/tcp"
)

// Dial connects to address on the named network and waits until the handshake completes. It
// has the shape of net.Dialer.DialContext, so a Stack can stand in wherever the standard
// library takes a dial function, such as http.Transport{DialContext: s.Dial}.
//
// network is "tcp" or "tcp4"; anything else fails with ErrUnsupportedNetwork. address is an
// IPv4 address and a port, such as "198.18.0.1:80": the stack has no resolver, so a host name
// fails (with a *net.AddrError saying so), as does an IPv6 address. Errors are *net.OpError;
// past the parsing, Dial behaves as DialContext.
func (s *Stack) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4":
	default:
		return nil, &net.OpError{Op: "dial", Net: network, Err: ErrUnsupportedNetwork}
	}
	ap, err := parseAddrPort(address)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	c, err := s.DialContext(ctx, ap)
	if err != nil {
		return nil, err // not c: a nil *Conn in a net.Conn is not a nil net.Conn
	}
	return c, nil
}

// parseAddrPort reads Dial's address: an IPv4 literal (an IPv4-mapped IPv6 one will do) and a
// port from 1 to 65535.
func parseAddrPort(address string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return netip.AddrPort{}, err // a *net.AddrError: missing port, too many colons, ...
	}
	addr, err := netip.ParseAddr(host)
	switch {
	case host == "":
		return netip.AddrPort{}, &net.AddrError{Err: "missing host: the stack dials an IPv4 address such as 198.18.0.1:80", Addr: address}
	case err != nil:
		return netip.AddrPort{}, &net.AddrError{Err: "not an IP address: the stack has no resolver, only IPv4 literals such as 198.18.0.1 are supported", Addr: host}
	case addr.Unmap().Is4() && addr.Zone() == "":
		addr = addr.Unmap()
	default:
		return netip.AddrPort{}, &net.AddrError{Err: "not an IPv4 address: the stack has IPv4 only", Addr: host}
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return netip.AddrPort{}, &net.AddrError{Err: "invalid port: want a number from 1 to 65535", Addr: address}
	}
	return netip.AddrPortFrom(addr, uint16(n)), nil
}

// DialContext opens a connection to addr and waits until the handshake completes. A peer that
// refuses fails it with ErrConnRefused; one that never answers, with ErrTimeout once the SYN
// retries (tcp.Config.SynRetries) are spent. When ctx is done first, the connection is
// deleted (in SYN-SENT without a word, RFC 9293 3.10.5; a SYN-ACK that comes later draws a
// RST, as for any closed port) and the error wraps ctx.Err(). Errors are *net.OpError. Dial
// does the same from a network name and an address string.
func (s *Stack) DialContext(ctx context.Context, addr netip.AddrPort) (*Conn, error) {
	fail := func(c *Conn, err error) (*Conn, error) {
		var local netip.AddrPort
		if c != nil {
			local = c.tc.LocalAddr()
		}
		return nil, opError("dial", local, addr, err)
	}
	if err := ctx.Err(); err != nil {
		return fail(nil, err)
	}
	if !s.lockCore() {
		return fail(nil, ErrStackClosed)
	}
	tc, err := s.core.TCP().Dial(addr)
	if err != nil {
		s.unlockCore()
		return fail(nil, err)
	}
	c := s.adopt(tc)
	for {
		switch {
		case tc.Connected():
			// The channel the dial slept on goes: an idle connection keeps none, and a
			// Write that blocks makes its own.
			c.wrSig, c.wrWaiting = nil, false
			s.unlockCore()
			return c, nil
		case tc.Err() != nil:
			err := tc.Err()
			s.unlockCore()
			return fail(c, err)
		case tc.State() == tcp.Closed:
			s.unlockCore()
			return fail(c, ErrConnAborted)
		}
		ready := c.writeWait()
		s.unlockCore()
		s.sleep(ready, ctx.Done())
		if !s.lockCore() {
			return fail(c, ErrStackClosed)
		}
		if err := ctx.Err(); err != nil && !tc.Connected() {
			tc.Abort()
			s.unlockCore()
			return fail(c, err)
		}
	}
}
