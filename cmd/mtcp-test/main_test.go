package main

import (
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mtcp-go/mtcp/harness/conformance"
	"github.com/mtcp-go/mtcp/internal/netns/netnstest"
	"github.com/mtcp-go/mtcp/internal/pcapngtest"
)

// build compiles mtcp-test once per test binary.
func build(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mtcp-test")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
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
		raw, err := os.ReadFile(filepath.Join(dir, "junit.xml"))
		if err != nil {
			t.Fatal(err)
		}
		var suites struct {
			Tests int `xml:"tests,attr"`
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testsuite>testcase"`
		}
		if err := xml.Unmarshal(raw, &suites); err != nil {
			t.Fatalf("JUnit is not well-formed XML: %v", err)
		}
		if len(suites.Cases) != n || suites.Tests != n {
			t.Fatalf("JUnit has %d testcases (tests=%d), the suite has %d specs", len(suites.Cases), suites.Tests, n)
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
		if code != 0 || lastLine(out) != strconv.Itoa(arp)+" passed, 0 failed, "+strconv.Itoa(n-arp)+" skipped" {
			t.Fatalf("exit %d, last line %q", code, lastLine(out))
		}
		if caps, _ := filepath.Glob(filepath.Join(dir, "caps", "*.pcapng")); len(caps) != arp {
			t.Fatalf("%d ARP captures, want %d", len(caps), arp)
		}
	})

	t.Run("focus selects by spec text", func(t *testing.T) {
		out, code := run(t, bin, t.TempDir(), "--focus", "I[78] ")
		if code != 0 || lastLine(out) != "2 passed, 0 failed, "+strconv.Itoa(n-2)+" skipped" {
			t.Fatalf("exit %d, last line %q", code, lastLine(out))
		}
	})

	t.Run("exit status", func(t *testing.T) {
		dir := t.TempDir()
		for _, c := range []struct {
			args []string
			want int
		}{
			{[]string{"--no-such-flag"}, 2},
			{[]string{"unexpected"}, 2},
			{[]string{"list", "extra"}, 2},
			{[]string{"--help"}, 0},
			{[]string{"--label-filter", "no-such-label", "--ginkgo.fail-on-empty"}, 1},
		} {
			if out, code := run(t, bin, dir, c.args...); code != c.want {
				t.Errorf("mtcp-test %v: exit %d, want %d\n%s", c.args, code, c.want, out)
			}
		}
	})
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

// checkWithTshark opens every capture with Wireshark's tools: tshark shows the comments and
// capinfos reports no error. Under CI=true the tools must be there.
func checkWithTshark(t *testing.T, caps []string) {
	tshark, capinfos := netnstest.Tool(t, "tshark"), netnstest.Tool(t, "capinfos")
	for _, c := range caps {
		out, err := exec.Command(tshark, "-r", c, "-T", "fields", "-e", "frame.comment").Output()
		if err != nil || strings.TrimSpace(string(out)) == "" {
			t.Errorf("tshark -r %s: %v, comments %q", filepath.Base(c), err, out)
		}
		if out, err := exec.Command(capinfos, c).CombinedOutput(); err != nil {
			t.Errorf("capinfos %s: %v\n%s", filepath.Base(c), err, out)
		}
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
		raw, _ := os.ReadFile(filepath.Join(dir, "j.xml"))
		if !strings.Contains(string(raw), "win 65535, want 100") || !strings.Contains(string(raw), ".pcapng") {
			t.Errorf("JUnit lacks the failure and the capture path:\n%s", raw)
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
