package script

import (
	"fmt"
	"strings"
	"testing"
)

// An accepted connection (fd 4) with 10 bytes from the peer waiting, in FreeBSD's
// tcp-testsuite style.
const tenBytesWaiting = `
 0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0.00 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0.00 bind(3, ..., ...) = 0
+0.00 listen(3, 1) = 0
+0.00 < S   0:0(0) win 65535 <mss 1460,sackOK,eol,eol>
+0.00 > S.  0:0(0) ack 1 <...>
+0.01 <  .  1:1(0) ack 1 win 65535
+0.00 accept(3, ..., ...) = 4
+0.00 <  P. 1:11(10) ack 1 win 65535
`

func TestRecvFlags(t *testing.T) {
	// MSG_PEEK leaves the bytes; a read takes them.
	mustPass(t, tenBytesWaiting+`
+0.00 recv(4, ..., 1024, MSG_PEEK) = 10
+0.00 recv(4, ..., 1024, MSG_PEEK) = 10
+0.00 ioctl(4, FIONREAD, [10]) = 0
+0.00 read(4, ..., 1024) = 10
+0.00 ioctl(4, SIOCINQ, [0]) = 0
+0.00 recv(4, ..., 1024, MSG_DONTWAIT) = -1 EAGAIN (Resource temporarily unavailable)
`, Config{Lenient: true})
	// Without MSG_PEEK the second call finds nothing: the positive control of the peek.
	mustFail(t, tenBytesWaiting+`
+0.00 recv(4, ..., 1024, 0) = 10
+0.00 recv(4, ..., 1024, MSG_DONTWAIT) = 10
`, Config{Lenient: true}, 13, "recv() returned -1, expected 10")
	// MSG_TRUNC drops the bytes and counts them; recvfrom and readv read as recv.
	mustPass(t, tenBytesWaiting+`
+0.00 recv(4, ..., 4, MSG_TRUNC) = 4
+0.00 recvfrom(4, ..., 2, 0, ..., ...) = 2
+0.00 readv(4, [{iov_base=..., iov_len=1}, {iov_base=..., iov_len=2}], 2) = 3
+0.00 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{iov_base=..., iov_len=100}], msg_flags=0}, 0) = 1
`, Config{Lenient: true})
	// MSG_WAITALL blocks until the whole count came; without it the call returns what is there.
	mustPass(t, tenBytesWaiting+`
+0.00...0.20 recv(4, ..., 20, MSG_WAITALL) = 20
+0.20 <  P. 11:21(10) ack 1 win 65535
`, Config{Lenient: true})
	mustFail(t, tenBytesWaiting+`
+0.00...0.20 recv(4, ..., 20, 0) = 20
+0.20 <  P. 11:21(10) ack 1 win 65535
`, Config{Lenient: true}, 12, "recv() returned at 0.010000 s, expected at 0.210000 s")
	// On a non-blocking socket MSG_WAITALL returns what is there.
	mustPass(t, tenBytesWaiting+`
+0.00 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0.00 recv(4, ..., 20, MSG_WAITALL) = 10
`, Config{Lenient: true})
}

func TestSendCalls(t *testing.T) {
	mustPass(t, tenBytesWaiting+`
+0.00 send(4, ..., 10, 0) = 10
+0.00 > P. 1:11(10) ack 11 <...>
+0.00 sendto(4, ..., 20, MSG_NOSIGNAL, ..., ...) = 20
+0.00 sendmsg(4, {msg_name(...)=..., msg_iov(2)=[{iov_base=..., iov_len=5}, {iov_base=..., iov_len=25}], msg_flags=0}, 0) = 30
+0.00 writev(4, [{iov_base=..., iov_len=40}], 1) = 40
+0.00 ioctl(4, SIOCOUTQ, [100]) = 0
+0.00 ioctl(4, SIOCOUTQNSD, [90]) = 0
+0.01 < . 11:11(0) ack 11 win 65535
+0.00 > P. 11:101(90) ack 11 <...>
`, Config{Lenient: true})
	mustFail(t, tenBytesWaiting+`
+0.00 send(4, ..., 10, 0) = 10
+0.00 ioctl(4, SIOCOUTQ, [0]) = 0
`, Config{Lenient: true}, 13, "ioctl(SIOCOUTQ) gave 10, expected 0")
}

func TestPoll(t *testing.T) {
	// Readable and writable at once; a listener with nothing to accept times out after its
	// timeout, in virtual time.
	mustPass(t, tenBytesWaiting+`
+0.00 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLIN|POLLOUT}], 1, 0) = 1
+0.00...0.05 poll([{fd=3, events=POLLIN, revents=0}], 1, 50) = 0
+0.05 read(4, ..., 100) = 10
+0.00 poll([{fd=4, events=POLLIN, revents=0}], 1, 0) = 0
`, Config{Lenient: true})
	// Only the first nfds entries count; a negative descriptor is left out.
	mustPass(t, tenBytesWaiting+`
+0.00 poll([{fd=4, events=POLLIN, revents=POLLIN}, {fd=3, events=POLLIN, revents=0}], 1, 0) = 1
+0.00 poll([{fd=-1, events=POLLIN, revents=0}, {fd=4, events=POLLOUT, revents=POLLOUT}], 2, 0) = 1
`, Config{Lenient: true})
	// shutdown(SHUT_RDWR) hangs up.
	mustPass(t, tenBytesWaiting+`
+0.00 read(4, ..., 100) = 10
+0.00 shutdown(4, SHUT_RDWR) = 0
+0.00 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLIN|POLLOUT|POLLHUP}], 1, 0) = 1
`, Config{Lenient: true})
	// A blocking poll wakes when data comes.
	mustPass(t, tenBytesWaiting+`
+0.00 read(4, ..., 100) = 10
+0.00...0.30 poll([{fd=4, events=POLLIN, revents=POLLIN}], 1, 1000) = 1
+0.30 < P. 11:21(10) ack 1 win 65535
`, Config{Lenient: true})
	// The peer's FIN: readable, with POLLRDHUP.
	mustPass(t, tenBytesWaiting+`
+0.00 < F. 11:11(0) ack 1 win 65535
+0.00 poll([{fd=4, events=POLLIN|POLLRDHUP, revents=POLLIN|POLLRDHUP}], 1, 0) = 1
`, Config{Lenient: true})
	// revents are checked.
	mustFail(t, tenBytesWaiting+`
+0.00 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLOUT}], 1, 0) = 1
`, Config{Lenient: true}, 12, "poll() gave revents POLLIN|POLLOUT for fd 4, expected POLLOUT")
	// A timeout returns at its time, not before: the end time is checked.
	mustFail(t, tenBytesWaiting+`
+0.00...0.02 poll([{fd=3, events=POLLIN}], 1, 50) = 0
`, Config{Lenient: true}, 12, "poll() returned at 0.060000 s, expected at 0.030000 s")
}

func TestEpoll(t *testing.T) {
	mustPass(t, tenBytesWaiting+`
+0.00 epoll_create(1) = 5
+0.00 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN|EPOLLONESHOT, fd=4}) = 0
+0.00 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN, fd=4}) = -1 EEXIST (File exists)
+0.00 epoll_wait(5, {events=EPOLLIN, fd=4}, 1, 0) = 1
+0.00 epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0
+0.00 epoll_ctl(5, EPOLL_CTL_MOD, 4, {events=EPOLLIN|EPOLLOUT, fd=4}) = 0
+0.00 epoll_wait(5, {events=EPOLLIN|EPOLLOUT, fd=4}, 1, 0) = 1
+0.00 epoll_ctl(5, EPOLL_CTL_DEL, 4, {events=0, fd=4}) = 0
+0.00...0.10 epoll_wait(5, {events=0, ptr=0}, 1, 100) = 0
+0.10 epoll_create(1) = 6
+0.00 close(5) = 0
+0.00 epoll_create(1) = 7
+0.00 epoll_ctl(6, EPOLL_CTL_ADD, 4, {events=EPOLLIN, fd=4}) = 0
+0.00 epoll_wait(7, {events=0, ptr=0}, 1, 0) = 0
+0.00 epoll_wait(6, {events=EPOLLIN, fd=4}, 1, 0) = 1
+0.00 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN, fd=4}) = -1 EBADF (Bad file descriptor)
`, Config{Lenient: true})
	// Linux's errors: EINVAL for a descriptor that is no epoll instance, for adding the
	// instance to itself and for no room for events; EBADF for no descriptor at all.
	mustPass(t, tenBytesWaiting+`
+0.00 epoll_create(1) = 5
+0.00 epoll_ctl(4, EPOLL_CTL_ADD, 3, {events=EPOLLIN, fd=3}) = -1 EINVAL (Invalid argument)
+0.00 epoll_ctl(5, EPOLL_CTL_ADD, 5, {events=EPOLLIN, fd=5}) = -1 EINVAL (Invalid argument)
+0.00 epoll_ctl(5, EPOLL_CTL_ADD, 9, {events=EPOLLIN, fd=9}) = -1 EBADF (Bad file descriptor)
+0.00 epoll_wait(4, {events=0, ptr=0}, 1, 0) = -1 EINVAL (Invalid argument)
+0.00 epoll_wait(5, {events=0, ptr=0}, 0, 0) = -1 EINVAL (Invalid argument)
+0.00 epoll_wait(9, {events=0, ptr=0}, 1, 0) = -1 EBADF (Bad file descriptor)
`, Config{Lenient: true})
	mustFail(t, tenBytesWaiting+`
+0.00 epoll_create(1) = 5
+0.00 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN|EPOLLOUT, fd=4}) = 0
+0.00 epoll_wait(5, {events=EPOLLIN, fd=4}, 1, 0) = 1
`, Config{Lenient: true}, 14, "epoll_wait() gave events 0x5, expected 0x1")
}

// The keepalive and connection options of FreeBSD's socket-api scripts: defaults read before
// connect, values set and read back.
func TestKeepaliveOptions(t *testing.T) {
	mustPass(t, `
 0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0.00 getsockopt(3, IPPROTO_TCP, TCP_KEEPIDLE, [7200], [4]) = 0
+0.00 getsockopt(3, IPPROTO_TCP, TCP_KEEPINTVL, [75], [4]) = 0
+0.00 getsockopt(3, IPPROTO_TCP, TCP_KEEPCNT, [8], [4]) = 0
+0.00 getsockopt(3, IPPROTO_TCP, TCP_KEEPINIT, [75], [4]) = 0
+0.00 setsockopt(3, IPPROTO_TCP, TCP_KEEPINTVL, [10], 4) = 0
+0.00 getsockopt(3, IPPROTO_TCP, TCP_KEEPINTVL, [10], [4]) = 0
+0.00 setsockopt(3, IPPROTO_TCP, TCP_KEEPCNT, [0], 4) = -1 EINVAL (Invalid argument)
`, Config{Platform: "freebsd"})
	// TCP_KEEPINIT: an active open not established in time gives up, in virtual time.
	mustPass(t, `
 0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0.00 setsockopt(3, IPPROTO_TCP, TCP_KEEPINIT, [2], 4) = 0
+0.00 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0.00 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0.00 > S 0:0(0) <...>
+1.00 > S 0:0(0) <...>
+1.00 getsockopt(3, SOL_SOCKET, SO_ERROR, [ETIMEDOUT], [4]) = 0
`, Config{Platform: "freebsd", Lenient: true})
	// TCP_NOOPT: the SYN carries no option at all.
	mustPass(t, `
 0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0.00 setsockopt(3, IPPROTO_TCP, TCP_NOOPT, [1], 4) = 0
+0.00 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0.00 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0.00 > S 0:0(0) win 65535
`, Config{})
	src := "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n+0 > S 0:0(0) win 65535\n"
	mustFail(t, src, Config{}, 4, "options") // the same SYN without TCP_NOOPT has options
}

// Linux's scripts see GSO super-segments: with --platform linux one outbound line matches the
// segments the stack sent at once that make up its length, and nothing else.
func TestGSOSuperSegments(t *testing.T) {
	src := tenBytesWaiting + `
+0.00 write(4, ..., 2920) = 2920
+0.00 > P. 1:2921(2920) ack 11
`
	res := mustPass(t, src, Config{Platform: "linux", Lenient: true})
	notes := 0
	for _, f := range res.Frames() {
		if strings.Contains(strings.Join(f.Comments(), " "), "segment 2 of 2 of one GSO segment") {
			notes++
		}
	}
	if notes != 1 {
		t.Errorf("%d frames noted as the second of a GSO segment, want 1", notes)
	}
	// Without the platform every segment is checked; a length no run adds up to fails.
	mustFail(t, src, Config{Lenient: true}, 13, "length 1460, want 2920")
	mustFail(t, strings.Replace(src, "2921(2920)", "2001(2000)", 1), Config{Platform: "linux", Lenient: true}, 13, "length 1460, want 2000")
}

// --lenient ignores where the stack sets PSH, and nothing else of the flags.
func TestLenientPSH(t *testing.T) {
	src := tenBytesWaiting + `
+0.00 write(4, ..., 10) = 10
+0.00 > . 1:11(10) ack 11
`
	mustPass(t, src, Config{Lenient: true})
	mustFail(t, src, Config{}, 13, "flags P., want .")
	mustFail(t, strings.Replace(src, "> . 1:11", "> F. 1:11", 1), Config{Lenient: true}, 13, "flags P., want F.")
}

// What a kernel refuses before doing anything: another protocol on a stream socket, a NULL
// buffer.
func TestSyscallArgumentErrors(t *testing.T) {
	mustPass(t, tenBytesWaiting+`
+0.00 socket(..., SOCK_STREAM, IPPROTO_UDP) = -1 EPROTONOSUPPORT (Protocol not supported)
+0.00 socket(..., SOCK_STREAM, 0) = 5
+0.00 write(4, NULL, 10) = -1 EFAULT (Bad address)
+0.00 read(4, NULL, 10) = -1 EFAULT (Bad address)
+0.00 read(4, ..., 10) = 10
`, Config{Lenient: true})
}

// TCP_MAXSEG before connect caps the MSS the SYN announces and the segments sent.
func TestMaxSeg(t *testing.T) {
	src := `
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    setsockopt(3, SOL_TCP, TCP_MAXSEG, [1100], 4) = 0
+0    getsockopt(3, SOL_TCP, TCP_MAXSEG, [1100], [4]) = 0
+0    setsockopt(3, SOL_TCP, TCP_MAXSEG, [50], 4) = -1 EINVAL (Invalid argument)
+0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0    connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0    > S 0:0(0) win 65535 <mss 1100,sackOK,TS val 100 ecr 0,nop,wscale 3>
+.01  < S. 0:0(0) ack 1 win 65535 <mss 1460>
+0    > . 1:1(0) ack 1
+0    write(3, ..., 2200) = 2200
+0    > . 1:1101(1100) ack 1
+0    > P. 1101:2201(1100) ack 1
`
	mustPass(t, src, Config{})
	mustFail(t, strings.Replace(src, "+0    setsockopt(3, SOL_TCP, TCP_MAXSEG, [1100], 4) = 0\n", "", 1), Config{}, 3, "getsockopt(TCP_MAXSEG) gave 1460, expected 1100")
}

// getsockopt(TCP_INFO) checks the fields it names, by Linux's names and numbers.
func TestGetsockoptTCPInfo(t *testing.T) {
	src := tenBytesWaiting + `
+0.00 getsockopt(4, SOL_TCP, TCP_INFO, {tcpi_state=TCP_ESTABLISHED, tcpi_options=TCPI_OPT_SACK, tcpi_snd_mss=1460, tcpi_unacked=0}, [232]) = 0
+0.00 getsockopt(3, SOL_TCP, TCP_INFO, {tcpi_state=TCP_LISTEN}, [232]) = 0
`
	mustPass(t, src, Config{Lenient: true})
	mustFail(t, strings.Replace(src, "tcpi_snd_mss=1460", "tcpi_snd_mss=1000", 1), Config{Lenient: true}, 12, "getsockopt(TCP_INFO) gave tcpi_snd_mss 1460, expected 1000")
	mustFail(t, strings.Replace(src, "tcpi_unacked=0", "tcpi_busy_time=0", 1), Config{Lenient: true}, 12, "the target does not report tcpi_busy_time")
	// Names combine as numbers do.
	mustFail(t, strings.Replace(src, "tcpi_options=TCPI_OPT_SACK", "tcpi_options=TCPI_OPT_SACK|TCPI_OPT_TIMESTAMPS", 1), Config{Lenient: true}, 12, "gave tcpi_options 2, expected 3")
}

// One read takes all that is there, past the runner's 64 KiB chunks; a non-blocking write
// all that fits; a peek shows all of it.
func TestBigReadsAndWrites(t *testing.T) {
	var b strings.Builder
	b.WriteString(tenBytesWaiting)
	for i := range 48 { // 48 more segments: 70,090 bytes waiting in all
		fmt.Fprintf(&b, "+0.00 < . %d:%d(1460) ack 1 win 65535\n", 11+i*1460, 11+(i+1)*1460)
	}
	b.WriteString(`+0.00 ioctl(4, FIONREAD, [70090]) = 0
+0.00 recv(4, ..., 100000, MSG_PEEK) = 70090
+0.00 read(4, ..., 100000) = 70090
+0.00 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0.00 write(4, ..., 100000) = 100000
`)
	mustPass(t, b.String(), Config{Lenient: true})
}
