package mtcpdut

import (
	"errors"
	"io"
	"net/netip"
	"time"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/linuxabi"
	"github.com/mtcp-go/mtcp/stack/tcp"
)

// socket is one descriptor of the MTCP target.
type socket struct {
	port       uint16 // bound port; 0 until Bind (or the ephemeral port once connected)
	listener   *tcp.Listener
	conn       *tcp.Conn
	connecting bool // Connect returned EINPROGRESS and has not yet reported the outcome
	reported   bool // the connection's error was returned once (by connect, read or SO_ERROR)
	bufs       tcp.BufferSizes
	opts       map[[2]int]int // options kept as set (SO_REUSEADDR, ...)
	readShut   bool
	writeShut  bool
}

func (m *MTCP) sock(fd int) (*socket, error) {
	if s := m.fds[fd]; s != nil {
		return s, nil
	}
	return nil, linuxabi.EBADF
}

// Socket makes a TCP socket on the lowest free descriptor from 3.
func (m *MTCP) Socket() (int, error) {
	if m.fds == nil {
		m.fds = map[int]*socket{}
	}
	fd := 3
	for m.fds[fd] != nil {
		fd++
	}
	m.fds[fd] = &socket{opts: map[[2]int]int{}}
	return fd, nil
}

// Bind records the port; the listener or connection takes it when it opens.
func (m *MTCP) Bind(fd int, port uint16) error {
	s, err := m.sock(fd)
	switch {
	case err != nil:
		return err
	case s.port != 0 || s.listener != nil || s.conn != nil:
		return linuxabi.EINVAL
	}
	for _, o := range m.fds {
		if o.port == port && o.listener != nil {
			return linuxabi.EADDRINUSE
		}
	}
	s.port = port
	return nil
}

// Listen opens a listener on the bound port.
func (m *MTCP) Listen(fd, backlog int) error {
	s, err := m.sock(fd)
	switch {
	case err != nil:
		return err
	case s.conn != nil:
		return linuxabi.EINVAL // as Linux and FreeBSD
	case s.listener != nil:
		return nil
	case s.port == 0:
		return linuxabi.EDESTADDRREQ // mtcp does not pick a port for an unbound listener
	}
	ln, lerr := m.core.TCP().Listen(s.port, max(backlog, 1))
	if lerr != nil {
		return errnoOf(lerr)
	}
	ln.SetBuffers(s.bufs)
	ln.SetNoOptions(s.opts[optNoOpt] != 0)
	ln.SetMSS(s.opts[optMaxSeg])
	s.listener = ln
	return nil
}

// Accept takes the oldest established connection.
func (m *MTCP) Accept(fd int) (int, error) {
	s, err := m.sock(fd)
	switch {
	case err != nil:
		return -1, err
	case s.listener == nil:
		return -1, linuxabi.EINVAL
	}
	c, aerr := s.listener.Accept()
	if aerr != nil {
		return -1, errnoOf(aerr)
	}
	nfd, _ := m.Socket()
	ns := m.fds[nfd]
	ns.conn, ns.port, ns.bufs = c, c.LocalAddr().Port(), c.Buffers()
	for k, v := range s.opts { // the listener's options carry over, as in BSD sockets
		ns.opts[k] = v
	}
	ns.apply()
	return nfd, nil
}

// Join takes over a connection established before the stack heard of it (tcp.Layer.Join: a
// capture's conversation without its handshake, for mtcp-replay) and returns a connected
// descriptor for it, as Accept's are. Its errors are the TCP layer's, which say why.
func (m *MTCP) Join(st tcp.JoinState) (int, error) {
	c, err := m.core.TCP().Join(st)
	if err != nil {
		return -1, err
	}
	nfd, _ := m.Socket()
	ns := m.fds[nfd]
	ns.conn, ns.port, ns.bufs = c, c.LocalAddr().Port(), c.Buffers()
	return nfd, nil
}

// Connect starts or follows an active open.
func (m *MTCP) Connect(fd int, remote netip.AddrPort) error {
	s, err := m.sock(fd)
	switch {
	case err != nil:
		return err
	case s.listener != nil:
		return linuxabi.EISCONN
	case s.conn != nil && s.connecting:
		c := s.conn
		switch {
		case c.Err() != nil:
			s.connecting, s.reported = false, true
			return errnoOf(c.Err())
		case c.Connected():
			s.connecting = false
			return nil
		}
		return linuxabi.EALREADY
	case s.conn != nil:
		return linuxabi.EISCONN
	case s.port != 0:
		return linuxabi.EOPNOTSUPP // mtcp dials from an ephemeral port only
	}
	c, derr := m.core.TCP().DialWith(remote, tcp.DialOptions{Buffers: s.bufs, NoOptions: s.opts[optNoOpt] != 0, MSS: s.opts[optMaxSeg]})
	if derr != nil {
		return errnoOf(derr)
	}
	s.conn, s.connecting, s.port = c, true, c.LocalAddr().Port()
	s.apply()
	if c.Err() != nil { // failed at once (no route)
		s.connecting = false
		return errnoOf(c.Err())
	}
	return linuxabi.EINPROGRESS
}

// apply gives a new connection the options set on its socket (or its listener) before it
// existed.
func (s *socket) apply() {
	for k, v := range s.opts {
		switch k {
		case optNoDelay:
			s.conn.SetNoDelay(v != 0)
		case optLinger:
			s.conn.SetLinger(v)
		case optUserTO:
			s.conn.SetUserTimeout(time.Duration(v) * time.Millisecond)
		case optKeepInit:
			if !s.conn.Connected() {
				s.conn.SetConnectTimeout(secondsToDuration(v))
			}
		}
	}
	s.applyKeepAlive()
}

// applyKeepAlive gives the connection the keepalive options set on its socket: the times and
// count first, then SO_KEEPALIVE, which arms the timer with them.
func (s *socket) applyKeepAlive() {
	if v, ok := s.opts[optKeepIdle]; ok {
		s.conn.SetKeepAliveIdle(secondsToDuration(v))
	}
	if v, ok := s.opts[optKeepIntvl]; ok {
		s.conn.SetKeepAliveInterval(secondsToDuration(v))
	}
	if v, ok := s.opts[optKeepCnt]; ok {
		s.conn.SetKeepAliveCount(v)
	}
	if v, ok := s.opts[optKeepAlive]; ok {
		s.conn.SetKeepAlive(v != 0)
	}
}

// connected returns the socket of fd if it has a connection: EBADF or ENOTCONN otherwise.
func (m *MTCP) connected(fd int) (*socket, error) {
	s, err := m.sock(fd)
	if err == nil && s.conn == nil {
		err = linuxabi.ENOTCONN
	}
	return s, err
}

// Read reads from a connected socket.
func (m *MTCP) Read(fd int, p []byte) (int, error) { return m.Recv(fd, p, 0) }

// readResult turns what a read of the connection returned into the call's result.
func readResult(s *socket, n int, rerr error) (int, error) {
	switch {
	case rerr == io.EOF:
		return 0, nil
	case rerr == tcp.ErrWouldBlock || errors.Is(rerr, tcp.ErrWouldBlock): // the common case first: errors.Is costs
		return -1, linuxabi.EAGAIN
	case rerr != nil && n == 0 && s.reported:
		return 0, nil // the error was reported once: end of stream now, as BSD sockets
	case rerr != nil && n == 0:
		s.reported = true // reported now, not again by SO_ERROR or read
		return -1, errnoOf(rerr)
	}
	return n, nil
}

// Write writes to a connected socket.
func (m *MTCP) Write(fd int, p []byte) (int, error) {
	s, err := m.connected(fd)
	switch {
	case err != nil:
		return -1, err
	case !s.conn.Connected() && s.conn.Err() == nil:
		return -1, linuxabi.EAGAIN
	}
	n, werr := s.conn.Write(p)
	if werr != nil && n == 0 {
		switch {
		case errors.Is(werr, tcp.ErrWouldBlock):
			return -1, linuxabi.EAGAIN
		case errors.Is(werr, tcp.ErrWriteClosed) || errors.Is(werr, tcp.ErrClosed) || s.reported:
			return -1, linuxabi.EPIPE // after the error was reported once, as BSD sockets
		}
		s.reported = true
		return -1, errnoOf(werr)
	}
	return n, nil
}

// Shutdown half-closes a connection.
func (m *MTCP) Shutdown(fd, how int) error {
	s, err := m.sock(fd)
	switch {
	case err != nil:
		return err
	case how != linuxabi.SHUT_RD && how != linuxabi.SHUT_WR && how != linuxabi.SHUT_RDWR:
		return linuxabi.EINVAL
	case s.conn == nil:
		return linuxabi.ENOTCONN
	}
	if how != linuxabi.SHUT_WR {
		s.readShut = true
	}
	if how != linuxabi.SHUT_RD {
		if err := s.conn.CloseWrite(); err != nil {
			return errnoOf(err)
		}
		s.writeShut = true
	}
	return nil
}

// Close closes a listener (resetting connections not yet accepted) or a connection (a FIN,
// or a RST when data is unread or SO_LINGER is 0).
func (m *MTCP) Close(fd int) error {
	s, err := m.sock(fd)
	if err != nil {
		return err
	}
	delete(m.fds, fd)
	switch {
	case s.listener != nil:
		s.listener.Close()
	case s.conn != nil:
		_ = s.conn.Close()
	}
	return nil
}

// Socket options the MTCP target knows; others fail with ENOPROTOOPT.
var (
	optReuseAddr = [2]int{linuxabi.SOL_SOCKET, linuxabi.SO_REUSEADDR}
	optReusePort = [2]int{linuxabi.SOL_SOCKET, linuxabi.SO_REUSEPORT}
	optKeepAlive = [2]int{linuxabi.SOL_SOCKET, linuxabi.SO_KEEPALIVE}
	optSndBuf    = [2]int{linuxabi.SOL_SOCKET, linuxabi.SO_SNDBUF}
	optRcvBuf    = [2]int{linuxabi.SOL_SOCKET, linuxabi.SO_RCVBUF}
	optError     = [2]int{linuxabi.SOL_SOCKET, linuxabi.SO_ERROR}
	optLinger    = [2]int{linuxabi.SOL_SOCKET, linuxabi.SO_LINGER}
	optNoDelay   = [2]int{linuxabi.IPPROTO_TCP, linuxabi.TCP_NODELAY}
	optKeepIdle  = [2]int{linuxabi.IPPROTO_TCP, linuxabi.TCP_KEEPIDLE}
	optKeepIntvl = [2]int{linuxabi.IPPROTO_TCP, linuxabi.TCP_KEEPINTVL}
	optKeepCnt   = [2]int{linuxabi.IPPROTO_TCP, linuxabi.TCP_KEEPCNT}
	optKeepInit  = [2]int{linuxabi.IPPROTO_TCP, harness.TCP_KEEPINIT}
	optNoOpt     = [2]int{linuxabi.IPPROTO_TCP, harness.TCP_NOOPT}
	optUserTO    = [2]int{linuxabi.IPPROTO_TCP, linuxabi.TCP_USER_TIMEOUT}
	optMaxSeg    = [2]int{linuxabi.IPPROTO_TCP, linuxabi.TCP_MAXSEG}
)

// SetSockOpt sets an option. SO_SNDBUF and SO_RCVBUF take the size as given (FreeBSD's
// behaviour; Linux doubles it), at least tcp.MinBuffer; set before listen or connect, they
// fix the window of the SYN and the window scale. SO_LINGER takes the l_linger seconds with
// l_onoff set (a linger of 0 makes close send RST).
func (m *MTCP) SetSockOpt(fd, level, name, value int) error {
	s, err := m.sock(fd)
	if err != nil {
		return err
	}
	key := [2]int{level, name}
	switch key {
	case optReuseAddr:
	case optSndBuf, optRcvBuf:
		if value <= 0 {
			return linuxabi.EINVAL
		}
		b := tcp.BufferSizes{}
		if key == optSndBuf {
			b.Send = max(value, tcp.MinBuffer)
			s.bufs.Send = b.Send
		} else {
			b.Receive = min(max(value, tcp.MinBuffer), 1<<30)
			s.bufs.Receive = b.Receive
		}
		if s.listener != nil {
			s.listener.SetBuffers(s.bufs)
		}
		if s.conn != nil {
			s.conn.SetBuffers(b)
		}
	case optNoDelay:
		if s.conn != nil {
			s.conn.SetNoDelay(value != 0)
		}
	case optKeepAlive, optKeepIdle, optKeepIntvl, optKeepCnt:
		if key != optKeepAlive && value <= 0 {
			return linuxabi.EINVAL
		}
		s.opts[key] = value
		if s.conn != nil {
			s.applyKeepAlive()
		}
	case optKeepInit:
		if value < 0 {
			return linuxabi.EINVAL
		}
		if s.conn != nil && !s.conn.Connected() {
			s.conn.SetConnectTimeout(secondsToDuration(value))
		}
	case optNoOpt:
		if s.listener != nil || s.conn != nil {
			return linuxabi.EINVAL // it shapes the SYN: too late once the socket listens or connects
		}
	case optUserTO:
		if value < 0 {
			return linuxabi.EINVAL
		}
		if s.conn != nil {
			s.conn.SetUserTimeout(time.Duration(value) * time.Millisecond)
		}
	case optLinger:
		if s.conn != nil {
			s.conn.SetLinger(value)
		}
	case optMaxSeg:
		if value < 88 || value > 32767 { // Linux's TCP_MIN_MSS and MAX_TCP_WINDOW
			return linuxabi.EINVAL
		}
		if s.listener != nil {
			s.listener.SetMSS(value)
		}
	case optReusePort:
	default:
		return linuxabi.ENOPROTOOPT
	}
	s.opts[key] = value
	return nil
}

// GetSockOpt reads an option: SO_ERROR reports (and clears) the error a connection failed
// with; the buffer sizes are the ones in force; TCP_MAXSEG is the MSS the connection sends.
func (m *MTCP) GetSockOpt(fd, level, name int) (int, error) {
	s, err := m.sock(fd)
	if err != nil {
		return -1, err
	}
	key := [2]int{level, name}
	switch key {
	case optError:
		if s.conn == nil || s.conn.Err() == nil || s.reported || errors.Is(s.conn.Err(), tcp.ErrClosed) {
			return 0, nil // tcp.ErrClosed: the application closed it (shutdown in SYN-SENT)
		}
		s.connecting, s.reported = false, true
		return int(errnoOf(s.conn.Err())), nil
	case optSndBuf, optRcvBuf:
		b := s.bufs
		if s.conn != nil {
			b = s.conn.Buffers()
		}
		cfg := m.core.TCP().Config()
		if key == optSndBuf {
			return orDefault(b.Send, cfg.SendBuffer), nil
		}
		return orDefault(b.Receive, cfg.ReceiveBuffer), nil
	case optMaxSeg:
		if s.conn != nil {
			return s.conn.Info().SndMSS, nil
		}
		if v := s.opts[optMaxSeg]; v != 0 {
			return min(v, m.near.MTU()-40), nil
		}
		return m.near.MTU() - 40, nil // what the SYN will announce
	}
	if v, ok := s.opts[key]; ok {
		return v, nil
	}
	cfg := m.core.TCP().Config()
	switch key {
	case optReuseAddr, optReusePort, optKeepAlive, optNoDelay, optLinger, optNoOpt, optUserTO:
		return 0, nil
	case optKeepIdle:
		return int(cfg.KeepAliveIdle / time.Second), nil
	case optKeepIntvl:
		return int(cfg.KeepAliveInterval / time.Second), nil
	case optKeepCnt:
		return cfg.KeepAliveProbes, nil
	case optKeepInit:
		return int(cfg.ConnectTimeout / time.Second), nil
	}
	return -1, linuxabi.ENOPROTOOPT
}

// Recv reads from a connected socket, with MSG_PEEK or MSG_TRUNC.
func (m *MTCP) Recv(fd int, p []byte, flags int) (int, error) {
	s, err := m.connected(fd)
	switch {
	case err != nil:
		return -1, err
	case s.readShut:
		return 0, nil
	}
	var n int
	var rerr error
	switch {
	case flags&linuxabi.MSG_PEEK != 0:
		n, rerr = s.conn.Peek(p) // MSG_PEEK|MSG_TRUNC: Linux peeks and reports the bytes there
	case flags&linuxabi.MSG_TRUNC != 0:
		n, rerr = s.conn.Discard(len(p))
	default:
		n, rerr = s.conn.Read(p)
	}
	return readResult(s, n, rerr)
}

// Poll returns the events that hold for fd: a listener is readable with a connection to
// accept; a connection as tcp.Conn.Poll says. POLLRDNORM and POLLWRNORM come with POLLIN and
// POLLOUT, as Linux reports them.
func (m *MTCP) Poll(fd int) (int, error) {
	s, err := m.sock(fd)
	switch {
	case err != nil:
		return 0, err
	case s.listener != nil:
		if s.listener.Pending() > 0 {
			return linuxabi.POLLIN | linuxabi.POLLRDNORM, nil
		}
		return 0, nil
	case s.conn == nil:
		return linuxabi.POLLOUT | linuxabi.POLLWRNORM | linuxabi.POLLHUP, nil // as Linux for a socket never connected
	}
	r := s.conn.Poll()
	ev := 0
	if r.Readable || s.readShut {
		ev |= linuxabi.POLLIN | linuxabi.POLLRDNORM
	}
	if r.Writable {
		ev |= linuxabi.POLLOUT | linuxabi.POLLWRNORM
	}
	if r.Error && !s.reported {
		ev |= linuxabi.POLLERR
	}
	if r.ReadHangUp || s.readShut {
		ev |= linuxabi.POLLRDHUP
	}
	if r.HangUp || s.readShut && s.writeShut { // shutdown(SHUT_RDWR) hangs up, as Linux's tcp_poll
		ev |= linuxabi.POLLHUP
	}
	return ev, nil
}

// Ioctl answers the queue-size requests.
func (m *MTCP) Ioctl(fd, request int) (int, error) {
	s, err := m.sock(fd)
	if err != nil {
		return -1, err
	}
	switch request {
	case linuxabi.SIOCINQ, linuxabi.SIOCOUTQ, linuxabi.SIOCOUTQNSD:
	default:
		return -1, linuxabi.ENOTTY
	}
	switch {
	case s.listener != nil:
		return -1, linuxabi.EINVAL // as Linux
	case s.conn == nil:
		return 0, nil
	}
	switch request {
	case linuxabi.SIOCINQ:
		return s.conn.Unread(), nil
	case linuxabi.SIOCOUTQ:
		return s.conn.Buffered(), nil
	}
	return s.conn.Unsent(), nil
}

func secondsToDuration(s int) time.Duration { return time.Duration(s) * time.Second }

// cmp returns v, or def when v is 0.
func orDefault(v, def int) int {
	if v != 0 {
		return v
	}
	return def
}

// errnos maps the TCP layer's errors to the errno a BSD socket reports.
var errnos = []struct {
	err   error
	errno linuxabi.Errno
}{
	{tcp.ErrWouldBlock, linuxabi.EAGAIN},
	{tcp.ErrConnRefused, linuxabi.ECONNREFUSED},
	{tcp.ErrConnReset, linuxabi.ECONNRESET},
	{tcp.ErrConnAborted, linuxabi.ECONNABORTED},
	{tcp.ErrTimeout, linuxabi.ETIMEDOUT},
	{tcp.ErrHostUnreach, linuxabi.EHOSTUNREACH},
	{tcp.ErrClosed, linuxabi.ENOTCONN}, // a connection the application shut down; a closed descriptor is EBADF from sock
	{tcp.ErrWriteClosed, linuxabi.EPIPE},
	{tcp.ErrAddrInUse, linuxabi.EADDRINUSE},
	{tcp.ErrNoPorts, linuxabi.EADDRNOTAVAIL},
	{tcp.ErrTooManyConns, linuxabi.ENOBUFS},
	{tcp.ErrInvalidAddress, linuxabi.EINVAL},
}

// errnoOf maps an error of the TCP layer to its errno (EIO for one it does not know).
func errnoOf(err error) linuxabi.Errno {
	var e linuxabi.Errno
	if errors.As(err, &e) {
		return e
	}
	for _, m := range errnos {
		if errors.Is(err, m.err) {
			return m.errno
		}
	}
	return linuxabi.EIO
}

// linuxStates are Linux's state numbers (include/net/tcp_states.h), by mtcp state.
var linuxStates = [...]harness.TCPState{
	tcp.Closed: harness.TCPClose, tcp.Listen: harness.TCPListen, tcp.SynSent: harness.TCPSynSent,
	tcp.SynReceived: harness.TCPSynRecv, tcp.Established: harness.TCPEstablished,
	tcp.FinWait1: harness.TCPFinWait1, tcp.FinWait2: harness.TCPFinWait2, tcp.CloseWait: harness.TCPCloseWait,
	tcp.Closing: harness.TCPClosing, tcp.LastAck: harness.TCPLastAck, tcp.TimeWait: harness.TCPTimeWait,
}

func linuxState(s tcp.State) harness.TCPState { return linuxStates[s] }

// Linux's tcpi_options bits (include/uapi/linux/tcp.h).
const (
	tcpiOptTimestamps = 1
	tcpiOptSACK       = 2
	tcpiOptWScale     = 4
	tcpiOptECN        = 8
)

// TCPInfo reports the connection's control block as Linux's tcp_info (tcp.Info names each
// field's tcp_info name): times in microseconds (milliseconds for the last_* ages, as Linux),
// windows in segments of the send MSS.
func (m *MTCP) TCPInfo(fd int) (map[string]int64, error) {
	s, err := m.sock(fd)
	switch {
	case err != nil:
		return nil, err
	case s.listener != nil:
		return map[string]int64{"tcpi_state": int64(harness.TCPListen)}, nil
	case s.conn == nil:
		return map[string]int64{"tcpi_state": int64(harness.TCPClose)}, nil
	}
	in := s.conn.Info()
	mss := int64(max(in.SndMSS, 1))
	us := func(d time.Duration) int64 { return d.Microseconds() }
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	var opts int64
	if in.Timestamps {
		opts |= tcpiOptTimestamps
	}
	if in.SACK {
		opts |= tcpiOptSACK
	}
	if in.WindowScale {
		opts |= tcpiOptWScale
	}
	if in.ECN {
		opts |= tcpiOptECN
	}
	ssthresh := int64(0x7fffffff) // TCP_INFINITE_SSTHRESH until the first loss
	if in.Ssthresh < 1<<30 {
		ssthresh = int64(in.Ssthresh) / mss
	}
	return map[string]int64{
		"tcpi_state":          int64(linuxState(in.State)),
		"tcpi_ca_state":       int64(in.CAState),
		"tcpi_retransmits":    int64(in.Backoffs),
		"tcpi_backoff":        int64(in.Backoffs),
		"tcpi_options":        opts,
		"tcpi_snd_wscale":     int64(in.SndWScale),
		"tcpi_rcv_wscale":     int64(in.RcvWScale),
		"tcpi_rto":            us(in.RTO),
		"tcpi_ato":            us(in.ATO),
		"tcpi_snd_mss":        mss,
		"tcpi_advmss":         int64(in.AdvMSS),
		"tcpi_unacked":        int64(in.UnackedSegs),
		"tcpi_sacked":         int64(in.SackedSegs),
		"tcpi_lost":           int64(in.LostSegs),
		"tcpi_retrans":        int64(in.RetransSegs),
		"tcpi_total_retrans":  int64(in.TotalRetrans),
		"tcpi_pmtu":           int64(in.PMTU),
		"tcpi_rtt":            us(in.SRTT),
		"tcpi_rttvar":         us(in.RTTVar),
		"tcpi_min_rtt":        us(in.MinRTT),
		"tcpi_snd_ssthresh":   ssthresh,
		"tcpi_snd_cwnd":       int64(in.Cwnd) / mss,
		"tcpi_reordering":     int64(in.Reordering),
		"tcpi_notsent_bytes":  int64(in.NotSent),
		"tcpi_bytes_sent":     int64(in.BytesSent),
		"tcpi_bytes_retrans":  int64(in.BytesRetrans),
		"tcpi_bytes_acked":    int64(in.BytesAcked),
		"tcpi_bytes_received": int64(in.BytesReceived),
		"tcpi_segs_out":       int64(in.SegsOut),
		"tcpi_segs_in":        int64(in.SegsIn),
		"tcpi_data_segs_out":  int64(in.DataSegsOut),
		"tcpi_data_segs_in":   int64(in.DataSegsIn),
		"tcpi_delivered":      int64(in.Delivered),
		"tcpi_last_data_sent": ms(in.LastDataSent),
		"tcpi_last_data_recv": ms(in.LastDataRecv),
		"tcpi_last_ack_recv":  ms(in.LastAckRecv),
	}, nil
}
