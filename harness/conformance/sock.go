package conformance

import (
	"errors"
	"net/netip"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/linuxabi"
)

// The TCP specs reach the target only as a program reaches a kernel: through its socket API
// (harness.Sockets: descriptors and errno values), TCP_INFO, and netstat (harness.ConnTable),
// and through the wire. Nothing here knows which stack is under test.

// sock is one descriptor of the target's socket API. Its methods are the calls the specs
// make; errors are linuxabi.Errno values, as a program sees them.
type sock struct {
	b      *Bench
	fd     int
	closed bool
	// local and remote are the connection's ends, for its row in the target's connection
	// table, which outlives the descriptor (TIME-WAIT).
	local, remote netip.AddrPort
}

// socketsOf returns the bench's socket API; a target without one fails the spec.
func socketsOf(b *Bench) Sockets {
	GinkgoHelper()
	s := b.SocketsOf()
	Expect(s).NotTo(BeNil(), "the target %s offers no socket API", b.DUT().Name())
	return s
}

func (s *sock) api() Sockets { return s.b.SocketsOf() }

// Read reads what has arrived: 0 at the end of the stream, EAGAIN when nothing has.
func (s *sock) Read(p []byte) (int, error) { return s.api().Read(s.fd, p) }

// Write queues p; it may take less.
func (s *sock) Write(p []byte) (int, error) { return s.api().Write(s.fd, p) }

// Close closes the descriptor.
func (s *sock) Close() error {
	s.closed = true
	return s.api().Close(s.fd)
}

// CloseWrite shuts the sending side down (shutdown(SHUT_WR)): a FIN.
func (s *sock) CloseWrite() error { return s.api().Shutdown(s.fd, linuxabi.SHUT_WR) }

// Abort closes with SO_LINGER set to zero: a RST instead of a FIN (RFC 9293 3.10.4 ABORT).
func (s *sock) Abort() error {
	s.SetLinger(0)
	return s.Close()
}

// SetLinger sets SO_LINGER on with a timeout of sec seconds.
func (s *sock) SetLinger(sec int) {
	GinkgoHelper()
	Expect(s.api().SetSockOpt(s.fd, linuxabi.SOL_SOCKET, linuxabi.SO_LINGER, sec)).To(Succeed())
}

// SetNoDelay sets TCP_NODELAY: no Nagle (RFC 1122 4.2.3.4).
func (s *sock) SetNoDelay(on bool) {
	GinkgoHelper()
	v := 0
	if on {
		v = 1
	}
	Expect(s.api().SetSockOpt(s.fd, linuxabi.IPPROTO_TCP, linuxabi.TCP_NODELAY, v)).To(Succeed())
}

// SetUserTimeout sets TCP_USER_TIMEOUT (RFC 5482), in milliseconds.
func (s *sock) SetUserTimeout(d time.Duration) {
	GinkgoHelper()
	Expect(s.api().SetSockOpt(s.fd, linuxabi.IPPROTO_TCP, linuxabi.TCP_USER_TIMEOUT, int(d/time.Millisecond))).To(Succeed())
}

// Err returns the connection's pending error (SO_ERROR), nil if none.
func (s *sock) Err() error {
	GinkgoHelper()
	Expect(s.closed).To(BeFalse(), "SO_ERROR of a closed descriptor")
	v, err := s.api().GetSockOpt(s.fd, linuxabi.SOL_SOCKET, linuxabi.SO_ERROR)
	Expect(err).NotTo(HaveOccurred())
	if v == 0 {
		return nil
	}
	return linuxabi.Errno(v)
}

// State returns the connection's state as the target's connection table (netstat) shows it:
// CLOSED once it keeps none. It works after Close, through TIME-WAIT.
func (s *sock) State() TCPState {
	GinkgoHelper()
	t, ok := s.b.DUT().(ConnTable)
	Expect(ok).To(BeTrue(), "the target %s lists no connections", s.b.DUT().Name())
	return ConnState(t, s.local, s.remote)
}

// connInfo is what the specs read of TCP_INFO (Linux's struct tcp_info): windows and counts
// in segments, as Linux keeps them.
type connInfo struct {
	SndWScale, RcvWScale   int
	SACK, Timestamps       bool
	SndMSS                 int
	CwndSegs, SsthreshSegs int // the congestion window and slow-start threshold, in segments
	InRecovery             bool
	Backoffs               int
	PMTU                   int
	RTO, SRTT, RTTVar      time.Duration
	SackedSegs, LostSegs   int
	RecvQueued             int // SIOCINQ: bytes received and not read
}

// infiniteSsthresh is TCP_INFINITE_SSTHRESH: no loss yet.
const infiniteSsthresh = 0x7fffffff

// Linux's tcpi_ca_state for fast recovery (TCP_CA_Recovery) and tcpi_options bits.
const (
	caRecovery    = 3
	optTimestamps = 1
	optSACK       = 2
)

// Info reads TCP_INFO and SIOCINQ.
func (s *sock) Info() connInfo {
	GinkgoHelper()
	m, err := s.api().TCPInfo(s.fd)
	Expect(err).NotTo(HaveOccurred())
	inq, err := s.api().Ioctl(s.fd, linuxabi.SIOCINQ)
	Expect(err).NotTo(HaveOccurred())
	us := func(name string) time.Duration { return time.Duration(m[name]) * time.Microsecond }
	return connInfo{
		SndWScale: int(m["tcpi_snd_wscale"]), RcvWScale: int(m["tcpi_rcv_wscale"]),
		SACK: m["tcpi_options"]&optSACK != 0, Timestamps: m["tcpi_options"]&optTimestamps != 0,
		SndMSS:   int(m["tcpi_snd_mss"]),
		CwndSegs: int(m["tcpi_snd_cwnd"]), SsthreshSegs: int(m["tcpi_snd_ssthresh"]),
		InRecovery: m["tcpi_ca_state"] == caRecovery,
		Backoffs:   int(m["tcpi_backoff"]),
		PMTU:       int(m["tcpi_pmtu"]),
		RTO:        us("tcpi_rto"), SRTT: us("tcpi_rtt"), RTTVar: us("tcpi_rttvar"),
		SackedSegs: int(m["tcpi_sacked"]), LostSegs: int(m["tcpi_lost"]),
		RecvQueued: inq,
	}
}

// listener is a listening descriptor.
type listener struct {
	b    *Bench
	fd   int
	port uint16
}

// listenOn opens a listening socket on port with the given backlog.
func listenOn(b *Bench, port uint16, backlog int) *listener {
	GinkgoHelper()
	s := socketsOf(b)
	ln := &listener{b: b, port: port}
	b.Do(func() {
		var err error
		ln.fd, err = s.Socket()
		Expect(err).NotTo(HaveOccurred())
		Expect(s.SetSockOpt(ln.fd, linuxabi.SOL_SOCKET, linuxabi.SO_REUSEADDR, 1)).To(Succeed())
		Expect(s.Bind(ln.fd, port)).To(Succeed())
		Expect(s.Listen(ln.fd, backlog)).To(Succeed())
	})
	return ln
}

// Accept takes an established connection (EAGAIN if none waits), which the spec knows to be
// the peer's from port peerPort (the socket API has no getpeername).
func (ln *listener) Accept(peerPort uint16) (*sock, error) {
	fd, err := ln.b.SocketsOf().Accept(ln.fd)
	if err != nil {
		return nil, err
	}
	return &sock{b: ln.b, fd: fd, local: netip.AddrPortFrom(ln.b.StackIP(), ln.port),
		remote: netip.AddrPortFrom(ln.b.Peer().IP, peerPort)}, nil
}

// HalfOpen returns the listener's connections in SYN-RECEIVED, as netstat shows them.
func (ln *listener) HalfOpen() int {
	GinkgoHelper()
	return len(connsIn(ln.b, TCPSynRecv, ln.port))
}

// Close closes the listening descriptor.
func (ln *listener) Close() error { return ln.b.SocketsOf().Close(ln.fd) }

// connsIn returns the rows of the target's connection table in state st on local port port.
func connsIn(b *Bench, st TCPState, port uint16) []Conn {
	GinkgoHelper()
	t, ok := b.DUT().(ConnTable)
	Expect(ok).To(BeTrue(), "the target %s lists no connections", b.DUT().Name())
	var out []Conn
	for _, c := range t.Conns() {
		if c.State == st && c.Local.Port() == port {
			out = append(out, c)
		}
	}
	return out
}

// tableSize returns the connections the target keeps outside TIME-WAIT (listeners aside).
func tableSize(b *Bench) int {
	GinkgoHelper()
	t, ok := b.DUT().(ConnTable)
	Expect(ok).To(BeTrue(), "the target %s lists no connections", b.DUT().Name())
	n := 0
	for _, c := range t.Conns() {
		if c.State != TCPTimeWait && c.State != TCPListen {
			n++
		}
	}
	return n
}

// errAgain reports whether err is EAGAIN: the call would block.
func errAgain(err error) bool { return errors.Is(err, linuxabi.EAGAIN) }

// timeWaits returns the connections the target keeps in TIME-WAIT.
func timeWaits(b *Bench) int {
	GinkgoHelper()
	return len(connsIn(b, TCPTimeWait, serverPort))
}

// counter reads one of the target's protocol counters (harness.Counters): Linux's nstat name,
// or the target's own. A target that does not count it fails the spec.
func counter(b *Bench, name string) uint64 {
	GinkgoHelper()
	c, ok := b.DUT().(Counters)
	Expect(ok).To(BeTrue(), "the target %s exposes no counters (the spec reads %s)", b.DUT().Name(), name)
	v, ok := c.Counter(name)
	Expect(ok).To(BeTrue(), "the target %s does not count %s", b.DUT().Name(), name)
	return v
}
