package script

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/stack/tcp"
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
func TestSysctlMapping(t *testing.T) {
	cases := []struct {
		name, value string
		check       func(c tcp.Config) bool
	}{
		{"net.inet.tcp.recvspace", "65536", func(c tcp.Config) bool { return c.ReceiveBuffer == 65536 }},
		{"net.inet.tcp.sendspace", "32768", func(c tcp.Config) bool { return c.SendBuffer == 32768 }},
		{"kern.ipc.maxsockbuf", "100000", func(c tcp.Config) bool { return c.ReceiveBuffer == 100000 && c.SendBuffer == 100000 }},
		{"net.inet.tcp.sack.enable", "0", func(c tcp.Config) bool { return c.SACK == tcp.Off }},
		{"net.inet.tcp.rfc1323", "0", func(c tcp.Config) bool { return c.Timestamps == tcp.Off && c.WindowScale == tcp.Off }},
		{"net.inet.tcp.rfc1323", "1", func(c tcp.Config) bool { return c.Timestamps == tcp.On && c.WindowScale == tcp.On }},
		{"net.inet.tcp.rfc1323", "2", func(c tcp.Config) bool { return c.Timestamps == tcp.Off && c.WindowScale == tcp.On }},
		{"net.inet.tcp.rfc1323", "3", func(c tcp.Config) bool { return c.Timestamps == tcp.On && c.WindowScale == tcp.Off }},
		{"net.inet.tcp.insecure_rst", "1", func(c tcp.Config) bool { return c.RSTChallenge == tcp.Off }},
		{"net.inet.tcp.insecure_rst", "0", func(c tcp.Config) bool { return c.RSTChallenge == tcp.On }},
		{"net.inet.tcp.insecure_syn", "1", func(c tcp.Config) bool { return c.SYNChallenge == tcp.Off }},
		{"net.inet.tcp.insecure_syn", "0", func(c tcp.Config) bool { return c.SYNChallenge == tcp.On }},
		{"net.inet.tcp.drop_synfin", "1", func(c tcp.Config) bool { return c.SynFin == tcp.SynFinDrop }},
		{"net.inet.tcp.drop_synfin", "0", func(c tcp.Config) bool { return c.SynFin == tcp.SynFinAccept }},
		{"net.inet.tcp.keepintvl", "5000", func(c tcp.Config) bool { return c.KeepAliveInterval == 5*time.Second }},
		{"net.inet.tcp.keepinit", "3000", func(c tcp.Config) bool { return c.ConnectTimeout == 3*time.Second }},
		{"net.inet.tcp.initcwnd_segments", "4", func(c tcp.Config) bool { return c.InitialWindow == 4 }},
		{"net.inet.tcp.ecn.enable", "1", func(c tcp.Config) bool { return c.ECN == tcp.ECNOn }},
		{"net.inet.tcp.ecn.enable", "0", func(c tcp.Config) bool { return c.ECN == tcp.ECNOff }},
		{"net.inet.tcp.rexmit_initial", "3000", func(c tcp.Config) bool { return c.RTOInitial == 3*time.Second }},
		{"net.inet.tcp.rexmit_min", "30", func(c tcp.Config) bool { return c.RTOMin == 30*time.Millisecond }},
		{"net.inet.tcp.rexmit_slop", "200", func(c tcp.Config) bool { return c.RTOVarMin == 200*time.Millisecond }},
		{"net.inet.tcp.delacktime", "100", func(c tcp.Config) bool { return c.DelayedACK == 100*time.Millisecond }},
		{"net.inet.tcp.msl", "5000", func(c tcp.Config) bool { return c.MSL == 5*time.Second }},
		{"net.inet.tcp.keepidle", "10000", func(c tcp.Config) bool { return c.KeepAliveIdle == 10*time.Second }},
		{"net.inet.tcp.keepcnt", "3", func(c tcp.Config) bool { return c.KeepAliveProbes == 3 }},
		{"net.inet.tcp.cc.algorithm", "cubic", func(c tcp.Config) bool { return c.Congestion == tcp.CongestionCUBIC }},
		{"net.ipv4.tcp_rmem", "4096 87380 6291456", func(c tcp.Config) bool { return c.ReceiveBuffer == 87380 }},
		{"net.ipv4.tcp_wmem", "4096 16384 4194304", func(c tcp.Config) bool { return c.SendBuffer == 16384 }},
		{"net.ipv4.tcp_sack", "0", func(c tcp.Config) bool { return c.SACK == tcp.Off }},
		{"net.ipv4.tcp_timestamps", "0", func(c tcp.Config) bool { return c.Timestamps == tcp.Off }},
		{"net.ipv4.tcp_ecn", "1", func(c tcp.Config) bool { return c.ECN == tcp.ECNOn }},
		{"net.ipv4.tcp_rto_min_us", "5000", func(c tcp.Config) bool { return c.RTOMin == 5*time.Millisecond }},
		{"net.ipv4.tcp_syn_retries", "2", func(c tcp.Config) bool { return c.SynRetries == 2 }},
		{"net.ipv4.tcp_synack_retries", "2", func(c tcp.Config) bool { return c.SynAckRetries == 2 }},
		{"net.ipv4.tcp_retries2", "3", func(c tcp.Config) bool { return c.Retries == 3 }},
		{"net.ipv4.tcp_fin_timeout", "7", func(c tcp.Config) bool { return c.FinTimeout == 7*time.Second }},
		{"net.ipv4.tcp_keepalive_time", "60", func(c tcp.Config) bool { return c.KeepAliveIdle == time.Minute }},
		{"net.ipv4.tcp_keepalive_probes", "4", func(c tcp.Config) bool { return c.KeepAliveProbes == 4 }},
		{"net.ipv4.tcp_keepalive_intvl", "10", func(c tcp.Config) bool { return c.KeepAliveInterval == 10*time.Second }},
		{"net.ipv4.tcp_window_scaling", "0", func(c tcp.Config) bool { return c.WindowScale == tcp.Off }},
		{"net.ipv4.tcp_congestion_control", "reno", func(c tcp.Config) bool { return c.Congestion == tcp.CongestionReno }},
		{"net.ipv4.tcp_syncookies", "0", func(c tcp.Config) bool { return c.SynCookies == tcp.Off }},
		{"net.ipv4.tcp_recovery", "0", func(c tcp.Config) bool { return c.RACK == tcp.Off }},
	}
	mapped := map[string]bool{}
	for _, c := range cases {
		cfg := harness.DefaultMTCPConfig()
		applied, skips, err := applyPolicy(&cfg, "", []Sysctl{{Name: c.name, Value: c.value, Line: 1}})
		if err != nil || len(skips) > 0 || len(applied) != 1 {
			t.Errorf("%s=%s: applied %v, skipped %v, err %v", c.name, c.value, applied, skips, err)
			continue
		}
		if !c.check(cfg.TCP) {
			t.Errorf("%s=%s did not set what it maps to: %+v", c.name, c.value, cfg.TCP)
		}
		mapped[c.name] = true
	}
	for _, s := range sysctls {
		if !mapped[s.name] && s.name != "net.inet.tcp.blackhole" && s.name != "net.inet.tcp.hostcache.purgenow" {
			t.Errorf("%s has no test here", s.name)
		}
	}
}

func TestSysctlNotApplied(t *testing.T) {
	cfg := harness.DefaultMTCPConfig()
	before := cfg
	_, skips, err := applyPolicy(&cfg, "", []Sysctl{
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
	if !reflect.DeepEqual(cfg, before) {
		t.Errorf("a refused sysctl changed the configuration")
	}
	if _, _, err := applyPolicy(&cfg, "solaris", nil); err == nil || !strings.Contains(err.Error(), "freebsd, linux") {
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
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "common"), 0o755); err != nil {
		t.Fatal(err)
	}
	defaults := "#!/bin/bash\n# comment\nsysctl -q net.inet.tcp.recvspace=65536\ntc qdisc add dev tun0 root pfifo\n"
	if err := os.WriteFile(filepath.Join(dir, "common", "defaults.sh"), []byte(defaults), 0o644); err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(rcvbufScript, "%s", "`../common/defaults.sh`", 1)
	s, err := Parse(filepath.Join(dir, "tests", "x.pkt"), []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(s, Config{})
	if err != nil || !res.Passed() {
		t.Fatalf("%v %v", err, res.Failure)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].String() != "line 2: shell line not run: `tc qdisc add dev tun0 root pfifo` (in ../common/defaults.sh)" {
		t.Errorf("skipped %v", res.Skipped)
	}
	// Positive control: where the file is not, the line is skipped and the size is the stack's.
	s, _ = Parse(filepath.Join(dir, "x.pkt"), []byte(src), nil)
	if res, _ := Run(s, Config{}); res.Passed() {
		t.Error("passed without the defaults file")
	}
}

// A timed shell line before the first event moves the clock, as in packetdrill.
func TestTimedLeadingShellLine(t *testing.T) {
	mustPass(t, "+1 `sysctl -w net.inet.tcp.recvspace=65536`\n+1 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n"+
		"+0 < S 0:0(0) win 65535 <mss 1460>\n2.0 > S. 0:0(0) ack 1 <...>\n", Config{})
}
