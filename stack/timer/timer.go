// Package timer is the core's timer heap: timers ordered by deadline and, for equal deadlines,
// by the order they were armed, so that a run is reproducible.
//
// The heap never reads a clock and never starts a goroutine: the owner asks for the next
// deadline and calls Fire with the current time. Timers are values embedded in the structures
// that own them; arming, re-arming and stopping them does not allocate.
package timer

import "time"

// Timer is one timer. Its zero value is unarmed; set its function with Init before arming it.
type Timer struct {
	at    int64 // the deadline: nanoseconds after the heap's epoch
	seq   uint64
	index int32 // position in the heap + 1; 0 when not armed
	fn    func(now time.Time)
}

// Init sets the function the timer calls when it fires. now is the deadline being fired.
func (t *Timer) Init(fn func(now time.Time)) { t.fn = fn }

// Armed reports whether the timer is waiting to fire.
func (t *Timer) Armed() bool { return t.index != 0 }

// Heap holds armed timers.
type Heap struct {
	timers []*Timer
	seq    uint64
	// epoch is the first deadline armed: timers keep theirs as nanoseconds after it, in 8
	// bytes where a time.Time takes 24 (on the monotonic clock when the times carry it).
	epoch time.Time
}

// Deadline returns when an armed timer t fires.
func (h *Heap) Deadline(t *Timer) time.Time { return h.epoch.Add(time.Duration(t.at)) }

// Before reports whether deadline is before an armed timer t's deadline: Deadline(t) and
// Time.Before in one subtraction.
func (h *Heap) Before(t *Timer, deadline time.Time) bool {
	return deadline.Sub(h.epoch) < time.Duration(t.at)
}

// Len returns the number of armed timers.
func (h *Heap) Len() int { return len(h.timers) }

// Arm schedules t to fire at deadline, re-arming it if it was armed already. A re-armed timer
// orders after timers armed earlier for the same deadline.
func (h *Heap) Arm(t *Timer, deadline time.Time) {
	h.seq++
	if h.epoch.IsZero() {
		h.epoch = deadline
	}
	t.at, t.seq = int64(deadline.Sub(h.epoch)), h.seq
	if t.index == 0 {
		h.timers = append(h.timers, t)
		t.index = int32(len(h.timers))
		h.up(len(h.timers) - 1)
		return
	}
	i := int(t.index) - 1
	if !h.down(i) {
		h.up(i)
	}
}

// Stop disarms t; it reports whether t was armed.
func (h *Heap) Stop(t *Timer) bool {
	if t.index == 0 {
		return false
	}
	i, last := int(t.index)-1, len(h.timers)-1
	if i != last {
		h.swap(i, last)
	}
	h.timers[last] = nil
	h.timers = h.timers[:last]
	t.index = 0
	if i != last {
		if !h.down(i) {
			h.up(i)
		}
	}
	return true
}

// Next returns the earliest deadline, if any timer is armed.
func (h *Heap) Next() (time.Time, bool) {
	if len(h.timers) == 0 {
		return time.Time{}, false
	}
	return h.Deadline(h.timers[0]), true
}

// Fire runs, in order, every timer whose deadline is not after now, including timers armed by
// the functions it runs, and returns how many ran. Each function gets its own deadline as now.
func (h *Heap) Fire(now time.Time) int {
	n := 0
	limit := int64(now.Sub(h.epoch))
	for len(h.timers) > 0 && h.timers[0].at <= limit {
		t := h.timers[0]
		h.Stop(t)
		n++
		if t.fn != nil {
			t.fn(h.Deadline(t))
		}
	}
	return n
}

func (h *Heap) less(i, j int) bool {
	a, b := h.timers[i], h.timers[j]
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

func (h *Heap) swap(i, j int) {
	h.timers[i], h.timers[j] = h.timers[j], h.timers[i]
	h.timers[i].index = int32(i + 1)
	h.timers[j].index = int32(j + 1)
}

func (h *Heap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(j, i) {
			return
		}
		h.swap(i, j)
		j = i
	}
}

func (h *Heap) down(i int) bool {
	start, n := i, len(h.timers)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && h.less(r, l) {
			j = r
		}
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > start
}
