package script

import (
	"errors"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func mustParse(t *testing.T, src string) *Script {
	t.Helper()
	s, err := Parse("test.pkt", []byte(src), nil)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return s
}

func TestParseEvents(t *testing.T) {
	rel0 := Time{Kind: TimeRelative}
	tests := []struct {
		name string
		src  string
		want Event
	}{
		{"absolute time", "1.5 close(3) = 0", Event{Line: 1, Col: 1, Time: Time{Kind: TimeAbsolute, Start: ms(1500)}, Kind: EventSyscall,
			Syscall: &Syscall{Name: "close", Args: []Expr{{Kind: ExprInt, Int: 3, Text: "3", Line: 1, Col: 11}}, Result: Expr{Kind: ExprInt, Text: "0", Line: 1, Col: 16}}}},
		{"integer time", "0 > nothing", Event{Line: 1, Col: 1, Time: Time{Kind: TimeAbsolute}, Kind: EventNothing}},
		{"relative time", "+0.1 > nothing", Event{Line: 1, Col: 1, Time: Time{Kind: TimeRelative, Start: ms(100)}, Kind: EventNothing}},
		{"leading-dot time", "+.25 > nothing", Event{Line: 1, Col: 1, Time: Time{Kind: TimeRelative, Start: ms(250)}, Kind: EventNothing}},
		{"nanosecond exact", "+0.000000001 > nothing", Event{Line: 1, Col: 1, Time: Time{Kind: TimeRelative, Start: 1}, Kind: EventNothing}},
		{"absolute range", "0.1~0.3 > . 1:1(0) ack 1", Event{Line: 1, Col: 1, Time: Time{Kind: TimeAbsolute, Start: ms(100), End: ms(300), Range: true}, Kind: EventPacket,
			Packet: &Packet{Direction: Outbound, Proto: ProtoTCP, TCP: &TCP{Flags: ACK, Seq: 1, End: 1, Ack: 1, HasAck: true}}}},
		{"relative range", "+0.1~+0.3 > . 1:1(0) ack 1", Event{Line: 1, Col: 1, Time: Time{Kind: TimeRelative, Start: ms(100), End: ms(300), Range: true}, Kind: EventPacket,
			Packet: &Packet{Direction: Outbound, Proto: ProtoTCP, TCP: &TCP{Flags: ACK, Seq: 1, End: 1, Ack: 1, HasAck: true}}}},
		{"any time", "* > R 1:1(0)", Event{Line: 1, Col: 1, Time: Time{Kind: TimeAny}, Kind: EventPacket,
			Packet: &Packet{Direction: Outbound, Proto: ProtoTCP, TCP: &TCP{Flags: RST, Seq: 1, End: 1}}}},
		{"SYN with options", "+0 > S 0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0,sack 1:2 3:4,eol>", Event{Line: 1, Col: 1, Time: rel0, Kind: EventPacket,
			Packet: &Packet{Direction: Outbound, Proto: ProtoTCP, TCP: &TCP{Flags: SYN, Win: 65535, HasWin: true, Options: []TCPOption{
				{Kind: OptMSS, MSS: 1460}, {Kind: OptNOP}, {Kind: OptWScale, WScale: 6}, {Kind: OptSACKOK},
				{Kind: OptTimestamp, TSVal: 100, TSEcr: 0}, {Kind: OptSACK, SACK: []SACKBlock{{1, 2}, {3, 4}}}, {Kind: OptEOL}}}}}},
		{"SYN-ACK, data, urg", "+0 < SPU. 0:10(10) ack 1 win 100 urg 5", Event{Line: 1, Col: 1, Time: rel0, Kind: EventPacket,
			Packet: &Packet{Direction: Inbound, Proto: ProtoTCP, TCP: &TCP{Flags: SYN | PSH | URG | ACK, Seq: 0, End: 10, Len: 10, Ack: 1, HasAck: true, Win: 100, HasWin: true, Urg: 5, HasUrg: true}}}},
		{"all flags", "+0 < FSRPUEW. 5:5(0)", Event{Line: 1, Col: 1, Time: rel0, Kind: EventPacket,
			Packet: &Packet{Direction: Inbound, Proto: ProtoTCP, TCP: &TCP{Flags: 0xff, Seq: 5, End: 5}}}},
		{"no flags", "+0 < - 1:1(0) win 0", Event{Line: 1, Col: 1, Time: rel0, Kind: EventPacket,
			Packet: &Packet{Direction: Inbound, Proto: ProtoTCP, TCP: &TCP{Seq: 1, End: 1, HasWin: true}}}},
		{"short seq", "+0 > R 7", Event{Line: 1, Col: 1, Time: rel0, Kind: EventPacket,
			Packet: &Packet{Direction: Outbound, Proto: ProtoTCP, TCP: &TCP{Flags: RST, Seq: 7, End: 7}}}},
		{"any options", "+0 > S. 0:0(0) ack 1 <...>", Event{Line: 1, Col: 1, Time: rel0, Kind: EventPacket,
			Packet: &Packet{Direction: Outbound, Proto: ProtoTCP, TCP: &TCP{Flags: SYN | ACK, Ack: 1, HasAck: true, AnyOptions: true}}}},
		{"ip info and ports", "+0 < [ect0] 1234>8080 . 1:1(0) ack 1", Event{Line: 1, Col: 1, Time: rel0, Kind: EventPacket,
			Packet: &Packet{Direction: Inbound, Proto: ProtoTCP, IP: IPFields{ECN: ECT0}, Ports: true, SrcPort: 1234, DstPort: 8080, TCP: &TCP{Flags: ACK, Seq: 1, End: 1, Ack: 1, HasAck: true}}}},
		{"tos and ttl", "+0 > (tos 0x10) . 1:1(0)", Event{Line: 1, Col: 1, Time: rel0, Kind: EventPacket,
			Packet: &Packet{Direction: Outbound, Proto: ProtoTCP, IP: IPFields{TOS: 0x10, HasTOS: true}, TCP: &TCP{Flags: ACK, Seq: 1, End: 1}}}},
		{"packetdrill ttl", "+0 < (ttl 3) . 1:1(0)", Event{Line: 1, Col: 1, Time: rel0, Kind: EventPacket,
			Packet: &Packet{Direction: Inbound, Proto: ProtoTCP, IP: IPFields{TTL: 3, HasTTL: true}, TCP: &TCP{Flags: ACK, Seq: 1, End: 1}}}},
		{"icmp unreachable", "+0 < icmp unreachable port_unreachable [1:1001(1000)]", Event{Line: 1, Col: 1, Time: rel0, Kind: EventPacket,
			Packet: &Packet{Direction: Inbound, Proto: ProtoICMP, ICMP: &ICMP{TypeName: "unreachable", CodeName: "port_unreachable", Type: 3, Code: 3,
				Echoed: &ICMPEchoed{Proto: "tcp", Seq: 1, End: 1001, Len: 1000}}}}},
		{"icmp frag needed", "+0 < icmp unreachable frag_needed mtu 1200 [1:1461(1460)]", Event{Line: 1, Col: 1, Time: rel0, Kind: EventPacket,
			Packet: &Packet{Direction: Inbound, Proto: ProtoICMP, ICMP: &ICMP{TypeName: "unreachable", CodeName: "frag_needed", Type: 3, Code: 4, MTU: 1200, HasMTU: true,
				Echoed: &ICMPEchoed{Proto: "tcp", Seq: 1, End: 1461, Len: 1460}}}}},
		{"icmp echo", "+0 > icmp echo_reply id 7", Event{Line: 1, Col: 1, Time: rel0, Kind: EventPacket,
			Packet: &Packet{Direction: Outbound, Proto: ProtoICMP, ICMP: &ICMP{TypeName: "echo_reply", ID: 7}}}},
		{"icmp numbered, udp echoed", "+0 < icmp type_3 code_2 [udp (20)]", Event{Line: 1, Col: 1, Time: rel0, Kind: EventPacket,
			Packet: &Packet{Direction: Inbound, Proto: ProtoICMP, ICMP: &ICMP{TypeName: "type_3", CodeName: "code_2", Type: 3, Code: 2, Echoed: &ICMPEchoed{Proto: "udp", Len: 20}}}}},
		{"arp request in", "+0 < arp request who-has 198.18.0.2 tell 198.18.0.1", Event{Line: 1, Col: 1, Time: rel0, Kind: EventPacket,
			Packet: &Packet{Direction: Inbound, Proto: ProtoARP, ARP: &ARP{Op: ARPRequest, TargetIP: netip.MustParseAddr("198.18.0.2"), SenderIP: netip.MustParseAddr("198.18.0.1")}}}},
		{"arp reply out any", "+0 > arp reply 198.18.0.2 is-at *", Event{Line: 1, Col: 1, Time: rel0, Kind: EventPacket,
			Packet: &Packet{Direction: Outbound, Proto: ProtoARP, ARP: &ARP{Op: ARPReply, SenderIP: netip.MustParseAddr("198.18.0.2"), AnyMAC: true}}}},
		{"arp reply in", "+0 < arp reply 198.18.0.1 is-at 02:00:00:00:00:0a", Event{Line: 1, Col: 1, Time: rel0, Kind: EventPacket,
			Packet: &Packet{Direction: Inbound, Proto: ProtoARP, ARP: &ARP{Op: ARPReply, SenderIP: netip.MustParseAddr("198.18.0.1"), MAC: net.HardwareAddr{2, 0, 0, 0, 0, 10}}}}},
		{"raw hex", "+0 < raw 0x0200000000010200000000020800", Event{Line: 1, Col: 1, Time: rel0, Kind: EventPacket,
			Packet: &Packet{Direction: Inbound, Proto: ProtoRaw, Raw: []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0}}}},
		{"raw string", "+0 < raw \"02:00:00:00:00:01 02 00 00 00 00 02 08 00\"", Event{Line: 1, Col: 1, Time: rel0, Kind: EventPacket,
			Packet: &Packet{Direction: Inbound, Proto: ProtoRaw, Raw: []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0}}}},
		{"ip extensions", "+0 < P. 1:9(8) ack 1 win 100 bad_checksum ttl 1 ip_id 7 ip_options 0x01010100 fragment offset 16 more bad_ip_checksum", Event{Line: 1, Col: 1, Time: rel0, Kind: EventPacket,
			Packet: &Packet{Direction: Inbound, Proto: ProtoTCP, BadChecksum: true, BadIPChecksum: true,
				IP:  IPFields{TTL: 1, HasTTL: true, ID: 7, HasID: true, Options: []byte{1, 1, 1, 0}, Fragment: true, FragmentOffset: 16, MoreFragments: true},
				TCP: &TCP{Flags: PSH | ACK, Seq: 1, End: 9, Len: 8, Ack: 1, HasAck: true, Win: 100, HasWin: true}}}},
		{"icmp bad checksum", "+0 < icmp echo_request bad_checksum", Event{Line: 1, Col: 1, Time: rel0, Kind: EventPacket,
			Packet: &Packet{Direction: Inbound, Proto: ProtoICMP, BadChecksum: true, ICMP: &ICMP{TypeName: "echo_request", Type: 8}}}},
		{"shell timed", "+0 `sysctl -w net.inet.tcp.sack.enable=1`", Event{Line: 1, Col: 1, Time: rel0, Kind: EventShell, Command: "sysctl -w net.inet.tcp.sack.enable=1"}},
		{"shell untimed", "`../common/defaults.sh`", Event{Line: 1, Col: 1, Kind: EventShell, Command: "../common/defaults.sh"}},
		{"code", "0 %{ print(tcpi_rto) }%", Event{Line: 1, Col: 1, Time: Time{Kind: TimeAbsolute}, Kind: EventCode, Code: "print(tcpi_rto)"}},
		{"indented event", "  \t+1 > nothing", Event{Line: 1, Col: 4, Time: Time{Kind: TimeRelative, Start: time.Second}, Kind: EventNothing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.src)
			if len(s.Events) != 1 {
				t.Fatalf("got %d events, want 1", len(s.Events))
			}
			if got := s.Events[0]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", describe(got), describe(tt.want))
			}
		})
	}
}

// describe dereferences an event's pointers for readable failure output.
func describe(e Event) string {
	var b strings.Builder
	if e.Packet != nil {
		p := *e.Packet
		b.WriteString("packet ")
		b.WriteString(strings.Join([]string{p.Direction.String(), p.Proto.String()}, " "))
		if p.TCP != nil {
			b.WriteString(" tcp=" + sprint(*p.TCP))
		}
		if p.ICMP != nil {
			b.WriteString(" icmp=" + sprint(*p.ICMP))
			if p.ICMP.Echoed != nil {
				b.WriteString(" echoed=" + sprint(*p.ICMP.Echoed))
			}
		}
		if p.ARP != nil {
			b.WriteString(" arp=" + sprint(*p.ARP))
		}
		b.WriteString(" rest=" + sprint(p.IP) + sprint(p.Raw) + sprint([]bool{p.Ports, p.BadChecksum, p.BadIPChecksum}))
	}
	if e.Syscall != nil {
		b.WriteString(" syscall=" + sprint(*e.Syscall))
	}
	e.Packet, e.Syscall = nil, nil
	return sprint(e) + " " + b.String()
}

func TestParseSyscalls(t *testing.T) {
	tests := []struct {
		src  string
		want string // Syscall rendered by render
	}{
		{"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3", "socket(..., SOCK_STREAM, IPPROTO_TCP) = 3"},
		{"+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0", "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0"},
		{"+0 setsockopt(3, SOL_SOCKET, SO_RCVBUF, [65536], 4) = 0", "setsockopt(3, SOL_SOCKET, SO_RCVBUF, [65536], 4) = 0"},
		{"+0 getsockopt(3, SOL_SOCKET, SO_RCVBUF, [65536], [4]) = 0", "getsockopt(3, SOL_SOCKET, SO_RCVBUF, [65536], [4]) = 0"},
		{"+0 bind(3, ..., ...) = 0", "bind(3, ..., ...) = 0"},
		{"+0 listen(3, 1) = 0", "listen(3, 1) = 0"},
		{"+0 accept(3, ..., ...) = 4", "accept(3, ..., ...) = 4"},
		{"+0 connect(4, ..., ...) = -1 EINPROGRESS (Operation now in progress)", "connect(4, ..., ...) = -1 EINPROGRESS (Operation now in progress)"},
		{"+0 write(4, ..., 1000) = 1000", "write(4, ..., 1000) = 1000"},
		{"+0 read(4, ..., 1000) = 1000", "read(4, ..., 1000) = 1000"},
		{"+0 send(4, ..., 10, 0) = 10", "send(4, ..., 10, 0) = 10"},
		{"+0 recv(4, ..., 10, MSG_PEEK) = -1 EAGAIN (Resource temporarily unavailable)", "recv(4, ..., 10, MSG_PEEK) = -1 EAGAIN (Resource temporarily unavailable)"},
		{"+0 shutdown(4, SHUT_WR) = 0", "shutdown(4, SHUT_WR) = 0"},
		{"+0 close(4) = 0", "close(4) = 0"},
		{"+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0", "fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0"},
		{"+0 fcntl(3, F_GETFL) = 0x802 (flags O_RDWR|O_NONBLOCK)", "fcntl(3, F_GETFL) = 0x802 (flags O_RDWR|O_NONBLOCK)"},
		{"+0 fcntl(3, F_GETFL) = O_RDWR | O_NONBLOCK", "fcntl(3, F_GETFL) = O_RDWR|O_NONBLOCK"},
		{"+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0", "getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0"},
		{"+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0", "setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0"},
		{`+0 connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("192.0.2.1")}, 16) = 0`, `connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("192.0.2.1")}, 16) = 0`},
		{`+0 write(4, "abc" "def", 6) = 6`, `write(4, "abcdef", 6) = 6`},
		{`+0 getsockopt(3, SOL_TCP, TCP_CONGESTION, "cubic"..., [16]) = 0`, `getsockopt(3, SOL_TCP, TCP_CONGESTION, "cubic"..., [16]) = 0`},
		{"+0 getpid() = 42", "getpid() = 42"},
		{"+0 frobnicate(3, []) = 0", "frobnicate(3, []) = 0"},
		{"0 ...0.5 accept(3, ..., ...) = 4", "...500ms accept(3, ..., ...) = 4"},
		{"+0 close(9) = -1 EBADF", "close(9) = -1 EBADF"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			s := mustParse(t, tt.src)
			if len(s.Events) != 1 || s.Events[0].Kind != EventSyscall {
				t.Fatalf("got %+v, want one syscall", s.Events)
			}
			if got := render(s.Events[0].Syscall); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestParseSyscallAST(t *testing.T) {
	s := mustParse(t, "+0 connect(4, ..., ...) = -1 EINPROGRESS (Operation now in progress)")
	sc := s.Events[0].Syscall
	want := &Syscall{Name: "connect", Args: []Expr{
		{Kind: ExprInt, Int: 4, Text: "4", Line: 1, Col: 12},
		{Kind: ExprEllipsis, Text: "...", Line: 1, Col: 15},
		{Kind: ExprEllipsis, Text: "...", Line: 1, Col: 20},
	}, Result: Expr{Kind: ExprInt, Int: -1, Text: "-1", Line: 1, Col: 27}, Errno: "EINPROGRESS", Note: "Operation now in progress"}
	if !reflect.DeepEqual(sc, want) {
		t.Errorf("got  %s\nwant %s", sprint(*sc), sprint(*want))
	}
}

func TestOptions(t *testing.T) {
	s := mustParse(t, "--ip_version=ipv4\n--tolerance_usecs=10000\n--remote_ip=\"192.0.2.1\"\n--verbose\n0 close(3) = 0\n")
	if s.Tolerance != 10*time.Millisecond || s.IPVersion != "ipv4" {
		t.Errorf("tolerance %v, ip version %q", s.Tolerance, s.IPVersion)
	}
	want := []Option{
		{Name: "ip_version", Value: "ipv4", HasValue: true, Line: 1, Col: 1},
		{Name: "tolerance_usecs", Value: "10000", HasValue: true, Line: 2, Col: 1},
		{Name: "remote_ip", Value: "192.0.2.1", HasValue: true, Line: 3, Col: 1},
		{Name: "verbose", Line: 4, Col: 1},
	}
	if !reflect.DeepEqual(s.Options, want) {
		t.Errorf("options %+v", s.Options)
	}
	if len(s.Warnings) != 2 || s.Warnings[0].Line != 3 || s.Warnings[1].Line != 4 ||
		!strings.Contains(s.Warnings[0].Error(), "test.pkt:3:1: unknown option --remote_ip ignored") {
		t.Errorf("warnings %v", s.Warnings)
	}
	if d := mustParse(t, "0 close(3) = 0"); d.Tolerance != 4*time.Millisecond || d.IPVersion != "ipv4" {
		t.Errorf("defaults: %v %q", d.Tolerance, d.IPVersion)
	}
}

func TestCommentsAndPositions(t *testing.T) {
	src := "// header\n/* block\n   comment */ 0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3 // trailing\n\n\n+0.1\tclose(3) = 0\n"
	s := mustParse(t, src)
	if len(s.Events) != 2 {
		t.Fatalf("%d events", len(s.Events))
	}
	if e := s.Events[0]; e.Line != 3 || e.Col != 15 {
		t.Errorf("first event at %d:%d, want 3:15", e.Line, e.Col)
	}
	if e := s.Events[1]; e.Line != 6 || e.Col != 1 {
		t.Errorf("second event at %d:%d, want 6:1", e.Line, e.Col)
	}
	if got := s.SourceLine(6); got != "+0.1\tclose(3) = 0" {
		t.Errorf("SourceLine(6) = %q", got)
	}
}

func TestPreprocessor(t *testing.T) {
	src := `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
#ifdef STANDARD
+0 close(3) = 0
#ifndef RFC
+0 close(4) = 0
#else
+0 close(5) = 0
#endif
#else
+0 close(6) = 0
#ifdef RFC
+0 close(7) = 0
#endif
#endif
`
	tests := []struct {
		defines map[string]bool
		want    []int64
	}{
		{nil, []int64{3, 4}},
		{DefaultDefines(), []int64{3, 4}},
		{map[string]bool{"STANDARD": true, "RFC": true}, []int64{3, 5}},
		{map[string]bool{}, []int64{6}},
		{map[string]bool{"RFC": true}, []int64{6, 7}},
	}
	for _, tt := range tests {
		s, err := Parse("pp.pkt", []byte(src), tt.defines)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, e := range s.Events[1:] {
			got = append(got, e.Syscall.Args[0].Int)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("defines %v: closes %v, want %v", tt.defines, got, tt.want)
		}
		if last := s.Events[len(s.Events)-1]; s.SourceLine(last.Line) == "" {
			t.Errorf("line numbers not preserved")
		}
	}
	s, _ := Parse("pp.pkt", []byte(src), map[string]bool{"RFC": true})
	if e := s.Events[2]; e.Line != 12 {
		t.Errorf("close(7) at line %d, want 12", e.Line)
	}
}

func TestFlagsString(t *testing.T) {
	for f, want := range map[TCPFlags]string{0: "-", SYN: "S", SYN | ACK: "S.", FIN | ACK: "F.", PSH | ACK: "P.", RST: "R", ECE | CWR | SYN: "SEW"} {
		if got := f.String(); got != want {
			t.Errorf("%#x: %q, want %q", uint8(f), got, want)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	_, err := Parse("x.pkt", []byte("0 close(3) = 0\n+0\t> Q 0:0(0)\n"), nil)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v", err, err)
	}
	want := "x.pkt:2:6: unknown TCP flag 'Q' in \"Q\" (flags are F S R P . U E W, or - for none)\n\t+0\t> Q 0:0(0)\n\t  \t  ^"
	if err.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", err, want)
	}
}

// TestRefusedBeforeRunning: a script with nothing to run, and one whose absolute time comes
// before what the lines above it add up to, are errors at their place, not a pass or a failure
// at run time; time that only moves forward, and '*', are accepted (the positive control).
func TestRefusedBeforeRunning(t *testing.T) {
	for _, c := range []struct {
		name, src string
		line, col int
		msg       string
	}{
		{"empty", "", 1, 1, "empty script: no event to run"},
		{"comments only", "// nothing\n/* here */\n", 1, 1, "empty script: no event to run"},
		{"absolute before absolute", "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n1.0 close(3) = 0\n0.5 close(3) = -1 EBADF (Bad file descriptor)\n", 3, 1,
			"time goes backward: 0.500000 s is before 1.000000 s, the earliest line 2 can run at"},
		{"absolute before a sum", "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+1 close(3) = 0\n  +1 close(3) = -1 EBADF (Bad file descriptor)\n  1.5 close(3) = -1 EBADF (Bad file descriptor)\n", 4, 3,
			"time goes backward: 1.500000 s is before 2.000000 s, the earliest line 3 can run at"},
	} {
		_, err := Parse("x.pkt", []byte(c.src), nil)
		var e *Error
		if !errors.As(err, &e) || e.Line != c.line || e.Col != c.col || e.Msg != c.msg || e.Feature != "" {
			t.Errorf("%s: got %v, want x.pkt:%d:%d: %s", c.name, err, c.line, c.col, c.msg)
		}
	}
	for _, src := range []string{
		"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+1 close(3) = 0\n1.0 close(3) = -1 EBADF (Bad file descriptor)\n",
		"0 < S 0:0(0) win 100\n* > S. 0:0(0) ack 1 win 100\n0 < . 1:1(0) ack 1 win 100\n",
	} {
		if _, err := Parse("x.pkt", []byte(src), nil); err != nil {
			t.Errorf("refused a script whose time does not go backward: %v\n%s", err, src)
		}
	}
}
