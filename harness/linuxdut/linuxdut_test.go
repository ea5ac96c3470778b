//go:build linux

package linuxdut

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	. "github.com/onsi/gomega"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/linuxabi"
	"github.com/mtcp-go/mtcp/harness/script"
	"github.com/mtcp-go/mtcp/internal/netns"
)

// The tests need root, the ip command and /dev/net/tun. Without them they are skipped with
// the reason, unless the environment variable CI is "true" (internal/netns/netnstest's rule):
// there a live test that cannot run fails.

// skipOrFail skips the test, or fails it when CI is "true".
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := "linuxdut: " + strings.TrimSpace(fmt.Sprintf(format, args...))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: live tests must run)")
	}
	t.Skip(msg + " (set CI=true to make this a failure)")
}

// requireLive skips (or fails under CI) a test the machine cannot run.
func requireLive(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "needs root to create a network namespace and a TAP device")
	}
	if _, err := lookIP(); err != nil {
		skipOrFail(t, "needs the ip command (iproute2): %v", err)
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		skipOrFail(t, "needs /dev/net/tun: %v", err)
	}
}

// newDUT makes a DUT released when the test ends, checking then that its namespace is gone.
func newDUT(t *testing.T) *DUT {
	t.Helper()
	requireLive(t)
	d, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Release(); err != nil {
			t.Error(err)
		}
		if _, err := os.Lstat(filepath.Join(netns.RunDir, d.Namespace())); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("namespace %s still in %s after Release (%v)", d.Namespace(), netns.RunDir, err)
		}
	})
	return d
}

// wait is how long, in the bench's (here real) time, a test waits for the kernel's answer.
const wait = 500 * time.Millisecond

var peer = netip.AddrPortFrom(harness.DefaultPeerIP, 8080)

func TestARPRequestAnswered(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	b := harness.New(t, newDUT(t))
	b.Inject(b.Peer().ARPRequest(b.StackIP()))
	g.Expect(b.NextWithin(wait)).To(harness.BeARPReply(harness.SenderIP(b.StackIP()), harness.SenderMAC(b.StackMAC()),
		harness.TargetIP(b.Peer().IP), harness.TargetMAC(b.Peer().MAC), harness.ToMAC(b.Peer().MAC)))
}

func TestICMPEchoAnswered(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	b := harness.New(t, newDUT(t))
	data := []byte("mtcp linuxdut echo")
	b.Inject(b.Peer().Echo(0x1234, 7, data))
	g.Expect(b.NextWithin(wait)).To(harness.BeICMPEchoReply(harness.ICMPID(0x1234), harness.ICMPSeq(7), harness.EchoData(data),
		harness.FromIP(b.StackIP()), harness.ToIP(b.Peer().IP)))
}

// retry calls f, moving the bench's time on by a millisecond between calls, until it returns
// anything but EAGAIN or the time runs out.
func retry(b *harness.Bench, f func() error) error {
	end := b.Now().Add(wait)
	for {
		err := f()
		if err != linuxabi.EAGAIN && err != linuxabi.EALREADY || !b.Now().Before(end) {
			return err
		}
		b.Advance(time.Millisecond)
	}
}

func TestListenAnswersSYNAndAccepts(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	d := newDUT(t)
	b := harness.New(t, d)
	so := b.SocketsOf()
	g.Expect(so).NotTo(BeNil())
	fd, err := so.Socket()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(fd).To(Equal(3), "the lowest free descriptor from 3")
	g.Expect(so.Bind(fd, 80)).To(Succeed())
	g.Expect(so.Listen(fd, 8)).To(Succeed())
	_, err = so.Accept(fd)
	g.Expect(err).To(Equal(linuxabi.EAGAIN), "nothing to accept yet")

	b.Inject(b.Peer().TCP(harness.Segment{SrcPort: 40000, DstPort: 80, Flags: harness.SYN, Seq: 1000, Win: 65535, MSS: 1460}))
	synack := b.NextWithin(wait)
	g.Expect(synack).To(harness.BeTCP(harness.SrcPort(80), harness.DstPort(40000), harness.Flags(harness.SYN|harness.ACK), harness.Ack(1001)))
	iss := synack.TCP().Seq
	g.Expect(harness.ConnState(d, netip.AddrPortFrom(b.StackIP(), 80), netip.AddrPortFrom(b.Peer().IP, 40000))).To(Equal(harness.TCPSynRecv))

	b.Inject(b.Peer().TCP(harness.Segment{SrcPort: 40000, DstPort: 80, Flags: harness.ACK, Seq: 1001, Ack: iss + 1, Win: 65535}))
	var cfd int
	g.Expect(retry(b, func() (err error) { cfd, err = so.Accept(fd); return err })).To(Succeed())
	g.Expect(cfd).To(Equal(4))
	info, err := so.TCPInfo(cfd)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(info).To(HaveKeyWithValue("tcpi_state", int64(harness.TCPEstablished)))
	g.Expect(info).To(HaveKeyWithValue("tcpi_snd_mss", int64(1460)))
	g.Expect(info).To(HaveKey("tcpi_rto"))
	g.Expect(harness.ConnState(d, netip.AddrPortFrom(b.StackIP(), 80), netip.AddrPortFrom(b.Peer().IP, 40000))).To(Equal(harness.TCPEstablished))
	ev, err := so.Poll(cfd)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ev&(linuxabi.POLLOUT|linuxabi.POLLIN)).To(Equal(linuxabi.POLLOUT), "writable, nothing to read")

	b.Inject(b.Peer().TCP(harness.Segment{SrcPort: 40000, DstPort: 80, Flags: harness.ACK | harness.PSH, Seq: 1001, Ack: iss + 1, Win: 65535, Data: []byte("hello")}))
	g.Expect(b.NextWithin(wait)).To(harness.BeTCP(harness.Flags(harness.ACK), harness.Ack(1006)))
	n, err := so.Ioctl(cfd, linuxabi.SIOCINQ)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(n).To(Equal(5))
	buf := make([]byte, 16)
	n, err = so.Read(cfd, buf)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(buf[:n])).To(Equal("hello"))
	_, err = so.Read(cfd, buf)
	g.Expect(err).To(Equal(linuxabi.EAGAIN))
	g.Expect(so.Close(cfd)).To(Succeed())
	g.Expect(so.Close(cfd)).To(Equal(linuxabi.EBADF))
}

// connect opens a connection from the kernel to the peer's port 8080 and returns the
// descriptor, the kernel's port and both initial sequence numbers.
func connect(t *testing.T, b *harness.Bench) (fd int, port uint16, iss, irs uint32) {
	t.Helper()
	g := NewWithT(t)
	so := b.SocketsOf()
	fd, err := so.Socket()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(so.Connect(fd, peer)).To(Equal(linuxabi.EINPROGRESS))
	g.Expect(so.Connect(fd, peer)).To(Equal(linuxabi.EALREADY))
	syn := b.NextWithin(wait)
	g.Expect(syn).To(harness.BeTCP(harness.Flags(harness.SYN), harness.DstPort(8080), harness.FromIP(b.StackIP()), harness.ToIP(b.Peer().IP)))
	port, iss, irs = uint16(syn.TCP().SrcPort), syn.TCP().Seq, 5000
	b.Inject(b.Peer().TCP(harness.Segment{SrcPort: 8080, DstPort: port, Flags: harness.SYN | harness.ACK, Seq: irs, Ack: iss + 1, Win: 65535, MSS: 1460}))
	g.Expect(b.NextWithin(wait)).To(harness.BeTCP(harness.Flags(harness.ACK), harness.Seq(iss+1), harness.Ack(irs+1)))
	g.Expect(retry(b, func() error { return so.Connect(fd, peer) })).To(Succeed(), "0 once the handshake is done")
	g.Expect(so.Connect(fd, peer)).To(Equal(linuxabi.EISCONN))
	return fd, port, iss, irs
}

func TestConnectSendsSYN(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	b := harness.New(t, newDUT(t))
	_, _, _, _ = connect(t, b)
	g.Expect(b.Waiting()).To(BeEmpty())
}

func TestActiveCloseLeavesTimeWait(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	d := newDUT(t)
	b := harness.New(t, d)
	so := b.SocketsOf()
	fd, port, iss, irs := connect(t, b)
	local, remote := netip.AddrPortFrom(b.StackIP(), port), peer
	g.Expect(harness.ConnState(d, local, remote)).To(Equal(harness.TCPEstablished))
	g.Expect(so.Close(fd)).To(Succeed())
	g.Expect(b.NextWithin(wait)).To(harness.BeTCP(harness.Flags(harness.FIN|harness.ACK), harness.Seq(iss+1), harness.Ack(irs+1)))
	b.Inject(b.Peer().TCP(harness.Segment{SrcPort: 8080, DstPort: port, Flags: harness.FIN | harness.ACK, Seq: irs + 1, Ack: iss + 2, Win: 65535}))
	g.Expect(b.NextWithin(wait)).To(harness.BeTCP(harness.Flags(harness.ACK), harness.Seq(iss+2), harness.Ack(irs+2)))
	g.Expect(harness.ConnState(d, local, remote)).To(Equal(harness.TCPTimeWait))
}

func TestBadChecksumDroppedAndCounted(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	d := newDUT(t)
	b := harness.New(t, d)
	// A SYN to a closed port: the kernel answers the intact one with a RST.
	syn := func() *harness.Packet {
		return b.Peer().TCP(harness.Segment{SrcPort: 40001, DstPort: 81, Flags: harness.SYN, Seq: 77, Win: 65535})
	}
	before := d.Drops()
	b.Inject(syn().Mutate("TCP checksum broken", func(f []byte) { f[14+20+16] ^= 0xff }))
	b.ExpectNothingFor(wait)
	g.Expect(d.Drops()).To(BeNumerically(">", before), "the kernel counts the damaged segment")
	v, ok := d.Counter("TcpInCsumErrors")
	g.Expect(ok).To(BeTrue())
	g.Expect(v).To(BeNumerically(">=", 1))

	b.Inject(syn()) // the positive control
	g.Expect(b.NextWithin(wait)).To(harness.BeTCP(harness.Flags(harness.RST|harness.ACK), harness.SrcPort(81), harness.Ack(78)))
}

func TestSysctlSACKOff(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	d := newDUT(t)
	b := harness.New(t, d)
	so := b.SocketsOf()
	syn := func() *harness.Frame {
		fd, err := so.Socket()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(so.Connect(fd, peer)).To(Equal(linuxabi.EINPROGRESS))
		return b.NextWithin(wait)
	}
	g.Expect(syn()).To(harness.BeTCP(harness.Flags(harness.SYN), harness.HasOption(layers.TCPOptionKindSACKPermitted)), "Linux's default")
	g.Expect(d.Sysctl("net.ipv4.tcp_sack", "0")).To(Succeed())
	g.Expect(syn()).To(harness.BeTCP(harness.Flags(harness.SYN), harness.WithoutOption(layers.TCPOptionKindSACKPermitted)))

	g.Expect(d.Sysctl("net.inet.tcp.sack.enable", "1")).To(MatchError(ContainSubstring("FreeBSD")))
	g.Expect(d.Sysctl("vm.swappiness", "10")).To(MatchError(ContainSubstring("not per network namespace")))
	g.Expect(d.Sysctl("net.ipv4.tcp_no_such_thing", "1")).To(MatchError(ContainSubstring("no such sysctl")))
	g.Expect(d.Sysctl("net.ipv4.tcp_sack", "x")).To(MatchError(ContainSubstring("refuses")))
	g.Expect(d.Sysctl("net/../../kernel/x", "1")).To(HaveOccurred())
	g.Expect(d.Sysctl("TCP_INIT_CWND", "10")).To(Succeed())
	g.Expect(d.Sysctl("TCP_INIT_CWND", "4")).To(MatchError(ContainSubstring("compiled into Linux")))
}

func TestSysctlStaysInNamespace(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	requireLive(t)
	host, err := os.ReadFile("/proc/sys/net/ipv4/tcp_fin_timeout")
	g.Expect(err).NotTo(HaveOccurred())
	d := newDUT(t)
	g.Expect(d.Sysctl("net.ipv4.tcp_fin_timeout", "7")).To(Succeed())
	after, err := os.ReadFile("/proc/sys/net/ipv4/tcp_fin_timeout")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(after)).To(Equal(string(host)), "the host's own setting is untouched")
	ip, err := lookIP()
	g.Expect(err).NotTo(HaveOccurred())
	out, err := exec.Command(ip, "netns", "exec", d.Namespace(), "cat", "/proc/sys/net/ipv4/tcp_fin_timeout").CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))
	g.Expect(strings.TrimSpace(string(out))).To(Equal("7"))
}

func TestReleaseDeletesNamespace(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	requireLive(t)
	d, err := New()
	g.Expect(err).NotTo(HaveOccurred())
	path := filepath.Join(netns.RunDir, d.Namespace())
	g.Expect(path).To(BeAnExistingFile())
	so := harness.Sockets(d)
	fd, err := so.Socket()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(so.Listen(fd, 1)).To(Succeed())
	g.Expect(d.Release()).To(Succeed())
	_, err = os.Lstat(path)
	g.Expect(errors.Is(err, fs.ErrNotExist)).To(BeTrue(), "%s after Release: %v", path, err)
	g.Expect(d.Release()).To(Succeed(), "a second Release")
	_, err = so.Socket()
	g.Expect(err).To(Equal(linuxabi.EBADF))
	g.Expect(d.Conns()).To(BeNil())
	d.Advance(time.Now().Add(time.Hour)) // returns at once
	_, ok := d.NextDeadline()
	g.Expect(ok).To(BeFalse())
}

func TestThreadOutsideNamespaceRefused(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	d := newDUT(t)
	// This goroutine's thread is in the process's namespace, not the DUT's.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	err := checkThread(d.Namespace())
	g.Expect(err).To(MatchError(netns.ErrNotInNamespace))
	g.Expect(checkThread("../x")).To(HaveOccurred())
	g.Expect(checkThread("mtcp-dut-no-such-namespace")).To(MatchError(netns.ErrNotInNamespace))
}

func TestFailingNewRemovesNamespace(t *testing.T) {
	// Not parallel: the hook is the package's.
	g := NewWithT(t)
	requireLive(t)
	var ns string
	testHookNew = func(name string) error { ns = name; return errors.New("injected failure") }
	defer func() { testHookNew = nil }()
	d, err := New()
	g.Expect(err).To(MatchError(ContainSubstring("injected failure")))
	g.Expect(d).To(BeNil())
	g.Expect(ns).NotTo(BeEmpty())
	_, err = os.Lstat(filepath.Join(netns.RunDir, ns))
	g.Expect(errors.Is(err, fs.ErrNotExist)).To(BeTrue(), "%s after a failing New: %v", ns, err)
}

func TestReapDeletesOrphansOnly(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	requireLive(t)
	// A pid above pid_max cannot be running: the namespace is an orphan.
	pidMax, err := os.ReadFile("/proc/sys/kernel/pid_max")
	g.Expect(err).NotTo(HaveOccurred())
	fake, err := strconv.Atoi(strings.TrimSpace(string(pidMax)))
	g.Expect(err).NotTo(HaveOccurred())
	fake += 17
	orphan := fmt.Sprintf("%s%d-1", NamePrefix, fake)
	ip, err := lookIP()
	g.Expect(err).NotTo(HaveOccurred())
	out, err := exec.Command(ip, "netns", "add", orphan).CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))
	t.Cleanup(func() { _ = exec.Command(ip, "netns", "del", orphan).Run() })
	live := newDUT(t) // this process's: never reaped

	// Only the fake pid counts as dead here, so that other processes' namespaces stay.
	reaped, err := reap(func(pid int) bool { return pid == fake })
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(reaped).To(Equal([]string{orphan}))
	g.Expect(filepath.Join(netns.RunDir, orphan)).NotTo(BeAnExistingFile())
	g.Expect(filepath.Join(netns.RunDir, live.Namespace())).To(BeAnExistingFile())

	for name, want := range map[string]bool{"mtcp-dut-12-3": true, "mtcp-dut-012-3": false, "mtcp-dut-12": false,
		"mtcp-dut-x-1": false, "mtcp-test-12-3": false, "mtcp-dut-12-3x": false} {
		_, ok := pidOf(name)
		g.Expect(ok).To(Equal(want), name)
	}
}

// The defaults `--platform linux` sets are the kernel's own: every one applies, and a script
// written for Linux runs against it as written (packetdrill's own socket and handshake lines).
func TestPlatformLinuxScript(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	requireLive(t)
	src := `
--tolerance_usecs=10000
` + "`sysctl -q net.ipv4.tcp_timestamps=0`" + `
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
+0  > S. 0:0(0) ack 1 <...>
+.1 < . 1:1(0) ack 1 win 257
+0  accept(3, ..., ...) = 4
+0  write(4, ..., 1000) = 1000
+0  > P. 1:1001(1000) ack 1
+.1 < . 1:1(0) ack 1001 win 257
+0  getsockopt(4, SOL_TCP, TCP_INFO, {tcpi_state=TCP_ESTABLISHED, tcpi_unacked=0, tcpi_snd_mss=1000}, [104]) = 0
+0  close(4) = 0
+0  > F. 1001:1001(0) ack 1
`
	s, err := script.Parse("platform-linux.pkt", []byte(src), nil)
	g.Expect(err).NotTo(HaveOccurred())
	rec := &recorder{}
	defer func() { g.Expect(rec.release()).To(Succeed()) }()
	res, err := script.Run(s, script.Config{Target: rec, Platform: "linux"})
	g.Expect(err).NotTo(HaveOccurred())
	for _, sk := range res.Skipped {
		// A host whose default congestion control is not cubic (bbr, say) and does not allow
		// cubic (net.ipv4.tcp_allowed_congestion_control) keeps a namespace from choosing it.
		g.Expect(sk.Text).To(ContainSubstring("tcp_congestion_control"), "every other default of --platform linux applies")
		t.Logf("skipped: %s", sk)
	}
	g.Expect(res.Applied).To(HaveLen(1))
	g.Expect(res.Failure).To(BeNil(), "%v", res.Verdict())
}
