// Package callback is a link whose I/O is done by the embedding program: frames the stack sends
// go to a send function, frames the program receives are handed in with Inject. It is mtcp's
// equivalent of MicroTCP's microtcp_create_using_callbacks, for microcontroller-style embedding
// where the program owns the network driver and its main loop.
//
// Delivery is synchronous: Inject calls the receiver on the caller's goroutine and returns when
// it has. This package must not start goroutines, read a clock, buffer frames or parse them.
package callback

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/mtcp-go/mtcp/stack/link"
)

// MinMTU is the smallest MTU New accepts (link.MinMTU).
const MinMTU = link.MinMTU

// MaxMTU is the largest MTU New accepts (link.MaxMTU).
const MaxMTU = link.MaxMTU

// ErrNoReceiver is returned by Inject when no receiver is attached; the frame is dropped and
// counted.
var ErrNoReceiver = errors.New("callback: no receiver attached")

// Endpoint is a link.Endpoint backed by a send function and Inject. It is safe for concurrent
// use; the send function may be called concurrently if WriteFrame is.
type Endpoint struct {
	mtu  int
	send func(frame []byte) error

	closed atomic.Bool

	mu       sync.RWMutex
	receiver link.Receiver

	sent       atomic.Uint64
	sendErrors atomic.Uint64
	delivered  atomic.Uint64
	dropped    atomic.Uint64
}

var _ link.Endpoint = (*Endpoint)(nil)

// Stats counts the frames that went through an Endpoint.
type Stats struct {
	// Sent counts frames the send function accepted.
	Sent uint64
	// SendErrors counts frames the send function returned an error for.
	SendErrors uint64
	// Delivered counts injected frames handed to the receiver.
	Delivered uint64
	// Dropped counts injected frames dropped because no receiver was attached.
	Dropped uint64
}

// New returns an Endpoint for a link with the given MTU (68..65535) that passes every outgoing
// frame to send. send must not keep the frame after it returns.
func New(mtu int, send func(frame []byte) error) (*Endpoint, error) {
	if send == nil {
		return nil, errors.New("callback: send function is nil")
	}
	if mtu < MinMTU || mtu > MaxMTU {
		return nil, fmt.Errorf("callback: MTU %d outside %d..%d", mtu, MinMTU, MaxMTU)
	}
	return &Endpoint{mtu: mtu, send: send}, nil
}

// MTU returns the MTU given to New.
func (e *Endpoint) MTU() int { return e.mtu }

// WriteFrame checks the frame size and calls the send function. It returns link.ErrClosed after
// Close, an error wrapping link.ErrFrameSize for a bad size, and the send function's error
// wrapped.
func (e *Endpoint) WriteFrame(frame []byte) error {
	if e.closed.Load() {
		return link.ErrClosed
	}
	if err := link.CheckFrameSize(len(frame), e.mtu); err != nil {
		return err
	}
	if err := e.send(frame); err != nil {
		e.sendErrors.Add(1)
		return fmt.Errorf("callback: send: %w", err)
	}
	e.sent.Add(1)
	return nil
}

// Attach sets the receiver of injected frames; nil detaches it.
func (e *Endpoint) Attach(r link.Receiver) {
	e.mu.Lock()
	e.receiver = r
	e.mu.Unlock()
}

// Inject delivers a frame received by the program to the attached receiver and returns once the
// receiver has taken it; the caller may reuse frame afterwards. It returns link.ErrClosed after
// Close, an error wrapping link.ErrFrameSize for a frame shorter than an Ethernet header or
// longer than MTU()+14, and ErrNoReceiver (counting the frame as dropped) when no receiver is
// attached.
//
// Inject must not be called from inside the receiver's DeliverFrame, nor from the send
// function while the stack is handling a frame: deliveries are not queued.
func (e *Endpoint) Inject(frame []byte) error {
	if e.closed.Load() {
		return link.ErrClosed
	}
	if err := link.CheckFrameSize(len(frame), e.mtu); err != nil {
		return fmt.Errorf("callback: inject: %w", err)
	}
	e.mu.RLock()
	r := e.receiver
	e.mu.RUnlock()
	if r == nil {
		e.dropped.Add(1)
		return ErrNoReceiver
	}
	r.DeliverFrame(frame)
	e.delivered.Add(1)
	return nil
}

// Close makes WriteFrame and Inject return link.ErrClosed. It is idempotent and returns nil; the
// send function is not called again.
func (e *Endpoint) Close() error {
	e.closed.Store(true)
	return nil
}

// Stats returns the endpoint's counters.
func (e *Endpoint) Stats() Stats {
	return Stats{
		Sent:       e.sent.Load(),
		SendErrors: e.sendErrors.Load(),
		Delivered:  e.delivered.Load(),
		Dropped:    e.dropped.Load(),
	}
}
