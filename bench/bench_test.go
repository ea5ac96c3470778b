package main

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
)

// TestShort runs the smoke configuration (-short) of every workload in-process and checks that
// each case finished on both stacks with a positive rate. It sets no thresholds: it is there so
// the bench never rots.
func TestShort(t *testing.T) {
	c := shortConfig()
	results, err := run(c, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, wr := range results {
		seen[wr.Workload] = true
		for _, cr := range wr.Cases {
			for _, r := range []stackResult{cr.MTCP, cr.GVisor} {
				if r.Runs == 0 || r.Rate <= 0 {
					t.Errorf("%s on %s: rate %v, failed: %q", cr.Case, r.Stack, r.Rate, r.Failed)
				}
			}
		}
		if wr.CPURatio == nil {
			t.Errorf("%s: no cpu_ratio", wr.Workload)
		}
	}
	for _, w := range allWorkloads {
		if !seen[w] {
			t.Errorf("workload %s did not run", w)
		}
	}
}

// TestJSON checks the shape of -json's output: an array with, per workload, "workload" and
// "cpu_ratio", and W4's "bytes_per_endpoint" keyed by connection count.
func TestJSON(t *testing.T) {
	c, err := parseFlags([]string{"-short", "-json", "-w", "W4", "-idle", "50"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := run(c, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v in %s", err, out.String())
	}
	if len(got) != 1 || got[0]["workload"] != "W4" || got[0]["cpu_ratio"] == nil {
		t.Fatalf("got %s", out.String())
	}
	bpe, ok := got[0]["bytes_per_endpoint"].(map[string]any)
	if !ok || bpe["50"] == nil {
		t.Fatalf("no bytes_per_endpoint[\"50\"] in %s", out.String())
	}
}
