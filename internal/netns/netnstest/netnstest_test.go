package netnstest

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestNewCreatesANamespaceAndCleanupDeletesIt(t *testing.T) {
	var name string
	var sleeper *exec.Cmd
	t.Run("live", func(t *testing.T) {
		ns := New(t)
		name = ns.Name()
		if !strings.HasPrefix(name, "mtcp-test-") {
			t.Errorf("Name() = %q, want the mtcp-test- prefix", name)
		}
		if _, err := os.Stat("/run/netns/" + name); err != nil {
			t.Fatalf("namespace entry missing: %v", err)
		}
		out, err := ns.Run("ip", "-o", "link", "show", "lo")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "UP") {
			t.Errorf("lo is not up inside the namespace: %s", out)
		}
		if out, err := ns.Run("ip", "-o", "link", "show"); err != nil || strings.Count(strings.TrimSpace(out), "\n") != 0 {
			t.Errorf("the new namespace should hold only lo; got %q, %v", out, err)
		}
		sleeper = ns.Exec(context.Background(), "sleep", "600")
		if err := sleeper.Start(); err != nil {
			t.Fatal(err)
		}
	})
	if name == "" {
		return // skipped
	}
	if _, err := os.Stat("/run/netns/" + name); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("namespace %s still exists after the test: %v", name, err)
	}
	if sleeper != nil {
		done := make(chan error, 1)
		go func() { done <- sleeper.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("a process started with Exec survived the cleanup")
		}
	}
}

func TestRunReportsFailureWithOutput(t *testing.T) {
	ns := New(t)
	_, err := ns.Run("ip", "link", "show", "no-such-device")
	if err == nil || !strings.Contains(err.Error(), "no-such-device") {
		t.Fatalf("Run of a failing command = %v, want an error quoting its output", err)
	}
}

// recordingTB stands in for a test to see whether skipOrFail skips or fails.
type recordingTB struct {
	testing.TB
	skipped, failed bool
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Skip(args ...any) {
	r.skipped = true
	runtime.Goexit()
}
func (r *recordingTB) Fatal(args ...any) {
	r.failed = true
	runtime.Goexit()
}

func callSkipOrFail() *recordingTB {
	r := &recordingTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		skipOrFail(r, "no %s", "root")
	}()
	<-done
	return r
}

func TestSkipOrFailSkipsOutsideCIAndFailsUnderCI(t *testing.T) {
	t.Setenv("CI", "")
	if r := callSkipOrFail(); !r.skipped || r.failed {
		t.Errorf("without CI: skipped=%v failed=%v, want a skip", r.skipped, r.failed)
	}
	t.Setenv("CI", "true")
	if r := callSkipOrFail(); r.skipped || !r.failed {
		t.Errorf("with CI=true: skipped=%v failed=%v, want a failure", r.skipped, r.failed)
	}
}
