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
	"github.com/onsi/ginkgo/v2/types"

	"github.com/mtcp-go/mtcp/harness/script"
	"github.com/mtcp-go/mtcp/scenarios"
)

// ScriptConfig is how script specs run (mtcp-test's --strict and --lenient).
var ScriptConfig script.Config

// Script is a scenario file, parsed and checked, with what its header says.
type Script struct {
	// Name is the path the spec names it by: relative to the corpus, or for mtcp-test run to the
	// working folder (the base name for a file outside it).
	Name string
	// Source is where the file is, for locations: "scenarios/…" for the corpus, else the path
	// as given to mtcp-test run.
	Source string
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
		sc.Source = "scenarios/" + p
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
		name := displayName(f)
		sc, err := LoadScript(f, path.Dir(name), src, opts)
		sc.Name, sc.Source = name, f
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

// displayName is how mtcp-test run names a script given as path: relative to the working
// folder when it is inside it ("suite/x.pkt"), else by its base name ("x.pkt"), so that labels
// and capture names do not depend on where the folder sits.
func displayName(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Base(p)
	}
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, abs); err == nil && filepath.IsLocal(rel) {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.Base(abs)
}

// RegisterUnsupported declares one spec per unsupported script, skipped with its reason.
func RegisterUnsupported(refused []Refusal, extra ...string) {
	for _, r := range refused {
		name := displayName(r.Path)
		sc := Script{Name: name, Source: r.Path, Area: path.Dir(name)}
		reason := r.Reason()
		registered[sc.Text()] = sc
		It(sc.Text(), Label(append(sc.Labels(), append(extra, "unsupported")...)...), sc.location(1), func() { Skip(reason) })
	}
}

// registered are the scripts declared as specs, by spec text.
var registered = map[string]Script{}

// scriptOf is the script a spec runs.
func scriptOf(s SpecReport) (Script, bool) {
	sc, ok := registered[s.LeafNodeText]
	return sc, ok
}

// location is a line of the script's file, as a spec's code location.
func (s Script) location(line int) types.CodeLocation {
	return types.CodeLocation{FileName: s.Source, LineNumber: line}
}

// Register declares one spec per script, with extra labels; the spec's location is the file.
func Register(scripts []Script, extra ...string) {
	for _, sc := range scripts {
		registered[sc.Text()] = sc
		It(sc.Text(), Label(append(sc.Labels(), extra...)...), sc.location(1), interruptible(func() { RunScript(sc) }))
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
		// Where mtcp-test, the JUnit report and the HTML report point: the script's line.
		AddReportEntry("location", fmt.Sprintf("%s:%d", sc.Source, res.Failure.Line), ReportEntryVisibilityNever)
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
