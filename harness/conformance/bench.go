package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"

	"github.com/mtcp-go/mtcp/harness"
)

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
	It(c.Text(), Label(c.Labels()...), body)
	return true
}

// NewBench makes a bench for the running spec and, when the spec ends, writes its capture to
// OutDir/<spec text>.pcapng with the verdict as the section comment. A failing spec's capture
// path goes into its report (and so into the JUnit file).
func NewBench(opts ...harness.Option) *harness.Bench {
	GinkgoHelper()
	b := harness.New(GinkgoT(), opts...)
	DeferCleanup(func() {
		r := CurrentSpecReport()
		path := filepath.Join(OutDir, FileName(r.LeafNodeText)+".pcapng")
		verdict := "passed"
		if r.Failed() {
			verdict = "FAILED: " + r.Failure.Message
		}
		comment := fmt.Sprintf("%s\ntarget: %s\nverdict: %s", r.LeafNodeText, b.DUT().Name(), verdict)
		if err := b.WriteCapture(path, comment); err != nil {
			AddReportEntry("capture error", err.Error())
			return
		}
		if r.Failed() {
			AddReportEntry("capture", path)
		} else {
			AddReportEntry("capture", path, ReportEntryVisibilityFailureOrVerbose)
		}
	})
	return b
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
