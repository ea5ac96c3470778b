package script

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mtcp-go/mtcp/harness/mtcpdut"
)

func TestSysctlsOf(t *testing.T) {
	cases := []struct {
		cmd  string
		sets []Sysctl
		rest []string
	}{
		{"sysctl -w net.inet.tcp.sack.enable=1", []Sysctl{{Name: "net.inet.tcp.sack.enable", Value: "1"}}, nil},
		{"sysctl -q net.ipv4.tcp_sack=0; sysctl -q net.ipv4.tcp_timestamps=1",
			[]Sysctl{{Name: "net.ipv4.tcp_sack", Value: "0"}, {Name: "net.ipv4.tcp_timestamps", Value: "1"}}, nil},
		{`sysctl -q net.ipv4.tcp_rmem="4096 65536 131072"`, []Sysctl{{Name: "net.ipv4.tcp_rmem", Value: "4096 65536 131072"}}, nil},
		{"sysctl -w a=1 b=2 && echo done", []Sysctl{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}}, []string{"echo done"}},
		{"tc qdisc add dev tun0 root fq\n# a comment\nsysctl -q x=3", []Sysctl{{Name: "x", Value: "3"}}, []string{"tc qdisc add dev tun0 root fq"}},
		{"sysctl -n net.inet.tcp.sack.enable", nil, []string{"sysctl -n net.inet.tcp.sack.enable"}},
		{"echo 'a;b' > /tmp/x", nil, []string{"echo 'a;b' > /tmp/x"}},
		{`sysctl -q net.ipv4.tcp_rmem="4096 540000 $((15*1024*1024))" > /dev/null 2>&1`,
			[]Sysctl{{Name: "net.ipv4.tcp_rmem", Value: "4096 540000 15728640"}}, nil},
		{`sysctl -q a="$(( (2+3)*4 - 6/2 ))"`, []Sysctl{{Name: "a", Value: "17"}}, nil},
		{"sysctl -q a=$((1/0))", []Sysctl{{Name: "a", Value: "$((1/0))"}}, nil},
	}
	for _, c := range cases {
		sets, rest := sysctlsOf(c.cmd)
		if !reflect.DeepEqual(sets, c.sets) || !reflect.DeepEqual(rest, c.rest) {
			t.Errorf("sysctlsOf(%q) = %v, %q; want %v, %q", c.cmd, sets, rest, c.sets, c.rest)
		}
	}
}

// Every sysctl the runner maps changes the configuration it names.
func TestSysctlNotApplied(t *testing.T) {
	m, err := mtcpdut.New(mtcpdut.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	before := m.Core().TCP().Config()
	_, skips, err := applyPolicy(m, "", []Sysctl{
		{Name: "net.inet.tcp.blackhole", Value: "2", Line: 3},
		{Name: "net.ipv4.tcp_frto", Value: "0", Line: 4},
		{Name: "net.inet.tcp.recvspace", Value: "lots", Line: 5},
		{Name: "net.ipv4.tcp_congestion_control", Value: "bbr", Line: 6},
		{Name: "net.inet.tcp.delacktime", Value: "0", Line: 7},
		{Name: "net.inet.tcp.keepcnt", Value: "-1", Line: 8},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"line 3: sysctl not applied: net.inet.tcp.blackhole=2: only 0 is supported",
		"line 4: sysctl not applied: net.ipv4.tcp_frto=0: not a setting mtcp maps",
		`line 5: sysctl not applied: net.inet.tcp.recvspace=lots: "lots" is not an integer`,
		`line 6: sysctl not applied: net.ipv4.tcp_congestion_control=bbr: "bbr" is not one of cubic, newreno, reno`,
		"line 7: sysctl not applied: net.inet.tcp.delacktime=0: 0 is not a positive time",
		"line 8: sysctl not applied: net.inet.tcp.keepcnt=-1: -1 is not a positive count",
	}
	if len(skips) != len(want) {
		t.Fatalf("skips %v, want %d", skips, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(skips[i].String(), w) {
			t.Errorf("skip %d: %q, want it to start %q", i, skips[i], w)
		}
	}
	if !reflect.DeepEqual(m.Core().TCP().Config(), before) {
		t.Errorf("a refused sysctl changed the configuration")
	}
	if _, _, err := applyPolicy(m, "solaris", nil); err == nil || !strings.Contains(err.Error(), "freebsd, linux") {
		t.Errorf("unknown platform: %v", err)
	}
}

const rcvbufScript = `
0  %s
+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 getsockopt(3, SOL_SOCKET, SO_RCVBUF, [65536], [4]) = 0
`

// A sysctl line before the first event sets the policy; the same line later is reported, not
// applied; the platform's defaults set it too.
func TestSysctlSetsPolicy(t *testing.T) {
	set := strings.Replace(rcvbufScript, "%s", "`sysctl -w net.inet.tcp.recvspace=65536`", 1)
	res := mustPass(t, set, Config{})
	if len(res.Applied) != 1 || res.Applied[0].Name != "net.inet.tcp.recvspace" || len(res.Skipped) != 0 {
		t.Errorf("applied %v, skipped %v", res.Applied, res.Skipped)
	}
	// Positive control: without the line, the stack keeps its own size and the script fails.
	none := strings.Replace(rcvbufScript, "%s", "`true`", 1)
	mustFail(t, none, Config{}, 4, "gave 262144, expected 65536")
	mustPass(t, none, Config{Platform: "freebsd"})

	// A sysctl after the start changes the running stack, as on a kernel: a socket made
	// after it has the new size.
	late := strings.Replace(rcvbufScript, "%s", "`true`", 1) + `+0 ` + "`sysctl -w net.inet.tcp.recvspace=100000`" + `
+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4
+0 getsockopt(4, SOL_SOCKET, SO_RCVBUF, [100000], [4]) = 0
`
	res = mustPass(t, late, Config{Platform: "freebsd"})
	if len(res.Applied) != 1 || res.Applied[0] != (Sysctl{Name: "net.inet.tcp.recvspace", Value: "100000", Line: 5}) {
		t.Errorf("applied %v", res.Applied)
	}
	mustFail(t, strings.Replace(late, "=100000`", "=200000`", 1), Config{Platform: "freebsd"}, 7, "gave 200000, expected 100000")
}

// A shell line that runs a shell script next to the script (gtests' ../common/defaults.sh) is
// read for its sysctl lines, never run.
func TestShellScriptRead(t *testing.T) {
	dir, src, res := runWithDefaults(t, "#!/bin/bash\n# comment\nsysctl -q net.inet.tcp.recvspace=65536\ntc qdisc add dev tun0 root pfifo\n",
		"`../common/defaults.sh`")
	if len(res.Skipped) != 1 || res.Skipped[0].String() != "line 2: shell line not run: `tc qdisc add dev tun0 root pfifo` (in ../common/defaults.sh)" {
		t.Errorf("skipped %v", res.Skipped)
	}
	// Positive control: where the file is not, the line is skipped and the size is the stack's.
	s, _ := Parse(filepath.Join(dir, "x.pkt"), []byte(src), nil)
	if res, _ := Run(s, Config{}); res.Passed() {
		t.Error("passed without the defaults file")
	}
}

// The script named among other commands of one shell line (gtests' "`../common/defaults.sh
// <newline> sysctl -q net.ipv4.tcp_tso_win_divisor=100`") is read too, and the other commands'
// sysctls apply after it.
func TestShellScriptAmongCommands(t *testing.T) {
	_, _, res := runWithDefaults(t, "sysctl -q net.inet.tcp.recvspace=32768\ntc qdisc add dev tun0 root pfifo\n",
		"`../common/defaults.sh\nsysctl -q net.inet.tcp.recvspace=65536\necho done`")
	if got := fmt.Sprint(res.Applied); got != "[{net.inet.tcp.recvspace 32768 2} {net.inet.tcp.recvspace 65536 2}]" {
		t.Errorf("applied %s: want the script's sysctl, then the line's own", got)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].String() != "line 2: shell line not run: `tc qdisc add dev tun0 root pfifo` (in ../common/defaults.sh); `echo done`" {
		t.Errorf("skipped %v", res.Skipped)
	}
}

// A timed shell line before the first event moves the clock, as in packetdrill.
func TestTimedLeadingShellLine(t *testing.T) {
	mustPass(t, "+1 `sysctl -w net.inet.tcp.recvspace=65536`\n+1 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n"+
		"+0 < S 0:0(0) win 65535 <mss 1460>\n2.0 > S. 0:0(0) ack 1 <...>\n", Config{})
}

// refuser is a target that takes no sysctl.
type refuser struct{}

func (refuser) Sysctl(name, value string) error { return errors.New("not here") }

// A platform default the target cannot take is reported, not fatal: the script still runs.
func TestPlatformDefaultRefusedIsSkipped(t *testing.T) {
	applied, skips, err := applyPolicy(refuser{}, "linux", []Sysctl{{Name: "net.ipv4.tcp_sack", Value: "1", Line: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 || len(skips) != len(platformDefaults["linux"])+1 {
		t.Fatalf("applied %v, %d skips, want none and %d", applied, len(skips), len(platformDefaults["linux"])+1)
	}
	if got := skips[0].String(); got != "sysctl not applied: platform linux default net.ipv4.tcp_rmem=4096 131072 6291456: not here" {
		t.Errorf("first skip %q", got)
	}
	if got := skips[len(skips)-1].String(); got != "line 2: sysctl not applied: net.ipv4.tcp_sack=1: not here" {
		t.Errorf("last skip %q", got)
	}
}

// runWithDefaults writes defaults as common/defaults.sh in a folder, runs rcvbufScript from
// tests/ there with shell as its first line, and returns the folder, the script and the result,
// which must have passed.
func runWithDefaults(t *testing.T, defaults, shell string) (string, string, *Result) {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "common"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "common", "defaults.sh"), []byte(defaults), 0o644); err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(rcvbufScript, "%s", shell, 1)
	s, err := Parse(filepath.Join(dir, "tests", "x.pkt"), []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(s, Config{})
	if err != nil || !res.Passed() {
		t.Fatalf("%v %v", err, res.Failure)
	}
	return dir, src, res
}
