package conformance_test

import (
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/harness/conformance"
	"github.com/mtcp-go/mtcp/harness/script"
)

// BenchmarkCorpus runs every script of scenarios/ once per iteration, as mtcp-test does but
// without Ginkgo or captures: the runner and the stack in virtual time. It reports scripts per
// second of wall time and the virtual time the corpus spans.
func BenchmarkCorpus(b *testing.B) {
	scripts, err := conformance.Corpus()
	if err != nil {
		b.Fatal(err)
	}
	var virtual time.Duration
	for b.Loop() {
		virtual = 0
		for _, sc := range scripts {
			res, err := script.Run(sc.Script, script.Config{})
			if err != nil {
				b.Fatal(err)
			}
			if !res.Passed() {
				b.Fatalf("%v", res.Failure)
			}
			virtual += res.Elapsed
		}
	}
	b.ReportMetric(float64(len(scripts)*b.N)/b.Elapsed().Seconds(), "scripts/s")
	b.ReportMetric(float64(len(scripts)), "scripts")
	b.ReportMetric(virtual.Seconds(), "virtual-s/corpus")
}
