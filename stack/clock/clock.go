// Package clock gives the parts of mtcp that stamp or delay frames a source of time that can be
// real or virtual.
//
// The protocol core never reads a clock: time is an argument to every call into it. Clocks are
// for the pieces around the core — the pcapng recorder that stamps frames, the fault injector that
// delays them, the harness that drives the core in virtual time. A Manual clock runs callbacks on
// the caller's goroutine, in deadline order and, for equal deadlines, in the order they were
// scheduled, so a run with a Manual clock is reproducible.
package clock

import (
	"container/heap"
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
}

// Scheduler is a Clock that can also run a function later.
type Scheduler interface {
	Clock
	// AfterFunc arranges for f to run once d has passed.
	AfterFunc(d time.Duration, f func())
}

// System is the real clock: time.Now and time.AfterFunc (f runs on its own goroutine).
type System struct{}

var _ Scheduler = System{}

// Now returns time.Now().
func (System) Now() time.Time { return time.Now() }

// AfterFunc calls time.AfterFunc.
func (System) AfterFunc(d time.Duration, f func()) { time.AfterFunc(d, f) }

// Epoch is where Manual clocks start unless told otherwise: a fixed instant, so that
// captures recorded in virtual time carry the same timestamps on every run.
var Epoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// Manual is a virtual clock. Time moves only when Advance or AdvanceTo is called; callbacks due
// by then run on the caller's goroutine, ordered by deadline, then by scheduling order. It is
// safe for concurrent use, but callbacks always run on the goroutine that advances the clock.
type Manual struct {
	mu      sync.Mutex
	now     time.Time
	pending callbacks
	seq     uint64
}

var _ Scheduler = (*Manual)(nil)

// NewManual returns a Manual clock reading start (Epoch when start is zero).
func NewManual(start time.Time) *Manual {
	if start.IsZero() {
		start = Epoch
	}
	return &Manual{now: start}
}

// Now returns the virtual time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// AfterFunc schedules f to run when the clock has advanced by d (d <= 0: on the next advance).
func (m *Manual) AfterFunc(d time.Duration, f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d < 0 {
		d = 0
	}
	m.seq++
	heap.Push(&m.pending, callback{at: m.now.Add(d), seq: m.seq, f: f})
}

// Next returns the deadline of the earliest scheduled callback, if any.
func (m *Manual) Next() (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.pending) == 0 {
		return time.Time{}, false
	}
	return m.pending[0].at, true
}

// Advance moves the clock forward by d, running every callback that falls due on the way at its
// own deadline (Now reads that deadline while it runs).
func (m *Manual) Advance(d time.Duration) {
	m.AdvanceTo(m.Now().Add(d))
}

// AdvanceTo moves the clock to t (never backwards), running callbacks due by then in order.
// Callbacks scheduled by a running callback run too if they fall due by t.
func (m *Manual) AdvanceTo(t time.Time) {
	for {
		m.mu.Lock()
		if len(m.pending) == 0 || m.pending[0].at.After(t) {
			if t.After(m.now) {
				m.now = t
			}
			m.mu.Unlock()
			return
		}
		c := heap.Pop(&m.pending).(callback)
		if c.at.After(m.now) {
			m.now = c.at
		}
		m.mu.Unlock()
		c.f()
	}
}

type callback struct {
	at  time.Time
	seq uint64
	f   func()
}

type callbacks []callback

func (c callbacks) Len() int { return len(c) }
func (c callbacks) Less(i, j int) bool {
	if !c[i].at.Equal(c[j].at) {
		return c[i].at.Before(c[j].at)
	}
	return c[i].seq < c[j].seq
}
func (c callbacks) Swap(i, j int) { c[i], c[j] = c[j], c[i] }
func (c *callbacks) Push(x any)   { *c = append(*c, x.(callback)) }
func (c *callbacks) Pop() any {
	old := *c
	x := old[len(old)-1]
	*c = old[:len(old)-1]
	return x
}
