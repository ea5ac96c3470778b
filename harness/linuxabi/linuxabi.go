// Package linuxabi is Linux's numbering of the socket API as the harness speaks it: address
// families, socket types, protocol levels, socket and TCP options, send and receive flags,
// shutdown modes, poll and epoll events, fcntl commands and file flags, ioctl requests, and
// error numbers (Errno), with their names.
//
// The values are Linux's, as packetdrill scripts assume them, in the kernel's generic
// numbering (that of x86, arm, arm64, riscv64, loong64 and s390x), and they do not depend on
// the host: the Sockets interface of package harness speaks them, and a run in virtual time
// needs nothing of the host's kernel, so mtcp-test and mtcp-replay behave the same on macOS,
// Windows and FreeBSD as on Linux. Only a target that is a real kernel (package linuxdut)
// translates, at its boundary, between the host's numbers and these.
//
// The package holds the set the harness uses, not all of Linux's. On Linux a test checks
// every value against golang.org/x/sys/unix.
package linuxabi

// Address families.
const (
	AF_INET  = 2
	AF_INET6 = 10
)

// Socket types and socket(2) flags.
const (
	SOCK_STREAM   = 1
	SOCK_DGRAM    = 2
	SOCK_RAW      = 3
	SOCK_NONBLOCK = 0x800
	SOCK_CLOEXEC  = 0x80000
)

// Protocols.
const (
	IPPROTO_IP   = 0
	IPPROTO_ICMP = 1
	IPPROTO_TCP  = 6
	IPPROTO_UDP  = 17
	IPPROTO_IPV6 = 41
)

// Option levels of setsockopt(2) and getsockopt(2); SOL_TCP is IPPROTO_TCP's number.
const (
	SOL_IP     = 0
	SOL_SOCKET = 1
	SOL_TCP    = 6
	SOL_IPV6   = 41
)

// Socket options (level SOL_SOCKET).
const (
	SO_REUSEADDR       = 2
	SO_ERROR           = 4
	SO_SNDBUF          = 7
	SO_RCVBUF          = 8
	SO_KEEPALIVE       = 9
	SO_PRIORITY        = 12
	SO_LINGER          = 13
	SO_REUSEPORT       = 15
	SO_RCVLOWAT        = 18
	SO_SNDLOWAT        = 19
	SO_RCVTIMEO        = 20
	SO_SNDTIMEO        = 21
	SO_ATTACH_FILTER   = 26
	SO_MARK            = 36
	SO_TIMESTAMPING    = 37
	SO_MAX_PACING_RATE = 47
	SO_ZEROCOPY        = 60
)

// TCP options (level SOL_TCP).
const (
	TCP_NODELAY              = 1
	TCP_MAXSEG               = 2
	TCP_CORK                 = 3
	TCP_KEEPIDLE             = 4
	TCP_KEEPINTVL            = 5
	TCP_KEEPCNT              = 6
	TCP_SYNCNT               = 7
	TCP_LINGER2              = 8
	TCP_DEFER_ACCEPT         = 9
	TCP_WINDOW_CLAMP         = 10
	TCP_INFO                 = 11
	TCP_QUICKACK             = 12
	TCP_CONGESTION           = 13
	TCP_MD5SIG               = 14
	TCP_THIN_LINEAR_TIMEOUTS = 16
	TCP_USER_TIMEOUT         = 18
	TCP_REPAIR               = 19
	TCP_FASTOPEN             = 23
	TCP_NOTSENT_LOWAT        = 25
	TCP_SAVE_SYN             = 27
	TCP_SAVED_SYN            = 28
	TCP_FASTOPEN_CONNECT     = 30
	TCP_FASTOPEN_KEY         = 33
	TCP_FASTOPEN_NO_COOKIE   = 34
	TCP_ZEROCOPY_RECEIVE     = 35
	TCP_INQ                  = 36
	TCP_TX_DELAY             = 37
)

// IP and IPv6 options (levels SOL_IP and SOL_IPV6), and IP_MTU_DISCOVER's values.
const (
	IP_TOS            = 1
	IP_TTL            = 2
	IP_MTU_DISCOVER   = 10
	IP_RECVERR        = 11
	IP_FREEBIND       = 15
	IP_PMTUDISC_DONT  = 0
	IP_PMTUDISC_DO    = 2
	IP_PMTUDISC_PROBE = 3
	IPV6_RECVERR      = 25
	IPV6_TCLASS       = 67
)

// File status flags and the fcntl(2) commands that read and set them.
const (
	O_RDONLY   = 0
	O_WRONLY   = 1
	O_RDWR     = 2
	O_NONBLOCK = 0x800
	F_GETFL    = 3
	F_SETFL    = 4
)

// How shutdown(2) shuts a connection down.
const (
	SHUT_RD   = 0
	SHUT_WR   = 1
	SHUT_RDWR = 2
)

// Flags of send(2) and recv(2).
const (
	MSG_OOB      = 0x1
	MSG_PEEK     = 0x2
	MSG_CTRUNC   = 0x8
	MSG_TRUNC    = 0x20
	MSG_DONTWAIT = 0x40
	MSG_EOR      = 0x80
	MSG_WAITALL  = 0x100
	MSG_ERRQUEUE = 0x2000
	MSG_NOSIGNAL = 0x4000
	MSG_MORE     = 0x8000
	MSG_ZEROCOPY = 0x4000000
	MSG_FASTOPEN = 0x20000000
)

// Events of poll(2).
const (
	POLLIN     = 0x1
	POLLPRI    = 0x2
	POLLOUT    = 0x4
	POLLERR    = 0x8
	POLLHUP    = 0x10
	POLLNVAL   = 0x20
	POLLRDNORM = 0x40
	POLLWRNORM = 0x100
	POLLRDHUP  = 0x2000
)

// Events and operations of epoll(7).
const (
	EPOLLIN        = 0x1
	EPOLLPRI       = 0x2
	EPOLLOUT       = 0x4
	EPOLLERR       = 0x8
	EPOLLHUP       = 0x10
	EPOLLRDNORM    = 0x40
	EPOLLWRNORM    = 0x100
	EPOLLRDHUP     = 0x2000
	EPOLLEXCLUSIVE = 0x10000000
	EPOLLONESHOT   = 0x40000000
	EPOLLET        = 0x80000000
	EPOLL_CTL_ADD  = 1
	EPOLL_CTL_DEL  = 2
	EPOLL_CTL_MOD  = 3
)

// ioctl(2) requests on a TCP socket: bytes received and unread (FIONREAD is the same
// request), bytes written and not yet acknowledged, bytes written and not yet sent.
const (
	SIOCINQ     = 0x541b
	FIONREAD    = SIOCINQ
	SIOCOUTQ    = 0x5411
	SIOCOUTQNSD = 0x894b
)

// constants are the constants above by name, with PF_INET and PF_INET6, the other names of
// the address families.
var constants = map[string]int64{
	"AF_INET": AF_INET, "AF_INET6": AF_INET6, "PF_INET": AF_INET, "PF_INET6": AF_INET6,
	"SOCK_STREAM": SOCK_STREAM, "SOCK_DGRAM": SOCK_DGRAM, "SOCK_RAW": SOCK_RAW,
	"SOCK_NONBLOCK": SOCK_NONBLOCK, "SOCK_CLOEXEC": SOCK_CLOEXEC,
	"IPPROTO_IP": IPPROTO_IP, "IPPROTO_ICMP": IPPROTO_ICMP, "IPPROTO_TCP": IPPROTO_TCP,
	"IPPROTO_UDP": IPPROTO_UDP, "IPPROTO_IPV6": IPPROTO_IPV6,
	"SOL_IP": SOL_IP, "SOL_SOCKET": SOL_SOCKET, "SOL_TCP": SOL_TCP, "SOL_IPV6": SOL_IPV6,
	"SO_REUSEADDR": SO_REUSEADDR, "SO_ERROR": SO_ERROR, "SO_SNDBUF": SO_SNDBUF, "SO_RCVBUF": SO_RCVBUF,
	"SO_KEEPALIVE": SO_KEEPALIVE, "SO_PRIORITY": SO_PRIORITY, "SO_LINGER": SO_LINGER,
	"SO_REUSEPORT": SO_REUSEPORT, "SO_RCVLOWAT": SO_RCVLOWAT, "SO_SNDLOWAT": SO_SNDLOWAT,
	"SO_RCVTIMEO": SO_RCVTIMEO, "SO_SNDTIMEO": SO_SNDTIMEO, "SO_ATTACH_FILTER": SO_ATTACH_FILTER,
	"SO_MARK": SO_MARK, "SO_TIMESTAMPING": SO_TIMESTAMPING, "SO_MAX_PACING_RATE": SO_MAX_PACING_RATE,
	"SO_ZEROCOPY": SO_ZEROCOPY,
	"TCP_NODELAY": TCP_NODELAY, "TCP_MAXSEG": TCP_MAXSEG, "TCP_CORK": TCP_CORK,
	"TCP_KEEPIDLE": TCP_KEEPIDLE, "TCP_KEEPINTVL": TCP_KEEPINTVL, "TCP_KEEPCNT": TCP_KEEPCNT,
	"TCP_SYNCNT": TCP_SYNCNT, "TCP_LINGER2": TCP_LINGER2, "TCP_DEFER_ACCEPT": TCP_DEFER_ACCEPT,
	"TCP_WINDOW_CLAMP": TCP_WINDOW_CLAMP, "TCP_INFO": TCP_INFO, "TCP_QUICKACK": TCP_QUICKACK,
	"TCP_CONGESTION": TCP_CONGESTION, "TCP_MD5SIG": TCP_MD5SIG,
	"TCP_THIN_LINEAR_TIMEOUTS": TCP_THIN_LINEAR_TIMEOUTS, "TCP_USER_TIMEOUT": TCP_USER_TIMEOUT,
	"TCP_REPAIR": TCP_REPAIR, "TCP_FASTOPEN": TCP_FASTOPEN, "TCP_NOTSENT_LOWAT": TCP_NOTSENT_LOWAT,
	"TCP_SAVE_SYN": TCP_SAVE_SYN, "TCP_SAVED_SYN": TCP_SAVED_SYN, "TCP_FASTOPEN_CONNECT": TCP_FASTOPEN_CONNECT,
	"TCP_FASTOPEN_KEY": TCP_FASTOPEN_KEY, "TCP_FASTOPEN_NO_COOKIE": TCP_FASTOPEN_NO_COOKIE,
	"TCP_ZEROCOPY_RECEIVE": TCP_ZEROCOPY_RECEIVE, "TCP_INQ": TCP_INQ, "TCP_TX_DELAY": TCP_TX_DELAY,
	"IP_TOS": IP_TOS, "IP_TTL": IP_TTL, "IP_MTU_DISCOVER": IP_MTU_DISCOVER, "IP_RECVERR": IP_RECVERR,
	"IP_FREEBIND": IP_FREEBIND, "IP_PMTUDISC_DONT": IP_PMTUDISC_DONT, "IP_PMTUDISC_DO": IP_PMTUDISC_DO,
	"IP_PMTUDISC_PROBE": IP_PMTUDISC_PROBE, "IPV6_RECVERR": IPV6_RECVERR, "IPV6_TCLASS": IPV6_TCLASS,
	"O_RDONLY": O_RDONLY, "O_WRONLY": O_WRONLY, "O_RDWR": O_RDWR, "O_NONBLOCK": O_NONBLOCK,
	"F_GETFL": F_GETFL, "F_SETFL": F_SETFL,
	"SHUT_RD": SHUT_RD, "SHUT_WR": SHUT_WR, "SHUT_RDWR": SHUT_RDWR,
	"MSG_OOB": MSG_OOB, "MSG_PEEK": MSG_PEEK, "MSG_CTRUNC": MSG_CTRUNC, "MSG_TRUNC": MSG_TRUNC,
	"MSG_DONTWAIT": MSG_DONTWAIT, "MSG_EOR": MSG_EOR, "MSG_WAITALL": MSG_WAITALL,
	"MSG_ERRQUEUE": MSG_ERRQUEUE, "MSG_NOSIGNAL": MSG_NOSIGNAL, "MSG_MORE": MSG_MORE,
	"MSG_ZEROCOPY": MSG_ZEROCOPY, "MSG_FASTOPEN": MSG_FASTOPEN,
	"POLLIN": POLLIN, "POLLPRI": POLLPRI, "POLLOUT": POLLOUT, "POLLERR": POLLERR, "POLLHUP": POLLHUP,
	"POLLNVAL": POLLNVAL, "POLLRDNORM": POLLRDNORM, "POLLWRNORM": POLLWRNORM, "POLLRDHUP": POLLRDHUP,
	"EPOLLIN": EPOLLIN, "EPOLLPRI": EPOLLPRI, "EPOLLOUT": EPOLLOUT, "EPOLLERR": EPOLLERR,
	"EPOLLHUP": EPOLLHUP, "EPOLLRDNORM": EPOLLRDNORM, "EPOLLWRNORM": EPOLLWRNORM,
	"EPOLLRDHUP": EPOLLRDHUP, "EPOLLEXCLUSIVE": EPOLLEXCLUSIVE, "EPOLLONESHOT": EPOLLONESHOT,
	"EPOLLET": EPOLLET, "EPOLL_CTL_ADD": EPOLL_CTL_ADD, "EPOLL_CTL_DEL": EPOLL_CTL_DEL, "EPOLL_CTL_MOD": EPOLL_CTL_MOD,
	"SIOCINQ": SIOCINQ, "FIONREAD": FIONREAD, "SIOCOUTQ": SIOCOUTQ, "SIOCOUTQNSD": SIOCOUTQNSD,
}

// Constant returns the value of the constant named name ("SOL_SOCKET", "MSG_PEEK") and true,
// or false when the package has no constant of that name. Errnos are ErrnoByName's.
func Constant(name string) (int64, bool) {
	v, ok := constants[name]
	return v, ok
}
