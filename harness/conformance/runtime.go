package conformance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.uber.org/goleak"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/stack"
	"github.com/mtcp-go/mtcp/stack/link"
	"github.com/mtcp-go/mtcp/stack/link/fault"
	"github.com/mtcp-go/mtcp/stack/link/pcapng"
	"github.com/mtcp-go/mtcp/stack/link/pipe"
	"github.com/mtcp-go/mtcp/stack/tcp"
)

// The runtime cases (U1–U10) run real stacks — the stack package, its driver goroutine and
// the wall clock — because they are about the net.Conn API, not the wire protocol's timing.
// Waits are bounded (a hang fails the spec) and never stand in for protocol timing. Every frame
// between the two stacks is recorded and written as the spec's capture.

// recorder is a link wrapper that keeps every frame, for the spec's capture; directions are
// the client's, and each frame's comment says which stack sent it.
type recorder struct {
	link.Endpoint
	mu     sync.Mutex
	frames []pcapng.Frame
}

func (r *recorder) add(dir pcapng.Direction, f []byte) {
	who := "sent by the client (198.18.0.1)"
	if dir == pcapng.Inbound {
		who = "sent by the server (198.18.0.2), received by the client"
	}
	r.mu.Lock()
	r.frames = append(r.frames, pcapng.Frame{Time: time.Now(), Direction: dir, Data: append([]byte(nil), f...), Comments: []string{who}})
	r.mu.Unlock()
}

func (r *recorder) WriteFrame(f []byte) error {
	r.add(pcapng.Outbound, f)
	return r.Endpoint.WriteFrame(f)
}

func (r *recorder) Attach(rc link.Receiver) {
	r.Endpoint.Attach(link.ReceiverFunc(func(f []byte) {
		r.add(pcapng.Inbound, f)
		rc.DeliverFrame(f)
	}))
}

// sawTCP reports whether the recorded frames hold a TCP segment with all of flags set.
func (r *recorder) sawTCP(flags harness.TCPFlags) bool { return r.firstTCP(flags) != nil }

// firstTCP returns the first recorded TCP segment with all of flags set, or nil.
func (r *recorder) firstTCP(flags harness.TCPFlags) *layers.TCP {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.frames {
		p := gopacket.NewPacket(f.Data, layers.LayerTypeEthernet, gopacket.Default)
		if t, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
			if harness.FlagsOf(t)&flags == flags {
				return t
			}
		}
	}
	return nil
}

// pair is two running stacks, a client (198.18.0.1) and a server (198.18.0.2), on a pipe; the
// client's side is recorded.
type pair struct {
	client, server *stack.Stack
	rec            *recorder
}

var serverAddr = netip.MustParseAddrPort("198.18.0.2:9")

func newPair(cfg tcp.Config, faults *fault.Config) *pair {
	GinkgoHelper()
	a, b := pipe.New(link.DefaultMTU)
	rec := &recorder{Endpoint: a}
	var clientLink link.Endpoint = rec
	if faults != nil {
		inj, err := fault.New(rec, *faults)
		Expect(err).NotTo(HaveOccurred())
		clientLink = inj
	}
	client, err := stack.New(stack.Config{Link: clientLink, Addr: netip.MustParsePrefix("198.18.0.1/24"), TCP: cfg})
	Expect(err).NotTo(HaveOccurred())
	server, err := stack.New(stack.Config{Link: b, Addr: netip.MustParsePrefix("198.18.0.2/24"), TCP: cfg})
	Expect(err).NotTo(HaveOccurred())
	p := &pair{client: client, server: server, rec: rec}
	DeferCleanup(func() {
		client.Close()
		server.Close()
	})
	saveCapture(rec)
	return p
}

// saveCapture writes the recorded frames as the spec's capture when the spec ends (after the
// stacks are closed: cleanups run last-registered first), with its verdict.
func saveCapture(rec *recorder) {
	keepCapture("mtcp runtime (stacks on the real clock)", func(path, comment string) error {
		rec.mu.Lock()
		frames := rec.frames
		rec.mu.Unlock()
		return writeFrames(path, comment, frames)
	})
}

func writeFrames(path, comment string, frames []pcapng.Frame) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := pcapng.NewWriter(f, "pipe0", comment)
	if err != nil {
		return err
	}
	for _, fr := range frames {
		if err := w.WriteFrame(fr); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// connect opens a connection from the client to a listener on the server.
func (p *pair) connect(ln *stack.Listener) (client, server *stack.Conn) {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	accepted := make(chan *stack.Conn, 1)
	go func() {
		c, err := ln.AcceptTCP()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	cc, err := p.client.DialContext(ctx, serverAddr)
	Expect(err).NotTo(HaveOccurred())
	var sc *stack.Conn
	Eventually(accepted, 10*time.Second).Should(Receive(&sc))
	Expect(sc).NotTo(BeNil())
	return cc, sc
}

func (p *pair) listen() *stack.Listener {
	GinkgoHelper()
	ln, err := p.server.Listen(serverAddr.Port())
	Expect(err).NotTo(HaveOccurred())
	return ln
}

// echoServer answers each connection's bytes with the same bytes until EOF.
func echoServer(ln *stack.Listener) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
}

// mtcpRuntimeSpec declares a spec of mtcp's own runtime (package stack, two real stacks): it
// judges mtcp whatever the target, so against another target it does not run, and says why.
// U10 runs on the bench, against the target, and is an ordinary Spec.
func mtcpRuntimeSpec(id string, body func()) bool {
	return Spec(id, func() {
		if current.Name() != "mtcp" {
			Skip("a runtime spec of mtcp's net.Conn API: it does not judge the target " + current.Name())
		}
		body()
	})
}

var _ = Describe("Runtime: net.Conn and net.Listener over the stack", Label("runtime"), func() {
	mtcpRuntimeSpec("U1", func() {
		p := newPair(tcp.Config{}, nil)
		ln := p.listen()
		echoServer(ln)
		// One connection first resolves the server's MAC: the hundred then load the listener,
		// not ARP's queue of four packets per unresolved address (A6), which would hold 96 of
		// their SYNs back for a retransmission a second later.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		first, err := p.client.DialContext(ctx, serverAddr)
		Expect(err).NotTo(HaveOccurred())
		Expect(first.Close()).To(Succeed())
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for i := range 100 {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				c, err := p.client.DialContext(ctx, serverAddr)
				if err != nil {
					errs <- fmt.Errorf("client %d: dial: %w", i, err)
					return
				}
				defer c.Close()
				msg := []byte(fmt.Sprintf("request %d", i))
				c.SetDeadline(time.Now().Add(20 * time.Second))
				if _, err := c.Write(msg); err != nil {
					errs <- fmt.Errorf("client %d: write: %w", i, err)
					return
				}
				got := make([]byte, len(msg))
				if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
					errs <- fmt.Errorf("client %d: got %q, %v", i, got, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			Expect(err).NotTo(HaveOccurred())
		}
	})

	mtcpRuntimeSpec("U2", func() {
		p := newPair(tcp.Config{}, nil)
		cc, sc := p.connect(p.listen())
		Expect(cc.CloseWrite()).To(Succeed())
		sc.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := sc.Read(make([]byte, 10))
		Expect(n).To(Equal(0))
		Expect(err).To(Equal(io.EOF))
		_, err = sc.Write([]byte("still writing after the peer's FIN"))
		Expect(err).NotTo(HaveOccurred())
		Expect(sc.Close()).To(Succeed())
		cc.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, err := io.ReadAll(cc)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(got)).To(Equal("still writing after the peer's FIN"))
	})

	mtcpRuntimeSpec("U3", func() {
		p := newPair(tcp.Config{}, nil)
		ln := p.listen()
		// Without unread data: a FIN.
		cc, sc := p.connect(ln)
		Expect(sc.Close()).To(Succeed())
		cc.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := cc.Read(make([]byte, 1))
		Expect(err).To(Equal(io.EOF))
		Expect(p.rec.sawTCP(harness.FIN)).To(BeTrue(), "no FIN on the wire")
		Expect(p.rec.sawTCP(harness.RST)).To(BeFalse(), "a RST where a FIN was due")
		// With unread data: a RST (RFC 1122 4.2.2.13, T7).
		cc2, sc2 := p.connect(ln)
		_, err = cc2.Write([]byte("never read"))
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() int { return sc2.Info().RecvQueued }, 10*time.Second).Should(BeNumerically(">", 0))
		Expect(sc2.Close()).To(Succeed())
		cc2.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = cc2.Read(make([]byte, 1))
		Expect(errors.Is(err, stack.ErrConnReset)).To(BeTrue(), "read after the peer's RST: %v", err)
		Expect(p.rec.sawTCP(harness.RST)).To(BeTrue(), "no RST on the wire")
	})

	mtcpRuntimeSpec("U4", func() {
		p := newPair(tcp.Config{}, nil)
		cc, _ := p.connect(p.listen())
		Expect(cc.SetReadDeadline(time.Now().Add(-time.Second))).To(Succeed())
		_, err := cc.Read(make([]byte, 1))
		Expect(errors.Is(err, os.ErrDeadlineExceeded)).To(BeTrue(), "%v", err)
		var ne net.Error
		Expect(errors.As(err, &ne) && ne.Timeout()).To(BeTrue())
		Expect(cc.SetWriteDeadline(time.Now().Add(-time.Second))).To(Succeed())
		_, err = cc.Write([]byte("x"))
		Expect(errors.Is(err, os.ErrDeadlineExceeded)).To(BeTrue(), "%v", err)
	})

	mtcpRuntimeSpec("U5", func() {
		// The server side drops everything: the SYN is never answered.
		a, b := pipe.New(link.DefaultMTU)
		rec := &recorder{Endpoint: a}
		b.Attach(link.ReceiverFunc(func([]byte) {}))
		saveCapture(rec)
		client, err := stack.New(stack.Config{Link: rec, Addr: netip.MustParsePrefix("198.18.0.1/24")})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(client.Close)
		// Teach the client the server's MAC so the SYN goes out at once.
		peer := harness.NewPeer(harness.DefaultPeerMAC, serverAddr.Addr(), client.MAC(), client.Addr().Addr())
		Expect(b.WriteFrame(peer.ARPRequest(client.Addr().Addr()).Bytes())).To(Succeed())
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err = client.DialContext(ctx, serverAddr)
		Expect(errors.Is(err, context.Canceled)).To(BeTrue(), "%v", err)
		// RFC 9293 3.10.5: in SYN-SENT the connection is deleted without a word.
		Expect(client.Stats().TCP.ResetsOut).To(BeZero(), "a RST on cancel")
		Expect(client.Stats().TCP.ConnectionsClosed).To(BeEquivalentTo(1))
		Expect(rec.sawTCP(harness.RST)).To(BeFalse())
		// The server's late SYN-ACK finds no connection: a RST, seq = SEG.ACK, as for any
		// closed port (the positive control: the stack is alive and answers).
		syn := rec.firstTCP(harness.SYN)
		Expect(syn).NotTo(BeNil())
		late := peer.TCP(harness.Segment{SrcPort: serverAddr.Port(), DstPort: uint16(syn.SrcPort), Flags: harness.SYN | harness.ACK,
			Seq: 5000, Ack: syn.Seq + 1, Win: 65535, MSS: 1460})
		Expect(b.WriteFrame(late.Bytes())).To(Succeed())
		Eventually(func() bool { return rec.sawTCP(harness.RST) }, 10*time.Second).Should(BeTrue(), "the late SYN-ACK was not reset")
		rst := rec.firstTCP(harness.RST)
		Expect(rst.Seq).To(Equal(syn.Seq+1), "RST seq = SEG.ACK")
		Expect(client.Stats().TCP.ResetsOut).To(BeEquivalentTo(1), "one RST, the closed port's, and none for the cancel")
		Expect(client.Stats().TCP.ActiveOpens).To(BeEquivalentTo(1))
	})

	mtcpRuntimeSpec("U6", func() {
		base := goleak.IgnoreCurrent()
		func() {
			p := newPair(tcp.Config{}, nil)
			cc, sc := p.connect(p.listen())
			Expect(sc.SetLinger(0)).To(Succeed())
			Expect(sc.Close()).To(Succeed()) // an abort: RST
			cc.SetDeadline(time.Now().Add(10 * time.Second))
			_, err := cc.Read(make([]byte, 1))
			Expect(errors.Is(err, stack.ErrConnReset)).To(BeTrue(), "read: %v", err)
			_, err = cc.Write([]byte("x"))
			Expect(errors.Is(err, stack.ErrConnReset)).To(BeTrue(), "write: %v", err)
			p.client.Close()
			p.server.Close()
		}()
		Eventually(func() error { return goleak.Find(base) }, 10*time.Second).Should(Succeed())
	})

	mtcpRuntimeSpec("U7", func() {
		p := newPair(tcp.Config{}, &fault.Config{Seed: 7, Drop: 0.01, Reorder: 0.01, Direction: fault.Outbound})
		cc, sc := p.connect(p.listen())
		data := make([]byte, 10<<20)
		for i := range data {
			data[i] = byte(i * 31 / 7)
		}
		sum := sha256.Sum256(data)
		done := make(chan error, 1)
		go func() {
			cc.SetWriteDeadline(time.Now().Add(2 * time.Minute))
			_, err := cc.Write(data) // one Write: across window updates and retransmissions
			if err == nil {
				err = cc.CloseWrite()
			}
			done <- err
		}()
		sc.SetReadDeadline(time.Now().Add(2 * time.Minute))
		got, err := io.ReadAll(sc)
		Expect(err).NotTo(HaveOccurred())
		Expect(<-done).To(Succeed())
		Expect(len(got)).To(Equal(len(data)))
		Expect(sha256.Sum256(got)).To(Equal(sum))
	})

	mtcpRuntimeSpec("U8", func() {
		// Two pairs side by side with the same addresses: each pair's traffic stays its own.
		p1, p2 := newPair(tcp.Config{}, nil), newPair(tcp.Config{}, nil)
		ln1, ln2 := p1.listen(), p2.listen()
		c1, s1 := p1.connect(ln1)
		c2, s2 := p2.connect(ln2)
		for i, c := range []*stack.Conn{c1, c2} {
			_, err := c.Write([]byte(fmt.Sprint("pair ", i+1)))
			Expect(err).NotTo(HaveOccurred())
		}
		for i, s := range []*stack.Conn{s1, s2} {
			buf := make([]byte, 6)
			s.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err := io.ReadFull(s, buf)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(buf)).To(Equal(fmt.Sprint("pair ", i+1)))
		}
		Expect(p1.server.Stats().TCP.PassiveOpens).To(BeEquivalentTo(1))
		Expect(p2.server.Stats().TCP.PassiveOpens).To(BeEquivalentTo(1))
		p1.client.Close() // closing one pair leaves the other working
		_, err := c2.Write([]byte("still here"))
		Expect(err).NotTo(HaveOccurred())
	})

	mtcpRuntimeSpec("U9", func() {
		// The connection table: with room for 2, the third dial fails at once (ErrTooManyConns)
		// and the established connections keep working.
		p := newPair(tcp.Config{MaxConnections: 2}, nil)
		ln := p.listen()
		cc, sc := p.connect(ln)
		_, _ = p.connect(ln)
		_, err := p.client.DialContext(context.Background(), serverAddr)
		Expect(errors.Is(err, stack.ErrTooManyConns)).To(BeTrue(), "%v", err)
		_, err = cc.Write([]byte("ping"))
		Expect(err).NotTo(HaveOccurred())
		buf := make([]byte, 4)
		sc.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = io.ReadFull(sc, buf)
		Expect(err).NotTo(HaveOccurred())

		// The accept queue: with a backlog of 1 and nobody accepting, the first connection
		// waits in it, and the next SYN is dropped (our policy): that dial times out (one SYN
		// retry here, on a 100 ms initial RTO: 0.3 s of real time instead of 3 s), while the
		// waiting one is accepted and works.
		q := newPair(tcp.Config{Backlog: 1, SynRetries: 1, RTOInitial: 100 * time.Millisecond, RTOMin: 100 * time.Millisecond}, nil)
		ln2 := q.listen()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		waiting, err := q.client.DialContext(ctx, serverAddr)
		Expect(err).NotTo(HaveOccurred())
		_, err = q.client.DialContext(ctx, serverAddr)
		Expect(errors.Is(err, stack.ErrTimeout)).To(BeTrue(), "%v", err)
		Expect(q.server.Stats().TCP.ListenOverflow).To(BeNumerically(">=", 2), "the dropped SYNs were not counted")
		accepted, err := ln2.AcceptTCP()
		Expect(err).NotTo(HaveOccurred())
		_, err = waiting.Write([]byte("pong"))
		Expect(err).NotTo(HaveOccurred())
		accepted.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = io.ReadFull(accepted, buf)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(buf)).To(Equal("pong"))
	})

	Spec("U10", func() {
		// In virtual time, on the bench: a SYN whose SYN-ACK is never answered.
		b := NewBench()
		ln := listen(b)
		b.Inject(b.Peer().TCP(harness.Segment{Flags: harness.SYN, Seq: 1000, Win: 29200, MSS: 1460}))
		first := b.Next()
		Expect(first).To(harness.BeTCP(harness.Flags(harness.SYN|harness.ACK), harness.Ack(1001)))
		at := []time.Duration{1, 3, 7, 15, 31} // RFC 6298 backoff: 1, 2, 4, 8, 16 s apart
		for _, want := range at {
			f := b.NextWithin(time.Minute)
			Expect(f).To(harness.BeTCP(harness.Flags(harness.SYN|harness.ACK), harness.Seq(first.TCP().Seq)))
			Expect(f.Offset - first.Offset).To(Equal(want * time.Second))
		}
		b.ExpectNothingFor(2 * time.Minute)
		Expect(ln.HalfOpen()).To(BeZero(), "the half-open connection was not freed")
		Expect(tableSize(b)).To(BeZero(), "the half-open connection was not freed")
	})
})
