package clock_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/stack/clock"
)

func TestNewManualStartsAtEpochWhenStartIsZero(t *testing.T) {
	if got := clock.NewManual(time.Time{}).Now(); !got.Equal(clock.Epoch) {
		t.Fatalf("Now() = %v, want Epoch %v", got, clock.Epoch)
	}
	start := time.Date(2000, time.May, 4, 3, 2, 1, 0, time.UTC)
	if got := clock.NewManual(start).Now(); !got.Equal(start) {
		t.Fatalf("Now() = %v, want %v", got, start)
	}
}

func TestManualRunsCallbacksByDeadlineThenBySchedulingOrder(t *testing.T) {
	m := clock.NewManual(time.Time{})
	var ran []string
	schedule := func(d time.Duration, name string) {
		m.AfterFunc(d, func() { ran = append(ran, name) })
	}
	schedule(3*time.Second, "a@3s")
	schedule(1*time.Second, "b@1s")
	schedule(3*time.Second, "c@3s")
	schedule(1*time.Second, "d@1s")
	schedule(2*time.Second, "e@2s")

	m.Advance(5 * time.Second)

	want := []string{"b@1s", "d@1s", "e@2s", "a@3s", "c@3s"}
	if !slices.Equal(ran, want) {
		t.Fatalf("callbacks ran as %v, want %v", ran, want)
	}
}

func TestManualRunsOnlyCallbacksDueByTheTarget(t *testing.T) {
	m := clock.NewManual(time.Time{})
	var ran []string
	m.AfterFunc(time.Second, func() { ran = append(ran, "1s") })
	m.AfterFunc(2*time.Second, func() { ran = append(ran, "2s") })

	m.Advance(time.Second) // a deadline equal to the target is due
	if !slices.Equal(ran, []string{"1s"}) {
		t.Fatalf("after 1s ran %v, want [1s]", ran)
	}
	m.Advance(999 * time.Millisecond)
	if !slices.Equal(ran, []string{"1s"}) {
		t.Fatalf("after 1.999s ran %v, want [1s]", ran)
	}
	m.Advance(time.Millisecond)
	if !slices.Equal(ran, []string{"1s", "2s"}) {
		t.Fatalf("after 2s ran %v, want [1s 2s]", ran)
	}
}

func TestManualRunsCallbacksScheduledByCallbacksWhenDue(t *testing.T) {
	m := clock.NewManual(time.Time{})
	var ran []string
	m.AfterFunc(time.Second, func() {
		ran = append(ran, "outer@1s")
		m.AfterFunc(0, func() { ran = append(ran, "zero@1s") })
		m.AfterFunc(time.Second, func() { ran = append(ran, "inner@2s") })
		m.AfterFunc(5*time.Second, func() { ran = append(ran, "late@6s") })
	})
	m.AfterFunc(1500*time.Millisecond, func() { ran = append(ran, "other@1.5s") })

	m.Advance(3 * time.Second)

	want := []string{"outer@1s", "zero@1s", "other@1.5s", "inner@2s"}
	if !slices.Equal(ran, want) {
		t.Fatalf("callbacks ran as %v, want %v", ran, want)
	}
	next, ok := m.Next()
	if !ok || !next.Equal(clock.Epoch.Add(6*time.Second)) {
		t.Fatalf("Next() = %v, %v; want Epoch+6s, true", next, ok)
	}
}

func TestManualNowDuringACallbackReadsItsDeadline(t *testing.T) {
	m := clock.NewManual(time.Time{})
	var seen []time.Duration
	for _, d := range []time.Duration{time.Second, 2500 * time.Millisecond} {
		m.AfterFunc(d, func() { seen = append(seen, m.Now().Sub(clock.Epoch)) })
	}

	m.Advance(10 * time.Second)

	if want := []time.Duration{time.Second, 2500 * time.Millisecond}; !slices.Equal(seen, want) {
		t.Fatalf("Now() inside callbacks read %v, want %v", seen, want)
	}
	if got := m.Now().Sub(clock.Epoch); got != 10*time.Second {
		t.Fatalf("Now() after Advance = Epoch+%v, want Epoch+10s", got)
	}
}

func TestManualNeverGoesBackwards(t *testing.T) {
	m := clock.NewManual(time.Time{})
	m.Advance(5 * time.Second)
	want := clock.Epoch.Add(5 * time.Second)

	m.Advance(-time.Second)
	if got := m.Now(); !got.Equal(want) {
		t.Fatalf("after Advance(-1s) Now() = %v, want %v", got, want)
	}
	m.AdvanceTo(clock.Epoch)
	if got := m.Now(); !got.Equal(want) {
		t.Fatalf("after AdvanceTo(Epoch) Now() = %v, want %v", got, want)
	}
	m.Advance(0)
	if got := m.Now(); !got.Equal(want) {
		t.Fatalf("after Advance(0) Now() = %v, want %v", got, want)
	}
}

func TestManualRunsNonPositiveDelaysOnTheNextAdvance(t *testing.T) {
	m := clock.NewManual(time.Time{})
	ran := 0
	m.AfterFunc(0, func() { ran++ })
	m.AfterFunc(-time.Hour, func() { ran++ })
	if ran != 0 {
		t.Fatalf("AfterFunc ran its callback before any advance")
	}
	next, ok := m.Next()
	if !ok || !next.Equal(clock.Epoch) {
		t.Fatalf("Next() = %v, %v; want Epoch (now), true", next, ok)
	}

	m.Advance(0)

	if ran != 2 {
		t.Fatalf("Advance(0) ran %d callbacks, want 2", ran)
	}
	if got := m.Now(); !got.Equal(clock.Epoch) {
		t.Fatalf("Now() = %v, want Epoch: a negative delay must not move time backwards", got)
	}
}

func TestManualNextReportsTheEarliestDeadline(t *testing.T) {
	m := clock.NewManual(time.Time{})
	if next, ok := m.Next(); ok {
		t.Fatalf("Next() on an empty clock = %v, true; want false", next)
	}
	m.AfterFunc(3*time.Second, func() {})
	m.AfterFunc(time.Second, func() {})
	if next, ok := m.Next(); !ok || !next.Equal(clock.Epoch.Add(time.Second)) {
		t.Fatalf("Next() = %v, %v; want Epoch+1s, true", next, ok)
	}
	m.Advance(time.Second)
	if next, ok := m.Next(); !ok || !next.Equal(clock.Epoch.Add(3*time.Second)) {
		t.Fatalf("after 1s Next() = %v, %v; want Epoch+3s, true", next, ok)
	}
	m.Advance(2 * time.Second)
	if next, ok := m.Next(); ok {
		t.Fatalf("after 3s Next() = %v, true; want false", next)
	}
}

func TestManualIsSafeForConcurrentScheduling(t *testing.T) {
	m := clock.NewManual(time.Time{})
	var mu sync.Mutex
	ran := 0
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				m.AfterFunc(time.Duration(g*100+i)*time.Millisecond, func() {
					mu.Lock()
					ran++
					mu.Unlock()
				})
				_ = m.Now()
				_, _ = m.Next()
			}
		})
	}
	wg.Wait()

	m.Advance(time.Minute)

	if ran != 800 {
		t.Fatalf("ran %d callbacks, want 800", ran)
	}
}

func TestSystemAfterFuncRuns(t *testing.T) {
	var s clock.Scheduler = clock.System{}
	before := s.Now()
	done := make(chan struct{})
	s.AfterFunc(time.Millisecond, func() { close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("System.AfterFunc did not run its callback within 10s")
	}
	if !s.Now().After(before) {
		t.Fatal("System.Now did not move forward")
	}
}
