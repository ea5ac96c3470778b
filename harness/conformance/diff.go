package conformance

import (
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/script"
	"github.com/mtcp-go/mtcp/internal/cli"
)

// mtcp-test diff runs the same cases against two or more targets, each in a process of its own
// (this program again, with --target), and compares the verdicts case by case: where they
// differ it prints a table of the verdicts, the first frame where the captures differ, and
// both captures. Cases that pin a policy ("// Policy:" in a script's header, Case.Policy for
// the catalog) are reported apart from real disagreements.

const diffUsage = `mtcp-test diff runs the same cases against two or more stacks and compares their verdicts.

Usage:
  mtcp-test diff --target A --target B [flags] [FILE|DIR...]

Runs each case (the built-in suite, or the scripts given, as mtcp-test run does) against each
target and compares the verdicts case by case; where they differ it prints the verdicts, the
first frame where the captures differ, and both captures. Flags: -o DIR (captures and logs, one
folder per target; default mtcp-diff), --label-filter, --focus, --max-real-time, and for
scripts --platform, --lenient, --strict, -D, -U, and --jobs N: the cases of each target split
over N processes run at once (a target on the real clock spends its time waiting; for the
built-in suite, not with --focus). A case skipped on one target (over the time limit of a
target on the real clock, or not for that target) is counted apart, not compared.

Examples:
  mtcp-test diff --target mtcp --target linux --label-filter arp
  mtcp-test diff --jobs 8 --target mtcp --target linux scenarios/tcp

Exit status: 0 when the targets agree on every case (differences in cases that pin a policy
are reported, not counted), 1 when they disagree, 2 for bad usage or a target that cannot run.
`

// targetList is a repeatable --target flag.
type targetList []string

func (t *targetList) String() string     { return strings.Join(*t, ",") }
func (t *targetList) Set(v string) error { *t = append(*t, v); return nil }

// verdict is one target's outcome of one case.
type verdict struct {
	status  string // passed, failed, skipped
	message string // the failure's first line
	capture string
}

// runDiff is mtcp-test diff.
func runDiff(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mtcp-test diff", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var targetNames targetList
	fs.Var(&targetNames, "target", "a target (twice or more)")
	out := "mtcp-diff"
	fs.StringVar(&out, "o", out, "output folder")
	jobs := 1
	fs.IntVar(&jobs, "jobs", jobs, "scripts: processes per target (for a target on the real clock)")
	var pass []string
	for _, name := range []string{"label-filter", "focus", "platform", "max-real-time"} {
		fs.Func(name, "passed to each run", func(v string) error { pass = append(pass, "--"+name, v); return nil })
	}
	for _, name := range []string{"lenient", "strict"} {
		fs.BoolFunc(name, "passed to each run", func(v string) error { pass = append(pass, "--"+name+"="+v); return nil })
	}
	for _, name := range []string{"D", "U"} {
		fs.Func(name, "passed to each run", func(v string) error { pass = append(pass, "-"+name, v); return nil })
	}
	paths, err := cli.Parse(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, diffUsage)
		return 0
	case err != nil:
		return usageError(stderr, "mtcp-test diff", "%v", err)
	}
	if len(targetNames) < 2 {
		return usageError(stderr, "mtcp-test diff", "give two targets or more (--target mtcp --target linux)")
	}
	for i, name := range targetNames {
		if slices.Contains(targetNames[:i], name) {
			return usageError(stderr, "mtcp-test diff", "--target %s given twice", name)
		}
		if _, ok := targets[name]; !ok {
			fmt.Fprintf(stderr, "mtcp-test diff: unknown --target %q (%s)\n", name, strings.Join(TargetNames(), ", "))
			return 2
		}
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "mtcp-test diff: %v\n", err)
		return 2
	}
	results := map[string]map[string]verdict{} // target → case → verdict
	var order []string                         // cases, sorted
	if err := os.MkdirAll(out, 0o755); err != nil {
		fmt.Fprintf(stderr, "mtcp-test diff: %v\n", err)
		return 2
	}
	shards := [][]string{paths}
	if jobs > 1 && len(paths) == 0 { // the built-in suite: a --focus of whole spec texts per process
		if slices.Contains(pass, "--focus") {
			fmt.Fprintln(stderr, "mtcp-test diff: --jobs splits the built-in suite by --focus; give one or the other")
			return 2
		}
		var texts []string
		for _, c := range Catalog {
			texts = append(texts, regexp.QuoteMeta(c.Text()))
		}
		corpus, _ := Corpus()
		for _, sc := range corpus {
			texts = append(texts, regexp.QuoteMeta(sc.Text()))
		}
		shards = make([][]string, min(jobs, len(texts)))
		for i, t := range texts {
			shards[i%len(shards)] = append(shards[i%len(shards)], t)
		}
		for i, shard := range shards {
			shards[i] = []string{"--focus", strings.Join(shard, "|")}
		}
	}
	if jobs > 1 && len(paths) > 0 {
		files, err := scriptFiles(paths)
		if err != nil {
			fmt.Fprintf(stderr, "mtcp-test diff: %v\n", err)
			return 2
		}
		shards = make([][]string, min(jobs, max(len(files), 1)))
		for i, f := range files {
			shards[i%len(shards)] = append(shards[i%len(shards)], f)
		}
	}
	for _, name := range targetNames {
		runs := make([]diffRun, len(shards))
		var wg sync.WaitGroup
		for i, shard := range shards {
			r := &runs[i]
			r.junit = filepath.Join(out, name+".junit.xml")
			r.log = filepath.Join(out, name+".log")
			if len(shards) > 1 {
				r.junit = filepath.Join(out, fmt.Sprintf("%s.%d.junit.xml", name, i+1))
				r.log = filepath.Join(out, fmt.Sprintf("%s.%d.log", name, i+1))
			}
			var argv []string
			if len(paths) > 0 {
				argv = append(argv, "run")
			}
			argv = append(argv, "--target", name, "-o", filepath.Join(out, name), "--junit", r.junit)
			argv = append(append(argv, pass...), shard...) // the shard: script paths, or a --focus
			if i == 0 {
				fmt.Fprintf(stdout, "running %s (%d process(es)): %s %s ... (log %s)\n", name, len(shards), filepath.Base(self), strings.Join(argv[:min(len(argv), 7)], " "), r.log)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.err = r.run(self, argv)
			}()
		}
		wg.Wait()
		results[name] = map[string]verdict{}
		for _, r := range runs {
			if r.err != nil {
				fmt.Fprintf(stderr, "mtcp-test diff: the %s run failed (%v); see %s\n", name, r.err, r.log)
				return 2
			}
			v, cases, err := readJUnit(r.junit)
			if err != nil {
				fmt.Fprintf(stderr, "mtcp-test diff: %s: %v\n", name, err)
				return 2
			}
			for c, cv := range v { // each process reports every case, skipping those of the others
				if old, ok := results[name][c]; !ok || old.status == "skipped" {
					results[name][c] = cv
				}
			}
			for _, c := range cases {
				if !slices.Contains(order, c) {
					order = append(order, c)
				}
			}
		}
	}
	slices.Sort(order)
	policy := policyOf(paths)
	var agree, byPolicy, differ, notCompared int
	for _, c := range order {
		var vs []verdict
		same, compared, ran := true, true, false
		for _, name := range targetNames {
			v, ok := results[name][c]
			if !ok {
				v = verdict{status: "not run"}
			}
			vs = append(vs, v)
			same = same && v.status == vs[0].status
			judged := v.status == "passed" || v.status == "failed"
			compared, ran = compared && judged, ran || judged
		}
		switch {
		case !ran: // not selected
			continue
		case !compared: // skipped (unsupported, over the time limit, not for this target) somewhere
			notCompared++
			continue
		case same:
			agree++
			continue
		}
		pol := policy(c)
		if pol != "" {
			byPolicy++
		} else {
			differ++
		}
		printCase(stdout, c, pol, targetNames, vs)
	}
	fmt.Fprintf(stdout, "\n%s: %d cases, %d agree, %d differ by policy, %d differ, %d not run on every target\n",
		strings.Join(targetNames, " vs "), agree+byPolicy+differ+notCompared, agree, byPolicy, differ, notCompared)
	for _, name := range targetNames {
		p, f := 0, 0
		for _, v := range results[name] {
			switch v.status {
			case "passed":
				p++
			case "failed":
				f++
			}
		}
		fmt.Fprintf(stdout, "%s: %d passed, %d failed\n", name, p, f)
	}
	if differ > 0 {
		return 1
	}
	return 0
}

// diffRun is one process of a diff: a target's run over some of the cases.
type diffRun struct {
	junit, log string
	err        error
}

// run runs this program with argv, its output to the run's log. Exit status 1 (cases failed)
// is a result; 2 and worse are not.
func (r *diffRun) run(self string, argv []string) error {
	log, err := os.Create(r.log)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(self, argv...)
	cmd.Stdout, cmd.Stderr = log, log
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return nil
	}
	return err
}

// scriptFiles lists the script files of paths: files as given, folders' .pkt files, sorted.
func scriptFiles(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		err := filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return err
			case f == p && !d.IsDir():
				files = append(files, f)
			case !d.IsDir() && strings.HasSuffix(f, ".pkt"):
				files = append(files, f)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(files)
	return files, nil
}

// printCase prints the table of one case the targets disagree on.
func printCase(w io.Writer, name, policy string, targets []string, vs []verdict) {
	fmt.Fprintf(w, "\n%s\n", name)
	if policy != "" {
		fmt.Fprintf(w, "  policy: %s\n", policy)
	}
	for i, t := range targets {
		line := fmt.Sprintf("  %-8s %-7s", t, vs[i].status)
		if vs[i].message != "" {
			line += "  " + vs[i].message
		}
		fmt.Fprintln(w, line)
	}
	if len(vs) >= 2 && vs[0].capture != "" && vs[1].capture != "" {
		if n, a, b, ok := firstDifference(vs[0].capture, vs[1].capture); ok {
			fmt.Fprintf(w, "  first difference, frame %d:\n    %-8s %s\n    %-8s %s\n", n, targets[0], a, targets[1], b)
		}
	}
	for i, t := range targets {
		if vs[i].capture != "" {
			fmt.Fprintf(w, "  capture  %-8s %s\n", t, vs[i].capture)
		}
	}
}

// readJUnit reads the verdicts of a JUnit report mtcp-test wrote, by case name, and the
// names in order.
func readJUnit(path string) (map[string]verdict, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var doc struct {
		Cases []struct {
			Name       string `xml:"name,attr"`
			Status     string `xml:"status,attr"`
			Properties []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
		} `xml:"testsuite>testcase"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", path, err)
	}
	out := map[string]verdict{}
	var order []string
	for _, c := range doc.Cases {
		name := c.Name // the spec text: mtcp-test names its testcases so
		v := verdict{status: c.Status}
		if v.status == "panicked" || v.status == "interrupted" || v.status == "timedout" {
			v.status = "failed"
		}
		if c.Failure != nil {
			v.message = firstLine(c.Failure.Message)
		}
		for _, p := range c.Properties {
			if p.Name == "capture" {
				v.capture = p.Value
			}
		}
		out[name] = v
		order = append(order, name)
	}
	return out, order, nil
}

// policyOf returns a function that tells the policy a case pins, from the catalog and from the
// scripts' headers (the corpus, or the paths given).
func policyOf(paths []string) func(name string) string {
	byName := map[string]string{}
	var scripts []Script
	if len(paths) > 0 {
		scripts, _, _ = LoadPaths(paths, script.ParseOptions{})
	} else {
		scripts, _ = Corpus()
	}
	for _, s := range scripts {
		byName[s.Text()] = s.Policy
	}
	return func(name string) string {
		if p, ok := byName[name]; ok {
			return p
		}
		id, _, _ := strings.Cut(name, " ")
		if c, ok := Lookup(id); ok {
			return c.Policy()
		}
		return ""
	}
}

// firstDifference compares two captures frame by frame (frameLines) and returns the first
// frame whose lines differ.
func firstDifference(a, b string) (int, string, string, bool) {
	la, errA := frameLines(a)
	lb, errB := frameLines(b)
	if errA != nil || errB != nil {
		return 0, "", "", false
	}
	for i := 0; i < max(len(la), len(lb)); i++ {
		x, y := "(no frame)", "(no frame)"
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return i + 1, x, y, true
		}
	}
	return 0, "", "", false
}

// frameLines reads a capture as one line per frame: direction, protocol, flags, length and
// option kinds. What stacks differ in by nature or by policy (sequence numbers, times, IP IDs,
// checksums, windows, option values) is left out, so that the first difference is one of
// behaviour; the failure message names the value that differed.
func frameLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		return nil, err
	}
	var out []string
	for {
		data, _, opts, err := r.ReadPacketDataWithOptions()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, frameLine(data, opts.Flags != nil && opts.Flags.Direction == pcapgo.NgEpbFlagDirectionOutbound))
	}
}

// frameLine is a frame as direction, protocol and the fields that say what a stack did.
func frameLine(data []byte, fromStack bool) string {
	dir := "peer →"
	if fromStack {
		dir = "stack →"
	}
	p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.NoCopy)
	if a, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP); ok {
		return fmt.Sprintf("%s ARP op %d", dir, a.Operation)
	}
	if t, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
		var opts []string
		for _, o := range t.Options {
			if o.OptionType != layers.TCPOptionKindNop && o.OptionType != layers.TCPOptionKindEndList {
				opts = append(opts, o.OptionType.String())
			}
		}
		return fmt.Sprintf("%s TCP [%s] len %d <%s>", dir, harness.FlagsOf(t), len(t.Payload), strings.Join(opts, ","))
	}
	if ic, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
		return fmt.Sprintf("%s ICMP %v len %d", dir, ic.TypeCode, len(ic.Payload))
	}
	if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		return fmt.Sprintf("%s IPv4 proto %v len %d", dir, ip.Protocol, len(ip.Payload))
	}
	return fmt.Sprintf("%s %d bytes", dir, len(data))
}
