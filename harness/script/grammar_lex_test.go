package script

import (
	"reflect"
	"testing"
)

// TestGrammarTokens checks the lexer's reading of packetdrill's tokens.
func TestGrammarTokens(t *testing.T) {
	tests := []struct {
		src  string
		want []string // kind:text
	}{
		{"1:1001(1000)", []string{"int:1", "punct::", "int:1001", "punct:(", "int:1000", "punct:)"}},
		{"sack 1:2 3:4", []string{"word:sack", "int:1", "punct::", "int:2", "int:3", "punct::", "int:4"}},
		{"2001:db8::1 > 2001:db8::2:", []string{"ipv6:2001:db8::1", "punct:>", "ipv6:2001:db8::2", "punct::"}},
		{"fd3d:fa7b:d17d::1", []string{"ipv6:fd3d:fa7b:d17d::1"}},
		{"::1 ::ffff:192.0.2.1", []string{"ipv6:::1", "ipv6:::ffff:192.0.2.1"}},
		{"1:2:3:4:5:6:7:8", []string{"ipv6:1:2:3:4:5:6:7:8"}},
		{"02:00:00:00:00:01", []string{"mac:02:00:00:00:00:01"}},
		{"192.0.2.1: 1.5 .5 -1 0x1f 3021b9d889017eeb 0x12zz", []string{"ipv4:192.0.2.1", "punct::", "float:1.5", "float:.5", "int:-1", "hex:0x1f", "word:3021b9d889017eeb", "word:0x12zz"}},
		{"EXP-FO exp-FO exp-AccECN0 exp-tarr gen-12 exp-fe who-has voice-admit", []string{"word:EXP-FO", "word:exp-FO", "word:exp-AccECN0", "word:exp-tarr", "word:gen-12", "word:exp-fe", "word:who-has", "word:voice-admit"}},
		{"sequence# present", []string{"word:sequence#", "word:present"}},
		{"+0...0 x", []string{"punct:+", "int:0", "ellipsis:...", "int:0", "word:x"}},
		{"0:0(0)!", []string{"int:0", "punct::", "int:0", "punct:(", "int:0", "punct:)", "punct:!"}},
		{"x // c\ny /* # not a directive\n */ z", []string{"word:x", "word:y", "word:z"}},
	}
	for _, tt := range tests {
		lx := newLexer([]byte(tt.src), nil)
		if err := lx.run(); err != nil {
			t.Errorf("%q: %s", tt.src, err.msg)
			continue
		}
		var got []string
		for _, tok := range lx.toks[:len(lx.toks)-1] {
			got = append(got, tokKindName[tok.kind]+":"+tok.text)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q:\ngot  %q\nwant %q", tt.src, got, tt.want)
		}
	}
}

var tokKindName = map[tokKind]string{
	tInt: "int", tHex: "hex", tFloat: "float", tIPv4: "ipv4", tIPv6: "ipv6", tMAC: "mac", tWord: "word",
	tString: "string", tBackquote: "backquote", tCode: "code", tEllipsis: "ellipsis", tOption: "option", tPunct: "punct",
}

// TestGrammarBlocks: %{ }% Python and backquoted shell blocks span lines, and
// a '#' line inside them is theirs, not a preprocessor directive.
func TestGrammarBlocks(t *testing.T) {
	src := "`../common/defaults.sh\n" +
		"sysctl -q net.ipv4.tcp_min_tso_segs=4\n" +
		"# Disable TLP to avoid flakes:\n" +
		"sysctl -q net.ipv4.tcp_early_retrans=0`\n" +
		"\n" +
		"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n" +
		"+.005 %{\n" +
		"assert tcpi_ca_state == TCP_CA_CWR, tcpi_ca_state\n" +
		"# Since \"tcp: use PRR\" in Linux 3.7,\n" +
		"#ifdef is just a comment here\n" +
		"d = {1: {}}\n" +
		"}%\n" +
		"+0 %{ assert tcpi_snd_cwnd == 4, tcpi_snd_cwnd }%\n" +
		"+0 `echo a\n#endif\necho b`\n" +
		"/* #else */\n" +
		"+0 close(3) = 0 // # neither\n"
	s := mustParse(t, src)
	want := []struct {
		kind      EventKind
		line      int
		text      string
		timeKind  TimeKind
		timeStart string
	}{
		{EventShell, 1, "../common/defaults.sh\nsysctl -q net.ipv4.tcp_min_tso_segs=4\n# Disable TLP to avoid flakes:\nsysctl -q net.ipv4.tcp_early_retrans=0", TimeNone, ""},
		{EventSyscall, 6, "", TimeAbsolute, ""},
		{EventCode, 7, "\nassert tcpi_ca_state == TCP_CA_CWR, tcpi_ca_state\n# Since \"tcp: use PRR\" in Linux 3.7,\n#ifdef is just a comment here\nd = {1: {}}\n", TimeRelative, ""},
		{EventCode, 13, "assert tcpi_snd_cwnd == 4, tcpi_snd_cwnd", TimeRelative, ""},
		{EventShell, 14, "echo a\n#endif\necho b", TimeRelative, ""},
		{EventSyscall, 18, "", TimeRelative, ""},
	}
	if len(s.Events) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(s.Events), len(want), s.Events)
	}
	for i, w := range want {
		e := s.Events[i]
		text := e.Command + e.Code
		if e.Kind != w.kind || e.Line != w.line || text != w.text || e.Time.Kind != w.timeKind {
			t.Errorf("event %d: %v at line %d time %v %q\nwant %v at line %d time %v %q", i, e.Kind, e.Line, e.Time.Kind, text, w.kind, w.line, w.timeKind, w.text)
		}
	}
}

// TestGrammarOptionLines: option lines come before the first event; the known
// ones take effect, --define defines, the others are kept with a warning.
func TestGrammarOptionLines(t *testing.T) {
	src := "// header\n--mss=1000\n--tolerance_usecs=20000\n--remote_ip=\"192.0.2.1\"\n--local_ip=fd3d:0a0b:17d6::1\n--define=PORT=8080\n--define=CC=\"reno\"\n--non_fatal=syscall\n" +
		"0 bind(3, PORT, CC) = 0\n"
	s := mustParse(t, src)
	if s.Tolerance != 20*ms(1) {
		t.Errorf("tolerance %v", s.Tolerance)
	}
	var names []string
	for _, o := range s.Options {
		names = append(names, o.Name+"="+o.Value)
	}
	if want := []string{"mss=1000", "tolerance_usecs=20000", "remote_ip=192.0.2.1", "local_ip=fd3d:0a0b:17d6::1", "define=PORT=8080", `define=CC="reno"`, "non_fatal=syscall"}; !reflect.DeepEqual(names, want) {
		t.Errorf("options %q", names)
	}
	var warned []string
	for _, w := range s.Warnings {
		warned = append(warned, w.Msg)
	}
	if want := []string{"unknown option --mss ignored", "unknown option --remote_ip ignored", "unknown option --local_ip ignored", "unknown option --non_fatal ignored"}; !reflect.DeepEqual(warned, want) {
		t.Errorf("warnings %q", warned)
	}
	if got := renderSyscallGrammar(s.Events[0].Syscall); got != `bind(3=3, 8080=8080, "reno") = 0=0` {
		t.Errorf("defines in the script: %s", got)
	}
}
