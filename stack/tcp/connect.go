package tcp

import (
	"fmt"
	"net/netip"
)

// Dial starts an active open to remote (RFC 9293 3.10.1): a SYN goes out now; the Conn
// becomes Connected when the handshake completes, or fails with ErrConnRefused, ErrTimeout or
// ErrHostUnreach.
func (l *Layer) Dial(remote netip.AddrPort) (*Conn, error) {
	return l.DialWith(remote, DialOptions{})
}

// DialBuffers is Dial with the connection's buffer sizes, which fix the window of its SYN and
// its window scale.
func (l *Layer) DialBuffers(remote netip.AddrPort, bufs BufferSizes) (*Conn, error) {
	return l.DialWith(remote, DialOptions{Buffers: bufs})
}

// DialOptions are what an active open must know before its SYN goes out.
type DialOptions struct {
	Buffers   BufferSizes // fix the SYN's window and the window scale
	NoOptions bool        // the SYN carries no TCP option, not even the MSS, so none is agreed (FreeBSD's TCP_NOOPT)
	MSS       int         // a cap on the MSS announced and sent (TCP_MAXSEG before connect); 0: none
}

// DialWith is Dial with options.
func (l *Layer) DialWith(remote netip.AddrPort, o DialOptions) (*Conn, error) {
	if !remote.Addr().Is4() || remote.Port() == 0 || remote.Addr().IsUnspecified() || remote.Addr().IsMulticast() {
		return nil, fmt.Errorf("%w: %v", ErrInvalidAddress, remote)
	}
	if len(l.conns) >= l.cfg.MaxConnections {
		l.stats.TableFull++
		return nil, ErrTooManyConns
	}
	local := l.host.LocalAddr()
	port, err := l.ephemeralPort(local, remote)
	if err != nil {
		return nil, err
	}
	c := l.newConn(tupleOf(netip.AddrPortFrom(local, port), remote), SynSent, o.Buffers.clamp())
	c.noOpt, c.userMSS = o.NoOptions, uint16(min(max(o.MSS, 0), 0xffff))
	l.stats.ActiveOpens++
	c.sendSyn(l.now())
	c.SetConnectTimeout(l.cfg.ConnectTimeout)
	return c, nil
}
