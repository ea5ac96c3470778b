package conformance

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"

	"github.com/mtcp-go/mtcp/harness/script"
	"github.com/mtcp-go/mtcp/scenarios"
)

// ScriptConfig is how script specs run (mtcp-test's --strict and --lenient).
var ScriptConfig script.Config

// Script is a scenario file, parsed and checked, with what its header says.
type Script struct {
	// Name is the path the spec names it by: relative to the corpus, or as given to mtcp-test run.
	Name   string
	Script *script.Script
	// Case and RFC are the "// Case:" and "// RFC:" header lines ("" if absent).
	Case, RFC string
	// Policy is the "// Policy:" header line: whose policy the script pins beyond what an RFC
	// requires ("mtcp: a 1 s minimum RTO"), so that another stack may differ.
	Policy string
	// Area is the folder path (for the corpus: "tcp/handshake").
	Area string
}

// Labels are "script", the folders of its path, its case ID and one label per RFC it cites.
func (s Script) Labels() []string {
	labels := []string{"script"}
	for _, f := range strings.Split(s.Area, "/") {
		if f != "" && f != "." && !slices.Contains(labels, f) && labelSafe.MatchString(f) {
			labels = append(labels, f)
		}
	}
	if s.Case != "" {
		labels = append(labels, s.Case)
	}
	for _, m := range rfcNumber.FindAllStringSubmatch(s.RFC, -1) {
		if l := "rfc" + m[1]; !slices.Contains(labels, l) {
			labels = append(labels, l)
		}
	}
	return labels
}

var labelSafe = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// Text is the spec's text: "script tcp/handshake/H1-syn-to-listen.pkt (H1, RFC 9293 3.10.7.2)".
func (s Script) Text() string {
	var ref []string
	if s.Case != "" {
		ref = append(ref, s.Case)
	}
	if s.RFC != "" {
		ref = append(ref, s.RFC)
	}
	if len(ref) == 0 {
		return "script " + s.Name
	}
	return fmt.Sprintf("script %s (%s)", s.Name, strings.Join(ref, ", "))
}

var (
	headerCase = regexp.MustCompile(`(?m)^\s*//\s*Case:\s*(\S+)\s*$`)
	headerRFC  = regexp.MustCompile(`(?m)^\s*//\s*RFC:\s*(.+?)\s*$`)
	headerPol  = regexp.MustCompile(`(?m)^\s*//\s*Policy:\s*(.+?)\s*$`)
)

// LoadScript parses and checks one script with the -D and -U definitions in opts.
func LoadScript(name, area string, src []byte, opts script.ParseOptions) (Script, error) {
	s, err := script.ParseWith(name, src, opts)
	if err != nil {
		return Script{}, err
	}
	if err := script.Check(s); err != nil {
		return Script{}, err
	}
	sc := Script{Name: name, Script: s, Area: area}
	if m := headerCase.FindSubmatch(src); m != nil {
		sc.Case = string(m[1])
	}
	if m := headerRFC.FindSubmatch(src); m != nil {
		sc.RFC = string(m[1])
	}
	if m := headerPol.FindSubmatch(src); m != nil {
		sc.Policy = string(m[1])
	}
	return sc, nil
}

// Corpus loads every script of the embedded scenarios/ folder, in path order.
func Corpus() ([]Script, error) {
	var out []Script
	var errs []error
	err := fs.WalkDir(scenarios.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".pkt") {
			return err
		}
		src, err := fs.ReadFile(scenarios.FS, p)
		if err != nil {
			return err
		}
		sc, err := LoadScript(p, path.Dir(p), src, script.ParseOptions{})
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		out = append(out, sc)
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

// Refusal is a script mtcp-test run does not run: malformed, or well-formed but needing
// something the runner cannot do.
type Refusal struct {
	Path string
	Err  error
	// Feature names what an unsupported script needs ("TCP Fast Open"), at Line; it is ""
	// for a malformed script.
	Feature string
	Line    int
}

// Reason is "needs TCP Fast Open (line 12)" for an unsupported script, the error otherwise.
func (r Refusal) Reason() string {
	if r.Feature != "" {
		return fmt.Sprintf("needs %s (line %d)", r.Feature, r.Line)
	}
	return r.Err.Error()
}

// LoadPaths loads the scripts named on mtcp-test run's command line: files as given (any
// name), directories recursively (their .pkt files, in path order). Every script is parsed
// and checked before any runs. A script that cannot run is a Refusal; err lists the paths
// that cannot be read at all.
func LoadPaths(paths []string, opts script.ParseOptions) (scripts []Script, refused []Refusal, err error) {
	var files []string
	var errs []error
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(q, ".pkt") {
				found = append(found, q)
			}
			return err
		})
		if err != nil {
			errs = append(errs, err)
		}
		if len(found) == 0 && err == nil {
			errs = append(errs, fmt.Errorf("%s: no .pkt scripts in this folder", p))
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sc, err := LoadScript(f, filepath.ToSlash(filepath.Dir(f)), src, opts)
		if err != nil {
			r := Refusal{Path: f, Err: err}
			var se *script.Error
			if errors.As(err, &se) && se.Unsupported() {
				r.Feature, r.Line = se.Feature, se.Line
			}
			refused = append(refused, r)
			continue
		}
		scripts = append(scripts, sc)
	}
	return scripts, refused, errors.Join(errs...)
}

// RegisterUnsupported declares one spec per unsupported script, skipped with its reason.
func RegisterUnsupported(refused []Refusal, extra ...string) {
	for _, r := range refused {
		sc := Script{Name: r.Path, Area: filepath.ToSlash(filepath.Dir(r.Path))}
		reason := r.Reason()
		It(sc.Text(), Label(append(sc.Labels(), append(extra, "unsupported")...)...), func() { Skip(reason) })
	}
}

// Register declares one spec per script, with extra labels.
func Register(scripts []Script, extra ...string) {
	for _, sc := range scripts {
		sc := sc
		It(sc.Text(), Label(append(sc.Labels(), extra...)...), func() { RunScript(sc) })
	}
}

// RunScript runs a script as the current spec: its capture goes to OutDir, its skipped lines
// into the report, and a mismatch fails the spec with the script's failure message.
func RunScript(sc Script) {
	GinkgoHelper()
	res, err := script.Run(sc.Script, ScriptConfig)
	if err != nil {
		Fail(err.Error())
	}
	for _, w := range sc.Script.Warnings {
		AddReportEntry("warning", fmt.Sprintf("%s:%d:%d: %s", w.File, w.Line, w.Col, w.Msg), ReportEntryVisibilityAlways)
	}
	for _, s := range res.Skipped {
		AddReportEntry("skipped", s.String(), ReportEntryVisibilityFailureOrVerbose)
	}
	capture := filepath.Join(OutDir, FileName(strings.TrimSuffix(sc.Name, ".pkt"))+".pcapng")
	if err := res.WriteCapture(capture); err != nil {
		AddReportEntry("capture error", err.Error())
	} else if res.Failure != nil {
		AddReportEntry("capture", capture)
	} else {
		AddReportEntry("capture", capture, ReportEntryVisibilityFailureOrVerbose)
	}
	if res.Failure != nil {
		Fail(res.Failure.Error())
	}
	if res.NotRun != "" {
		Skip(res.NotRun)
	}
}

// The embedded corpus, one spec per script. A script that does not load fails the suite in
// one spec naming it, rather than at init.
var _ = func() bool {
	scripts, err := Corpus()
	Register(scripts, "corpus")
	if err != nil {
		It("script corpus loads", Label("script", "corpus"), func() { Fail(err.Error()) })
	}
	return true
}()
