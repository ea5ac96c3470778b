// Package netnstest gives live tests a throw-away network namespace, created with
// `ip netns add` and deleted when the test ends.
//
// A test that needs one calls New. Without root or without the ip command the test is skipped
// with the reason — unless the environment variable CI is "true", where a live test that cannot
// run is a failure, not a skip.
//
// The test process itself stays in the root namespace; code runs inside the namespace through
// Exec and Run (`ip netns exec NAME ...`), typically by re-executing the test binary. Tests
// configure only addresses from 198.18.0.0/15 (RFC 2544 benchmarking), and this package never
// touches the root namespace: it only adds, configures (lo up) and deletes its own namespace,
// and kills only the processes it started, by pid.
package netnstest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// NS is a network namespace that lives as long as the test that made it.
type NS struct {
	name string
	ip   string

	mu      sync.Mutex
	started []*exec.Cmd
}

var counter atomic.Uint64

// New creates the namespace mtcp-test-<pid>-<n>, brings its loopback up and registers a
// cleanup that kills the processes started with Exec or Run and deletes the namespace. It
// skips the test (fails it when CI=true) if the process is not root, `ip` is missing or the
// kernel refuses to create a namespace. On a system other than Linux it skips the test even
// under CI: there are no namespaces to make.
func New(t testing.TB) *NS {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("netnstest: network namespaces need Linux")
	}
	if os.Geteuid() != 0 {
		skipOrFail(t, "needs root to create a network namespace")
	}
	ip, err := lookIP()
	if err != nil {
		skipOrFail(t, "needs the ip command (iproute2): %v", err)
	}
	n := &NS{
		name: fmt.Sprintf("mtcp-test-%d-%d", os.Getpid(), counter.Add(1)),
		ip:   ip,
	}
	if out, err := exec.Command(ip, "netns", "add", n.name).CombinedOutput(); err != nil {
		skipOrFail(t, "ip netns add %s: %v: %s", n.name, err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { n.cleanup(t) })
	if out, err := exec.Command(ip, "-n", n.name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("netnstest: ip -n %s link set lo up: %v: %s", n.name, err, strings.TrimSpace(string(out)))
	}
	return n
}

// Name returns the namespace's name, the entry in /run/netns.
func (n *NS) Name() string { return n.name }

// Exec returns a command that runs args (a program and its arguments) inside the namespace via
// `ip netns exec`. ctx kills it as in exec.CommandContext. The command is remembered so that
// cleanup can kill it if it still runs when the test ends; `ip netns exec` execs the program
// in its own process, so the pid is the program's.
func (n *NS) Exec(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, n.ip, append([]string{"netns", "exec", n.name}, args...)...)
	n.mu.Lock()
	n.started = append(n.started, cmd)
	n.mu.Unlock()
	return cmd
}

// Run runs args inside the namespace and returns its combined output. The error, if any,
// includes the output.
func (n *NS) Run(args ...string) (string, error) {
	out, err := n.Exec(context.Background(), args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("netnstest: %s in %s: %w: %s", strings.Join(args, " "), n.name, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

func (n *NS) cleanup(t testing.TB) {
	n.mu.Lock()
	started := n.started
	n.started = nil
	n.mu.Unlock()
	for _, cmd := range started {
		if cmd.Process != nil && cmd.ProcessState == nil {
			_ = cmd.Process.Kill() // by pid; an already finished process just returns an error
		}
	}
	if out, err := exec.Command(n.ip, "netns", "del", n.name).CombinedOutput(); err != nil {
		t.Errorf("netnstest: ip netns del %s: %v: %s", n.name, err, strings.TrimSpace(string(out)))
	}
}

// skipOrFail skips the test, or fails it when the CI environment variable is "true".
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := "netnstest: " + fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: live tests must run)")
	}
	t.Skip(msg + " (set CI=true to make this a failure)")
}

// lookIP finds ip on PATH or in the usual sbin directories, which are often not on a user's
// PATH.
func lookIP() (string, error) {
	path, err := exec.LookPath("ip")
	if err == nil {
		return path, nil
	}
	for _, p := range []string{"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"} {
		if fi, statErr := os.Stat(p); statErr == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", err
}

// Tool returns the path of a program a live test needs (ping, arping, tshark…). Without it the
// test is skipped with the reason, or fails when CI is "true": ci/setup.sh installs them all.
func Tool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin"} {
			p := dir + "/" + name
			if fi, statErr := os.Stat(p); statErr == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				return p
			}
		}
		skipOrFail(t, "needs %s (bash ci/setup.sh installs it): %v", name, err)
	}
	return path
}
