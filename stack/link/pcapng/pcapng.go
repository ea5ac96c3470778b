// Package pcapng records the frames crossing a link into a pcapng capture that Wireshark and
// tcpdump can read. A Recorder wraps any link.Endpoint and is one itself: put it between the
// stack and its link and every frame is written to the capture, marked inbound or outbound, then
// passed on unchanged.
//
// Timestamps come from a clock.Clock, normally the one driving the stack, so a capture made in
// virtual time carries virtual (and reproducible) timestamps.
//
// A capture is a diagnostic: this package must never let it disturb traffic. A failing writer
// is counted and its first error kept, and frames keep flowing; nothing here panics on a write
// error. It must not start goroutines or change, drop or reorder frames.
package pcapng

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/mtcp-go/mtcp/stack/clock"
	"github.com/mtcp-go/mtcp/stack/link"
)

// DefaultInterfaceName names the capture's interface when Options.InterfaceName is empty.
const DefaultInterfaceName = "mtcp0"

// Options configures a Recorder. The zero value is usable.
type Options struct {
	// Clock stamps the frames; nil means clock.System{}. Pass the stack's clock so that the
	// capture's timestamps are the ones the stack saw.
	Clock clock.Clock
	// InterfaceName is the interface name written to the capture; empty means
	// DefaultInterfaceName.
	InterfaceName string
	// SectionComment, if not empty, is written as the comment of the capture's section.
	SectionComment string
}

// Stats counts what a Recorder wrote.
type Stats struct {
	// Recorded counts frames handed to the pcapng writer without error. The writer buffers:
	// frames recorded since the last successful Flush are lost if a later write fails.
	Recorded uint64
	// WriteErrors counts frames that could not be recorded and flushes that failed.
	WriteErrors uint64
}

// Recorder is a link.Endpoint that records every frame crossing the endpoint it wraps. It is
// safe for concurrent use: frames from different goroutines are written one at a time, each
// with the timestamp read when its turn came.
type Recorder struct {
	inner  link.Endpoint
	clock  clock.Clock
	closed atomic.Bool

	mu          sync.Mutex // guards the fields below and serialises writes
	w           *Writer
	recorded    uint64
	writeErrors uint64
	err         error
}

var _ link.Endpoint = (*Recorder)(nil)

// New returns a Recorder that wraps inner and writes a pcapng capture with one Ethernet
// interface to w. The section and interface headers are written (buffered) at once. The
// Recorder never closes w.
func New(inner link.Endpoint, w io.Writer, opts Options) (*Recorder, error) {
	if inner == nil {
		return nil, errors.New("pcapng: inner endpoint is nil")
	}
	if w == nil {
		return nil, errors.New("pcapng: writer is nil")
	}
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	if opts.InterfaceName == "" {
		opts.InterfaceName = DefaultInterfaceName
	}
	nw, err := NewWriter(w, opts.InterfaceName, opts.SectionComment)
	if err != nil {
		return nil, err
	}
	return &Recorder{inner: inner, clock: opts.Clock, w: nw}, nil
}

// MTU returns the MTU of the wrapped endpoint.
func (r *Recorder) MTU() int { return r.inner.MTU() }

// WriteFrame records frame as outbound, then writes it to the wrapped endpoint and returns that
// endpoint's error. A frame of bad size is refused (link.ErrFrameSize) without being recorded,
// and after Close WriteFrame returns link.ErrClosed. Recording it first keeps the capture in
// causal order when the wrapped endpoint answers synchronously (a pipe).
func (r *Recorder) WriteFrame(frame []byte) error {
	if r.closed.Load() {
		return link.ErrClosed
	}
	if err := link.CheckFrameSize(len(frame), r.inner.MTU()); err != nil {
		return err
	}
	r.record(frame, Outbound)
	return r.inner.WriteFrame(frame)
}

// Attach sets the receiver of incoming frames: the Recorder attaches itself to the wrapped
// endpoint, records each frame it delivers as inbound and passes it on to rcv. Attach(nil)
// detaches, and the wrapped endpoint drops and counts frames as it does without a receiver.
func (r *Recorder) Attach(rcv link.Receiver) {
	if rcv == nil {
		r.inner.Attach(nil)
		return
	}
	r.inner.Attach(&inbound{rec: r, next: rcv})
}

// Flush writes out the buffered part of the capture. Its error, if any, is also counted and
// kept like any write error.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.flushLocked()
}

// Close stops recording, flushes the capture and closes the wrapped endpoint. It returns the
// flush error if there is one, otherwise the wrapped endpoint's. It does not close the writer
// given to New. Calls after the first return nil.
func (r *Recorder) Close() error {
	if !r.closed.CompareAndSwap(false, true) {
		return nil
	}
	flushErr := r.Flush()
	closeErr := r.inner.Close()
	if flushErr != nil {
		return flushErr
	}
	return closeErr
}

// Err returns the first error the capture writer returned, or nil.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Stats returns the recorder's counters.
func (r *Recorder) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{Recorded: r.recorded, WriteErrors: r.writeErrors}
}

// record writes one frame to the capture, stamped now. Failures are counted, never returned.
func (r *Recorder) record(frame []byte, dir Direction) {
	if r.closed.Load() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.w.WriteFrame(Frame{Time: r.clock.Now(), Direction: dir, Data: frame}); err != nil {
		r.failedLocked(err)
		return
	}
	r.recorded++
}

func (r *Recorder) flushLocked() error {
	if err := r.w.Flush(); err != nil {
		r.failedLocked(err)
		return fmt.Errorf("pcapng: flush: %w", err)
	}
	return nil
}

func (r *Recorder) failedLocked(err error) {
	r.writeErrors++
	if r.err == nil {
		r.err = fmt.Errorf("pcapng: writing capture: %w", err)
	}
}

// inbound records the frames the wrapped endpoint delivers before passing them on.
type inbound struct {
	rec  *Recorder
	next link.Receiver
}

func (in *inbound) DeliverFrame(frame []byte) {
	in.rec.record(frame, Inbound)
	in.next.DeliverFrame(frame)
}
