// Package pipe is an in-process link with two ends: a frame written on one end is delivered to
// the other end's receiver before WriteFrame returns. Tests and benches use it to connect a
// stack to a peer (another stack, or a harness) without sockets, devices or goroutines.
//
// Delivery is synchronous and never recursive: a frame that reaches an end while that end is
// already inside DeliverFrame (the receiver answered from inside the callback, or another
// goroutine wrote at the same time) is copied into a FIFO and delivered, in order, as soon as
// the current delivery returns. So one end's receiver is never called concurrently or
// re-entrantly. The exception is a link.ConcurrentReceiver (a stack.Stack), which asks for
// neither: it is called at once, by every writer, with no lock taken.
//
// This package must not start goroutines, read a clock, or parse frames.
package pipe

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/mtcp-go/mtcp/stack/link"
)

// MinMTU is the smallest MTU New accepts (link.MinMTU).
const MinMTU = link.MinMTU

// End is one end of a pipe. It is safe for concurrent use.
//
// The ends are written by different goroutines, on different cores, at every frame: each has
// cache lines of its own (padding), and so has the closed flag they share. Without it, one
// end's lock and the other end's counters shared a line, and the line moved between cores
// at every frame. Within an end, what a writer on the other end only reads (the fields set
// once, and the direct receiver) is on other lines than what a delivery writes.
type End struct {
	_      cpu.CacheLinePad
	mtu    int
	peer   *End
	closed *atomic.Bool // shared by both ends, in a padded flag

	direct atomic.Pointer[concurrent] // the receiver, when it is a link.ConcurrentReceiver
	_      cpu.CacheLinePad

	mu         sync.Mutex
	receiver   link.Receiver
	delivering bool
	backlog    [][]byte // frames that arrived during a delivery, oldest first

	delivered counter
	dropped   atomic.Uint64
	_         cpu.CacheLinePad
}

// counter is a count that goroutines on several cores add to at once, kept in shards on cache
// lines of their own: a goroutine adds to the shard that its stack's address picks, so two
// long-lived goroutines (a stack's driver and a writer) seldom write the same line. One atomic
// counter, written per frame by two stacks' goroutines on both cores, moved between them at
// every frame: 8 % of the CPU of a slow W1p run with 4 connections, in pipe's deliver.
type counter struct {
	shards [counterShards]struct {
		n atomic.Uint64
		_ cpu.CacheLinePad
	}
}

const counterShards = 8

func (c *counter) add() {
	var here byte
	// The pointer becomes a number, never a pointer again (unsafe.Pointer's rule 2). Goroutine
	// stacks are at least 2 KiB apart, so bits 11 to 13 spread goroutines over the shards.
	i := (uintptr(unsafe.Pointer(&here)) >> 11) % counterShards
	c.shards[i].n.Add(1)
}

func (c *counter) load() uint64 {
	var n uint64
	for i := range c.shards {
		n += c.shards[i].n.Load()
	}
	return n
}

// concurrent boxes a link.ConcurrentReceiver for an atomic pointer.
type concurrent struct{ r link.ConcurrentReceiver }

// flag is the closed flag of a pipe, alone on its cache line.
type flag struct {
	_      cpu.CacheLinePad
	closed atomic.Bool
	_      cpu.CacheLinePad
}

var _ link.Endpoint = (*End)(nil)

// Stats counts the frames that arrived at one end.
type Stats struct {
	// Delivered counts frames handed to this end's receiver.
	Delivered uint64
	// Dropped counts frames that arrived while no receiver was attached.
	Dropped uint64
}

// New returns the two ends of a pipe carrying IP datagrams of up to mtu bytes (frames of up to
// mtu+14 bytes). It panics if mtu < MinMTU.
func New(mtu int) (a, b *End) {
	if mtu < MinMTU {
		panic(fmt.Sprintf("pipe: MTU %d < %d", mtu, MinMTU))
	}
	closed := &new(flag).closed
	a = &End{mtu: mtu, closed: closed}
	b = &End{mtu: mtu, closed: closed}
	a.peer, b.peer = b, a
	return a, b
}

// MTU returns the MTU given to New.
func (e *End) MTU() int { return e.mtu }

// WriteFrame delivers frame to the other end's receiver. It returns link.ErrClosed once either
// end is closed and an error wrapping link.ErrFrameSize for a frame that does not fit the MTU.
// A frame that arrives while the other end has no receiver is dropped and counted there, and
// WriteFrame returns nil: a wire does not report a missing listener.
func (e *End) WriteFrame(frame []byte) error {
	if e.closed.Load() {
		return link.ErrClosed
	}
	if err := link.CheckFrameSize(len(frame), e.mtu); err != nil {
		return err
	}
	e.peer.deliver(frame)
	return nil
}

// Attach sets the receiver of the frames written on the other end; nil detaches it.
func (e *End) Attach(r link.Receiver) {
	e.mu.Lock()
	e.receiver = r
	if cr, ok := r.(link.ConcurrentReceiver); ok {
		e.direct.Store(&concurrent{cr})
	} else {
		e.direct.Store(nil)
	}
	e.mu.Unlock()
}

// Close closes both ends of the pipe: writes on either end return link.ErrClosed afterwards.
// Frames already queued behind a running delivery are still delivered. Close is idempotent and
// returns nil.
func (e *End) Close() error {
	e.closed.Store(true)
	return nil
}

// Stats returns the counters of the frames that arrived at this end.
func (e *End) Stats() Stats {
	return Stats{Delivered: e.delivered.load(), Dropped: e.dropped.Load()}
}

// deliver hands frame to the receiver, or queues a copy if a delivery is already running.
func (e *End) deliver(frame []byte) {
	// A receiver that takes concurrent calls needs no serializing. Two stacks' goroutines
	// write on both cores at once, and the end's lock, taken twice per frame, was then a
	// cache line that moved between them at every frame.
	if d := e.direct.Load(); d != nil {
		d.r.DeliverFrame(frame)
		e.delivered.add()
		return
	}
	e.mu.Lock()
	if e.delivering {
		e.backlog = append(e.backlog, append([]byte(nil), frame...))
		e.mu.Unlock()
		return
	}
	r := e.receiver
	if r == nil {
		e.mu.Unlock()
		e.dropped.Add(1)
		return
	}
	e.delivering = true
	e.mu.Unlock()

	finished := false
	defer func() {
		if !finished { // the receiver panicked: do not leave the end stuck in delivering
			e.mu.Lock()
			e.delivering = false
			e.backlog = e.backlog[:0]
			e.mu.Unlock()
		}
	}()

	r.DeliverFrame(frame)
	e.delivered.add()
	e.drainBacklog()
	finished = true
}

// drainBacklog delivers the queued frames in order, including those queued while it runs, and
// clears delivering when the queue is empty.
func (e *End) drainBacklog() {
	for next := 0; ; next++ {
		e.mu.Lock()
		if next == len(e.backlog) {
			clear(e.backlog)
			e.backlog = e.backlog[:0]
			e.delivering = false
			e.mu.Unlock()
			return
		}
		frame := e.backlog[next]
		r := e.receiver
		e.mu.Unlock()

		if r == nil {
			e.dropped.Add(1)
			continue
		}
		r.DeliverFrame(frame)
		e.delivered.add()
	}
}
