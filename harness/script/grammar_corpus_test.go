package script

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDefines are the -D definitions packetdrill's run_all.py gives every
// IPv4 run of the gtests, and the MSS their psp scripts are run with.
var corpusDefines = []string{
	"TFO_COOKIE=3021b9d889017eeb", "CODE=host_unreachable", "CMSG_LEVEL_IP=SOL_IP", "CMSG_TYPE_RECVERR=IP_RECVERR", "MSS=1440",
}

// knownMalformed are public scripts that neither packetdrill accepts either.
var knownMalformed = map[string]string{
	// FreeBSD tcp-testsuite: line 1 reads "s//" (a typo for "//").
	"client-handle-cookie-update-of-length-17.pkt": "1:1: expected a time at the start of an event",
}

// TestGrammarCorpus parses every .pkt under the folders of
// $MTCP_PACKETDRILL_CORPUS (a list, as $PATH), such as packetdrill's gtests/net
// and FreeBSD's tcp-testsuite fetched beside the project: none may be malformed.
// Each is parsed as run_all.py runs it (corpusDefines; --ip_version=ipv6 for
// *v6.pkt) and, when it tests FreeBSD, once more with -D FreeBSD.
// $MTCP_PACKETDRILL_DEFINES adds definitions (NAME=VALUE ..., blank-separated).
// Without the variable it reads the project's own scripts: scenarios/ and the
// compat scripts written in both public suites' style.
func TestGrammarCorpus(t *testing.T) {
	dirs := filepath.SplitList(os.Getenv("MTCP_PACKETDRILL_CORPUS"))
	if len(dirs) == 0 {
		dirs = []string{filepath.Join("..", "..", "scenarios"), filepath.Join("testdata", "compat")}
	}
	args := append(append([]string(nil), corpusDefines...), strings.Fields(os.Getenv("MTCP_PACKETDRILL_DEFINES"))...)
	for _, dir := range dirs {
		var files []string
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".pkt") {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if len(files) == 0 {
			t.Errorf("%s: no .pkt files", dir)
			continue
		}
		ok, malformed := 0, 0
		features := map[string]int{}
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			opts := ParseOptions{Defines: defines(t, args...)}
			if strings.HasSuffix(f, "v6.pkt") {
				opts.IPVersion = "ipv6"
			}
			runs := []ParseOptions{opts}
			for _, n := range TestedNames(src) {
				if n.Name == "FreeBSD" {
					fb := opts
					fb.Defines = defines(t, append(append([]string(nil), args...), "FreeBSD")...)
					runs = append(runs, fb)
				}
			}
			var first error
			for _, o := range runs {
				_, err := ParseWith(f, src, o)
				var e *Error
				if err != nil && !errors.As(err, &e) {
					t.Errorf("%s: not an *Error: %v", f, err)
				}
				if err != nil && !e.Unsupported() {
					if want, known := knownMalformed[filepath.Base(f)]; known {
						if !strings.HasPrefix(err.Error(), f+":"+want) {
							t.Errorf("%s: known malformed at %s, got %v", f, want, err)
						}
					} else {
						t.Errorf("malformed: %v", err)
					}
				}
				if first == nil || err != nil && first.(*Error).Unsupported() && !e.Unsupported() {
					first = err
				}
			}
			var e *Error
			switch {
			case first == nil:
				ok++
			case errors.As(first, &e) && e.Unsupported():
				features[e.Feature]++
			default:
				malformed++
			}
		}
		var parts []string
		for _, k := range sortedKeys(features) {
			parts = append(parts, fmt.Sprintf("%s %d", k, features[k]))
		}
		t.Logf("%s: %d scripts: %d parse, %d unsupported (%s), %d malformed", dir, len(files), ok,
			len(files)-ok-malformed, strings.Join(parts, ", "), malformed)
	}
}
