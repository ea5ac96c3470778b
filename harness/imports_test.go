package harness_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The bench judges any target, so package harness knows nothing of mtcp's stack but the
// pcapng writer its captures go through (and what that needs): the adapter is harness/mtcpdut.
func TestHarnessImportsNothingOfTheStackButTheRecorder(t *testing.T) {
	deps := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	recorder := deps("github.com/mtcp-go/mtcp/stack/link/pcapng")
	var stack []string
	for _, d := range deps("github.com/mtcp-go/mtcp/harness") {
		if strings.HasPrefix(d, "github.com/mtcp-go/mtcp/stack") {
			stack = append(stack, d)
			if !slices.Contains(recorder, d) {
				t.Errorf("package harness depends on %s, which the pcapng recorder does not need", d)
			}
		}
	}
	if !slices.Contains(stack, "github.com/mtcp-go/mtcp/stack/link/pcapng") {
		t.Errorf("package harness no longer uses the pcapng writer (%v): is the list right?", stack)
	}
}
