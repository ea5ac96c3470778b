package gvisor_test

import (
	"fmt"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/harness/conformance"
	"github.com/mtcp-go/mtcp/harness/script"

	"github.com/mtcp-go/mtcp/targets/gvisor"
)

// The floors: how many of the embedded scenario scripts gVisor passes at least, as written and
// with --lenient (window, option values and order, and getsockopt buffer sizes not compared).
// The scripts are written against mtcp's policy (a 1 s minimum RTO, 200 ms delayed ACKs, a
// 64 KB window, ...), so gVisor failing many of them is a finding about gVisor, not a bug of the
// target; the floors catch a target that regresses. Measured on the corpus of this writing:
// 47 and 82 of 187 (the corpus changes; the floors sit a little below).
const (
	corpusFloor        = 42
	corpusFloorLenient = 75
)

// scriptWatchdog bounds the wall time of one script: the runner works in virtual time, so a
// script that takes this long means the target hangs. It is not a wait for protocol timing.
const scriptWatchdog = 2 * time.Minute

// TestCorpus runs every script of the embedded scenario corpus against gVisor, as written and
// with --lenient, and reports each verdict. It fails when the target panics or hangs, when a
// script cannot run at all, or when fewer scripts pass than the floor; not because a script
// fails.
func TestCorpus(t *testing.T) {
	scripts, err := conformance.Corpus()
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []struct {
		name  string
		cfg   script.Config
		floor int
	}{
		{"as-written", script.Config{Target: gvisor.Target{}}, corpusFloor},
		{"lenient", script.Config{Target: gvisor.Target{}, Lenient: true}, corpusFloorLenient},
	} {
		t.Run(mode.name, func(t *testing.T) {
			passed := 0
			for _, sc := range scripts {
				res, err := runGuarded(sc, mode.cfg)
				switch {
				case err != nil:
					t.Fatalf("%s: %v", sc.Name, err)
				case res.Passed():
					passed++
					t.Logf("pass %s", sc.Name)
				default:
					first, _, _ := strings.Cut(res.Failure.Error(), "\n")
					t.Logf("FAIL %s", first)
				}
			}
			t.Logf("gvisor passes %d of %d scripts (%s)", passed, len(scripts), mode.name)
			if passed < mode.floor {
				t.Errorf("gvisor passes %d scripts (%s), fewer than the floor of %d", passed, mode.name, mode.floor)
			}
		})
	}
}

// runGuarded runs one script against a fresh gVisor DUT, turning a panic of the target or the
// runner into an error and a run that does not end within scriptWatchdog into one too.
func runGuarded(sc conformance.Script, cfg script.Config) (*script.Result, error) {
	type outcome struct {
		res *script.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- outcome{err: fmt.Errorf("panic: %v\n%s", r, debug.Stack())}
			}
		}()
		res, err := script.Run(sc.Script, cfg)
		done <- outcome{res, err}
	}()
	select {
	case o := <-done:
		return o.res, o.err
	case <-time.After(scriptWatchdog):
		return nil, fmt.Errorf("still running after %v of wall time: the target hangs", scriptWatchdog)
	}
}

// TestCorpusDeterministic runs the corpus twice and compares every frame of every script:
// bytes, direction and virtual time must be the same (the package documentation says how the
// target makes gVisor deterministic; this is the check on the whole corpus).
func TestCorpusDeterministic(t *testing.T) {
	scripts, err := conformance.Corpus()
	if err != nil {
		t.Fatal(err)
	}
	render := func(sc conformance.Script) []string {
		res, err := runGuarded(sc, script.Config{Target: gvisor.Target{}})
		if err != nil {
			t.Fatalf("%s: %v", sc.Name, err)
		}
		var out []string
		for _, f := range res.Frames() {
			out = append(out, fmt.Sprintf("%s %v %x", f.Time.Format(time.RFC3339Nano), f.Direction, f.Data))
		}
		return append(out, res.Verdict())
	}
	frames := 0
	for _, sc := range scripts {
		first, again := render(sc), render(sc)
		frames += len(first) - 1
		if len(first) != len(again) {
			t.Errorf("%s: %d frames, then %d", sc.Name, len(first)-1, len(again)-1)
			continue
		}
		for i := range first {
			if first[i] != again[i] {
				t.Errorf("%s: run 2 differs at frame %d:\n  %s\n  %s", sc.Name, i+1, again[i], first[i])
				break
			}
		}
	}
	t.Logf("%d scripts, %d frames each run, identical", len(scripts), frames)
}
