// Package gvisor is gVisor's netstack (gvisor.dev/gvisor/pkg/tcpip) as a device under test for
// mtcp's conformance bench: `mtcp-test --target gvisor`, built by this module's cmd/mtcp-test.
// It lives in a module of its own so that mtcp's module never depends on gVisor.
//
// # The device
//
// A DUT is a stack.Stack with IPv4, ARP, ICMP (echo is answered by IPv4 itself; the ICMP
// transport protocol is there as in gVisor's runsc) and TCP, on one NIC: a channel link
// endpoint (link/channel) wrapped by link/ethernet, so frames in and out are Ethernet, at the
// bench's defaults (harness.DefaultStackMAC, harness.DefaultStackAddr, a route for the /24 and a
// default route via harness.DefaultGateway), MTU 1500. The NIC drops, as Ethernet hardware
// does, a frame addressed to another unicast MAC (gVisor leaves that filter to the hardware:
// link/ethernet's DeliverNetworkPacket) and one shorter than a header or longer than the MTU
// allows (as the bench's wire does for mtcp).
//
// TCP keeps gVisor's own defaults, as runsc sets them up (tcp.NewProtocol: Reno; SACK on, which
// is gVisor's default in this version and runsc's setting; receive-buffer moderation on; RACK
// loss detection; 1 MB buffers; no delayed ACKs). Nothing is tuned to the suite's expectations;
// a case or script changes the policy only through Sysctl (the table is in policy.go), e.g.
// net.ipv4.tcp_sack=0 or net.ipv4.tcp_congestion_control=cubic.
//
// The socket API (sockets.go) is gVisor's tcpip.Endpoint as runsc's socket layer presents it
// to a program: the same errno for each tcpip error, listen's backlog adjusted as runsc's
// listen(2) does, buffer sizes doubled, TCP_INFO with what gVisor fills in.
//
// The stack's random numbers come from fixed seeds (stack.Options.RandSource and SecureRNG),
// so that ISNs, timestamp offsets, ephemeral ports and NUD jitter are the same in every run.
//
// A DUT cannot be the io.Closer the bench closes at the end of a case: harness.Sockets's
// Close(fd) takes the name. Destroy stops the stack (and its goroutine) explicitly, and a DUT
// nobody destroys is destroyed by a runtime cleanup once it is unreachable.
//
// # Determinism: how the target drives gVisor, and what it cannot drive
//
// gVisor's netstack is not a single-threaded core like mtcp's: it does work on goroutines of its
// own and on timer callbacks. The target makes every step of the bench (Deliver, Advance, and
// each Sockets call) run to quiescence on the calling goroutine before it hands the frames the
// stack sent to the bench, without ever sleeping or reading the real clock:
//
//  1. Time. The stack's tcpip.Clock is this package's clock (clock.go), a virtual clock with
//     the semantics of faketime.ManualClock, gVisor's manual clock for tests, which the target
//     does not use as is: ManualClock does not export its next deadline, fires the timers due
//     at one instant in Go's randomised map order, and runs a callback armed with a zero delay
//     on a new goroutine concurrently with its caller. The DUT's clock reports its earliest
//     deadline exactly (NextDeadline), and Advance fires due timers one at a time, in deadline
//     then arming order, on the caller's goroutine, letting the stack settle after each.
//     Zero-delay callbacks (neighbor resolution hands its queued packets over this way) are
//     queued and run by settle, oldest first, each on the caller's goroutine once nothing else
//     runs. Deliver first runs the timers due by the frame's time, then injects it.
//
//  2. TCP processing. gVisor hands each inbound segment to a pool of processor goroutines
//     (transport/tcp/dispatcher.go), one per GOMAXPROCS at the time the protocol is made, each
//     endpoint always to the same one. The target makes the TCP protocol while GOMAXPROCS is 1
//     (briefly, under a package lock, then restored), so every DUT has exactly one processor and
//     all TCP processing is serialised on it; NewDUT checks the count. To wait for it, settle
//     uses gVisor's save/restore barrier, Stack.Pause then Stack.Resume: a processor parks for
//     Pause only once its queue is empty and it is between endpoints, so when Pause returns,
//     every segment delivered so far has been processed and every segment that processing sent
//     is in the link's queue. Work arrives at the processor only from the driver's goroutine
//     (a frame, a socket call releasing an endpoint, a timer callback) and from itself, so
//     settle repeats the barrier after every queued zero-delay callback it runs, and the stack
//     is quiescent once the barrier holds with that queue empty. (Without the barrier the
//     corpus loses some 40% of its passes to frames that come after the bench looked.)
//
//  3. Output order. Frames reach the channel endpoint from the driver (ARP, ICMP, RSTs for
//     closed ports, timer callbacks, socket calls) or from the single processor, never both at
//     once, so the order the bench sees is the order the stack sent them in. The link's queue
//     is large (linkQueue frames); it is drained after every step.
//
// What remains outside the target's control:
//
//   - Closing a listener with two or more connections in SYN-RECEIVED aborts them in Go's map
//     order (Endpoint.closePendingAcceptableConnectionsLocked ranges over a map). gVisor sends
//     nothing for them today (they are dropped silently), so no frame depends on that order;
//     anything a later gVisor sent there would come out in a random order.
//   - When more than 64 link resolutions are pending at once, gVisor fails the oldest one's
//     packets on a goroutine of its own (stack/pending_packets.go) that settle cannot see; the
//     bench answers ARP at once and never has that many. Nothing else in the packages the DUT
//     uses starts a goroutine outside save/restore.
//   - A gVisor code path that waited, on the processor, for a zero-delay callback would hang
//     settle (the callback runs only when the processor is idle); none does in this version,
//     and the corpus test bounds each script's wall time to catch one.
//   - The single-processor guarantee rests on tcp.NewProtocol reading runtime.GOMAXPROCS once;
//     the count is checked by reflection on an unexported field (read only), so a gVisor that
//     changes this fails NewDUT rather than running nondeterministically. Setting GOMAXPROCS
//     back leaves it fixed at its value: it no longer follows a container's CPU limit.
//
// The tests run a scenario with every kind of timer five times, and the whole corpus twice,
// comparing every frame's bytes, direction and virtual time; they pass, with -race and at
// GOMAXPROCS 1, 2 and 8.
package gvisor

import (
	"errors"
	"fmt"
	"math/rand"
	randv2 "math/rand/v2"
	"net"
	"net/netip"
	"reflect"
	"runtime"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"

	"github.com/mtcp-go/mtcp/harness"
)

// Target makes gVisor netstack DUTs: `--target gvisor`.
type Target struct{}

var _ harness.Target = Target{}

// Name returns "gvisor".
func (Target) Name() string { return "gvisor" }

// NewDUT makes a fresh stack at the bench's defaults.
func (Target) NewDUT() (harness.DUT, error) { return New() }

// DUT is one gVisor stack on one end of an in-process Ethernet link.
type DUT struct {
	*handle
	clock *clock
	mac   net.HardwareAddr
	addr  netip.Prefix

	out  func(frame []byte)
	held [][]byte // frames sent before SetOutput

	// linkDrops counts the frames the NIC's address filter discarded.
	linkDrops uint64

	fds map[int]*socket // the socket API's descriptors

	// sockDefaults are the per-socket settings the Linux host sets with sysctls that gVisor
	// keeps per endpoint only (keepalive times): applied to every new socket.
	sockDefaults sockDefaults
}

var (
	_ harness.DUT         = (*DUT)(nil)
	_ harness.Sockets     = (*DUT)(nil)
	_ harness.Tunable     = (*DUT)(nil)
	_ harness.ConnTable   = (*DUT)(nil)
	_ harness.DropCounter = (*DUT)(nil)
	_ harness.Counters    = (*DUT)(nil)
)

const (
	nicID = 1
	// mtu is the link's IP MTU; the channel endpoint carries whole frames.
	mtu = 1500
	// linkQueue is how many frames the link holds between two drains; one step of the bench
	// sends far fewer (a full congestion window of a 1 MB buffer is ~720).
	linkQueue = 1 << 14
	// seed makes the stack's random numbers.
	seed = 0x6d7463702d6776 // "mtcp-gv"
)

// New makes a gVisor stack at the bench's defaults.
func New() (*DUT, error) {
	clk := newClock(harness.DefaultStart())
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{oneProcessor(tcp.NewProtocol), icmp.NewProtocol4},
		Clock:              clk,
		RandSource:         &lockedSource{src: rand.NewSource(seed)},
		SecureRNG:          newLockedChaCha8(),
	})
	d := &DUT{
		handle: &handle{stack: s, tcp: s.TransportProtocolInstance(tcp.ProtocolNumber)},
		clock:  clk,
		mac:    append(net.HardwareAddr(nil), harness.DefaultStackMAC...),
		addr:   harness.DefaultStackAddr,
		fds:    map[int]*socket{},
	}
	fail := func(format string, args ...any) (*DUT, error) {
		d.destroy()
		return nil, fmt.Errorf("gvisor: "+format, args...)
	}
	// The DUT cannot be an io.Closer (harness.Sockets has Close(fd)): the stack is destroyed by
	// Destroy, or once the DUT is unreachable.
	runtime.AddCleanup(d, (*handle).destroy, d.handle)
	if n, err := processors(d.tcp); err != nil || n != 1 {
		return fail("the TCP dispatcher has %d processor goroutines, want 1 (%v)", n, err)
	}
	d.link = channel.New(linkQueue, mtu+header.EthernetMinimumSize, tcpip.LinkAddress(d.mac))
	if err := s.CreateNICWithOptions(nicID, ethernet.New(d.link), stack.NICOptions{Name: "eth0"}); err != nil {
		return fail("creating the NIC: %v", err)
	}
	local := tcpip.AddressWithPrefix{Address: addrOf(d.addr.Addr()), PrefixLen: d.addr.Bits()}
	if err := s.AddProtocolAddress(nicID, tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: local}, stack.AddressProperties{}); err != nil {
		return fail("adding %v: %v", d.addr, err)
	}
	s.SetRouteTable([]tcpip.Route{
		{Destination: local.Subnet(), NIC: nicID},
		{Destination: header.IPv4EmptySubnet, Gateway: addrOf(harness.DefaultGateway), NIC: nicID},
	})
	d.settle()
	return d, nil
}

// oneProcessorMu serialises the moments GOMAXPROCS is 1.
var oneProcessorMu sync.Mutex

// oneProcessor makes the transport protocol with GOMAXPROCS at 1, so that gVisor's TCP
// dispatcher starts one processor goroutine (it reads GOMAXPROCS once, in NewProtocol).
func oneProcessor(f stack.TransportProtocolFactory) stack.TransportProtocolFactory {
	return func(s *stack.Stack) stack.TransportProtocol {
		oneProcessorMu.Lock()
		defer oneProcessorMu.Unlock()
		prev := runtime.GOMAXPROCS(1)
		defer runtime.GOMAXPROCS(prev)
		return f(s)
	}
}

// processors returns how many processor goroutines the TCP protocol's dispatcher runs, read
// (never written) through reflection: the dispatcher is unexported.
func processors(p stack.TransportProtocol) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("reading tcp.protocol.dispatcher.processors: %v", r)
		}
	}()
	v := reflect.ValueOf(p)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		v = v.Elem()
	}
	f := v.FieldByName("dispatcher").FieldByName("processors")
	if !f.IsValid() {
		return 0, errors.New("tcp.protocol has no dispatcher.processors")
	}
	return f.Len(), nil
}

func addrOf(a netip.Addr) tcpip.Address { return tcpip.AddrFrom4(a.As4()) }

// Name returns "gvisor".
func (d *DUT) Name() string { return "gvisor" }

// MAC returns the NIC's Ethernet address.
func (d *DUT) MAC() net.HardwareAddr { return d.mac }

// Addr returns the NIC's address and prefix.
func (d *DUT) Addr() netip.Prefix { return d.addr }

// SetOutput sets where the frames the stack sends go, on the goroutine of the call that made
// the stack send them.
func (d *DUT) SetOutput(out func(frame []byte)) { d.out = out }

// Deliver runs the timers due by now, then hands frame to the NIC, lets the stack settle and
// passes on what it sent.
func (d *DUT) Deliver(now time.Time, frame []byte) {
	if d.closed {
		return
	}
	d.advanceTo(now)
	if d.accept(frame) {
		pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(append([]byte(nil), frame...))})
		d.link.InjectInbound(0, pkt) // link/ethernet reads the EtherType from the frame
		pkt.DecRef()
		d.settle()
	}
	d.flush()
}

// accept is the wire and the NIC: a frame of bad size is lost on the wire (as on the bench's
// pipe for mtcp); one to another host's unicast MAC is dropped by the NIC's address filter.
func (d *DUT) accept(frame []byte) bool {
	if len(frame) < header.EthernetMinimumSize || len(frame) > mtu+header.EthernetMinimumSize {
		return false
	}
	dst := net.HardwareAddr(frame[:6])
	if dst[0]&1 == 0 && dst.String() != d.mac.String() { // unicast, not ours
		d.linkDrops++
		return false
	}
	return true
}

// Advance runs the timers due by now, each at its own deadline, and passes on what the stack
// sent.
func (d *DUT) Advance(now time.Time) {
	if d.closed {
		return
	}
	d.advanceTo(now)
	d.flush()
}

// advanceTo fires every timer due by t in order, the stack settling after each, and leaves the
// clock at t.
func (d *DUT) advanceTo(t time.Time) {
	d.clock.rebase(t)
	d.settle()
	for {
		f := d.clock.popDue(t)
		if f == nil {
			break
		}
		f()
		d.settle()
	}
	d.clock.rebase(t)
}

// NextDeadline returns the stack's earliest timer.
func (d *DUT) NextDeadline() (time.Time, bool) {
	if d.closed {
		return time.Time{}, false
	}
	return d.clock.nextDeadline()
}

// settle waits until the stack is quiescent: the TCP processor idle with nothing queued and no
// zero-delay timer callback left to run (see the package documentation).
func (d *DUT) settle() {
	if d.closed {
		return
	}
	for {
		d.stack.Pause() // returns once the processor is parked with an empty queue
		d.stack.Resume()
		f := d.clock.popImmediate()
		if f == nil {
			return
		}
		f()
	}
}

// flush hands the frames in the link's queue to the output, oldest first.
func (d *DUT) flush() {
	for {
		pkt := d.link.Read()
		if pkt == nil {
			break
		}
		v := pkt.ToView()
		d.held = append(d.held, append([]byte(nil), v.AsSlice()...))
		v.Release()
		pkt.DecRef()
	}
	if d.out == nil {
		return
	}
	held := d.held
	d.held = nil
	for _, f := range held {
		d.out(f)
	}
}

// step ends a socket call: the stack settles and what it sent goes out.
func (d *DUT) step() {
	d.settle()
	d.flush()
}

// Destroy stops the stack: its endpoints are aborted (what they send is discarded) and its
// processor goroutine ends before Destroy returns. A DUT nobody destroys is destroyed once it
// is unreachable. (It is not Close: harness.Sockets's Close closes a descriptor, so the DUT
// cannot be the io.Closer the bench looks for.)
func (d *DUT) Destroy() {
	if d.closed {
		return
	}
	d.settle()
	d.destroy()
	d.fds = nil
	d.held = nil
}

// handle is what destroying the stack needs, apart from the DUT so that a cleanup can do it.
type handle struct {
	stack  *stack.Stack
	tcp    stack.TransportProtocol
	link   *channel.Endpoint
	closed bool
}

func (h *handle) destroy() {
	if h.closed {
		return
	}
	h.closed = true
	h.stack.Close() // aborts the endpoints, closes the dispatcher
	if h.tcp != nil {
		h.tcp.Wait() // the processor goroutine has returned
	}
	if h.link != nil {
		h.link.Close()
	}
}

// lockedSource is a math/rand Source safe for the stack's concurrent use (stack.Options asks
// for one).
type lockedSource struct {
	mu  sync.Mutex
	src rand.Source
}

func (s *lockedSource) Int63() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.src.Int63()
}

func (s *lockedSource) Seed(v int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.src.Seed(v)
}

// lockedChaCha8 is the stack's "secure" random source: a ChaCha8 stream from a fixed key, so
// the secrets behind ISNs and timestamp offsets are the same in every run.
type lockedChaCha8 struct {
	mu sync.Mutex
	c  *randv2.ChaCha8
}

func newLockedChaCha8() *lockedChaCha8 {
	var key [32]byte
	copy(key[:], "mtcp conformance bench: gvisor!!")
	return &lockedChaCha8{c: randv2.NewChaCha8(key)}
}

func (r *lockedChaCha8) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.c.Read(p)
}
