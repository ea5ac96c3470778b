package main

import (
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mtcp-go/mtcp/harness/conformance"
	"github.com/mtcp-go/mtcp/internal/pcapngtest"
)

var (
	buildOnce sync.Once
	binDir    string // removed by TestMain
	bin       string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// build compiles mtcp-test once per test binary.
func build(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "mtcp-test-bin"); buildErr != nil {
			return
		}
		bin = filepath.Join(binDir, "mtcp-test")
		if runtime.GOOS == "windows" {
			bin += ".exe" // what Windows runs
		}
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bin
}

// run runs the binary in dir and returns its output and exit status.
func run(t *testing.T, bin, dir string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	t.Fatalf("%s %v: %v", bin, args, err)
	return "", -1
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestMTCPTest(t *testing.T) {
	bin := build(t)
	corpus, err := conformance.Corpus()
	if err != nil {
		t.Fatal(err)
	}
	n := len(conformance.Catalog) + len(corpus) // the Go specs and the scenario scripts

	t.Run("runs everything, writes JUnit and one capture per spec", func(t *testing.T) {
		dir := t.TempDir()
		out, code := run(t, bin, dir, "-o", "caps", "--junit", "junit.xml")
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if want := strconv.Itoa(n) + " passed, 0 failed, 0 skipped"; lastLine(out) != want {
			t.Fatalf("last line %q, want %q", lastLine(out), want)
		}
		if strings.Contains(out, "\x1b[") {
			t.Error("colour escape codes in output that is not a terminal")
		}
		suites := readJUnit(t, filepath.Join(dir, "junit.xml"))
		if len(suites.Cases) != n || suites.Tests != n {
			t.Fatalf("JUnit has %d testcases (tests=%d), the suite has %d specs", len(suites.Cases), suites.Tests, n)
		}
		names := map[string]bool{}
		for _, c := range suites.Cases {
			names[c.Name] = true
			capture := c.property("capture")
			if capture == "" || strings.HasPrefix(capture, `"`) || c.SystemOut != "[[ATTACHMENT|"+capture+"]]" {
				t.Errorf("testcase %q: capture property %q, system-out %q", c.Name, capture, c.SystemOut)
			} else if _, err := os.Stat(filepath.Join(dir, capture)); err != nil {
				t.Errorf("testcase %q: %v", c.Name, err)
			}
		}
		for _, c := range conformance.Catalog { // named as the spec: "A7 retries …"
			if !names[c.Text()] {
				t.Errorf("JUnit has no testcase named %q", c.Text())
			}
		}
		caps, _ := filepath.Glob(filepath.Join(dir, "caps", "*.pcapng"))
		if len(caps) != n {
			t.Fatalf("%d captures, want %d", len(caps), n)
		}
		for _, c := range conformance.Catalog {
			path := filepath.Join(dir, "caps", conformance.FileName(c.Text())+".pcapng")
			checkCapture(t, path, c.Text())
		}
		checkWithTshark(t, caps)
		checkMalformed(t, caps)
	})

	t.Run("list names every case without running", func(t *testing.T) {
		dir := t.TempDir()
		out, code := run(t, bin, dir, "list")
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		for _, c := range conformance.Catalog {
			if !strings.Contains(out, c.ID+" ") || !strings.Contains(out, c.RFC) || !strings.Contains(out, c.Title) {
				t.Errorf("list lacks %s %s %q", c.ID, c.RFC, c.Title)
			}
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Error("list wrote files")
		}
	})

	t.Run("label filter runs a subset", func(t *testing.T) {
		dir := t.TempDir()
		out, code := run(t, bin, dir, "--label-filter", "arp", "-o", "caps")
		arp, arpScripts := 0, 0
		for _, c := range conformance.Catalog {
			if c.Area == "arp" {
				arp++
			}
		}
		for _, sc := range corpus {
			if slices.Contains(sc.Labels(), "arp") {
				arpScripts++
			}
		}
		arp += arpScripts
		if code != 0 || lastLine(out) != strconv.Itoa(arp)+" passed, 0 failed, 0 skipped, "+strconv.Itoa(n-arp)+" not selected" {
			t.Fatalf("exit %d, last line %q", code, lastLine(out))
		}
		if caps, _ := filepath.Glob(filepath.Join(dir, "caps", "*.pcapng")); len(caps) != arp {
			t.Fatalf("%d ARP captures, want %d", len(caps), arp)
		}
	})

	t.Run("focus selects by spec text", func(t *testing.T) {
		out, code := run(t, bin, t.TempDir(), "--focus", "I[78] ")
		if code != 0 || lastLine(out) != "2 passed, 0 failed, 0 skipped, "+strconv.Itoa(n-2)+" not selected" {
			t.Fatalf("exit %d, last line %q", code, lastLine(out))
		}
		// mtcp-test's counts are the only ones printed: none of Ginkgo's that include the specs
		// left out.
		for _, ginkgo := range []string{"Will run", "Ran 2 of", "Skipped", "[It]"} {
			if strings.Contains(out, ginkgo) {
				t.Errorf("output has Ginkgo's %q:\n%s", ginkgo, out)
			}
		}
		if !strings.Contains(out, "mtcp-test: 2 specs on mtcp") {
			t.Errorf("output does not say how many specs run:\n%s", out)
		}
	})

	// Bad usage of any kind is one plain line and exit 2, before anything runs or is written;
	// the same run with the mistake mended is the positive control.
	t.Run("exit status", func(t *testing.T) {
		dir := t.TempDir()
		writeScripts(t, dir, map[string]string{"file": "not a folder"})
		for _, c := range []struct {
			args []string
			want int
			says string
		}{
			{[]string{"--no-such-flag"}, 2, "mtcp-test: flag provided but not defined: -no-such-flag (mtcp-test --help)"},
			{[]string{"-o"}, 2, "mtcp-test: flag needs an argument: -o (mtcp-test --help)"},
			{[]string{"unexpected"}, 2, `mtcp-test: unexpected argument "unexpected" (to run scripts: mtcp-test run unexpected) (mtcp-test --help)`},
			{[]string{"list", "extra"}, 2, `mtcp-test list: unexpected argument "extra" (mtcp-test list --help)`},
			{[]string{"help", "nosuch"}, 2, `mtcp-test help: no such subcommand "nosuch" (run, list, diff) (mtcp-test help)`},
			{[]string{"--label-filter", "no-such-label"}, 2, `mtcp-test: no spec matches --label-filter "no-such-label" (mtcp-test list shows the labels; --allow-empty accepts an empty selection) (mtcp-test --help)`},
			{[]string{"--focus", "no such spec"}, 2, `mtcp-test: no spec matches --focus "no such spec"`},
			{[]string{"--focus", "["}, 2, "mtcp-test: --focus \"[\": error parsing regexp: missing closing ]: `[` (mtcp-test --help)"},
			{[]string{"--label-filter", "(("}, 2, `mtcp-test: --label-filter "((": Mismatched '(' - could not find matching ')'.`},
			{[]string{"--label-filter", "arp", "-o", "file/caps"}, 2, "mtcp-test: -o file/caps: "},
			{[]string{"--label-filter", "arp", "--junit", "nosuch/j.xml"}, 2, "mtcp-test: --junit nosuch/j.xml: cannot write there: "},
			{[]string{"--label-filter", "arp", "--html", "."}, 2, "mtcp-test: --html .: a folder, not a file (mtcp-test --help)"},
			{[]string{"--max-real-time", "-1s"}, 2, "mtcp-test: --max-real-time -1s: want a positive duration (mtcp-test --help)"},
			{[]string{"--target", "nosuch"}, 2, "mtcp-test: "},
			{[]string{"run", "--label-filter", "arp"}, 2, "mtcp-test run: no script given (mtcp-test run FILE|DIR...) (mtcp-test run --help)"},
		} {
			out, code := run(t, bin, dir, c.args...)
			if code != c.want || strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.HasPrefix(out, c.says) {
				t.Errorf("mtcp-test %q: exit %d, want %d and one line starting %q; got\n%s", c.args, code, c.want, c.says, out)
			}
			if strings.Contains(out, "\x1b[") || strings.Contains(out, "goroutine ") {
				t.Errorf("mtcp-test %q: colour or a panic:\n%s", c.args, out)
			}
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("refused runs left files behind: %v", entries)
		}
		// The positive controls: the same selections, mended or allowed, run and exit 0.
		for _, args := range [][]string{
			{"--label-filter", "no-such-label", "--allow-empty", "-o", "caps"},
			{"--focus", "A1 ", "-o", "caps"},
			{"--label-filter", "(arp)", "--max-real-time", "1s", "-o", "caps", "--junit", "j.xml"},
		} {
			if out, code := run(t, bin, dir, args...); code != 0 {
				t.Errorf("mtcp-test %q: exit %d, want 0\n%s", args, code, out)
			}
		}
	})

	// help and --help on every subcommand: the text on stdout, exit 0.
	t.Run("help", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			says string
		}{
			{[]string{"help"}, "mtcp-test runs mtcp's conformance suite"},
			{[]string{"--help"}, "mtcp-test runs mtcp's conformance suite"},
			{[]string{"-h"}, "mtcp-test runs mtcp's conformance suite"},
			{[]string{"help", "run"}, "mtcp-test run runs packetdrill scripts"},
			{[]string{"run", "--help"}, "mtcp-test run runs packetdrill scripts"},
			{[]string{"help", "list"}, "mtcp-test list prints the catalog"},
			{[]string{"list", "--help"}, "mtcp-test list prints the catalog"},
			{[]string{"help", "diff"}, "mtcp-test diff runs the same cases"},
			{[]string{"diff", "--help"}, "mtcp-test diff runs the same cases"},
		} {
			out, code := run(t, bin, t.TempDir(), c.args...)
			if code != 0 || !strings.HasPrefix(out, c.says) || !strings.Contains(out, "xample") {
				t.Errorf("mtcp-test %q: exit %d, want 0 and a text starting %q with an example:\n%s", c.args, code, c.says, out)
			}
		}
	})
}

// junitCase is a testcase of mtcp-test's JUnit report.
type junitCase struct {
	Name       string `xml:"name,attr"`
	Classname  string `xml:"classname,attr"`
	Status     string `xml:"status,attr"`
	File       string `xml:"file,attr"`
	Line       int    `xml:"line,attr"`
	Properties []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	} `xml:"properties>property"`
	Failure *struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	} `xml:"failure"`
	SystemOut string `xml:"system-out"`
}

func (c junitCase) property(name string) string {
	for _, p := range c.Properties {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// readJUnit reads a JUnit report: its one testsuite's counts and testcases.
func readJUnit(t *testing.T, path string) (suite struct {
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testsuite>testcase"`
}) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(raw, &suite); err != nil {
		t.Fatalf("JUnit is not well-formed XML: %v", err)
	}
	return suite
}

// checkCapture reads a capture back with pcapgo: its section names the spec and says it
// passed, every frame has a direction, and the stack's frames carry the expectation they met.
func checkCapture(t *testing.T, path, spec string) {
	t.Helper()
	c := pcapngtest.Read(t, path)
	if !strings.HasPrefix(c.Comment, spec) || !strings.Contains(c.Comment, "verdict: passed") {
		t.Errorf("%s: section comment %q", filepath.Base(path), c.Comment)
	}
	for i, p := range c.Packets {
		if p.Direction() == pcapgo.NgEpbFlagDirectionUnknown {
			t.Errorf("%s: frame %d has no direction", filepath.Base(path), i+1)
		}
		if p.Direction() == pcapgo.NgEpbFlagDirectionInbound && len(p.Comments) == 0 {
			t.Errorf("%s: injected frame %d has no comment", filepath.Base(path), i+1)
		}
	}
	if len(c.Packets) == 0 {
		t.Errorf("%s: no frames", filepath.Base(path))
	}
}

// checkWithTshark opens every capture with Wireshark's tools: tshark shows each one's comments
// and capinfos reports no error. Under CI=true the tools must be there. One tshark pass over the
// captures merged and one capinfos call for all (pcapngtest.TsharkFields and Capinfos), which
// fall back to a process per capture to name the one at fault: a tshark per capture, one after
// another, took a minute for the suite's.
func checkWithTshark(t *testing.T, caps []string) {
	t.Helper()
	for i, rows := range pcapngtest.TsharkFields(t, caps, "frame.comment") {
		shown := false
		for _, r := range rows {
			shown = shown || strings.TrimSpace(r[0]) != ""
		}
		if rows != nil && !shown { // nil: unreadable, an error already
			t.Errorf("tshark -r %s: no comment shown in %d frames", filepath.Base(caps[i]), len(rows))
		}
	}
	pcapngtest.Capinfos(t, caps)
}

// checkMalformed: the frames Wireshark flags malformed are frames the bench injected damaged
// on purpose, never one the stack sent, nor bulk data taken for a text protocol (the stack
// listens on the discard port, not HTTP's). The suite injects some (a truncated ARP among
// them): at least one must be flagged, or the check sees nothing. The captures are read in one
// merged pass, where TCP reassembly may carry over from one capture to the next (they share
// addresses and ports); a capture flagged there is read again on its own before it fails.
func checkMalformed(t *testing.T, caps []string) {
	t.Helper()
	fields := []string{"frame.comment", "_ws.malformed"}
	stray := func(rows [][]string) (injected int, bad []string) {
		for j, r := range rows {
			switch {
			case r[1] == "":
			case strings.HasPrefix(r[0], "injected:"):
				injected++
			default:
				bad = append(bad, fmt.Sprintf("frame %d is malformed to Wireshark (%s), and it is no damage the bench injected: %s", j+1, r[1], r[0]))
			}
		}
		return injected, bad
	}
	injected := 0
	for i, rows := range pcapngtest.TsharkFields(t, caps, fields...) {
		n, bad := stray(rows)
		injected += n
		if len(bad) > 0 {
			_, bad = stray(pcapngtest.TsharkFields(t, caps[i:i+1], fields...)[0])
		}
		for _, b := range bad {
			t.Errorf("%s: %s", filepath.Base(caps[i]), b)
		}
	}
	if injected == 0 {
		t.Error("Wireshark flags none of the damaged frames the suite injects: the check of malformed frames sees nothing")
	}
}

// BenchmarkSuite runs the whole suite as a user does: process start, 22 specs in virtual time,
// 22 captures written.
func BenchmarkSuite(b *testing.B) {
	bin := build(b)
	dir := b.TempDir()
	for b.Loop() {
		cmd := exec.Command(bin, "-o", "caps")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
}

// writeScripts writes scripts (name → text) into dir.
func writeScripts(t *testing.T, dir string, scripts map[string]string) {
	t.Helper()
	for name, src := range scripts {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const synToListen = `// Case: H1
// RFC: RFC 9293 3.10.7.2
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 65535 <mss 1460>
+0  > S. 0:0(0) ack 1 win 65535 <mss 1460>
`

func TestMTCPTestRun(t *testing.T) {
	bin := build(t)

	t.Run("runs folders recursively and files of any name, with JUnit and captures", func(t *testing.T) {
		dir := t.TempDir()
		writeScripts(t, dir, map[string]string{
			"s/a/one.pkt":   synToListen,
			"s/b/two.pkt":   "0 `sysctl -w net.inet.tcp.rfc1323=1; ip link set dev tun0 mtu 1500`\n" + synToListen,
			"s/b/notes.txt": "not a script",
			"three.script":  synToListen,
		})
		// Flags after the paths work too.
		out, code := run(t, bin, dir, "run", "s", "three.script", "-o", "caps", "--junit", "j.xml")
		if code != 0 || lastLine(out) != "3 passed, 0 failed, 0 skipped (unsupported), 0 refused (malformed)" {
			t.Fatalf("exit %d, last line %q\n%s", code, lastLine(out), out)
		}
		raw, err := os.ReadFile(filepath.Join(dir, "j.xml"))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(raw), "<testcase "); n != 3 {
			t.Errorf("JUnit has %d testcases, want 3", n)
		}
		caps, _ := filepath.Glob(filepath.Join(dir, "caps", "*.pcapng"))
		if len(caps) != 3 {
			t.Fatalf("%d captures, want 3: %v", len(caps), caps)
		}
		for _, c := range caps {
			comment := pcapngtest.Read(t, c).Comment
			if !strings.Contains(comment, "verdict: passed") {
				t.Errorf("%s: section comment %q", filepath.Base(c), comment)
			}
			if strings.Contains(c, "two") && !strings.Contains(comment, "line 1: sysctl applied: net.inet.tcp.rfc1323=1\nline 1: shell line not run: `ip link set dev tun0 mtu 1500`") {
				t.Errorf("%s: the applied sysctl and the skipped shell line are not in the section comment %q", filepath.Base(c), comment)
			}
		}
		checkWithTshark(t, caps)
	})

	t.Run("a wrong expectation fails with the script line, expected and actual packets", func(t *testing.T) {
		dir := t.TempDir()
		writeScripts(t, dir, map[string]string{"bad.pkt": strings.Replace(synToListen, "ack 1 win 65535", "ack 1 win 100", 1)})
		out, code := run(t, bin, dir, "run", "bad.pkt", "--junit", "j.xml")
		if code != 1 || lastLine(out) != "0 passed, 1 failed, 0 skipped (unsupported), 0 refused (malformed)" {
			t.Fatalf("exit %d, last line %q\n%s", code, lastLine(out), out)
		}
		for _, want := range []string{
			"bad.pkt:7: at 0.000000 s: the stack's packet differs: win 65535, want 100",
			"script:   +0  > S. 0:0(0) ack 1 win 100 <mss 1460>",
			"expected: 0.000000 > S. 0:0(0) ack 1 win 100 <mss 1460>",
			"actual:   0.000000 > S. 0:0(0) ack 1 win 65535 <mss 1460>",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		// Located at the script's line, in the output and in the JUnit report; none of
		// Ginkgo's Go locations or counts.
		if !strings.Contains(out, "FAILED script bad.pkt (H1, RFC 9293 3.10.7.2)\n  at bad.pkt:7\n") || strings.Contains(out, ".go:") || strings.Contains(out, "Ran 1 of") {
			t.Errorf("output does not locate the failure at bad.pkt:7 alone:\n%s", out)
		}
		suite := readJUnit(t, filepath.Join(dir, "j.xml"))
		if len(suite.Cases) != 1 || suite.Failures != 1 {
			t.Fatalf("JUnit: %d testcases, %d failures, want 1 and 1", len(suite.Cases), suite.Failures)
		}
		c := suite.Cases[0]
		if c.Name != "script bad.pkt (H1, RFC 9293 3.10.7.2)" || c.File != "bad.pkt" || c.Line != 7 || c.Failure == nil ||
			!strings.Contains(c.Failure.Message, "win 65535, want 100") || !strings.HasSuffix(strings.TrimSpace(c.Failure.Text), "at bad.pkt:7") ||
			c.property("capture") != filepath.Join("mtcp-out", "bad.pcapng") {
			t.Errorf("JUnit testcase %+v", c)
		}
		// The frame that broke the expectation says so in the capture, in the words of the Go
		// specs.
		comments := strings.Join(pcapngtest.Read(t, filepath.Join(dir, "mtcp-out", "bad.pcapng")).Comments(), "\n")
		if !strings.Contains(comments, "line 7: expected instead: 0.000000 > S. 0:0(0) ack 1 win 100 <mss 1460> (win 65535, want 100)") {
			t.Errorf("capture comments:\n%s", comments)
		}
	})

	// Scripts are named by their path relative to the working folder, or by their base name
	// when outside it: labels and captures do not depend on where a temporary folder sits.
	t.Run("names from relative paths", func(t *testing.T) {
		dir, outside := t.TempDir(), t.TempDir()
		writeScripts(t, dir, map[string]string{"s/a/one.pkt": synToListen, "s/b/three.pkt": synToListen})
		writeScripts(t, outside, map[string]string{"two.pkt": synToListen})
		out, code := run(t, bin, dir, "run", "s/a", filepath.Join(dir, "s", "b", "three.pkt"), filepath.Join(outside, "two.pkt"), "-o", "caps", "--junit", "j.xml")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		caps, _ := filepath.Glob(filepath.Join(dir, "caps", "*"))
		for i := range caps {
			caps[i] = filepath.Base(caps[i])
		}
		if !slices.Equal(caps, []string{"s-a-one.pcapng", "s-b-three.pcapng", "two.pcapng"}) {
			t.Errorf("captures %v, want s-a-one.pcapng, s-b-three.pcapng and two.pcapng", caps)
		}
		var classes []string
		for _, c := range readJUnit(t, filepath.Join(dir, "j.xml")).Cases {
			classes = append(classes, c.Name+" | "+c.Classname)
		}
		slices.Sort(classes)
		h1 := " (H1, RFC 9293 3.10.7.2)"
		if want := []string{"script s/a/one.pkt" + h1 + " | script.s.a", "script s/b/three.pkt" + h1 + " | script.s.b", "script two.pkt" + h1 + " | script"}; !slices.Equal(classes, want) {
			t.Errorf("testcases %q, want %q", classes, want)
		}
		if out, code := run(t, bin, dir, "run", "--label-filter", "tmp", filepath.Join(outside, "two.pkt")); code != 2 {
			t.Errorf("a label from the temporary folder's path selected a script: exit %d\n%s", code, out)
		}
	})

	t.Run("an empty script and time going backward are refused at file:line:col", func(t *testing.T) {
		dir := t.TempDir()
		writeScripts(t, dir, map[string]string{
			"empty.pkt": "// nothing to run\n",
			"back.pkt":  synToListen + "+1 close(3) = 0\n0.5 close(3) = 0\n",
		})
		for name, want := range map[string]string{
			"empty.pkt": "empty.pkt:1:1: empty script: no event to run",
			"back.pkt":  "back.pkt:9:1: time goes backward: 0.500000 s is before 1.000000 s",
		} {
			out, code := run(t, bin, dir, "run", name)
			if code != 2 || !strings.HasPrefix(out, want) {
				t.Errorf("%s: exit %d, want 2 and %q first\n%s", name, code, want, out)
			}
		}
	})

	t.Run("malformed scripts exit 2 at file:line:col when nothing else runs", func(t *testing.T) {
		dir := t.TempDir()
		writeScripts(t, dir, map[string]string{
			"bad.pkt": "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < S 0:0(0) win 1000 <mss 1460\n",
			"uns.pkt": "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 sendto(3, ..., 10, MSG_FASTOPEN, ..., ...) = 10\n",
		})
		out, code := run(t, bin, dir, "run", ".", "-o", "caps")
		if code != 2 || lastLine(out) != "0 passed, 0 failed, 1 skipped (unsupported), 1 refused (malformed)" {
			t.Fatalf("exit %d, last line %q, want 2\n%s", code, lastLine(out), out)
		}
		for _, want := range []string{"bad.pkt:2:33: expected '>'", "skipped uns.pkt: needs TCP Fast Open (line 2)"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if caps, _ := filepath.Glob(filepath.Join(dir, "caps", "*")); len(caps) != 0 {
			t.Errorf("captures written: %v", caps)
		}
		out, code = run(t, bin, dir, "run", "bad.pkt")
		if code != 2 || !strings.Contains(out, "nothing was run") {
			t.Errorf("a malformed script alone: exit %d\n%s", code, out)
		}
	})

	// One run over a folder of supported, unsupported and malformed scripts: the supported ones
	// run and are judged, each unsupported one is skipped with what it needs, each malformed
	// one refused at file:line:col, and the counts line and the exit status say so.
	t.Run("a folder of supported, unsupported and malformed scripts", func(t *testing.T) {
		dir := t.TempDir()
		writeScripts(t, dir, map[string]string{
			"suite/pass.pkt":   synToListen,
			"suite/fail.pkt":   strings.Replace(synToListen, "ack 1 win 65535", "ack 2 win 65535", 1),
			"suite/tfo.pkt":    "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0 sendto(3, ..., 1000, MSG_FASTOPEN, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n",
			"suite/v6.pkt":     "--ip_version=ipv6\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n",
			"suite/zc.pkt":     "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 setsockopt(3, SOL_SOCKET, SO_ZEROCOPY, [1], 4) = 0\n",
			"suite/broken.pkt": "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 frobnicate <\n",
		})
		out, code := run(t, bin, dir, "run", "--lenient", "suite", "-o", "caps")
		if code != 1 || lastLine(out) != "1 passed, 1 failed, 3 skipped (unsupported), 1 refused (malformed)" {
			t.Fatalf("exit %d, last line %q\n%s", code, lastLine(out), out)
		}
		for _, want := range []string{
			"skipped suite/tfo.pkt: needs TCP Fast Open (line 3)",
			"skipped suite/v6.pkt: needs IPv6 (line 1)",
			"skipped suite/zc.pkt: needs zerocopy (MSG_ZEROCOPY) (line 2)",
			"refused suite/broken.pkt:2:",
			"FAILED script suite/fail.pkt",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		// Only supported scripts: 0; only unsupported: 3, nothing judged; with
		// --skip-unsupported=false an unsupported script is refused.
		if out, code := run(t, bin, dir, "run", "suite/pass.pkt", "suite/tfo.pkt"); code != 0 || lastLine(out) != "1 passed, 0 failed, 1 skipped (unsupported), 0 refused (malformed)" {
			t.Errorf("pass + unsupported: exit %d, %q", code, lastLine(out))
		}
		if out, code := run(t, bin, dir, "run", "suite/tfo.pkt", "suite/zc.pkt"); code != 3 {
			t.Errorf("unsupported only: exit %d, want 3\n%s", code, out)
		}
		if out, code := run(t, bin, dir, "run", "--skip-unsupported=false", "suite/pass.pkt", "suite/tfo.pkt"); code != 1 ||
			lastLine(out) != "1 passed, 0 failed, 0 skipped (unsupported), 1 refused (malformed)" || !strings.Contains(out, "suite/tfo.pkt:3:25: unsupported: needs TCP Fast Open") {
			t.Errorf("--skip-unsupported=false: exit %d, %q\n%s", code, lastLine(out), out)
		}
	})

	// STANDARD gives way to a platform's name, names are case-sensitive, and a define that
	// differs only in case draws a warning naming what the script tests.
	t.Run("#ifdef STANDARD and FreeBSD", func(t *testing.T) {
		dir := t.TempDir()
		fork := strings.Replace(synToListen, "+0  > S.", "#ifdef STANDARD\n+0  > S. 0:0(0) ack 1 win 1 <mss 1460>\n#endif\n#ifdef FreeBSD\n+0  > S.", 1) + "#endif\n"
		writeScripts(t, dir, map[string]string{"fork.pkt": fork})
		if out, code := run(t, bin, dir, "run", "fork.pkt"); code != 1 {
			t.Errorf("no -D: exit %d, want 1 (the STANDARD branch expects win 1)\n%s", code, out)
		}
		if out, code := run(t, bin, dir, "run", "-D", "FreeBSD", "fork.pkt"); code != 0 {
			t.Errorf("-D FreeBSD: exit %d, want 0 (STANDARD off, FreeBSD on)\n%s", code, out)
		}
		out, code := run(t, bin, dir, "run", "-D", "FREEBSD", "fork.pkt")
		if code != 1 || !strings.Contains(out, "warning: fork.pkt:") || !strings.Contains(out, "-D FREEBSD does not define FreeBSD") {
			t.Errorf("-D FREEBSD: exit %d, want 1 with a warning naming FreeBSD\n%s", code, out)
		}
	})

	t.Run("strict, lenient and -D", func(t *testing.T) {
		dir := t.TempDir()
		extra := synToListen + "+0  < . 1:1(0) ack 1 win 65535\n+0  < P. 1:11(10) ack 1 win 65535\n+1  < . 11:11(0) ack 1 win 65535\n"
		other := strings.Replace(synToListen, "ack 1 win 65535 <mss 1460>", "ack 1 win 5840 <mss 1400>", 1)
		ifdef := strings.Replace(synToListen, "+0  > S.", "#ifdef MTCP_TEST\n+0  > S.", 1) + "#else\n+0 > R 0:0(0)\n#endif\n"
		subst := strings.Replace(synToListen, "ack 1 win 65535", "ack 1 win WIN", 1)
		writeScripts(t, dir, map[string]string{"extra.pkt": extra, "other.pkt": other, "ifdef.pkt": ifdef, "subst.pkt": subst})
		for _, c := range []struct {
			args []string
			want int
		}{
			{[]string{"run", "extra.pkt"}, 0},
			{[]string{"run", "--strict", "extra.pkt"}, 1},
			{[]string{"run", "other.pkt"}, 1},
			{[]string{"run", "--lenient", "other.pkt"}, 0},
			{[]string{"run", "ifdef.pkt"}, 1},
			{[]string{"run", "-D", "MTCP_TEST", "ifdef.pkt"}, 0},
			{[]string{"run", "-D", "MTCP_TEST", "-U", "MTCP_TEST", "ifdef.pkt"}, 1},
			{[]string{"run", "-D", "WIN=65535", "subst.pkt"}, 0},
			{[]string{"run", "-D", "WIN=5840", "subst.pkt"}, 1},
			{[]string{"run", "--platform", "solaris", "extra.pkt"}, 2},
			{[]string{"run"}, 2},
			{[]string{"run", "no-such-file.pkt"}, 2},
		} {
			if out, code := run(t, bin, dir, c.args...); code != c.want {
				t.Errorf("mtcp-test %v: exit %d, want %d\n%s", c.args, code, c.want, out)
			}
		}
	})
}
