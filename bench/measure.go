package main

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"syscall"
	"time"
)

// sample is what one run of one case on one stack measured.
type sample struct {
	units    float64       // work done, in the case's unit (GiB, connections, echoes, round trips)
	elapsed  time.Duration // wall time of the work
	cpu      time.Duration // process CPU time (user + system, every thread) during the work
	mallocs  uint64        // heap allocations during the work (runtime.MemStats.Mallocs)
	peakHeap uint64        // the largest live heap seen during the work, sampled every 5 ms
	extra    map[string]float64
	err      error
}

// meter measures the process while a workload runs: CPU time, allocations, wall time and the
// peak of the heap.
type meter struct {
	start    time.Time
	cpu      time.Duration
	mallocs  uint64
	stop     chan struct{}
	sampled  sync.WaitGroup
	peakHeap uint64
}

// startMeter collects garbage, so that one run does not pay for the previous one's, and starts
// measuring.
func startMeter() *meter {
	runtime.GC()
	m := &meter{stop: make(chan struct{})}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.mallocs = ms.Mallocs
	m.peakHeap = liveHeap()
	m.sampled.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				m.peakHeap = max(m.peakHeap, liveHeap())
			}
		}
	})
	m.cpu = processCPU()
	m.start = time.Now()
	return m
}

// done stops measuring and fills in s's wall time, CPU, allocations and peak heap.
func (m *meter) done(s *sample) {
	s.elapsed = time.Since(m.start)
	s.cpu = processCPU() - m.cpu
	close(m.stop)
	m.sampled.Wait()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.mallocs = ms.Mallocs - m.mallocs
	s.peakHeap = max(m.peakHeap, liveHeap())
}

var heapObjects = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}

// liveHeap returns the bytes in heap objects, live or not yet swept, without stopping the world.
func liveHeap() uint64 {
	s := make([]metrics.Sample, 1)
	s[0].Name = heapObjects[0].Name
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// heapAfterGC returns the live heap after two collections. It reads the runtime's metrics once
// first: their tables are built on the first read (about 0.5 MB), which must not land between
// a baseline and the measurement after it.
func heapAfterGC() uint64 {
	liveHeap()
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// processCPU returns the CPU time (user + system) the process has used, on every core.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
