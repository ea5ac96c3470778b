package script

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/internal/pcapngtest"
)

// runSrc parses and runs a script given as text.
func runSrc(t *testing.T, src string, cfg Config) *Result {
	t.Helper()
	s, err := Parse("test.pkt", []byte(src), nil)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	res, err := Run(s, cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res
}

func mustPass(t *testing.T, src string, cfg Config) *Result {
	t.Helper()
	res := runSrc(t, src, cfg)
	if !res.Passed() {
		t.Fatalf("the script failed:\n%v", res.Failure)
	}
	return res
}

// mustFail runs src and checks that it fails at line with a message containing every part.
func mustFail(t *testing.T, src string, cfg Config, line int, parts ...string) *Failure {
	t.Helper()
	res := runSrc(t, src, cfg)
	if res.Passed() {
		t.Fatalf("the script passed; want a failure at line %d", line)
	}
	f := res.Failure
	if f.Line != line {
		t.Errorf("failure at line %d, want %d:\n%v", f.Line, line, f)
	}
	for _, p := range parts {
		if !strings.Contains(f.Error(), p) {
			t.Errorf("failure lacks %q:\n%v", p, f)
		}
	}
	return f
}

// A passive open, a write, an active close: the stack's ISN is learned from its SYN-ACK,
// so the script's numbers are relative.
const passiveOpen = `
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 65535 <mss 1460>
+0  > S. 0:0(0) ack 1 win 65535 <mss 1460>
+.1 < . 1:1(0) ack 1 win 65535
+0  accept(3, ..., ...) = 4
+0  write(4, ..., 100) = 100
+0  > P. 1:101(100) ack 1 win 65535
+.1 < . 1:1(0) ack 101 win 65535
+0  close(4) = 0
+0  > F. 101:101(0) ack 1 win 65535
+.1 < F. 1:1(0) ack 102 win 65535
// The FIN takes a sequence number; the window's right edge stays put.
+0  > . 102:102(0) ack 2 win 65534
`

func TestRunPassiveOpen(t *testing.T) {
	mustPass(t, passiveOpen, Config{Strict: true})
	res := mustPass(t, passiveOpen, Config{})
	if got := res.Elapsed; got != 300*time.Millisecond {
		t.Errorf("virtual time %v, want 300ms", got)
	}
	// Every frame of the capture is commented: TCP ones with their script line, the ARP
	// exchange by the bench that answered it.
	for _, f := range res.Frames() {
		c := strings.Join(f.Comments(), " ")
		if f.TCP() != nil && !strings.Contains(c, "line ") || c == "" {
			t.Errorf("frame %d has no script line comment: %v", f.Number, f.Comments())
		}
	}
}

func TestRunWrongExpectation(t *testing.T) {
	src := strings.Replace(passiveOpen, "> P. 1:101(100) ack 1 win 65535", "> P. 1:101(100) ack 1 win 5840", 1)
	f := mustFail(t, src, Config{}, 11, "the stack's packet differs: win 65535, want 5840",
		"script:   +0  > P. 1:101(100) ack 1 win 5840",
		"expected: 0.100000 > P. 1:101(100) ack 1 win 5840",
		"actual:   0.100000 > P. 1:101(100) ack 1 win 65535",
		"test.pkt:11: at 0.100000 s")
	if f.At != 100*time.Millisecond {
		t.Errorf("failure at %v, want 100ms", f.At)
	}
	// The capture carries the same on the offending frame.
	res := runSrc(t, src, Config{})
	path := filepath.Join(t.TempDir(), "c.pcapng")
	if err := res.WriteCapture(path); err != nil {
		t.Fatal(err)
	}
	comments := strings.Join(pcapngtest.Read(t, path).Comments(), "\n")
	if !strings.Contains(comments, "line 11: expected instead: 0.100000 > P. 1:101(100) ack 1 win 5840") || !strings.Contains(comments, "(win 65535, want 5840)") {
		t.Errorf("capture comments lack the failure:\n%s", comments)
	}
}

// The SYN is retransmitted at exactly 1 s: a line at 0.990 passes within a 10 ms tolerance,
// at 0.9 it is late by 96 ms past its window... each way, the tolerance decides.
func TestRunTolerance(t *testing.T) {
	script := func(at, tol string) string {
		return "--tolerance_usecs=" + tol + `
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0    connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0    > S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 3>
` + at + `  > S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 3>
`
	}
	mustPass(t, script("1", "4000"), Config{})
	mustPass(t, script("0.990", "10000"), Config{}) // the line says 10 ms early: within 10 ms
	mustPass(t, script("1.010", "10000"), Config{}) // 10 ms late: within 10 ms
	// The line expects it later than it comes: the stack is early.
	mustFail(t, script("1.020", "10000"), Config{}, 6, "the stack sent a packet 10ms too early (tolerance 10ms)",
		"actual:   1.000000 > S 0:0(0) win 65535 <mss 1460,sackOK,TS val 1100 ecr 0,nop,wscale 3>") // in the script's clock

	// The line expects it earlier than it comes: by the end of the window nothing was sent.
	mustFail(t, script("0.980", "10000"), Config{}, 6, "expected a packet by 0.990000 s; the stack sent nothing",
		"actual:   (nothing)")
	// A window and '*'.
	mustPass(t, script("0.5~1.5", "0"), Config{})
	mustPass(t, script("*", "0"), Config{})
	mustFail(t, script("1.1~1.5", "0"), Config{}, 6, "100ms too early")
}

func TestRunStrict(t *testing.T) {
	// The stack ACKs the data after the delayed-ACK timer; the script does not say so.
	src := `
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 65535 <mss 1460>
+0  > S. 0:0(0) ack 1 win 65535 <mss 1460>
+0  < . 1:1(0) ack 1 win 65535
+0  < P. 1:11(10) ack 1 win 65535
+1  < . 11:11(0) ack 1 win 65535
`
	mustPass(t, src, Config{}) // as packetdrill: nothing compares the ACK with a line
	// Strict: the ACK fails the script before the next line runs.
	mustFail(t, src, Config{Strict: true}, 9, "no line expects (--strict)", "actual:   0.200000 > . 1:1(0) ack 11 win 65525")
	// By default an unexpected packet fails when the next outbound line sees it.
	mustFail(t, src+"+0 > nothing\n", Config{}, 10, "expected: nothing until 1.000000 s", "actual:   0.200000 > . 1:1(0) ack 11 win 65525")
	// Within the script, with the ACK listed, strict passes.
	mustPass(t, strings.Replace(src, "+1  <", "+.2 > . 1:1(0) ack 11 win 65525\n+.8 <", 1), Config{Strict: true})
}

func TestRunNothing(t *testing.T) {
	src := `
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 65535 <mss 1460>
+0  > S. 0:0(0) ack 1 win 65535 <mss 1460>
+.9 > nothing
+.1 > S. 0:0(0) ack 1 win 65535 <mss 1460>
+1  > nothing
`
	mustPass(t, src, Config{})
	// The SYN-ACK is retransmitted at 1 s (RTO): "nothing until 1.5 s" fails there.
	mustFail(t, strings.Replace(src, "+.9 > nothing", "+1.5 > nothing", 1), Config{}, 7,
		"the stack sent a packet", "expected: nothing until 1.500000 s", "actual:   1.000000 > S. 0:0(0) ack 1 win 65535 <mss 1460>")
}

func TestRunLenient(t *testing.T) {
	// Written against another stack: FreeBSD's window, options in Linux's order.
	src := `
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  setsockopt(3, SOL_SOCKET, SO_RCVBUF, [65536], 4) = 0
+0  getsockopt(3, SOL_SOCKET, SO_RCVBUF, [131072], [4]) = 0
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 65535 <mss 1000,nop,wscale 7>
+0  > S. 0:0(0) ack 1 win 29200 <mss 1460,nop,wscale 7>
`
	mustFail(t, src, Config{}, 4, "getsockopt(SO_RCVBUF) gave 65536, expected 131072")
	noBuf := strings.Replace(src, "[131072]", "[65536]", 1)
	mustFail(t, noBuf, Config{}, 8, "win 65535, want 29200", "options <mss 1460,nop,wscale 1>, want <mss 1460,nop,wscale 7>")
	mustPass(t, src, Config{Lenient: true})
	// Option order does not matter either.
	mustPass(t, strings.Replace(src, "<mss 1460,nop,wscale 7>", "<nop,wscale 7,mss 536>", 1), Config{Lenient: true})
	// Lenient still checks which options are there.
	mustFail(t, strings.Replace(src, "<mss 1460,nop,wscale 7>", "<mss 1460,nop,wscale 7,sackOK>", 1), Config{Lenient: true}, 8,
		"options <mss 1460,nop,wscale 1>, want the kinds of <mss 1460,nop,wscale 7,sackOK>")
}

func TestRunBlockingCalls(t *testing.T) {
	src := `
0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   setsockopt(3, SOL_SOCKET, SO_SNDBUF, [2000], 4) = 0
+0...0.1 connect(3, ..., ...) = 0
+0   > S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 3>
+.1  < S. 0:0(0) ack 1 win 1000 <mss 1000>
+0   > . 1:1(0) ack 1 win 65535
// 3000 bytes do not fit a 2000-byte send buffer: write blocks until the peer ACKs 1000.
+0...0.2 write(3, ..., 3000) = 3000
+0   > . 1:1001(1000) ack 1 win 65535
+.2  < . 1:1(0) ack 1001 win 1000
+0   > P. 1001:2001(1000) ack 1 win 65535
// A blocking read returns when data comes.
+0...0.5 read(3, ..., 100) = 7
+.5  < P. 1:8(7) ack 2001 win 1000
+0   > P. 2001:3001(1000) ack 8 win 65528
`
	mustPass(t, src, Config{Strict: true})
	// The write returns at 0.3 s, not 0.2 s after it started.
	mustFail(t, strings.Replace(src, "+0...0.2 write", "+0...0.1 write", 1), Config{}, 9,
		"write() returned at 0.300000 s, expected at 0.200000 s")
	// A system call while another blocks.
	mustFail(t, strings.Replace(src, "+.2  < . 1:1(0) ack 1001", "+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0\n+.2  < . 1:1(0) ack 1001", 1),
		Config{}, 11, "write() of line 9 is still blocked")
	// A call still blocked at the end.
	mustFail(t, "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n+0 accept(3, ..., ...) = 4\n",
		Config{}, 4, "accept() was still blocked when the script ended")
}

func TestRunSyscallResults(t *testing.T) {
	src := `
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  fcntl(3, F_GETFL) = 0x2 (flags O_RDWR)
+0  fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0  fcntl(3, F_GETFL) = 0x802 (flags O_RDWR|O_NONBLOCK)
+0  connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0  > S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 3>
+0  connect(3, ..., ...) = -1 EALREADY (Operation already in progress)
+0  < R. 0:0(0) ack 1 win 0
+0  getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0
+0  getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0
+0  close(3) = 0
+0  close(3) = -1 EBADF (Bad file descriptor)
`
	mustPass(t, src, Config{Strict: true})
	mustFail(t, strings.Replace(src, "[ECONNREFUSED]", "[ECONNRESET]", 1), Config{}, 10,
		"getsockopt(SO_ERROR) gave ECONNREFUSED, expected ECONNRESET")
	mustFail(t, strings.Replace(src, "= -1 EBADF", "= 0", 1), Config{}, 13,
		"close() returned -1, expected 0", "actual:   close = -1 EBADF (bad file descriptor)")
	mustFail(t, strings.Replace(src, "-1 EALREADY", "-1 EISCONN", 1), Config{}, 8, "connect() failed with EALREADY, expected EISCONN")
}

// Shell lines never run: a leading sysctl sets the policy, anything else is reported.
func TestRunShellLinesSkipped(t *testing.T) {
	res := mustPass(t, "0 `sysctl -w net.inet.tcp.rfc1323=1; ip link set up`\n+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n`echo done`\n", Config{})
	if len(res.Skipped) != 2 || res.Skipped[0].String() != "line 1: shell line not run: `ip link set up`" ||
		res.Skipped[1].String() != "line 3: shell line not run: `echo done`" {
		t.Fatalf("skipped: %v", res.Skipped)
	}
	if len(res.Applied) != 1 || res.Applied[0] != (Sysctl{Name: "net.inet.tcp.rfc1323", Value: "1", Line: 1}) {
		t.Fatalf("applied: %v", res.Applied)
	}
}

func TestRunUnsupported(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3\n", "test.pkt:1:15: unsupported: needs sockets other than SOCK_STREAM (TCP)"},
		{"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 sendmsg(3, {}, 0) = 0\n", "test.pkt:2:15: sendmsg needs a msghdr with msg_iov"},
		{"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 splice(3, NULL, 4, NULL, 10, 0) = 0\n", "test.pkt:2:4: unsupported: needs the system call splice"},
		{"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 setsockopt(3, SOL_TCP, TCP_CONGESTION, \"bbr\", 3) = 0\n", "test.pkt:2:27: unsupported: needs the socket option TCP_CONGESTION"},
		{"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 recv(3, ..., 10, MSG_OOB) = 0\n", "test.pkt:2:21: unsupported: needs urgent data (MSG_OOB)"},
		{"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 sendto(3, ..., 10, MSG_FASTOPEN, ..., ...) = 0\n", "test.pkt:2:23: unsupported: needs TCP Fast Open"},
		{"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 setsockopt(3, SOL_SOCKET, SO_BROADCAST, [1], 4) = 0\n", "test.pkt:2:30: unsupported: needs the constant SO_BROADCAST"},
		{"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 setsockopt(3, SOL_SOCKET, TCP_NODELAY, [1], 4) = 0\n", "test.pkt:2:30: unsupported: needs the socket option TCP_NODELAY"},
		{"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 recvmsg(3, {msg_iov(1)=[{iov_base=..., iov_len=10}], msg_control(32)=[{cmsg_level=SOL_SOCKET}]}, 0) = 0\n", "test.pkt:2:57: unsupported: needs control messages (msg_control)"},
		{"0 close(3, 4) = 0\n", "test.pkt:1:3: close takes 1 arguments, found 2"},
	} {
		s, err := Parse("test.pkt", []byte(c.src), nil)
		if err != nil {
			t.Fatalf("%q: parse: %v", c.src, err)
		}
		_, err = Run(s, Config{})
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.src, err, c.want)
		}
		// A construct the runner cannot run names what it needs; a malformed one does not.
		var se *Error
		if errors.As(err, &se) && se.Unsupported() != strings.Contains(c.want, "unsupported: needs") {
			t.Errorf("%q: Unsupported() = %v, Feature %q", c.src, se.Unsupported(), se.Feature)
		}
	}
}

func TestRunARPAndICMP(t *testing.T) {
	mustPass(t, `
0   < arp request who-has 198.18.0.2 tell 198.18.0.1
+0  > arp reply 198.18.0.2 is-at *
+0  < icmp echo_request id 9 [raw (32)]
+0  > icmp echo_reply id 9 [raw (32)]
+0  < icmp echo_request id 9 [raw (32)] bad_checksum
+1  > nothing
`, Config{Strict: true})
	mustFail(t, "0 < icmp echo_request id 9 [raw (32)]\n+0 > icmp echo_reply id 10 [raw (32)]\n", Config{}, 2, "id 9, want 10")
	mustFail(t, "0 < icmp echo_request id 9 [raw (32)]\n+0 > icmp echo_reply id 9 [raw (31)]\n", Config{}, 2, "[raw (32)], want [raw (31)]")
	// Each reply is matched with the request of the same id and sequence number.
	mustPass(t, `
0   < arp request who-has 198.18.0.2 tell 198.18.0.1
+0  > arp reply 198.18.0.2 is-at 02:00:00:00:00:02
+0  < icmp echo_request id 1 [raw (1)]
+0  > icmp echo_reply id 1 [raw (1)]
+0  < icmp echo_request id 2 [raw (2)]
+0  > icmp echo_reply id 2 [raw (2)]
`, Config{Strict: true})
	// An ICMP error's quote is compared whole: protocol and length.
	unreach := "0 < raw \"02 00 00 00 00 02 02 00 00 00 00 01 08 00 45 00 00 1c 00 01 00 00 40 fd ed bc c6 12 00 01 c6 12 00 02 00 00 00 00 00 00 00 00\"\n+0 > icmp unreachable protocol_unreachable [raw (8)]\n"
	mustPass(t, unreach, Config{Strict: true})
	mustFail(t, strings.Replace(unreach, "[raw (8)]", "[raw (9)]", 1), Config{}, 2, "quotes [raw (8)], want [raw (9)]")
}

// The stack's ISN is learned once per connection: a retransmitted SYN or a SYN-ACK must carry
// the same one, and a new connection on the same ports (the peer's SYN with a new sequence
// number, answered with a SYN-ACK) is learned again.
func TestRunISN(t *testing.T) {
	retransmit := `
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0  connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0  > S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 3>
+1  > S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 3>
`
	mustPass(t, retransmit, Config{})
	mustFail(t, strings.Replace(retransmit, "+1  > S 0:0(0)", "+1  > S 7:7(0)", 1), Config{}, 6, "seq 0, want 7")
	// A challenge ACK answers a SYN in ESTABLISHED: the same connection, the same ISN.
	challenge := `
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 65535 <mss 1460>
+0  > S. 0:0(0) ack 1 win 65535 <mss 1460>
+0  < . 1:1(0) ack 1 win 65535
+.1 < S 500:500(0) win 65535
+0  > . 1:1(0) ack 1 win 65535
`
	mustPass(t, challenge, Config{Strict: true})
	// After an abort, the peer's new SYN opens a new connection on the same ports: its
	// SYN-ACK is written with ISN 0 again.
	reopen := challenge + `+0  < R 1:1(0) win 0
+1  < S 9000:9000(0) win 65535 <mss 1460>
+0  > S. 0:0(0) ack 9001 win 65535 <mss 1460>
`
	mustPass(t, reopen, Config{Strict: true})
}

// Cases a review found, each a way a script could pass when it should fail, or trip a user
// porting packetdrill scripts.
func TestRunStrictChecks(t *testing.T) {
	listen := "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n+0 < S 0:0(0) win 65535 <mss 1460>\n"
	// Absolute times never go back: refused before anything runs, at the line.
	if _, err := Parse("test.pkt", []byte(listen+"+1.5 getsockopt(3, SOL_SOCKET, SO_REUSEADDR, [0], [4]) = 0\n0 > S. 0:0(0) ack 1 <...>\n"), nil); err == nil ||
		!strings.HasPrefix(err.Error(), "test.pkt:6:1: time goes backward: 0.000000 s is before 1.500000 s") {
		t.Errorf("time going backward: %v", err)
	}
	// '*' takes a packet sent before the previous line, as packetdrill does.
	mustPass(t, listen+"+0.1 getsockopt(3, SOL_SOCKET, SO_REUSEADDR, [0], [4]) = 0\n* > S. 0:0(0) ack 1 <...>\n", Config{})
	// What a system call makes the stack send is taken at once: the SYN leaves at 0, not when
	// the next line runs.
	nb := "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n"
	mustFail(t, nb+"+0.5 getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0\n+0 > S 0:0(0) <...>\n", Config{}, 5, "496ms too early")
	// A linger struct is compared by getsockopt.
	linger := "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0\n"
	mustPass(t, linger+"+0 getsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, [8]) = 0\n", Config{})
	mustFail(t, linger+"+0 getsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff=0, l_linger=77}, [8]) = 0\n", Config{}, 3, "getsockopt(SO_LINGER) gave 0, expected -1")
	mustFail(t, linger+"+0 getsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=5}, [8]) = 0\n", Config{}, 3, "getsockopt(SO_LINGER) gave 0, expected 5")
	// A blocked connect does not take the current connection back on its retries.
	mustPass(t, "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n"+
		"+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4\n+0...0.05 connect(4, ..., ...) = 0\n+0 > S 0:0(0) <...>\n"+
		"+0 < 40000>8080 S 0:0(0) win 65535 <mss 1460>\n+0 > S. 0:0(0) ack 1 <...>\n"+
		"+.05 < 8080>34824 S. 0:0(0) ack 1 win 65535 <mss 1460>\n+0 > 34824>8080 . 1:1(0) ack 1 <...>\n", Config{Strict: true}) // 34824: the first ephemeral port the runner's stack picks
	// packetdrill's end time: "+0.1...0.3" ends 0.3 s after the previous line.
	mustPass(t, listen+"+0 > S. 0:0(0) ack 1 <...>\n+0 < . 1:1(0) ack 1 win 65535\n+0 accept(3, ..., ...) = 4\n"+
		"+0.1...0.3 read(4, ..., 10) = 10\n+0.2 < P. 1:11(10) ack 1 win 65535\n", Config{})
	// Descriptors: any will do, as packetdrill's CHECK_FD; the script's number maps to it.
	mustPass(t, "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 close(3) = 0\n+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4\n+0 close(4) = 0\n+0 close(4) = -1 EBADF\n", Config{})
	// errno aliases.
	mustPass(t, "0 socket(..., SOCK_STREAM|SOCK_NONBLOCK, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n+0 accept(3, ..., ...) = -1 EWOULDBLOCK (Resource temporarily unavailable)\n", Config{})
	// A TCP line expects a packet to the peer: a SYN-ACK to another host does not match.
	other := "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n" +
		"+0 < arp request who-has 198.18.0.2 tell 198.18.0.7\n+0 > arp reply 198.18.0.2 is-at *\n" +
		"+0 < raw 0x0200000000020200c612000708004500002c000100004006ee9dc6120007c61200029c401f9000000000000000006002ffff50280000020405b4\n" +
		"+0 > S. 0:0(0) ack 1 win 65535 <mss 1460>\n"
	mustFail(t, other, Config{}, 7, "to 198.18.0.7, want to the peer 198.18.0.1")
	// With --strict, a call without "...T" must return at once.
	acc := listen + "+0 > S. 0:0(0) ack 1 <...>\n+0 accept(3, ..., ...) = 4\n+0.5 < . 1:1(0) ack 1 win 65535\n"
	mustPass(t, acc, Config{})
	mustFail(t, acc, Config{Strict: true}, 6, "accept() blocked until 0.500000 s")
	// Counts are checked before anything runs.
	s, _ := Parse("test.pkt", []byte("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 read(3, ..., -1) = -1 ENOTCONN\n"), nil)
	if _, err := Run(s, Config{}); err == nil || !strings.Contains(err.Error(), "test.pkt:2:17: read needs a byte count from 0 to 2^30") {
		t.Errorf("negative count: %v", err)
	}
}

// The socket API behaves as BSD sockets do where scripts look.
func TestRunSocketSemantics(t *testing.T) {
	// Options set before listen carry over to accepted sockets; SO_LINGER 0 set before the
	// connection makes close send RST.
	mustPass(t, `
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  setsockopt(3, SOL_SOCKET, SO_KEEPALIVE, [1], 4) = 0
+0  setsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 65535 <mss 1460>
+0  > S. 0:0(0) ack 1 win 65535 <mss 1460>
+0  < . 1:1(0) ack 1 win 65535
+0  accept(3, ..., ...) = 4
+0  getsockopt(4, SOL_SOCKET, SO_KEEPALIVE, [1], [4]) = 0
+0  close(4) = 0
+0  > R 1:1(0) win 0
`, Config{Strict: true})
	// A reset is reported once; then read says end of stream and write EPIPE.
	mustPass(t, `
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 65535 <mss 1460>
+0  > S. 0:0(0) ack 1 win 65535 <mss 1460>
+0  < . 1:1(0) ack 1 win 65535
+0  accept(3, ..., ...) = 4
+0  < R 1:1(0) win 0
+0  read(4, ..., 10) = -1 ECONNRESET (Connection reset by peer)
+0  read(4, ..., 10) = 0
+0  write(4, ..., 10) = -1 EPIPE (Broken pipe)
+0  getsockopt(4, SOL_SOCKET, SO_ERROR, [0], [4]) = 0
`, Config{Strict: true})
	// shutdown during a non-blocking connect leaves no error for SO_ERROR.
	mustPass(t, `
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0  connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0  > S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 3>
+0  shutdown(3, SHUT_WR) = 0
+0  getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0
+0  shutdown(3, 99) = -1 EINVAL (Invalid argument)
// RFC 9293 3.10.4: CLOSE in SYN-SENT deletes the TCB; no RST, no more SYNs.
+3  > nothing
`, Config{Strict: true})
}

// FuzzRun runs whatever parses: the runner must end every script with a verdict or an error,
// never a panic.
func FuzzRun(f *testing.F) {
	f.Add([]byte(passiveOpen))
	f.Add([]byte("0 < icmp echo_request id 9 [raw (32)]\n+0 > icmp echo_reply id 9 [raw (32)]\n"))
	f.Add([]byte("0 < arp request who-has 198.18.0.2 tell 198.18.0.1\n+0 > arp reply 198.18.0.2 is-at *\n"))
	f.Add([]byte("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 connect(3, ..., ...) = 0\n+0 > S 0:0(0) <...>\n+.1 < S. 0:0(0) ack 1 win 100\n"))
	f.Add([]byte(tenBytesWaiting + "+0 recv(4, ..., 20, MSG_PEEK|MSG_WAITALL) = 10\n+0...0.1 poll([{fd=4, events=POLLIN, revents=POLLIN}], 1, 100) = 1\n"))
	f.Add([]byte(tenBytesWaiting + "+0 epoll_create(1) = 5\n+0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN, fd=4}) = 0\n+0 epoll_wait(5, {events=EPOLLIN, fd=4}, 1, 0) = 1\n"))
	f.Add([]byte("0 `sysctl -w net.inet.tcp.insecure_rst=1; sysctl -q net.ipv4.tcp_rmem=\"4096 $((64*1024)) 8192\"`\n" + tenBytesWaiting +
		"+0 `sysctl -w net.inet.tcp.recvspace=1000`\n+0 sendmsg(4, {msg_iov(1)=[{iov_base=..., iov_len=5}]}, 0) = 5\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := Parse("fuzz.pkt", src, nil)
		if err != nil {
			return
		}
		res, err := Run(s, Config{MaxWait: time.Minute})
		if (res == nil) == (err == nil) {
			t.Fatalf("result %v and error %v", res, err)
		}
	})
}

// The stack's timestamps: with --tcp_ts_tick_usecs the TS val is checked within the
// tolerance, counting from the first one the script names; the TS ecr is always checked
// exactly (but with --lenient, which compares option kinds only).
func TestTimestampChecks(t *testing.T) {
	script := func(val, ecr string) string {
		return `--tcp_ts_tick_usecs=1000
0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0   bind(3, ..., ...) = 0
+0   listen(3, 1) = 0
+0   < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 500 ecr 0,nop,wscale 7>
+0   > S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 500,nop,wscale 3>
+.01 < . 1:1(0) ack 1 win 512 <nop,nop,TS val 510 ecr 100>
+0   accept(3, ..., ...) = 4
+.1  write(4, ..., 5) = 5
+0   > P. 1:6(5) ack 1 win 32768 <nop,nop,TS val ` + val + ` ecr ` + ecr + `>
`
	}
	mustPass(t, script("210", "510"), Config{}) // 110 ms after the SYN-ACK's 100
	mustPass(t, script("213", "510"), Config{}) // 3 ms off: within the 4 ms tolerance
	mustFail(t, script("300", "510"), Config{}, 10, "the stack's packet differs", "TS val 210 ecr 510")
	mustFail(t, script("210", "509"), Config{}, 10, "the stack's packet differs", "TS val 210 ecr 510")
	mustPass(t, script("300", "509"), Config{Lenient: true})
	// A failure on the first timestamped line shows the stack's TS val in the script's clock.
	mustFail(t, strings.Replace(script("210", "510"), "ack 1 win 65535 <mss", "ack 1 win 5840 <mss", 1), Config{}, 6,
		"win 65535, want 5840", "actual:   0.000000 > S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 100 ecr 500")
	// Without --tcp_ts_tick_usecs the TS val is not checked, the ecr still is.
	noTick := func(val, ecr string) string {
		return strings.TrimPrefix(script(val, ecr), "--tcp_ts_tick_usecs=1000\n")
	}
	mustPass(t, noTick("300", "510"), Config{})
	mustFail(t, noTick("210", "509"), Config{}, 9, "the stack's packet differs")
}

// An inbound TS ecr names one of the stack's TS vals as the script wrote it. When an outbound
// line wrote that very value, the ecr goes on the wire as the TS val of the segment that line
// matched, whatever the clock did in between (a script without --tcp_ts_tick_usecs may write
// any TS val); other values are mapped by the offset of the first pair.
func TestInboundEcrMapping(t *testing.T) {
	var f flow
	ts := func(v uint32) []TCPOption { return []TCPOption{{Kind: OptTimestamp, TSVal: v}} }
	if got := f.liveEcr(100); got != 100 {
		t.Fatalf("before any outbound timestamp: ecr 100 went as %d, want as written", got)
	}
	f.learnTimestamps(ts(100), ts(5000)) // the SYN-ACK: script 100 is wire 5000
	f.learnTimestamps(ts(200), ts(6300)) // 1.3 s later, though the script said 100 ms
	f.learnTimestamps(ts(300), ts(6310))
	for _, c := range []struct{ script, wire uint32 }{{100, 5000}, {200, 6300}, {300, 6310}, {150, 5050}, {0, 4900}} {
		if got := f.liveEcr(c.script); got != c.wire {
			t.Errorf("ecr %d went as %d, want %d", c.script, got, c.wire)
		}
	}
}
