package script

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// defaultTolerance is packetdrill's default --tolerance_usecs.
const defaultTolerance = 4 * time.Millisecond

// Parse parses a scenario in packetdrill's syntax (with mtcp's extensions,
// see the package documentation). filename is used only in messages.
// defines are exactly the names #ifdef finds defined; nil means
// DefaultDefines(), and a caller passing its own map includes "STANDARD"
// unless it means to leave it out. No word of the script is substituted
// (ParseWith takes packetdrill's -D NAME=VALUE). On error, Parse returns a
// nil *Script and an *Error; see ParseWith.
func Parse(filename string, src []byte, defines map[string]bool) (*Script, error) {
	if defines == nil {
		defines = DefaultDefines()
	}
	return parse(filename, src, newDefineSet(Defines{}, defines), "")
}

// ParseOptions are the settings of ParseWith.
type ParseOptions struct {
	// Defines are the -D and -U definitions; the zero value defines STANDARD
	// only. See Defines for the rule.
	Defines Defines
	// IPVersion, when set, is packetdrill's --ip_version given to the run
	// ("ipv4", "ipv6" or "ipv4-mapped-ipv6"): it overrides the script's own
	// option line, as packetdrill's command line does.
	IPVersion string
}

// ParseWith parses a scenario as Parse does, with packetdrill's definitions:
// opts.Defines decide the #ifdef branches and the bare words that read as a
// value. Script.Warnings include CaseWarnings.
//
// On error it returns a nil *Script and an *Error: a malformed script (the
// first error in source order), or, when the whole script is well-formed, the
// first construct the runner cannot run, with Error.Feature set.
func ParseWith(filename string, src []byte, opts ParseOptions) (*Script, error) {
	s, err := parse(filename, src, newDefineSet(opts.Defines, nil), opts.IPVersion)
	if err != nil {
		return nil, err
	}
	s.Warnings = append(s.Warnings, CaseWarnings(filename, src, opts.Defines)...)
	return s, nil
}

func parse(filename string, src []byte, defs *defineSet, ipVersion string) (s *Script, err error) {
	lines := strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n")
	withText := func(e *Error) *Error {
		e.File = filename
		if e.Line >= 1 && e.Line <= len(lines) {
			e.Text = strings.TrimRight(lines[e.Line-1], "\r")
		}
		return e
	}
	lx := newLexer(src, defs)
	if lerr := lx.run(); lerr != nil {
		line, col := lx.pos(lerr.off)
		return nil, withText(&Error{Line: line, Col: col, Msg: lerr.msg})
	}
	p := &parser{toks: lx.toks, src: src, ipVersion: ipVersion, script: &Script{
		File: filename, Tolerance: defaultTolerance, IPVersion: "ipv4", lines: lines,
	}}
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bail)
			if !ok {
				panic(r)
			}
			s, err = nil, withText(b.err)
		}
	}()
	p.parseScript()
	if len(p.unsup) > 0 {
		first := p.unsup[0]
		for _, u := range p.unsup[1:] {
			if u.Line < first.Line || u.Line == first.Line && u.Col < first.Col {
				first = u
			}
		}
		return nil, withText(first)
	}
	if len(p.script.Events) == 0 {
		return nil, withText(&Error{Line: 1, Col: 1, Msg: "empty script: no event to run"})
	}
	p.checkTimeOrder()
	for _, w := range p.script.Warnings {
		withText(w)
	}
	return p.script, nil
}

type parser struct {
	toks   []token
	i      int
	src    []byte
	script *Script
	// lastLine is the line of the last token of the previous event.
	lastLine int
	// unsup are the well-formed constructs the runner cannot run, in source order.
	unsup []*Error
	// ipVersion is ParseOptions.IPVersion; ipTok the script's --ip_version line.
	ipVersion string
	ipTok     token
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// prev is the token last taken.
func (p *parser) prev() token {
	if p.i == 0 {
		return p.toks[0]
	}
	return p.toks[p.i-1]
}

func (p *parser) failAt(t token, format string, args ...any) {
	panic(bail{&Error{Line: t.line, Col: t.col, Msg: fmt.Sprintf(format, args...)}})
}

// unsupported records a well-formed construct at t that needs feature; the
// parse goes on, so that a malformed line later in the script still wins.
func (p *parser) unsupported(t token, feature, detail string) {
	msg := "unsupported: needs " + feature
	if detail != "" {
		msg += " (" + detail + ")"
	}
	p.unsup = append(p.unsup, &Error{Line: t.line, Col: t.col, Msg: msg, Feature: feature})
}

func (p *parser) expectPunct(s, what string) token {
	t := p.next()
	if !t.is(s) {
		p.failMissing(t, fmt.Sprintf("expected '%s' %s", s, what))
	}
	return t
}

func (p *parser) expectWord(w, what string) token {
	t := p.next()
	if !t.isWord(w) {
		p.failMissing(t, fmt.Sprintf("expected %q %s", w, what))
	}
	return t
}

// failMissing reports that something expected before t is missing. When t starts another line
// (or is the end of the file), the line that lacks it is the one to blame: the error points
// just past its last token and says "found end of line".
func (p *parser) failMissing(t token, msg string) {
	for j := len(p.toks) - 1; j >= 0; j-- {
		prev := p.toks[j]
		if prev.kind == tEOF || prev.off >= t.off {
			continue
		}
		if prev.line < t.line || t.kind == tEOF {
			panic(bail{&Error{Line: prev.line, Col: prev.col + (prev.end - prev.off), Msg: msg + ", found end of line"}})
		}
		break
	}
	p.failAt(t, "%s, found %s", msg, t.describe())
}

// undefinedHint is appended when a word stands where a number should: an
// upper-case word is most often a -D NAME=VALUE the run did not give.
func undefinedHint(t token) string {
	if t.kind != tWord || t.name != "" || strings.ToUpper(t.text) != t.text || !isLetter(t.text[0]) {
		return ""
	}
	return fmt.Sprintf(" (is %s a -D %s=VALUE definition this run lacks?)", t.text, t.text)
}

// uint parses an unsigned decimal integer token no larger than max.
func (p *parser) uint(what string, max uint64) uint64 {
	t := p.next()
	if t.kind != tInt {
		p.failAt(t, "expected %s (an integer), found %s%s", what, t.describe(), undefinedHint(t))
	}
	v, err := strconv.ParseUint(t.text, 10, 64)
	if err != nil || v > max {
		p.failAt(t, "%s %s out of range (0..%d)", what, t.text, max)
	}
	return v
}

// anyUint parses an unsigned decimal or 0x hex integer no larger than max
// (packetdrill's any_int).
func (p *parser) anyUint(what string, max uint64) uint64 {
	t := p.next()
	if t.kind != tInt && t.kind != tHex {
		p.failAt(t, "expected %s (an integer), found %s%s", what, t.describe(), undefinedHint(t))
	}
	v, err := strconv.ParseUint(t.text, 0, 64)
	if err != nil || v > max {
		p.failAt(t, "%s %s out of range (0..%d)", what, t.text, max)
	}
	return v
}

// hexUint parses a 0x hex integer no larger than max.
func (p *parser) hexUint(what string, max uint64) uint64 {
	t := p.next()
	if t.kind != tHex {
		p.failAt(t, "expected %s (a 0x hex integer), found %s", what, t.describe())
	}
	v, err := strconv.ParseUint(t.text[2:], 16, 64)
	if err != nil || v > max {
		p.failAt(t, "%s %s out of range (0..%#x)", what, t.text, max)
	}
	return v
}

func (p *parser) hexByte(what string) uint8 { return uint8(p.hexUint(what, 0xff)) }

func (p *parser) parseScript() {
	for p.peek().kind == tOption {
		p.option(p.next())
	}
	p.applyIPVersion()
	for p.peek().kind != tEOF {
		t := p.peek()
		if t.kind == tOption {
			p.failAt(t, "option --%s must come before the first event", t.text)
		}
		if !p.startsEvent(t) {
			if p.lastLine == t.line {
				p.failAt(t, "unexpected %s after the end of the event", t.describe())
			}
			p.failAt(t, "expected a time at the start of an event, found %s", t.describe())
		}
		ev := p.event()
		p.script.Events = append(p.script.Events, ev)
		p.lastLine = p.toks[p.i-1].line
	}
}

// checkTimeOrder refuses an absolute time that comes before the earliest time the events
// above it can have run at: each absolute time sets that bound, each relative one adds to it
// ('*' and untimed lines leave it). The runner still checks the times it actually reaches.
func (p *parser) checkTimeOrder() {
	var earliest time.Duration
	var from int // the line that set earliest
	for _, e := range p.script.Events {
		switch e.Time.Kind {
		case TimeAbsolute:
			if e.Time.Start < earliest {
				panic(bail{&Error{Line: e.Line, Col: e.Col, Msg: fmt.Sprintf(
					"time goes backward: %s s is before %s s, the earliest line %d can run at", secs(e.Time.Start), secs(earliest), from)}})
			}
			earliest, from = e.Time.Start, e.Line
		case TimeRelative:
			earliest += e.Time.Start
			from = e.Line
		}
	}
}

func (p *parser) startsEvent(t token) bool {
	switch t.kind {
	case tInt, tFloat, tBackquote, tCode:
		return true
	}
	return t.is("+") || t.is("*")
}

func (p *parser) option(t token) {
	opt := Option{Name: t.text, Value: t.val, HasValue: t.hasVal, Line: t.line, Col: t.col}
	p.script.Options = append(p.script.Options, opt)
	switch t.text {
	case "tolerance_usecs":
		v, err := strconv.ParseUint(t.val, 10, 32)
		if err != nil {
			p.failAt(t, "--tolerance_usecs needs a non-negative integer, got %q", t.val)
		}
		p.script.Tolerance = time.Duration(v) * time.Microsecond
	case "tcp_ts_tick_usecs":
		v, err := strconv.ParseUint(t.val, 10, 32)
		if err != nil || v > 1000000 {
			p.failAt(t, "--tcp_ts_tick_usecs needs an integer from 0 to 1000000, got %q", t.val)
		}
		p.script.TSTick = time.Duration(v) * time.Microsecond
	case "ip_version":
		if !knownIPVersion(t.val) {
			p.failAt(t, "unknown --ip_version %q", t.val)
		}
		p.script.IPVersion, p.ipTok = t.val, t
	case "define":
		// The lexer applied it.
	case "udp_encapsulation":
		p.unsupported(t, FeatureUDPEncap, "--udp_encapsulation")
	case "tcp_md5_secret":
		p.unsupported(t, FeatureMD5, "--tcp_md5_secret")
	default:
		p.script.Warnings = append(p.script.Warnings, &Error{
			Line: t.line, Col: t.col, Msg: fmt.Sprintf("unknown option --%s ignored", t.text),
		})
	}
}

func knownIPVersion(v string) bool {
	return v == "ipv4" || v == "ipv6" || v == "ipv4-mapped-ipv6"
}

// applyIPVersion settles the IP version once the option lines are read: the
// run's (ParseOptions.IPVersion) wins over the script's.
func (p *parser) applyIPVersion() {
	at := p.ipTok
	if p.ipVersion != "" {
		if at.line == 0 || p.ipVersion != p.script.IPVersion {
			at = token{line: 1, col: 1}
		}
		if !knownIPVersion(p.ipVersion) {
			p.failAt(at, "unknown --ip_version %q given to the run", p.ipVersion)
		}
		p.script.IPVersion = p.ipVersion
	}
	switch p.script.IPVersion {
	case "ipv6":
		p.unsupported(at, FeatureIPv6, "--ip_version=ipv6")
	case "ipv4-mapped-ipv6":
		p.unsupported(at, FeatureIPv4MappedIPv6, "--ip_version=ipv4-mapped-ipv6")
	}
}

func (p *parser) event() Event {
	first := p.peek()
	ev := Event{Line: first.line, Col: first.col}
	switch first.kind {
	case tBackquote:
		p.next()
		ev.Kind, ev.Command = EventShell, first.text
		return ev
	case tCode:
		p.next()
		ev.Kind, ev.Code = EventCode, first.text
		return ev
	}
	ev.Time = p.time()
	act := p.peek()
	switch {
	case act.is("<") || act.is(">"):
		p.next()
		dir := Inbound
		if act.is(">") {
			dir = Outbound
		}
		if p.peek().isWord("nothing") {
			nt := p.next()
			if dir != Outbound {
				p.failAt(nt, "nothing can only be used with outbound (>) lines")
			}
			if ev.Time.Kind == TimeAny || ev.Time.Range {
				p.failAt(first, "nothing needs a single time, not '*' or a range")
			}
			ev.Kind = EventNothing
			return ev
		}
		ev.Kind, ev.Packet = EventPacket, p.packet(dir)
	case act.kind == tBackquote:
		p.next()
		ev.Kind, ev.Command = EventShell, act.text
	case act.kind == tCode:
		p.next()
		ev.Kind, ev.Code = EventCode, act.text
	case act.kind == tWord || act.kind == tEllipsis:
		ev.Kind, ev.Syscall = EventSyscall, p.syscall()
	default:
		p.failAt(act, "expected a packet, a system call or a shell command after the time, found %s", act.describe())
	}
	if (ev.Time.Kind == TimeAny || ev.Time.Range) && (ev.Kind != EventPacket || ev.Packet.Direction != Outbound) {
		what := "'*'"
		if ev.Time.Range {
			what = "a time range"
		}
		p.failAt(first, "%s can only be used with outbound packets", what)
	}
	return ev
}

// time parses T, +T, T~T, +T~+T or *.
func (p *parser) time() Time {
	t := p.peek()
	if t.is("*") {
		p.next()
		return Time{Kind: TimeAny}
	}
	kind := TimeAbsolute
	if t.is("+") {
		p.next()
		kind = TimeRelative
	}
	tm := Time{Kind: kind, Start: p.seconds()}
	if p.peek().is("~") {
		p.next()
		if kind == TimeRelative {
			if !p.peek().is("+") {
				p.failAt(p.peek(), "expected '+' after '~': a relative range is written +T~+T")
			}
			p.next()
		} else if p.peek().is("+") {
			p.failAt(p.peek(), "an absolute range is written T~T, a relative one +T~+T")
		}
		endTok := p.peek()
		tm.End, tm.Range = p.seconds(), true
		if tm.End < tm.Start {
			p.failAt(endTok, "time range is backwards")
		}
	}
	return tm
}

// seconds parses a non-negative decimal number of seconds exactly, to the nanosecond.
func (p *parser) seconds() time.Duration {
	t := p.next()
	if t.kind != tInt && t.kind != tFloat {
		p.failAt(t, "expected a time in seconds, found %s", t.describe())
	}
	if strings.HasPrefix(t.text, "-") {
		p.failAt(t, "negative time")
	}
	whole, frac, _ := strings.Cut(t.text, ".")
	if whole == "" {
		whole = "0"
	}
	secs, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || secs > int64(time.Duration(1<<62)/time.Second) {
		p.failAt(t, "time %s out of range", t.text)
	}
	if len(frac) > 9 {
		frac = frac[:9]
	}
	ns, _ := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	return time.Duration(secs)*time.Second + time.Duration(ns)
}

// packet parses a packet line after its direction:
//
//	[PREFIX...] [IP_INFO] [encap psp spi N] [PORTS] FLAGS SEQ ...   TCP
//	[PREFIX...] [IP_INFO] udp [PORTS] (LEN)                         UDP
//	[PREFIX...] [IP_INFO] udplite [PORTS] (LEN, COVERAGE)           UDP-Lite (FreeBSD fork)
//	[PREFIX...] [IP_INFO] icmp TYPE [CODE] [mtu N] [id N] [ECHOED]  ICMP
//	[PREFIX...] [IP_INFO] [PORTS] sctp ...: CHUNKS                  SCTP (FreeBSD fork)
//	arp ..., raw ...                                                extensions
//
// PREFIX is an encapsulation: "ipv4 [IP_INFO] A > B:", "ipv6 [IP_INFO] A > B:",
// "gre:", "gre [,] GRE_HEADER:", "mpls (label N, tc N, [[S],] ttl N)...:".
func (p *parser) packet(dir Direction) *Packet {
	pk := &Packet{Direction: dir}
	if t := p.peek(); t.kind == tWord {
		switch {
		case t.text == "arp":
			p.next()
			pk.Proto, pk.ARP = ProtoARP, p.arp(dir)
			return pk
		case t.text == "raw" && (p.peekAt(1).kind == tHex || p.peekAt(1).kind == tString || p.peekAt(1).kind == tInt):
			p.next()
			if dir != Inbound {
				p.failAt(t, "raw frames can only be used with inbound (<) lines")
			}
			pk.Proto, pk.Raw = ProtoRaw, p.rawFrame()
			return pk
		}
	}
	p.prefixes(dir)
	p.ipInfo(pk)
	var encap token
	if e := p.peek(); e.isWord("encap") {
		encap = p.next()
		p.expectWord("psp", "after encap")
		p.expectWord("spi", "after encap psp")
		p.anyUint("PSP SPI", 0xffffffff)
		p.unsupported(encap, FeaturePSP, "encap psp")
	}
	if encap.kind == tEOF { // no encap: the other protocols
		switch b := p.peek(); {
		case b.isWord("udp"), b.isWord("udplite"):
			p.next()
			p.udp(b, pk)
			return pk
		case b.isWord("icmp"):
			p.next()
			pk.Proto, pk.ICMP = ProtoICMP, p.icmp()
			p.extensions(pk)
			return pk
		case b.isWord("sctp"):
			p.sctp(pk)
			return pk
		}
	}
	p.ports(pk)
	switch b := p.peek(); {
	case b.isWord("sctp") && encap.kind == tEOF:
		p.sctp(pk)
		return pk
	case b.isWord("icmp") && pk.Ports:
		p.failAt(b, "an ICMP line has no ports")
	case b.isWord("udp") && pk.Ports:
		p.failAt(b, "the ports of a UDP line follow udp: udp SRC>DST (LEN)")
	}
	pk.Proto, pk.TCP = ProtoTCP, p.tcp(dir)
	p.extensions(pk)
	return pk
}

// ports parses packetdrill's optional "SRC>DST".
func (p *parser) ports(pk *Packet) {
	if a, b, c := p.peek(), p.peekAt(1), p.peekAt(2); a.kind == tInt && b.is(">") && c.kind == tInt {
		pk.Ports = true
		pk.SrcPort = uint16(p.uint("source port", 0xffff))
		p.next()
		pk.DstPort = uint16(p.uint("destination port", 0xffff))
	}
}

// prefixes parses packetdrill's encapsulation prefixes, none of which the
// runner sends or checks.
func (p *parser) prefixes(dir Direction) {
	for {
		t := p.peek()
		switch {
		case t.isWord("ipv4"), t.isWord("ipv6"):
			p.next()
			p.ipInfo(&Packet{Direction: dir})
			want, what, feature := tIPv4, "an IPv4 address", FeatureIPinIP
			if t.text == "ipv6" {
				want, what, feature = tIPv6, "an IPv6 address", FeatureIPv6
			}
			for k := 0; k < 2; k++ {
				a := p.next()
				if a.kind != want {
					p.failAt(a, "expected %s, found %s", what, a.describe())
				}
				if k == 0 {
					p.expectPunct(">", "between the outer addresses")
				}
			}
			p.expectPunct(":", "after the outer header")
			p.unsupported(t, feature, t.text+" outer header")
		case t.isWord("gre"), t.isWord("GREv0"):
			p.next()
			if !p.peek().is(":") {
				if p.peek().is(",") {
					p.next()
				}
				p.greHeader()
			}
			p.expectPunct(":", "after the GRE header")
			p.unsupported(t, FeatureGRE, "")
		case t.isWord("mpls"):
			p.next()
			for p.peek().is("(") {
				p.mplsEntry()
			}
			p.expectPunct(":", "after the MPLS label stack")
			p.unsupported(t, FeatureMPLS, "")
		default:
			return
		}
	}
}

// greHeader parses packetdrill's gre_header_expression:
// flags ([FLAG, ...] | N) [,] sum N [,] off N [,] key [=] N [,] seq N, a FLAG
// being none, checksum present, key present or sequence# present.
func (p *parser) greHeader() {
	p.expectWord("flags", "to start a GRE header")
	if p.peek().is("[") {
		p.next()
		for {
			f := p.next()
			switch {
			case f.isWord("none"):
			case f.isWord("checksum"), f.isWord("key"), f.isWord("sequence#"):
				p.expectWord("present", "after the GRE flag "+f.text)
			default:
				p.failAt(f, "expected a GRE flag (none, checksum present, key present, sequence# present), found %s", f.describe())
			}
			if !p.peek().is(",") {
				break
			}
			p.next()
		}
		p.expectPunct("]", "to close the GRE flags")
	} else {
		p.anyUint("GRE flags", 0xffff)
	}
	for _, field := range []string{"sum", "off", "key", "seq"} {
		if p.peek().is(",") {
			p.next()
		}
		p.expectWord(field, "in a GRE header")
		if field == "key" && p.peek().is("=") {
			p.next()
		}
		p.anyUint("GRE "+field, 0xffffffff)
	}
}

// mplsEntry parses "(label N, tc N, [[S],] ttl N)".
func (p *parser) mplsEntry() {
	p.expectPunct("(", "to start an MPLS label stack entry")
	p.expectWord("label", "in an MPLS label stack entry")
	p.uint("MPLS label", 1<<20-1)
	p.expectPunct(",", "after the MPLS label")
	p.expectWord("tc", "in an MPLS label stack entry")
	p.uint("MPLS traffic class", 7)
	p.expectPunct(",", "after the MPLS traffic class")
	if p.peek().is("[") {
		p.next()
		if w := p.next(); w.kind != tWord {
			p.failAt(w, "expected a word (the bottom-of-stack mark), found %s", w.describe())
		}
		p.expectPunct("]", "after the bottom-of-stack mark")
		p.expectPunct(",", "after the bottom-of-stack mark")
	}
	p.expectWord("ttl", "in an MPLS label stack entry")
	p.uint("MPLS ttl", 0xff)
	p.expectPunct(")", "to close the MPLS label stack entry")
}

// dscpNames are the FreeBSD fork's names for DSCP values.
var dscpNames = map[string]uint8{
	"cs0": 0, "cs1": 8, "cs2": 16, "cs3": 24, "cs4": 32, "cs5": 40, "cs6": 48, "cs7": 56,
	"af11": 10, "af12": 12, "af13": 14, "af21": 18, "af22": 20, "af23": 22,
	"af31": 26, "af32": 28, "af33": 30, "af41": 34, "af42": 36, "af43": 38,
	"ef": 46, "voice-admit": 44, "le": 1,
}

// ipInfo parses the optional "(IP_INFO)" or "[IP_INFO]": packetdrill's ECN
// codepoint, "tos 0xNN", "ttl N" or "flowlabel 0xN" (after a codepoint or
// tos, by a comma), and the FreeBSD fork's comma-separated list of those and
// "ecn CODEPOINT", "dscp 0xNN|NAME", "hlim N", "class 0xNN". A later item
// overrides an earlier one.
func (p *parser) ipInfo(pk *Packet) {
	open := p.peek()
	if !open.is("(") && !open.is("[") {
		return
	}
	p.next()
	closer := ")"
	if open.is("[") {
		closer = "]"
	}
	for {
		t := p.next()
		switch {
		case t.isWord("ecn"):
			if c := p.next(); !p.ecnCodepoint(pk, c) {
				p.failAt(c, "expected an ECN codepoint (noecn, ect0, ect1, ce, ect01), found %s", c.describe())
			}
		case p.ecnCodepoint(pk, t):
		case t.isWord("tos"):
			pk.IP.TOS, pk.IP.HasTOS = p.hexByte("tos"), true
		case t.isWord("dscp"):
			d := p.peek()
			if v, ok := dscpNames[d.text]; ok && d.kind == tWord {
				p.next()
				pk.IP.TOS = v << 2
			} else {
				pk.IP.TOS = uint8(p.hexUint("dscp", 0x3f)) << 2
			}
			pk.IP.HasTOS = true
		case t.isWord("ttl"):
			pk.IP.TTL, pk.IP.HasTTL = uint8(p.uint("ttl", 0xff)), true
		case t.isWord("hlim"):
			p.uint("hlim", 0xff)
			p.unsupported(t, FeatureIPv6, "hlim")
		case t.isWord("class"):
			p.hexByte("traffic class")
			p.unsupported(t, FeatureIPv6, "class")
		case t.isWord("flowlabel"):
			p.hexUint("flowlabel", 1<<20-1)
			p.unsupported(t, FeatureIPv6, "flowlabel")
		default:
			p.failAt(t, "expected an ECN codepoint, tos, ttl or flowlabel, found %s", t.describe())
		}
		if !p.peek().is(",") {
			break
		}
		p.next()
	}
	p.expectPunct(closer, "to close the IP information")
}

// ecnCodepoint sets the ECN field from t if it names a codepoint.
func (p *parser) ecnCodepoint(pk *Packet, t token) bool {
	switch {
	case t.isWord("noecn"):
		pk.IP.ECN = NoECN
	case t.isWord("ect0"):
		pk.IP.ECN = ECT0
	case t.isWord("ect1"):
		pk.IP.ECN = ECT1
	case t.isWord("ce"):
		pk.IP.ECN = CE
	case t.isWord("ect01"):
		if pk.Direction != Outbound {
			p.failAt(t, "[ect01] can only be used with outbound packets")
		}
		pk.IP.ECN = ECT01
	default:
		return false
	}
	return true
}

// udp parses the rest of "udp [PORTS] (LEN)" or "udplite [PORTS] (LEN, COVERAGE)".
func (p *parser) udp(kw token, pk *Packet) {
	p.ports(pk)
	p.expectPunct("(", "before the payload length")
	p.uint("UDP payload length", 0xffff)
	if kw.text == "udplite" {
		p.expectPunct(",", "between the payload length and the checksum coverage")
		p.uint("UDP-Lite checksum coverage", 0xffff)
	}
	p.expectPunct(")", "after the payload length")
	if kw.text == "udplite" {
		p.unsupported(kw, FeatureUDPLite, "")
	} else {
		p.unsupported(kw, FeatureUDP, "")
	}
}

// sctp takes an SCTP line of the FreeBSD fork: "sctp[(...)] [/udp(S > D)]: CHUNKS".
// Its chunk syntax is not checked: the line runs to the end of its last
// bracket and the end of the line.
func (p *parser) sctp(pk *Packet) {
	kw := p.next()
	p.unsupported(kw, FeatureSCTP, "")
	var open []token
	for {
		t := p.peek()
		if t.kind == tEOF || len(open) == 0 && t.line != p.prev().line {
			if len(open) > 0 {
				p.failAt(open[len(open)-1], "unclosed '%s' in an SCTP line", open[len(open)-1].text)
			}
			return
		}
		p.next()
		switch t.text {
		case "(", "[", "{":
			if t.kind == tPunct {
				open = append(open, t)
			}
		case ")", "]", "}":
			if t.kind == tPunct {
				if len(open) == 0 {
					p.failAt(t, "unexpected '%s' in an SCTP line", t.text)
				}
				open = open[:len(open)-1]
			}
		}
	}
}

func (p *parser) tcp(dir Direction) *TCP {
	tc := &TCP{}
	tc.Flags = p.flags()
	if e := p.peek(); e.kind == tEllipsis {
		p.next()
		if dir != Outbound {
			p.failAt(e, "...(LEN) for the sequence number can only be used with outbound packets")
		}
		p.expectPunct("(", "before the payload length")
		tc.Len = int(p.uint("payload length", 0xffff))
		p.expectPunct(")", "after the payload length")
		tc.AnySeq = true
	} else {
		tc.Seq, tc.End, tc.Len, tc.AbsoluteSeq = p.seq()
	}
	if p.peek().isWord("ack") {
		p.next()
		tc.Ack, tc.HasAck = uint32(p.uint("ack", 0xffffffff)), true
	}
	if p.peek().isWord("win") {
		p.next()
		tc.Win, tc.HasWin = uint16(p.uint("window", 0xffff)), true
	}
	if p.peek().isWord("urg") {
		p.next()
		tc.Urg, tc.HasUrg = uint16(p.uint("urgent pointer", 0xffff)), true
	}
	if open := p.peek(); open.is("<") {
		p.next()
		switch first := p.peek(); {
		case first.kind == tEllipsis:
			p.next()
			if dir != Outbound {
				p.failAt(open, "<...> for TCP options can only be used with outbound packets")
			}
			tc.AnyOptions = true
		case (first.kind == tInt || first.kind == tWord && !tcpOptionWord(first.text)) && p.peekAt(1).is(">"):
			p.next()
			b, ok := hexBlob(first.text)
			if !ok {
				if first.kind == tWord {
					p.failAt(first, "unknown TCP option %q", first.text)
				}
				p.failAt(first, "TCP option bytes %s are not whole bytes in hex", first.text)
			}
			if len(b) > maxTCPOptionBytes {
				p.failAt(first, "TCP option list too long (%d bytes > %d)", len(b), maxTCPOptionBytes)
			}
			p.unsupported(first, FeatureGenericOption, "raw TCP option bytes")
		default:
			total := 0
			for {
				o, n := p.tcpOption(dir)
				if o != nil {
					tc.Options = append(tc.Options, *o)
				}
				if total += n; total > maxTCPOptionBytes {
					p.failAt(open, "TCP option list too long (%d bytes > %d)", total, maxTCPOptionBytes)
				}
				if !p.peek().is(",") {
					break
				}
				p.next()
			}
		}
		p.expectPunct(">", "to close the TCP options")
	}
	if b := p.peek(); b.is("[") && p.peekAt(1).isWord("code") {
		p.next()
		p.next()
		p.uint("RST diagnostic code", 0xffffffff)
		p.expectPunct(",", "after the RST diagnostic code")
		p.expectWord("pen", "in a RST diagnostic payload")
		p.uint("RST diagnostic private enterprise number", 0xffffffff)
		p.expectPunct("]", "to close the RST diagnostic payload")
		p.unsupported(b, FeatureRSTDiag, "")
	}
	p.udpEncap()
	return tc
}

// udpEncap parses the FreeBSD fork's optional "/udp(SRC > DST)" suffix.
func (p *parser) udpEncap() {
	s := p.peek()
	if !s.is("/") {
		return
	}
	p.next()
	p.expectWord("udp", "after '/'")
	p.expectPunct("(", "before the UDP ports")
	p.uint("UDP source port", 0xffff)
	p.expectPunct(">", "between the UDP ports")
	p.uint("UDP destination port", 0xffff)
	p.expectPunct(")", "after the UDP ports")
	p.unsupported(s, FeatureUDPEncap, "/udp")
}

// flags parses WORD['.'[WORD]], WORD FLOAT, FLOAT, '.' or '-'. The letters
// are F S R P . U E W; A (AE) and the ACE digits 0-7 are AccECN's.
func (p *parser) flags() TCPFlags {
	t := p.next()
	switch {
	case t.is("."):
		return ACK
	case t.is("-"):
		return 0
	case t.kind == tFloat:
		return p.flagLetters(t, nil)
	case t.kind != tWord:
		p.failAt(t, "expected TCP flags, icmp or an extension keyword, found %s", t.describe())
	}
	parts := []token{t}
	if d := p.peek(); d.is(".") {
		p.next()
		parts = append(parts, d)
		// The FreeBSD fork takes letters after the dot ("S.E", "F. W").
		if w := p.peek(); w.kind == tWord && strings.Trim(w.text, "FSRPUEWA01234567") == "" {
			parts = append(parts, p.next())
		}
	} else if f := p.peek(); f.kind == tFloat {
		parts = append(parts, p.next()) // "S.2": ACK and an ACE value
	}
	return p.flagLetters(parts[0], parts[1:])
}

// flagLetters reads the flag letters of the tokens of a flags field.
func (p *parser) flagLetters(first token, rest []token) TCPFlags {
	var f TCPFlags
	ace, ecn, accecn := false, false, false
	text := first.text
	for _, t := range rest {
		text += t.text
	}
	for _, t := range append([]token{first}, rest...) {
		for i := 0; i < len(t.text); i++ {
			c := t.text[i]
			at := token{line: t.line, col: t.col + i}
			var bit TCPFlags
			switch {
			case c == '.':
				bit = ACK
			case c >= '0' && c <= '7':
				if ace || ecn {
					p.failAt(at, "conflicting TCP flag %q in %q", c, text)
				}
				ace, accecn = true, true
				continue
			case c == 'A':
				if ace {
					p.failAt(at, "conflicting TCP flag %q in %q", c, text)
				}
				ecn, accecn = true, true
				continue
			default:
				for _, fl := range flagLetters {
					if fl.letter == c {
						bit = fl.flag
					}
				}
				if bit == 0 {
					p.failAt(at, "unknown TCP flag %q in %q (flags are F S R P . U E W, or - for none)", c, text)
				}
				if bit == ECE || bit == CWR {
					if ace {
						p.failAt(at, "conflicting TCP flag %q in %q", c, text)
					}
					ecn = true
				}
			}
			f |= bit // a repeated letter sets its flag once, as in packetdrill
		}
	}
	if accecn {
		p.unsupported(first, FeatureAccECN, "ACE or AE flags")
	}
	return f
}

// seq parses START:END(LEN)[!], or START alone for a segment without data
// (an mtcp relaxation; packetdrill requires the full form). "!" (FreeBSD
// fork) makes the numbers absolute.
func (p *parser) seq() (start, end uint32, n int, absolute bool) {
	start = uint32(p.uint("sequence number", 0xffffffff))
	if !p.peek().is(":") {
		return start, start, 0, false
	}
	p.next()
	endTok := p.peek()
	end = uint32(p.uint("end sequence number", 0xffffffff))
	p.expectPunct("(", "before the payload length")
	n = int(p.uint("payload length", 0xffff))
	p.expectPunct(")", "after the payload length")
	if end != start+uint32(n) { // modulo 2^32: a segment may wrap the sequence space
		p.failAt(endTok, "inconsistent TCP sequence numbers and payload size: %d + %d != %d", start, n, end)
	}
	if p.peek().is("!") {
		p.next()
		absolute = true
	}
	return start, end, n, absolute
}

// maxTCPOptionBytes is the room for options in a TCP header.
const maxTCPOptionBytes = 40

// tcpOptionWord reports whether w starts a TCP option.
func tcpOptionWord(w string) bool {
	switch w {
	case "nop", "eol", "mss", "wscale", "sackOK", "sack", "TS", "md5", "FO", "FOEXP", "EXP-FO", "exp-FO",
		"ECN", "AccECN0", "AccECN1", "exp-AccECN0", "exp-AccECN1", "exp-tarr":
		return true
	}
	return genericOption(w) != ""
}

// genericOption returns "gen" or "exp" for the FreeBSD fork's gen-N and exp-HEX options.
func genericOption(w string) string {
	if rest, ok := strings.CutPrefix(w, "gen-"); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
		return "gen"
	}
	if rest, ok := strings.CutPrefix(w, "exp-"); ok && rest != "" && strings.Trim(rest, "0123456789abcdefABCDEF") == "" {
		return "exp"
	}
	return ""
}

// hexBlob decodes packetdrill's hex_blob, an even number of hex digits.
func hexBlob(s string) ([]byte, bool) {
	b, err := hex.DecodeString(s)
	return b, err == nil
}

// tcpOption parses one TCP option and returns it (nil for one the AST
// cannot hold, which is reported unsupported) and its length in bytes.
func (p *parser) tcpOption(dir Direction) (*TCPOption, int) {
	t := p.next()
	if t.kind != tWord {
		p.failAt(t, "expected a TCP option, found %s", t.describe())
	}
	switch t.text {
	case "nop":
		return &TCPOption{Kind: OptNOP}, 1
	case "eol":
		return &TCPOption{Kind: OptEOL}, 1
	case "mss":
		return &TCPOption{Kind: OptMSS, MSS: uint16(p.uint("mss", 0xffff))}, 4
	case "wscale":
		return &TCPOption{Kind: OptWScale, WScale: uint8(p.uint("window scale shift count", 0xff))}, 3
	case "sackOK":
		return &TCPOption{Kind: OptSACKOK}, 2
	case "sack":
		o := TCPOption{Kind: OptSACK}
		for p.peek().kind == tInt {
			l := uint32(p.uint("SACK left edge", 0xffffffff))
			p.expectPunct(":", "in a SACK block")
			r := uint32(p.uint("SACK right edge", 0xffffffff))
			o.SACK = append(o.SACK, SACKBlock{l, r})
		}
		if len(o.SACK) == 0 {
			p.failAt(p.peek(), "expected a SACK block L:R, found %s", p.peek().describe())
		}
		if len(o.SACK) > 4 {
			p.failAt(t, "too many SACK blocks (%d > 4)", len(o.SACK))
		}
		return &o, 2 + 8*len(o.SACK)
	case "TS":
		o := TCPOption{Kind: OptTimestamp}
		p.expectWord("val", "after TS")
		if e := p.peek(); e.kind == tEllipsis { // FreeBSD fork: any TS val
			p.next()
			if dir != Outbound {
				p.failAt(e, "TS val ... can only be used with outbound packets")
			}
			o.AnyTSVal = true
		} else {
			o.TSVal = uint32(p.uint("TS val", 0xffffffff))
		}
		p.expectWord("ecr", "after the TS value")
		o.TSEcr = uint32(p.uint("TS ecr", 0xffffffff))
		if p.peek().is("!") { // FreeBSD fork: an absolute ecr
			p.next()
			o.AbsoluteTSEcr = true
		}
		return &o, 10
	case "md5":
		d := p.next()
		n := 18
		switch {
		case d.isWord("valid"): // FreeBSD fork: any valid signature
		case d.kind == tWord || d.kind == tInt:
			b, ok := hexBlob(d.text)
			if !ok {
				p.failAt(d, "TCP MD5 digest %s is not a valid hex string", d.text)
			}
			if len(b) > 16 {
				p.failAt(d, "TCP MD5 digest longer than 16 bytes")
			}
			n = 2 + len(b)
		default:
			p.failAt(d, "expected an MD5 digest in hex or valid, found %s", d.describe())
		}
		p.unsupported(t, FeatureMD5, "md5 option")
		return nil, n
	case "FO", "FOEXP", "EXP-FO", "exp-FO":
		base, max := 2, maxTCPOptionBytes-2
		if t.text != "FO" {
			base, max = 4, maxTCPOptionBytes-4
		}
		n := base
		if c := p.peek(); c.kind == tInt || c.kind == tWord && !tcpOptionWord(c.text) {
			p.next()
			if len(c.text)%2 != 0 {
				p.failAt(c, "TCP fast open cookie has an odd number of digits")
			}
			b, ok := hexBlob(c.text)
			if !ok {
				p.failAt(c, "TCP fast open cookie '%s' is not a valid hex string%s", c.text, undefinedHint(c))
			}
			if len(b) > max {
				p.failAt(c, "TCP fast open cookie of %d bytes exceeds maximum cookie length of %d bytes", len(b), max)
			}
			n += len(b)
		}
		p.unsupported(t, FeatureFastOpen, t.text+" option")
		return nil, n
	case "ECN": // packetdrill: ECN e0b N [ceb N [e1b N]] or ECN e1b N [ceb N [e0b N]]
		first := p.next()
		if !first.isWord("e0b") && !first.isWord("e1b") {
			p.failAt(first, "expected e0b or e1b after ECN, found %s", first.describe())
		}
		p.uint("AccECN counter", 1<<24-1)
		fields := 1
		if p.peek().isWord("ceb") {
			p.next()
			p.uint("AccECN counter", 1<<24-1)
			fields++
			other := "e1b"
			if first.text == "e1b" {
				other = "e0b"
			}
			if p.peek().isWord(other) {
				p.next()
				p.uint("AccECN counter", 1<<24-1)
				fields++
			}
		}
		p.unsupported(t, FeatureAccECN, "AccECN option")
		return nil, 2 + 3*fields
	case "AccECN0", "AccECN1", "exp-AccECN0", "exp-AccECN1": // FreeBSD fork
		order := []string{"ee0b", "eceb", "ee1b"}
		if strings.HasSuffix(t.text, "1") {
			order = []string{"ee1b", "eceb", "ee0b"}
		}
		fields := 0
		for _, f := range order {
			if p.peek().isWord(f) {
				p.next()
				p.uint("AccECN counter", 1<<24-1)
				fields++
			}
		}
		p.unsupported(t, FeatureAccECN, "AccECN option")
		return nil, 2 + 3*fields
	case "exp-tarr": // FreeBSD fork
		if p.peek().kind == tInt {
			p.uint("TARR rate", 0xff)
		}
		p.unsupported(t, FeatureExpOption, t.text)
		return nil, 0
	}
	if g := genericOption(t.text); g != "" { // FreeBSD fork: gen-N [DATA], exp-HEX [DATA]
		if g == "gen" {
			if _, err := strconv.ParseUint(t.text[4:], 10, 8); err != nil {
				p.failAt(t, "TCP option kind %s out of range (0..255)", t.text[4:])
			}
		}
		if d := p.peek(); d.kind == tInt || d.kind == tWord && !tcpOptionWord(d.text) {
			p.next()
			if _, ok := hexBlob(d.text); !ok {
				p.failAt(d, "TCP option data %s is not a valid hex string", d.text)
			}
		}
		if g == "gen" {
			p.unsupported(t, FeatureGenericOption, t.text)
		} else {
			p.unsupported(t, FeatureExpOption, t.text)
		}
		return nil, 0
	}
	p.failAt(t, "unknown TCP option %q", t.text)
	return nil, 0
}

// icmpCodes are packetdrill's names for the codes of ICMPv4 unreachable.
var icmpCodes = map[string]uint8{
	"net_unreachable": 0, "host_unreachable": 1, "protocol_unreachable": 2,
	"port_unreachable": 3, "frag_needed": 4, "source_route_failed": 5,
	"net_unknown": 6, "host_unknown": 7, "source_host_isolated": 8,
	"net_prohibited": 9, "host_prohibited": 10, "net_unreachable_for_tos": 11,
	"host_unreachable_for_tos": 12, "packet_filtered": 13,
	"precedence_violation": 14, "precedence_cutoff": 15,
}

// icmpTypes are packetdrill's names for ICMPv4 types.
var icmpTypes = map[string]uint8{
	"echo_reply": 0, "unreachable": 3, "source_quench": 4, "redirect": 5,
	"echo_request": 8, "time_exceeded": 11, "parameter_problem": 12,
	"timestamp_request": 13, "timestamp_reply": 14, "information_request": 15,
	"information_reply": 16, "address_mask_request": 17, "address_mask_reply": 18,
}

// icmpCodeTables are the code names of each ICMPv4 type that has them; the
// FreeBSD fork adds time_exceeded's.
var icmpCodeTables = map[string]map[string]uint8{
	"unreachable":   icmpCodes,
	"time_exceeded": {"ttl_exceeded_in_transit": 0, "frag_reass_exceeded": 1},
}

// icmp6Types and icmp6CodeTables are packetdrill's ICMPv6 names, read in
// --ip_version=ipv6 scripts.
var icmp6Types = map[string]uint8{
	"unreachable": 1, "packet_too_big": 2, "time_exceeded": 3, "parameter_problem": 4,
	"echo_request": 128, "echo_reply": 129, "router_advertisement": 134,
}

var icmp6CodeTables = map[string]map[string]uint8{
	"unreachable": {"net_unreachable": 0, "no_route": 0, "admin_prohibited": 1, "not_neighbour": 2,
		"address_unreachable": 3, "port_unreachable": 4},
	"time_exceeded":     {"exceeded_hop_limit": 0, "exceeded_frag_time": 1},
	"parameter_problem": {"header_field": 0, "unknown_next_header": 1, "unknown_option": 2},
}

// numbered parses packetdrill's "type_N" / "code_N" notation.
func numbered(word, prefix string) (uint8, bool) {
	rest, ok := strings.CutPrefix(word, prefix)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(rest, 10, 8)
	return uint8(v), err == nil
}

// icmp parses TYPE [CODE] [mtu N] [id N] ['[' echoed ']'] after "icmp".
func (p *parser) icmp() *ICMP {
	ic := &ICMP{}
	types, tables := icmpTypes, icmpCodeTables
	v6 := p.script.IPVersion == "ipv6"
	if v6 {
		types, tables = icmp6Types, icmp6CodeTables
	}
	t := p.next()
	if t.kind != tWord {
		p.failAt(t, "expected an ICMP type, found %s", t.describe())
	}
	ty, ok := types[t.text]
	codes := tables[t.text]
	if !ok {
		if ty, ok = numbered(t.text, "type_"); !ok {
			p.failAt(t, "bad ICMP type %s", t.text)
		}
	}
	ic.TypeName, ic.Type = t.text, ty
	if c := p.peek(); c.kind == tWord && c.text != "mtu" && c.text != "id" && !isExtensionWord(c.text) {
		p.next()
		code, ok := numbered(c.text, "code_")
		if !ok && codes != nil {
			code, ok = codes[c.text]
		}
		if !ok {
			p.failAt(c, "bad ICMP code %s", c.text)
		}
		ic.CodeName, ic.Code = c.text, code
	}
	if m := p.peek(); m.isWord("mtu") {
		p.next()
		if v6 {
			p.uint("ICMP MTU", 0xffffffff)
			if ic.Type != 2 || ic.Code != 0 {
				p.failAt(m, "ICMPv6 MTU is only valid for packet_too_big")
			}
		} else {
			ic.MTU, ic.HasMTU = uint16(p.uint("ICMP MTU", 0xffff)), true
			if ic.Type != 3 || ic.Code != 4 {
				p.failAt(m, "ICMPv4 MTU is only valid for unreachable frag_needed")
			}
		}
	}
	if p.peek().isWord("id") {
		p.next()
		ic.ID = uint16(p.uint("ICMP echo id", 0xffff))
	}
	if p.peek().is("[") {
		p.next()
		e := &ICMPEchoed{Proto: "tcp"}
		switch w := p.peek(); {
		case w.isWord("udp") || w.isWord("raw") || w.isWord("sctp") || w.isWord("udplite"):
			p.next()
			e.Proto = w.text
			p.expectPunct("(", "before the echoed payload length")
			e.Len = int(p.uint("echoed payload length", 0xffff))
			if w.text == "udplite" {
				p.expectPunct(",", "between the payload length and the checksum coverage")
				p.uint("UDP-Lite checksum coverage", 0xffff)
			}
			p.expectPunct(")", "after the echoed payload length")
			switch w.text {
			case "sctp":
				p.udpEncap()
				p.unsupported(w, FeatureSCTP, "echoed SCTP packet")
			case "udplite":
				p.unsupported(w, FeatureUDPLite, "echoed UDP-Lite packet")
			}
		case w.kind == tEllipsis:
			p.next()
			p.expectPunct("(", "before the payload length")
			e.Len = int(p.uint("payload length", 0xffff))
			p.expectPunct(")", "after the payload length")
			e.AnySeq = true
			p.udpEncap()
		default:
			e.Seq, e.End, e.Len, e.AbsoluteSeq = p.seq()
			p.udpEncap()
		}
		p.expectPunct("]", "to close the echoed packet")
		ic.Echoed = e
	}
	return ic
}

// arp parses "request who-has IP tell IP" or "reply IP is-at MAC|*".
func (p *parser) arp(dir Direction) *ARP {
	t := p.next()
	switch {
	case t.isWord("request"):
		a := &ARP{Op: ARPRequest}
		p.expectWord("who-has", "in an ARP request")
		a.TargetIP = p.ipv4Addr()
		p.expectWord("tell", "in an ARP request")
		a.SenderIP = p.ipv4Addr()
		return a
	case t.isWord("reply"):
		a := &ARP{Op: ARPReply}
		a.SenderIP = p.ipv4Addr()
		p.expectWord("is-at", "in an ARP reply")
		m := p.next()
		switch {
		case m.is("*"):
			if dir != Outbound {
				p.failAt(m, "is-at * can only be used with outbound packets")
			}
			a.AnyMAC = true
		case m.kind == tMAC:
			hw, err := net.ParseMAC(m.text)
			if err != nil {
				p.failAt(m, "bad MAC address %s", m.text)
			}
			a.MAC = hw
		default:
			p.failAt(m, "expected a MAC address or '*', found %s", m.describe())
		}
		return a
	}
	p.failAt(t, "expected request or reply after arp, found %s", t.describe())
	return nil
}

func (p *parser) ipv4Addr() netip.Addr {
	t := p.next()
	if t.kind != tIPv4 {
		p.failAt(t, "expected an IPv4 address, found %s", t.describe())
	}
	a, err := netip.ParseAddr(t.text)
	if err != nil {
		p.failAt(t, "bad IPv4 address %s", t.text)
	}
	return a
}

// rawFrame parses 0xHEX or "HEX" (spaces and colons allowed in the string).
func (p *parser) rawFrame() []byte {
	t := p.next()
	var digits string
	switch t.kind {
	case tHex:
		digits = t.text[2:]
	case tString:
		digits = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\n' || r == ':' {
				return -1
			}
			return r
		}, t.text)
	default:
		p.failAt(t, "expected a frame in hex (0x... or \"...\"), found %s", t.describe())
	}
	b, err := hex.DecodeString(digits)
	if err != nil {
		p.failAt(t, "bad hex frame: %v", err)
	}
	if len(b) < 14 {
		p.failAt(t, "raw frame of %d bytes is shorter than an Ethernet header (14)", len(b))
	}
	return b
}

func isExtensionWord(w string) bool {
	switch w {
	case "bad_checksum", "bad_ip_checksum", "ttl", "ip_id", "ip_options", "fragment":
		return true
	}
	return false
}

// extensions parses mtcp's trailing attributes of an inbound TCP or ICMP line.
func (p *parser) extensions(pk *Packet) {
	seen := map[string]bool{}
	for t := p.peek(); t.kind == tWord && isExtensionWord(t.text); t = p.peek() {
		p.next()
		if pk.Direction != Inbound {
			p.failAt(t, "%s can only be used with inbound (<) packets", t.text)
		}
		if seen[t.text] {
			p.failAt(t, "%s given twice", t.text)
		}
		seen[t.text] = true
		switch t.text {
		case "bad_checksum":
			pk.BadChecksum = true
		case "bad_ip_checksum":
			pk.BadIPChecksum = true
		case "ttl":
			if pk.IP.HasTTL {
				p.failAt(t, "ttl given twice")
			}
			pk.IP.TTL, pk.IP.HasTTL = uint8(p.uint("ttl", 0xff)), true
		case "ip_id":
			pk.IP.ID, pk.IP.HasID = uint16(p.uint("ip_id", 0xffff)), true
		case "ip_options":
			h := p.next()
			if h.kind != tHex {
				p.failAt(h, "expected IP options in hex (0x...), found %s", h.describe())
			}
			b, err := hex.DecodeString(h.text[2:])
			if err != nil || len(b)%4 != 0 || len(b) > 40 {
				p.failAt(h, "IP options must be whole bytes, a multiple of 4, at most 40 (got %s)", h.text)
			}
			pk.IP.Options = b
		case "fragment":
			p.expectWord("offset", "after fragment")
			ot := p.peek()
			off := p.uint("fragment offset", 8*0x1fff)
			if off%8 != 0 {
				p.failAt(ot, "fragment offset %d is not a multiple of 8", off)
			}
			pk.IP.Fragment, pk.IP.FragmentOffset = true, uint16(off)
			if p.peek().isWord("more") {
				p.next()
				pk.IP.MoreFragments = true
			}
		}
	}
}

// syscall parses [...T] NAME(ARGS) = RESULT [ERRNO] [(NOTE)].
func (p *parser) syscall() *Syscall {
	sc := &Syscall{}
	if p.peek().kind == tEllipsis {
		p.next()
		sc.EndTime, sc.HasEndTime = p.seconds(), true
	}
	name := p.next()
	if name.kind != tWord {
		p.failAt(name, "expected a system call name, found %s", name.describe())
	}
	sc.Name = name.text
	p.expectPunct("(", "after the system call name")
	if !p.peek().is(")") {
		sc.Args = p.exprList(")")
	}
	p.expectPunct(")", "to close the arguments")
	p.expectPunct("=", "before the expected result")
	sc.Result = p.expr()
	// packetdrill's errno comes with a note; mtcp takes one without, on the result's line.
	if e := p.peek(); e.kind == tWord && (e.line == p.prev().line || p.peekAt(1).is("(")) {
		p.next()
		sc.Errno = e.text
	}
	if open := p.peek(); open.is("(") {
		p.next()
		depth := 1
		for {
			t := p.next()
			if t.kind == tEOF {
				p.failAt(open, "unterminated note")
			}
			if t.is("(") {
				depth++
			}
			if t.is(")") {
				if depth--; depth == 0 {
					sc.Note = strings.Join(strings.Fields(string(p.src[open.end:t.off])), " ")
					break
				}
			}
		}
	}
	return sc
}

func (p *parser) exprList(closer string) []Expr {
	list := []Expr{p.expr()}
	for p.peek().is(",") {
		p.next()
		list = append(list, p.expr())
	}
	if t := p.peek(); !t.is(closer) {
		p.failAt(t, "expected ',' or '%s', found %s", closer, t.describe())
	}
	return list
}

// expr parses PRIMARY ('|' PRIMARY)*.
func (p *parser) expr() Expr {
	first := p.primary()
	if !p.peek().is("|") {
		return first
	}
	or := Expr{Kind: ExprOr, Line: first.Line, Col: first.Col, Elems: []Expr{first}}
	for p.peek().is("|") {
		p.next()
		or.Elems = append(or.Elems, p.primary())
	}
	return or
}

// callWords are packetdrill's function keywords: a space may separate them
// from their '('. Any other word is a call only when '(' follows at once.
var callWords = map[string]bool{"htons": true, "htonl": true, "inet_addr": true, "inet6_addr": true}

func (p *parser) primary() Expr {
	t := p.next()
	e := Expr{Line: t.line, Col: t.col, Text: t.text}
	switch {
	case t.kind == tEllipsis:
		e.Kind = ExprEllipsis
	case t.kind == tInt || t.kind == tHex:
		e.Kind = ExprInt
		v, err := strconv.ParseInt(t.text, 0, 64)
		if err != nil {
			u, uerr := strconv.ParseUint(t.text, 0, 64)
			if uerr != nil {
				p.failAt(t, "integer %s out of range", t.text)
			}
			v = int64(u)
		}
		e.Int = v
	case t.kind == tString:
		e.Kind = ExprString
		for p.peek().kind == tString {
			e.Text += p.next().text
		}
		if p.peek().kind == tEllipsis {
			p.next()
			e.AnySuffix = true
		}
	case t.kind == tWord:
		e.Kind = ExprWord
		switch {
		case p.peek().is("="):
			p.next()
			e.Kind, e.Elems = ExprAssign, []Expr{p.expr()}
		case p.peek().is("(") && (p.peek().off == t.end || callWords[t.text]):
			p.next()
			e.Kind = ExprCall
			if !p.peek().is(")") {
				e.Elems = p.exprList(")")
			}
			p.expectPunct(")", "to close the call")
			if eq := p.peek(); eq.is("=") { // name(LEN)=value: msg_iov(1)=[...]
				if len(e.Elems) != 1 {
					p.failAt(eq, "expected one length in %s(LEN)=VALUE, found %d", t.text, len(e.Elems))
				}
				p.next()
				n := e.Elems[0]
				e.Kind, e.Len, e.Elems = ExprAssign, &n, []Expr{p.expr()}
			}
		}
	case t.is("["):
		e.Kind, e.Text = ExprArray, ""
		if !p.peek().is("]") {
			e.Elems = p.exprList("]")
		}
		p.next()
	case t.is("{"):
		e.Kind, e.Text = ExprStruct, ""
		switch f := p.peek(); {
		case f.isWord("flags") && (p.peekAt(1).is("[") || p.peekAt(1).kind == tInt || p.peekAt(1).kind == tHex):
			p.greHeader() // packetdrill's {gre_header_expression}
			p.unsupported(f, FeatureGRE, "GRE header expression")
			p.expectPunct("}", "to close the GRE header")
			return e
		case f.is("("):
			for p.peek().is("(") { // packetdrill's {mpls_stack}
				p.mplsEntry()
			}
			p.unsupported(f, FeatureMPLS, "MPLS label stack expression")
			p.expectPunct("}", "to close the MPLS label stack")
			return e
		case f.is("}"):
		default:
			e.Elems = p.exprList("}")
		}
		p.next()
	default:
		p.failAt(t, "expected an expression, found %s", t.describe())
	}
	return e
}
