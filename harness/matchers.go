package harness

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/gopacket/gopacket/layers"
	"github.com/onsi/gomega"
	"github.com/onsi/gomega/matchers"
	"github.com/onsi/gomega/types"

	"github.com/mtcp-go/mtcp/stack/link/pcapng"
)

// Field is one expectation about a frame: a named value taken from the decoded frame, and
// what it must be (a value, compared with BeEquivalentTo, or any Gomega matcher).
type Field struct {
	name    string
	want    types.GomegaMatcher
	wantStr string
	extract func(f *Frame) (any, bool)
}

func field(name string, want any, extract func(f *Frame) (any, bool)) Field {
	fd := Field{name: name, extract: extract}
	switch w := want.(type) {
	case types.GomegaMatcher:
		fd.want, fd.wantStr = w, describeMatcher(w)
	default:
		fd.want, fd.wantStr = gomega.BeEquivalentTo(want), fmt.Sprint(want)
	}
	return fd
}

func describeMatcher(m types.GomegaMatcher) string {
	switch m := m.(type) {
	case *matchers.BeNumericallyMatcher:
		return fmt.Sprintf("%s %v", m.Comparator, m.CompareTo[0])
	case *matchers.EqualMatcher:
		return fmt.Sprint(m.Expected)
	case *matchers.BeElementOfMatcher:
		return fmt.Sprintf("one of %v", m.Elements)
	case *matchers.OrMatcher:
		return joinMatchers(m.Matchers, " or ")
	case *matchers.AndMatcher:
		return joinMatchers(m.Matchers, " and ")
	case *matchers.NotMatcher:
		return "not " + describeMatcher(m.Matcher)
	}
	return strings.TrimPrefix(fmt.Sprintf("%T%+v", m, m), "*matchers.")
}

// joinMatchers describes each matcher, joined by sep: Or(Equal(SYN|ACK), Equal(SYN|ACK|ECE))
// reads "(SYN|ACK or SYN|ACK|ECE)".
func joinMatchers(ms []types.GomegaMatcher, sep string) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = describeMatcher(m)
	}
	return "(" + strings.Join(parts, sep) + ")"
}

// FrameMatcher judges one frame: its kind (ARP reply, TCP segment…), the oracle's checksum
// verdicts, and each Field. It notes on the frame, for the capture, the expectation it met or
// the one it broke.
type FrameMatcher struct {
	kind       string
	is         func(f *Frame) bool
	fields     []Field
	mismatches []string
}

// Match implements types.GomegaMatcher; actual must be a *Frame.
func (m *FrameMatcher) Match(actual any) (bool, error) {
	f, ok := actual.(*Frame)
	if !ok {
		return false, fmt.Errorf("harness: expected a *harness.Frame, got %T", actual)
	}
	if f == nil {
		return false, fmt.Errorf("harness: no frame to match against %s", m.Description())
	}
	m.mismatches = nil
	if !m.is(f) {
		m.mismatches = append(m.mismatches, "it is not "+article(m.kind))
	} else {
		if f.Direction == pcapng.Outbound {
			m.mismatches = append(m.mismatches, f.ChecksumErrors()...)
		}
		for _, fd := range m.fields {
			v, ok := fd.extract(f)
			if !ok {
				m.mismatches = append(m.mismatches, fd.name+": absent")
				continue
			}
			if ok, err := fd.want.Match(v); err != nil || !ok {
				m.mismatches = append(m.mismatches, fmt.Sprintf("%s: want %s, got %v", fd.name, fd.wantStr, v))
			}
		}
	}
	if len(m.mismatches) == 0 {
		f.Note("met: %s", m.Description())
		return true, nil
	}
	f.Note("expected instead: %s (%s)", m.Description(), strings.Join(m.mismatches, "; "))
	return false, nil
}

// Description says what the matcher expects, e.g. "ARP reply with sender IP 198.18.0.2".
func (m *FrameMatcher) Description() string {
	if len(m.fields) == 0 {
		return m.kind
	}
	parts := make([]string, len(m.fields))
	for i, fd := range m.fields {
		parts[i] = fd.name + " " + fd.wantStr
	}
	return m.kind + " with " + strings.Join(parts, ", ")
}

// FailureMessage shows what was expected, what differed, and the frame decoded field by field.
func (m *FrameMatcher) FailureMessage(actual any) string {
	f, _ := actual.(*Frame)
	return fmt.Sprintf("Expected %s\n  but: %s\nThe frame:\n%s", m.Description(), strings.Join(m.mismatches, "\n       "), f.Describe())
}

// NegatedFailureMessage is FailureMessage for NotTo.
func (m *FrameMatcher) NegatedFailureMessage(actual any) string {
	f, _ := actual.(*Frame)
	return fmt.Sprintf("Expected anything but %s\nThe frame:\n%s", m.Description(), f.Describe())
}

// article puts "a" or "an" before a kind; every kind starting with a vowel letter (ARP, ICMP,
// IPv4) is read with a vowel sound.
func article(s string) string {
	if s != "" && strings.ContainsRune("AEIOUaeiou", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}

func frameMatcher(kind string, is func(*Frame) bool, fields []Field) *FrameMatcher {
	return &FrameMatcher{kind: kind, is: is, fields: fields}
}

// BeARPRequest matches an ARP request.
func BeARPRequest(fields ...Field) *FrameMatcher {
	return frameMatcher("ARP request", func(f *Frame) bool { a := f.ARP(); return a != nil && a.Operation == layers.ARPRequest }, fields)
}

// BeARPReply matches an ARP reply.
func BeARPReply(fields ...Field) *FrameMatcher {
	return frameMatcher("ARP reply", func(f *Frame) bool { a := f.ARP(); return a != nil && a.Operation == layers.ARPReply }, fields)
}

// BeICMPEchoReply matches an ICMP echo reply.
func BeICMPEchoReply(fields ...Field) *FrameMatcher {
	return frameMatcher("ICMP echo reply", func(f *Frame) bool {
		ic := f.ICMPv4()
		return ic != nil && ic.TypeCode.Type() == layers.ICMPv4TypeEchoReply
	}, fields)
}

// BeICMPError matches an ICMP error message of the given type and code.
func BeICMPError(typ, code uint8, fields ...Field) *FrameMatcher {
	tc := layers.CreateICMPv4TypeCode(typ, code)
	return frameMatcher("ICMP "+tc.String(), func(f *Frame) bool { ic := f.ICMPv4(); return ic != nil && ic.TypeCode == tc }, fields)
}

// BeTCP matches a TCP segment.
func BeTCP(fields ...Field) *FrameMatcher {
	return frameMatcher("TCP segment", func(f *Frame) bool { return f.TCP() != nil }, fields)
}

// ToMAC expects the Ethernet destination.
func ToMAC(want any) Field {
	return field("destination MAC", want, func(f *Frame) (any, bool) {
		if e := f.Ethernet(); e != nil {
			return e.DstMAC, true
		}
		return nil, false
	})
}

// SenderMAC expects the ARP sender hardware address.
func SenderMAC(want any) Field {
	return field("sender MAC", want, func(f *Frame) (any, bool) {
		return arpField(f, func(a *layers.ARP) any { return net.HardwareAddr(a.SourceHwAddress) })
	})
}

// SenderIP expects the ARP sender protocol address.
func SenderIP(want any) Field {
	return field("sender IP", want, func(f *Frame) (any, bool) {
		return arpField(f, func(a *layers.ARP) any { return addrOf(a.SourceProtAddress) })
	})
}

// TargetMAC expects the ARP target hardware address.
func TargetMAC(want any) Field {
	return field("target MAC", want, func(f *Frame) (any, bool) {
		return arpField(f, func(a *layers.ARP) any { return net.HardwareAddr(a.DstHwAddress) })
	})
}

// TargetIP expects the ARP target protocol address.
func TargetIP(want any) Field {
	return field("target IP", want, func(f *Frame) (any, bool) {
		return arpField(f, func(a *layers.ARP) any { return addrOf(a.DstProtAddress) })
	})
}

func arpField(f *Frame, get func(*layers.ARP) any) (any, bool) {
	if a := f.ARP(); a != nil {
		return get(a), true
	}
	return nil, false
}

func addrOf(b []byte) netip.Addr {
	a, _ := netip.AddrFromSlice(b)
	return a.Unmap()
}

func ipField(f *Frame, get func(*layers.IPv4) any) (any, bool) {
	if ip := f.IPv4(); ip != nil {
		return get(ip), true
	}
	return nil, false
}

// FromIP expects the IPv4 source.
func FromIP(want any) Field {
	return field("source IP", want, func(f *Frame) (any, bool) { return ipField(f, func(ip *layers.IPv4) any { return addrOf(ip.SrcIP) }) })
}

// ToIP expects the IPv4 destination.
func ToIP(want any) Field {
	return field("destination IP", want, func(f *Frame) (any, bool) { return ipField(f, func(ip *layers.IPv4) any { return addrOf(ip.DstIP) }) })
}

// TTL expects the time-to-live.
func TTL(want any) Field {
	return field("TTL", want, func(f *Frame) (any, bool) { return ipField(f, func(ip *layers.IPv4) any { return ip.TTL }) })
}

// DontFragment expects the DF flag set (true) or clear (false).
func DontFragment(want bool) Field {
	return field("DF", want, func(f *Frame) (any, bool) {
		return ipField(f, func(ip *layers.IPv4) any { return ip.Flags&layers.IPv4DontFragment != 0 })
	})
}

func icmpField(f *Frame, get func(*layers.ICMPv4) any) (any, bool) {
	if ic := f.ICMPv4(); ic != nil {
		return get(ic), true
	}
	return nil, false
}

// ICMPID expects the identifier of an echo or echo reply.
func ICMPID(want any) Field {
	return field("ICMP id", want, func(f *Frame) (any, bool) { return icmpField(f, func(ic *layers.ICMPv4) any { return ic.Id }) })
}

// ICMPSeq expects the sequence number of an echo or echo reply.
func ICMPSeq(want any) Field {
	return field("ICMP seq", want, func(f *Frame) (any, bool) { return icmpField(f, func(ic *layers.ICMPv4) any { return ic.Seq }) })
}

// EchoData expects the data of an echo or echo reply, byte for byte.
func EchoData(want []byte) Field {
	fd := field("echo data", gomega.Equal(want), func(f *Frame) (any, bool) {
		return icmpField(f, func(ic *layers.ICMPv4) any { return []byte(ic.Payload) })
	})
	fd.wantStr = fmt.Sprintf("%d bytes %q", len(want), abbreviate(want))
	return fd
}

// Quoting expects an ICMP error to quote the given datagram: its IP header and at least its
// first 8 data bytes (RFC 792, RFC 1122 3.2.2).
func Quoting(p Injectable) Field {
	frame := p.Bytes()
	want := []byte{}
	if len(frame) > 14 {
		ipb := frame[14:]
		hl := int(ipb[0]&0x0f) * 4
		want = ipb[:min(len(ipb), hl+8)]
	}
	fd := field("quoted datagram", gomega.BeTrue(), func(f *Frame) (any, bool) {
		return icmpField(f, func(ic *layers.ICMPv4) any { return bytes.HasPrefix(ic.Payload, want) })
	})
	fd.wantStr = fmt.Sprintf("to start with the %d bytes of header + 8 of %q", len(want), p.String())
	return fd
}

func abbreviate(b []byte) []byte {
	if len(b) > 16 {
		return b[:16]
	}
	return b
}

func tcpField(f *Frame, get func(*layers.TCP) any) (any, bool) {
	if t := f.TCP(); t != nil {
		return get(t), true
	}
	return nil, false
}

// SrcPort expects the TCP source port.
func SrcPort(want any) Field {
	return field("source port", want, func(f *Frame) (any, bool) { return tcpField(f, func(t *layers.TCP) any { return uint16(t.SrcPort) }) })
}

// DstPort expects the TCP destination port.
func DstPort(want any) Field {
	return field("destination port", want, func(f *Frame) (any, bool) { return tcpField(f, func(t *layers.TCP) any { return uint16(t.DstPort) }) })
}

// Flags expects exactly these TCP control bits: a TCPFlags, or a Gomega matcher of one where
// the RFCs allow a choice, e.g. Flags(BeElementOf(RST, RST|ACK)).
func Flags(want any) Field {
	return field("flags", want, func(f *Frame) (any, bool) { return tcpField(f, func(t *layers.TCP) any { return FlagsOf(t) }) })
}

// Seq expects the TCP sequence number.
func Seq(want any) Field {
	return field("seq", want, func(f *Frame) (any, bool) { return tcpField(f, func(t *layers.TCP) any { return t.Seq }) })
}

// Ack expects the TCP acknowledgment number.
func Ack(want any) Field {
	return field("ack", want, func(f *Frame) (any, bool) { return tcpField(f, func(t *layers.TCP) any { return t.Ack }) })
}

// Window expects the TCP window field, as sent.
func Window(want any) Field {
	return field("window", want, func(f *Frame) (any, bool) { return tcpField(f, func(t *layers.TCP) any { return t.Window }) })
}

// HasMSS expects an MSS option with this value.
func HasMSS(want any) Field {
	return field("MSS option", want, func(f *Frame) (any, bool) {
		t := f.TCP()
		if t == nil {
			return nil, false
		}
		for _, o := range t.Options {
			if o.OptionType == layers.TCPOptionKindMSS && len(o.OptionData) == 2 {
				return uint16(o.OptionData[0])<<8 | uint16(o.OptionData[1]), true
			}
		}
		return nil, false
	})
}

// Payload expects the TCP payload, byte for byte.
func Payload(want []byte) Field {
	fd := field("payload", gomega.Equal(want), func(f *Frame) (any, bool) { return tcpField(f, func(t *layers.TCP) any { return []byte(t.Payload) }) })
	fd.wantStr = fmt.Sprintf("%d bytes %q", len(want), abbreviate(want))
	return fd
}

// PayloadLen expects the number of TCP payload bytes (a value, or a matcher such as
// BeNumerically("<=", 536)).
func PayloadLen(want any) Field {
	return field("payload length", want, func(f *Frame) (any, bool) { return tcpField(f, func(t *layers.TCP) any { return len(t.Payload) }) })
}

// HasWScale expects a window scale option (RFC 7323 2.2) with this shift count.
func HasWScale(want any) Field {
	return field("window scale option", want, func(f *Frame) (any, bool) {
		if o, ok := tcpOption(f, layers.TCPOptionKindWindowScale); ok && len(o.OptionData) == 1 {
			return o.OptionData[0], true
		}
		return nil, false
	})
}

// WithoutOption expects the segment to carry no TCP option of this kind.
func WithoutOption(kind layers.TCPOptionKind) Field { return optionPresence(kind, "absent") }

// HasOption expects the segment to carry a TCP option of this kind.
func HasOption(kind layers.TCPOptionKind) Field { return optionPresence(kind, "present") }

func optionPresence(kind layers.TCPOptionKind, want string) Field {
	return field(kind.String()+" option", want, func(f *Frame) (any, bool) {
		if f.TCP() == nil {
			return nil, false
		}
		if _, ok := tcpOption(f, kind); ok {
			return "present", true
		}
		return "absent", true
	})
}

// ReservedBits expects the four reserved bits of the TCP header (RFC 9293 3.1: zero when sent);
// gopacket reads the lowest of them as the historic NS flag.
func ReservedBits(want any) Field {
	return field("reserved bits", want, func(f *Frame) (any, bool) {
		return tcpField(f, func(t *layers.TCP) any { return t.Contents[12] & 0x0f })
	})
}

func tcpOption(f *Frame, kind layers.TCPOptionKind) (layers.TCPOption, bool) {
	if t := f.TCP(); t != nil {
		for _, o := range t.Options {
			if o.OptionType == kind {
				return o, true
			}
		}
	}
	return layers.TCPOption{}, false
}

// ECN is the ECN field of an IPv4 header (RFC 3168 5), for building and matching datagrams.
// It stands apart from the stack's wire.ECN on purpose: the bench never judges the stack with
// the stack's own wire code.
type ECN uint8

// The four ECN codepoints.
const (
	NotECT ECN = 0b00
	ECT1   ECN = 0b01
	ECT0   ECN = 0b10
	CE     ECN = 0b11
)

func (e ECN) String() string { return [...]string{"Not-ECT", "ECT(1)", "ECT(0)", "CE"}[e&3] }

// IPECN expects the ECN field of the IPv4 header.
func IPECN(want any) Field {
	return field("ECN field", want, func(f *Frame) (any, bool) { return ipField(f, func(ip *layers.IPv4) any { return ECN(ip.TOS & 3) }) })
}

// TSVal expects the TSval of the timestamp option (RFC 7323 3).
func TSVal(want any) Field {
	return field("TS val", want, func(f *Frame) (any, bool) {
		val, _, ok := TimestampOf(f)
		return val, ok
	})
}

// TSEcr expects the TSecr of the timestamp option (RFC 7323 3).
func TSEcr(want any) Field {
	return field("TS ecr", want, func(f *Frame) (any, bool) {
		_, ecr, ok := TimestampOf(f)
		return ecr, ok
	})
}

// TimestampOf returns the TSval and TSecr of a segment's timestamp option, if it has one.
func TimestampOf(f *Frame) (val, ecr uint32, ok bool) {
	o, ok := tcpOption(f, layers.TCPOptionKindTimestamps)
	if !ok || len(o.OptionData) != 8 {
		return 0, 0, false
	}
	return binary.BigEndian.Uint32(o.OptionData), binary.BigEndian.Uint32(o.OptionData[4:]), true
}

// SACKBlock is one block of a SACK option: the bytes [Left, Right) were received.
type SACKBlock struct{ Left, Right uint32 }

func (b SACKBlock) String() string { return fmt.Sprintf("%d:%d", b.Left, b.Right) }

// SACKBlocks expects the blocks of the SACK option, in order (RFC 2018 3). A segment without a
// SACK option has none: SACKBlocks(BeEmpty()).
func SACKBlocks(want any) Field {
	return field("SACK blocks", want, func(f *Frame) (any, bool) {
		if f.TCP() == nil {
			return nil, false
		}
		return SACKBlocksOf(f), true
	})
}

// SACKBlocksOf returns the blocks of a segment's SACK option (none without one).
func SACKBlocksOf(f *Frame) []SACKBlock {
	out := []SACKBlock{} // empty, not nil, with or without the option: one way to say "none"
	o, ok := tcpOption(f, layers.TCPOptionKindSACK)
	if !ok {
		return out
	}
	for d := o.OptionData; len(d) >= 8; d = d[8:] {
		out = append(out, SACKBlock{binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:])})
	}
	return out
}
