//go:build linux

package linuxdut

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/conformance"
	"github.com/mtcp-go/mtcp/harness/mtcpdut"
	"github.com/mtcp-go/mtcp/harness/script"
	"github.com/mtcp-go/mtcp/internal/netns"
	"github.com/mtcp-go/mtcp/internal/netns/netnstest"
)

// The corpus against the kernel. The scripts are written in virtual time, which is real time
// here: a script whose timers span minutes takes minutes. So the test runs every script with a
// time limit of corpusMaxScriptTime (script.Config.TimeLimit; corpusShortScriptTime with
// -short unless CI=true; LINUXDUT_CORPUS_MAX, a Go duration, sets it), corpusWorkers at a
// time, each in its own namespace: a longer script runs up to the limit and stops there
// without a verdict, counted apart with its script time. The limit bounds the test's time: six
// scripts reach 61.5 s and two more take 60 s; with 16 workers the other scripts are done in
// that time. Linux's policy is not mtcp's (RTO min 200 ms, quick ACKs, its own window
// and options), so a script that fails is logged, not an error; the test fails when the target
// cannot be made, panics, hangs, or leaves a namespace behind. LINUXDUT_CORPUS_LENIENT=1 runs
// the scripts with script.Config.Lenient (window, option values and order not compared).
const (
	corpusMaxScriptTime = 61500 * time.Millisecond
	// corpusShortScriptTime is the limit with -short (netnstest.Short: not under CI=true), for
	// a quick local run; LINUXDUT_CORPUS_MAX overrides either.
	corpusShortScriptTime = 10 * time.Second
	corpusWorkers         = 16
	// corpusMaxWaitSlack is added to a script's estimated time for its '*' lines (Config.MaxWait).
	corpusMaxWaitSlack = 5 * time.Second
)

// scriptTime estimates how long a script runs: what it took against mtcp, or its timeline
// (the last time a line names) if that is longer, as a run against another stack can go
// further than mtcp's when a line waits.
func scriptTime(s *script.Script) (time.Duration, error) {
	res, err := script.Run(s, script.Config{Target: mtcpdut.Target{}})
	if err != nil {
		return 0, err
	}
	return max(res.Elapsed, timeline(s)), nil
}

// timeline is the latest time a script's lines name, reading relative times from the previous
// line and '*' as the previous line's time.
func timeline(s *script.Script) time.Duration {
	var last, end time.Duration
	for _, e := range s.Events {
		t := last
		switch e.Time.Kind {
		case script.TimeNone:
			continue
		case script.TimeAbsolute:
			t = e.Time.Start
			if e.Time.Range {
				t = e.Time.End
			}
		case script.TimeRelative:
			t = last + e.Time.Start
			if e.Time.Range {
				t = last + e.Time.End
			}
		}
		if e.Kind == script.EventSyscall && e.Syscall.HasEndTime && e.Syscall.EndTime > t {
			t = e.Syscall.EndTime
		}
		last, end = t, max(end, t)
	}
	return end + s.Tolerance
}

// recorder is a Target that keeps the DUTs it made, so that the watchdog can stop a run and
// the test can check that their namespaces are gone once script.Run destroyed them.
type recorder struct {
	mu   sync.Mutex
	duts []*DUT
}

func (r *recorder) Name() string { return "linux" }

func (r *recorder) NewDUT() (harness.DUT, error) {
	d, err := New()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.duts = append(r.duts, d)
	r.mu.Unlock()
	return d, nil
}

// release releases the DUTs and returns an error for each namespace left behind.
func (r *recorder) release() error {
	r.mu.Lock()
	duts := r.duts
	r.mu.Unlock()
	var errs []error
	for _, d := range duts {
		if err := d.Release(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(append(errs, r.gone())...)
}

// gone returns an error for each of the DUTs' namespaces still in /run/netns.
func (r *recorder) gone() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, d := range r.duts {
		if _, err := os.Lstat(filepath.Join(netns.RunDir, d.Namespace())); !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("namespace %s left in %s", d.Namespace(), netns.RunDir))
		}
	}
	return errors.Join(errs...)
}

// outcome is one script's run.
type outcome struct {
	name           string
	est, real, ran time.Duration // estimated and real time; the script time it ran
	lag            time.Duration // the DUT's MaxLag
	res            *script.Result
	err            error // the target failed, panicked, hung or leaked
}

func TestCorpusAgainstLinux(t *testing.T) {
	requireLive(t)
	maxTime := corpusMaxScriptTime
	if netnstest.Short() {
		maxTime = corpusShortScriptTime
	}
	if v := os.Getenv("LINUXDUT_CORPUS_MAX"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("LINUXDUT_CORPUS_MAX=%q: %v", v, err)
		}
		maxTime = d
	}
	lenient := os.Getenv("LINUXDUT_CORPUS_LENIENT") == "1"
	scripts, err := conformance.Corpus()
	if err != nil {
		t.Fatal(err)
	}
	type job struct {
		sc  conformance.Script
		est time.Duration
	}
	var jobs []job
	for _, sc := range scripts {
		est, err := scriptTime(sc.Script)
		if err != nil {
			t.Fatalf("%s against mtcp: %v", sc.Name, err)
		}
		jobs = append(jobs, job{sc, est})
	}
	// Longest first, so that the long ones overlap the many short ones.
	slices.SortStableFunc(jobs, func(a, b job) int { return int(b.est - a.est) })

	start := time.Now()
	outcomes := make([]outcome, len(jobs))
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range min(corpusWorkers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) {
					return
				}
				outcomes[i] = runOne(jobs[i].sc, jobs[i].est, maxTime, lenient)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)

	var passed, failed, broken, long int
	var ran, lag time.Duration
	for _, o := range outcomes {
		ran += o.ran
		lag = max(lag, o.lag)
		switch {
		case o.err != nil:
			broken++
			t.Errorf("%s: %v", o.name, o.err)
		case o.res.NotRun != "":
			long++
			t.Logf("limit %-60s script %7.3f s of %.1f s, real %7.3f s: %s", o.name, o.ran.Seconds(), o.est.Seconds(), o.real.Seconds(), o.res.NotRun)
		case o.res.Passed():
			passed++
			t.Logf("pass  %-60s script %7.3f s, real %7.3f s, lag %v", o.name, o.ran.Seconds(), o.real.Seconds(), o.lag.Round(time.Microsecond))
		default:
			failed++
			msg, _, _ := strings.Cut(o.res.Failure.Error(), "\n")
			t.Logf("FAIL  %-60s script %7.3f s, real %7.3f s, lag %v: %s", o.name, o.ran.Seconds(), o.real.Seconds(), o.lag.Round(time.Microsecond), msg)
		}
	}
	mode := "compared as written"
	if lenient {
		mode = "lenient: window, option values and order not compared"
	}
	t.Logf("linux (%s): %d scripts: %d passed, %d failed, %d broken (target error, panic, hang or leak), %d stopped at the time limit of %v without a verdict (LINUXDUT_CORPUS_MAX runs longer)",
		mode, len(scripts), passed, failed, broken, long, maxTime)
	t.Logf("ran %.0f s of script time in %.1f s with %d at a time; the bench's worst lag behind the kernel's clock: %v",
		ran.Seconds(), wall.Seconds(), corpusWorkers, lag.Round(time.Microsecond))
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(l, "Threads:") {
				t.Logf("threads of the test process after the corpus: %s (each DUT's namespace thread ends with it)", strings.TrimSpace(strings.TrimPrefix(l, "Threads:")))
			}
		}
	}
	if left := leftNamespaces(); len(left) > 0 {
		t.Errorf("namespaces left in %s: %v", netns.RunDir, left)
	}
}

// runOne runs a script against a fresh kernel, with a watchdog: a run that takes far longer
// than its estimate is stopped by releasing its DUT (the rest of the run then goes by at
// once) and reported as hung.
func runOne(sc conformance.Script, est, limit time.Duration, lenient bool) (o outcome) {
	o = outcome{name: sc.Name, est: est}
	est = min(est, limit) // the run stops at the limit
	rec := &recorder{}
	defer func() {
		rec.mu.Lock()
		for _, d := range rec.duts {
			o.lag = max(o.lag, d.MaxLag())
		}
		rec.mu.Unlock()
	}()
	var hung atomic.Bool
	budget := 2*est + 30*time.Second
	dog := time.AfterFunc(budget, func() {
		hung.Store(true)
		_ = rec.release()
	})
	start := time.Now()
	defer func() {
		dog.Stop()
		o.real = time.Since(start)
		if v := recover(); v != nil {
			o.err = errors.Join(o.err, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
		}
		if err := rec.release(); err != nil {
			o.err = errors.Join(o.err, err)
		}
		if hung.Load() {
			o.err = errors.Join(o.err, fmt.Errorf("still running after %v of real time (estimated %v): hung", budget, est))
		}
	}()
	res, err := script.Run(sc.Script, script.Config{Target: rec, MaxWait: est + corpusMaxWaitSlack, Lenient: lenient, TimeLimit: limit})
	if err != nil {
		o.err = err
		return o
	}
	o.res, o.ran = res, res.Elapsed
	if err := rec.gone(); err != nil && !hung.Load() {
		o.err = fmt.Errorf("after script.Run (which destroys the DUT, a harness.Destroyer): %w", err)
	}
	return o
}

// leftNamespaces lists the namespaces of this process still in /run/netns.
func leftNamespaces() []string {
	entries, _ := os.ReadDir(netns.RunDir)
	prefix := fmt.Sprintf("%s%d-", NamePrefix, os.Getpid())
	var left []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			left = append(left, e.Name())
		}
	}
	return left
}
