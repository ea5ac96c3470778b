// Package harness is mtcp's conformance bench: it drives a device under test in virtual time,
// builds the frames it injects and judges the frames it gets back with gopacket — never with
// the stack's own wire package — and records everything for a pcapng capture with a comment on
// each frame.
//
// The device under test is any target behind the interfaces of dut.go: frames and time (DUT),
// a BSD socket API (Sockets), sysctls (Tunable), a connection table (ConnTable) and counters
// (DropCounter, Counters). The package knows nothing of mtcp's stack: harness/mtcpdut is mtcp
// as a target, harness/linuxdut the Linux kernel in a network namespace, and targets/gvisor
// (a module of its own) gVisor's netstack.
//
// A spec makes a Bench around a fresh DUT, injects frames built by the bench's Peer, and judges
// what comes back with the Gomega matchers in this package:
//
//	dut, _ := mtcpdut.Target{}.NewDUT()
//	b := harness.New(GinkgoT(), dut)
//	b.Inject(b.Peer().ARPRequest(b.StackIP()))
//	Expect(b.Next()).To(harness.BeARPReply(harness.SenderIP(b.StackIP())))
//	b.ExpectNothingFor(3 * time.Second) // virtual: returns at once
//
// Nothing here reads the real clock or sleeps; a target on the real clock (RealTime) waits in
// its own Advance, and WithTimeLimit bounds how long.
package harness

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/stack/link/pcapng"
)

// T is what the bench needs of a test: testing.TB and Ginkgo's GinkgoT() both provide it.
type T interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Option changes how New sets a bench up.
type Option func(*config)

type config struct {
	answerARP bool
	peerMAC   net.HardwareAddr
	peerIP    netip.Addr
	start     time.Time
	limit     time.Duration
}

// WithTimeLimit bounds the case's time to d when the DUT runs on the real clock (RealTime): a
// wait that would go past it skips the case instead, saying so, when the bench's T can skip
// (Ginkgo's GinkgoT, testing.TB, the script runner), and fails it otherwise.
func WithTimeLimit(d time.Duration) Option { return func(c *config) { c.limit = d } }

// OverTimeLimit is the message of a case skipped by WithTimeLimit.
const OverTimeLimit = "needs more time than the limit for a target on the real clock"

// WithoutARPAnswers stops the bench from answering the stack's ARP requests for the peer, so a
// spec can see and answer them itself.
func WithoutARPAnswers() Option { return func(c *config) { c.answerARP = false } }

// Bench owns a device under test, the link to it and the virtual clock.
type Bench struct {
	t         T
	dut       DUT
	peer      *Peer
	start     time.Time
	now       time.Time
	answerARP bool
	limit     time.Duration // WithTimeLimit's, for a DUT on the real clock; 0: none
	frames    []*Frame      // every frame, in order: the capture
	pending   []*Frame      // frames from the stack not yet taken by Next
	fresh     []*Frame      // frames from the stack not yet looked at by the bench itself
}

// New makes a bench around dut (a fresh one: harness/mtcpdut makes mtcp's). The peer is
// DefaultPeerIP / DefaultPeerMAC, and the bench answers the stack's ARP requests for it unless
// WithoutARPAnswers.
func New(t T, dut DUT, opts ...Option) *Bench {
	t.Helper()
	c := config{answerARP: true, peerMAC: DefaultPeerMAC, peerIP: DefaultPeerIP, start: DefaultStart()}
	for _, o := range opts {
		o(&c)
	}
	b := &Bench{t: t, dut: dut, start: c.start, now: c.start, answerARP: c.answerARP}
	if rt, ok := dut.(RealTime); ok && rt.RealTime() {
		b.limit = c.limit
	}
	b.peer = &Peer{MAC: c.peerMAC, IP: c.peerIP, stackMAC: dut.MAC(), stackIP: dut.Addr().Addr()}
	dut.SetOutput(b.collect)
	dut.Advance(b.now)
	b.settle()
	return b
}

// SocketsOf returns the socket API of the bench's target, or nil if it offers none.
func (b *Bench) SocketsOf() Sockets {
	s, _ := b.dut.(Sockets)
	return s
}

// Do runs a socket call (or anything that may make the stack send) and collects what it sent.
func (b *Bench) Do(f func()) {
	b.t.Helper()
	f()
	b.settle()
}

// DUT returns the device under test.
func (b *Bench) DUT() DUT { return b.dut }

// Peer returns the host on the other end of the link.
func (b *Bench) Peer() *Peer { return b.peer }

// StackIP returns the stack's address.
func (b *Bench) StackIP() netip.Addr { return b.dut.Addr().Addr() }

// StackMAC returns the stack's Ethernet address.
func (b *Bench) StackMAC() net.HardwareAddr { return b.dut.MAC() }

// Now returns the virtual time.
func (b *Bench) Now() time.Time { return b.now }

// Elapsed returns the virtual time since the bench started.
func (b *Bench) Elapsed() time.Duration { return b.now.Sub(b.start) }

// Frames returns every frame so far, both directions, in order.
func (b *Bench) Frames() []*Frame { return b.frames }

func (b *Bench) collect(data []byte) {
	f := newFrame(len(b.frames)+1, b.now, b.Elapsed(), pcapng.Outbound, data)
	b.frames = append(b.frames, f)
	b.fresh = append(b.fresh, f)
}

// settle looks at the frames the stack just sent: the oracle checks their checksums, ARP
// requests for the peer are answered (unless turned off), the rest wait for Next.
func (b *Bench) settle() {
	b.t.Helper()
	for len(b.fresh) > 0 {
		f := b.fresh[0]
		b.fresh = b.fresh[1:]
		if errs := f.ChecksumErrors(); len(errs) > 0 {
			f.Note("oracle: %s", strings.Join(errs, "; "))
			b.t.Fatalf("the stack sent a frame with a bad checksum (%s):\n%s", strings.Join(errs, "; "), f.Describe())
		}
		if a := f.ARP(); b.answerARP && a != nil && a.Operation == layers.ARPRequest &&
			net.IP(a.DstProtAddress).Equal(b.peer.IP.AsSlice()) {
			f.Note("ARP request for the peer: answered by the bench")
			b.inject(b.peer.ARPReply(), "the bench answers the stack's ARP request")
			continue
		}
		b.pending = append(b.pending, f)
	}
}

// Inject hands a frame to the stack at the current virtual time and records it.
func (b *Bench) Inject(p Injectable) {
	b.t.Helper()
	b.inject(p, "injected: "+p.String())
	b.settle()
}

func (b *Bench) inject(p Injectable, note string) {
	f := newFrame(len(b.frames)+1, b.now, b.Elapsed(), pcapng.Inbound, p.Bytes())
	f.Note("%s", note)
	b.frames = append(b.frames, f)
	b.dut.Deliver(b.now, f.Data)
}

// InjectAll injects several frames in order.
func (b *Bench) InjectAll(ps ...Injectable) {
	b.t.Helper()
	for _, p := range ps {
		b.Inject(p)
	}
}

// Advance moves virtual time forward by d, waking the stack at each of its deadlines on the
// way, so timers fire at their exact times.
func (b *Bench) Advance(d time.Duration) {
	b.t.Helper()
	b.RunUntil(b.now.Add(d))
}

// RunUntil moves virtual time to t (never backwards), waking the stack at its deadlines.
func (b *Bench) RunUntil(t time.Time) {
	b.t.Helper()
	b.runUntil(t, false)
}

// runUntil advances to t; with stopAtFrame it stops at the first deadline that makes the stack
// send something the spec should see.
func (b *Bench) runUntil(t time.Time, stopAtFrame bool) {
	b.t.Helper()
	until, over := t, b.limit > 0 && t.Sub(b.start) > b.limit
	if over {
		until = b.start.Add(b.limit)
	}
	RunDeadlines(b.dut, b.now, until, func(now time.Time) bool {
		b.now = now
		b.dut.Advance(now)
		b.settle()
		return stopAtFrame && len(b.pending) > 0
	})
	if over && !(stopAtFrame && len(b.pending) > 0) {
		msg := fmt.Sprintf("the case waits until +%s, which %s (%v)", fmtOffset(t.Sub(b.start)), OverTimeLimit, b.limit)
		if s, ok := b.t.(interface{ Skip(args ...any) }); ok {
			s.Skip(msg)
		}
		b.t.Fatalf("%s", msg)
	}
}

// Next returns the oldest frame the stack has sent that no Next returned yet. It fails the
// spec if there is none: use NextWithin for frames that come later.
func (b *Bench) Next() *Frame {
	b.t.Helper()
	return b.NextWithin(0)
}

// NextWithin returns the next frame from the stack, advancing virtual time up to d to wait
// for it (time stops at the moment it was sent). It fails the spec if none comes.
func (b *Bench) NextWithin(d time.Duration) *Frame {
	b.t.Helper()
	b.settle()
	if len(b.pending) == 0 {
		b.runUntil(b.now.Add(d), true)
	}
	if len(b.pending) == 0 {
		if d == 0 {
			b.t.Fatalf("at +%s: expected a frame from the stack, it sent nothing", fmtOffset(b.Elapsed()))
		}
		b.t.Fatalf("at +%s: expected a frame from the stack within %v, it sent nothing", fmtOffset(b.Elapsed()), d)
		return nil
	}
	f := b.pending[0]
	b.pending = b.pending[1:]
	return f
}

// TryNextWithin is NextWithin for frames that may or may not come: it returns nil, with virtual
// time advanced by d, when the stack sends nothing within d. TryNextWithin(0) takes a frame the
// stack has already sent, if any, without moving time.
func (b *Bench) TryNextWithin(d time.Duration) *Frame {
	b.t.Helper()
	b.settle()
	if len(b.pending) == 0 {
		b.runUntil(b.now.Add(d), true)
	}
	if len(b.pending) == 0 {
		return nil
	}
	f := b.pending[0]
	b.pending = b.pending[1:]
	return f
}

// Waiting returns the frames the stack has already sent that no Next took, oldest first,
// without moving time; Take(n) then takes the first n of them.
func (b *Bench) Waiting() []*Frame {
	b.t.Helper()
	b.settle()
	return b.pending
}

// Take takes the first n frames Waiting returned.
func (b *Bench) Take(n int) { b.pending = b.pending[min(n, len(b.pending)):] }

// ExpectNothing fails the spec if the stack has sent a frame that no Next took.
func (b *Bench) ExpectNothing() {
	b.t.Helper()
	b.settle()
	if len(b.pending) > 0 {
		f := b.pending[0]
		f.Note("unexpected: the spec expected nothing from the stack here")
		b.t.Fatalf("at +%s: expected nothing from the stack, it sent %d frame(s); the first:\n%s",
			fmtOffset(b.Elapsed()), len(b.pending), f.Describe())
	}
}

// ExpectNothingFor advances d of virtual time and fails the spec if the stack sends anything.
func (b *Bench) ExpectNothingFor(d time.Duration) {
	b.t.Helper()
	b.ExpectNothing()
	b.Advance(d)
	if len(b.pending) > 0 {
		f := b.pending[0]
		f.Note("unexpected: the spec expected nothing for %v", d)
		b.t.Fatalf("expected nothing from the stack for %v, at +%s it sent:\n%s", d, fmtOffset(f.Offset), f.Describe())
	}
}

// WriteCapture writes every frame, with its comments, to a pcapng file at path (creating its
// folder), with sectionComment naming the spec and its verdict.
func (b *Bench) WriteCapture(path, sectionComment string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w, err := pcapng.NewWriter(f, "bench0", sectionComment)
	if err == nil {
		for _, fr := range b.frames {
			if err = w.WriteFrame(pcapng.Frame{Time: fr.Time, Direction: fr.Direction, Data: fr.Data, Comments: fr.comments}); err != nil {
				break
			}
		}
		if err == nil {
			err = w.Flush()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("harness: writing capture %s: %w", path, err)
	}
	return nil
}

// DefaultStart is where every bench's virtual clock starts: a fixed instant, so captures are
// reproducible (the same as mtcp's clock.Epoch, which a test pins).
func DefaultStart() time.Time { return time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC) }
