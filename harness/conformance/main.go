package conformance

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/formatter"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/script"
	"github.com/mtcp-go/mtcp/internal/cli"
	. "github.com/onsi/gomega"
)

// Counts are the outcome of a run, one spec counted once. Skipped are the specs selected and
// skipped with a reason, OverTime those of them that stopped at the time limit of a target on
// the real clock (--max-real-time); NotSelected the ones a filter left out; NotRun the ones an
// interrupt kept from running.
type Counts struct {
	Passed, Failed, Skipped, OverTime, NotSelected, NotRun int
	Interrupted                                            bool
}

func (c Counts) String() string {
	s := fmt.Sprintf("%s%d passed, %d failed, %d skipped", c.interrupted(), c.Passed, c.Failed, c.Skipped)
	if c.OverTime > 0 {
		s += fmt.Sprintf(" (%d over the time limit)", c.OverTime)
	}
	return s + c.tail()
}

// tail is what the counts line says after the verdicts: the specs left out, and those an
// interrupt kept from running.
func (c Counts) tail() string {
	var s string
	if c.NotSelected > 0 {
		s += fmt.Sprintf(", %d not selected", c.NotSelected)
	}
	if c.Interrupted {
		s += fmt.Sprintf(", %d not run", c.NotRun)
	}
	return s
}

// interrupted is the prefix of the counts line of a run that was interrupted.
func (c Counts) interrupted() string {
	if c.Interrupted {
		return "interrupted: "
	}
	return ""
}

// CountSpecs tallies the It specs of a report: total is how many it has (those a filter left
// out among them), willRun how many the filters selected.
func CountSpecs(r Report, total, willRun int) (c Counts, failed []SpecReport) {
	for _, s := range r.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt || notSelected(s) {
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
		case s.State.Is(types.SpecStateInterrupted):
			// stopped by the interrupt: counted with those it kept from running
		default:
			c.Failed++
			failed = append(failed, s)
		}
	}
	c.NotSelected = total - willRun
	c.Interrupted = slices.ContainsFunc(r.SpecialSuiteFailureReasons, func(s string) bool { return strings.Contains(s, "Interrupted") })
	if c.Interrupted {
		c.NotRun = willRun - c.Passed - c.Failed - c.Skipped
	}
	return c, failed
}

const usage = `mtcp-test runs mtcp's conformance suite in virtual time and records one pcapng capture per spec.

Usage:
  mtcp-test [flags]              run the suite: the Go specs and the scenarios/ scripts built in
  mtcp-test run [flags] PATH...  run the given scenario scripts (files of any name; folders
                                 recursively, their .pkt files) instead of the built-in suite
  mtcp-test list                 print the catalog of specs: ID, RFC, area, title, labels
  mtcp-test diff --target A --target B [flags] [PATH...]
                                 the same cases against each target, verdicts compared
  mtcp-test help [run|list|diff] this text, or a subcommand's

Examples:
  mtcp-test -o caps --junit junit.xml --html report.html
  mtcp-test --label-filter 'arp || icmp'
  mtcp-test run --lenient scenarios/tcp/handshake

Flags:
  --target NAME             the stack under test: mtcp (default), linux (the kernel in a network
                            namespace of its own, through a TAP device, on the real clock; root)
  --max-real-time D         on a target on the real clock (linux), skip a case that would wait
                            longer than D, saying so (default 70s; the suite's longest waits 24 days)
  -o, --out DIR             write the captures to DIR (default mtcp-out)
  --junit FILE              write a JUnit XML report to FILE (a testcase per selected spec, its
                            capture as a property and as [[ATTACHMENT|path]] in system-out)
  --html FILE               write a self-contained HTML report to FILE: the verdicts, and a
                            ladder diagram of every case's frames
  --label-filter EXPR       run the specs whose labels match EXPR, e.g. 'arp || icmp', 'rfc1122 && !ipv4'
  --focus REGEXP            run the specs whose full text (container, then ID and title) matches, e.g. 'A[1-3] '
  --allow-empty             exit 0 when the filters select no spec (else that is bad usage: 2)
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
ran), 2 bad usage (a bad flag, regexp or label filter, an output that cannot be written, a
selection of no spec) or only malformed scripts (reported as file:line:col before anything
runs), 3 (run) nothing was judged: every script given needs something mtcp cannot do,
130 interrupted (Ctrl-C or SIGTERM: the captures and reports of the specs that ran are written).
The last line of the output is "N passed, N failed, N skipped"; under run it is
"N passed, N failed, N skipped (unsupported), N refused (malformed)".
`

const runUsage = `mtcp-test run runs packetdrill scripts against the stack in virtual time, one pcapng capture each.

Usage:
  mtcp-test run [flags] FILE|DIR...

Files of any name are run as given; folders recursively, their .pkt files in path order. Every
script is parsed and checked before any runs: a malformed one is reported as file:line:col, one
that needs what mtcp cannot do (TCP Fast Open, IPv6, ...) is skipped with its reason. Captures
are named after the path relative to the working folder (the base name for a file outside it).

Examples:
  mtcp-test run scenarios/tcp/handshake
  mtcp-test run --lenient --platform linux -o caps --html report.html gtests/net/tcp

Flags: as mtcp-test's (mtcp-test --help): -o, --junit, --html, --label-filter, --focus,
--allow-empty, -v, --strict, --lenient, --platform, --skip-unsupported, -D, -U, --target,
--max-real-time.

Exit status: 0 all passed, 1 a script failed (or was refused while others ran), 2 bad usage
or only malformed scripts, 3 every script given needs something mtcp cannot do, 130 interrupted.
The last line is "N passed, N failed, N skipped (unsupported), N refused (malformed)".
`

const listUsage = `mtcp-test list prints the catalog of the built-in specs without running them.

Usage:
  mtcp-test list

One line per case: its ID, the RFC section that asks for the behaviour, its area, its title
and its labels (for --label-filter); the last line counts them.

Example:
  mtcp-test list | grep rfc5961
`

// Main is mtcp-test: it parses args (without the program name) on the process's flag set,
// where Ginkgo and testing have registered theirs, runs the suite, and returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "help":
			return help(args[1:], stdout, stderr)
		case "list":
			return runList(args[1:], stdout, stderr)
		case "diff":
			return runDiff(args[1:], stdout, stderr)
		}
	}
	runMode := len(args) > 0 && args[0] == "run"
	name, text := "mtcp-test", usage
	if runMode {
		args, name, text = args[1:], "mtcp-test run", runUsage
	}
	testing.Init() // --test.* flags, which 'ginkgo -p' passes to the processes it starts
	fs := commandLine()
	out := "mtcp-out"
	var junit, htmlFile, labelFilter, focus string
	var verbose, allowEmpty bool
	fs.StringVar(&out, "o", out, "capture folder")
	fs.StringVar(&out, "out", out, "capture folder")
	fs.StringVar(&junit, "junit", "", "JUnit report file")
	fs.StringVar(&htmlFile, "html", "", "HTML report file")
	fs.StringVar(&labelFilter, "label-filter", "", "label filter")
	fs.StringVar(&focus, "focus", "", "focus regexp")
	fs.BoolVar(&allowEmpty, "allow-empty", false, "accept a selection of no spec")
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
	switch {
	case err == flag.ErrHelp:
		fmt.Fprint(stdout, text)
		return 0
	case err != nil:
		return usageError(stderr, name, "%v", err)
	}
	if err := UseTarget(targetName); err != nil {
		return usageError(stderr, name, "%v", err)
	}
	switch {
	case ScriptConfig.Platform != "" && !slices.Contains(script.KnownPlatforms, ScriptConfig.Platform):
		return usageError(stderr, name, "unknown --platform %q (%s)", ScriptConfig.Platform, strings.Join(script.KnownPlatforms, ", "))
	case RealTimeLimit <= 0:
		return usageError(stderr, name, "--max-real-time %s: want a positive duration", RealTimeLimit)
	case !runMode && len(paths) > 0:
		return usageError(stderr, name, "unexpected argument %q (to run scripts: mtcp-test run %s)", paths[0], paths[0])
	case runMode && len(paths) == 0:
		return usageError(stderr, name, "no script given (mtcp-test run FILE|DIR...)")
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
	if err := checkFilters(suiteConfig, labelFilter); err != nil {
		return usageError(stderr, name, "%v", err)
	}
	if verbose {
		reporterConfig.Verbose = true
	}
	reporterConfig.NoColor = true
	// Every output is checked before anything runs: a run that cannot keep its results is
	// refused, not run for nothing.
	created, err := checkOutputs(out, map[string]string{"--junit": junit, "--html": htmlFile})
	if err != nil {
		return usageError(stderr, name, "%v", err)
	}

	var unsupported, malformed []Refusal
	if runMode {
		scripts, refused, err := LoadPaths(paths, script.ParseOptions{Defines: defines})
		if err != nil {
			fmt.Fprintln(stderr, err)
			fmt.Fprintln(stderr, "mtcp-test run: nothing was run")
			removeAll(created)
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
			removeAll(created)
			return 2
		}
		Register(scripts, "given")
		RegisterUnsupported(unsupported, "given")
	}
	OutDir = out

	// mtcp-test prints the run itself (console); Ginkgo's reporter, when this process reports
	// alone, writes nowhere.
	parallel := suiteConfig.ParallelTotal > 1
	if !parallel {
		formatter.ColorableStdOut = io.Discard
	}
	con := &console{w: stdout, verbose: verbose}
	var total, willRun int
	ReportBeforeSuite(func(r Report) {
		total, willRun = r.PreRunStats.TotalSpecs, r.PreRunStats.SpecsThatWillRun // run: total is recounted below
		if willRun > 0 && !parallel {
			fmt.Fprintf(stdout, "mtcp-test: %s on %s, captures in %s\n", plural(willRun, "spec"), targetName, out)
		}
	})
	if !parallel {
		ReportAfterEach(func(s SpecReport) { con.spec(s) })
	}
	var counts *Counts
	var failed []SpecReport
	var byArea string
	var reportErrs []error
	ReportAfterSuite("mtcp-test summary", func(r Report) {
		con.endLine()
		if runMode { // the built-in specs did not run: leave them out of the counts and the reports
			r.SpecReports = slices.DeleteFunc(slices.Clone(r.SpecReports), func(s SpecReport) bool {
				return s.LeafNodeType == types.NodeTypeIt && !slices.Contains(s.Labels(), "given")
			})
			total = 0
			for _, s := range r.SpecReports {
				if s.LeafNodeType == types.NodeTypeIt {
					total++
				}
			}
		}
		c, f := CountSpecs(r, total, willRun)
		counts, failed, byArea = &c, f, areaSummary(r)
		if willRun == 0 && !allowEmpty {
			return // refused below: no report of nothing
		}
		if junit != "" {
			if err := writeJUnit(junit, r, targetName, runProperties(labelFilter, focus)); err != nil {
				reportErrs = append(reportErrs, fmt.Errorf("writing the JUnit report: %w", err))
			}
		}
		if htmlFile != "" {
			if err := writeHTML(htmlFile, r, targetName); err != nil {
				reportErrs = append(reportErrs, fmt.Errorf("writing the HTML report: %w", err))
			}
		}
	})
	RegisterFailHandler(Fail)
	t := &suiteT{}
	passed := RunSpecs(t, "mtcp conformance", suiteConfig, reporterConfig)
	if counts == nil { // a secondary process of a parallel run: process 1 reports
		if !passed || t.failed {
			return 1
		}
		return 0
	}
	if willRun == 0 && !allowEmpty {
		removeAll(created)
		return usageError(stderr, name, "no spec matches %s (mtcp-test list shows the labels; --allow-empty accepts an empty selection)", selectionText(runMode, labelFilter, focus, suiteConfig))
	}
	fmt.Fprintln(stdout)
	for _, s := range failed {
		fmt.Fprintf(stdout, "FAILED %s\n       at %s\n", s.LeafNodeText, relLocation(specLocation(s)))
		if c := captureOf(s); c != "" {
			fmt.Fprintf(stdout, "       capture: %s\n", c)
		}
	}
	for _, r := range unsupported {
		fmt.Fprintf(stdout, "skipped %s: %s\n", displayName(r.Path), r.Reason())
	}
	for _, r := range malformed {
		fmt.Fprintf(stdout, "refused %s\n", firstLine(r.Err.Error()))
	}
	fmt.Fprintf(stdout, "by area: %s\n", byArea)
	fmt.Fprintf(stdout, "captures: %s\n", absPath(out))
	for _, err := range reportErrs {
		fmt.Fprintf(stderr, "mtcp-test: %v\n", err)
	}
	if junit != "" {
		fmt.Fprintf(stdout, "junit: %s\n", absPath(junit))
	}
	if htmlFile != "" {
		fmt.Fprintf(stdout, "html: %s\n", absPath(htmlFile))
	}
	if !runMode {
		fmt.Fprintln(stdout, counts.String())
	} else {
		fmt.Fprintln(stdout, counts.runString(len(unsupported), len(malformed)))
	}
	switch {
	case counts.Interrupted:
		return 130
	case runMode && len(malformed) > 0 && counts.Passed+counts.Failed == 0:
		return 2 // nothing ran but malformed and unsupported scripts
	case counts.Failed > 0 || t.failed && !passed || len(malformed) > 0 || len(reportErrs) > 0:
		return 1
	case runMode && counts.Passed+counts.Failed == 0 && len(unsupported) > 0:
		return 3 // every script given needs something mtcp cannot do: nothing was judged
	}
	return 0
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// help is mtcp-test help [SUBCOMMAND].
func help(args []string, stdout, stderr io.Writer) int {
	if len(args) > 1 {
		return usageError(stderr, "mtcp-test help", "unexpected argument %q", args[1])
	}
	topic := ""
	if len(args) == 1 {
		topic = args[0]
	}
	switch topic {
	case "":
		fmt.Fprint(stdout, usage)
	case "run":
		fmt.Fprint(stdout, runUsage)
	case "list":
		fmt.Fprint(stdout, listUsage)
	case "diff":
		fmt.Fprint(stdout, diffUsage)
	default:
		return usageError(stderr, "mtcp-test help", "no such subcommand %q (run, list, diff)", topic)
	}
	return 0
}

// runList is mtcp-test list.
func runList(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
			fmt.Fprint(stdout, listUsage)
			return 0
		}
		return usageError(stderr, "mtcp-test list", "unexpected argument %q", args[0])
	}
	printCatalog(stdout)
	return 0
}

// usageError prints one plain line, "mtcp-test: what is wrong (mtcp-test --help)", and returns
// the status of bad usage.
func usageError(stderr io.Writer, name, format string, args ...any) int {
	msg := strings.TrimSpace(fmt.Sprintf(format, args...))
	msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", " ")), " ")
	help := name + " --help"
	if name == "mtcp-test help" {
		help = "mtcp-test help"
	}
	fmt.Fprintf(stderr, "%s: %s (%s)\n", name, msg, help)
	return 2
}

// commandLine is a flag set that returns its errors instead of exiting, and prints nothing
// itself, with the flags Ginkgo and testing registered on the process's: their values are
// shared, so GinkgoConfiguration sees what was given.
func commandLine() *flag.FlagSet {
	fs := flag.NewFlagSet("mtcp-test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	flag.CommandLine.VisitAll(func(f *flag.Flag) { fs.Var(f.Value, f.Name, f.Usage) })
	return fs
}

// checkFilters compiles the regexps and the label filter Ginkgo will use, so that a bad one is
// a usage error of one line instead of a panic or a page of Ginkgo's.
func checkFilters(c types.SuiteConfig, labelFilter string) error {
	for _, list := range [][]string{c.FocusStrings, c.SkipStrings} {
		for _, re := range list {
			if _, err := regexp.Compile(re); err != nil {
				return fmt.Errorf("--focus %q: %v", re, err)
			}
		}
	}
	if _, err := types.ParseLabelFilter(c.LabelFilter); err != nil {
		var ge types.GinkgoError
		if errors.As(err, &ge) { // its message repeats the filter, marked up for a terminal
			lines := strings.Split(strings.TrimSpace(ge.Message), "\n")
			return fmt.Errorf("--label-filter %q: %s", labelFilter, lines[len(lines)-1])
		}
		return fmt.Errorf("--label-filter %q: %v", labelFilter, err)
	}
	return nil
}

// checkOutputs makes sure every output can be written before anything runs: the capture folder
// (created, with its parents, which it returns so that a refused run can take them back) and
// the folders of the report files.
func checkOutputs(out string, files map[string]string) (created []string, err error) {
	for d := filepath.Clean(out); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == filepath.Dir(d) {
			break
		}
		created = append([]string{d}, created...)
	}
	defer func() {
		if err != nil {
			removeAll(created)
		}
	}()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return created, fmt.Errorf("-o %s: %w", out, err)
	}
	if err := cli.CheckDir(out); err != nil {
		return created, fmt.Errorf("-o %s: %w", out, err)
	}
	for _, flag := range slices.Sorted(maps.Keys(files)) {
		if f := files[flag]; f != "" {
			if err := cli.CheckFile(f); err != nil {
				return created, fmt.Errorf("%s %s: %w", flag, f, err)
			}
		}
	}
	return created, nil
}

// removeAll removes the folders a run created, deepest first, those still empty.
func removeAll(created []string) {
	for _, d := range slices.Backward(created) {
		os.Remove(d)
	}
}

// selectionText names the filters of a run that selected nothing.
func selectionText(runMode bool, labelFilter, focus string, c types.SuiteConfig) string {
	var parts []string
	if labelFilter != "" {
		parts = append(parts, fmt.Sprintf("--label-filter %q", labelFilter))
	}
	for _, f := range c.FocusStrings {
		parts = append(parts, fmt.Sprintf("--focus %q", f))
	}
	for _, f := range c.SkipStrings {
		parts = append(parts, fmt.Sprintf("--ginkgo.skip %q", f))
	}
	if len(parts) == 0 {
		if runMode {
			return "among the scripts given"
		}
		return "the filters"
	}
	return strings.Join(parts, " and ")
}

// runProperties are the filters of a run, for the JUnit report.
func runProperties(labelFilter, focus string) []junitProperty {
	var p []junitProperty
	if labelFilter != "" {
		p = append(p, junitProperty{"label-filter", labelFilter})
	}
	if focus != "" {
		p = append(p, junitProperty{"focus", focus})
	}
	return p
}

// runString is the last line of mtcp-test run: the given scripts that passed and failed,
// those skipped as unsupported, those refused as malformed (and any a filter left out).
func (c Counts) runString(unsupported, malformed int) string {
	s := fmt.Sprintf("%s%d passed, %d failed, %d skipped (unsupported), %d refused (malformed)", c.interrupted(), c.Passed, c.Failed, unsupported, malformed)
	if c.OverTime > 0 {
		s += fmt.Sprintf(", %d over the time limit", c.OverTime)
	}
	if n := c.Skipped - unsupported - c.OverTime; n > 0 {
		s += fmt.Sprintf(", %d skipped at run time", n)
	}
	return s + c.tail()
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
