package script

import (
	"errors"
	"strings"
	"testing"
)

// TestGrammarMalformed: lines neither packetdrill's grammar nor its FreeBSD
// fork's accepts (each was checked against both, built from source, with
// --dry_run) are malformed: an *Error without Feature, at the exact place.
func TestGrammarMalformed(t *testing.T) {
	tests := []struct {
		name, src string
		line, col int
		msg       string
	}{
		{"odd FO cookie", "0 < S 0:0(0) win 100 <mss 1460,FO abc,nop,nop>", 1, 35, "TCP fast open cookie has an odd number of digits"},
		{"FO cookie not hex", "0 < S 0:0(0) win 100 <mss 1460,FO xyz1,nop,nop>", 1, 35, "TCP fast open cookie 'xyz1' is not a valid hex string"},
		{"FO cookie too long", "0 < S 0:0(0) win 100 <FO " + strings.Repeat("ab", 39) + ">", 1, 26, "TCP fast open cookie of 39 bytes exceeds maximum cookie length of 38 bytes"},
		{"FOEXP cookie in 0x", "0 < S 0:0(0) win 100 <FOEXP 0xF989>", 1, 29, `expected '>' to close the TCP options, found "0xF989"`},
		{"md5 without digest", "0 < S 0:0(0) win 100 <md5>", 1, 26, "expected an MD5 digest in hex or valid, found '>'"},
		{"md5 digest too long", "0 < S 0:0(0) win 100 <md5 00112233445566778899aabbccddeeff00>", 1, 27, "TCP MD5 digest longer than 16 bytes"},
		{"five SACK blocks", "0 < S 0:0(0) win 100 <sack 1:2 3:4 5:6 7:8 9:10>", 1, 23, "too many SACK blocks (5 > 4)"},
		{"options too long", "0 < S 0:0(0) win 100 <TS val 1 ecr 2,TS val 1 ecr 2,TS val 1 ecr 2,TS val 1 ecr 2,nop>", 1, 22, "TCP option list too long (41 bytes > 40)"},
		{"unknown option alone", "0 < S 0:0(0) win 100 <foo>", 1, 23, `unknown TCP option "foo"`},
		{"AccECN option without field", "0 < S 0:0(0) win 100 <ECN ceb 1>", 1, 27, "expected e0b or e1b after ECN"},
		{"gen option kind", "0 < S 0:0(0) win 100 <gen-300>", 1, 23, "TCP option kind 300 out of range (0..255)"},
		{"exp-tarr junk", "0 < . 1:1(0) ack 1 win 100 <exp-tarr x>", 1, 38, `expected '>' to close the TCP options, found "x"`},
		{"any TS val inbound", "0 < . 1:1(0) ack 1 win 100 <nop,nop,TS val ... ecr 1>", 1, 44, "TS val ... can only be used with outbound packets"},
		{"any sequence number inbound", "0 < S. ...(0) ack 1 win 100", 1, 8, "...(LEN) for the sequence number can only be used with outbound packets"},
		{"ect01 inbound", "0 < [ect01] . 1:1(0) ack 1 win 100", 1, 6, "[ect01] can only be used with outbound packets"},
		{"TS ecr ellipsis", "0 > S 0:0(0) win 100 <TS val ... ecr ...>", 1, 38, "expected TS ecr (an integer), found '...'"},
		{"ports before udp", "0 < 1234>5678 udp (10)", 1, 15, "the ports of a UDP line follow udp"},
		{"ports before icmp", "0 < 1234>5678 icmp echo_request", 1, 15, "an ICMP line has no ports"},
		{"udp without parentheses", "0 < udp 10", 1, 9, "expected '(' before the payload length"},
		{"udp length", "0 < udp (70000)", 1, 10, "UDP payload length 70000 out of range (0..65535)"},
		{"udplite coverage", "0 < udplite (10)", 1, 16, "expected ',' between the payload length and the checksum coverage"},
		{"udp encapsulation ports", "0 > R. 0:0(0) ack 1 win 0/udp(9811)", 1, 35, "expected '>' between the UDP ports"},
		{"encapsulation not udp", "0 > R. 0:0(0) ack 1 win 0/tcp(1 > 2)", 1, 27, `expected "udp" after '/'`},
		{"rst diagnostic comma", "0 < . 1:1(0) ack 1 win 100 [code 1 pen 2]", 1, 36, "expected ',' after the RST diagnostic code"},
		{"numbered type has no code names", "0 < icmp type_3 port_unreachable [1:1(0)]", 1, 17, "bad ICMP code port_unreachable"},
		{"ICMPv6 type in IPv4", "0 < icmp packet_too_big mtu 1280 [1:1(0)]", 1, 10, "bad ICMP type packet_too_big"},
		{"code of another type", "0 < icmp time_exceeded port_unreachable [1:1(0)]", 1, 24, "bad ICMP code port_unreachable"},
		{"time exceeded code on unreachable", "0 < icmp unreachable ttl_exceeded_in_transit [1:1(0)]", 1, 22, "bad ICMP code ttl_exceeded_in_transit"},
		{"echoed udplite", "0 < icmp unreachable port_unreachable [udplite (10)]", 1, 51, "expected ',' between the payload length"},
		{"conflicting ACE and ECN flags", "0 < SE5 0:0(0) win 100", 1, 7, `conflicting TCP flag '5' in "SE5"`},
		{"unknown flag after the dot", "0 < SX. 0:0(0) ack 1 win 100", 1, 6, `unknown TCP flag 'X' in "SX."`},
		{"flag word after the dot", "0 < S. win 0:0(0) ack 1 win 100", 1, 8, `expected sequence number (an integer), found "win"`},
		{"any sequence unclosed", "0 > S. ...(0 ack 1 win 100", 1, 14, "expected ')' after the payload length"},
		{"any sequence without length", "0 > S. ... ack 1 win 100", 1, 12, "expected '(' before the payload length"},
		{"double bang", "0 > S. 0:0(0)!! ack 1 win 100", 1, 15, "unexpected '!' after the end of the event"},
		{"ipv4 outer with an IPv6 address", "0 < ipv4 192.0.2.1 > 2001:db8::1: S 0:0(0) win 100", 1, 22, `expected an IPv4 address, found "2001:db8::1"`},
		{"ipv6 outer with an IPv4 address", "0 < ipv6 192.0.2.1 > 192.0.2.2: S 0:0(0) win 100", 1, 10, `expected an IPv6 address, found "192.0.2.1"`},
		{"outer header without colon", "0 < ipv4 192.0.2.1 > 192.0.2.2 S 0:0(0) win 100", 1, 32, "expected ':' after the outer header"},
		{"gre flag", "0 < gre flags [bogus] sum 0 off 0 key 1 seq 2: S 0:0(0) win 100", 1, 16, "expected a GRE flag"},
		{"gre header without key", "0 < gre flags [none] sum 0 off 0 seq 2: S 0:0(0) win 100", 1, 34, `expected "key" in a GRE header`},
		{"mpls entry unclosed", "0 < mpls (label 1, tc 0, ttl 3: S 0:0(0) win 100", 1, 31, "expected ')' to close the MPLS label stack entry"},
		{"mpls entry without tc", "0 < mpls (label 1, ttl 3): S 0:0(0) win 100", 1, 20, `expected "tc" in an MPLS label stack entry`},
		{"psp without spi", "0 < encap psp S 0:0(0) win 100", 1, 15, `expected "spi" after encap psp`},
		{"dscp range", "0 < [dscp 0x40] . 1:1(0) ack 1 win 100", 1, 11, "dscp 0x40 out of range (0..0x3f)"},
		{"dscp name", "0 < [dscp cs9] . 1:1(0) ack 1 win 100", 1, 11, "expected dscp (a 0x hex integer)"},
		{"flowlabel range", "0 < [flowlabel 0x123456] . 1:1(0) ack 1 win 100", 1, 16, "flowlabel 0x123456 out of range (0..0xfffff)"},
		{"ecn name", "0 < [ecn foo] . 1:1(0) ack 1 win 100", 1, 10, "expected an ECN codepoint (noecn, ect0, ect1, ce, ect01)"},
		{"ip info without comma", "0 < [ect0 ce] . 1:1(0) ack 1 win 100", 1, 11, "expected ']' to close the IP information"},
		{"ip info trailing comma", "0 > [ttl 3,] . 1:1(0) ack 1", 1, 12, "expected an ECN codepoint, tos, ttl or flowlabel"},
		{"empty ip info", "0 > () . 1:1(0) ack 1", 1, 6, "expected an ECN codepoint, tos, ttl or flowlabel"},
		{"tos without value", "0 > [ect0, tos] . 1:1(0) ack 1", 1, 15, "expected tos (a 0x hex integer)"},
		{"two lengths", "0 f({msg_iov(1, 2)=[]}) = 0", 1, 19, "expected one length in msg_iov(LEN)=VALUE, found 2"},
		{"no length", "0 f({msg_iov()=[]}) = 0", 1, 15, "expected one length in msg_iov(LEN)=VALUE, found 0"},
		{"float result", "0 close(3) = 0.5", 1, 14, `expected an expression, found "0.5"`},
		{"star after a time", "0 * > . 1:1(0) ack 1", 1, 3, "expected a packet, a system call or a shell command after the time"},
		{"shell comment line", "# comment\n0 close(3) = 0", 1, 1, "unknown preprocessor directive #"},
		{"directive after an event", "0 close(3) = 0 #endif", 1, 16, "unexpected '#' after the end of the event"},
		{"option after an event", "0 close(3) = 0\n--mss=1000", 2, 1, "option --mss must come before the first event"},
		{"define without value", "--define\n0 close(3) = 0", 1, 1, "--define needs NAME=VALUE"},
		{"define with a bad name", "--define=A-B=1\n0 close(3) = 0", 1, 1, "--define=A-B=1: a name is made of letters, digits and '_'"},
		{"mss range", "0 < S 0:0(0) win 100 <mss 70000>", 1, 27, "mss 70000 out of range (0..65535)"},
		{"junk after options", "0 < S 0:0(0) win 100 <mss 1460>junk", 1, 32, `unexpected "junk" after the end of the event`},
		{"sctp unclosed", "0 < sctp: INIT[flgs=0, tag=1\n+0 close(3) = 0", 1, 15, "unclosed '[' in an SCTP line"},
		{"sctp extra closer", "0 < sctp: INIT[flgs=0]]", 1, 23, "unexpected ']' in an SCTP line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("bad.pkt", []byte(tt.src), nil)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v (%v), want an *Error", err, s)
			}
			if s != nil {
				t.Errorf("a script came with the error")
			}
			if e.Unsupported() || e.Line != tt.line || e.Col != tt.col || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("got %d:%d %q (feature %q)\nwant %d:%d %q", e.Line, e.Col, e.Msg, e.Feature, tt.line, tt.col, tt.msg)
			}
			if e.File != "bad.pkt" || e.Text != strings.Split(tt.src, "\n")[tt.line-1] {
				t.Errorf("file %q text %q", e.File, e.Text)
			}
		})
	}
}
