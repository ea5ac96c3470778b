package harness

import (
	"net"
	"net/netip"
	"strconv"
	"time"
)

// DUT is the device under test as the bench sees it: frames in and out, and time. Specs never
// reach past it and the optional interfaces below (Sockets, Tunable, ConnTable, DropCounter),
// so another target (the Linux kernel in a network namespace, gVisor's netstack) takes mtcp's
// place by implementing them; harness/mtcpdut is mtcp's.
type DUT interface {
	// Name names the target in reports ("mtcp").
	Name() string
	// MAC and Addr are the target's Ethernet address and IPv4 address with prefix.
	MAC() net.HardwareAddr
	Addr() netip.Prefix
	// SetOutput sets where the frames the target sends go. The target calls out on the
	// goroutine that called Deliver or Advance; out must not call back into the target.
	SetOutput(out func(frame []byte))
	// Deliver hands the target one frame at time now.
	Deliver(now time.Time, frame []byte)
	// Advance runs the target's timers due by now. A target on the real clock (the Linux
	// kernel) waits until now has come, and hands over what it sent by then.
	Advance(now time.Time)
	// NextDeadline reports when the target next needs Advance, if ever. A target on the real
	// clock reports its polling instant.
	NextDeadline() (time.Time, bool)
}

// Target makes devices under test: a fresh one for every case.
type Target interface {
	// Name names the target ("mtcp", "linux", "gvisor"): the --target value.
	Name() string
	// NewDUT makes a device under test at the bench's defaults (DefaultStackAddr,
	// DefaultStackMAC, DefaultGateway) and the target's own policy. If the DUT is a Destroyer,
	// whoever made it destroys it when the case ends.
	NewDUT() (DUT, error)
}

// RealTime is a DUT on the real clock (the Linux kernel): a case's virtual minutes are real
// minutes there, so the bench bounds them (WithTimeLimit).
type RealTime interface {
	RealTime() bool
}

// Destroyer is a DUT that holds more than memory (a network namespace, goroutines): Destroy
// releases it all, and the DUT is not used again. (Not io.Closer: Sockets has Close(fd).)
type Destroyer interface {
	Destroy()
}

// Tunable is a DUT whose policy a case sets by sysctl assignments, by Linux's names
// (net.ipv4.tcp_sack) or FreeBSD's (net.inet.tcp.sack.enable), as scenario scripts do.
type Tunable interface {
	// Sysctl applies one assignment; the error says why the target cannot (unknown name,
	// value out of range).
	Sysctl(name, value string) error
}

// ConnTable is a DUT that lists its TCP connections as netstat does (ss -tan on Linux):
// every connection it keeps state for, those in SYN-RECEIVED and TIME-WAIT included.
type ConnTable interface {
	Conns() []Conn
}

// Conn is one row of a ConnTable.
type Conn struct {
	Local, Remote netip.AddrPort
	State         TCPState
}

// ConnState returns the state of the connection between local and remote in the target's
// table; TCPClose if the target keeps none, as netstat would show no row.
func ConnState(t ConnTable, local, remote netip.AddrPort) TCPState {
	for _, c := range t.Conns() {
		if c.Local == local && c.Remote == remote {
			return c.State
		}
	}
	return TCPClose
}

// DropCounter is a DUT that counts the frames it received and discarded as invalid (bad
// checksum, bad header, not for it): a spec of silence checks the count rose.
type DropCounter interface {
	Drops() uint64
}

// Counters is a DUT that exposes protocol counters by name: Linux's nstat names where the
// target counts the same event (TcpExtSyncookiesSent, TcpExtPAWSEstab, ...), and names of its
// own, prefixed with the target's name, for what only it counts. ok is false for a counter
// the target does not keep.
type Counters interface {
	Counter(name string) (v uint64, ok bool)
}

// TCPState is a TCP state numbered as Linux's (include/net/tcp_states.h), the numbering
// TCP_INFO's tcpi_state and /proc/net/tcp use.
type TCPState int

// The states, RFC 9293 3.3.2's names in Linux's numbering.
const (
	TCPEstablished TCPState = 1 + iota
	TCPSynSent
	TCPSynRecv
	TCPFinWait1
	TCPFinWait2
	TCPTimeWait
	TCPClose
	TCPCloseWait
	TCPLastAck
	TCPListen
	TCPClosing
)

var stateNames = [...]string{"", "ESTABLISHED", "SYN-SENT", "SYN-RECEIVED", "FIN-WAIT-1", "FIN-WAIT-2",
	"TIME-WAIT", "CLOSED", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING"}

// String returns RFC 9293's name of the state.
func (s TCPState) String() string {
	if s > 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// RunDeadlines moves a DUT through time from now to until: to every deadline it reports on
// the way, in order, so timers fire at their exact times, and last to until itself. It is the
// one loop that drives a DUT through time, for the bench, the replay engine and tests that
// drive a DUT alone. At each instant it calls step, which sets the caller's clock, calls
// d.Advance and looks at what the DUT sent (nil: just d.Advance); a step that returns true
// stops the run there. It returns the instant reached.
func RunDeadlines(d DUT, now, until time.Time, step func(now time.Time) (stop bool)) time.Time {
	if step == nil {
		step = func(now time.Time) bool { d.Advance(now); return false }
	}
	for {
		next, ok := d.NextDeadline()
		if !ok || next.After(until) {
			break
		}
		if next.After(now) {
			now = next
		}
		if step(now) {
			return now
		}
	}
	if until.After(now) {
		now = until
	}
	step(now)
	return now
}

// FreeBSD's TCP options that Linux lacks have no Linux number (package linuxabi); these are
// the Sockets interface's, above every Linux TCP option number.
const (
	TCP_KEEPINIT = 0x1000 + 128 // FreeBSD: seconds an active open may take (tcp(4))
	TCP_NOOPT    = 0x1000 + 8   // FreeBSD: no TCP options in the SYN (tcp(4))
)

// Defaults of the bench's network: the stack and its peer in 198.18.0.0/24, locally
// administered MACs.
var (
	DefaultStackAddr = netip.MustParsePrefix("198.18.0.2/24")
	DefaultStackMAC  = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
	DefaultPeerIP    = netip.MustParseAddr("198.18.0.1")
	DefaultPeerMAC   = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	DefaultGateway   = netip.MustParseAddr("198.18.0.254")
)

// Sockets is the BSD socket API a target offers to scenario scripts, on small-integer file
// descriptors numbered as a process's are (the lowest free one, from 3). No call blocks: a call
// that would block fails with EAGAIN (connect: EINPROGRESS, then EALREADY), and the script
// runner emulates blocking sockets by calling again as virtual time passes. Errors are
// linuxabi.Errno values (compare them with errors.Is); levels, option names, flags, poll events
// and ioctl requests are Linux's numbers (package linuxabi's constants) on every host.
type Sockets interface {
	// Socket makes a TCP socket.
	Socket() (int, error)
	// Bind binds the socket to a local port of the target's address.
	Bind(fd int, port uint16) error
	// Listen makes a bound socket listen.
	Listen(fd, backlog int) error
	// Accept takes an established connection from a listening socket.
	Accept(fd int) (int, error)
	// Connect starts an active open (EINPROGRESS); called again, it reports EALREADY while the
	// handshake runs, then 0 once, then EISCONN; or the error the connection failed with.
	Connect(fd int, remote netip.AddrPort) error
	// Read returns received bytes; 0 at end of stream.
	Read(fd int, p []byte) (int, error)
	// Write queues bytes to send; it may take fewer than len(p).
	Write(fd int, p []byte) (int, error)
	// Shutdown shuts down reading (SHUT_RD), writing (SHUT_WR) or both (SHUT_RDWR).
	Shutdown(fd, how int) error
	// Close closes the descriptor.
	Close(fd int) error
	// SetSockOpt and GetSockOpt set and read an integer option.
	SetSockOpt(fd, level, name, value int) error
	GetSockOpt(fd, level, name int) (int, error)
	// Recv reads like Read, with flags: MSG_PEEK leaves the bytes queued, MSG_TRUNC
	// drops them instead of copying (Linux's meaning on TCP). Other flags are the caller's.
	Recv(fd int, p []byte, flags int) (int, error)
	// Poll returns the poll(2) events that hold for fd now, in Linux's bits (POLLIN,
	// POLLOUT, POLLERR, POLLHUP, POLLRDHUP, with POLLRDNORM and POLLWRNORM alongside).
	Poll(fd int) (int, error)
	// Ioctl answers SIOCINQ (FIONREAD: bytes received and unread), SIOCOUTQ (bytes written
	// and not yet acknowledged) and SIOCOUTQNSD (written and not yet sent).
	Ioctl(fd, request int) (int, error)
	// TCPInfo returns the fields of Linux's struct tcp_info the target knows, by name
	// ("tcpi_state", "tcpi_snd_cwnd", ...), in Linux's units: states numbered as Linux's,
	// times in microseconds, windows and counts in segments.
	TCPInfo(fd int) (map[string]int64, error)
}
