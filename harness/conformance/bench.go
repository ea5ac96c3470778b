package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/mtcpdut"
)

// targets are the --target values: mtcp, and what RegisterTarget adds (cmd/mtcp-test adds
// linux; targets/gvisor's mtcp-test adds gvisor).
var targets = map[string]harness.Target{"mtcp": mtcpdut.Target{}}

// RealTimeLimit bounds each case's time on a target on the real clock (--max-real-time): a
// case that would wait longer is skipped, saying so. The suite's cases wait up to 24 days of
// virtual time (TS6); on the Linux kernel that is real time.
var RealTimeLimit = 70 * time.Second

// current is the target the suite runs against.
var current harness.Target = mtcpdut.Target{}

// RegisterTarget makes t a --target value (its Name), before Main: cmd/mtcp-test registers the
// Linux kernel (harness/linuxdut), and targets/gvisor's command gVisor's netstack, which lives
// in a module of its own.
func RegisterTarget(t harness.Target) { targets[t.Name()] = t }

// TargetNames returns the --target values, sorted.
func TargetNames() []string {
	names := make([]string, 0, len(targets))
	for n := range targets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// UseTarget makes the target named name the one the specs and scripts run against.
func UseTarget(name string) error {
	t, ok := targets[name]
	if !ok {
		return fmt.Errorf("unknown --target %q (%s)", name, strings.Join(TargetNames(), ", "))
	}
	current = t
	ScriptConfig.Target = t
	ScriptConfig.TimeLimit = RealTimeLimit
	return nil
}

// newDUT makes a fresh device under test of the current target for the running spec, destroyed
// when the spec ends, with the settings (sysctl assignments, NAME=VALUE) applied in order; a
// setting the target cannot take fails the spec.
func newDUT(settings ...string) harness.DUT {
	GinkgoHelper()
	d, err := current.NewDUT()
	Expect(err).NotTo(HaveOccurred(), "making a %s device under test", current.Name())
	if x, ok := d.(harness.Destroyer); ok {
		DeferCleanup(x.Destroy)
	}
	for _, s := range settings {
		name, value, _ := strings.Cut(s, "=")
		t, ok := d.(harness.Tunable)
		Expect(ok).To(BeTrue(), "the target %s takes no sysctls, and the spec needs %s", d.Name(), s)
		Expect(t.Sysctl(name, value)).To(Succeed(), "the target %s cannot apply %s", d.Name(), s)
	}
	return d
}

// OutDir is where each spec's capture goes: the mtcp-test -o flag, else $MTCP_OUT, else
// mtcp-conformance under the system's temporary folder.
var OutDir = defaultOutDir()

func defaultOutDir() string {
	if d := os.Getenv("MTCP_OUT"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "mtcp-conformance")
}

// Spec declares the spec for catalog case id: its text is the case's ID and title, its labels
// the case's area and RFCs.
func Spec(id string, body func()) bool {
	c := mustLookup(id)
	It(c.Text(), Label(c.Labels()...), interruptible(body))
	return true
}

// interruptible makes body a node Ginkgo waits for when the run is interrupted (a node that
// takes a SpecContext; the bodies never take long): a node that does not take one is left
// running, and its cleanups, registered after Ginkgo has moved on, would end the process.
func interruptible(body func()) func(SpecContext) {
	return func(SpecContext) { body() }
}

// NewBench makes a bench for the running spec and, when the spec ends, writes its capture to
// OutDir/<spec text>.pcapng with the verdict as the section comment. A failing spec's capture
// path goes into its report (and so into the JUnit file).
func NewBench(opts ...harness.Option) *harness.Bench {
	GinkgoHelper()
	return newBenchOn(newDUT(), opts...)
}

// newBenchOn is NewBench around a device already made.
func newBenchOn(d harness.DUT, opts ...harness.Option) *harness.Bench {
	GinkgoHelper()
	b := harness.New(GinkgoT(), d, append([]harness.Option{harness.WithTimeLimit(RealTimeLimit)}, opts...)...)
	keepCapture(b.DUT().Name(), b.WriteCapture)
	return b
}

// keepCapture has write save the running spec's capture when the spec ends, under
// OutDir/<spec text>.pcapng, with the spec, the target and the verdict as its section comment,
// and reports the path: every spec's goes into the JUnit and HTML reports, mtcp-test prints a
// failing one's.
func keepCapture(target string, write func(path, comment string) error) {
	DeferCleanup(func() {
		r := CurrentSpecReport()
		path := filepath.Join(OutDir, FileName(r.LeafNodeText)+".pcapng")
		verdict := "passed"
		if r.Failed() {
			verdict = "FAILED: " + r.Failure.Message
		}
		if err := write(path, fmt.Sprintf("%s\ntarget: %s\nverdict: %s", r.LeafNodeText, target, verdict)); err != nil {
			AddReportEntry("capture error", err.Error())
			return
		}
		if r.Failed() {
			AddReportEntry("capture", path)
		} else {
			AddReportEntry("capture", path, ReportEntryVisibilityFailureOrVerbose)
		}
	})
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// FileName turns a spec text into a file name: "A1 answers an ARP…" → "A1-answers-an-ARP…",
// at most 80 characters.
func FileName(specText string) string {
	s := strings.Trim(unsafeChars.ReplaceAllString(specText, "-"), "-.") // never a hidden file
	if len(s) > 80 {
		s = strings.TrimRight(s[:80], "-")
	}
	return s
}
