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
// defines are the names #ifdef tests; nil means DefaultDefines(), and a
// caller passing its own map should include "STANDARD" unless it means to
// leave it out. On error, Parse returns a nil *Script and an *Error.
func Parse(filename string, src []byte, defines map[string]bool) (s *Script, err error) {
	if defines == nil {
		defines = DefaultDefines()
	}
	lines := strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n")
	withText := func(e *Error) *Error {
		e.File = filename
		if e.Line >= 1 && e.Line <= len(lines) {
			e.Text = strings.TrimRight(lines[e.Line-1], "\r")
		}
		return e
	}
	kept, perr := preprocess(src, defines)
	if perr != nil {
		return nil, withText(perr)
	}
	lx := newLexer(kept)
	if lerr := lx.run(); lerr != nil {
		line, col := lx.pos(lerr.off)
		return nil, withText(&Error{Line: line, Col: col, Msg: lerr.msg})
	}
	p := &parser{toks: lx.toks, src: kept, script: &Script{
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

func (p *parser) failAt(t token, format string, args ...any) {
	panic(bail{&Error{Line: t.line, Col: t.col, Msg: fmt.Sprintf(format, args...)}})
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

// uint parses an unsigned decimal integer token no larger than max.
func (p *parser) uint(what string, max uint64) uint64 {
	t := p.next()
	if t.kind != tInt {
		p.failAt(t, "expected %s (an integer), found %s", what, t.describe())
	}
	v, err := strconv.ParseUint(t.text, 10, 64)
	if err != nil || v > max {
		p.failAt(t, "%s %s out of range (0..%d)", what, t.text, max)
	}
	return v
}

func (p *parser) hexByte(what string) uint8 {
	t := p.next()
	if t.kind != tHex {
		p.failAt(t, "expected %s (a 0x hex integer), found %s", what, t.describe())
	}
	v, err := strconv.ParseUint(t.text[2:], 16, 8)
	if err != nil {
		p.failAt(t, "%s %s out of range for 8 bits", what, t.text)
	}
	return uint8(v)
}

func (p *parser) parseScript() {
	for p.peek().kind == tOption {
		p.option(p.next())
	}
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
		switch t.val {
		case "ipv4":
			p.script.IPVersion = t.val
		case "ipv6", "ipv4-mapped-ipv6":
			p.failAt(t, "unsupported: --ip_version=%s (only ipv4)", t.val)
		default:
			p.failAt(t, "unknown --ip_version %q", t.val)
		}
	default:
		p.script.Warnings = append(p.script.Warnings, &Error{
			Line: t.line, Col: t.col, Msg: fmt.Sprintf("unknown option --%s ignored", t.text),
		})
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

func (p *parser) packet(dir Direction) *Packet {
	pk := &Packet{Direction: dir}
	t := p.peek()
	if t.kind == tWord {
		switch t.text {
		case "arp":
			p.next()
			pk.Proto, pk.ARP = ProtoARP, p.arp(dir)
			return pk
		case "raw":
			p.next()
			if dir != Inbound {
				p.failAt(t, "raw frames can only be used with inbound (<) lines")
			}
			pk.Proto, pk.Raw = ProtoRaw, p.rawFrame()
			return pk
		case "udp":
			p.failAt(t, "unsupported: udp packets")
		case "ipv4", "ipv6", "gre", "GREv0", "mpls":
			p.failAt(t, "unsupported: %s encapsulation", t.text)
		}
	}
	p.ipInfo(pk)
	if a, b, c := p.peek(), p.peekAt(1), p.peekAt(2); a.kind == tInt && b.is(">") && c.kind == tInt {
		pk.Ports = true
		pk.SrcPort = uint16(p.uint("source port", 0xffff))
		p.next()
		pk.DstPort = uint16(p.uint("destination port", 0xffff))
	}
	switch t := p.peek(); {
	case t.isWord("icmp"):
		p.next()
		pk.Proto, pk.ICMP = ProtoICMP, p.icmp()
	case t.isWord("udp"):
		p.failAt(t, "unsupported: udp packets")
	default:
		pk.Proto, pk.TCP = ProtoTCP, p.tcp(dir)
	}
	p.extensions(pk)
	return pk
}

// ipInfo parses packetdrill's optional "(ip_info)" or "[ip_info]": an ECN
// codepoint or "tos 0xNN" (optionally followed by ", flowlabel"), or "ttl N".
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
	t := p.next()
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
	case t.isWord("tos"):
		pk.IP.TOS, pk.IP.HasTOS = p.hexByte("tos"), true
	case t.isWord("ttl"):
		pk.IP.TTL, pk.IP.HasTTL = uint8(p.uint("ttl", 0xff)), true
	case t.isWord("flowlabel"):
		p.failAt(t, "unsupported: flowlabel (IPv6 only)")
	default:
		p.failAt(t, "expected an ECN codepoint, tos, ttl or flowlabel, found %s", t.describe())
	}
	if p.peek().is(",") {
		p.next()
		if ft := p.peek(); ft.isWord("flowlabel") {
			p.failAt(ft, "unsupported: flowlabel (IPv6 only)")
		}
		p.failAt(p.peek(), "expected flowlabel after ',', found %s", p.peek().describe())
	}
	p.expectPunct(closer, "to close the IP information")
}

func (p *parser) tcp(dir Direction) *TCP {
	tc := &TCP{}
	tc.Flags = p.flags()
	tc.Seq, tc.End, tc.Len = p.seq()
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
		if p.peek().kind == tEllipsis {
			p.next()
			if dir != Outbound {
				p.failAt(open, "<...> for TCP options can only be used with outbound packets")
			}
			tc.AnyOptions = true
		} else {
			tc.Options = []TCPOption{p.tcpOption()}
			for p.peek().is(",") {
				p.next()
				tc.Options = append(tc.Options, p.tcpOption())
			}
		}
		p.expectPunct(">", "to close the TCP options")
	}
	return tc
}

// flags parses WORD['.'], '.' or '-'.
func (p *parser) flags() TCPFlags {
	t := p.next()
	switch {
	case t.is("."):
		return ACK
	case t.is("-"):
		return 0
	case t.kind == tFloat:
		p.failAt(t, "unsupported: AccECN ACE flags")
	case t.kind != tWord:
		p.failAt(t, "expected TCP flags, icmp or an extension keyword, found %s", t.describe())
	}
	var f TCPFlags
	for i := 0; i < len(t.text); i++ {
		var bit TCPFlags
		for _, fl := range flagLetters {
			if fl.letter == t.text[i] {
				bit = fl.flag
			}
		}
		if bit == 0 {
			p.failAt(token{line: t.line, col: t.col + i}, "unknown TCP flag %q in %q (flags are F S R P . U E W, or - for none)", t.text[i], t.text)
		}
		if f&bit != 0 {
			p.failAt(token{line: t.line, col: t.col + i}, "TCP flag %q repeated in %q", t.text[i], t.text)
		}
		f |= bit
	}
	if d := p.peek(); d.is(".") {
		p.next()
		if f&ACK != 0 {
			p.failAt(d, "TCP flag '.' repeated")
		}
		f |= ACK
	}
	return f
}

// seq parses START:END(LEN), or START alone for a segment without data (an
// mtcp relaxation; packetdrill requires the full form).
func (p *parser) seq() (start, end uint32, n int) {
	start = uint32(p.uint("sequence number", 0xffffffff))
	if !p.peek().is(":") {
		return start, start, 0
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
	return start, end, n
}

func (p *parser) tcpOption() TCPOption {
	t := p.next()
	if t.kind != tWord {
		p.failAt(t, "expected a TCP option, found %s", t.describe())
	}
	switch t.text {
	case "nop":
		return TCPOption{Kind: OptNOP}
	case "eol":
		return TCPOption{Kind: OptEOL}
	case "mss":
		return TCPOption{Kind: OptMSS, MSS: uint16(p.uint("mss", 0xffff))}
	case "wscale":
		return TCPOption{Kind: OptWScale, WScale: uint8(p.uint("window scale shift count", 0xff))}
	case "sackOK":
		return TCPOption{Kind: OptSACKOK}
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
		return o
	case "TS":
		p.expectWord("val", "after TS")
		val := uint32(p.uint("TS val", 0xffffffff))
		p.expectWord("ecr", "after the TS value")
		ecr := uint32(p.uint("TS ecr", 0xffffffff))
		return TCPOption{Kind: OptTimestamp, TSVal: val, TSEcr: ecr}
	case "md5":
		p.failAt(t, "unsupported: TCP MD5 signature option")
	case "FO", "FOEXP":
		p.failAt(t, "unsupported: TCP Fast Open option")
	}
	p.failAt(t, "unknown TCP option %q", t.text)
	return TCPOption{}
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
	t := p.next()
	if t.kind != tWord {
		p.failAt(t, "expected an ICMP type, found %s", t.describe())
	}
	ty, ok := icmpTypes[t.text]
	if !ok {
		if ty, ok = numbered(t.text, "type_"); !ok {
			p.failAt(t, "bad ICMP type %s", t.text)
		}
	}
	ic.TypeName, ic.Type = t.text, ty
	if c := p.peek(); c.kind == tWord && c.text != "mtu" && c.text != "id" && !isExtensionWord(c.text) {
		p.next()
		code, ok := numbered(c.text, "code_")
		if !ok && ic.Type == 3 {
			code, ok = icmpCodes[c.text]
		}
		if !ok {
			p.failAt(c, "bad ICMP code %s", c.text)
		}
		ic.CodeName, ic.Code = c.text, code
	}
	if m := p.peek(); m.isWord("mtu") {
		p.next()
		ic.MTU, ic.HasMTU = uint16(p.uint("ICMP MTU", 0xffff)), true
		if ic.Type != 3 || ic.Code != 4 {
			p.failAt(m, "ICMPv4 MTU is only valid for unreachable frag_needed")
		}
	}
	if p.peek().isWord("id") {
		p.next()
		ic.ID = uint16(p.uint("ICMP echo id", 0xffff))
	}
	if p.peek().is("[") {
		p.next()
		e := &ICMPEchoed{Proto: "tcp"}
		if w := p.peek(); w.isWord("udp") || w.isWord("raw") {
			p.next()
			e.Proto = w.text
			p.expectPunct("(", "before the echoed payload length")
			e.Len = int(p.uint("echoed payload length", 0xffff))
			p.expectPunct(")", "after the echoed payload length")
		} else {
			e.Seq, e.End, e.Len = p.seq()
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
	if e := p.peek(); e.kind == tWord {
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
		case p.peek().is("(") && p.peek().off == t.end:
			p.next()
			e.Kind = ExprCall
			if !p.peek().is(")") {
				e.Elems = p.exprList(")")
			}
			p.expectPunct(")", "to close the call")
		}
	case t.is("["), t.is("{"):
		closer := "]"
		e.Kind, e.Text = ExprArray, ""
		if t.is("{") {
			closer, e.Kind = "}", ExprStruct
		}
		if !p.peek().is(closer) {
			e.Elems = p.exprList(closer)
		}
		p.next()
	default:
		p.failAt(t, "expected an expression, found %s", t.describe())
	}
	return e
}
