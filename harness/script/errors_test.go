package script

import (
	"errors"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		line, col int
		msg       string
	}{
		{"unterminated block comment", "0 close(3) = 0\n/* no end", 2, 1, "unterminated /* comment"},
		{"unterminated string", `0 write(3, "abc, 3) = 3`, 1, 12, "unterminated string"},
		{"unterminated backquote", "0 `sysctl", 1, 3, "unterminated backquoted command"},
		{"unterminated code", "0 %{ x", 1, 3, "unterminated %{ code snippet"},
		{"invalid byte", "0 close(3) = 0 \xff", 1, 16, "invalid byte 0xff"},
		{"option after event", "0 close(3) = 0\n--tolerance_usecs=5", 2, 1, "option --tolerance_usecs must come before the first event"},
		{"bad tolerance", "--tolerance_usecs=abc", 1, 1, "--tolerance_usecs needs a non-negative integer"},
		{"bad TS tick", "--tcp_ts_tick_usecs=2000000", 1, 1, "--tcp_ts_tick_usecs needs an integer from 0 to 1000000"},
		{"ipv6 unsupported", "--ip_version=ipv6", 1, 1, "unsupported: needs IPv6 (--ip_version=ipv6)"},
		{"unknown ip version", "--ip_version=ipx", 1, 1, `unknown --ip_version "ipx"`},
		{"options cut at end of file", "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < S 0:0(0) win 1000 <mss 1460\n", 2, 33, "expected '>' to close the TCP options, found end of line"},
		{"options cut at end of line", "+0 < S 0:0(0) win 1000 <mss 1460\n+0 close(3) = 0", 1, 33, "expected '>' to close the TCP options, found end of line"},
		{"missing time", "close(3) = 0", 1, 1, "expected a time at the start of an event"},
		{"junk after event", "0 > . 1:1(0) junk", 1, 14, "unexpected \"junk\" after the end of the event"},
		{"negative time", "-1 close(3) = 0", 1, 1, "negative time"},
		{"huge time", "99999999999999 close(3) = 0", 1, 1, "out of range"},
		{"backwards range", "0.3~0.1 > . 1:1(0)", 1, 5, "time range is backwards"},
		{"half relative range", "+0.1~0.3 > . 1:1(0)", 1, 6, "expected '+' after '~'"},
		{"plus in absolute range", "0.1~+0.3 > . 1:1(0)", 1, 5, "an absolute range is written T~T"},
		{"star inbound", "* < . 1:1(0)", 1, 1, "'*' can only be used with outbound packets"},
		{"range on syscall", "0~1 close(3) = 0", 1, 1, "a time range can only be used with outbound packets"},
		{"no action", "+0 = 3", 1, 4, "expected a packet, a system call or a shell command"},
		{"unknown flag", "0 < SX 0:0(0)", 1, 6, "unknown TCP flag 'X'"},
		{"repeated ack flag", "0 < .. 0:0(0)", 1, 6, "expected sequence number"},
		{"no flags", "0 < 0:0(0)", 1, 5, "expected TCP flags"},
		{"ace flags", "0 < .5 0:0(0)", 1, 5, "unsupported: needs AccECN"},
		{"udp", "0 < udp (10)", 1, 5, "unsupported: needs UDP"},
		{"udp after ip info", "0 < [tos 0x10] udp (10)", 1, 16, "unsupported: needs UDP"},
		{"udp with ecn", "0 < [ect0] udp (10)", 1, 12, "unsupported: needs UDP"},
		{"encapsulation", "0 < ipv4 1.2.3.4 > 5.6.7.8: S 0:0(0)", 1, 5, "unsupported: needs IP-in-IP encapsulation"},
		{"seq missing", "0 > S win 10", 1, 7, "expected sequence number"},
		{"seq inconsistent", "0 > . 1:10(10)", 1, 9, "inconsistent TCP sequence numbers and payload size: 1 + 10 != 10"},
		{"seq out of range", "0 > . 4294967296:4294967296(0)", 1, 7, "sequence number 4294967296 out of range"},
		{"len out of range", "0 > . 1:70001(70000)", 1, 15, "payload length 70000 out of range"},
		{"missing len paren", "0 > . 1:2 1", 1, 11, "expected '(' before the payload length"},
		{"win out of range", "0 > . 1:1(0) win 65536", 1, 18, "window 65536 out of range"},
		{"ack not integer", "0 > . 1:1(0) ack x", 1, 18, "expected ack (an integer)"},
		{"options on inbound any", "0 < S 0:0(0) <...>", 1, 14, "<...> for TCP options can only be used with outbound packets"},
		{"unknown option", "0 > S 0:0(0) <mss 1460,foo>", 1, 24, `unknown TCP option "foo"`},
		{"md5", "0 > S 0:0(0) <md5 abcd>", 1, 15, "unsupported: needs TCP MD5 signature"},
		{"md5 odd digest", "0 > S 0:0(0) <md5 abc>", 1, 19, "TCP MD5 digest abc is not a valid hex string"},
		{"fast open", "0 > S 0:0(0) <FO abcd>", 1, 15, "unsupported: needs TCP Fast Open"},
		{"unclosed options", "0 > S 0:0(0) <mss 1460", 1, 23, "expected '>' to close the TCP options"},
		{"mss range", "0 > S 0:0(0) <mss 70000>", 1, 19, "mss 70000 out of range"},
		{"wscale range", "0 > S 0:0(0) <wscale 300>", 1, 22, "window scale shift count 300 out of range"},
		{"sack empty", "0 > . 1:1(0) <sack>", 1, 19, "expected a SACK block"},
		{"sack too many", "0 > . 1:1(0) <sack 1:2 3:4 5:6 7:8 9:10>", 1, 15, "too many SACK blocks"},
		{"TS without val", "0 > S 0:0(0) <TS 1 ecr 0>", 1, 18, `expected "val" after TS`},
		{"ect01 inbound", "0 < [ect01] . 1:1(0)", 1, 6, "[ect01] can only be used with outbound packets"},
		{"flowlabel", "0 > [flowlabel 0x12] . 1:1(0)", 1, 6, "unsupported: needs IPv6 (flowlabel)"},
		{"tos not hex", "0 > [tos 16] . 1:1(0)", 1, 10, "expected tos (a 0x hex integer)"},
		{"bad ip info", "0 > [foo] . 1:1(0)", 1, 6, "expected an ECN codepoint"},
		{"unclosed ip info", "0 > [ect0 . 1:1(0)", 1, 11, "expected ']' to close the IP information"},
		{"port range", "0 < 70000>80 S 0:0(0)", 1, 5, "source port 70000 out of range"},
		{"icmp bad type", "0 < icmp bogus", 1, 10, "bad ICMP type bogus"},
		{"icmp bad code", "0 < icmp unreachable bogus", 1, 22, "bad ICMP code bogus"},
		{"icmp code on codeless type", "0 < icmp echo_request port_unreachable", 1, 23, "bad ICMP code port_unreachable"},
		{"icmp mtu wrong type", "0 < icmp unreachable port_unreachable mtu 1200", 1, 39, "ICMPv4 MTU is only valid for unreachable frag_needed"},
		{"icmp unclosed echoed", "0 < icmp unreachable port_unreachable [1:1(0)", 1, 46, "expected ']' to close the echoed packet"},
		{"arp bad op", "0 < arp gratuitous", 1, 9, "expected request or reply after arp"},
		{"arp missing who-has", "0 < arp request 1.2.3.4", 1, 17, `expected "who-has" in an ARP request`},
		{"arp bad address", "0 < arp request who-has foo tell 1.2.3.4", 1, 25, "expected an IPv4 address"},
		{"arp any mac inbound", "0 < arp reply 1.2.3.4 is-at *", 1, 29, "is-at * can only be used with outbound packets"},
		{"arp bad mac", "0 < arp reply 1.2.3.4 is-at 12", 1, 29, "expected a MAC address or '*'"},
		{"raw outbound", "0 > raw 0x00", 1, 5, "raw frames can only be used with inbound (<) lines"},
		{"raw odd", `0 < raw "0"`, 1, 9, "bad hex frame"},
		{"raw short", "0 < raw 0x0011", 1, 9, "raw frame of 2 bytes is shorter than an Ethernet header"},
		{"raw not hex", "0 < raw 12", 1, 9, "expected a frame in hex"},
		{"nothing inbound", "0 < nothing", 1, 5, "nothing can only be used with outbound (>) lines"},
		{"nothing any time", "* > nothing", 1, 1, "nothing needs a single time"},
		{"extension outbound", "0 > . 1:1(0) bad_checksum", 1, 14, "bad_checksum can only be used with inbound (<) packets"},
		{"extension twice", "0 < . 1:1(0) bad_checksum bad_checksum", 1, 27, "bad_checksum given twice"},
		{"ttl twice", "0 < (ttl 3) . 1:1(0) ttl 4", 1, 22, "ttl given twice"},
		{"ip options length", "0 < . 1:1(0) ip_options 0x010101", 1, 25, "IP options must be whole bytes, a multiple of 4"},
		{"fragment offset", "0 < . 1:1(0) fragment offset 12", 1, 30, "fragment offset 12 is not a multiple of 8"},
		{"fragment without offset", "0 < . 1:1(0) fragment 8", 1, 23, `expected "offset" after fragment`},
		{"syscall no parens", "0 close 3 = 0", 1, 9, "expected '(' after the system call name"},
		{"syscall no result", "0 close(3)", 1, 11, "expected '=' before the expected result"},
		{"syscall bad arg", "0 close(<) = 0", 1, 9, "expected an expression"},
		{"syscall unclosed array", "0 setsockopt(3, SOL_SOCKET, SO_RCVBUF, [1, 4) = 0", 1, 45, "expected ',' or ']'"},
		{"syscall float", "0 close(1.5) = 0", 1, 9, "expected an expression"},
		{"syscall huge int", "0 close(99999999999999999999) = 0", 1, 9, "integer 99999999999999999999 out of range"},
		{"syscall unterminated note", "0 close(3) = -1 EBADF (Bad file", 1, 23, "unterminated note"},
		{"syscall end time", "0 ...x accept(3, ..., ...) = 4", 1, 6, "expected a time in seconds"},
		{"syscall name", "0 ...1 3(3) = 4", 1, 8, "expected a system call name"},
		{"ifdef no name", "#ifdef\n", 1, 1, "#ifdef needs exactly one name"},
		{"else alone", "  #else\n", 1, 3, "#else without #ifdef"},
		{"endif alone", "#endif", 1, 1, "#endif without #ifdef"},
		{"double else", "#ifdef A\n#else\n#else\n#endif", 3, 1, "second #else for the same #ifdef"},
		{"endif args", "#ifdef A\n#endif A", 2, 1, "#endif takes no arguments"},
		{"else args", "#ifdef A\n#else A\n#endif", 2, 1, "#else takes no arguments"},
		{"missing endif", "0 close(3) = 0\n#ifdef A\n#ifdef B\n#endif\n", 2, 1, "#ifdef without #endif"},
		{"unknown directive", "#define X 1", 1, 1, "unknown preprocessor directive #define"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("bad.pkt", []byte(tt.src), nil)
			if err == nil {
				t.Fatalf("no error; parsed %+v", s.Events)
			}
			if s != nil {
				t.Errorf("returned a script with the error")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if e.Line != tt.line || e.Col != tt.col || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("got %d:%d %q\nwant %d:%d %q", e.Line, e.Col, e.Msg, tt.line, tt.col, tt.msg)
			}
			if e.File != "bad.pkt" || e.Text != strings.Split(tt.src, "\n")[tt.line-1] {
				t.Errorf("file %q text %q", e.File, e.Text)
			}
			if !strings.HasPrefix(err.Error(), e.File+":") || !strings.Contains(err.Error(), "^") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}
