//go:build linux && (386 || amd64 || arm || arm64 || loong64 || riscv64 || s390x)

package linuxabi

import (
	"maps"
	"slices"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// hostConstants are the constants of the package with golang.org/x/sys/unix's values for the
// host, by name; on these architectures Linux's numbering is the generic one the package has.
var hostConstants = map[string]struct{ ours, host int64 }{
	"AF_INET":                  {AF_INET, unix.AF_INET},
	"AF_INET6":                 {AF_INET6, unix.AF_INET6},
	"PF_INET":                  {AF_INET, unix.AF_INET},
	"PF_INET6":                 {AF_INET6, unix.AF_INET6},
	"SOCK_STREAM":              {SOCK_STREAM, unix.SOCK_STREAM},
	"SOCK_DGRAM":               {SOCK_DGRAM, unix.SOCK_DGRAM},
	"SOCK_RAW":                 {SOCK_RAW, unix.SOCK_RAW},
	"SOCK_NONBLOCK":            {SOCK_NONBLOCK, unix.SOCK_NONBLOCK},
	"SOCK_CLOEXEC":             {SOCK_CLOEXEC, unix.SOCK_CLOEXEC},
	"IPPROTO_IP":               {IPPROTO_IP, unix.IPPROTO_IP},
	"IPPROTO_ICMP":             {IPPROTO_ICMP, unix.IPPROTO_ICMP},
	"IPPROTO_TCP":              {IPPROTO_TCP, unix.IPPROTO_TCP},
	"IPPROTO_UDP":              {IPPROTO_UDP, unix.IPPROTO_UDP},
	"IPPROTO_IPV6":             {IPPROTO_IPV6, unix.IPPROTO_IPV6},
	"SOL_IP":                   {SOL_IP, unix.SOL_IP},
	"SOL_SOCKET":               {SOL_SOCKET, unix.SOL_SOCKET},
	"SOL_TCP":                  {SOL_TCP, unix.SOL_TCP},
	"SOL_IPV6":                 {SOL_IPV6, unix.SOL_IPV6},
	"SO_REUSEADDR":             {SO_REUSEADDR, unix.SO_REUSEADDR},
	"SO_ERROR":                 {SO_ERROR, unix.SO_ERROR},
	"SO_SNDBUF":                {SO_SNDBUF, unix.SO_SNDBUF},
	"SO_RCVBUF":                {SO_RCVBUF, unix.SO_RCVBUF},
	"SO_KEEPALIVE":             {SO_KEEPALIVE, unix.SO_KEEPALIVE},
	"SO_PRIORITY":              {SO_PRIORITY, unix.SO_PRIORITY},
	"SO_LINGER":                {SO_LINGER, unix.SO_LINGER},
	"SO_REUSEPORT":             {SO_REUSEPORT, unix.SO_REUSEPORT},
	"SO_RCVLOWAT":              {SO_RCVLOWAT, unix.SO_RCVLOWAT},
	"SO_SNDLOWAT":              {SO_SNDLOWAT, unix.SO_SNDLOWAT},
	"SO_RCVTIMEO":              {SO_RCVTIMEO, unix.SO_RCVTIMEO},
	"SO_SNDTIMEO":              {SO_SNDTIMEO, unix.SO_SNDTIMEO},
	"SO_ATTACH_FILTER":         {SO_ATTACH_FILTER, unix.SO_ATTACH_FILTER},
	"SO_MARK":                  {SO_MARK, unix.SO_MARK},
	"SO_TIMESTAMPING":          {SO_TIMESTAMPING, unix.SO_TIMESTAMPING},
	"SO_MAX_PACING_RATE":       {SO_MAX_PACING_RATE, unix.SO_MAX_PACING_RATE},
	"SO_ZEROCOPY":              {SO_ZEROCOPY, unix.SO_ZEROCOPY},
	"TCP_NODELAY":              {TCP_NODELAY, unix.TCP_NODELAY},
	"TCP_MAXSEG":               {TCP_MAXSEG, unix.TCP_MAXSEG},
	"TCP_CORK":                 {TCP_CORK, unix.TCP_CORK},
	"TCP_KEEPIDLE":             {TCP_KEEPIDLE, unix.TCP_KEEPIDLE},
	"TCP_KEEPINTVL":            {TCP_KEEPINTVL, unix.TCP_KEEPINTVL},
	"TCP_KEEPCNT":              {TCP_KEEPCNT, unix.TCP_KEEPCNT},
	"TCP_SYNCNT":               {TCP_SYNCNT, unix.TCP_SYNCNT},
	"TCP_LINGER2":              {TCP_LINGER2, unix.TCP_LINGER2},
	"TCP_DEFER_ACCEPT":         {TCP_DEFER_ACCEPT, unix.TCP_DEFER_ACCEPT},
	"TCP_WINDOW_CLAMP":         {TCP_WINDOW_CLAMP, unix.TCP_WINDOW_CLAMP},
	"TCP_INFO":                 {TCP_INFO, unix.TCP_INFO},
	"TCP_QUICKACK":             {TCP_QUICKACK, unix.TCP_QUICKACK},
	"TCP_CONGESTION":           {TCP_CONGESTION, unix.TCP_CONGESTION},
	"TCP_MD5SIG":               {TCP_MD5SIG, unix.TCP_MD5SIG},
	"TCP_THIN_LINEAR_TIMEOUTS": {TCP_THIN_LINEAR_TIMEOUTS, unix.TCP_THIN_LINEAR_TIMEOUTS},
	"TCP_USER_TIMEOUT":         {TCP_USER_TIMEOUT, unix.TCP_USER_TIMEOUT},
	"TCP_REPAIR":               {TCP_REPAIR, unix.TCP_REPAIR},
	"TCP_FASTOPEN":             {TCP_FASTOPEN, unix.TCP_FASTOPEN},
	"TCP_NOTSENT_LOWAT":        {TCP_NOTSENT_LOWAT, unix.TCP_NOTSENT_LOWAT},
	"TCP_SAVE_SYN":             {TCP_SAVE_SYN, unix.TCP_SAVE_SYN},
	"TCP_SAVED_SYN":            {TCP_SAVED_SYN, unix.TCP_SAVED_SYN},
	"TCP_FASTOPEN_CONNECT":     {TCP_FASTOPEN_CONNECT, unix.TCP_FASTOPEN_CONNECT},
	"TCP_FASTOPEN_KEY":         {TCP_FASTOPEN_KEY, unix.TCP_FASTOPEN_KEY},
	"TCP_FASTOPEN_NO_COOKIE":   {TCP_FASTOPEN_NO_COOKIE, unix.TCP_FASTOPEN_NO_COOKIE},
	"TCP_ZEROCOPY_RECEIVE":     {TCP_ZEROCOPY_RECEIVE, unix.TCP_ZEROCOPY_RECEIVE},
	"TCP_INQ":                  {TCP_INQ, unix.TCP_INQ},
	"TCP_TX_DELAY":             {TCP_TX_DELAY, unix.TCP_TX_DELAY},
	"IP_TOS":                   {IP_TOS, unix.IP_TOS},
	"IP_TTL":                   {IP_TTL, unix.IP_TTL},
	"IP_MTU_DISCOVER":          {IP_MTU_DISCOVER, unix.IP_MTU_DISCOVER},
	"IP_RECVERR":               {IP_RECVERR, unix.IP_RECVERR},
	"IP_FREEBIND":              {IP_FREEBIND, unix.IP_FREEBIND},
	"IP_PMTUDISC_DONT":         {IP_PMTUDISC_DONT, unix.IP_PMTUDISC_DONT},
	"IP_PMTUDISC_DO":           {IP_PMTUDISC_DO, unix.IP_PMTUDISC_DO},
	"IP_PMTUDISC_PROBE":        {IP_PMTUDISC_PROBE, unix.IP_PMTUDISC_PROBE},
	"IPV6_RECVERR":             {IPV6_RECVERR, unix.IPV6_RECVERR},
	"IPV6_TCLASS":              {IPV6_TCLASS, unix.IPV6_TCLASS},
	"O_RDONLY":                 {O_RDONLY, unix.O_RDONLY},
	"O_WRONLY":                 {O_WRONLY, unix.O_WRONLY},
	"O_RDWR":                   {O_RDWR, unix.O_RDWR},
	"O_NONBLOCK":               {O_NONBLOCK, unix.O_NONBLOCK},
	"F_GETFL":                  {F_GETFL, unix.F_GETFL},
	"F_SETFL":                  {F_SETFL, unix.F_SETFL},
	"SHUT_RD":                  {SHUT_RD, unix.SHUT_RD},
	"SHUT_WR":                  {SHUT_WR, unix.SHUT_WR},
	"SHUT_RDWR":                {SHUT_RDWR, unix.SHUT_RDWR},
	"MSG_OOB":                  {MSG_OOB, unix.MSG_OOB},
	"MSG_PEEK":                 {MSG_PEEK, unix.MSG_PEEK},
	"MSG_CTRUNC":               {MSG_CTRUNC, unix.MSG_CTRUNC},
	"MSG_TRUNC":                {MSG_TRUNC, unix.MSG_TRUNC},
	"MSG_DONTWAIT":             {MSG_DONTWAIT, unix.MSG_DONTWAIT},
	"MSG_EOR":                  {MSG_EOR, unix.MSG_EOR},
	"MSG_WAITALL":              {MSG_WAITALL, unix.MSG_WAITALL},
	"MSG_ERRQUEUE":             {MSG_ERRQUEUE, unix.MSG_ERRQUEUE},
	"MSG_NOSIGNAL":             {MSG_NOSIGNAL, unix.MSG_NOSIGNAL},
	"MSG_MORE":                 {MSG_MORE, unix.MSG_MORE},
	"MSG_ZEROCOPY":             {MSG_ZEROCOPY, unix.MSG_ZEROCOPY},
	"MSG_FASTOPEN":             {MSG_FASTOPEN, unix.MSG_FASTOPEN},
	"POLLIN":                   {POLLIN, unix.POLLIN},
	"POLLPRI":                  {POLLPRI, unix.POLLPRI},
	"POLLOUT":                  {POLLOUT, unix.POLLOUT},
	"POLLERR":                  {POLLERR, unix.POLLERR},
	"POLLHUP":                  {POLLHUP, unix.POLLHUP},
	"POLLNVAL":                 {POLLNVAL, unix.POLLNVAL},
	"POLLRDNORM":               {POLLRDNORM, unix.EPOLLRDNORM}, // poll's and epoll's bits are the same; unix names POLLRDNORM on some architectures only
	"POLLWRNORM":               {POLLWRNORM, unix.EPOLLWRNORM},
	"POLLRDHUP":                {POLLRDHUP, unix.POLLRDHUP},
	"EPOLLIN":                  {EPOLLIN, unix.EPOLLIN},
	"EPOLLPRI":                 {EPOLLPRI, unix.EPOLLPRI},
	"EPOLLOUT":                 {EPOLLOUT, unix.EPOLLOUT},
	"EPOLLERR":                 {EPOLLERR, unix.EPOLLERR},
	"EPOLLHUP":                 {EPOLLHUP, unix.EPOLLHUP},
	"EPOLLRDNORM":              {EPOLLRDNORM, unix.EPOLLRDNORM},
	"EPOLLWRNORM":              {EPOLLWRNORM, unix.EPOLLWRNORM},
	"EPOLLRDHUP":               {EPOLLRDHUP, unix.EPOLLRDHUP},
	"EPOLLEXCLUSIVE":           {EPOLLEXCLUSIVE, unix.EPOLLEXCLUSIVE},
	"EPOLLONESHOT":             {EPOLLONESHOT, unix.EPOLLONESHOT},
	"EPOLLET":                  {EPOLLET, unix.EPOLLET},
	"EPOLL_CTL_ADD":            {EPOLL_CTL_ADD, unix.EPOLL_CTL_ADD},
	"EPOLL_CTL_DEL":            {EPOLL_CTL_DEL, unix.EPOLL_CTL_DEL},
	"EPOLL_CTL_MOD":            {EPOLL_CTL_MOD, unix.EPOLL_CTL_MOD},
	"SIOCINQ":                  {SIOCINQ, unix.SIOCINQ},
	"FIONREAD":                 {FIONREAD, unix.SIOCINQ},
	"SIOCOUTQ":                 {SIOCOUTQ, unix.SIOCOUTQ},
	"SIOCOUTQNSD":              {SIOCOUTQNSD, unix.SIOCOUTQNSD},
}

func TestConstantsAreTheHostsOnLinux(t *testing.T) {
	for name, c := range hostConstants {
		if c.ours != c.host {
			t.Errorf("%s = %#x, golang.org/x/sys/unix has %#x", name, c.ours, c.host)
		}
		if v, ok := Constant(name); !ok || v != c.ours {
			t.Errorf("Constant(%q) = %#x, %v; want %#x, true", name, v, ok, c.ours)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(constants)) {
		if _, ok := hostConstants[name]; !ok {
			t.Errorf("%s is not compared with golang.org/x/sys/unix: add it to hostConstants", name)
		}
	}
}

// hostErrnos are the errnos declared as constants, with golang.org/x/sys/unix's.
var hostErrnos = map[Errno]syscall.Errno{
	EPERM: unix.EPERM, ENOENT: unix.ENOENT, ESRCH: unix.ESRCH, EINTR: unix.EINTR, EIO: unix.EIO,
	ENXIO: unix.ENXIO, E2BIG: unix.E2BIG, ENOEXEC: unix.ENOEXEC, EBADF: unix.EBADF, ECHILD: unix.ECHILD,
	EAGAIN: unix.EAGAIN, ENOMEM: unix.ENOMEM, EACCES: unix.EACCES, EFAULT: unix.EFAULT,
	ENOTBLK: unix.ENOTBLK, EBUSY: unix.EBUSY, EEXIST: unix.EEXIST, EXDEV: unix.EXDEV, ENODEV: unix.ENODEV,
	ENOTDIR: unix.ENOTDIR, EISDIR: unix.EISDIR, EINVAL: unix.EINVAL, ENFILE: unix.ENFILE,
	EMFILE: unix.EMFILE, ENOTTY: unix.ENOTTY, ETXTBSY: unix.ETXTBSY, EFBIG: unix.EFBIG,
	ENOSPC: unix.ENOSPC, ESPIPE: unix.ESPIPE, EROFS: unix.EROFS, EMLINK: unix.EMLINK, EPIPE: unix.EPIPE,
	EDOM: unix.EDOM, ERANGE: unix.ERANGE, EDEADLK: unix.EDEADLK, ENAMETOOLONG: unix.ENAMETOOLONG,
	ENOLCK: unix.ENOLCK, ENOSYS: unix.ENOSYS, ENOTEMPTY: unix.ENOTEMPTY, ELOOP: unix.ELOOP,
	ENOMSG: unix.ENOMSG, EIDRM: unix.EIDRM, ECHRNG: unix.ECHRNG, EL2NSYNC: unix.EL2NSYNC,
	EL3HLT: unix.EL3HLT, EL3RST: unix.EL3RST, ELNRNG: unix.ELNRNG, EUNATCH: unix.EUNATCH,
	ENOCSI: unix.ENOCSI, EL2HLT: unix.EL2HLT, EBADE: unix.EBADE, EBADR: unix.EBADR, EXFULL: unix.EXFULL,
	ENOANO: unix.ENOANO, EBADRQC: unix.EBADRQC, EBADSLT: unix.EBADSLT, EBFONT: unix.EBFONT,
	ENOSTR: unix.ENOSTR, ENODATA: unix.ENODATA, ETIME: unix.ETIME, ENOSR: unix.ENOSR, ENONET: unix.ENONET,
	ENOPKG: unix.ENOPKG, EREMOTE: unix.EREMOTE, ENOLINK: unix.ENOLINK, EADV: unix.EADV,
	ESRMNT: unix.ESRMNT, ECOMM: unix.ECOMM, EPROTO: unix.EPROTO, EMULTIHOP: unix.EMULTIHOP,
	EDOTDOT: unix.EDOTDOT, EBADMSG: unix.EBADMSG, EOVERFLOW: unix.EOVERFLOW, ENOTUNIQ: unix.ENOTUNIQ,
	EBADFD: unix.EBADFD, EREMCHG: unix.EREMCHG, ELIBACC: unix.ELIBACC, ELIBBAD: unix.ELIBBAD,
	ELIBSCN: unix.ELIBSCN, ELIBMAX: unix.ELIBMAX, ELIBEXEC: unix.ELIBEXEC, EILSEQ: unix.EILSEQ,
	ERESTART: unix.ERESTART, ESTRPIPE: unix.ESTRPIPE, EUSERS: unix.EUSERS, ENOTSOCK: unix.ENOTSOCK,
	EDESTADDRREQ: unix.EDESTADDRREQ, EMSGSIZE: unix.EMSGSIZE, EPROTOTYPE: unix.EPROTOTYPE,
	ENOPROTOOPT: unix.ENOPROTOOPT, EPROTONOSUPPORT: unix.EPROTONOSUPPORT,
	ESOCKTNOSUPPORT: unix.ESOCKTNOSUPPORT, EOPNOTSUPP: unix.EOPNOTSUPP, EPFNOSUPPORT: unix.EPFNOSUPPORT,
	EAFNOSUPPORT: unix.EAFNOSUPPORT, EADDRINUSE: unix.EADDRINUSE, EADDRNOTAVAIL: unix.EADDRNOTAVAIL,
	ENETDOWN: unix.ENETDOWN, ENETUNREACH: unix.ENETUNREACH, ENETRESET: unix.ENETRESET,
	ECONNABORTED: unix.ECONNABORTED, ECONNRESET: unix.ECONNRESET, ENOBUFS: unix.ENOBUFS,
	EISCONN: unix.EISCONN, ENOTCONN: unix.ENOTCONN, ESHUTDOWN: unix.ESHUTDOWN,
	ETOOMANYREFS: unix.ETOOMANYREFS, ETIMEDOUT: unix.ETIMEDOUT, ECONNREFUSED: unix.ECONNREFUSED,
	EHOSTDOWN: unix.EHOSTDOWN, EHOSTUNREACH: unix.EHOSTUNREACH, EALREADY: unix.EALREADY,
	EINPROGRESS: unix.EINPROGRESS, ESTALE: unix.ESTALE, EUCLEAN: unix.EUCLEAN, ENOTNAM: unix.ENOTNAM,
	ENAVAIL: unix.ENAVAIL, EISNAM: unix.EISNAM, EREMOTEIO: unix.EREMOTEIO, EDQUOT: unix.EDQUOT,
	ENOMEDIUM: unix.ENOMEDIUM, EMEDIUMTYPE: unix.EMEDIUMTYPE, ECANCELED: unix.ECANCELED,
	ENOKEY: unix.ENOKEY, EKEYEXPIRED: unix.EKEYEXPIRED, EKEYREVOKED: unix.EKEYREVOKED,
	EKEYREJECTED: unix.EKEYREJECTED, EOWNERDEAD: unix.EOWNERDEAD, ENOTRECOVERABLE: unix.ENOTRECOVERABLE,
	ERFKILL: unix.ERFKILL, EHWPOISON: unix.EHWPOISON,
}

func TestErrnosAreTheHostsOnLinux(t *testing.T) {
	if EWOULDBLOCK != Errno(unix.EWOULDBLOCK) || EDEADLOCK != Errno(unix.EDEADLOCK) || ENOTSUP != Errno(unix.ENOTSUP) {
		t.Errorf("EWOULDBLOCK, EDEADLOCK, ENOTSUP = %d, %d, %d; golang.org/x/sys/unix has %d, %d, %d",
			EWOULDBLOCK, EDEADLOCK, ENOTSUP, unix.EWOULDBLOCK, unix.EDEADLOCK, unix.ENOTSUP)
	}
	for e, host := range hostErrnos {
		if uintptr(e) != uintptr(host) {
			t.Errorf("%s = %d, golang.org/x/sys/unix has %d", ErrnoName(e), e, host)
		}
	}
	// Every number below 256: the same name (or one that names the same number), the same
	// message, and a constant for every errno the host has.
	for n := range uintptr(256) {
		e, host := Errno(n), syscall.Errno(n)
		name, hostName := ErrnoName(e), unix.ErrnoName(host)
		if hostName == "EFTYPE" {
			continue // golang.org/x/sys/unix's Linux table has BSD's EFTYPE, which Linux does not
		}
		if hostName != "" && ErrnoByName(hostName) != e {
			t.Errorf("golang.org/x/sys/unix names %d %s; ErrnoByName(%q) = %d", n, hostName, hostName, ErrnoByName(hostName))
		}
		if (name == "") != (hostName == "") {
			t.Errorf("ErrnoName(%d) = %q, golang.org/x/sys/unix has %q", n, name, hostName)
		}
		if msg := host.Error(); msg != e.Error() && msg != "errno "+strconv.Itoa(int(n)) { // syscall lacks EHWPOISON's message
			t.Errorf("Errno(%d).Error() = %q, syscall.Errno has %q", n, e.Error(), msg)
		}
		if _, ok := hostErrnos[e]; name != "" && !ok {
			t.Errorf("%s is not compared with golang.org/x/sys/unix: add it to hostErrnos", name)
		}
	}
}
