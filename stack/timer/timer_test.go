package timer

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestFiresInDeadlineThenArmingOrder(t *testing.T) {
	var h Heap
	var got []string
	mk := func(name string) *Timer {
		tm := &Timer{}
		tm.Init(func(time.Time) { got = append(got, name) })
		return tm
	}
	a, b, c, d := mk("a"), mk("b"), mk("c"), mk("d")
	h.Arm(c, t0.Add(2*time.Second))
	h.Arm(a, t0.Add(time.Second))
	h.Arm(b, t0.Add(time.Second))
	h.Arm(d, t0.Add(time.Second))
	h.Arm(d, t0.Add(time.Second)) // re-armed: now after a and b
	if n := h.Fire(t0.Add(1500 * time.Millisecond)); n != 3 {
		t.Fatalf("fired %d timers, want 3", n)
	}
	if want := []string{"a", "b", "d"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	if next, ok := h.Next(); !ok || !next.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("Next = %v %v, want c's deadline", next, ok)
	}
}

func TestStopAndRearm(t *testing.T) {
	var h Heap
	fired := 0
	var tm Timer
	tm.Init(func(time.Time) { fired++ })
	h.Arm(&tm, t0.Add(time.Second))
	if !h.Stop(&tm) || h.Stop(&tm) {
		t.Fatal("Stop should report true once, then false")
	}
	h.Fire(t0.Add(time.Hour))
	if fired != 0 || tm.Armed() {
		t.Fatalf("stopped timer fired %d times, armed %v", fired, tm.Armed())
	}
	h.Arm(&tm, t0.Add(time.Second))
	h.Arm(&tm, t0.Add(3*time.Second))
	h.Fire(t0.Add(2 * time.Second))
	if fired != 0 {
		t.Fatal("re-armed timer fired at its old deadline")
	}
	h.Fire(t0.Add(3 * time.Second))
	if fired != 1 {
		t.Fatalf("fired %d, want 1", fired)
	}
}

func TestCallbackGetsItsDeadlineAndMayRearm(t *testing.T) {
	var h Heap
	var tm Timer
	var seen []time.Time
	tm.Init(func(now time.Time) {
		seen = append(seen, now)
		if len(seen) < 3 {
			h.Arm(&tm, now.Add(time.Second))
		}
	})
	h.Arm(&tm, t0.Add(time.Second))
	h.Fire(t0.Add(10 * time.Second))
	want := []time.Time{t0.Add(time.Second), t0.Add(2 * time.Second), t0.Add(3 * time.Second)}
	if !slices.EqualFunc(seen, want, time.Time.Equal) {
		t.Fatalf("fired at %v, want %v", seen, want)
	}
}

func TestRandomOperationsKeepHeapOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Heap
	timers := make([]Timer, 200)
	type rec struct {
		at  time.Time
		idx int
	}
	var fired []rec
	for i := range timers {
		timers[i].Init(func(now time.Time) { fired = append(fired, rec{now, i}) })
	}
	for range 5000 {
		tm := &timers[r.IntN(len(timers))]
		if r.IntN(4) == 0 {
			h.Stop(tm)
		} else {
			h.Arm(tm, t0.Add(time.Duration(r.IntN(50))*time.Millisecond))
		}
	}
	armed := h.Len()
	h.Fire(t0.Add(time.Hour))
	if len(fired) != armed || h.Len() != 0 {
		t.Fatalf("fired %d of %d armed timers, %d left", len(fired), armed, h.Len())
	}
	for i := 1; i < len(fired); i++ {
		if fired[i].at.Before(fired[i-1].at) {
			t.Fatalf("timer %d fired at %v after one at %v", fired[i].idx, fired[i].at, fired[i-1].at)
		}
	}
}

func TestArmStopDoNotAllocate(t *testing.T) {
	var h Heap
	timers := make([]Timer, 64)
	for i := range timers {
		h.Arm(&timers[i], t0) // grow the heap once
	}
	allocs := testing.AllocsPerRun(100, func() {
		for i := range timers {
			h.Arm(&timers[i], t0.Add(time.Duration(i%7)*time.Second))
		}
		for i := range timers {
			h.Stop(&timers[i])
		}
		for i := range timers {
			h.Arm(&timers[i], t0)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per run, want 0", allocs)
	}
}

// Deadlines are kept as offsets from the first one armed, and come back exact: before that
// first deadline, long after it, and on a clock with a monotonic reading.
func TestDeadlinesRoundTrip(t *testing.T) {
	var h Heap
	mono := time.Now()
	for _, base := range []time.Time{t0, mono} {
		h = Heap{}
		var timers [4]Timer
		deadlines := []time.Time{base, base.Add(-time.Hour), base.Add(1234567 * time.Nanosecond), base.Add(90 * 24 * time.Hour)}
		for i, d := range deadlines {
			h.Arm(&timers[i], d)
		}
		for i, d := range deadlines {
			if got := h.Deadline(&timers[i]); !got.Equal(d) {
				t.Errorf("timer %d: deadline %v, want %v", i, got, d)
			}
		}
		if next, _ := h.Next(); !next.Equal(deadlines[1]) {
			t.Errorf("next %v, want %v", next, deadlines[1])
		}
		// Before agrees with Deadline and Time.Before, either side of each deadline and on it.
		for i, d := range deadlines {
			for _, at := range []time.Time{d.Add(-time.Nanosecond), d, d.Add(time.Nanosecond)} {
				if got, want := h.Before(&timers[i], at), at.Before(h.Deadline(&timers[i])); got != want {
					t.Errorf("timer %d: Before(%v) = %v, want %v", i, at, got, want)
				}
			}
		}
	}
}
