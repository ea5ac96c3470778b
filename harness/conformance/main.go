package conformance

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/script"
	"github.com/mtcp-go/mtcp/internal/cli"
	. "github.com/onsi/gomega"
)

// Counts are the outcome of a run, one spec counted once. OverTime are the skipped ones that
// stopped at the time limit of a target on the real clock (--max-real-time).
type Counts struct{ Passed, Failed, Skipped, OverTime int }

func (c Counts) String() string {
	s := fmt.Sprintf("%d passed, %d failed, %d skipped", c.Passed, c.Failed, c.Skipped)
	if c.OverTime > 0 {
		s += fmt.Sprintf(" (%d over the time limit)", c.OverTime)
	}
	return s
}

// CountSpecs tallies the It specs of a report.
func CountSpecs(r Report) (c Counts, failed []SpecReport) {
	for _, s := range r.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt {
			continue
		}
		switch {
		case s.State.Is(types.SpecStatePassed):
			c.Passed++
		case s.State.Is(types.SpecStateSkipped | types.SpecStatePending):
			c.Skipped++
			if strings.Contains(s.Failure.Message, harness.OverTimeLimit) {
				c.OverTime++
			}
		default:
			c.Failed++
			failed = append(failed, s)
		}
	}
	return c, failed
}

const usage = `mtcp-test runs mtcp's conformance suite in virtual time and records one pcapng capture per spec.

Usage:
  mtcp-test [flags]              run the suite: the Go specs and the scenarios/ scripts built in
  mtcp-test run [flags] PATH...  run the given scenario scripts (files of any name; folders
                                 recursively, their .pkt files) instead of the built-in suite
  mtcp-test list                 print the catalog of specs: ID, RFC, area, title
  mtcp-test diff --target A --target B [flags] [PATH...]
                                 the same cases against each target, verdicts compared
                                 (mtcp-test diff --help)

Flags:
  --target NAME             the stack under test: mtcp (default), linux (the kernel in a network
                            namespace of its own, through a TAP device, on the real clock; root)
  --max-real-time D         on a target on the real clock (linux), skip a case that would wait
                            longer than D, saying so (default 70s; the suite's longest waits 24 days)
  -o, --out DIR             write the captures to DIR (default mtcp-out)
  --junit FILE              write a JUnit XML report to FILE
  --label-filter EXPR       run the specs whose labels match EXPR, e.g. 'arp || icmp', 'rfc1122 && !ipv4'
  --focus REGEXP            run the specs whose full text (container, then ID and title) matches, e.g. 'A[1-3] '
  -v                        print every spec as it runs
  --strict                  scripts: fail on any packet the stack sends that no '>' line expects
  --lenient                 scripts: ignore window, option values and order of the stack's packets,
                            and the buffer sizes getsockopt reports (other stacks' defaults)
  --platform freebsd|linux  scripts: give the stack the defaults that platform's scripts assume
                            (buffer sizes, delayed-ACK time, RTO bounds: scenarios/README.md)
  --skip-unsupported        run: skip a script that needs what mtcp cannot do (TCP Fast Open,
                            IPv6, ...) with its reason and run the rest (default true; =false
                            refuses it like a malformed one)
  -D NAME[=VALUE]           scripts: define NAME for #ifdef and substitute VALUE for it, as
                            packetdrill's -D; -D FreeBSD (or Linux, NetBSD, OpenBSD) replaces STANDARD
  -U NAME                   scripts: undefine NAME
Ginkgo's own --ginkgo.* flags work too (--ginkgo.parallel.*, --ginkgo.json-report, ...), so
'ginkgo -p' can drive a build of this command.

Exit status: 0 all passed, 1 a spec or script failed (or a script was refused while others
ran), 2 bad usage or only malformed scripts (reported as file:line:col before anything runs),
3 (run) nothing was judged: every script given needs something mtcp cannot do.
The last line of the output is "N passed, N failed, N skipped"; under run it is
"N passed, N failed, N skipped (unsupported), N refused (malformed)".
`

// Main is mtcp-test: it parses args (without the program name) on the process's flag set,
// where Ginkgo and testing have registered theirs, runs the suite, and returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "list" {
		if len(args) > 1 {
			fmt.Fprintf(stderr, "mtcp-test list: unexpected argument %q\n", args[1])
			return 2
		}
		printCatalog(stdout)
		return 0
	}
	if len(args) > 0 && args[0] == "diff" {
		return runDiff(args[1:], stdout, stderr)
	}
	runMode := len(args) > 0 && args[0] == "run"
	if runMode {
		args = args[1:]
	}
	testing.Init() // --test.* flags, which 'ginkgo -p' passes to the processes it starts
	fs := flag.CommandLine
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	out := "mtcp-out"
	var junit, labelFilter, focus string
	var verbose bool
	fs.StringVar(&out, "o", out, "capture folder")
	fs.StringVar(&out, "out", out, "capture folder")
	fs.StringVar(&junit, "junit", "", "JUnit report file")
	fs.StringVar(&labelFilter, "label-filter", "", "label filter")
	fs.StringVar(&focus, "focus", "", "focus regexp")
	fs.BoolVar(&verbose, "v", false, "verbose")
	fs.BoolVar(&ScriptConfig.Strict, "strict", false, "strict scripts")
	fs.BoolVar(&ScriptConfig.Lenient, "lenient", false, "lenient scripts")
	fs.StringVar(&ScriptConfig.Platform, "platform", "", "platform defaults")
	skipUnsupported := true
	fs.BoolVar(&skipUnsupported, "skip-unsupported", true, "skip scripts that need what mtcp cannot do")
	targetName := "mtcp"
	fs.StringVar(&targetName, "target", targetName, "the stack under test")
	fs.DurationVar(&RealTimeLimit, "max-real-time", RealTimeLimit, "longest case on a target on the real clock")
	var defines script.Defines
	fs.Var(script.DefineFlag{Defines: &defines}, "D", "define NAME[=VALUE]")
	fs.Var(script.UndefineFlag{Defines: &defines}, "U", "undefine NAME")
	// Flags and paths may come in any order: "run scenarios -o out" as well as "run -o out scenarios".
	paths, err := cli.Parse(fs, args)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if err := UseTarget(targetName); err != nil {
		fmt.Fprintf(stderr, "mtcp-test: %v\n", err)
		return 2
	}
	switch {
	case ScriptConfig.Platform != "" && !slices.Contains(script.KnownPlatforms, ScriptConfig.Platform):
		fmt.Fprintf(stderr, "mtcp-test: unknown --platform %q (%s)\n", ScriptConfig.Platform, strings.Join(script.KnownPlatforms, ", "))
		return 2
	case !runMode && len(paths) > 0:
		fmt.Fprintf(stderr, "mtcp-test: unexpected argument %q (to run scripts: mtcp-test run %s)\n", paths[0], paths[0])
		return 2
	case runMode && len(paths) == 0:
		fmt.Fprintln(stderr, "mtcp-test run: no script given (mtcp-test run FILE|DIR...)")
		return 2
	}
	var unsupported, malformed []Refusal
	if runMode {
		scripts, refused, err := LoadPaths(paths, script.ParseOptions{Defines: defines})
		if err != nil {
			fmt.Fprintln(stderr, err)
			fmt.Fprintln(stderr, "mtcp-test run: nothing was run")
			return 2
		}
		for _, r := range refused {
			if r.Feature != "" && skipUnsupported {
				unsupported = append(unsupported, r)
			} else {
				malformed = append(malformed, r)
				fmt.Fprintln(stderr, r.Err)
			}
		}
		warned := map[string]bool{}
		for _, sc := range scripts {
			for _, w := range sc.Script.Warnings {
				if !warned[w.Msg] { // once per message, at its first place: a suite repeats them
					warned[w.Msg] = true
					fmt.Fprintf(stderr, "warning: %s\n", firstLine(w.Error()))
				}
			}
		}
		if len(scripts) == 0 && len(unsupported) == 0 {
			fmt.Fprintln(stderr, "mtcp-test run: nothing was run")
			return 2
		}
		Register(scripts, "given")
		RegisterUnsupported(unsupported, "given")
	}

	suiteConfig, reporterConfig := GinkgoConfiguration()
	switch {
	case runMode && labelFilter != "":
		suiteConfig.LabelFilter = "given && (" + labelFilter + ")"
	case runMode:
		suiteConfig.LabelFilter = "given"
	case labelFilter != "":
		suiteConfig.LabelFilter = labelFilter
	}
	if focus != "" {
		suiteConfig.FocusStrings = append(suiteConfig.FocusStrings, focus)
	}
	if verbose {
		reporterConfig.Verbose = true
	}
	if fi, err := os.Stdout.Stat(); err == nil && fi.Mode()&os.ModeCharDevice == 0 {
		reporterConfig.NoColor = true // a log file or a CI console: no escape codes
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		fmt.Fprintf(stderr, "mtcp-test: %v\n", err)
		return 2
	}
	OutDir = out

	var counts *Counts
	var failed []SpecReport
	var byArea string
	var junitErr error
	ReportAfterSuite("mtcp-test summary", func(r Report) {
		if runMode { // the built-in specs did not run: leave them out of the counts and the JUnit
			r.SpecReports = slices.DeleteFunc(slices.Clone(r.SpecReports), func(s SpecReport) bool {
				return s.LeafNodeType == types.NodeTypeIt && !slices.Contains(s.Labels(), "given")
			})
		}
		c, f := CountSpecs(r)
		counts, failed, byArea = &c, f, areaSummary(r)
		if junit != "" {
			// One testcase per spec (no suite-level nodes), with the timeline (report entries,
			// so the capture path) kept for the specs that failed.
			junitErr = reporters.GenerateJUnitReportWithConfig(r, junit, reporters.JunitReportConfig{
				OmitSuiteSetupNodes:       true,
				OmitTimelinesForSpecState: types.SpecStatePassed | types.SpecStateSkipped | types.SpecStatePending,
			})
		}
	})
	RegisterFailHandler(Fail)
	t := &suiteT{}
	passed := RunSpecs(t, "mtcp conformance", suiteConfig, reporterConfig)
	if counts != nil { // nil on the secondary processes of a parallel run: process 1 reports
		fmt.Fprintln(stdout)
		for _, s := range failed {
			fmt.Fprintf(stdout, "FAILED %s\n", s.LeafNodeText)
			for _, e := range s.ReportEntries {
				if e.Name == "capture" {
					fmt.Fprintf(stdout, "       capture: %s\n", e.StringRepresentation())
				}
			}
		}
		for _, r := range unsupported {
			fmt.Fprintf(stdout, "skipped %s: %s\n", r.Path, r.Reason())
		}
		for _, r := range malformed {
			fmt.Fprintf(stdout, "refused %s\n", firstLine(r.Err.Error()))
		}
		fmt.Fprintf(stdout, "by area: %s\n", byArea)
		fmt.Fprintf(stdout, "captures: %s\n", absPath(out))
		if junit != "" {
			if junitErr != nil {
				fmt.Fprintf(stderr, "mtcp-test: writing the JUnit report: %v\n", junitErr)
				return 1
			}
			fmt.Fprintf(stdout, "junit: %s\n", absPath(junit))
		}
		if !runMode {
			fmt.Fprintln(stdout, counts.String())
		} else {
			fmt.Fprintln(stdout, counts.runString(len(unsupported), len(malformed)))
		}
	}
	switch {
	case runMode && len(malformed) > 0 && counts != nil && counts.Passed+counts.Failed == 0:
		return 2 // nothing ran but malformed and unsupported scripts
	case !passed || t.failed || len(malformed) > 0:
		return 1
	case runMode && counts != nil && counts.Passed+counts.Failed == 0 && len(unsupported) > 0:
		return 3 // every script given needs something mtcp cannot do: nothing was judged
	}
	return 0
}

// runString is the last line of mtcp-test run: the given scripts that passed and failed,
// those skipped as unsupported, those refused as malformed (and any a filter left out).
func (c Counts) runString(unsupported, malformed int) string {
	s := fmt.Sprintf("%d passed, %d failed, %d skipped (unsupported), %d refused (malformed)", c.Passed, c.Failed, unsupported, malformed)
	if c.OverTime > 0 {
		s += fmt.Sprintf(", %d over the time limit", c.OverTime)
	}
	if n := c.Skipped - unsupported - c.OverTime; n > 0 {
		s += fmt.Sprintf(", %d not selected", n)
	}
	return s
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// areaSummary says, per area in catalog order, how many specs that ran passed:
// "arp 8/8, ipv4 10/10, icmp 4/4".
func areaSummary(r Report) string {
	type tally struct{ passed, ran int }
	tallies := map[string]*tally{}
	var order []string
	for _, c := range Catalog {
		if tallies[c.Area] == nil {
			tallies[c.Area] = &tally{}
			order = append(order, c.Area)
		}
	}
	var scripts tally
	for _, s := range r.SpecReports {
		if s.LeafNodeType == types.NodeTypeIt && slices.Contains(s.Labels(), "script") && !s.State.Is(types.SpecStateSkipped|types.SpecStatePending) {
			scripts.ran++
			if s.State.Is(types.SpecStatePassed) {
				scripts.passed++
			}
			continue
		}
		c, ok := Lookup(IDOf(s.LeafNodeText))
		if s.LeafNodeType != types.NodeTypeIt || !ok || s.State.Is(types.SpecStateSkipped|types.SpecStatePending) {
			continue
		}
		tallies[c.Area].ran++
		if s.State.Is(types.SpecStatePassed) {
			tallies[c.Area].passed++
		}
	}
	var parts []string
	for _, a := range order {
		if t := tallies[a]; t.ran > 0 {
			parts = append(parts, fmt.Sprintf("%s %d/%d", a, t.passed, t.ran))
		}
	}
	if scripts.ran > 0 {
		parts = append(parts, fmt.Sprintf("scripts %d/%d", scripts.passed, scripts.ran))
	}
	if len(parts) == 0 {
		return "no spec ran"
	}
	return strings.Join(parts, ", ")
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// suiteT is the GinkgoTestingT of a run outside go test.
type suiteT struct{ failed bool }

func (t *suiteT) Fail() { t.failed = true }

func printCatalog(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRFC\tAREA\tTITLE\tLABELS")
	for _, c := range Catalog {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.RFC, c.Area, c.Title, strings.Join(c.Labels(), ","))
	}
	tw.Flush()
	fmt.Fprintf(w, "%d specs\n", len(Catalog))
}
