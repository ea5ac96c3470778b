package script

import (
	"net"
	"net/netip"
	"strings"
	"time"
)

// Script is a parsed scenario: its option lines and its events in source order.
type Script struct {
	// File is the name given to Parse, used in error and failure messages.
	File string
	// Options are the option lines (--name=value) in source order, known or not.
	Options []Option
	// Tolerance is --tolerance_usecs, or packetdrill's default of 4 ms.
	Tolerance time.Duration
	// IPVersion is --ip_version; "ipv4" (the only one supported) by default.
	IPVersion string
	// TSTick is --tcp_ts_tick_usecs: how long one tick of the stack's TSval clock lasts. When
	// set, the TS val of the stack's segments is checked against the script's within the
	// tolerance, as packetdrill does; 0 (packetdrill's default) leaves it unchecked.
	TSTick time.Duration
	// Events are the timed lines of the script, in source order.
	Events []Event
	// Warnings are problems that do not stop the script, such as unknown options.
	Warnings []*Error

	lines []string
}

// SourceLine returns line n (1-based) of the script as written, or "" if out of range.
func (s *Script) SourceLine(n int) string {
	if n < 1 || n > len(s.lines) {
		return ""
	}
	return s.lines[n-1]
}

// Option is one option line, --Name=Value or --Name.
type Option struct {
	Name      string
	Value     string
	HasValue  bool
	Line, Col int
}

// TimeKind says how an event's time is to be read.
type TimeKind uint8

// Time kinds.
const (
	// TimeNone: an untimed shell or code line (packetdrill's init and cleanup commands).
	TimeNone TimeKind = iota
	// TimeAbsolute: seconds since the script started ("1.5", or "1~2" with Range).
	TimeAbsolute
	// TimeRelative: seconds since the previous event ("+0.1", or "+0.1~+0.3" with Range).
	TimeRelative
	// TimeAny: "*", any time; outbound packets only.
	TimeAny
)

func (k TimeKind) String() string {
	switch k {
	case TimeNone:
		return "none"
	case TimeAbsolute:
		return "absolute"
	case TimeRelative:
		return "relative"
	case TimeAny:
		return "any"
	}
	return "TimeKind(?)"
}

// Time is the time spec at the start of an event line.
type Time struct {
	Kind TimeKind
	// Start is the time; for a range, its lower end.
	Start time.Duration
	// End is the upper end of a range; meaningful only when Range is set.
	End time.Duration
	// Range is set for "T~T" and "+T~+T"; outbound packets only.
	Range bool
}

// EventKind says which of an Event's fields is set.
type EventKind uint8

// Event kinds.
const (
	// EventPacket: a packet line (Event.Packet).
	EventPacket EventKind = iota + 1
	// EventSyscall: a system call line (Event.Syscall).
	EventSyscall
	// EventShell: a backquoted shell command (Event.Command); never run.
	EventShell
	// EventCode: a %{ python }% snippet (Event.Code); never run.
	EventCode
	// EventNothing: "> nothing", the mtcp extension asserting that the stack sends
	// nothing between the previous event and this event's time.
	EventNothing
)

func (k EventKind) String() string {
	switch k {
	case EventPacket:
		return "packet"
	case EventSyscall:
		return "syscall"
	case EventShell:
		return "shell"
	case EventCode:
		return "code"
	case EventNothing:
		return "nothing"
	}
	return "EventKind(?)"
}

// Event is one timed line of a script.
type Event struct {
	// Line and Col locate the event's first token (its time, if it has one); Col counts bytes from 1.
	Line, Col int
	Time      Time
	Kind      EventKind
	Packet    *Packet
	Syscall   *Syscall
	// Command is the text between the backquotes of a shell line.
	Command string
	// Code is the Python text between %{ and }% of a code line, spaces and tabs
	// trimmed at both ends as packetdrill does (newlines and the indentation of
	// later lines are kept): what packetdrill hands to python3.
	Code string
}

// Direction is the side a packet travels: into the stack or out of it.
type Direction uint8

// Directions.
const (
	// Inbound ("<"): the script injects the packet into the stack.
	Inbound Direction = iota + 1
	// Outbound (">"): the script expects the stack to send the packet.
	Outbound
)

func (d Direction) String() string {
	switch d {
	case Inbound:
		return "<"
	case Outbound:
		return ">"
	}
	return "?"
}

// Proto says which of a Packet's protocol fields is set.
type Proto uint8

// Packet protocols.
const (
	ProtoTCP Proto = iota + 1
	ProtoICMP
	// ProtoARP is an mtcp extension: "arp request ..." and "arp reply ...".
	ProtoARP
	// ProtoRaw is an mtcp extension: "< raw 0x...", a whole Ethernet frame.
	ProtoRaw
)

func (p Proto) String() string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoICMP:
		return "icmp"
	case ProtoARP:
		return "arp"
	case ProtoRaw:
		return "raw"
	}
	return "Proto(?)"
}

// Packet is a packet line.
type Packet struct {
	Direction Direction
	Proto     Proto
	// IP holds the IP-level fields the line sets; the zero value sets none.
	IP IPFields
	// Ports is set when the line names ports ("< 1234>8080 S ..."); otherwise the
	// runner uses the script's defaults.
	Ports            bool
	SrcPort, DstPort uint16
	TCP              *TCP
	ICMP             *ICMP
	ARP              *ARP
	// Raw is the frame of a raw line, starting with the Ethernet header.
	Raw []byte
	// BadChecksum (extension) asks for a wrong TCP or ICMP checksum; inbound only.
	BadChecksum bool
	// BadIPChecksum (extension) asks for a wrong IPv4 header checksum; inbound only.
	BadIPChecksum bool
}

// ECN is the ECN field of the IP header as a packet line states it.
type ECN uint8

// ECN values; ECNUnspecified leaves it to the runner.
const (
	ECNUnspecified ECN = iota
	NoECN              // [noecn]
	ECT0               // [ect0]
	ECT1               // [ect1]
	CE                 // [ce]
	ECT01              // [ect01]: either ECT(0) or ECT(1); outbound only
)

// IPFields are the IP-level fields of a packet line. packetdrill's own
// "[tos 0x..]", "[ect0]" and "(ttl N)" prefixes fill them, as do mtcp's trailing
// extension attributes (ttl, ip_id, ip_options, fragment).
type IPFields struct {
	ECN    ECN
	TOS    uint8
	HasTOS bool
	TTL    uint8
	HasTTL bool
	ID     uint16
	HasID  bool
	// Options are the raw IPv4 option bytes, a multiple of 4, at most 40.
	Options []byte
	// Fragment is set by "fragment offset N [more]": Offset is in bytes (a
	// multiple of 8) and More is the MF bit.
	Fragment       bool
	FragmentOffset uint16
	MoreFragments  bool
}

// TCPFlags are TCP control bits, in the wire's bit order.
type TCPFlags uint8

// TCP control bits and their letters in packetdrill's notation.
const (
	FIN TCPFlags = 1 << iota // F
	SYN                      // S
	RST                      // R
	PSH                      // P
	ACK                      // .
	URG                      // U
	ECE                      // E
	CWR                      // W
)

// String returns the flags in packetdrill's notation ("S.", "F.", "-" for none).
func (f TCPFlags) String() string {
	if f == 0 {
		return "-"
	}
	var b strings.Builder
	for _, fl := range flagLetters {
		if f&fl.flag != 0 {
			b.WriteByte(fl.letter)
		}
	}
	return b.String()
}

var flagLetters = []struct {
	letter byte
	flag   TCPFlags
}{{'F', FIN}, {'S', SYN}, {'R', RST}, {'P', PSH}, {'.', ACK}, {'U', URG}, {'E', ECE}, {'W', CWR}}

// TCP is the TCP part of a packet line.
type TCP struct {
	Flags TCPFlags
	// Seq, End and Len are "Seq:End(Len)"; End = Seq+Len. As in packetdrill they
	// are relative to the initial sequence numbers except on SYN segments.
	Seq, End uint32
	Len      int
	// AbsoluteSeq is the FreeBSD fork's "Seq:End(Len)!": Seq and End are the
	// numbers on the wire, not relative to the initial sequence number.
	AbsoluteSeq bool
	// AnySeq is the FreeBSD fork's "...(Len)" in place of "Seq:End(Len)": the
	// sequence number is not checked (Seq and End are 0); outbound only.
	AnySeq bool
	Ack    uint32
	HasAck bool
	Win    uint16
	HasWin bool
	Urg    uint16
	HasUrg bool
	// Options are the options in order; nil with AnyOptions false means "no options".
	Options []TCPOption
	// AnyOptions is "<...>": the options are not checked; outbound only.
	AnyOptions bool
}

// TCPOptionKind is the kind byte of a TCP option (RFC 9293 3.1).
type TCPOptionKind uint8

// TCP option kinds the language can write.
const (
	OptEOL       TCPOptionKind = 0 // eol
	OptNOP       TCPOptionKind = 1 // nop
	OptMSS       TCPOptionKind = 2 // mss N
	OptWScale    TCPOptionKind = 3 // wscale N
	OptSACKOK    TCPOptionKind = 4 // sackOK
	OptSACK      TCPOptionKind = 5 // sack L:R ...
	OptTimestamp TCPOptionKind = 8 // TS val N ecr N
)

// TCPOption is one TCP option of a packet line; only the fields of its Kind are set.
type TCPOption struct {
	Kind   TCPOptionKind
	MSS    uint16
	WScale uint8
	SACK   []SACKBlock
	TSVal  uint32
	TSEcr  uint32
	// AnyTSVal is the FreeBSD fork's "TS val ... ecr N": TSVal is not checked.
	AnyTSVal bool
	// AbsoluteTSEcr is the FreeBSD fork's "ecr N!": TSEcr is the value on the
	// wire, not one of the script's TS values to map.
	AbsoluteTSEcr bool

	raw     []byte // data of an option of another kind, seen on the wire
	unknown bool
}

// SACKBlock is one "L:R" block of a sack option.
type SACKBlock struct{ Left, Right uint32 }

// ICMP is an ICMP packet line: "icmp TYPE [CODE] [mtu N] [id N] [ECHOED]".
type ICMP struct {
	// TypeName and CodeName are as written ("unreachable", "port_unreachable", "type_3").
	TypeName, CodeName string
	Type, Code         uint8
	MTU                uint16
	HasMTU             bool
	ID                 uint16
	// Echoed describes the quoted packet inside the message; nil if not written.
	Echoed *ICMPEchoed
}

// ICMPEchoed is the "[...]" part of an ICMP line: the packet the message quotes.
type ICMPEchoed struct {
	// Proto is "tcp" for "[seq:end(len)]", "udp" for "[udp (N)]", "raw" for "[raw (N)]".
	Proto    string
	Seq, End uint32
	Len      int
	// AbsoluteSeq and AnySeq are as in TCP: "[seq:end(len)!]" and "[...(len)]".
	AbsoluteSeq, AnySeq bool
}

// ARPOp is the operation of an ARP line.
type ARPOp uint8

// ARP operations.
const (
	ARPRequest ARPOp = 1
	ARPReply   ARPOp = 2
)

// ARP is an ARP packet line (extension):
//
//	arp request who-has TARGET tell SENDER
//	arp reply SENDER is-at MAC|*
type ARP struct {
	Op ARPOp
	// SenderIP is "tell X" of a request and the address of a reply.
	SenderIP netip.Addr
	// TargetIP is "who-has X" of a request.
	TargetIP netip.Addr
	// MAC is "is-at MAC" of a reply; AnyMAC is "is-at *" (outbound only).
	MAC    net.HardwareAddr
	AnyMAC bool
}

// Syscall is a system call line: NAME(ARGS) = RESULT [ERRNO] [(NOTE)].
type Syscall struct {
	Name string
	Args []Expr
	// Result is the expected return value.
	Result Expr
	// Errno is the expected errno name ("EINPROGRESS"), "" if none.
	Errno string
	// Note is the parenthesised text after the result, e.g. "Operation now in progress".
	Note string
	// EndTime is packetdrill's "...T" before the name: the call blocks until T.
	EndTime    time.Duration
	HasEndTime bool
}

// ExprKind says what an Expr is.
type ExprKind uint8

// Expression kinds.
//
// Every form of packetdrill's expression grammar, and of its FreeBSD fork's,
// is one of these:
//
//	...                                   ExprEllipsis
//	42, -1, 0x02                          ExprInt
//	SOCK_STREAM, NULL                     ExprWord
//	"abc", "a" "b", "abc"...              ExprString
//	[], [1], [{fd=3, events=POLLIN}]      ExprArray
//	{}, {onoff=1, linger=0}, {..., 10}    ExprStruct: sockaddr, linger, iovec, pollfd,
//	                                      epoll_event, msghdr, cmsg, sock_extended_err,
//	                                      scm_timestamping, the fork's structs
//	POLLIN|POLLOUT                        ExprOr
//	fd=3, msg_flags=0                     ExprAssign (Len nil)
//	msg_iov(1)=[...], msg_name(...)=...   ExprAssign with Len: the length annotation
//	htons(8080), inet_addr("192.0.2.1")   ExprCall; also htonl, inet6_addr, any NAME(
//
// A binding is always an ExprAssign whatever its name (sa_family=, cmsg_data=,
// ee_errno=, iov_base=, revents=, scm_sec=...): Text is the name and Elems[0]
// the value.
const (
	ExprEllipsis ExprKind = iota + 1 // ...
	ExprInt                          // 42, -1, 0x02 (Int; Text as written)
	ExprWord                         // SOCK_STREAM (Text)
	ExprString                       // "abc" (Text without quotes; AnySuffix for "abc"...)
	ExprArray                        // [a, b] (Elems)
	ExprStruct                       // {a, b} (Elems)
	ExprOr                           // a|b|c (Elems)
	ExprAssign                       // name=value, name(LEN)=value (Text, Elems[0], Len)
	ExprCall                         // htons(8080), inet_addr("192.0.2.1") (Text, Elems)
)

// Expr is an argument or result of a system call.
type Expr struct {
	Kind      ExprKind
	Int       int64
	Text      string
	AnySuffix bool
	Elems     []Expr
	// Len is the length annotation of an ExprAssign written name(LEN)=value,
	// as in {msg_name(...)=..., msg_iov(1)=[...], msg_control(48)=[...]}: the
	// expression between the parentheses (an ExprInt or an ExprEllipsis). It is
	// nil for name=value and for every other kind.
	Len       *Expr
	Line, Col int
}
