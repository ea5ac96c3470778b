package conformance_test

import (
	"slices"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/mtcp-go/mtcp/harness/conformance"
)

func TestConformance(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "mtcp conformance")
}

// Every catalog case has exactly one spec, and every spec is a catalog case.
var _ = ReportAfterSuite("catalog and specs agree", func(r Report) {
	if r.SuiteConfig.LabelFilter != "" || len(r.SuiteConfig.FocusStrings) > 0 {
		return
	}
	seen := map[string]int{}
	for _, s := range r.SpecReports {
		if s.LeafNodeType == types.NodeTypeIt && !slices.Contains(s.Labels(), "selftest") && !slices.Contains(s.Labels(), "selftest-failing") && !slices.Contains(s.Labels(), "script") {
			seen[conformance.IDOf(s.LeafNodeText)]++
		}
	}
	for _, c := range conformance.Catalog {
		Expect(seen[c.ID]).To(Equal(1), "case %s has %d specs", c.ID, seen[c.ID])
		delete(seen, c.ID)
	}
	Expect(seen).To(BeEmpty(), "specs without a catalog case")
})
