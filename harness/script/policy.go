package script

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/mtcp-go/mtcp/stack/core"
	"github.com/mtcp-go/mtcp/stack/tcp"
)

// A script sets the policy of the stack under test with shell lines such as
// `sysctl -w net.inet.tcp.sack.enable=1` (FreeBSD) or `sysctl -q net.ipv4.tcp_sack=1` (Linux).
// The runner never runs a shell line; it reads the sysctl assignments of the lines before the
// first packet or system call and applies the ones it knows to the stack's configuration for
// that script. The table below is every sysctl understood; scenarios/README.md lists it for
// script writers.

// sysctl is a setting the runner understands: how a value maps onto the stack's configuration.
type sysctl struct {
	name  string
	apply func(c *core.Config, v string) error
}

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

// sysctls is every sysctl the runner understands.
var sysctls = []sysctl{
	// FreeBSD (tcp(4); times in milliseconds).
	{"net.inet.tcp.recvspace", bytesTo(func(c *tcp.Config) *int { return &c.ReceiveBuffer })},
	{"net.inet.tcp.sendspace", bytesTo(func(c *tcp.Config) *int { return &c.SendBuffer })},
	{"kern.ipc.maxsockbuf", maxBuffer},
	{"net.inet.tcp.sack.enable", switchTo(func(c *tcp.Config) *tcp.Switch { return &c.SACK })},
	{"net.inet.tcp.rfc1323", rfc1323},
	{"net.inet.tcp.ecn.enable", ecnMode},
	{"net.inet.tcp.rexmit_initial", msTo(func(c *tcp.Config) *time.Duration { return &c.RTOInitial })},
	{"net.inet.tcp.rexmit_min", msTo(func(c *tcp.Config) *time.Duration { return &c.RTOMin })},
	{"net.inet.tcp.rexmit_slop", msTo(func(c *tcp.Config) *time.Duration { return &c.RTOVarMin })},
	{"net.inet.tcp.delacktime", msTo(func(c *tcp.Config) *time.Duration { return &c.DelayedACK })},
	{"net.inet.tcp.msl", msTo(func(c *tcp.Config) *time.Duration { return &c.MSL })},
	{"net.inet.tcp.keepidle", msTo(func(c *tcp.Config) *time.Duration { return &c.KeepAliveIdle })},
	{"net.inet.tcp.keepintvl", msTo(func(c *tcp.Config) *time.Duration { return &c.KeepAliveInterval })},
	{"net.inet.tcp.keepinit", msTo(func(c *tcp.Config) *time.Duration { return &c.ConnectTimeout })},
	{"net.inet.tcp.keepcnt", countTo(func(c *tcp.Config) *int { return &c.KeepAliveProbes })},
	{"net.inet.tcp.insecure_rst", switchTo(func(c *tcp.Config) *tcp.Switch { return &c.RSTChallenge }, tcp.On, tcp.Off)},
	{"net.inet.tcp.insecure_syn", switchTo(func(c *tcp.Config) *tcp.Switch { return &c.SYNChallenge }, tcp.On, tcp.Off)},
	{"net.inet.tcp.drop_synfin", dropSynFin},
	{"net.inet.tcp.cc.algorithm", congestion},
	{"net.inet.tcp.initcwnd_segments", countTo(func(c *tcp.Config) *int { return &c.InitialWindow })},
	{"net.inet.tcp.blackhole", only("0", "a RST for every segment to a closed port, as mtcp does")},
	{"net.inet.tcp.hostcache.purgenow", ignore}, // mtcp keeps no host cache
	// Linux (ip-sysctl.rst; times in seconds unless the name says otherwise).
	{"net.ipv4.tcp_rmem", tripleTo(func(c *tcp.Config) *int { return &c.ReceiveBuffer })},
	{"net.ipv4.tcp_wmem", tripleTo(func(c *tcp.Config) *int { return &c.SendBuffer })},
	{"net.ipv4.tcp_sack", switchTo(func(c *tcp.Config) *tcp.Switch { return &c.SACK })},
	{"net.ipv4.tcp_timestamps", switchTo(func(c *tcp.Config) *tcp.Switch { return &c.Timestamps })},
	{"net.ipv4.tcp_ecn", ecnMode},
	{"net.ipv4.tcp_rto_min_us", usTo(func(c *tcp.Config) *time.Duration { return &c.RTOMin })},
	{"net.ipv4.tcp_syn_retries", countTo(func(c *tcp.Config) *int { return &c.SynRetries })},
	{"net.ipv4.tcp_synack_retries", countTo(func(c *tcp.Config) *int { return &c.SynAckRetries })},
	{"net.ipv4.tcp_retries2", countTo(func(c *tcp.Config) *int { return &c.Retries })},
	{"net.ipv4.tcp_fin_timeout", secondsTo(func(c *tcp.Config) *time.Duration { return &c.FinTimeout })},
	{"net.ipv4.tcp_keepalive_time", secondsTo(func(c *tcp.Config) *time.Duration { return &c.KeepAliveIdle })},
	{"net.ipv4.tcp_keepalive_intvl", secondsTo(func(c *tcp.Config) *time.Duration { return &c.KeepAliveInterval })},
	{"net.ipv4.tcp_keepalive_probes", countTo(func(c *tcp.Config) *int { return &c.KeepAliveProbes })},
	{"net.ipv4.tcp_window_scaling", switchTo(func(c *tcp.Config) *tcp.Switch { return &c.WindowScale })},
	{"net.ipv4.tcp_congestion_control", congestion},
	{"net.ipv4.tcp_syncookies", switchTo(func(c *tcp.Config) *tcp.Switch { return &c.SynCookies })},
	{"net.ipv4.tcp_recovery", rackBit},
}

// constants are the settings of a platform no sysctl changes, which only its defaults set
// (Linux's include/net/tcp.h, FreeBSD's tcp_input.c).
var constants = []sysctl{
	{"TCP_INIT_CWND", countTo(func(c *tcp.Config) *int { return &c.InitialWindow })},
	{"TCP_DELACK_MIN", msTo(func(c *tcp.Config) *time.Duration { return &c.DelayedACK })},
	{"delayed ACK segments", countTo(func(c *tcp.Config) *int { return &c.DelayedACKSegments })},
	{"FIN with every ACK", switchTo(func(c *tcp.Config) *tcp.Switch { return &c.FINWithACK })},
	{"timestamps optional", func(c *core.Config, v string) error {
		c.TCP.TolerateMissingTimestamps = strings.TrimSpace(v) == "1"
		return nil
	}},
}

func lookup(table []sysctl, name string) *sysctl {
	for i := range table {
		if table[i].name == name {
			return &table[i]
		}
	}
	return nil
}

func lookupSysctl(name string) *sysctl { return lookup(sysctls, name) }

func parseInt(v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", v)
	}
	return n, nil
}

func bytesTo(field func(*tcp.Config) *int) func(*core.Config, string) error {
	return func(c *core.Config, v string) error {
		n, err := parseInt(v)
		switch {
		case err != nil:
			return err
		case n < tcp.MinBuffer || n > 1<<30:
			return fmt.Errorf("%d bytes is out of the stack's range (%d to 2^30)", n, tcp.MinBuffer)
		}
		*field(&c.TCP) = n
		return nil
	}
}

// tripleTo reads Linux's "min default max" buffer triple: the default is a new socket's size.
func tripleTo(field func(*tcp.Config) *int) func(*core.Config, string) error {
	set := bytesTo(field)
	return func(c *core.Config, v string) error {
		f := strings.Fields(v)
		if len(f) != 3 {
			return fmt.Errorf("%q is not three numbers (min default max)", v)
		}
		return set(c, f[1])
	}
}

// maxBuffer caps both buffer sizes.
func maxBuffer(c *core.Config, v string) error {
	n, err := parseInt(v)
	if err != nil {
		return err
	}
	for _, b := range []*int{&c.TCP.ReceiveBuffer, &c.TCP.SendBuffer} {
		*b = min(cmp.Or(*b, tcp.DefaultBuffer), max(n, tcp.MinBuffer))
	}
	return nil
}

// switchTo sets a Switch: off for 0, on for 1 (and 2: Linux's tcp_syncookies=2, always, and
// tcp_timestamps=2, no random offset, are on too). Given two values, they are what 0 and 1
// set instead (insecure_rst=1 turns a protection off).
func switchTo(field func(*tcp.Config) *tcp.Switch, zeroOne ...tcp.Switch) func(*core.Config, string) error {
	zero, one := tcp.Off, tcp.On
	if len(zeroOne) == 2 {
		zero, one = zeroOne[0], zeroOne[1]
	}
	return func(c *core.Config, v string) error {
		switch strings.TrimSpace(v) {
		case "0":
			*field(&c.TCP) = zero
		case "1", "2":
			*field(&c.TCP) = one
		default:
			return fmt.Errorf("%q is not 0, 1 or 2", v)
		}
		return nil
	}
}

// rfc1323 reads FreeBSD's rfc1323: 0 neither option of RFC 7323, 1 both, 2 window scaling
// only, 3 timestamps only (tcp(4)).
func rfc1323(c *core.Config, v string) error {
	set, ok := map[string][2]tcp.Switch{ // window scale, timestamps
		"0": {tcp.Off, tcp.Off}, "1": {tcp.On, tcp.On}, "2": {tcp.On, tcp.Off}, "3": {tcp.Off, tcp.On},
	}[strings.TrimSpace(v)]
	if !ok {
		return fmt.Errorf("%q is not 0, 1, 2 or 3", v)
	}
	c.TCP.WindowScale, c.TCP.Timestamps = set[0], set[1]
	return nil
}

// positive reads a positive integer setting: a time or a count (what).
func positive(v, what string) (int, error) {
	n, err := parseInt(v)
	switch {
	case err != nil:
		return 0, err
	case n <= 0:
		return 0, fmt.Errorf("%d is not a positive %s", n, what)
	}
	return n, nil
}

func durationTo(unit time.Duration, field func(*tcp.Config) *time.Duration) func(*core.Config, string) error {
	return func(c *core.Config, v string) error {
		n, err := positive(v, "time")
		if err == nil {
			*field(&c.TCP) = time.Duration(n) * unit
		}
		return err
	}
}

func msTo(f func(*tcp.Config) *time.Duration) func(*core.Config, string) error {
	return durationTo(time.Millisecond, f)
}
func usTo(f func(*tcp.Config) *time.Duration) func(*core.Config, string) error {
	return durationTo(time.Microsecond, f)
}
func secondsTo(f func(*tcp.Config) *time.Duration) func(*core.Config, string) error {
	return durationTo(time.Second, f)
}

func countTo(field func(*tcp.Config) *int) func(*core.Config, string) error {
	return func(c *core.Config, v string) error {
		n, err := positive(v, "count")
		if err == nil {
			*field(&c.TCP) = n
		}
		return err
	}
}

// oneOf sets a field to what the setting's value names, among values.
func oneOf[T any](field func(*tcp.Config) *T, values map[string]T) func(*core.Config, string) error {
	return func(c *core.Config, v string) error {
		x, ok := values[strings.TrimSpace(v)]
		if !ok {
			return fmt.Errorf("%q is not one of %s", v, strings.Join(slices.Sorted(maps.Keys(values)), ", "))
		}
		*field(&c.TCP) = x
		return nil
	}
}

// The settings with named values: FreeBSD's ecn.enable and Linux's tcp_ecn alike (0 off, 1
// ask and answer, 2 answer only), FreeBSD's drop_synfin (1 drops a SYN with FIN where it
// could open a connection, 0 takes it as a SYN), and the congestion control.
var (
	ecnMode = oneOf(func(c *tcp.Config) *tcp.ECNMode { return &c.ECN },
		map[string]tcp.ECNMode{"0": tcp.ECNOff, "1": tcp.ECNOn, "2": tcp.ECNPassive})
	dropSynFin = oneOf(func(c *tcp.Config) *tcp.SynFinMode { return &c.SynFin },
		map[string]tcp.SynFinMode{"0": tcp.SynFinAccept, "1": tcp.SynFinDrop})
	congestion = oneOf(func(c *tcp.Config) *tcp.CongestionMode { return &c.Congestion },
		map[string]tcp.CongestionMode{"newreno": tcp.CongestionReno, "reno": tcp.CongestionReno, "cubic": tcp.CongestionCUBIC})
)

// rackBit reads Linux's tcp_recovery bit mask: bit 0 is RACK loss detection.
func rackBit(c *core.Config, v string) error {
	n, err := parseInt(v)
	if err != nil {
		return err
	}
	c.TCP.RACK = tcp.Off
	if n&1 != 0 {
		c.TCP.RACK = tcp.On
	}
	return nil
}

// only accepts the one value the stack's behaviour matches.
func only(value, why string) func(*core.Config, string) error {
	return func(_ *core.Config, v string) error {
		if strings.TrimSpace(v) != value {
			return fmt.Errorf("only %s is supported: %s", value, why)
		}
		return nil
	}
}

func ignore(*core.Config, string) error { return nil }

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

// applyPolicy applies the platform's defaults and then the script's sysctls to cfg; it
// returns the assignments applied and a Skip for each one not.
func applyPolicy(cfg *core.Config, platform string, sets []Sysctl) (applied []Sysctl, skips []Skip, err error) {
	if platform != "" && !slices.Contains(KnownPlatforms, platform) {
		return nil, nil, fmt.Errorf("unknown platform %q (%s)", platform, strings.Join(KnownPlatforms, ", "))
	}
	for _, d := range platformDefaults[platform] {
		set := lookupSysctl(d.Name)
		if set == nil {
			set = lookup(constants, d.Name)
		}
		if err := set.apply(cfg, d.Value); err != nil {
			return nil, nil, fmt.Errorf("platform %s default %s=%s: %w", platform, d.Name, d.Value, err)
		}
	}
	for _, s := range sets {
		sc := lookupSysctl(s.Name)
		if sc == nil {
			skips = append(skips, Skip{Line: s.Line, What: "sysctl", Text: fmt.Sprintf("%s=%s: not a setting mtcp maps", s.Name, s.Value)})
			continue
		}
		if err := sc.apply(cfg, s.Value); err != nil {
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
	cmd, from := e.Command, ""
	if path, ok := shellScript(file, e.Command); ok {
		if src, err := os.ReadFile(path); err == nil {
			cmd, from = string(src), " (in "+strings.TrimSpace(e.Command)+")"
		}
	}
	found, rest := sysctlsOf(cmd)
	for _, f := range found {
		f.Line = e.Line
		sets = append(sets, f)
	}
	if len(rest) > 0 {
		skips = append(skips, Skip{Line: e.Line, What: "shell", Text: "`" + strings.Join(rest, "; ") + "`" + from})
	}
	return sets, skips
}

// shellScript returns the path of the shell script a command runs when the command is that
// script's path alone, relative to the script's folder, and the file is there.
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
// stack's policy, as on a kernel, where mtcp is the target.
func (r *runner) liveShell(e *Event) {
	sets, skips := shellLine(r.s.File, *e)
	r.res.Skipped = append(r.res.Skipped, skips...)
	for _, set := range sets {
		sc := lookupSysctl(set.Name)
		var err error
		switch {
		case r.mtcp == nil:
			err = fmt.Errorf("the target %s sets its own policy", r.b.DUT().Name())
		case sc == nil:
			err = errors.New("not a setting mtcp maps")
		default:
			layer := r.mtcp.Core().TCP()
			cfg := core.Config{TCP: layer.Config()}
			if err = sc.apply(&cfg, set.Value); err == nil {
				err = layer.SetConfig(cfg.TCP)
			}
		}
		if err != nil {
			r.res.Skipped = append(r.res.Skipped, Skip{Line: set.Line, What: "sysctl", Text: fmt.Sprintf("%s=%s: %v", set.Name, set.Value, err)})
			continue
		}
		r.res.Applied = append(r.res.Applied, set)
	}
}
