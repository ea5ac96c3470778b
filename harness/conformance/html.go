package conformance

import (
	"cmp"
	"io"
	"slices"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/mtcp-go/mtcp/harness/report"
)

// writeHTML writes the HTML report of the specs of r that were selected to path: a verdict
// table and a ladder diagram per case drawn from its capture (report.WriteSuite), the specs
// in catalog order, then the scripts by path.
func writeHTML(path string, r Report, target string) error {
	s := report.Suite{Title: "mtcp conformance", Target: target, Started: r.StartTime}
	order := map[string]int{}
	for i, c := range Catalog {
		order[c.ID] = i
	}
	rank := func(c report.Case) int {
		if i, ok := order[c.ID]; ok {
			return i
		}
		return len(Catalog) // scripts last
	}
	for _, sp := range selectedSpecs(r) {
		c := report.Case{ID: IDOf(sp.LeafNodeText), Title: sp.LeafNodeText, Area: classOf(sp), Duration: sp.RunTime}
		if sc, ok := scriptOf(sp); ok {
			c.ID, c.Title, c.Area = sc.Name, "script", sc.Area
			if cs, ok := Lookup(sc.Case); ok {
				c.Title = "script for " + cs.Text()
			}
			if c.Area == "" || c.Area == "." {
				c.Area = "script"
			}
			if sc.RFC != "" {
				c.RFCs = []string{sc.RFC}
			}
		} else if cs, ok := Lookup(c.ID); ok {
			c.Title, c.Area, c.RFCs = cs.Title, cs.Area, []string{cs.RFC}
		}
		switch {
		case sp.State.Is(types.SpecStatePassed):
			c.Verdict = report.Passed
		case sp.State.Is(types.SpecStateSkipped | types.SpecStatePending):
			c.Verdict, c.Failure = report.Skipped, sp.Failure.Message
		default:
			c.Verdict, c.Failure = report.Failed, sp.Failure.Message
			c.Location = locationString(specLocation(sp))
		}
		if capture := captureOf(sp); capture != "" {
			c.Capture, c.Link = capture, report.RelLink(path, capture)
		}
		s.Cases = append(s.Cases, c)
	}
	slices.SortStableFunc(s.Cases, func(a, b report.Case) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.ID, b.ID))
	})
	return report.WriteFile(path, func(w io.Writer) error { return report.WriteSuite(w, s) })
}
