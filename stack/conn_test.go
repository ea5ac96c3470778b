package stack_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/stack"
	"github.com/mtcp-go/mtcp/stack/link"
	"github.com/mtcp-go/mtcp/stack/link/pipe"
	"github.com/mtcp-go/mtcp/stack/tcp"
)

// These tests run two runtime stacks on the real clock, connected by a pipe. Every wait is
// bounded by hang, which only turns a hang into a failure: nothing waits for protocol timing.
const hang = 10 * time.Second

var (
	clientPrefix = netip.MustParsePrefix("198.18.0.1/24")
	serverPrefix = netip.MustParsePrefix("198.18.0.2/24")
)

// pair returns two stacks on the ends of one pipe: a client (198.18.0.1) and a server
// (198.18.0.2). Both close when the test ends.
func pair(t testing.TB, cfg tcp.Config) (client, server *stack.Stack) {
	t.Helper()
	a, b := pipe.New(1500)
	var err error
	client, err = stack.New(stack.Config{Link: a, Addr: clientPrefix, TCP: cfg})
	if err != nil {
		t.Fatal(err)
	}
	server, err = stack.New(stack.Config{Link: b, Addr: serverPrefix, TCP: cfg})
	if err != nil {
		_ = client.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client.Close()
		_ = server.Close()
	})
	return client, server
}

func serverAddr(port uint16) netip.AddrPort { return netip.AddrPortFrom(serverPrefix.Addr(), port) }

// connected returns both ends of one connection from client to server's port.
func connected(t testing.TB, client, server *stack.Stack, port uint16) (cc, sc *stack.Conn) {
	t.Helper()
	ln, err := server.Listen(port)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := goDo(func() (*stack.Conn, error) { return ln.AcceptTCP() })
	cc, err = dial(client, serverAddr(port))
	if err != nil {
		t.Fatal(err)
	}
	sc, err = await(t, accepted)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cc.Close()
		_ = sc.Close()
	})
	return cc, sc
}

func dial(s *stack.Stack, addr netip.AddrPort) (*stack.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	return s.DialContext(ctx, addr)
}

type result[T any] struct {
	v   T
	err error
}

// goDo runs f on a goroutine; await collects its result.
func goDo[T any](f func() (T, error)) <-chan result[T] {
	ch := make(chan result[T], 1)
	go func() {
		v, err := f()
		ch <- result[T]{v, err}
	}()
	return ch
}

func await[T any](t testing.TB, ch <-chan result[T]) (T, error) {
	t.Helper()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-time.After(hang):
		t.Fatal("hung")
		panic("unreachable")
	}
}

// readAll reads c to EOF.
func readAll(c net.Conn) <-chan result[[]byte] {
	return goDo(func() ([]byte, error) { return io.ReadAll(c) })
}

func mustWrite(t testing.TB, c net.Conn, p []byte) {
	t.Helper()
	if n, err := c.Write(p); n != len(p) || err != nil {
		t.Fatalf("Write: %d, %v; want %d, nil", n, err, len(p))
	}
}

func mustReadFull(t testing.TB, c net.Conn, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("ReadFull: %v", err)
	}
	return b
}

// wantOpError checks that err is a *net.OpError for op wrapping target.
func wantOpError(t testing.TB, err error, op string, target error) {
	t.Helper()
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != op || oe.Net != "tcp" {
		t.Fatalf("error %v (%T): want a *net.OpError for %q", err, err, op)
	}
	if !errors.Is(err, target) {
		t.Fatalf("error %v: want one wrapping %v", err, target)
	}
}

func TestEchoOverConn(t *testing.T) {
	client, server := pair(t, tcp.Config{})
	ln, err := server.Listen(7)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := goDo(func() (int64, error) {
		c, err := ln.Accept()
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return io.Copy(c, c)
	})
	c, err := dial(client, serverAddr(7))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, msg := range []string{"hello", "mtcp", string(bytes.Repeat([]byte("x"), 5000))} {
		mustWrite(t, c, []byte(msg))
		if got := mustReadFull(t, c, len(msg)); string(got) != msg {
			t.Fatalf("echo %q, want %q", got, msg)
		}
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if n, err := await(t, served); err != nil || n != 5009 {
		t.Fatalf("server copied %d, %v; want 5009, nil", n, err)
	}
	if b, err := await(t, readAll(c)); err != nil || len(b) != 0 {
		t.Fatalf("after the server's close: %q, %v; want EOF", b, err)
	}
}

func TestAddressesAreTCPAddrs(t *testing.T) {
	client, server := pair(t, tcp.Config{})
	cc, sc := connected(t, client, server, 80)
	if a, ok := cc.RemoteAddr().(*net.TCPAddr); !ok || a.AddrPort() != serverAddr(80) {
		t.Errorf("client RemoteAddr %v, want %v", cc.RemoteAddr(), serverAddr(80))
	}
	if sc.RemoteAddr().String() != cc.LocalAddr().String() || sc.LocalAddr().String() != cc.RemoteAddr().String() {
		t.Errorf("server sees %v -> %v, client %v -> %v", sc.RemoteAddr(), sc.LocalAddr(), cc.LocalAddr(), cc.RemoteAddr())
	}
	ln, err := server.Listen(81)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if a, ok := ln.Addr().(*net.TCPAddr); !ok || a.AddrPort() != serverAddr(81) {
		t.Errorf("listener Addr %v, want %v", ln.Addr(), serverAddr(81))
	}
	if _, err := server.Listen(81); !errors.Is(err, stack.ErrAddrInUse) {
		t.Errorf("second Listen on 81: %v, want ErrAddrInUse", err)
	}
	if st := cc.Info().State; st != tcp.Established {
		t.Errorf("client state %v, want ESTABLISHED", st)
	}
}

// U2: after the peer's CloseWrite, Read returns io.EOF while Write still works.
func TestHalfCloseReadsEOFAndStillWrites(t *testing.T) {
	client, server := pair(t, tcp.Config{})
	cc, sc := connected(t, client, server, 80)
	mustWrite(t, cc, []byte("request"))
	if err := cc.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if b, err := await(t, readAll(sc)); err != nil || string(b) != "request" {
		t.Fatalf("server read %q, %v; want the request then EOF", b, err)
	}
	if n, err := sc.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("Read after EOF: %d, %v; want 0, io.EOF (bare)", n, err)
	}
	mustWrite(t, sc, []byte("response"))
	if err := sc.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err := await(t, readAll(cc)); err != nil || string(b) != "response" {
		t.Fatalf("client read %q, %v; want the response then EOF", b, err)
	}
	if _, err := cc.Write([]byte("x")); !errors.Is(err, stack.ErrWriteClosed) {
		t.Fatalf("Write after CloseWrite: %v, want ErrWriteClosed", err)
	}
}

// U3, U6: Close with unread data aborts with a RST; the peer's Read and Write then fail with
// ErrConnReset.
func TestCloseWithUnreadDataResetsThePeer(t *testing.T) {
	client, server := pair(t, tcp.Config{})
	cc, sc := connected(t, client, server, 80)
	mustWrite(t, cc, []byte("ab"))
	mustReadFull(t, sc, 1) // "b" stays unread
	if err := sc.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := await(t, goDo(func() (int, error) { return cc.Read(make([]byte, 10)) }))
	wantOpError(t, err, "read", stack.ErrConnReset)
	_, err = cc.Write([]byte("more"))
	wantOpError(t, err, "write", stack.ErrConnReset)
	if got := server.Stats().TCP.ResetsOut; got != 1 {
		t.Errorf("server sent %d RSTs, want 1", got)
	}
}

func TestCloseWithLingerZeroResetsThePeer(t *testing.T) {
	client, server := pair(t, tcp.Config{})
	cc, sc := connected(t, client, server, 80)
	if err := cc.SetLinger(0); err != nil {
		t.Fatal(err)
	}
	if err := cc.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := await(t, goDo(func() (int, error) { return sc.Read(make([]byte, 10)) }))
	wantOpError(t, err, "read", stack.ErrConnReset)
}

func TestUseAfterCloseFailsWithNetErrClosed(t *testing.T) {
	client, server := pair(t, tcp.Config{})
	cc, _ := connected(t, client, server, 80)
	if err := cc.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := cc.Read(make([]byte, 1))
	wantOpError(t, err, "read", net.ErrClosed)
	_, err = cc.Write([]byte("x"))
	wantOpError(t, err, "write", net.ErrClosed)
	wantOpError(t, cc.Close(), "close", net.ErrClosed)
	wantOpError(t, cc.SetNoDelay(true), "set", net.ErrClosed)
}

// U4: a deadline in the past fails Read and Write at once.
func TestDeadlineInThePastFailsAtOnce(t *testing.T) {
	client, server := pair(t, tcp.Config{})
	cc, _ := connected(t, client, server, 80)
	if err := cc.SetDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err := cc.Read(make([]byte, 1))
	wantOpError(t, err, "read", os.ErrDeadlineExceeded)
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("read error %v: Timeout() false", err)
	}
	_, err = cc.Write([]byte("x"))
	wantOpError(t, err, "write", os.ErrDeadlineExceeded)
	// Clearing the deadline makes the connection usable again.
	if err := cc.SetDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, cc, []byte("x"))
}

func TestDeadlineMovedWhileReadBlocks(t *testing.T) {
	client, server := pair(t, tcp.Config{})
	cc, sc := connected(t, client, server, 80)

	// A connection that never had a deadline: its blocked Read sleeps without one, and a
	// deadline set then wakes it to look.
	fresh, _ := connected(t, client, server, 81)
	read := goDo(func() (int, error) { return fresh.Read(make([]byte, 1)) })
	<-time.After(20 * time.Millisecond) // only to let the Read block; either order passes
	_ = fresh.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	_, err := await(t, read)
	wantOpError(t, err, "read", os.ErrDeadlineExceeded)

	// A far deadline brought into the past wakes the blocked Read.
	_ = cc.SetReadDeadline(time.Now().Add(time.Hour))
	read = goDo(func() (int, error) { return cc.Read(make([]byte, 1)) })
	select {
	case r := <-read:
		t.Fatalf("Read returned %d, %v before any data or deadline", r.v, r.err)
	case <-time.After(20 * time.Millisecond): // only to let the Read block; either order passes
	}
	_ = cc.SetReadDeadline(time.Now().Add(-time.Second))
	_, err = await(t, read)
	wantOpError(t, err, "read", os.ErrDeadlineExceeded)

	// A near deadline set while blocked fires by its timer, also for a Read that began with
	// no deadline at all.
	_ = cc.SetReadDeadline(time.Time{})
	read = goDo(func() (int, error) { return cc.Read(make([]byte, 1)) })
	<-time.After(20 * time.Millisecond) // only to let the Read block; either order passes
	_ = cc.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	_, err = await(t, read)
	wantOpError(t, err, "read", os.ErrDeadlineExceeded)

	// A deadline cleared while blocked lets the Read wait for data.
	_ = cc.SetReadDeadline(time.Now().Add(time.Hour))
	read = goDo(func() (int, error) { return cc.Read(make([]byte, 1)) })
	_ = cc.SetReadDeadline(time.Time{})
	mustWrite(t, sc, []byte("z"))
	if n, err := await(t, read); n != 1 || err != nil {
		t.Fatalf("Read: %d, %v; want 1, nil", n, err)
	}
}

func TestWriteDeadlineStopsAWriteThePeerDoesNotRead(t *testing.T) {
	client, server := pair(t, tcp.Config{SendBuffer: 4096, ReceiveBuffer: 4096})
	cc, _ := connected(t, client, server, 80)
	_ = cc.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	n, err := await(t, goDo(func() (int, error) { return cc.Write(make([]byte, 1<<20)) }))
	wantOpError(t, err, "write", os.ErrDeadlineExceeded)
	if n < 4096 || n >= 1<<20 {
		t.Fatalf("Write queued %d bytes, want the send buffer and the peer's window (some, not all)", n)
	}
}

// U5: a dial cancelled while its SYN goes unanswered returns the context's error and deletes
// the connection without a RST (RFC 9293 3.10.5: ABORT in SYN-SENT sends nothing); a SYN-ACK
// that comes later finds no connection and draws a RST, as for any closed port.
func TestDialCancelledWhileSYNUnansweredDeletesTheConnection(t *testing.T) {
	s, h := newHost(t, "198.18.0.2/24")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	remote := netip.AddrPortFrom(h.ip, 9)
	dialed := goDo(func() (*stack.Conn, error) { return s.DialContext(ctx, remote) })

	syn := h.awaitTCP(t, s) // the host answers ARP and drops everything else
	if !syn.SYN || syn.ACK {
		t.Fatalf("first segment %v, want a SYN", flagString(syn))
	}
	cancel()
	_, err := await(t, dialed)
	wantOpError(t, err, "dial", context.Canceled)
	if st := s.Stats().TCP; st.ResetsOut != 0 || st.ConnectionsClosed != 1 {
		t.Fatalf("after cancel: ResetsOut %d, ConnectionsClosed %d; want 0 and 1", st.ResetsOut, st.ConnectionsClosed)
	}
	// The peer's late SYN-ACK: the connection is gone, so the stack resets it (seq = SEG.ACK).
	_ = h.end.WriteFrame(serialize(
		&layers.Ethernet{SrcMAC: peerMAC, DstMAC: s.MAC(), EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: h.ip.AsSlice(), DstIP: s.Addr().Addr().AsSlice()},
		tcpLayer(h, s, &layers.TCP{SrcPort: 9, DstPort: syn.SrcPort, Seq: 7000, Ack: syn.Seq + 1, SYN: true, ACK: true, Window: 65535})))
	rst := h.awaitTCP(t, s)
	if !rst.RST || rst.SrcPort != syn.SrcPort || rst.DstPort != 9 || rst.Seq != syn.Seq+1 {
		t.Fatalf("after the late SYN-ACK: %v from %d seq %d; want RST from %d seq %d", flagString(rst), rst.SrcPort, rst.Seq, syn.SrcPort, syn.Seq+1)
	}
	if n := s.Stats().TCP.ResetsOut; n != 1 {
		t.Fatalf("ResetsOut %d, want 1", n)
	}
}

// tcpLayer readies t for serialization from the host to the stack (its checksum needs the IP
// addresses).
func tcpLayer(h *host, s *stack.Stack, t *layers.TCP) *layers.TCP {
	_ = t.SetNetworkLayerForChecksum(&layers.IPv4{SrcIP: h.ip.AsSlice(), DstIP: s.Addr().Addr().AsSlice(), Protocol: layers.IPProtocolTCP})
	return t
}

func TestDialDeadlineReturnsDeadlineExceeded(t *testing.T) {
	s, h := newHost(t, "198.18.0.2/24")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	dialed := goDo(func() (*stack.Conn, error) { return s.DialContext(ctx, netip.AddrPortFrom(h.ip, 9)) })
	stop := make(chan struct{})
	defer close(stop)
	go h.serveARP(s, stop)
	_, err := await(t, dialed)
	wantOpError(t, err, "dial", context.DeadlineExceeded)
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("dial error %v: Timeout() false", err)
	}
}

// silentHost is a stack on a pipe whose other end is a host that never answers TCP, with fast
// timers so that the SYN retries run out in milliseconds: 10 + 20 + 40 ms.
func silentHost(t *testing.T) (*stack.Stack, *host) {
	t.Helper()
	a, b := pipe.New(1500)
	h := &host{end: b, ip: clientPrefix.Addr(), out: make(chan []byte, 1024)}
	b.Attach(link.ReceiverFunc(func(f []byte) { h.out <- append([]byte(nil), f...) }))
	s, err := stack.New(stack.Config{Link: a, Addr: serverPrefix,
		TCP: tcp.Config{RTOMin: 10 * time.Millisecond, RTOInitial: 10 * time.Millisecond, SynRetries: 2}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, h
}

func TestDialUnansweredTimesOut(t *testing.T) {
	s, h := silentHost(t)
	stop := make(chan struct{})
	defer close(stop)
	go h.serveARP(s, stop)
	_, err := dial(s, netip.AddrPortFrom(h.ip, 9))
	wantOpError(t, err, "dial", stack.ErrTimeout)
	if st := s.Stats().TCP; st.Retransmits != 2 || st.ActiveOpens != 1 {
		t.Fatalf("%d SYN retransmissions, want 2", st.Retransmits)
	}
}

// A timer armed by a socket call, with no frame arriving after it, still fires: the call
// moves the driver's wake timer itself. Here the host's address is cached before the dial, so
// Dial sends the SYN and arms its retransmission timer, and no ARP reply comes to wake the
// driver afterwards (as it does in TestDialUnansweredTimesOut). Were the wake timer left at
// its earlier setting, the dial would hang until the test's limit.
func TestTimerArmedByACallFiresWithoutTraffic(t *testing.T) {
	s, h := silentHost(t)
	if err := h.end.WriteFrame(h.arpRequest(s)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.out: // the stack's ARP reply: the host is in its cache
	case <-time.After(hang):
		t.Fatal("no ARP reply")
	}
	_, err := dial(s, netip.AddrPortFrom(h.ip, 9))
	wantOpError(t, err, "dial", stack.ErrTimeout)
	if st := s.Stats(); st.TCP.Retransmits != 2 || st.ARP.RequestsOut != 0 {
		t.Fatalf("%d SYN retransmissions, %d ARP requests; want 2, 0", st.TCP.Retransmits, st.ARP.RequestsOut)
	}
}

func TestDialToClosedPortIsRefused(t *testing.T) {
	client, _ := pair(t, tcp.Config{})
	start := time.Now()
	_, err := dial(client, serverAddr(9))
	wantOpError(t, err, "dial", stack.ErrConnRefused)
	if !errors.Is(err, tcp.ErrConnRefused) {
		t.Fatal("stack.ErrConnRefused and tcp.ErrConnRefused differ")
	}
	if d := time.Since(start); d > time.Second { // no SYN retransmission: the RST came at once
		t.Fatalf("refusal took %v", d)
	}
}

func TestAcceptAfterListenerCloseFails(t *testing.T) {
	_, server := pair(t, tcp.Config{})
	ln, err := server.Listen(80)
	if err != nil {
		t.Fatal(err)
	}
	blocked := goDo(func() (net.Conn, error) { return ln.Accept() })
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = await(t, blocked)
	wantOpError(t, err, "accept", net.ErrClosed)
	_, err = ln.Accept()
	wantOpError(t, err, "accept", net.ErrClosed)
	wantOpError(t, ln.Close(), "close", net.ErrClosed)
	// The port is free again.
	ln, err = server.Listen(80)
	if err != nil {
		t.Fatal(err)
	}
	_ = ln.Close()
}

func TestStackCloseWakesEveryBlockedCall(t *testing.T) {
	client, server := pair(t, tcp.Config{SendBuffer: 4096, ReceiveBuffer: 4096})
	_, sc := connected(t, client, server, 80) // the client never reads
	ln, err := server.Listen(81)
	if err != nil {
		t.Fatal(err)
	}
	accept := goDo(func() (net.Conn, error) { return ln.Accept() })
	read := goDo(func() (int, error) { return sc.Read(make([]byte, 1)) })
	write := goDo(func() (int, error) { return sc.Write(make([]byte, 1<<20)) })
	time.Sleep(20 * time.Millisecond) // only to let the calls block; either order passes
	if err := server.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = await(t, accept)
	wantOpError(t, err, "accept", net.ErrClosed)
	_, err = await(t, read)
	wantOpError(t, err, "read", net.ErrClosed)
	_, err = await(t, write)
	wantOpError(t, err, "write", net.ErrClosed)
	_, err = server.Listen(82)
	wantOpError(t, err, "listen", net.ErrClosed)
	_, err = server.DialContext(context.Background(), netip.AddrPortFrom(clientPrefix.Addr(), 80))
	wantOpError(t, err, "dial", net.ErrClosed)
	if !errors.Is(err, stack.ErrStackClosed) {
		t.Fatalf("%v: want ErrStackClosed", err)
	}
}

// U7: a 10 MiB Write completes and arrives intact.
func TestTenMiBWriteArrivesIntact(t *testing.T) {
	client, server := pair(t, tcp.Config{})
	cc, sc := connected(t, client, server, 80)
	data := make([]byte, 10<<20)
	r := rand.NewChaCha8([32]byte{7})
	_, _ = r.Read(data)
	received := readAll(sc)
	if n, err := cc.Write(data); n != len(data) || err != nil {
		t.Fatalf("Write: %d, %v", n, err)
	}
	if err := cc.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := await(t, received)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("received %d bytes (%v), equal %v; want the 10 MiB sent", len(got), err, bytes.Equal(got, data))
	}
}

// Full duplex: Read and Write of one connection from two goroutines at once, both ways. Each
// side closes only after reading everything, so that no side writes in LAST-ACK (see
// TestDataQueuedAtCloseIsAllSent).
func TestConcurrentReadAndWriteOnOneConn(t *testing.T) {
	client, server := pair(t, tcp.Config{})
	cc, sc := connected(t, client, server, 80)
	const size = 1 << 20
	var wg sync.WaitGroup
	for i, c := range []*stack.Conn{cc, sc} {
		data := bytes.Repeat([]byte{byte(i + 1)}, size)
		wg.Go(func() {
			if n, err := c.Write(data); n != size || err != nil {
				t.Errorf("Write: %d, %v", n, err)
			}
		})
		wg.Go(func() {
			got := make([]byte, size)
			_, err := io.ReadFull(c, got)
			if err != nil || got[0] != byte(2-i) || got[size-1] != byte(2-i) {
				t.Errorf("conn %d: %v", i, err)
			}
		})
	}
	waitGroup(t, &wg)
}

// Data still queued when a connection enters LAST-ACK (the application wrote after the peer's
// FIN, then closed) or CLOSING (it closed with data beyond the peer's window, then the peer's
// FIN came) must still all be sent: ACKs in those states lead to output. (A regression test:
// the TCP core once stalled here, with nothing in flight and no timer armed.)
func TestDataQueuedAtCloseIsAllSent(t *testing.T) {
	data := bytes.Repeat([]byte("d"), 64<<10) // more than the peer's window: the rest waits
	t.Run("LAST-ACK", func(t *testing.T) {
		client, server := pair(t, tcp.Config{ReceiveBuffer: 8192})
		cc, sc := connected(t, client, server, 80)
		if err := cc.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if b, err := await(t, readAll(sc)); err != nil || len(b) != 0 {
			t.Fatalf("server read %q, %v; want EOF", b, err)
		}
		mustWrite(t, sc, data)
		if err := sc.Close(); err != nil { // CLOSE-WAIT -> LAST-ACK, data still queued
			t.Fatal(err)
		}
		got, err := await(t, readAll(cc))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("client read %d bytes, %v; want %d", len(got), err, len(data))
		}
	})
	t.Run("CLOSING", func(t *testing.T) {
		client, server := pair(t, tcp.Config{ReceiveBuffer: 8192})
		cc, sc := connected(t, client, server, 80)
		mustWrite(t, cc, data)
		if err := cc.CloseWrite(); err != nil { // FIN-WAIT-1, data queued behind the window
			t.Fatal(err)
		}
		if err := sc.CloseWrite(); err != nil { // its FIN takes the client to CLOSING
			t.Fatal(err)
		}
		got, err := await(t, readAll(sc))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("server read %d bytes, %v; want %d", len(got), err, len(data))
		}
	})
}

func waitGroup(t testing.TB, wg *sync.WaitGroup) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(hang):
		t.Fatal("hung")
	}
}

// U1: 100 connections to one listener at once, each a request and a response.
func TestHundredConcurrentConnections(t *testing.T) {
	client, server := pair(t, tcp.Config{})
	ln, err := server.Listen(80)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var servers sync.WaitGroup
	defer waitGroup(t, &servers)
	servers.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			servers.Go(func() {
				defer c.Close()
				req, err := io.ReadAll(c)
				if err != nil {
					t.Errorf("server read: %v", err)
					return
				}
				_, _ = c.Write(append([]byte("re: "), req...))
			})
		}
	})
	// One connection first, so that ARP has resolved before the burst: otherwise all but the
	// first few SYNs wait in ARP's queue (4 frames) and are sent again after a second.
	if c, err := dial(client, serverAddr(80)); err != nil {
		t.Fatal(err)
	} else {
		_ = c.Close()
	}
	var clients sync.WaitGroup
	for i := range 100 {
		clients.Go(func() {
			c, err := dial(client, serverAddr(80))
			if err != nil {
				t.Errorf("dial %d: %v", i, err)
				return
			}
			defer c.Close()
			req := fmt.Sprintf("request %d", i)
			mustWriteOrError(t, c, []byte(req))
			_ = c.CloseWrite()
			resp, err := io.ReadAll(c)
			if err != nil || string(resp) != "re: "+req {
				t.Errorf("conn %d: %q, %v", i, resp, err)
			}
		})
	}
	waitGroup(t, &clients)
	_ = ln.Close()
}

func mustWriteOrError(t testing.TB, c net.Conn, p []byte) {
	if n, err := c.Write(p); n != len(p) || err != nil {
		t.Errorf("Write: %d, %v", n, err)
	}
}

// CloseRead: Read returns io.EOF, and the stack keeps taking (and dropping) data, so a
// peer's Write far larger than the receive window completes.
func TestCloseReadKeepsAcknowledging(t *testing.T) {
	client, server := pair(t, tcp.Config{ReceiveBuffer: 8192})
	cc, sc := connected(t, client, server, 80)
	if err := sc.CloseRead(); err != nil {
		t.Fatal(err)
	}
	if n, err := sc.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("Read after CloseRead: %d, %v; want 0, io.EOF", n, err)
	}
	if n, err := await(t, goDo(func() (int, error) { return cc.Write(make([]byte, 1<<20)) })); n != 1<<20 || err != nil {
		t.Fatalf("peer's Write: %d, %v", n, err)
	}
	mustWrite(t, sc, []byte("still writing"))
	if got := mustReadFull(t, cc, 13); string(got) != "still writing" {
		t.Fatalf("client read %q", got)
	}
}

func TestSocketOptions(t *testing.T) {
	client, server := pair(t, tcp.Config{})
	cc, _ := connected(t, client, server, 80)
	for name, err := range map[string]error{
		"SetNoDelay":         cc.SetNoDelay(true),
		"SetKeepAlive":       cc.SetKeepAlive(true),
		"SetKeepAlivePeriod": cc.SetKeepAlivePeriod(time.Minute),
		"SetLinger":          cc.SetLinger(5),
	} {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// awaitTCP answers the stack's ARP requests and returns the next TCP segment it sends.
func (h *host) awaitTCP(t *testing.T, s *stack.Stack) *layers.TCP {
	t.Helper()
	for {
		p := h.await(t)
		if h.answerARP(s, p) {
			continue
		}
		if seg, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
			return seg
		}
	}
}

// serveARP answers ARP requests, and drops everything else, until stop is closed.
func (h *host) serveARP(s *stack.Stack, stop <-chan struct{}) {
	for {
		select {
		case f := <-h.out:
			h.answerARP(s, gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default))
		case <-stop:
			return
		}
	}
}

// answerARP replies to an ARP request for the host's address; it reports whether p was one.
func (h *host) answerARP(s *stack.Stack, p gopacket.Packet) bool {
	a, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP)
	if !ok {
		return false
	}
	if a.Operation == layers.ARPRequest && bytes.Equal(a.DstProtAddress, h.ip.AsSlice()) {
		_ = h.end.WriteFrame(serialize(
			&layers.Ethernet{SrcMAC: peerMAC, DstMAC: s.MAC(), EthernetType: layers.EthernetTypeARP},
			&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
				Operation: layers.ARPReply, SourceHwAddress: peerMAC, SourceProtAddress: h.ip.AsSlice(),
				DstHwAddress: s.MAC(), DstProtAddress: s.Addr().Addr().AsSlice()}))
	}
	return true
}

func flagString(t *layers.TCP) string {
	return fmt.Sprintf("SYN=%v ACK=%v RST=%v FIN=%v", t.SYN, t.ACK, t.RST, t.FIN)
}
