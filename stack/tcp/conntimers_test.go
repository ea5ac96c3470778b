package tcp

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// recordTimers replaces what each timer runs with a recorder of "kind@ms" (ms after t0) for
// the test's duration.
func recordTimers(t *testing.T, t0 time.Time) *[]string {
	var fired []string
	saved := timerFuncs
	t.Cleanup(func() { timerFuncs = saved })
	for k := range numTimers {
		timerFuncs[k] = func(_ *Conn, now time.Time) {
			fired = append(fired, fmt.Sprintf("%d@%d", k, now.Sub(t0).Milliseconds()))
		}
	}
	return &fired
}

// A connection's timers share one heap entry, and still fire as separate timers would: in
// deadline order, ties in the order they were armed, each with its own deadline as now.
func TestConnTimersFireInDeadlineThenArmingOrder(t *testing.T) {
	c, h := established(t, 1<<16)
	t0 := h.now
	fired := recordTimers(t, t0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	c.arm(rtxTimer, ms(200))
	c.arm(delackTimer, ms(40))
	c.arm(waitTimer, ms(40))
	c.arm(keepTimer, ms(10))
	c.arm(keepTimer, ms(40)) // re-armed: now after wait
	if h.timers.Len() != 1 {
		t.Fatalf("%d heap entries for one connection's timers, want 1", h.timers.Len())
	}
	h.timers.Fire(ms(1000))
	want := []string{"1@40", "6@40", "3@40", "0@200"}
	if !slices.Equal(*fired, want) {
		t.Fatalf("fired %v, want %v", *fired, want)
	}
	if h.timers.Len() != 0 || c.tm.armed != 0 {
		t.Fatalf("after firing: %d heap entries, armed %b; want none", h.timers.Len(), c.tm.armed)
	}
}

// A timer moved later costs no heap operation: the entry fires at the old deadline, runs
// nothing, and waits for the new one. Stopping one timer leaves the others; stopping the last
// frees the heap entry.
func TestConnTimersMoveLaterAndStop(t *testing.T) {
	c, h := established(t, 1<<16)
	t0 := h.now
	fired := recordTimers(t, t0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	c.arm(rtxTimer, ms(100))
	c.arm(rtxTimer, ms(300))
	if !c.armed(rtxTimer) || !c.deadline(rtxTimer).Equal(ms(300)) {
		t.Fatalf("rtx armed %v for %v, want armed for +300ms", c.armed(rtxTimer), c.deadline(rtxTimer))
	}
	h.timers.Fire(ms(150))
	if len(*fired) != 0 {
		t.Fatalf("fired %v at +150ms, want nothing", *fired)
	}
	if next, ok := h.timers.Next(); !ok || !next.Equal(ms(300)) {
		t.Fatalf("heap's next deadline %v (%v), want +300ms", next, ok)
	}
	c.arm(persistTimer, ms(500))
	c.stop(rtxTimer)
	if h.timers.Len() != 1 || c.armed(rtxTimer) || !c.armed(persistTimer) {
		t.Fatalf("after stopping rtx: %d entries, rtx %v, persist %v", h.timers.Len(), c.armed(rtxTimer), c.armed(persistTimer))
	}
	h.timers.Fire(ms(400))
	if len(*fired) != 0 {
		t.Fatalf("fired %v at +400ms after rtx was stopped, want nothing", *fired)
	}
	c.stop(persistTimer)
	if h.timers.Len() != 0 {
		t.Fatalf("%d heap entries with no timer armed, want 0", h.timers.Len())
	}
	h.timers.Fire(ms(1000))
	if len(*fired) != 0 {
		t.Fatalf("fired %v after every timer was stopped", *fired)
	}
	// The control: armed and left alone, it fires.
	c.arm(persistTimer, ms(1500))
	h.timers.Fire(ms(2000))
	if want := []string{"2@1500"}; !slices.Equal(*fired, want) {
		t.Fatalf("fired %v, want %v", *fired, want)
	}
}

// A timer armed by a firing timer for a time already reached fires in the same pass, as the
// heap's own timers do.
func TestConnTimersArmedWhileFiring(t *testing.T) {
	c, h := established(t, 1<<16)
	t0 := h.now
	fired := recordTimers(t, t0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	record := timerFuncs[delackTimer]
	timerFuncs[delackTimer] = func(c *Conn, now time.Time) {
		record(c, now)
		c.arm(probeTimer, now.Add(5*time.Millisecond))
		c.arm(reoTimer, now.Add(time.Hour))
	}
	c.arm(delackTimer, ms(10))
	h.timers.Fire(ms(20))
	if want := []string{"1@10", "4@15"}; !slices.Equal(*fired, want) {
		t.Fatalf("fired %v, want %v", *fired, want)
	}
	if !c.armed(reoTimer) || h.timers.Len() != 1 {
		t.Fatalf("reo armed %v, %d heap entries; want armed, 1", c.armed(reoTimer), h.timers.Len())
	}
}
