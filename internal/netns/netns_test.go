package netns_test

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/internal/netns"
	"github.com/mtcp-go/mtcp/internal/netns/netnstest"
)

// Set in the child process that TestCurrentInsideANamedNamespace runs under ip netns exec.
const (
	childEnv = "MTCP_NETNS_TEST_CHILD" // the namespace the child runs in
	otherEnv = "MTCP_NETNS_TEST_OTHER" // another namespace the child is not in
)

// skipUnlessLinux skips a test of what Linux's namespaces do.
func skipUnlessLinux(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("network namespaces need Linux")
	}
}

// Elsewhere than Linux no process is inside a named namespace, and the error says why.
func TestCurrentAndRequireSayTheyNeedLinuxElsewhere(t *testing.T) {
	if runtime.GOOS == "linux" {
		t.Skip("this system is Linux")
	}
	if _, err := netns.Current(); !errors.Is(err, netns.ErrNotInNamespace) || !strings.Contains(err.Error(), "need Linux") {
		t.Errorf("Current() error = %v, want ErrNotInNamespace saying namespaces need Linux", err)
	}
	for _, name := range []string{"", "mtcp-test"} {
		if err := netns.Require(name); !errors.Is(err, netns.ErrNotInNamespace) || !strings.Contains(err.Error(), "need Linux") {
			t.Errorf("Require(%q) = %v, want ErrNotInNamespace saying namespaces need Linux", name, err)
		}
	}
}

// skipIfNamed skips a test that assumes the process runs outside any named namespace.
func skipIfNamed(t *testing.T) {
	t.Helper()
	if name, err := netns.Current(); err == nil {
		t.Skipf("the test process runs inside namespace %q; this test needs the root namespace", name)
	}
}

func TestRequireRefusesTheRootNamespace(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("parent-only test")
	}
	skipUnlessLinux(t)
	skipIfNamed(t)

	err := netns.Require("")
	if !errors.Is(err, netns.ErrNotInNamespace) {
		t.Fatalf(`Require("") = %v, want ErrNotInNamespace`, err)
	}
	if !strings.Contains(err.Error(), "ip netns add") {
		t.Errorf("error %q does not say how to get into a namespace", err)
	}
	if _, err := netns.Current(); !errors.Is(err, netns.ErrNotInNamespace) {
		t.Fatalf("Current() error = %v, want ErrNotInNamespace", err)
	}
	if err := netns.Require("mtcp-no-such-namespace"); !errors.Is(err, netns.ErrNotInNamespace) {
		t.Fatalf("Require(missing) = %v, want ErrNotInNamespace", err)
	}
}

func TestRequireRejectsNamesThatAreNotPlainEntries(t *testing.T) {
	for _, name := range []string{".", "..", "a/b", "../etc", "x\x00y"} {
		if err := netns.Require(name); err == nil {
			t.Errorf("Require(%q) = nil, want an error", name)
		}
	}
}

func TestRequireRefusesANamespaceTheProcessIsNotIn(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("parent-only test")
	}
	skipIfNamed(t)
	ns := netnstest.New(t)
	err := netns.Require(ns.Name())
	if !errors.Is(err, netns.ErrNotInNamespace) {
		t.Fatalf("Require(%q) from the root namespace = %v, want ErrNotInNamespace", ns.Name(), err)
	}
	if !strings.Contains(err.Error(), "ip netns exec "+ns.Name()) {
		t.Errorf("error %q does not say how to enter the namespace", err)
	}
}

// The test binary runs itself inside a namespace, where Current must name it.
func TestCurrentInsideANamedNamespace(t *testing.T) {
	if want := os.Getenv(childEnv); want != "" {
		childChecksCurrent(t, want, os.Getenv(otherEnv))
		return
	}
	ns := netnstest.New(t)
	other := netnstest.New(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := ns.Exec(ctx, exe, "-test.run=^TestCurrentInsideANamedNamespace$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+ns.Name(), otherEnv+"="+other.Name())
	out, err := cmd.CombinedOutput()
	t.Logf("child output:\n%s", out)
	if err != nil {
		t.Fatalf("child failed: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: TestCurrentInsideANamedNamespace") {
		t.Fatal("child did not run the test")
	}
}

func childChecksCurrent(t *testing.T, want, other string) {
	got, err := netns.Current()
	if err != nil || got != want {
		t.Fatalf("Current() = %q, %v; want %q", got, err, want)
	}
	if err := netns.Require(want); err != nil {
		t.Errorf("Require(%q) = %v, want nil", want, err)
	}
	if err := netns.Require(""); err != nil {
		t.Errorf(`Require("") = %v, want nil`, err)
	}
	if err := netns.Require(other); !errors.Is(err, netns.ErrNotInNamespace) {
		t.Errorf("Require(%q) inside %q = %v, want ErrNotInNamespace", other, want, err)
	}
}
