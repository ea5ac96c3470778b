package conformance_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/reporters"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/conformance"
	"github.com/mtcp-go/mtcp/harness/mtcpdut"
)

// Two broken stacks, the targets "mute" and "canned", which exist only in this test binary:
// mtcp with its output discarded, and mtcp whose output is replaced by one fixed frame sent in
// reply to every frame delivered. Every protocol spec of the suite must fail on both: a spec
// that passes against a stack that sends nothing, or nothing but noise, tests nothing.
func init() {
	conformance.RegisterTarget(brokenTarget{name: "mute"})
	conformance.RegisterTarget(brokenTarget{name: "canned"})
}

// fullDUT is what mtcp's DUT offers the specs and scripts: the DUT and every optional
// interface. A broken DUT embeds it, so it forwards them all, and nothing else (not mtcp's
// own API).
type fullDUT interface {
	harness.DUT
	harness.Sockets
	harness.Tunable
	harness.ConnTable
	harness.DropCounter
	harness.Counters
}

// brokenTarget makes mtcp DUTs whose output is broken: "mute" or "canned".
type brokenTarget struct{ name string }

func (t brokenTarget) Name() string { return t.name }

func (t brokenTarget) NewDUT() (harness.DUT, error) {
	d, err := mtcpdut.Target{}.NewDUT()
	if err != nil {
		return nil, err
	}
	inner, ok := d.(fullDUT)
	if !ok {
		return nil, fmt.Errorf("%s: mtcp's DUT %T lacks an optional interface", t.name, d)
	}
	if t.name == "mute" {
		return &muteDUT{fullDUT: inner}, nil
	}
	return &cannedDUT{fullDUT: inner, frame: cannedFrame(inner)}, nil
}

// muteDUT is mtcp that sends nothing at all: whatever the stack sends is discarded.
type muteDUT struct{ fullDUT }

func (d *muteDUT) Name() string { return "mute" }

func (d *muteDUT) SetOutput(func([]byte)) { d.fullDUT.SetOutput(func([]byte) {}) }

// cannedDUT is mtcp whose output is replaced by one fixed frame, sent in reply to every frame
// delivered; timers send nothing.
type cannedDUT struct {
	fullDUT
	frame []byte
	out   func([]byte)
}

func (d *cannedDUT) Name() string { return "canned" }

func (d *cannedDUT) SetOutput(out func([]byte)) {
	d.out = out
	d.fullDUT.SetOutput(func([]byte) {})
}

func (d *cannedDUT) Deliver(now time.Time, frame []byte) {
	d.fullDUT.Deliver(now, frame)
	if d.out != nil {
		d.out(append([]byte(nil), d.frame...))
	}
}

// cannedFrame is a well-formed frame from the stack that answers nothing: a TCP ACK, with
// valid checksums, from the stack's discard port to the peer's, with sequence and
// acknowledgment numbers no spec expects.
func cannedFrame(d harness.DUT) []byte {
	stack := harness.NewPeer(d.MAC(), d.Addr().Addr(), harness.DefaultPeerMAC, harness.DefaultPeerIP)
	return stack.TCP(harness.Segment{SrcPort: 9, DstPort: 9, Flags: harness.ACK, Seq: 0xdeadbeef, Ack: 0xfeedface, Win: 512}).Bytes()
}

// The broken targets are broken as said: the stack inside them runs (it counts a damaged
// frame as dropped), but the mute one sends nothing, even when a timer fires, and the canned
// one sends its one frame for each frame delivered, and nothing else.
func TestTheBrokenTargetsAreBroken(t *testing.T) {
	for _, name := range []string{"mute", "canned"} {
		t.Run(name, func(t *testing.T) {
			d, err := brokenTarget{name: name}.NewDUT()
			if err != nil {
				t.Fatal(err)
			}
			b := harness.New(t, d)
			if d.Name() != name {
				t.Errorf("the DUT is named %q", d.Name())
			}
			drops := d.(harness.DropCounter).Drops()
			// An echo request: mtcp would ask for the peer's MAC, then answer, and ask again
			// in a minute when the entry goes stale.
			b.Inject(b.Peer().Echo(1, 1, nil))
			if name == "canned" {
				f := b.Next()
				if !bytes.Equal(f.Data, cannedFrame(d)) {
					t.Errorf("the canned target sent %v, not its frame", f)
				}
			}
			if f := b.TryNextWithin(2 * time.Minute); f != nil {
				t.Errorf("the %s target sent %v", name, f)
			}
			b.Inject(b.Peer().Echo(1, 2, nil).Mutate("ICMP checksum inverted", func(f []byte) { f[36] ^= 0xff }))
			if got := d.(harness.DropCounter).Drops(); got <= drops {
				t.Errorf("the stack inside the %s target counted no drop: %d, then %d", name, drops, got)
			}
		})
	}
}

// brokenSuiteEnv makes the test binary run the suite (conformance.Main) instead of its tests.
const brokenSuiteEnv = "MTCP_SELFTEST_SUITE"

// TestEveryProtocolSpecFailsOnABrokenStack runs the whole suite, the Go specs and the
// embedded scripts, in a child process (as mtcp-test) against each broken target, and
// requires every protocol spec to fail: every catalog case of the areas arp, ipv4, icmp and
// tcp, and every script of the corpus. The runtime cases (U*, area "runtime") are left out:
// they drive real stacks on the wall clock, never the target, so they pass on any target.
// The bench's own self-tests (label selftest) are left out too.
func TestEveryProtocolSpecFailsOnABrokenStack(t *testing.T) {
	scripts, err := conformance.Corpus()
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"mute", "canned"} {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			junit := filepath.Join(dir, "junit.xml")
			cmd := exec.Command(os.Args[0], "--target", target, "--label-filter", "!selftest", "--junit", junit, "-o", filepath.Join(dir, "captures"))
			cmd.Env = append(os.Environ(), brokenSuiteEnv+"=1")
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("the suite on the %s target: %v, want exit status 1 (specs failed):\n%s", target, err, tail(out))
			}
			cases := readJUnit(t, junit)

			var protocol []string // the spec texts that must fail
			for _, c := range conformance.Catalog {
				if c.Area != "runtime" {
					protocol = append(protocol, c.Text())
				}
			}
			for _, sc := range scripts {
				protocol = append(protocol, sc.Text())
			}
			var passed, missing []string
			for _, text := range protocol {
				tc, ok := findCase(cases, text)
				switch {
				case !ok:
					missing = append(missing, text)
				case tc.Failure == nil && tc.Error == nil:
					passed = append(passed, fmt.Sprintf("%s (%s)", text, tc.Status))
				}
			}
			if len(missing) > 0 {
				t.Errorf("%d protocol specs did not run on the %s target:\n  %s", len(missing), target, strings.Join(missing, "\n  "))
			}
			if len(passed) > 0 {
				t.Errorf("%d of %d protocol specs do not fail on the %s target (%s):\n  %s", len(passed), len(protocol), target,
					map[string]string{"mute": "a stack that sends nothing", "canned": "a stack that answers every frame with the same TCP segment"}[target],
					strings.Join(passed, "\n  "))
			}
		})
	}
}

// readJUnit reads the testcases of a JUnit report.
func readJUnit(t *testing.T, path string) []reporters.JUnitTestCase {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var suites reporters.JUnitTestSuites
	if err := xml.Unmarshal(raw, &suites); err != nil {
		t.Fatal(err)
	}
	var cases []reporters.JUnitTestCase
	for _, s := range suites.TestSuites {
		cases = append(cases, s.TestCases...)
	}
	return cases
}

// findCase finds the testcase of the spec whose text is text: mtcp-test names it so.
func findCase(cases []reporters.JUnitTestCase, text string) (reporters.JUnitTestCase, bool) {
	for _, c := range cases {
		if c.Name == text {
			return c, true
		}
	}
	return reporters.JUnitTestCase{}, false
}

// tail is the last lines of a child's output, for a failure message.
func tail(out []byte) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-40):], "\n")
}
