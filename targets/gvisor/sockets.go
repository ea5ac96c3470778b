package gvisor

import (
	"bytes"
	"io"
	"net/netip"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/mtcp-go/mtcp/harness/linuxabi"
)

// The socket API is gVisor's tcpip.Endpoint as runsc's socket layer presents it to a program
// (pkg/sentry/socket/netstack: the errno each error becomes, the buffer-size doubling, what
// getsockopt reports), non-blocking: a call that would block fails with EAGAIN, connect with
// EINPROGRESS then EALREADY (gVisor's ErrConnectStarted and ErrAlreadyConnecting), then 0 once,
// then EISCONN. Every call lets the stack settle and passes on what it sent.

// socket is one descriptor.
type socket struct {
	ep tcpip.Endpoint
	wq *waiter.Queue
}

func (d *DUT) sock(fd int) (*socket, error) {
	if s := d.fds[fd]; s != nil {
		return s, nil
	}
	return nil, linuxabi.EBADF
}

// newFD puts an endpoint on the lowest free descriptor from 3.
func (d *DUT) newFD(s *socket) int {
	fd := 3
	for d.fds[fd] != nil {
		fd++
	}
	d.fds[fd] = s
	return fd
}

// Socket makes a TCP endpoint.
func (d *DUT) Socket() (int, error) {
	if d.closed {
		return -1, linuxabi.ENETDOWN
	}
	defer d.step()
	wq := &waiter.Queue{}
	ep, err := d.stack.NewEndpoint(tcp.ProtocolNumber, ipv4.ProtocolNumber, wq)
	if err != nil {
		return -1, errnoOf(err)
	}
	d.sockDefaults.apply(ep)
	return d.newFD(&socket{ep: ep, wq: wq}), nil
}

// Bind binds the endpoint to port on the stack's address.
func (d *DUT) Bind(fd int, port uint16) error {
	s, err := d.sock(fd)
	if err != nil {
		return err
	}
	defer d.step()
	terr := s.ep.Bind(tcpip.FullAddress{Addr: addrOf(d.addr.Addr()), Port: port})
	if _, ok := terr.(*tcpip.ErrNoPortAvailable); ok {
		return linuxabi.EADDRINUSE // runsc: bind reports EADDRINUSE whichever port was asked
	}
	return errOf(terr)
}

// maxListenBacklog is runsc's cap on listen's backlog (Linux's somaxconn default, in
// pkg/sentry/syscalls/linux/sys_socket.go).
const maxListenBacklog = 1024

// Listen makes the endpoint listen. The backlog is what runsc's listen(2) hands gVisor: read
// as unsigned, capped at 1024, plus one (for parity with Linux, which admits one more than
// the backlog).
func (d *DUT) Listen(fd, backlog int) error {
	s, err := d.sock(fd)
	if err != nil {
		return err
	}
	defer d.step()
	b := uint32(backlog)
	if b > maxListenBacklog {
		b = maxListenBacklog
	}
	return errOf(s.ep.Listen(int(b) + 1))
}

// Accept takes a connection from a listening endpoint.
func (d *DUT) Accept(fd int) (int, error) {
	s, err := d.sock(fd)
	if err != nil {
		return -1, err
	}
	defer d.step()
	ep, wq, terr := s.ep.Accept(nil)
	if terr != nil {
		return -1, errnoOf(terr)
	}
	d.sockDefaults.apply(ep) // gVisor's accepted endpoints start from its own defaults
	return d.newFD(&socket{ep: ep, wq: wq}), nil
}

// Connect starts or follows an active open.
func (d *DUT) Connect(fd int, remote netip.AddrPort) error {
	s, err := d.sock(fd)
	if err != nil {
		return err
	}
	defer d.step()
	if !remote.Addr().Is4() {
		return linuxabi.EAFNOSUPPORT
	}
	terr := s.ep.Connect(tcpip.FullAddress{Addr: addrOf(remote.Addr()), Port: remote.Port()})
	if _, ok := terr.(*tcpip.ErrNoPortAvailable); ok {
		return linuxabi.EADDRNOTAVAIL // runsc: TCP reports EADDRNOTAVAIL when no ephemeral port is free
	}
	return errOf(terr)
}

// Read reads from a connected endpoint.
func (d *DUT) Read(fd int, p []byte) (int, error) { return d.Recv(fd, p, 0) }

// Recv reads with MSG_PEEK (the bytes stay queued) or MSG_TRUNC (they are discarded), as runsc.
func (d *DUT) Recv(fd int, p []byte, flags int) (int, error) {
	s, err := d.sock(fd)
	if err != nil {
		return -1, err
	}
	defer d.step()
	if len(p) == 0 {
		return 0, nil
	}
	peek, trunc := flags&linuxabi.MSG_PEEK != 0, flags&linuxabi.MSG_TRUNC != 0
	var w io.Writer
	sw := tcpip.SliceWriter(p)
	w = &sw
	if trunc {
		w = &tcpip.LimitedWriter{W: io.Discard, N: int64(len(p))}
	}
	res, terr := s.ep.Read(w, tcpip.ReadOptions{Peek: peek})
	switch terr.(type) {
	case nil:
	case *tcpip.ErrClosedForReceive:
		return 0, nil // end of stream
	default:
		return -1, errnoOf(terr)
	}
	switch {
	case peek && trunc:
		// MSG_PEEK|MSG_TRUNC reports what could be read (runsc asks the queue size).
		q, qerr := s.ep.GetSockOptInt(tcpip.ReceiveQueueSizeOption)
		if qerr != nil {
			return -1, errnoOf(qerr)
		}
		return min(len(p), q), nil
	case !peek && res.Count > 0:
		s.ep.ModerateRecvBuf(res.Count) // receive-buffer auto-tuning, as runsc does after a read
	}
	return res.Count, nil
}

// Write queues bytes to send.
func (d *DUT) Write(fd int, p []byte) (int, error) {
	s, err := d.sock(fd)
	if err != nil {
		return -1, err
	}
	defer d.step()
	n, terr := s.ep.Write(bytes.NewReader(p), tcpip.WriteOptions{})
	if terr != nil {
		if n > 0 {
			return int(n), nil
		}
		return -1, errnoOf(terr)
	}
	return int(n), nil
}

// Shutdown shuts down reading, writing or both.
func (d *DUT) Shutdown(fd, how int) error {
	s, err := d.sock(fd)
	if err != nil {
		return err
	}
	defer d.step()
	var f tcpip.ShutdownFlags
	switch how {
	case linuxabi.SHUT_RD:
		f = tcpip.ShutdownRead
	case linuxabi.SHUT_WR:
		f = tcpip.ShutdownWrite
	case linuxabi.SHUT_RDWR:
		f = tcpip.ShutdownRead | tcpip.ShutdownWrite
	default:
		return linuxabi.EINVAL
	}
	return errOf(s.ep.Shutdown(f))
}

// Close closes the descriptor: the endpoint closes as a program's last close does.
func (d *DUT) Close(fd int) error {
	s, err := d.sock(fd)
	if err != nil {
		return err
	}
	defer d.step()
	delete(d.fds, fd)
	s.ep.Close()
	return nil
}

// pollMask is every event Poll asks about: gVisor's waiter events are Linux's poll bits.
const pollMask = waiter.EventIn | waiter.EventOut | waiter.EventErr | waiter.EventHUp |
	waiter.EventRdNorm | waiter.EventWrNorm | waiter.EventRdHUp

// Poll returns the endpoint's readiness in poll(2) bits.
func (d *DUT) Poll(fd int) (int, error) {
	s, err := d.sock(fd)
	if err != nil {
		return 0, err
	}
	defer d.step()
	return int(s.ep.Readiness(pollMask)), nil
}

// Ioctl answers SIOCINQ from gVisor's receive queue. gVisor's TCP endpoint has no send-queue
// size (tcpip.SendQueueSizeOption is not implemented): SIOCOUTQ fails as in runsc, with
// ENOPROTOOPT, and SIOCOUTQNSD, which runsc does not know, with ENOTTY.
func (d *DUT) Ioctl(fd, request int) (int, error) {
	s, err := d.sock(fd)
	if err != nil {
		return -1, err
	}
	defer d.step()
	var opt tcpip.SockOptInt
	switch request {
	case linuxabi.SIOCINQ:
		opt = tcpip.ReceiveQueueSizeOption
	case linuxabi.SIOCOUTQ:
		opt = tcpip.SendQueueSizeOption
	default:
		return -1, linuxabi.ENOTTY
	}
	v, terr := s.ep.GetSockOptInt(opt)
	if terr != nil {
		return -1, errnoOf(terr)
	}
	return v, nil
}

// Linux's bounds on the keepalive options (include/net/tcp.h), which runsc checks.
const (
	maxKeepIdle  = 32767
	maxKeepIntvl = 32767
	maxKeepCnt   = 127
)

// SetSockOpt sets an integer option as runsc does. SO_SNDBUF and SO_RCVBUF are doubled and
// clamped to the stack's limits, as Linux does; SO_LINGER takes the l_linger seconds with
// l_onoff set, or -1 for l_onoff clear.
func (d *DUT) SetSockOpt(fd, level, name, value int) error {
	s, err := d.sock(fd)
	if err != nil {
		return err
	}
	defer d.step()
	ops := s.ep.SocketOptions()
	switch level {
	case linuxabi.SOL_SOCKET:
		switch name {
		case linuxabi.SO_REUSEADDR:
			ops.SetReuseAddress(value != 0)
		case linuxabi.SO_REUSEPORT:
			ops.SetReusePort(value != 0)
		case linuxabi.SO_KEEPALIVE:
			ops.SetKeepAlive(value != 0)
		case linuxabi.SO_SNDBUF:
			lo, hi := ops.SendBufferLimits()
			ops.SetSendBufferSize(clampBufSize(int64(uint32(value)), lo, hi), true)
		case linuxabi.SO_RCVBUF:
			lo, hi := ops.ReceiveBufferLimits()
			ops.SetReceiveBufferSize(clampBufSize(int64(uint32(value)), lo, hi), true)
		case linuxabi.SO_LINGER:
			ops.SetLinger(tcpip.LingerOption{Enabled: value >= 0, Timeout: time.Duration(max(value, 0)) * time.Second})
		default:
			return linuxabi.ENOPROTOOPT
		}
		return nil
	case linuxabi.IPPROTO_TCP:
		switch name {
		case linuxabi.TCP_NODELAY:
			ops.SetDelayOption(value == 0)
			return nil
		case linuxabi.TCP_CORK:
			ops.SetCorkOption(value != 0)
			return nil
		case linuxabi.TCP_QUICKACK:
			ops.SetQuickAck(value != 0)
			return nil
		case linuxabi.TCP_MAXSEG:
			return errOf(s.ep.SetSockOptInt(tcpip.MaxSegOption, value))
		case linuxabi.TCP_KEEPIDLE:
			if value < 1 || value > maxKeepIdle {
				return linuxabi.EINVAL
			}
			o := tcpip.KeepaliveIdleOption(time.Duration(value) * time.Second)
			return errOf(s.ep.SetSockOpt(&o))
		case linuxabi.TCP_KEEPINTVL:
			if value < 1 || value > maxKeepIntvl {
				return linuxabi.EINVAL
			}
			o := tcpip.KeepaliveIntervalOption(time.Duration(value) * time.Second)
			return errOf(s.ep.SetSockOpt(&o))
		case linuxabi.TCP_KEEPCNT:
			if value < 1 || value > maxKeepCnt {
				return linuxabi.EINVAL
			}
			return errOf(s.ep.SetSockOptInt(tcpip.KeepaliveCountOption, value))
		case linuxabi.TCP_USER_TIMEOUT:
			if value < 0 {
				return linuxabi.EINVAL
			}
			o := tcpip.TCPUserTimeoutOption(time.Duration(value) * time.Millisecond)
			return errOf(s.ep.SetSockOpt(&o))
		case linuxabi.TCP_LINGER2:
			o := tcpip.TCPLingerTimeoutOption(time.Duration(value) * time.Second)
			return errOf(s.ep.SetSockOpt(&o))
		case linuxabi.TCP_DEFER_ACCEPT:
			o := tcpip.TCPDeferAcceptOption(time.Duration(max(value, 0)) * time.Second)
			return errOf(s.ep.SetSockOpt(&o))
		case linuxabi.TCP_SYNCNT:
			return errOf(s.ep.SetSockOptInt(tcpip.TCPSynCountOption, value))
		case linuxabi.TCP_WINDOW_CLAMP:
			return errOf(s.ep.SetSockOptInt(tcpip.TCPWindowClampOption, value))
		}
	}
	return linuxabi.ENOPROTOOPT
}

// clampBufSize is runsc's: the size asked for, capped at the maximum, doubled for overhead (as
// Linux), and at least the minimum.
func clampBufSize(v, lo, hi int64) int64 {
	const overhead = 2
	v = min(v, hi)
	if v >= (1<<31-1)/overhead {
		return 1<<31 - 1
	}
	return max(v*overhead, lo)
}

// GetSockOpt reads an integer option as runsc reports it. SO_ERROR returns (and clears) the
// endpoint's pending error; SO_LINGER is l_linger when on, -1 when off.
func (d *DUT) GetSockOpt(fd, level, name int) (int, error) {
	s, err := d.sock(fd)
	if err != nil {
		return -1, err
	}
	defer d.step()
	ops := s.ep.SocketOptions()
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	switch level {
	case linuxabi.SOL_SOCKET:
		switch name {
		case linuxabi.SO_ERROR:
			if e := ops.GetLastError(); e != nil {
				return int(errnoOf(e)), nil
			}
			return 0, nil
		case linuxabi.SO_REUSEADDR:
			return b(ops.GetReuseAddress()), nil
		case linuxabi.SO_REUSEPORT:
			return b(ops.GetReusePort()), nil
		case linuxabi.SO_KEEPALIVE:
			return b(ops.GetKeepAlive()), nil
		case linuxabi.SO_SNDBUF:
			return int(min(ops.GetSendBufferSize(), 1<<31-1)), nil
		case linuxabi.SO_RCVBUF:
			return int(min(ops.GetReceiveBufferSize(), 1<<31-1)), nil
		case linuxabi.SO_LINGER:
			if l := ops.GetLinger(); l.Enabled {
				return int(l.Timeout / time.Second), nil
			}
			return -1, nil
		}
	case linuxabi.IPPROTO_TCP:
		switch name {
		case linuxabi.TCP_NODELAY:
			return b(!ops.GetDelayOption()), nil
		case linuxabi.TCP_CORK:
			return b(ops.GetCorkOption()), nil
		case linuxabi.TCP_QUICKACK:
			return b(ops.GetQuickAck()), nil
		case linuxabi.TCP_MAXSEG:
			return intOpt(s.ep, tcpip.MaxSegOption)
		case linuxabi.TCP_KEEPCNT:
			return intOpt(s.ep, tcpip.KeepaliveCountOption)
		case linuxabi.TCP_SYNCNT:
			return intOpt(s.ep, tcpip.TCPSynCountOption)
		case linuxabi.TCP_WINDOW_CLAMP:
			return intOpt(s.ep, tcpip.TCPWindowClampOption)
		case linuxabi.TCP_KEEPIDLE:
			var v tcpip.KeepaliveIdleOption
			return durationOpt(s.ep, &v, func() time.Duration { return time.Duration(v) }, time.Second)
		case linuxabi.TCP_KEEPINTVL:
			var v tcpip.KeepaliveIntervalOption
			return durationOpt(s.ep, &v, func() time.Duration { return time.Duration(v) }, time.Second)
		case linuxabi.TCP_USER_TIMEOUT:
			var v tcpip.TCPUserTimeoutOption
			return durationOpt(s.ep, &v, func() time.Duration { return time.Duration(v) }, time.Millisecond)
		case linuxabi.TCP_DEFER_ACCEPT:
			var v tcpip.TCPDeferAcceptOption
			return durationOpt(s.ep, &v, func() time.Duration { return time.Duration(v) }, time.Second)
		case linuxabi.TCP_LINGER2:
			var v tcpip.TCPLingerTimeoutOption
			n, err := durationOpt(s.ep, &v, func() time.Duration { return time.Duration(v) }, time.Second)
			if err == nil && v < 0 {
				n = -1
			}
			return n, err
		}
	}
	return -1, linuxabi.ENOPROTOOPT
}

func intOpt(ep tcpip.Endpoint, opt tcpip.SockOptInt) (int, error) {
	v, err := ep.GetSockOptInt(opt)
	if err != nil {
		return -1, errnoOf(err)
	}
	return v, nil
}

// durationOpt reads a duration option in units of unit.
func durationOpt(ep tcpip.Endpoint, opt tcpip.GettableSocketOption, value func() time.Duration, unit time.Duration) (int, error) {
	if err := ep.GetSockOpt(opt); err != nil {
		return -1, errnoOf(err)
	}
	return int(value() / unit), nil
}

// Linux's tcpi_ca_state values (include/uapi/linux/tcp.h).
const (
	caOpen     = 0
	caDisorder = 1
	caRecovery = 3
	caLoss     = 4
)

// infiniteSsthresh is Linux's TCP_INFINITE_SSTHRESH, what tcpi_snd_ssthresh reads before the
// first loss; gVisor's initial ssthresh is larger.
const infiniteSsthresh = 0x7fffffff

// TCPInfo returns what gVisor's TCP_INFO holds (tcpip.TCPInfoOption, which runsc copies into
// struct tcp_info, leaving the other fields zero): the state in Linux's numbering (gVisor's
// internal states read as CLOSE), RTO, smoothed RTT and its variation in microseconds, the
// congestion window and slow-start threshold in segments, the congestion-avoidance state as
// Linux numbers it, and whether reordering was seen. Fields gVisor does not keep are absent.
func (d *DUT) TCPInfo(fd int) (map[string]int64, error) {
	s, err := d.sock(fd)
	if err != nil {
		return nil, err
	}
	defer d.step()
	var v tcpip.TCPInfoOption
	if terr := s.ep.GetSockOpt(&v); terr != nil {
		return nil, errnoOf(terr)
	}
	ca := int64(caOpen)
	switch v.CcState {
	case tcpip.RTORecovery:
		ca = caLoss
	case tcpip.FastRecovery, tcpip.SACKRecovery:
		ca = caRecovery
	case tcpip.Disorder:
		ca = caDisorder
	}
	reord := int64(0)
	if v.ReorderSeen {
		reord = 1
	}
	us := func(d time.Duration) int64 { return d.Microseconds() }
	return map[string]int64{
		"tcpi_state":        int64(v.State),
		"tcpi_ca_state":     ca,
		"tcpi_rto":          us(v.RTO),
		"tcpi_rtt":          us(v.RTT),
		"tcpi_rttvar":       us(v.RTTVar),
		"tcpi_snd_cwnd":     int64(v.SndCwnd),
		"tcpi_snd_ssthresh": min(int64(v.SndSsthresh), infiniteSsthresh),
		"tcpi_reord_seen":   reord,
	}, nil
}

// errOf is errnoOf for calls whose only result is the error: nil stays nil.
func errOf(err tcpip.Error) error {
	if err == nil {
		return nil
	}
	if e := errnoOf(err); e != 0 {
		return e
	}
	return nil
}

// errnoOf maps a tcpip error to the errno runsc reports for it (pkg/syserr/netstack.go); 0 for
// ErrClosedForReceive, which is no error to a program (end of stream), and EIO for one runsc
// does not map.
func errnoOf(err tcpip.Error) linuxabi.Errno {
	switch err.(type) {
	case nil, *tcpip.ErrClosedForReceive:
		return 0
	case *tcpip.ErrWouldBlock:
		return linuxabi.EAGAIN
	case *tcpip.ErrConnectStarted:
		return linuxabi.EINPROGRESS
	case *tcpip.ErrAlreadyConnecting:
		return linuxabi.EALREADY
	case *tcpip.ErrAlreadyConnected:
		return linuxabi.EISCONN
	case *tcpip.ErrNotConnected:
		return linuxabi.ENOTCONN
	case *tcpip.ErrConnectionRefused:
		return linuxabi.ECONNREFUSED
	case *tcpip.ErrConnectionReset:
		return linuxabi.ECONNRESET
	case *tcpip.ErrConnectionAborted:
		return linuxabi.ECONNABORTED
	case *tcpip.ErrTimeout:
		return linuxabi.ETIMEDOUT
	case *tcpip.ErrAborted, *tcpip.ErrClosedForSend:
		return linuxabi.EPIPE
	case *tcpip.ErrHostUnreachable:
		return linuxabi.EHOSTUNREACH
	case *tcpip.ErrHostDown:
		return linuxabi.EHOSTDOWN
	case *tcpip.ErrNetworkUnreachable:
		return linuxabi.ENETUNREACH
	case *tcpip.ErrNoNet:
		return linuxabi.ENONET
	case *tcpip.ErrPortInUse:
		return linuxabi.EADDRINUSE
	case *tcpip.ErrBadLocalAddress:
		return linuxabi.EADDRNOTAVAIL
	case *tcpip.ErrNoPortAvailable:
		return linuxabi.EAGAIN
	case *tcpip.ErrAlreadyBound, *tcpip.ErrInvalidEndpointState, *tcpip.ErrInvalidOptionValue,
		*tcpip.ErrUnknownProtocol, *tcpip.ErrMalformedHeader, *tcpip.ErrInvalidPortRange,
		*tcpip.ErrMissingRequiredFields, *tcpip.ErrMulticastInputCannotBeOutput:
		return linuxabi.EINVAL
	case *tcpip.ErrUnknownProtocolOption:
		return linuxabi.ENOPROTOOPT
	case *tcpip.ErrDestinationRequired:
		return linuxabi.EDESTADDRREQ
	case *tcpip.ErrNotSupported:
		return linuxabi.EOPNOTSUPP
	case *tcpip.ErrQueueSizeNotSupported:
		return linuxabi.ENOTTY
	case *tcpip.ErrNoBufferSpace:
		return linuxabi.ENOBUFS
	case *tcpip.ErrMessageTooLong:
		return linuxabi.EMSGSIZE
	case *tcpip.ErrBadAddress, *tcpip.ErrBadBuffer:
		return linuxabi.EFAULT
	case *tcpip.ErrAddressFamilyNotSupported:
		return linuxabi.EAFNOSUPPORT
	case *tcpip.ErrNoSuchFile:
		return linuxabi.ENOENT
	case *tcpip.ErrBroadcastDisabled:
		return linuxabi.EACCES
	case *tcpip.ErrNotPermitted:
		return linuxabi.EPERM
	case *tcpip.ErrEndpointBusy:
		return linuxabi.EBUSY
	case *tcpip.ErrDuplicateAddress, *tcpip.ErrDuplicateNICID:
		return linuxabi.EEXIST
	case *tcpip.ErrUnknownNICID, *tcpip.ErrUnknownDevice:
		return linuxabi.ENODEV
	}
	return linuxabi.EIO
}
