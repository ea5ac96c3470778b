package script

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestGrammarPackets parses packet lines the runner can run and checks the AST.
func TestGrammarPackets(t *testing.T) {
	ack := func(tc TCP) *TCP { tc.Ack, tc.HasAck = 1, true; tc.Win, tc.HasWin = 100, true; return &tc }
	tests := []struct {
		name, src string
		want      Packet
	}{
		{"sack with four blocks", "0 < . 1:1(0) ack 1 win 100 <nop,nop,sack 1:2 3:4 5:6 7:8>",
			Packet{Direction: Inbound, Proto: ProtoTCP, TCP: ack(TCP{Flags: ACK, Seq: 1, End: 1, Options: []TCPOption{{Kind: OptNOP}, {Kind: OptNOP},
				{Kind: OptSACK, SACK: []SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}}}}})}},
		{"nop, eol and spaces in the list", "0 < . 1:1(0) ack 1 win 100 <nop, nop, nop, eol>",
			Packet{Direction: Inbound, Proto: ProtoTCP, TCP: ack(TCP{Flags: ACK, Seq: 1, End: 1, Options: []TCPOption{{Kind: OptNOP}, {Kind: OptNOP}, {Kind: OptNOP}, {Kind: OptEOL}}})}},
		{"TS with ecr", "0 > . 1:1(0) ack 1 win 100 <nop,nop,TS val 100 ecr 200>",
			Packet{Direction: Outbound, Proto: ProtoTCP, TCP: ack(TCP{Flags: ACK, Seq: 1, End: 1, Options: []TCPOption{{Kind: OptNOP}, {Kind: OptNOP}, {Kind: OptTimestamp, TSVal: 100, TSEcr: 200}}})}},
		{"FreeBSD: any TS val, absolute ecr", "0 > . 1:1(0) ack 1 win 100 <nop,nop,TS val ... ecr 200!>",
			Packet{Direction: Outbound, Proto: ProtoTCP, TCP: ack(TCP{Flags: ACK, Seq: 1, End: 1, Options: []TCPOption{{Kind: OptNOP}, {Kind: OptNOP},
				{Kind: OptTimestamp, TSEcr: 200, AnyTSVal: true, AbsoluteTSEcr: true}}})}},
		{"FreeBSD: absolute sequence numbers", "0 > R. 0:0(0)! ack 1 win 100",
			Packet{Direction: Outbound, Proto: ProtoTCP, TCP: ack(TCP{Flags: RST | ACK, AbsoluteSeq: true})}},
		{"FreeBSD: any sequence number", "0 > S. ...(0) ack 1 win 100 <mss 1460,sackOK,eol,eol>",
			Packet{Direction: Outbound, Proto: ProtoTCP, TCP: ack(TCP{Flags: SYN | ACK, AnySeq: true, Options: []TCPOption{{Kind: OptMSS, MSS: 1460}, {Kind: OptSACKOK}, {Kind: OptEOL}, {Kind: OptEOL}}})}},
		{"any sequence number with data", "0 > P. ...(10) ack 1 win 100",
			Packet{Direction: Outbound, Proto: ProtoTCP, TCP: ack(TCP{Flags: PSH | ACK, AnySeq: true, Len: 10})}},
		{"ce", "0 < [ce] . 1:1(0) ack 1 win 100", Packet{Direction: Inbound, Proto: ProtoTCP, IP: IPFields{ECN: CE}, TCP: ack(TCP{Flags: ACK, Seq: 1, End: 1})}},
		{"ect01", "0 > [ect01] . 1:1(0) ack 1 win 100", Packet{Direction: Outbound, Proto: ProtoTCP, IP: IPFields{ECN: ECT01}, TCP: ack(TCP{Flags: ACK, Seq: 1, End: 1})}},
		{"noecn", "0 < [noecn] . 1:1(0) ack 1 win 100", Packet{Direction: Inbound, Proto: ProtoTCP, IP: IPFields{ECN: NoECN}, TCP: ack(TCP{Flags: ACK, Seq: 1, End: 1})}},
		{"ect0 in parentheses", "0 < (ect0) . 1:1(0) ack 1 win 100", Packet{Direction: Inbound, Proto: ProtoTCP, IP: IPFields{ECN: ECT0}, TCP: ack(TCP{Flags: ACK, Seq: 1, End: 1})}},
		{"FreeBSD tos", "0 > (tos 0x28) R. 0:0(0)! ack 1 win 100", Packet{Direction: Outbound, Proto: ProtoTCP, IP: IPFields{TOS: 0x28, HasTOS: true}, TCP: ack(TCP{Flags: RST | ACK, AbsoluteSeq: true})}},
		{"FreeBSD ttl", "0 < (ttl 3) . 1:1(0) ack 1 win 100", Packet{Direction: Inbound, Proto: ProtoTCP, IP: IPFields{TTL: 3, HasTTL: true}, TCP: ack(TCP{Flags: ACK, Seq: 1, End: 1})}},
		{"FreeBSD list", "0 < (ttl 3, tos 0x10, ecn ect1) . 1:1(0) ack 1 win 100",
			Packet{Direction: Inbound, Proto: ProtoTCP, IP: IPFields{TTL: 3, HasTTL: true, TOS: 0x10, HasTOS: true, ECN: ECT1}, TCP: ack(TCP{Flags: ACK, Seq: 1, End: 1})}},
		{"FreeBSD dscp name", "0 < [dscp af41] . 1:1(0) ack 1 win 100", Packet{Direction: Inbound, Proto: ProtoTCP, IP: IPFields{TOS: 34 << 2, HasTOS: true}, TCP: ack(TCP{Flags: ACK, Seq: 1, End: 1})}},
		{"FreeBSD dscp value", "0 < [dscp 0x2e, ce] . 1:1(0) ack 1 win 100", Packet{Direction: Inbound, Proto: ProtoTCP, IP: IPFields{TOS: 0x2e << 2, HasTOS: true, ECN: CE}, TCP: ack(TCP{Flags: ACK, Seq: 1, End: 1})}},
		{"FreeBSD flags after the dot", "0 < S.E 0:0(0) ack 1 win 100", Packet{Direction: Inbound, Proto: ProtoTCP, TCP: ack(TCP{Flags: SYN | ACK | ECE})}},
		{"repeated flag letters", "0 < SS. 0:0(0) ack 1 win 100", Packet{Direction: Inbound, Proto: ProtoTCP, TCP: ack(TCP{Flags: SYN | ACK})}},
		{"ports", "0 < 1234>8080 S 0:0(0) win 100", Packet{Direction: Inbound, Proto: ProtoTCP, Ports: true, SrcPort: 1234, DstPort: 8080, TCP: &TCP{Flags: SYN, Win: 100, HasWin: true}}},
		{"icmp time exceeded (FreeBSD code names)", "0 < icmp time_exceeded ttl_exceeded_in_transit [1:1(0)]",
			Packet{Direction: Inbound, Proto: ProtoICMP, ICMP: &ICMP{TypeName: "time_exceeded", CodeName: "ttl_exceeded_in_transit", Type: 11, Code: 0, Echoed: &ICMPEchoed{Proto: "tcp", Seq: 1, End: 1}}}},
		{"icmp frag_reass_exceeded", "0 < icmp time_exceeded frag_reass_exceeded [1:1(0)]",
			Packet{Direction: Inbound, Proto: ProtoICMP, ICMP: &ICMP{TypeName: "time_exceeded", CodeName: "frag_reass_exceeded", Type: 11, Code: 1, Echoed: &ICMPEchoed{Proto: "tcp", Seq: 1, End: 1}}}},
		{"icmp every unreachable code", "0 < icmp unreachable precedence_cutoff", Packet{Direction: Inbound, Proto: ProtoICMP, ICMP: &ICMP{TypeName: "unreachable", CodeName: "precedence_cutoff", Type: 3, Code: 15}}},
		{"icmp numbered with mtu", "0 < icmp type_3 code_4 mtu 1000 [1:1(0)]",
			Packet{Direction: Inbound, Proto: ProtoICMP, ICMP: &ICMP{TypeName: "type_3", CodeName: "code_4", Type: 3, Code: 4, MTU: 1000, HasMTU: true, Echoed: &ICMPEchoed{Proto: "tcp", Seq: 1, End: 1}}}},
		{"icmp raw echoed", "0 < icmp unreachable frag_needed mtu 1000 [raw (10)]",
			Packet{Direction: Inbound, Proto: ProtoICMP, ICMP: &ICMP{TypeName: "unreachable", CodeName: "frag_needed", Type: 3, Code: 4, MTU: 1000, HasMTU: true, Echoed: &ICMPEchoed{Proto: "raw", Len: 10}}}},
		{"icmp echoed FreeBSD forms", "0 < icmp unreachable port_unreachable [...(10)]",
			Packet{Direction: Inbound, Proto: ProtoICMP, ICMP: &ICMP{TypeName: "unreachable", CodeName: "port_unreachable", Type: 3, Code: 3, Echoed: &ICMPEchoed{Proto: "tcp", Len: 10, AnySeq: true}}}},
		{"icmp echoed absolute", "0 < icmp unreachable port_unreachable [5:6(1)!]",
			Packet{Direction: Inbound, Proto: ProtoICMP, ICMP: &ICMP{TypeName: "unreachable", CodeName: "port_unreachable", Type: 3, Code: 3, Echoed: &ICMPEchoed{Proto: "tcp", Seq: 5, End: 6, Len: 1, AbsoluteSeq: true}}}},
		{"icmp with ip info", "0 < [tos 0x10] icmp echo_request id 5", Packet{Direction: Inbound, Proto: ProtoICMP, IP: IPFields{TOS: 0x10, HasTOS: true}, ICMP: &ICMP{TypeName: "echo_request", Type: 8, ID: 5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.src)
			if len(s.Events) != 1 || s.Events[0].Packet == nil {
				t.Fatalf("got %+v, want one packet", s.Events)
			}
			if got := s.Events[0].Packet; !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %s\nwant %s", describe(Event{Packet: got}), describe(Event{Packet: &tt.want}))
			}
		})
	}
}

// TestGrammarUnsupported parses well-formed lines the runner cannot run: each
// is an *Error with its Feature, at the construct that needs it.
func TestGrammarUnsupported(t *testing.T) {
	tests := []struct {
		name, src string
		line, col int
		feature   string
	}{
		{"FO with cookie", "0 < S 0:0(0) win 100 <mss 1460,FO abcd1234,nop,nop>", 1, 32, FeatureFastOpen},
		{"FO without cookie", "0 > S 0:0(0) win 100 <mss 1460,FO,nop,nop>", 1, 32, FeatureFastOpen},
		{"FO with an integer cookie", "0 < S 0:0(0) win 100 <FO 12345678>", 1, 23, FeatureFastOpen},
		{"FOEXP", "0 < S 0:0(0) win 100 <mss 1460,FOEXP 00abaaabe8e9c2,sackOK>", 1, 32, FeatureFastOpen},
		{"FOEXP without cookie", "0 < S 0:0(0) win 100 <mss 1460,FOEXP,sackOK>", 1, 32, FeatureFastOpen},
		{"FreeBSD EXP-FO", "0 < S 0:0(0) win 100 <EXP-FO abcd,nop,nop>", 1, 23, FeatureFastOpen},
		{"FreeBSD exp-FO", "0 < S 0:0(0) win 100 <exp-FO>", 1, 23, FeatureFastOpen},
		{"md5 digest", "0 < S 0:0(0) win 100 <md5 00112233445566778899aabbccddeeff,nop,nop>", 1, 23, FeatureMD5},
		{"FreeBSD md5 valid", "0 < . 1:1(0) ack 1 win 100 <nop,nop,md5 valid>", 1, 37, FeatureMD5},
		{"md5 secret option", "--tcp_md5_secret=foo\n0 close(3) = 0", 1, 1, FeatureMD5},
		{"AccECN option", "0 < . 1:1(0) ack 1 win 100 <ECN e0b 1 ceb 2 e1b 3,nop>", 1, 29, FeatureAccECN},
		{"AccECN option e1b first", "0 < . 1:1(0) ack 1 win 100 <ECN e1b 1 ceb 2 e0b 3,nop>", 1, 29, FeatureAccECN},
		{"FreeBSD AccECN option", "0 < . 1:1(0) ack 1 win 100 <AccECN0 ee0b 1 eceb 2 ee1b 3,nop>", 1, 29, FeatureAccECN},
		{"FreeBSD exp-AccECN1", "0 < . 1:1(0) ack 1 win 100 <exp-AccECN1 ee1b 1>", 1, 29, FeatureAccECN},
		{"ACE float", "0 < .5 1:1(0) ack 1 win 100", 1, 5, FeatureAccECN},
		{"ACE after flags", "0 > S.2 0:0(0) ack 1 win 100", 1, 5, FeatureAccECN},
		{"ACE digit", "0 < S5 0:0(0) win 100", 1, 5, FeatureAccECN},
		{"AE flag", "0 < SA 0:0(0) win 100", 1, 5, FeatureAccECN},
		{"FreeBSD gen option", "0 < . 1:1(0) ack 1 win 100 <gen-30 0102,nop,nop,nop,nop>", 1, 29, FeatureGenericOption},
		{"FreeBSD raw option bytes", "0 < . 1:1(0) ack 1 win 100 <0101080a>", 1, 29, FeatureGenericOption},
		{"FreeBSD exp option", "0 < . 1:1(0) ack 1 win 100 <exp-fe 0102,nop,nop>", 1, 29, FeatureExpOption},
		{"FreeBSD exp-tarr", "0 < . 1:1(0) ack 1 win 100 <exp-tarr 3,nop,nop>", 1, 29, FeatureExpOption},
		{"FreeBSD RST diagnostic", "0 > R. 0:10(10) ack 1 win 0 [code 1, pen 2]", 1, 29, FeatureRSTDiag},
		{"FreeBSD udp encapsulation", "0 > R. 0:0(0) ack 2 win 0/udp(9811 > 1)", 1, 26, FeatureUDPEncap},
		{"FreeBSD udp encapsulation after options", "0 > R. 0:0(0)! ack 2 win 0 <nop,nop,md5 valid>/udp(9811 > 1)", 1, 37, FeatureMD5},
		{"FreeBSD udp encapsulation option", "--udp_encapsulation=tcp\n0 close(3) = 0", 1, 1, FeatureUDPEncap},
		{"udp", "0 < udp (10)", 1, 5, FeatureUDP},
		{"udp with ports", "0 > udp 1234>5678 (100)", 1, 5, FeatureUDP},
		{"udp with ip info", "0 < [ect0] udp (10)", 1, 12, FeatureUDP},
		{"FreeBSD udplite", "0 < udplite (10, 8)", 1, 5, FeatureUDPLite},
		{"FreeBSD sctp", "0 < sctp: INIT[flgs=0, tag=1, a_rwnd=1500, os=1, is=1, tsn=1]", 1, 5, FeatureSCTP},
		{"FreeBSD sctp with ports", "0 < 1234>5678 sctp(bad_crc32c): DATA[flgs=BE, len=20, tsn=1, sid=0, ssn=0, ppid=0]", 1, 15, FeatureSCTP},
		{"FreeBSD sctp echoed", "0 < icmp unreachable port_unreachable [sctp (10)]", 1, 40, FeatureSCTP},
		{"ipv4 outer header", "0 < ipv4 192.0.2.1 > 192.0.2.2: S 0:0(0) win 100", 1, 5, FeatureIPinIP},
		{"ipv6 outer header", "0 < ipv6 2001:db8::1 > 2001:db8::2: S 0:0(0) win 100", 1, 5, FeatureIPv6},
		{"ipv6 outer header with ip info", "0 > ipv6 (ect0) fd3d:fa7b:d17d::1 > ::ffff:192.0.2.1: . 1:1(0) ack 1", 1, 5, FeatureIPv6},
		{"gre", "0 < gre: S 0:0(0) win 100", 1, 5, FeatureGRE},
		{"GREv0 with header", "0 < GREv0 flags [checksum present, key present, sequence# present] sum 0 off 0 key 5 seq 0: S 0:0(0) win 100", 1, 5, FeatureGRE},
		{"gre header with commas", "0 < gre, flags 0x8000, sum 0, off 0, key = 5, seq 0: S 0:0(0) win 100", 1, 5, FeatureGRE},
		{"mpls", "0 < mpls (label 123, tc 1, [S], ttl 255): S 0:0(0) win 100", 1, 5, FeatureMPLS},
		{"mpls stack", "0 < mpls (label 123, tc 1, ttl 255) (label 5, tc 0, [S], ttl 3): S 0:0(0) win 100", 1, 5, FeatureMPLS},
		{"encapsulations nested", "0 < ipv4 192.0.2.1 > 192.0.2.2: gre: mpls (label 1, tc 0, [S], ttl 3): S 0:0(0) win 100", 1, 5, FeatureIPinIP},
		{"psp", "0 > encap psp spi 23 P. 501:1001(500) ack 501", 1, 5, FeaturePSP},
		{"flowlabel", "0 > [ect0, flowlabel 0x1234] . 1:1(0) ack 1", 1, 12, FeatureIPv6},
		{"FreeBSD hlim", "0 < (hlim 3) . 1:1(0) ack 1 win 100", 1, 6, FeatureIPv6},
		{"FreeBSD class", "0 > (class 0x28) . 1:1(0) ack 1", 1, 6, FeatureIPv6},
		{"ipv6 option", "--ip_version=ipv6\n0 < icmp packet_too_big mtu 1280 [1:1(0)]", 1, 1, FeatureIPv6},
		{"ipv4-mapped-ipv6 option", "--ip_version=ipv4-mapped-ipv6\n0 close(3) = 0", 1, 1, FeatureIPv4MappedIPv6},
		{"gre expression", "0 setsockopt(3, SOL_SOCKET, SO_FOO, {flags [checksum present] sum 0 off 0 key 1 seq 2}, 8) = 0", 1, 38, FeatureGRE},
		{"mpls expression", "0 setsockopt(3, SOL_SOCKET, SO_FOO, {(label 1, tc 0, [S], ttl 3)}, 8) = 0", 1, 38, FeatureMPLS},
		{"the first in source order", "--ip_version=ipv4\n0 < S 0:0(0) win 100 <FO>\n0 < udp (1)", 2, 23, FeatureFastOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("u.pkt", []byte(tt.src), nil)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v (%v), want an *Error", err, s)
			}
			if s != nil {
				t.Errorf("a script came with the error")
			}
			if !e.Unsupported() || e.Feature != tt.feature || e.Line != tt.line || e.Col != tt.col {
				t.Errorf("got %d:%d feature %q: %s\nwant %d:%d feature %q", e.Line, e.Col, e.Feature, e.Msg, tt.line, tt.col, tt.feature)
			}
			if want := "unsupported: needs " + tt.feature; !strings.HasPrefix(e.Msg, want) {
				t.Errorf("message %q, want it to start with %q", e.Msg, want)
			}
			if !strings.HasPrefix(err.Error(), "u.pkt:") || e.Text != strings.Split(tt.src, "\n")[tt.line-1] {
				t.Errorf("Error() = %q, Text = %q", err.Error(), e.Text)
			}
		})
	}
}

// TestGrammarMalformedBeatsUnsupported: a malformed line after an unsupported
// one is the error, since the parse reads the whole script.
func TestGrammarMalformedBeatsUnsupported(t *testing.T) {
	src := "--ip_version=ipv6\n0 < S 0:0(0) win 100 <FO abcd>\n+0 < udp (10)\n+0 > S. 0:0(0) ack 1 <mss 1460,bogus>\n"
	_, err := Parse("m.pkt", []byte(src), nil)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v", err)
	}
	if e.Unsupported() || e.Line != 4 || e.Col != 32 || e.Msg != `unknown TCP option "bogus"` {
		t.Errorf("got %d:%d %q (feature %q), want the malformed line 4", e.Line, e.Col, e.Msg, e.Feature)
	}
	// Without the malformed line, the first unsupported construct is the error.
	_, err = Parse("m.pkt", []byte(strings.Replace(src, ",bogus", "", 1)), nil)
	if !errors.As(err, &e) || e.Feature != FeatureIPv6 || e.Line != 1 {
		t.Errorf("got %v", err)
	}
	var nilErr *Error
	if nilErr.Unsupported() {
		t.Errorf("a nil *Error is not unsupported")
	}
}

// TestGrammarIPVersionOption: ParseOptions.IPVersion overrides the script's
// option, as packetdrill's command line does, and picks the ICMP names.
func TestGrammarIPVersionOption(t *testing.T) {
	src := []byte("0 < icmp packet_too_big mtu 1280 [1:1(0)]\n")
	if _, err := Parse("v6.pkt", src, nil); err == nil || !strings.Contains(err.Error(), "bad ICMP type packet_too_big") {
		t.Errorf("as IPv4: %v", err)
	}
	_, err := ParseWith("v6.pkt", src, ParseOptions{IPVersion: "ipv6"})
	var e *Error
	if !errors.As(err, &e) || e.Feature != FeatureIPv6 || e.Line != 1 || e.Col != 1 {
		t.Errorf("as IPv6: %v", err)
	}
	if _, err := ParseWith("v4.pkt", []byte("--ip_version=ipv6\n0 close(3) = 0\n"), ParseOptions{IPVersion: "ipv4"}); err != nil {
		t.Errorf("the run's ipv4 over the script's ipv6: %v", err)
	}
	if _, err := ParseWith("x.pkt", []byte("0 close(3) = 0\n"), ParseOptions{IPVersion: "ipx"}); err == nil || !strings.Contains(err.Error(), `unknown --ip_version "ipx" given to the run`) {
		t.Errorf("bad version: %v", err)
	}
}
