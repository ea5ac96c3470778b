// Package demotest runs an example binary inside a network namespace made for a live test:
// build it, start it, wait for its ready line, stop it with SIGTERM and check it stopped
// cleanly; or run it with flags it must refuse, and collect its exit status. The timeouts bound
// real processes and a real kernel; they are not protocol timing.
package demotest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/internal/netns/netnstest"
)

// Build compiles the example in the current directory (the test's package).
func Build(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "example")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Refused runs bin with args in the test's own namespace, for a run that must end before it
// touches anything: a bad flag, --help. It returns what the example printed and its exit
// status. As a guard, the arguments start with --netns naming a namespace that does not exist:
// a run that got past its flag checks by mistake still could not create a device, because the
// TAP link opens only inside the namespace --netns names.
func Refused(t testing.TB, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	guard := []string{"--netns", fmt.Sprintf("mtcp-absent-%d", os.Getpid())}
	cmd := exec.CommandContext(ctx, bin, append(guard, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("%s: %v", filepath.Base(bin), err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// Running is an example started by Start.
type Running struct {
	t      testing.TB
	cmd    *exec.Cmd
	Ready  string // the line it printed when ready
	stderr *strings.Builder
	cancel context.CancelFunc
	done   bool
}

// Start runs bin with args inside ns and waits (at most 30 s) for its ready line.
func Start(t testing.TB, ns *netnstest.NS, bin string, args ...string) *Running {
	t.Helper()
	return StartEnv(t, ns, nil, bin, args...)
}

// StartEnv is Start with env (NAME=value) added to the process's environment.
func StartEnv(t testing.TB, ns *netnstest.NS, env []string, bin string, args ...string) *Running {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	r := &Running{t: t, cancel: cancel, stderr: &strings.Builder{}}
	r.cmd = ns.Exec(ctx, append([]string{bin}, args...)...)
	if env != nil {
		r.cmd.Env = append(os.Environ(), env...)
	}
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stderr = r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !r.done {
			_ = r.cmd.Process.Kill()
			_ = r.cmd.Wait()
		}
		cancel()
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if !strings.Contains(line, "ready") {
			t.Fatalf("%s printed %q; stderr %q", filepath.Base(bin), line, r.stderr.String())
		}
		r.Ready = strings.TrimSpace(line)
	case <-time.After(30 * time.Second):
		t.Fatalf("%s not ready after 30 s; stderr %q", filepath.Base(bin), r.stderr.String())
	}
	return r
}

// Stop sends SIGTERM and checks the example exits 0 with its shutdown summary; it returns the
// summary line.
func (r *Running) Stop() string {
	r.t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		r.t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- r.cmd.Wait() }()
	select {
	case err := <-errc:
		r.done = true
		if err != nil {
			r.t.Fatalf("exit after SIGTERM: %v; stderr %q", err, r.stderr.String())
		}
	case <-time.After(30 * time.Second):
		r.t.Fatalf("did not stop within 30 s of SIGTERM; stderr %q", r.stderr.String())
	}
	if !strings.Contains(r.stderr.String(), "stopped") {
		r.t.Fatalf("no shutdown summary on stderr: %q", r.stderr.String())
	}
	return strings.TrimSpace(r.stderr.String())
}
