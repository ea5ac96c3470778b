package conformance_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/conformance"
	"github.com/mtcp-go/mtcp/harness/mtcpdut"
)

// "mtcp-again" is mtcp under another name, in this test binary only: a second target that
// agrees with mtcp on every case.
func init() { conformance.RegisterTarget(renamed{mtcpdut.Target{}, "mtcp-again"}) }

type renamed struct {
	harness.Target
	name string
}

func (r renamed) Name() string { return r.name }

const echoScript = `// Case: C1
%s
0   < icmp echo_request id 7 [raw (56)]
+0  > icmp echo_reply id 7 [raw (56)]
`

// diff runs mtcp-test diff (this test binary as mtcp-test, in child processes) over scripts
// written to a folder, and returns its exit status and output.
func diff(t *testing.T, scripts map[string]string, args ...string) (int, string) {
	t.Helper()
	dir := t.TempDir()
	for name, src := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	argv := append([]string{"diff", "-o", filepath.Join(dir, "out")}, args...)
	cmd := exec.Command(os.Args[0], append(argv, dir)...)
	cmd.Env = append(os.Environ(), brokenSuiteEnv+"=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	}
	t.Fatalf("mtcp-test diff: %v\n%s", err, out)
	return -1, ""
}

// Two targets that behave alike agree (exit 0); a stack that sends nothing disagrees (exit 1),
// with a table naming each verdict, the first frame where the captures differ, and both
// captures, which exist.
func TestDiffAgreesAndDisagrees(t *testing.T) {
	scripts := map[string]string{"echo.pkt": strings.Replace(echoScript, "%s", "", 1)}
	code, out := diff(t, scripts, "--target", "mtcp", "--target", "mtcp-again")
	if code != 0 || !strings.Contains(out, "mtcp vs mtcp-again: 1 cases, 1 agree, 0 differ by policy, 0 differ") {
		t.Fatalf("mtcp against itself: exit %d\n%s", code, out)
	}
	code, out = diff(t, scripts, "--target", "mtcp", "--target", "mute", "--jobs", "2")
	if code != 1 || !strings.Contains(out, "0 agree, 0 differ by policy, 1 differ") {
		t.Fatalf("mtcp against a mute stack: exit %d\n%s", code, out)
	}
	for _, want := range []string{"  mtcp     passed", "  mute     failed", "first difference, frame 2:", "stack → ARP op 1", "(no frame)"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
	captures := 0
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "capture" {
			path := f[2]
			if _, err := os.Stat(path); err != nil {
				t.Errorf("capture %s: %v", path, err)
			}
			captures++
		}
	}
	if captures != 2 {
		t.Errorf("%d captures linked, want both:\n%s", captures, out)
	}
}

// A case whose header says it pins a policy is reported apart, and does not make the exit
// status 1 by itself.
func TestDiffGroupsPolicyApart(t *testing.T) {
	policy := strings.Replace(echoScript, "%s", "// Policy: mtcp — answers echo requests (a test's)", 1)
	code, out := diff(t, map[string]string{"policy.pkt": policy}, "--target", "mtcp", "--target", "mute")
	if code != 0 || !strings.Contains(out, "0 agree, 1 differ by policy, 0 differ") || !strings.Contains(out, "policy: mtcp — answers echo requests") {
		t.Fatalf("a policy difference alone: exit %d\n%s", code, out)
	}
	plain := strings.Replace(echoScript, "%s", "", 1)
	code, out = diff(t, map[string]string{"policy.pkt": policy, "plain.pkt": plain}, "--target", "mtcp", "--target", "mute")
	if code != 1 || !strings.Contains(out, "0 agree, 1 differ by policy, 1 differ") {
		t.Fatalf("a policy difference and a real one: exit %d\n%s", code, out)
	}
}

// Bad usage exits 2 and says why.
func TestDiffUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--target", "mtcp"},
		{"--target", "mtcp", "--target", "mtcp"},
		{"--target", "mtcp", "--target", "nosuch"},
	} {
		code, out := diff(t, nil, args...)
		if code != 2 || !bytes.Contains([]byte(out), []byte("mtcp-test diff: ")) {
			t.Errorf("diff %v: exit %d\n%s", args, code, out)
		}
	}
}

// The built-in suite split over processes (--jobs) gives the same comparison as one process:
// every case counted once, with its verdict.
func TestDiffJobsSplitTheSuite(t *testing.T) {
	summary := func(out string) string {
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "mtcp vs mtcp-again: ") {
				return l
			}
		}
		return ""
	}
	run := func(args ...string) string {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], append([]string{"diff", "-o", dir, "--target", "mtcp", "--target", "mtcp-again", "--label-filter", "arp"}, args...)...)
		cmd.Env = append(os.Environ(), brokenSuiteEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("diff %v: %v\n%s", args, err, out)
		}
		return summary(string(out))
	}
	one, three := run(), run("--jobs", "3")
	if one == "" || one != three || strings.HasPrefix(one, "mtcp vs mtcp-again: 0 cases") {
		t.Fatalf("one process: %q; three: %q", one, three)
	}
	var cases, agree int
	if _, err := fmt.Sscanf(one, "mtcp vs mtcp-again: %d cases, %d agree", &cases, &agree); err != nil || cases < 8 || agree != cases {
		t.Errorf("%q: want every ARP case (8 specs and the scripts) agreeing", one)
	}
}
