//go:build linux

package linuxdut

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/linuxabi"
)

// sock is one descriptor of the socket API: a real nonblocking TCP socket of the namespace.
type sock struct {
	fd int // the kernel's descriptor
}

// The boundary with the kernel: harness.Sockets speaks Linux's generic numbering (package
// linuxabi), the kernel the host's. Errnos are converted by name (errnoOf), SO_LINGER and the
// ioctl requests one by one; other option levels and names, flags and poll events go through
// unchanged, which is right on the architectures whose numbering is the generic one (x86, arm,
// arm64, riscv64, loong64, s390x), the ones linuxabi's test checks it on.

// errnoOf returns err as the linuxabi.Errno the contract wants: the kernel's errno as Linux
// numbers it, EBADF once the DUT is released, EIO for anything else.
func errnoOf(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := errors.AsType[linuxabi.Errno](err); ok {
		return e
	}
	if e, ok := errors.AsType[unix.Errno](err); ok {
		return hostErrno(e)
	}
	if errors.Is(err, errThreadStopped) {
		return linuxabi.EBADF
	}
	return linuxabi.EIO
}

// hostErrno is the host kernel's errno e as Linux's generic numbering has it: the same number
// on the architectures that use it, found by name on the others.
func hostErrno(e unix.Errno) linuxabi.Errno {
	if le := linuxabi.ErrnoByName(unix.ErrnoName(e)); le != 0 {
		return le
	}
	return linuxabi.EIO
}

// real returns the kernel's descriptor of fd; d.mu held.
func (d *state) real(fd int) (*sock, error) {
	if s := d.fds[fd]; s != nil {
		return s, nil
	}
	return nil, linuxabi.EBADF
}

// add gives a kernel descriptor the lowest free descriptor from 3; d.mu held.
func (d *state) add(real int) int {
	fd := 3
	for d.fds[fd] != nil {
		fd++
	}
	d.fds[fd] = &sock{fd: real}
	return fd
}

// The calls that can make the kernel send (connect, write, read, shutdown, close, setsockopt)
// hand over what it sent during the call at once, at the bench's current instant: the kernel
// sends synchronously, as the bench's own stacks do.

// Socket makes a nonblocking TCP socket inside the namespace.
func (d *state) Socket() (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return -1, linuxabi.EBADF
	}
	var real int
	err := d.thread.do(func() error {
		var err error
		real, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
		return err
	})
	if err != nil {
		return -1, errnoOf(err)
	}
	return d.add(real), nil
}

// call runs f with the kernel's descriptor of fd under the lock.
func (d *state) call(fd int, f func(real int) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, err := d.real(fd)
	if err != nil {
		return err
	}
	return errnoOf(f(s.fd))
}

// callN is call for calls that return a number (-1 with the error).
func (d *state) callN(fd int, f func(real int) (int, error)) (int, error) {
	n := -1
	err := d.call(fd, func(real int) error {
		var err error
		n, err = f(real)
		return err
	})
	if err != nil {
		return -1, err
	}
	return n, nil
}

func sockaddr(ap netip.AddrPort) (unix.Sockaddr, error) {
	if !ap.Addr().Is4() {
		return nil, linuxabi.EAFNOSUPPORT
	}
	return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}, nil
}

// Bind binds the socket to port of the stack's address.
func (d *state) Bind(fd int, port uint16) error {
	return d.call(fd, func(real int) error {
		sa, _ := sockaddr(netip.AddrPortFrom(d.Addr().Addr(), port))
		return unix.Bind(real, sa)
	})
}

// Listen makes the socket listen.
func (d *state) Listen(fd, backlog int) error {
	return d.call(fd, func(real int) error { return unix.Listen(real, backlog) })
}

// Accept takes an established connection (nonblocking: EAGAIN when there is none).
func (d *state) Accept(fd int) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, err := d.real(fd)
	if err != nil {
		return -1, err
	}
	nfd, _, err := unix.Accept4(s.fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	if err != nil {
		return -1, errnoOf(err)
	}
	return d.add(nfd), nil
}

// Connect is the kernel's nonblocking connect: EINPROGRESS, EALREADY while the handshake
// runs, 0 once it is done, then EISCONN; or the error the connection failed with.
func (d *state) Connect(fd int, remote netip.AddrPort) error {
	defer d.flush()
	return d.call(fd, func(real int) error {
		sa, err := sockaddr(remote)
		if err != nil {
			return err
		}
		return unix.Connect(real, sa)
	})
}

// Read reads received bytes; 0 at the end of the stream, EAGAIN when none have come.
func (d *state) Read(fd int, p []byte) (int, error) {
	defer d.flush() // a read may open the window: a window update
	return d.callN(fd, func(real int) (int, error) { return unix.Read(real, p) })
}

// Recv reads with flags (MSG_PEEK, MSG_TRUNC: the kernel's meaning).
func (d *state) Recv(fd int, p []byte, flags int) (int, error) {
	defer d.flush()
	return d.callN(fd, func(real int) (int, error) {
		n, _, err := unix.Recvfrom(real, p, flags|unix.MSG_DONTWAIT)
		return n, err
	})
}

// Write sends bytes with MSG_NOSIGNAL: EPIPE, not SIGPIPE, once the connection cannot send.
func (d *state) Write(fd int, p []byte) (int, error) {
	defer d.flush()
	return d.callN(fd, func(real int) (int, error) {
		return unix.SendmsgN(real, p, nil, nil, unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT)
	})
}

// Shutdown shuts the connection down for reading, writing or both.
func (d *state) Shutdown(fd, how int) error {
	defer d.flush()
	return d.call(fd, func(real int) error { return unix.Shutdown(real, how) })
}

// Close closes the descriptor. The kernel's close blocks, even on a nonblocking socket, while
// SO_LINGER with a positive time waits for the peer to acknowledge what was sent; the bench
// cannot move while a call blocks, so such a close returns at once and finishes in the
// background (the kernel does the same as if the call blocked).
func (d *state) Close(fd int) error {
	defer d.flush()
	d.mu.Lock()
	defer d.mu.Unlock()
	s, err := d.real(fd)
	if err != nil {
		return err
	}
	delete(d.fds, fd)
	if l, err := unix.GetsockoptLinger(s.fd, unix.SOL_SOCKET, unix.SO_LINGER); err == nil && l.Onoff != 0 && l.Linger > 0 {
		go unix.Close(s.fd)
		return nil
	}
	return errnoOf(unix.Close(s.fd))
}

// isFreeBSDOnly reports FreeBSD's TCP options, which Linux does not have.
func isFreeBSDOnly(level, name int) bool {
	return level == linuxabi.IPPROTO_TCP && (name == harness.TCP_KEEPINIT || name == harness.TCP_NOOPT)
}

// SetSockOpt sets an integer option; SO_LINGER takes l_linger with l_onoff set, or -1 for off.
// FreeBSD's TCP_KEEPINIT and TCP_NOOPT fail with ENOPROTOOPT, as on Linux.
func (d *state) SetSockOpt(fd, level, name, value int) error {
	defer d.flush() // TCP_NODELAY, TCP_CORK and the like may release queued data
	return d.call(fd, func(real int) error {
		switch {
		case isFreeBSDOnly(level, name):
			return linuxabi.ENOPROTOOPT
		case level == linuxabi.SOL_SOCKET && name == linuxabi.SO_LINGER:
			l := unix.Linger{}
			if value >= 0 {
				l = unix.Linger{Onoff: 1, Linger: int32(value)}
			}
			return unix.SetsockoptLinger(real, unix.SOL_SOCKET, unix.SO_LINGER, &l)
		}
		return unix.SetsockoptInt(real, level, name, value)
	})
}

// GetSockOpt reads an integer option; SO_LINGER gives l_linger when on, -1 when off.
func (d *state) GetSockOpt(fd, level, name int) (int, error) {
	return d.callN(fd, func(real int) (int, error) {
		switch {
		case isFreeBSDOnly(level, name):
			return -1, linuxabi.ENOPROTOOPT
		case level == linuxabi.SOL_SOCKET && name == linuxabi.SO_LINGER:
			l, err := unix.GetsockoptLinger(real, unix.SOL_SOCKET, unix.SO_LINGER)
			if err != nil {
				return -1, err
			}
			if l.Onoff == 0 {
				return -1, nil
			}
			return int(l.Linger), nil
		}
		return unix.GetsockoptInt(real, level, name)
	})
}

// Poll returns the events that hold now (poll(2) with a zero timeout).
func (d *state) Poll(fd int) (int, error) {
	return d.callN(fd, func(real int) (int, error) {
		fds := []unix.PollFd{{Fd: int32(real), Events: unix.POLLIN | unix.POLLPRI | unix.POLLOUT | unix.POLLRDHUP | linuxabi.POLLRDNORM | linuxabi.POLLWRNORM}}
		if _, err := unix.Poll(fds, 0); err != nil {
			return -1, err
		}
		return int(uint16(fds[0].Revents)), nil
	})
}

// Ioctl answers SIOCINQ, SIOCOUTQ and SIOCOUTQNSD; other requests fail with ENOTTY.
func (d *state) Ioctl(fd, request int) (int, error) {
	return d.callN(fd, func(real int) (int, error) {
		switch request {
		case linuxabi.SIOCINQ:
			return unix.IoctlGetInt(real, unix.SIOCINQ)
		case linuxabi.SIOCOUTQ:
			return unix.IoctlGetInt(real, unix.SIOCOUTQ)
		case linuxabi.SIOCOUTQNSD:
			return unix.IoctlGetInt(real, unix.SIOCOUTQNSD)
		}
		return -1, linuxabi.ENOTTY
	})
}

// TCPInfo returns every field of the kernel's struct tcp_info that it filled in, by Linux's
// names, in Linux's units (tcpi_rto and the RTTs in microseconds, the tcpi_last_* ages in
// milliseconds, windows in segments).
func (d *state) TCPInfo(fd int) (map[string]int64, error) {
	var info map[string]int64
	err := d.call(fd, func(real int) error {
		var raw [unsafe.Sizeof(unix.TCPInfo{})]byte
		n := uint32(len(raw))
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(real), unix.IPPROTO_TCP, unix.TCP_INFO,
			uintptr(unsafe.Pointer(&raw[0])), uintptr(unsafe.Pointer(&n)), 0)
		if e != 0 {
			return e
		}
		info = decodeTCPInfo(raw[:min(int(n), len(raw))])
		return nil
	})
	if err != nil {
		return nil, err
	}
	return info, nil
}

// tcpInfoField is a field of struct tcp_info: its name, offset and size in bytes.
type tcpInfoField struct {
	name      string
	off, size uintptr
}

// tcpInfoFields are struct tcp_info's fields (include/uapi/linux/tcp.h) but the bitfields, at
// the offsets golang.org/x/sys/unix's TCPInfo has them.
var tcpInfoFields = func() []tcpInfoField {
	var x unix.TCPInfo
	f := func(name string, off, size uintptr) tcpInfoField { return tcpInfoField{name, off, size} }
	return []tcpInfoField{
		f("tcpi_state", unsafe.Offsetof(x.State), 1),
		f("tcpi_ca_state", unsafe.Offsetof(x.Ca_state), 1),
		f("tcpi_retransmits", unsafe.Offsetof(x.Retransmits), 1),
		f("tcpi_probes", unsafe.Offsetof(x.Probes), 1),
		f("tcpi_backoff", unsafe.Offsetof(x.Backoff), 1),
		f("tcpi_options", unsafe.Offsetof(x.Options), 1),
		f("tcpi_rto", unsafe.Offsetof(x.Rto), 4),
		f("tcpi_ato", unsafe.Offsetof(x.Ato), 4),
		f("tcpi_snd_mss", unsafe.Offsetof(x.Snd_mss), 4),
		f("tcpi_rcv_mss", unsafe.Offsetof(x.Rcv_mss), 4),
		f("tcpi_unacked", unsafe.Offsetof(x.Unacked), 4),
		f("tcpi_sacked", unsafe.Offsetof(x.Sacked), 4),
		f("tcpi_lost", unsafe.Offsetof(x.Lost), 4),
		f("tcpi_retrans", unsafe.Offsetof(x.Retrans), 4),
		f("tcpi_fackets", unsafe.Offsetof(x.Fackets), 4),
		f("tcpi_last_data_sent", unsafe.Offsetof(x.Last_data_sent), 4),
		f("tcpi_last_ack_sent", unsafe.Offsetof(x.Last_ack_sent), 4),
		f("tcpi_last_data_recv", unsafe.Offsetof(x.Last_data_recv), 4),
		f("tcpi_last_ack_recv", unsafe.Offsetof(x.Last_ack_recv), 4),
		f("tcpi_pmtu", unsafe.Offsetof(x.Pmtu), 4),
		f("tcpi_rcv_ssthresh", unsafe.Offsetof(x.Rcv_ssthresh), 4),
		f("tcpi_rtt", unsafe.Offsetof(x.Rtt), 4),
		f("tcpi_rttvar", unsafe.Offsetof(x.Rttvar), 4),
		f("tcpi_snd_ssthresh", unsafe.Offsetof(x.Snd_ssthresh), 4),
		f("tcpi_snd_cwnd", unsafe.Offsetof(x.Snd_cwnd), 4),
		f("tcpi_advmss", unsafe.Offsetof(x.Advmss), 4),
		f("tcpi_reordering", unsafe.Offsetof(x.Reordering), 4),
		f("tcpi_rcv_rtt", unsafe.Offsetof(x.Rcv_rtt), 4),
		f("tcpi_rcv_space", unsafe.Offsetof(x.Rcv_space), 4),
		f("tcpi_total_retrans", unsafe.Offsetof(x.Total_retrans), 4),
		f("tcpi_pacing_rate", unsafe.Offsetof(x.Pacing_rate), 8),
		f("tcpi_max_pacing_rate", unsafe.Offsetof(x.Max_pacing_rate), 8),
		f("tcpi_bytes_acked", unsafe.Offsetof(x.Bytes_acked), 8),
		f("tcpi_bytes_received", unsafe.Offsetof(x.Bytes_received), 8),
		f("tcpi_segs_out", unsafe.Offsetof(x.Segs_out), 4),
		f("tcpi_segs_in", unsafe.Offsetof(x.Segs_in), 4),
		f("tcpi_notsent_bytes", unsafe.Offsetof(x.Notsent_bytes), 4),
		f("tcpi_min_rtt", unsafe.Offsetof(x.Min_rtt), 4),
		f("tcpi_data_segs_in", unsafe.Offsetof(x.Data_segs_in), 4),
		f("tcpi_data_segs_out", unsafe.Offsetof(x.Data_segs_out), 4),
		f("tcpi_delivery_rate", unsafe.Offsetof(x.Delivery_rate), 8),
		f("tcpi_busy_time", unsafe.Offsetof(x.Busy_time), 8),
		f("tcpi_rwnd_limited", unsafe.Offsetof(x.Rwnd_limited), 8),
		f("tcpi_sndbuf_limited", unsafe.Offsetof(x.Sndbuf_limited), 8),
		f("tcpi_delivered", unsafe.Offsetof(x.Delivered), 4),
		f("tcpi_delivered_ce", unsafe.Offsetof(x.Delivered_ce), 4),
		f("tcpi_bytes_sent", unsafe.Offsetof(x.Bytes_sent), 8),
		f("tcpi_bytes_retrans", unsafe.Offsetof(x.Bytes_retrans), 8),
		f("tcpi_dsack_dups", unsafe.Offsetof(x.Dsack_dups), 4),
		f("tcpi_reord_seen", unsafe.Offsetof(x.Reord_seen), 4),
		f("tcpi_rcv_ooopack", unsafe.Offsetof(x.Rcv_ooopack), 4),
		f("tcpi_snd_wnd", unsafe.Offsetof(x.Snd_wnd), 4),
		f("tcpi_rcv_wnd", unsafe.Offsetof(x.Rcv_wnd), 4),
		f("tcpi_rehash", unsafe.Offsetof(x.Rehash), 4),
		f("tcpi_total_rto", unsafe.Offsetof(x.Total_rto), 2),
		f("tcpi_total_rto_recoveries", unsafe.Offsetof(x.Total_rto_recoveries), 2),
		f("tcpi_total_rto_time", unsafe.Offsetof(x.Total_rto_time), 4),
		f("tcpi_received_ce", unsafe.Offsetof(x.Received_ce), 4),
		f("tcpi_delivered_e1_bytes", unsafe.Offsetof(x.Delivered_e1_bytes), 4),
		f("tcpi_delivered_e0_bytes", unsafe.Offsetof(x.Delivered_e0_bytes), 4),
		f("tcpi_delivered_ce_bytes", unsafe.Offsetof(x.Delivered_ce_bytes), 4),
		f("tcpi_received_e1_bytes", unsafe.Offsetof(x.Received_e1_bytes), 4),
		f("tcpi_received_e0_bytes", unsafe.Offsetof(x.Received_e0_bytes), 4),
		f("tcpi_received_ce_bytes", unsafe.Offsetof(x.Received_ce_bytes), 4),
	}
}()

// bitfieldsOff is the offset of the byte holding tcpi_snd_wscale:4 and tcpi_rcv_wscale:4,
// right after tcpi_options; the next byte holds tcpi_delivery_rate_app_limited:1 and
// tcpi_fastopen_client_fail:2.
var bitfieldsOff = unsafe.Offsetof(unix.TCPInfo{}.Options) + 1

// littleEndian reports the byte order, which decides the order of C bitfields (GCC allocates
// them from the least significant bit on little-endian machines, from the most on big-endian).
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// decodeTCPInfo reads the fields that lie within raw, the bytes the kernel filled in.
func decodeTCPInfo(raw []byte) map[string]int64 {
	ne := binary.NativeEndian
	m := make(map[string]int64, len(tcpInfoFields)+4)
	for _, f := range tcpInfoFields {
		if f.off+f.size > uintptr(len(raw)) {
			continue
		}
		b := raw[f.off : f.off+f.size]
		switch f.size {
		case 1:
			m[f.name] = int64(b[0])
		case 2:
			m[f.name] = int64(ne.Uint16(b))
		case 4:
			m[f.name] = int64(ne.Uint32(b))
		case 8:
			m[f.name] = int64(ne.Uint64(b))
		}
	}
	if uintptr(len(raw)) > bitfieldsOff+1 {
		w, a := raw[bitfieldsOff], raw[bitfieldsOff+1]
		if littleEndian {
			m["tcpi_snd_wscale"], m["tcpi_rcv_wscale"] = int64(w&0x0f), int64(w>>4)
			m["tcpi_delivery_rate_app_limited"], m["tcpi_fastopen_client_fail"] = int64(a&1), int64(a>>1&3)
		} else {
			m["tcpi_snd_wscale"], m["tcpi_rcv_wscale"] = int64(w>>4), int64(w&0x0f)
			m["tcpi_delivery_rate_app_limited"], m["tcpi_fastopen_client_fail"] = int64(a>>7), int64(a>>5&3)
		}
	}
	return m
}
