package gvisor_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/linuxabi"
	"github.com/mtcp-go/mtcp/targets/gvisor"
)

// newBench makes a bench around a fresh gVisor DUT, destroyed when the test ends.
func newBench(t *testing.T, opts ...harness.Option) (*harness.Bench, *gvisor.DUT) {
	t.Helper()
	d, err := gvisor.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Destroy)
	return harness.New(t, d, opts...), d
}

func TestTarget(t *testing.T) {
	var tg harness.Target = gvisor.Target{}
	if tg.Name() != "gvisor" {
		t.Fatalf("Name() = %q", tg.Name())
	}
	d, err := tg.NewDUT()
	if err != nil {
		t.Fatal(err)
	}
	defer d.(*gvisor.DUT).Destroy()
	if d.MAC().String() != harness.DefaultStackMAC.String() || d.Addr() != harness.DefaultStackAddr {
		t.Fatalf("DUT at %v %v, want the bench's defaults", d.MAC(), d.Addr())
	}
	if _, ok := d.NextDeadline(); ok {
		t.Errorf("a fresh stack has a timer armed")
	}
}

func TestARPRequestAnswered(t *testing.T) {
	b, _ := newBench(t)
	b.Inject(b.Peer().ARPRequest(b.StackIP()))
	f := b.Next()
	a := f.ARP()
	if a == nil || a.Operation != layers.ARPReply {
		t.Fatalf("want an ARP reply, got %v", f)
	}
	if got, _ := netip.AddrFromSlice(a.SourceProtAddress); got != b.StackIP() {
		t.Errorf("reply for %v, want %v", got, b.StackIP())
	}
	if !bytes.Equal(a.SourceHwAddress, harness.DefaultStackMAC) || !bytes.Equal(f.Ethernet().DstMAC, harness.DefaultPeerMAC) {
		t.Errorf("reply %v is-at %v to %v", a, a.SourceHwAddress, f.Ethernet().DstMAC)
	}
	b.ExpectNothing()
}

func TestICMPEchoAnswered(t *testing.T) {
	b, _ := newBench(t)
	data := []byte("gvisor echo")
	b.Inject(b.Peer().Echo(7, 1, data))
	f := b.Next()
	ic := f.ICMPv4()
	if ic == nil || ic.TypeCode.Type() != layers.ICMPv4TypeEchoReply || ic.Id != 7 || ic.Seq != 1 || !bytes.Equal(ic.Payload, data) {
		t.Fatalf("want an echo reply id 7 seq 1 with the data, got %v", f)
	}
	b.ExpectNothing()
}

func TestFrameForAnotherMACDropped(t *testing.T) {
	b, d := newBench(t)
	before := d.Drops()
	b.Inject(b.Peer().Echo(1, 1, nil).ToMAC(harness.DefaultPeerMAC))
	b.ExpectNothingFor(time.Second)
	if d.Drops() != before+1 {
		t.Errorf("Drops() = %d, want %d", d.Drops(), before+1)
	}
}

func TestBadChecksumCounted(t *testing.T) {
	b, d := newBench(t)
	before := d.Drops()
	b.Inject(b.Peer().TCP(harness.Segment{Flags: harness.SYN, Seq: 1, Win: 1000}).Mutate("bad TCP checksum", func(f []byte) { f[14+20+16] ^= 0xff }))
	b.ExpectNothingFor(time.Second)
	if d.Drops() != before+1 {
		t.Errorf("Drops() = %d, want %d", d.Drops(), before+1)
	}
}

// listen opens a listening socket on the port the peer sends to by default.
func listen(t *testing.T, b *harness.Bench) (harness.Sockets, int) {
	t.Helper()
	s := b.SocketsOf()
	var fd int
	b.Do(func() {
		var err error
		if fd, err = s.Socket(); err != nil {
			t.Fatal(err)
		}
		if fd != 3 {
			t.Errorf("first descriptor %d, want 3", fd)
		}
		if err := s.Bind(fd, harness.DefaultStackPort); err != nil {
			t.Fatal(err)
		}
		if err := s.Listen(fd, 8); err != nil {
			t.Fatal(err)
		}
	})
	return s, fd
}

func TestSYNToListenerAnswered(t *testing.T) {
	b, d := newBench(t)
	s, ln := listen(t, b)
	if _, err := s.Accept(ln); !errors.Is(err, linuxabi.EAGAIN) {
		t.Fatalf("Accept with nothing queued: %v, want EAGAIN", err)
	}
	b.Inject(b.Peer().TCP(harness.Segment{Flags: harness.SYN, Seq: 1000, Win: 65535, MSS: 1460}))
	f := b.Next()
	tc := f.TCP()
	if tc == nil || !tc.SYN || !tc.ACK || tc.Ack != 1001 || tc.SrcPort != harness.DefaultStackPort || tc.DstPort != harness.DefaultPeerPort {
		t.Fatalf("want a SYN-ACK for 1001, got %v", f)
	}
	local, remote := netip.AddrPortFrom(b.StackIP(), harness.DefaultStackPort), netip.AddrPortFrom(b.Peer().IP, harness.DefaultPeerPort)
	if st := harness.ConnState(d, local, remote); st != harness.TCPSynRecv {
		t.Errorf("state %v, want SYN-RECEIVED", st)
	}
	b.Inject(b.Peer().TCP(harness.Segment{Flags: harness.ACK, Seq: 1001, Ack: tc.Seq + 1, Win: 65535}))
	b.ExpectNothing()
	fd, err := s.Accept(ln)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if fd != 4 {
		t.Errorf("accepted descriptor %d, want 4", fd)
	}
	if st := harness.ConnState(d, local, remote); st != harness.TCPEstablished {
		t.Errorf("state %v, want ESTABLISHED", st)
	}
	info, err := s.TCPInfo(fd)
	if err != nil || info["tcpi_state"] != int64(harness.TCPEstablished) {
		t.Errorf("TCPInfo: %v %v", info, err)
	}
	// Data in, read out, ACKed.
	b.Inject(b.Peer().TCP(harness.Segment{Flags: harness.ACK | harness.PSH, Seq: 1001, Ack: tc.Seq + 1, Win: 65535, Data: []byte("hello")}))
	if n, err := s.Ioctl(fd, linuxabi.SIOCINQ); err != nil || n != 5 {
		t.Errorf("SIOCINQ = %d, %v; want 5", n, err)
	}
	p := make([]byte, 16)
	n, err := s.Read(fd, p)
	if err != nil || string(p[:n]) != "hello" {
		t.Fatalf("Read = %q, %v", p[:n], err)
	}
	if _, err := s.Read(fd, p); !errors.Is(err, linuxabi.EAGAIN) {
		t.Errorf("Read with nothing queued: %v, want EAGAIN", err)
	}
	ack := b.NextWithin(time.Second).TCP()
	if ack == nil || !ack.ACK || ack.Ack != 1006 {
		t.Errorf("want an ACK of 1006, got %v", ack)
	}
}

func TestSYNToClosedPortReset(t *testing.T) {
	b, _ := newBench(t)
	b.Inject(b.Peer().TCP(harness.Segment{Flags: harness.SYN, Seq: 5000, Win: 1000, DstPort: 81}))
	f := b.Next()
	tc := f.TCP()
	if tc == nil || !tc.RST || !tc.ACK || tc.Ack != 5001 || tc.Seq != 0 {
		t.Fatalf("want RST|ACK seq 0 ack 5001, got %v", f)
	}
	b.ExpectNothing()
}

func TestConnect(t *testing.T) {
	b, d := newBench(t)
	s := b.SocketsOf()
	fd, err := s.Socket()
	if err != nil {
		t.Fatal(err)
	}
	remote := netip.AddrPortFrom(b.Peer().IP, 8080)
	var cerr error
	b.Do(func() { cerr = s.Connect(fd, remote) })
	if !errors.Is(cerr, linuxabi.EINPROGRESS) {
		t.Fatalf("Connect: %v, want EINPROGRESS", cerr)
	}
	syn := b.Next() // the bench answered the stack's ARP request for the peer
	tc := syn.TCP()
	if tc == nil || !tc.SYN || tc.ACK || tc.DstPort != 8080 {
		t.Fatalf("want a SYN to 8080, got %v", syn)
	}
	if err := s.Connect(fd, remote); !errors.Is(err, linuxabi.EALREADY) {
		t.Errorf("Connect again: %v, want EALREADY", err)
	}
	local := netip.AddrPortFrom(b.StackIP(), uint16(tc.SrcPort))
	if st := harness.ConnState(d, local, remote); st != harness.TCPSynSent {
		t.Errorf("state %v, want SYN-SENT", st)
	}
	b.Inject(b.Peer().TCP(harness.Segment{SrcPort: 8080, DstPort: uint16(tc.SrcPort), Flags: harness.SYN | harness.ACK, Seq: 9000, Ack: tc.Seq + 1, Win: 65535, MSS: 1460}))
	if ack := b.Next().TCP(); ack == nil || !ack.ACK || ack.SYN || ack.Ack != 9001 {
		t.Fatalf("want the handshake's ACK, got %v", ack)
	}
	if err := s.Connect(fd, remote); err != nil {
		t.Errorf("Connect once established: %v, want 0", err)
	}
	if err := s.Connect(fd, remote); !errors.Is(err, linuxabi.EISCONN) {
		t.Errorf("Connect after: %v, want EISCONN", err)
	}
	var n int
	b.Do(func() { n, err = s.Write(fd, []byte("data")) })
	if err != nil || n != 4 {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if seg := b.Next().TCP(); seg == nil || string(seg.Payload) != "data" {
		t.Errorf("want the data, got %v", seg)
	}
}

func TestConnectRefused(t *testing.T) {
	b, _ := newBench(t)
	s := b.SocketsOf()
	fd, _ := s.Socket()
	remote := netip.AddrPortFrom(b.Peer().IP, 8080)
	b.Do(func() { _ = s.Connect(fd, remote) })
	tc := b.Next().TCP()
	b.Inject(b.Peer().TCP(harness.Segment{SrcPort: 8080, DstPort: uint16(tc.SrcPort), Flags: harness.RST | harness.ACK, Ack: tc.Seq + 1}))
	if err := s.Connect(fd, remote); !errors.Is(err, linuxabi.ECONNREFUSED) {
		t.Errorf("Connect after RST: %v, want ECONNREFUSED", err)
	}
}

func TestSynRetransmittedInVirtualTime(t *testing.T) {
	b, d := newBench(t)
	s := b.SocketsOf()
	fd, _ := s.Socket()
	b.Do(func() { _ = s.Connect(fd, netip.AddrPortFrom(b.Peer().IP, 8080)) })
	first := b.Next()
	next, ok := d.NextDeadline()
	if !ok {
		t.Fatal("no timer armed after a SYN")
	}
	again := b.NextWithin(10 * time.Second)
	if again.TCP() == nil || !again.TCP().SYN || again.TCP().Seq != first.TCP().Seq {
		t.Fatalf("want the SYN again, got %v", again)
	}
	if !again.Time.Equal(next) || again.Offset != time.Second {
		t.Errorf("retransmitted at +%v (%v), want +1s, the deadline reported (%v)", again.Offset, again.Time, next)
	}
}

func TestSysctl(t *testing.T) {
	d, err := gvisor.New()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Destroy()
	for _, c := range []struct {
		name, value string
		ok          bool
	}{
		{"net.ipv4.tcp_sack", "0", true},
		{"net.ipv4.tcp_sack", "1", true},
		{"net.ipv4.tcp_sack", "3", false},
		{"net.ipv4.tcp_rmem", "4096 131072 6291456", true},
		{"net.ipv4.tcp_rmem", "4096 131072", false},
		{"net.ipv4.tcp_congestion_control", "cubic", true},
		{"net.ipv4.tcp_congestion_control", "bbr", false},
		{"net.ipv4.tcp_timestamps", "1", true},
		{"net.ipv4.tcp_timestamps", "0", false},
		{"net.ipv4.tcp_ecn", "2", false},
		{"net.ipv4.tcp_syncookies", "2", true},
		{"net.ipv4.tcp_keepalive_time", "60", true},
		{"net.inet.tcp.sack.enable", "1", true},
		{"net.ipv4.tcp_no_such_thing", "1", false},
	} {
		err := d.Sysctl(c.name, c.value)
		if (err == nil) != c.ok {
			t.Errorf("Sysctl(%s, %q) = %v, want ok %v", c.name, c.value, err, c.ok)
		}
	}
	if err := d.Sysctl("kernel.hostname", "x"); !errors.Is(err, gvisor.ErrNotMapped) {
		t.Errorf("an unknown name: %v, want ErrNotMapped", err)
	}
	fd, _ := d.Socket()
	if v, err := d.GetSockOpt(fd, linuxabi.IPPROTO_TCP, linuxabi.TCP_KEEPIDLE); err != nil || v != 60 {
		t.Errorf("TCP_KEEPIDLE after tcp_keepalive_time=60: %d, %v", v, err)
	}
	if _, err := d.GetSockOpt(fd, linuxabi.SOL_SOCKET, linuxabi.SO_TIMESTAMPING); !errors.Is(err, linuxabi.ENOPROTOOPT) {
		t.Errorf("an unknown option: %v, want ENOPROTOOPT", err)
	}
	if err := d.SetSockOpt(fd, linuxabi.SOL_SOCKET, linuxabi.SO_RCVBUF, 65536); err != nil {
		t.Fatal(err)
	}
	if v, _ := d.GetSockOpt(fd, linuxabi.SOL_SOCKET, linuxabi.SO_RCVBUF); v != 131072 {
		t.Errorf("SO_RCVBUF after setting 65536: %d, want 131072 (doubled, as Linux and runsc)", v)
	}
	if err := d.Close(fd); err != nil {
		t.Error(err)
	}
	if err := d.Close(fd); !errors.Is(err, linuxabi.EBADF) {
		t.Errorf("Close twice: %v, want EBADF", err)
	}
}

// scenario is a handshake, data both ways with losses and retransmissions, and a close through
// TIME-WAIT's end: every timer the bench drives. It returns the frames, rendered.
func scenario(t *testing.T) []string {
	b, d := newBench(t)
	s, ln := listen(t, b)
	peer := b.Peer()
	ts := func(val uint32) []layers.TCPOption {
		return []layers.TCPOption{harness.NOPOption, harness.NOPOption, harness.TimestampOption(val, 0)}
	}
	b.Inject(peer.TCP(harness.Segment{Flags: harness.SYN, Seq: 1000, Win: 65535, MSS: 1460, WScale: 7,
		Options: []layers.TCPOption{harness.SACKPermittedOption, harness.TimestampOption(1, 0)}}))
	synack := b.Next().TCP()
	iss := synack.Seq
	b.Advance(10 * time.Millisecond)
	b.Inject(peer.TCP(harness.Segment{Flags: harness.ACK, Seq: 1001, Ack: iss + 1, Win: 512, Options: ts(2)}))
	fd, err := s.Accept(ln)
	if err != nil {
		t.Fatal(err)
	}
	b.Do(func() {
		if _, err := s.Write(fd, bytes.Repeat([]byte{'x'}, 4000)); err != nil {
			t.Fatal(err)
		}
	})
	b.Advance(5 * time.Second) // the data, its retransmissions: nothing is acknowledged
	b.Inject(peer.TCP(harness.Segment{Flags: harness.ACK, Seq: 1001, Ack: iss + 1 + 4000, Win: 512, Options: ts(3)}))
	b.Inject(peer.TCP(harness.Segment{Flags: harness.ACK | harness.PSH, Seq: 1001, Ack: iss + 1 + 4000, Win: 512, Options: ts(4), Data: []byte("reply")}))
	b.Do(func() {
		if n, err := s.Read(fd, make([]byte, 100)); n != 5 || err != nil {
			t.Fatalf("Read = %d, %v", n, err)
		}
		_ = s.Close(fd)
	})
	b.Advance(50 * time.Millisecond)
	b.Inject(peer.TCP(harness.Segment{Flags: harness.FIN | harness.ACK, Seq: 1006, Ack: iss + 1 + 4001, Win: 512, Options: ts(5)}))
	local, remote := netip.AddrPortFrom(b.StackIP(), harness.DefaultStackPort), netip.AddrPortFrom(peer.IP, harness.DefaultPeerPort)
	if st := harness.ConnState(d, local, remote); st != harness.TCPTimeWait {
		t.Errorf("after the peer's FIN: %v, want TIME-WAIT", st)
	}
	b.Advance(3 * time.Minute)
	if st := harness.ConnState(d, local, remote); st != harness.TCPClose {
		t.Errorf("3 minutes later: %v, want CLOSED (no row)", st)
	}
	var out []string
	for _, f := range b.Frames() {
		out = append(out, fmt.Sprintf("%v %v %x", f.Offset, f.Direction, f.Data))
	}
	return out
}

func TestDeterminism(t *testing.T) {
	first := scenario(t)
	if len(first) < 10 {
		t.Fatalf("the scenario made only %d frames", len(first))
	}
	for run := 2; run <= 5; run++ {
		again := scenario(t)
		if len(again) != len(first) {
			t.Fatalf("run %d: %d frames, run 1: %d", run, len(again), len(first))
		}
		for i := range first {
			if again[i] != first[i] {
				t.Fatalf("run %d differs at frame %d:\n  %s\n  %s", run, i+1, again[i], first[i])
			}
		}
	}
}
