package script

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/mtcp-go/mtcp/harness"
)

// A script sets the policy of the stack under test with shell lines such as
// `sysctl -w net.inet.tcp.sack.enable=1` (FreeBSD) or `sysctl -q net.ipv4.tcp_sack=1` (Linux).
// The runner never runs a shell line; it reads the sysctl assignments of the lines before the
// first packet or system call and hands them to the target (a harness.Tunable), after the
// defaults of the --platform the script was written for (the table below). mtcp's mapping of
// sysctl names onto its configuration is harness/mtcpdut's; scenarios/README.md lists it for
// script writers.

// Sysctl is one assignment a shell line makes.
type Sysctl struct {
	Name, Value string
	Line        int
}

// KnownPlatforms are the --platform names: each is the defaults a platform's scripts assume
// without setting them.
var KnownPlatforms = []string{"freebsd", "linux"}

// platformDefaults are, per platform, the settings its scripts take for granted, in sysctl
// terms, each from the platform's source or documentation. A script's own sysctl lines apply
// after them.
var platformDefaults = map[string][]Sysctl{
	"freebsd": {
		{Name: "net.inet.tcp.recvspace", Value: "65536"},      // tcp_usrreq.c: tcp_recvspace = 1024*64
		{Name: "net.inet.tcp.sendspace", Value: "32768"},      // tcp_usrreq.c: tcp_sendspace = 1024*32
		{Name: "net.inet.tcp.delacktime", Value: "40"},        // tcp_timer.h: TCPTV_DELACK (hz/25), 40 ms
		{Name: "net.inet.tcp.rexmit_initial", Value: "1000"},  // tcp_timer.h: TCPTV_RTOBASE (hz), 1 s
		{Name: "net.inet.tcp.rexmit_min", Value: "30"},        // tcp_timer.h: TCPTV_MIN (hz/33), 30 ms
		{Name: "net.inet.tcp.rexmit_slop", Value: "200"},      // tcp_timer.h: TCPTV_CPU_VAR (hz/5), 200 ms
		{Name: "net.inet.tcp.msl", Value: "30000"},            // tcp_timer.h: TCPTV_MSL (30*hz)
		{Name: "net.inet.tcp.sack.enable", Value: "1"},        // tcp(4)
		{Name: "net.inet.tcp.rfc1323", Value: "1"},            // tcp(4)
		{Name: "net.inet.tcp.ecn.enable", Value: "2"},         // tcp(4): 2, accept ECN when asked (FreeBSD 13+)
		{Name: "net.inet.tcp.keepidle", Value: "7200000"},     // tcp_timer.h: TCPTV_KEEP_IDLE, 2 h
		{Name: "net.inet.tcp.keepintvl", Value: "75000"},      // tcp_timer.h: TCPTV_KEEPINTVL, 75 s
		{Name: "net.inet.tcp.keepinit", Value: "75000"},       // tcp_timer.h: TCPTV_KEEP_INIT, 75 s
		{Name: "net.inet.tcp.keepcnt", Value: "8"},            // tcp_timer.h: TCPTV_KEEPCNT
		{Name: "net.inet.tcp.insecure_rst", Value: "0"},       // tcp_input.c: RFC 5961 3 on
		{Name: "net.inet.tcp.insecure_syn", Value: "0"},       // tcp_input.c: RFC 5961 4 on
		{Name: "net.inet.tcp.drop_synfin", Value: "0"},        // tcp_input.c: a SYN+FIN is taken as a SYN
		{Name: "net.inet.tcp.cc.algorithm", Value: "newreno"}, // cc(4)
		{Name: "net.inet.tcp.initcwnd_segments", Value: "10"}, // tcp(4): RFC 6928's 10 since FreeBSD 11
		{Name: "delayed ACK segments", Value: "2"},            // tcp_input.c: a delayed ACK holds one segment (no sysctl)
		{Name: "FIN with every ACK", Value: "1"},              // tcp_output.c: tcp_outflags set FIN until it is acknowledged (no sysctl)
	},
	"linux": {
		{Name: "net.ipv4.tcp_rmem", Value: "4096 131072 6291456"}, // ip-sysctl.rst: tcp_rmem default 131072
		{Name: "net.ipv4.tcp_wmem", Value: "4096 16384 4194304"},  // ip-sysctl.rst: tcp_wmem default 16384
		{Name: "net.ipv4.tcp_sack", Value: "1"},                   // ip-sysctl.rst
		{Name: "net.ipv4.tcp_timestamps", Value: "1"},             // ip-sysctl.rst
		{Name: "net.ipv4.tcp_ecn", Value: "2"},                    // ip-sysctl.rst: 2, accept ECN when asked
		{Name: "net.ipv4.tcp_rto_min_us", Value: "200000"},        // include/net/tcp.h: TCP_RTO_MIN (HZ/5)
		{Name: "net.ipv4.tcp_syn_retries", Value: "6"},            // ip-sysctl.rst
		{Name: "net.ipv4.tcp_synack_retries", Value: "5"},         // ip-sysctl.rst
		{Name: "net.ipv4.tcp_retries2", Value: "15"},              // ip-sysctl.rst
		{Name: "net.ipv4.tcp_fin_timeout", Value: "60"},           // ip-sysctl.rst
		{Name: "net.ipv4.tcp_keepalive_time", Value: "7200"},      // ip-sysctl.rst
		{Name: "net.ipv4.tcp_keepalive_intvl", Value: "75"},       // ip-sysctl.rst
		{Name: "net.ipv4.tcp_keepalive_probes", Value: "9"},       // ip-sysctl.rst
		{Name: "net.ipv4.tcp_window_scaling", Value: "1"},         // ip-sysctl.rst
		{Name: "net.ipv4.tcp_congestion_control", Value: "cubic"}, // the default since Linux 2.6.19
		{Name: "net.ipv4.tcp_syncookies", Value: "1"},             // ip-sysctl.rst
		{Name: "TCP_INIT_CWND", Value: "10"},                      // include/net/tcp.h (no sysctl)
		{Name: "TCP_DELACK_MIN", Value: "40"},                     // include/net/tcp.h: HZ/25 (no sysctl)
		{Name: "timestamps optional", Value: "1"},                 // tcp_input.c: no RFC 7323 3.2 drop of a segment without one
	},
}

// sysctlsOf reads the sysctl assignments of a shell line (`sysctl -w a=1 b=2; sysctl -q c=3`)
// and returns the commands it does not understand.
func sysctlsOf(cmd string) (sets []Sysctl, rest []string) {
	for _, c := range splitCommands(cmd) {
		words := shellWords(c)
		if len(words) == 0 {
			continue
		}
		if words[0] != "sysctl" {
			rest = append(rest, c)
			continue
		}
		var mine []Sysctl
		ok := true
		for i := 1; i < len(words); i++ {
			w := words[i]
			name, value, isSet := strings.Cut(w, "=")
			switch {
			case w == ">" || w == ">>" || w == "2>" || w == "&>":
				i++ // a redirection and its file: nothing to do with what is set
			case strings.HasPrefix(w, ">") || strings.HasPrefix(w, "2>") || strings.HasPrefix(w, "&>"):
			case strings.HasPrefix(w, "-") && !isSet && strings.Trim(w, "-wqe") == "":
				// -w (write), -q (quiet), -e: no effect on what is set
			case isSet && name != "":
				mine = append(mine, Sysctl{Name: name, Value: expandArith(value)})
			default:
				ok = false // a read (sysctl -n name) or a flag the runner does not know
			}
		}
		if !ok || len(mine) == 0 {
			rest = append(rest, c)
			continue
		}
		sets = append(sets, mine...)
	}
	return sets, rest
}

// arith is a shell arithmetic expansion of integers: $((15*1024*1024)).
var arith = regexp.MustCompile(`\$\(\(([0-9+*/ ()-]+)\)\)`)

// expandArith replaces each $((...)) of integers and + - * / ( ) with its value, as the shell
// would; one it cannot read stays as written.
func expandArith(v string) string {
	return arith.ReplaceAllStringFunc(v, func(m string) string {
		p := arithParser{s: strings.ReplaceAll(arith.FindStringSubmatch(m)[1], " ", "")}
		n, ok := p.sum()
		if !ok || p.i != len(p.s) {
			return m
		}
		return strconv.FormatInt(n, 10)
	})
}

// arithParser evaluates sums of products of integers and parenthesised sums.
type arithParser struct {
	s string
	i int
}

func (p *arithParser) sum() (int64, bool) {
	n, ok := p.product()
	for ok && p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
		op := p.s[p.i]
		p.i++
		var m int64
		if m, ok = p.product(); op == '+' {
			n += m
		} else {
			n -= m
		}
	}
	return n, ok
}

func (p *arithParser) product() (int64, bool) {
	n, ok := p.factor()
	for ok && p.i < len(p.s) && (p.s[p.i] == '*' || p.s[p.i] == '/') {
		op := p.s[p.i]
		p.i++
		var m int64
		m, ok = p.factor()
		switch {
		case !ok:
		case op == '*':
			n *= m
		case m == 0:
			ok = false
		default:
			n /= m
		}
	}
	return n, ok
}

func (p *arithParser) factor() (int64, bool) {
	if p.i < len(p.s) && p.s[p.i] == '(' {
		p.i++
		n, ok := p.sum()
		if !ok || p.i >= len(p.s) || p.s[p.i] != ')' {
			return 0, false
		}
		p.i++
		return n, true
	}
	j := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	n, err := strconv.ParseInt(p.s[j:p.i], 10, 64)
	return n, err == nil
}

// splitCommands splits a shell line at ';', '&&', '||' and newlines outside quotes, dropping
// comment lines.
func splitCommands(s string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	flush := func() {
		if c := strings.TrimSpace(cur.String()); c != "" && !strings.HasPrefix(c, "#") {
			out = append(out, c)
		}
		cur.Reset()
	}
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == ';' || r == '\n':
			flush()
			continue
		case (r == '&' || r == '|') && i+1 < len(rs) && rs[i+1] == r:
			flush()
			i++
			continue
		}
		cur.WriteRune(r)
	}
	flush()
	return out
}

// shellWords splits a command into words as a shell would, for the simple commands scripts
// use: quotes group, backslashes are kept as written.
func shellWords(s string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	in := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case unicode.IsSpace(r):
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// applyPolicy sets the target's policy before it starts: the platform's defaults, then the
// script's own sysctl assignments, in order. A default or an assignment the target cannot take
// is skipped with the reason (mtcp takes every platform default; another target may not).
func applyPolicy(t harness.Tunable, platform string, sets []Sysctl) (applied []Sysctl, skips []Skip, err error) {
	if platform != "" && !slices.Contains(KnownPlatforms, platform) {
		return nil, nil, fmt.Errorf("unknown platform %q (%s)", platform, strings.Join(KnownPlatforms, ", "))
	}
	for _, d := range platformDefaults[platform] {
		if err := t.Sysctl(d.Name, d.Value); err != nil { // line 0: not the script's
			skips = append(skips, Skip{What: "sysctl", Text: fmt.Sprintf("platform %s default %s=%s: %v", platform, d.Name, d.Value, err)})
		}
	}
	for _, s := range sets {
		if err := t.Sysctl(s.Name, s.Value); err != nil {
			skips = append(skips, Skip{Line: s.Line, What: "sysctl", Text: fmt.Sprintf("%s=%s: %v", s.Name, s.Value, err)})
			continue
		}
		applied = append(applied, s)
	}
	return applied, skips, nil
}

// leadingShell reads the shell lines before a script's first packet or system call: their
// sysctl assignments set the stack's policy before it starts; the rest of them is skipped.
func leadingShell(s *Script) (sets []Sysctl, skips []Skip) {
	for _, e := range s.Events {
		if e.Kind == EventCode {
			continue
		}
		if e.Kind != EventShell {
			break
		}
		found, rest := shellLine(s.File, e)
		sets, skips = append(sets, found...), append(skips, rest...)
	}
	return sets, skips
}

// shellLine reads a shell line: its sysctl assignments, and a Skip for the commands left. A
// line that runs a shell script next to the script (gtests' `../common/defaults.sh`) is read,
// never run, for the sysctl lines in it.
func shellLine(file string, e Event) (sets []Sysctl, skips []Skip) {
	found, rest := shellSysctls(file, e.Command, 0)
	for _, f := range found {
		f.Line = e.Line
		sets = append(sets, f)
	}
	if len(rest) > 0 {
		skips = append(skips, Skip{Line: e.Line, What: "shell", Text: strings.Join(rest, "; ")})
	}
	return sets, skips
}

// shellSysctls reads the sysctl assignments of a shell line's commands, and of the shell scripts
// next to the script that a command runs (gtests' `../common/defaults.sh`, alone or among other
// commands), as packetdrill runs them, scripts within scripts up to 4 deep; rest are the other
// commands, quoted, each script's marked with where it came from.
func shellSysctls(file, cmd string, depth int) (sets []Sysctl, rest []string) {
	var plain []string
	flush := func() {
		if len(plain) > 0 {
			found, others := sysctlsOf(strings.Join(plain, "\n"))
			sets = append(sets, found...)
			if len(others) > 0 {
				rest = append(rest, "`"+strings.Join(others, "; ")+"`")
			}
			plain = nil
		}
	}
	for _, c := range splitCommands(cmd) {
		path, ok := shellScript(file, c)
		if !ok || depth >= 4 {
			plain = append(plain, c)
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			plain = append(plain, c)
			continue
		}
		flush()
		found, others := shellSysctls(file, string(src), depth+1)
		sets = append(sets, found...)
		for _, o := range others {
			rest = append(rest, o+" (in "+strings.TrimSpace(c)+")")
		}
	}
	flush()
	return sets, rest
}

func shellScript(file, cmd string) (string, bool) {
	words := shellWords(cmd)
	if len(words) != 1 || !strings.HasSuffix(words[0], ".sh") || strings.ContainsAny(words[0], "$`") {
		return "", false
	}
	path := words[0]
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(file), path)
	}
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		return "", false
	}
	return path, true
}

// liveShell runs a shell line met after the stack started: its sysctls change the running
// target's policy, as on a kernel.
func (r *runner) liveShell(e *Event) {
	sets, skips := shellLine(r.s.File, *e)
	r.res.Skipped = append(r.res.Skipped, skips...)
	t, _ := r.b.DUT().(harness.Tunable)
	for _, set := range sets {
		err := fmt.Errorf("the target %s takes no sysctls", r.b.DUT().Name())
		if t != nil {
			err = t.Sysctl(set.Name, set.Value)
		}
		if err != nil {
			r.res.Skipped = append(r.res.Skipped, Skip{Line: set.Line, What: "sysctl", Text: fmt.Sprintf("%s=%s: %v", set.Name, set.Value, err)})
			continue
		}
		r.res.Applied = append(r.res.Applied, set)
	}
}
