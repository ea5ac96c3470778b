package script

import (
	"errors"
	"flag"
	"reflect"
	"strings"
	"testing"
)

func defines(t *testing.T, args ...string) Defines {
	t.Helper()
	var d Defines
	for _, a := range args {
		var err error
		if name, ok := strings.CutPrefix(a, "-U"); ok {
			err = d.Undefine(name)
		} else {
			err = d.Define(a)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// ifdefSrc closes a descriptor per branch taken.
const ifdefSrc = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
#ifdef STANDARD
+0 close(1) = 0
#endif
#ifdef FreeBSD
+0 close(2) = 0
#endif
#ifdef Linux
+0 close(3) = 0
#else
+0 close(4) = 0
#endif
#ifndef RFC
+0 close(5) = 0
#endif
`

func closes(t *testing.T, s *Script) []int64 {
	t.Helper()
	var got []int64
	for _, e := range s.Events[1:] {
		got = append(got, e.Syscall.Args[0].Int)
	}
	return got
}

// TestGrammarIfdefRule: STANDARD is defined exactly when no define names a
// platform; -U wins over everything.
func TestGrammarIfdefRule(t *testing.T) {
	tests := []struct {
		args []string
		want []int64
	}{
		{nil, []int64{1, 4, 5}},
		{[]string{"FreeBSD"}, []int64{2, 4, 5}},
		{[]string{"FreeBSD=1"}, []int64{2, 4, 5}},
		{[]string{"Linux"}, []int64{3, 5}},
		{[]string{"NetBSD"}, []int64{4, 5}},
		{[]string{"OpenBSD", "RFC"}, []int64{4}},
		{[]string{"FreeBSD", "STANDARD"}, []int64{1, 2, 4, 5}},
		{[]string{"-USTANDARD"}, []int64{4, 5}},
		{[]string{"FreeBSD", "-UFreeBSD"}, []int64{1, 4, 5}},
		{[]string{"FREEBSD"}, []int64{1, 4, 5}}, // case-sensitive: not a platform
		{[]string{"RFC=0"}, []int64{1, 4}},      // any value defines
	}
	for _, tt := range tests {
		s, err := ParseWith("d.pkt", []byte(ifdefSrc), ParseOptions{Defines: defines(t, tt.args...)})
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if got := closes(t, s); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("-D %v: closes %v, want %v", tt.args, got, tt.want)
		}
	}
	// Parse's map is the exact set of names: no STANDARD rule.
	for _, tt := range []struct {
		m    map[string]bool
		want []int64
	}{
		{nil, []int64{1, 4, 5}},
		{map[string]bool{"FreeBSD": true}, []int64{2, 4, 5}},
		{map[string]bool{"FreeBSD": true, "STANDARD": true}, []int64{1, 2, 4, 5}},
		{map[string]bool{"STANDARD": false, "RFC": true}, []int64{4}},
	} {
		s, err := Parse("d.pkt", []byte(ifdefSrc), tt.m)
		if err != nil {
			t.Fatal(err)
		}
		if got := closes(t, s); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%v): closes %v, want %v", tt.m, got, tt.want)
		}
	}
}

// TestGrammarSubstitution: a bare word defined with a value reads as that
// value, typed as packetdrill's lexer types it.
func TestGrammarSubstitution(t *testing.T) {
	d := defines(t, "TFO_COOKIE=3021b9d889017eeb", "CODE=host_unreachable", "CMSG_LEVEL_IP=SOL_IP",
		"CMSG_TYPE_RECVERR=IP_RECVERR", "MSS=1440", "HEXV=0x10", "OCT=010", "NEG=-3", "EMPTY=", "STR=\"cubic\"",
		"CMD=`echo hi`", "ack=5", "FLAG")
	src := "0 < S 0:0(0) win 100 <mss MSS,nop,nop>\n" +
		"+0 < icmp unreachable CODE [1:1(0)]\n" +
		"+0 f(CMSG_LEVEL_IP, CMSG_TYPE_RECVERR, HEXV, OCT, NEG, EMPTY, STR, FLAG, \"MSS\") = NEG\n" +
		"+0 CMD\n" +
		"+0 > . 1:1(0) ack 1\n"
	s, err := ParseWith("s.pkt", []byte(src), ParseOptions{Defines: d})
	if err != nil {
		t.Fatal(err)
	}
	if o := s.Events[0].Packet.TCP.Options[0]; o.MSS != 1440 {
		t.Errorf("mss %d", o.MSS)
	}
	if ic := s.Events[1].Packet.ICMP; ic.Code != 1 || ic.CodeName != "host_unreachable" {
		t.Errorf("icmp %+v", ic)
	}
	if got := renderSyscallGrammar(s.Events[2].Syscall); got != `f(SOL_IP, IP_RECVERR, 16=16, 8=8, -3=-3, 0=0, "cubic", FLAG, "MSS") = -3=-3` {
		t.Errorf("got %s", got)
	}
	if e := s.Events[3]; e.Kind != EventShell || e.Command != "echo hi" {
		t.Errorf("backquoted define: %+v", e)
	}
	// "ack" is packetdrill's keyword: never replaced.
	if tc := s.Events[4].Packet.TCP; tc.Ack != 1 {
		t.Errorf("ack %d", tc.Ack)
	}
	// The TFO cookie reads as a word, the cookie, so the line is well-formed.
	_, err = ParseWith("s.pkt", []byte("0 < S 0:10(10) win 100 <mss 1460,sackOK,nop,nop,FOEXP TFO_COOKIE>\n"), ParseOptions{Defines: d})
	var e *Error
	if !errors.As(err, &e) || e.Feature != FeatureFastOpen {
		t.Errorf("TFO: %v", err)
	}
	// -D beats the script's --define; -U undefines both.
	src = "--define=X=1\n0 close(X) = 0\n"
	for _, tt := range []struct {
		args []string
		want string
	}{{nil, "1"}, {[]string{"X=2"}, "2"}, {[]string{"-UX"}, "X"}} {
		s, err := ParseWith("s.pkt", []byte(src), ParseOptions{Defines: defines(t, tt.args...)})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Events[0].Syscall.Args[0].Text; got != tt.want {
			t.Errorf("%v: close(%s), want close(%s)", tt.args, got, tt.want)
		}
	}
	// Parse's map substitutes nothing, but the script's --define still applies.
	s, _ = Parse("s.pkt", []byte(src), map[string]bool{"X": true})
	if got := s.Events[0].Syscall.Args[0].Text; got != "1" {
		t.Errorf("Parse: close(%s)", got)
	}
	// A word that should be a number names the define it may lack.
	_, err = ParseWith("s.pkt", []byte("0 > S. 0:0(0) ack 1 <mss MSS>\n"), ParseOptions{})
	if err == nil || !strings.Contains(err.Error(), `s.pkt:1:26: expected mss (an integer), found "MSS" (is MSS a -D MSS=VALUE definition this run lacks?)`) {
		t.Errorf("missing define: %v", err)
	}
	// A substituted token says where it came from.
	_, err = ParseWith("s.pkt", []byte("0 > S. 0:0(0) ack 1 <mss CODE>\n"), ParseOptions{Defines: d})
	if err == nil || !strings.Contains(err.Error(), `found "host_unreachable" (the value of CODE)`) {
		t.Errorf("substituted: %v", err)
	}
}

func TestGrammarStrtol(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "10": 10, "-3": -3, "+4": 4, "0x1F": 31, "010": 8, "": 0, " 7": 7} {
		if got, ok := strtolFull(in); !ok || got != want {
			t.Errorf("strtolFull(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"08", "0x", "1.5", "abc", "12abc", "-", "9223372036854775807", "99999999999999999999"} {
		if v, ok := strtolFull(in); ok {
			t.Errorf("strtolFull(%q) = %d, want not an integer", in, v)
		}
	}
}

// TestGrammarDefinesAPI covers Define, Undefine and their flag adapters.
func TestGrammarDefinesAPI(t *testing.T) {
	var d Defines
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Var(DefineFlag{&d}, "D", "define")
	fs.Var(UndefineFlag{&d}, "U", "undefine")
	if err := fs.Parse([]string{"-D", "FreeBSD", "-D", "MSS=1440", "-D", "S=\"a b\"", "-U", "STANDARD"}); err != nil {
		t.Fatal(err)
	}
	want := Defines{Names: []string{"FreeBSD"}, Values: map[string]string{"MSS": "1440", "S": `"a b"`}, Undefined: []string{"STANDARD"}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("got %+v", d)
	}
	if got := (DefineFlag{&d}).String(); got != `FreeBSD,MSS=1440,S="a b"` {
		t.Errorf("String() = %q", got)
	}
	if got := (UndefineFlag{&d}).String(); got != "STANDARD" {
		t.Errorf("String() = %q", got)
	}
	for _, bad := range []string{"", "=1", "A B=1", "X-Y"} {
		if err := d.Define(bad); err == nil {
			t.Errorf("Define(%q) took it", bad)
		}
	}
	if err := d.Undefine(""); err == nil {
		t.Errorf("Undefine(\"\") took it")
	}
	if (DefineFlag{}).String() != "" || (UndefineFlag{}).String() != "" {
		t.Errorf("zero flags print something")
	}
}

// TestGrammarCaseWarnings: a define that differs only in case from a name the
// script tests is reported, with the names the script tests.
func TestGrammarCaseWarnings(t *testing.T) {
	src := []byte("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n#ifdef FreeBSD\n+0 close(3) = 0\n#endif\n  #ifndef STANDARD\n+0 close(4) = 0\n#endif\n")
	if got := TestedNames(src); !reflect.DeepEqual(got, []TestedName{{"FreeBSD", 2, 8}, {"STANDARD", 5, 11}}) {
		t.Errorf("TestedNames = %+v", got)
	}
	d := defines(t, "FREEBSD", "standard=1", "Linux", "FreeBSD2")
	ws := CaseWarnings("w.pkt", src, d)
	var got []string
	for _, w := range ws {
		got = append(got, strings.SplitN(w.Error(), "\n", 2)[0])
	}
	want := []string{
		"w.pkt:2:8: -D FREEBSD does not define FreeBSD, which this script tests: names are case-sensitive (the script tests FreeBSD, STANDARD)",
		"w.pkt:5:11: -D standard does not define STANDARD, which this script tests: names are case-sensitive (the script tests FreeBSD, STANDARD)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// ParseWith adds them to the script's warnings.
	s, err := ParseWith("w.pkt", src, ParseOptions{Defines: d})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings) != 2 || s.Warnings[0].Text != "#ifdef FreeBSD" {
		t.Errorf("warnings %v", s.Warnings)
	}
	if ws := CaseWarnings("w.pkt", src, defines(t, "FreeBSD")); len(ws) != 0 {
		t.Errorf("exact name warned: %v", ws)
	}
	if ws := CaseWarnings("w.pkt", []byte("0 close(3) = 0\n"), d); len(ws) != 0 {
		t.Errorf("no #ifdef, warned: %v", ws)
	}
}

// TestGrammarDirectives: #ifdef lines are read where a token may start;
// an untaken branch is skipped line by line, whatever it holds.
func TestGrammarDirectives(t *testing.T) {
	src := "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n" +
		"#ifdef FreeBSD // the fork's\n" +
		"+0 `unterminated\n" +
		"#ifdef X\n#else\n#endif\n" +
		"#else\n" +
		"   #ifdef STANDARD\n" +
		"+0 close(3) = 0\n" +
		"   #endif\n" +
		"#endif\n" +
		"--tolerance_usecs=x\n"
	_, err := Parse("dir.pkt", []byte(src), nil)
	// The option line after the event is the first error: the skipped lines
	// (an unterminated backquote, a nested #ifdef) are not read.
	if err == nil || !strings.Contains(err.Error(), "dir.pkt:12:1: option --tolerance_usecs must come before the first event") {
		t.Errorf("got %v", err)
	}
	s := mustParse(t, strings.TrimSuffix(src, "--tolerance_usecs=x\n"))
	if len(s.Events) != 2 || s.Events[1].Line != 9 {
		t.Errorf("events %+v", s.Events)
	}
	// A directive may wrap option lines; --define defines for the lines below.
	s = mustParse(t, "--define=FAST=1\n#ifdef FAST\n--tolerance_usecs=1\n#endif\n0 close(FAST) = 0\n")
	if s.Tolerance != 1000 || s.Events[0].Syscall.Args[0].Int != 1 {
		t.Errorf("tolerance %v, %+v", s.Tolerance, s.Events[0])
	}
}
