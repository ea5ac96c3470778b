// Package stack is mtcp's runtime: it puts the deterministic protocol core (package core) on a
// real link with a real clock.
//
// A Stack owns one core and one driver goroutine. Frames the link receives are copied into a
// bounded queue and handed to the core by the driver, which also wakes the core at its next
// timer deadline. Every call into the core happens under one mutex, so the core itself stays
// single-threaded. Stacks share nothing: several can run in one process, each with its own
// link, addresses, tables and counters.
//
// On top of the core's non-blocking TCP sockets the package offers blocking ones with the
// standard library's shapes: Listen returns a *Listener (a net.Listener), DialContext a *Conn
// (a net.Conn), with deadlines, context cancellation and *net.OpError errors. Dial takes a
// network and an address string, as net.Dialer.DialContext does, so that the standard library
// can dial through the stack: http.Transport{DialContext: s.Dial}. Blocked calls do
// not need a goroutine per connection: they sleep on a channel that the TCP core's notify hook,
// a deadline or Stack.Close closes.
//
// The core is what the tests drive in virtual time; this package is only the glue to
// wall-clock time and goroutines, and is kept small for that reason.
package stack

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/mtcp-go/mtcp/stack/arp"
	"github.com/mtcp-go/mtcp/stack/core"
	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/link"
	"github.com/mtcp-go/mtcp/stack/tcp"
	"github.com/mtcp-go/mtcp/stack/wire"
)

// Config describes a stack. Link and Addr are required; zero values elsewhere take defaults.
type Config struct {
	// Link carries the stack's Ethernet frames. The stack attaches to it and closes it on Close.
	Link link.Endpoint
	// Addr is the stack's IPv4 address and prefix, e.g. 198.18.0.2/24.
	Addr netip.Prefix
	// Gateway, if set, is where datagrams to destinations off the prefix go.
	Gateway netip.Addr
	// MAC is the stack's Ethernet address. Default: 02:00 followed by the four bytes of Addr
	// (locally administered, unique per address).
	MAC net.HardwareAddr
	// MTU is the largest IP datagram sent. Default: the link's MTU.
	MTU int
	// ARP bounds and times the ARP cache (see package arp for the defaults).
	ARP arp.Config
	// Reassembly bounds IPv4 fragment reassembly (see package ipv4 for the defaults).
	Reassembly ipv4.ReassemblyConfig
	// TCP bounds and times TCP: table sizes, buffers, timers (see package tcp for the defaults).
	TCP tcp.Config
	// RxQueue is how many received frames may wait for the driver at first (default 512).
	// When a burst fills it (many connections' windows arriving at once), the queue doubles,
	// up to RxQueueMax; past that, frames are dropped and counted in Stats.RxQueueDrops. The
	// queue takes a frame buffer (about MTU + 14 bytes) only while a frame waits in it, and keeps
	// as many spare as frames have waited at once.
	RxQueue int
	// RxQueueMax bounds the queue's growth (default 16384 frames: 25 MB at a 1500-byte MTU, the
	// windows of 64 connections with 256 KiB buffers); at most RxQueue, it never grows.
	RxQueueMax int
}

// Defaults of Config.RxQueue and Config.RxQueueMax.
const (
	DefaultRxQueue    = 512
	DefaultRxQueueMax = 16384
)

// Stats are the core's counters plus the runtime's own.
type Stats struct {
	core.Stats
	RxQueueDrops uint64 // received frames dropped because the driver's queue was full (at RxQueueMax)
	RxOversize   uint64 // received frames longer than the link's MTU + 14, dropped
	RxQueueLen   uint64 // the receive queue's length now, in frames: RxQueue, or more once it grew
}

// Stack is a running instance. Its methods are safe for concurrent use.
type Stack struct {
	link  link.Endpoint
	start time.Time // the clock's reading when the stack was made (now)
	mac   wire.MAC

	mu   sync.Mutex // guards core and everything below it up to rxMu
	core *core.Core

	closed     bool                   // Close has begun: every socket call fails
	wake       *time.Timer            // kicks the driver at the core's next deadline
	wakeAt     time.Time              // when wake fires, at the latest (never: not armed)
	listeners  map[*Listener]struct{} // open listeners
	shutReads  []*Conn                // connections after CloseRead with data to discard
	scratch    []byte                 // where discarded data is read to
	sendBuffer int                    // tcp.Config.SendBuffer in force

	rxMu     sync.Mutex // guards the receive ring and its counters
	rx       [][]byte   // slots: a frame's buffer while it waits, nil when free
	rxFree   [][]byte   // buffers of frames handled, for the next frames
	rxBusy   bool       // the driver is kicked or handling queued frames, and will look for more
	rxHead   int        // next slot to process
	rxLen    int        // frames waiting
	rxMax    int        // Config.RxQueueMax
	frameLen int        // the longest frame a slot takes
	rxStats  Stats
	batch    [rxBatch][]byte // the frames the driver took from the queue; s.mu guards it

	kick      chan struct{}
	done      chan struct{}
	driverEnd chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// New validates cfg, attaches to cfg.Link and starts the driver.
func New(cfg Config) (*Stack, error) {
	if cfg.Link == nil {
		return nil, errors.New("stack: Config.Link is required")
	}
	if !cfg.Addr.IsValid() {
		return nil, errors.New("stack: Config.Addr is required (an IPv4 prefix such as 198.18.0.2/24)")
	}
	if !cfg.Addr.Addr().Is4() {
		return nil, fmt.Errorf("stack: Config.Addr %v is not IPv4", cfg.Addr)
	}
	if cfg.MAC == nil {
		a := cfg.Addr.Addr().As4()
		cfg.MAC = net.HardwareAddr{0x02, 0x00, a[0], a[1], a[2], a[3]}
	}
	mac, ok := wire.MACFrom(cfg.MAC)
	if !ok {
		return nil, fmt.Errorf("stack: Config.MAC %v is not a 6-byte Ethernet address", cfg.MAC)
	}
	if cfg.RxQueue == 0 {
		cfg.RxQueue = DefaultRxQueue
	}
	if cfg.RxQueue < 1 {
		return nil, fmt.Errorf("stack: Config.RxQueue %d < 1", cfg.RxQueue)
	}
	if cfg.RxQueueMax < 0 {
		return nil, fmt.Errorf("stack: Config.RxQueueMax %d < 0", cfg.RxQueueMax)
	}
	if cfg.RxQueueMax == 0 {
		cfg.RxQueueMax = max(DefaultRxQueueMax, cfg.RxQueue)
	}
	c, err := core.New(core.Config{
		MAC: cfg.MAC, Interface: ipv4.Interface{Addr: cfg.Addr, Gateway: cfg.Gateway},
		MTU: cfg.MTU, ARP: cfg.ARP, Reassembly: cfg.Reassembly, TCP: cfg.TCP,
	}, cfg.Link)
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	s := &Stack{
		link: cfg.Link, mac: mac, core: c, start: time.Now(),
		rx:         make([][]byte, cfg.RxQueue),
		rxMax:      max(cfg.RxQueueMax, cfg.RxQueue),
		frameLen:   cfg.Link.MTU() + link.EthernetHeaderLen,
		kick:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		driverEnd:  make(chan struct{}),
		listeners:  make(map[*Listener]struct{}),
		sendBuffer: c.TCP().Config().SendBuffer,
	}
	s.mu.Lock()
	now := s.now()
	c.Advance(now)
	s.wake = time.AfterFunc(time.Hour, s.poke)
	s.wakeAt = now.Add(time.Hour)
	s.mu.Unlock()
	go s.drive()
	cfg.Link.Attach(s)
	return s, nil
}

// Addr returns the stack's address and prefix.
func (s *Stack) Addr() netip.Prefix { return s.core.Config().Interface.Addr }

// MAC returns the stack's Ethernet address.
func (s *Stack) MAC() net.HardwareAddr { return s.mac.HardwareAddr() }

// Stats returns a snapshot of every counter.
func (s *Stack) Stats() Stats {
	s.mu.Lock()
	cs := s.core.Stats()
	s.mu.Unlock()
	s.rxMu.Lock()
	st := s.rxStats
	st.RxQueueLen = uint64(len(s.rx))
	s.rxMu.Unlock()
	st.Stats = cs
	return st
}

// DeliverFrame queues a frame received by the link for the driver. It copies the frame and
// never blocks on the core, so a link may call it from any goroutine, even while the core is
// sending on that link.
func (s *Stack) DeliverFrame(frame []byte) {
	s.rxMu.Lock()
	if s.rxLen == len(s.rx) && len(s.rx) < s.rxMax {
		s.growRx()
	}
	switch {
	case len(frame) > s.frameLen:
		s.rxStats.RxOversize++
	case s.rxLen == len(s.rx):
		s.rxStats.RxQueueDrops++
	default:
		var buf []byte
		if n := len(s.rxFree); n > 0 {
			buf, s.rxFree = s.rxFree[n-1], s.rxFree[:n-1]
		} else {
			buf = make([]byte, 0, s.frameLen)
		}
		s.rx[(s.rxHead+s.rxLen)%len(s.rx)] = append(buf[:0], frame...)
		s.rxLen++
	}
	// A driver handling frames finds this one before it stops (handleQueued): only an idle
	// one needs the kick, and only once. The kicked driver counts as busy from the kick on,
	// so the frames that arrive while it wakes do not kick it again: they were a channel
	// operation each (a million per GiB of bulk transfer, against tens of thousands of
	// passes of the driver), on a channel the driver's core was receiving from.
	idle := !s.rxBusy
	s.rxBusy = true
	s.rxMu.Unlock()
	if idle {
		s.poke()
	}
}

// poke makes the driver run a pass, if it is not already due to.
func (s *Stack) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// ConcurrentDelivery marks the stack as a link.ConcurrentReceiver: DeliverFrame may be called
// from several goroutines at once, and it never writes to the link.
func (s *Stack) ConcurrentDelivery() {}

var _ link.ConcurrentReceiver = (*Stack)(nil)

// growRx doubles the receive ring (up to rxMax), its frames in order from slot 0; s.rxMu is
// held. The frames the driver may be processing are at the head: they move to slot 0 with
// rxHead, so the driver's step past them (handleQueued) stays right.
func (s *Stack) growRx() {
	grown := make([][]byte, min(2*len(s.rx), s.rxMax))
	n := copy(grown, s.rx[s.rxHead:])
	copy(grown[n:], s.rx[:s.rxHead])
	s.rx, s.rxHead = grown, 0
}

// drive is the driver goroutine: it hands queued frames to the core and wakes the core at its
// deadlines, until Close.
func (s *Stack) drive() {
	defer close(s.driverEnd)
	defer s.wake.Stop()
	for {
		// One channel for frames, timers and Close: a plain receive costs less than a select
		// over three, and the driver wakes for each frame on a quiet link.
		<-s.kick
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		for s.handleQueued() { // the clock: see handleQueued
		}
		s.settle(s.now())
		s.mu.Unlock()
	}
}

// settle ends a pass over the core at now: it fires due timers, discards data for connections
// whose reading side is shut and sets the wake timer for the core's next deadline; s.mu is
// held. The timer is reset only when that deadline moves, not at every pass: most passes (a
// frame in, a frame out) leave it where it was.
func (s *Stack) settle(now time.Time) {
	s.core.Advance(now)
	s.drainShutReads()
	next, ok := s.core.NextDeadline()
	s.rearm(now, next, ok)
}

// rearm sets the wake timer for the core's next deadline (next, if ok) if that moved; s.mu is
// held. With no deadline, a timer still set fires once for nothing (cheaper than stopping it),
// and one that has fired is marked unarmed, so that the next deadline sets it.
func (s *Stack) rearm(now, next time.Time, ok bool) {
	switch {
	case ok && !next.Equal(s.wakeAt):
		// A firing already under way when it is reset makes one pass for nothing.
		s.wake.Reset(max(next.Sub(now), 0))
		s.wakeAt = next
	case !ok && !s.wakeAt.After(now):
		s.wakeAt = never
	}
}

// never is a wakeAt that no deadline reaches.
var never = time.Unix(1<<62, 0)

// rxBatch is how many queued frames the driver takes at a time: the receive queue's lock is
// taken twice per batch rather than twice per frame, while the link takes it once per frame
// from another goroutine. Taken per frame, the lock was contended: at 16 bulk connections
// (the bench's W1p), waiting for the process's locks took 10 % of its CPU, most of it in
// spinning, and half of that went away with batches.
const rxBatch = 64

// handleQueued passes the oldest queued frames, up to rxBatch, to the core; s.mu is held. Their
// slots stay owned by the driver until they are released, so the link never overwrites a frame
// being processed. It returns false if the queue was empty.
//
// The clock is read once per batch, once the batch is taken: every frame of it had arrived by
// then, so the reading is no earlier than any frame's arrival, and an ACK in the batch is timed
// after the segment it acknowledges was sent, which was before the batch was taken. An RTT
// sample is never 0 and never short: it is long by at most the time the segment's own batch
// took. (A reading shared by every frame of a pass, frames that arrived during the pass
// included, once timed such ACKs before their segments: an RTT of 0, min_RTT 0 and a
// reordering window of 0 made RACK take every reordered segment for lost.) Reading the clock
// per frame instead cost 10 % of the CPU of a bulk transfer (BenchmarkBulk: 0.83-1.10 CPU-s per
// GiB, against 0.79-0.92), for no fewer retransmissions on a link that drops, duplicates and
// reorders 1 % (485-671 per 64 MiB either way, 5 runs each).
func (s *Stack) handleQueued() bool {
	s.rxMu.Lock()
	n := min(s.rxLen, rxBatch)
	if n == 0 {
		s.rxBusy = false // from here on, a frame kicks the driver
		s.rxMu.Unlock()
		return false
	}
	s.rxBusy = true
	for i := range n {
		s.batch[i] = s.rx[(s.rxHead+i)%len(s.rx)]
	}
	s.rxMu.Unlock()
	now := s.now()
	for _, f := range s.batch[:n] {
		s.core.HandleFrame(now, f)
	}
	s.rxMu.Lock()
	for i := range n {
		s.rx[s.rxHead] = nil
		s.rxFree = append(s.rxFree, s.batch[i])
		s.rxHead = (s.rxHead + 1) % len(s.rx)
	}
	s.rxLen -= n
	s.rxMu.Unlock()
	clear(s.batch[:n])
	return true
}

// now reads the clock: the monotonic clock only (one read, where time.Now makes two), as an
// offset from the time the stack was made.
func (s *Stack) now() time.Time { return s.start.Add(time.Since(s.start)) }

// lockCore takes s.mu and brings the core's clock to now, as every socket call must before it
// calls into the core: the TCP core times its timers from the core's clock. It returns false,
// with s.mu released, if the stack is closed.
func (s *Stack) lockCore() bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	s.core.Advance(s.now())
	return true
}

// unlockCore ends a section that called into the core: it discards data for connections whose
// reading side is shut, moves the wake timer earlier if the call armed a core timer due before
// it, and releases s.mu. The driver is not woken for that.
func (s *Stack) unlockCore() {
	s.drainShutReads()
	if next, ok := s.core.NextDeadline(); ok && next.Before(s.wakeAt) {
		s.rearm(s.core.Now(), next, ok)
	}
	s.mu.Unlock()
}

// drainShutReads reads and drops what arrived on connections after CloseRead, so that their
// receive window stays open and the stack goes on acknowledging; s.mu is held. It runs after a
// core call returns, never from inside the TCP core's notify hook.
func (s *Stack) drainShutReads() {
	for len(s.shutReads) > 0 {
		c := s.shutReads[len(s.shutReads)-1]
		s.shutReads = s.shutReads[:len(s.shutReads)-1]
		c.drainQueued = false
		if s.scratch == nil {
			s.scratch = make([]byte, 16<<10)
		}
		for {
			if _, err := c.tc.Read(s.scratch); err != nil {
				break
			}
		}
	}
}

// Close closes every listener, aborts every connection (with a RST where the peer has a
// connection to reset), wakes every blocked call (they return errors wrapping net.ErrClosed),
// stops the driver and closes the link. It is safe to call more than once.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.core.Advance(s.now())
		for ln := range s.listeners {
			ln.tl.Close()
			ln.wakeAll()
		}
		clear(s.listeners)
		s.core.TCP().AbortAll() // each Conn's hook wakes its blocked calls
		s.shutReads = nil
		s.closed = true
		s.mu.Unlock()
		close(s.done)
		s.poke()
		<-s.driverEnd
		s.link.Attach(link.ReceiverFunc(func([]byte) {}))
		s.closeErr = s.link.Close()
	})
	return s.closeErr
}

// sleep blocks a socket call until it is woken (ready), its deadline or context ends (cancel;
// nil for none), or the stack closes. The caller has released the core's lock and re-checks
// everything when sleep returns.
func (s *Stack) sleep(ready, cancel <-chan struct{}) {
	select {
	case <-ready:
	case <-cancel:
	case <-s.done:
	}
}
