package script

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGrammarTestdata parses the small scripts of testdata/grammar, written in
// the style of packetdrill's gtests (pd-*) and FreeBSD's tcp-testsuite (fb-*).
// Each says what it expects in its header:
//
//	// want: ok
//	// want: unsupported FEATURE LINE:COL
//	// want: error LINE:COL MESSAGE   (the message may be cut short)
//	// defines: NAME[=VALUE] ...      (one line per run; none: one run without defines)
func TestGrammarTestdata(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "grammar", "*.pkt"))
	if err != nil || len(files) < 8 {
		t.Fatalf("want at least 8 scripts in testdata/grammar, found %d (%v)", len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var want string
			var runs [][]string
			for _, line := range strings.Split(string(src), "\n") {
				if w, ok := strings.CutPrefix(line, "// want: "); ok {
					want = w
				}
				if d, ok := strings.CutPrefix(line, "// defines:"); ok {
					runs = append(runs, strings.Fields(d))
				}
			}
			if want == "" {
				t.Fatal("no // want: line")
			}
			if runs == nil {
				runs = [][]string{nil}
			}
			for _, args := range runs {
				s, err := ParseWith(f, src, ParseOptions{Defines: defines(t, args...)})
				if got := outcome(err); got != want && !(strings.HasPrefix(want, "error ") && strings.HasPrefix(got, want)) {
					t.Errorf("-D %v: got %q, want %q", args, got, want)
				}
				if err == nil && len(s.Events) == 0 {
					t.Errorf("-D %v: no events", args)
				}
			}
		})
	}
}

// outcome sums up a parse as the testdata headers do.
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	var e *Error
	if !errors.As(err, &e) {
		return "not an *Error: " + err.Error()
	}
	if e.Unsupported() {
		return fmt.Sprintf("unsupported %s %d:%d", e.Feature, e.Line, e.Col)
	}
	return fmt.Sprintf("error %d:%d %s", e.Line, e.Col, e.Msg)
}
