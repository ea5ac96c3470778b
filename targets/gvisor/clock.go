package gvisor

import (
	"container/heap"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
)

// clock is the stack's tcpip.Clock: virtual time that moves only when the DUT is told to move
// it, with every timer callback run by the DUT's driver, one at a time, in a fixed order.
//
// It keeps the semantics of faketime.ManualClock, gVisor's own manual clock for tests, and
// differs in the three things that stop ManualClock from driving a deterministic bench (see the
// package documentation):
//
//   - ManualClock keeps its timers in a heap but does not export the earliest deadline; this
//     clock reports it (NextDeadline) exactly.
//   - ManualClock runs the timers due at one instant in Go's map order, which is randomised;
//     this clock runs them in the order they were armed (deadline, then arming order).
//   - ManualClock runs a callback armed with a zero or negative delay on a new goroutine at once,
//     concurrently with whatever armed it; this clock queues it, and the driver runs the queue
//     when the stack is otherwise idle (settle), first armed first run. The callback still runs
//     outside the context that armed it, as ManualClock's goroutine would, so it takes the locks
//     it needs without deadlock.
//
// Now and NowMonotonic read as ManualClock's do: NowMonotonic is the time since the Unix epoch.
type clock struct {
	mu sync.Mutex
	// now is the current virtual time.
	now time.Time
	// seq numbers the armings, for the order of timers due at the same instant.
	seq uint64
	// timers are the armed timers with a positive delay, earliest first.
	timers timerHeap
	// immediate are the callbacks armed with a delay ≤ 0, not yet run, first armed first.
	immediate []func()
	// started is set once the driver has set the time (rebase).
	started bool
}

var _ tcpip.Clock = (*clock)(nil)

func newClock(start time.Time) *clock { return &clock{now: start} }

// Now implements tcpip.Clock.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NowMonotonic implements tcpip.Clock, as ManualClock does: the time since the Unix epoch.
func (c *clock) NowMonotonic() tcpip.MonotonicTime {
	var mt tcpip.MonotonicTime
	return mt.Add(c.Now().Sub(time.Unix(0, 0)))
}

// AfterFunc implements tcpip.Clock.
func (c *clock) AfterFunc(d time.Duration, f func()) tcpip.Timer {
	t := &timer{c: c, f: f, index: -1}
	c.mu.Lock()
	c.armLocked(t, d)
	c.mu.Unlock()
	return t
}

// armLocked schedules t after d: in the heap for d > 0, on the immediate queue otherwise.
func (c *clock) armLocked(t *timer, d time.Duration) {
	if d <= 0 {
		c.immediate = append(c.immediate, t.f)
		return
	}
	t.at = c.now.Add(d)
	t.seq = c.seq
	c.seq++
	heap.Push(&c.timers, t)
}

// rebase sets the time the first time the driver gives one, moving the timers armed while the
// stack was being built by the same amount, so that their delays hold. Later calls are setNow.
func (c *clock) rebase(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		c.setNowLocked(t)
		return
	}
	c.started = true
	shift := t.Sub(c.now)
	c.now = t
	for _, tm := range c.timers {
		tm.at = tm.at.Add(shift)
	}
}

// setNowLocked moves the time to t, never backwards.
func (c *clock) setNowLocked(t time.Time) {
	if t.After(c.now) {
		c.now = t
	}
}

// nextDeadline returns the earliest armed timer's deadline.
func (c *clock) nextDeadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	return c.timers[0].at, true
}

// popDue disarms and returns the callback of the earliest timer due by until, with the time
// moved to its deadline (never backwards); nil if none is due.
func (c *clock) popDue(until time.Time) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 || c.timers[0].at.After(until) {
		return nil
	}
	t := heap.Pop(&c.timers).(*timer)
	c.setNowLocked(t.at)
	return t.f
}

// popImmediate returns the oldest callback armed with a delay ≤ 0 not yet run, or nil.
func (c *clock) popImmediate() func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.immediate) == 0 {
		return nil
	}
	f := c.immediate[0]
	c.immediate[0] = nil
	c.immediate = c.immediate[1:]
	return f
}

// timer is one tcpip.Timer of the clock.
type timer struct {
	c     *clock
	f     func()
	at    time.Time
	seq   uint64
	index int // in the heap; -1 when not armed with a positive delay
}

// Stop implements tcpip.Timer: it disarms a timer armed with a positive delay and reports
// whether it was armed. A callback armed with a delay ≤ 0 runs regardless, as on ManualClock,
// where it is already running on its own goroutine.
func (t *timer) Stop() bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&c.timers, t.index)
	return true
}

// Reset implements tcpip.Timer: it rearms the timer to fire after d from now.
func (t *timer) Reset(d time.Duration) {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.index >= 0 {
		heap.Remove(&c.timers, t.index)
	}
	c.armLocked(t, d)
}

// timerHeap orders timers by deadline, then by arming order.
type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }

func (h timerHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}

func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}

func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}
