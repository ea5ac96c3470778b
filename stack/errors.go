package stack

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/mtcp-go/mtcp/stack/tcp"
)

// Errors a connection fails with. They are the TCP core's own values, so errors.Is matches
// them whichever package the caller names. At the net.Conn boundary they arrive wrapped in a
// *net.OpError.
var (
	// ErrConnRefused: the peer answered the SYN with a RST, or an ICMP port or protocol
	// unreachable came back (RFC 9293 3.10.7.3, RFC 1122 4.2.3.9).
	ErrConnRefused = tcp.ErrConnRefused
	// ErrConnReset: the peer reset an established connection (RFC 9293 3.10.7.4).
	ErrConnReset = tcp.ErrConnReset
	// ErrConnAborted: the connection was aborted locally.
	ErrConnAborted = tcp.ErrConnAborted
	// ErrTimeout: retransmissions (of the SYN, data or FIN) or keepalive probes went
	// unanswered until the retry limit.
	ErrTimeout = tcp.ErrTimeout
	// ErrHostUnreach: ARP could not resolve the next hop, or an ICMP error said so.
	ErrHostUnreach = tcp.ErrHostUnreach
	// ErrWriteClosed: Write after CloseWrite (or Close).
	ErrWriteClosed = tcp.ErrWriteClosed
	// ErrAddrInUse: Listen on a port that already has a listener.
	ErrAddrInUse = tcp.ErrAddrInUse
	// ErrNoPorts: no ephemeral port is free for a dial to that address.
	ErrNoPorts = tcp.ErrNoPorts
	// ErrTooManyConns: the connection table (tcp.Config.MaxConnections) is full.
	ErrTooManyConns = tcp.ErrTooManyConns
	// ErrInvalidAddress: a port of 0, or a remote address that is not a unicast IPv4 address.
	ErrInvalidAddress = tcp.ErrInvalidAddress
)

// ErrUnsupportedNetwork is the error of Dial for a network other than "tcp" or "tcp4": the
// stack has TCP over IPv4 only.
var ErrUnsupportedNetwork = errors.New("unsupported network: the stack dials tcp or tcp4 only")

// ErrStackClosed is the error of calls on a closed stack, and of calls blocked when it closed.
// errors.Is(err, net.ErrClosed) holds for it.
var ErrStackClosed = fmt.Errorf("stack closed: %w", net.ErrClosed)

// tcpAddr converts an address for the net package's interfaces; it returns nil for the zero
// AddrPort, so that a *net.OpError leaves the field out rather than printing ":0".
func tcpAddr(ap netip.AddrPort) net.Addr {
	if !ap.IsValid() {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}

// opError wraps err for the net.Conn boundary. io.EOF is never wrapped: net.Conn users compare
// it with ==.
func opError(op string, local, remote netip.AddrPort, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: tcpAddr(local), Addr: tcpAddr(remote), Err: err}
}

// mapErr turns a TCP core error into the one users of the net package expect: tcp.ErrClosed
// (use after Close) becomes net.ErrClosed.
func mapErr(err error) error {
	if errors.Is(err, tcp.ErrClosed) {
		return net.ErrClosed
	}
	return err
}
