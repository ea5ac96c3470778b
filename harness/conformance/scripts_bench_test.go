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

// TestCorpusStrict runs every corpus script in --strict mode too: no script leaves a packet of
// the stack unaccounted for.
func TestCorpusStrict(t *testing.T) {
	scripts, err := conformance.Corpus()
	if err != nil {
		t.Fatal(err)
	}
	if len(scripts) < 60 {
		t.Fatalf("the corpus has %d scripts", len(scripts))
	}
	for _, sc := range scripts {
		res, err := script.Run(sc.Script, script.Config{Strict: true})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Passed() {
			t.Errorf("%s fails with --strict:\n%v", sc.Name, res.Failure)
		}
	}
}
