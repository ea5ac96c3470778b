// Package icmp holds the ICMPv4 rules of the core (RFC 792, RFC 1122 3.2.2): when an error may
// be sent, how an error and an echo reply are built, and how a received error is read so the
// core can hand it to the transport that owns the quoted datagram.
//
// Policy: echo requests to a broadcast address are ignored (RFC 1122 3.2.2.6 allows it, and
// it keeps the stack out of smurf amplification), as Linux does by default. ICMP errors are
// not rate-limited yet (RFC 1122 3.2.2 says MAY).
package icmp

import (
	"encoding/binary"
	"net/netip"

	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/wire"
)

// MaxQuote is how many bytes of the offending datagram an error quotes at most: enough that the
// whole error fits in 576 bytes (RFC 1812 4.3.2.3; RFC 1122 3.2.2 asks for header + 8 bytes).
const MaxQuote = 576 - wire.IPv4MinHeaderLen - wire.ICMPv4HeaderLen

// Stats counts ICMP messages.
type Stats struct {
	EchoRequestsIn  uint64 // echo requests answered
	EchoRepliesOut  uint64 // echo replies sent
	EchoRepliesIn   uint64 // echo replies received (nothing asked for them; counted only)
	ErrorsIn        uint64 // error messages received and handed to a transport
	ErrorsOut       uint64 // error messages sent
	Malformed       uint64 // dropped: shorter than the ICMP header, or an error quoting less than an IP header + 8 bytes
	BadChecksum     uint64 // dropped: checksum wrong (RFC 1122 3.2.2)
	UnknownType     uint64 // dropped: type not handled (RFC 1122 3.2.2: silently discarded)
	BroadcastEcho   uint64 // echo requests to a broadcast address, ignored (our policy)
	ErrorSuppressed uint64 // errors not sent because RFC 1122 3.2.2 forbids them
	Unowned         uint64 // errors quoting a datagram no transport owns
}

// MayReportError reports whether an ICMP error may be sent about datagram p (RFC 1122 3.2.2):
// never about an ICMP error message, a datagram sent to a broadcast or multicast address (IP
// or link layer), a non-first fragment, or a datagram whose source does not name one host.
func MayReportError(p wire.IPv4, linkBroadcast bool, ifc ipv4.Interface) bool {
	dst := p.Destination()
	if linkBroadcast || ifc.IsBroadcast(dst) || dst.IsMulticast() {
		return false
	}
	if p.FragmentOffset() != 0 {
		return false
	}
	if !ifc.IsValidSource(p.Source()) {
		return false
	}
	if p.Protocol() == wire.ProtocolICMP {
		m, err := wire.ParseICMPv4(p.Payload())
		if err != nil || m.IsError() {
			return false // an unreadable ICMP message may have been an error: stay quiet
		}
	}
	return true
}

// EncodeError writes into b an ICMP error of type typ and code quoting the offending datagram
// (its header and as much data as fits in MaxQuote), and returns the message length. rest is
// the second word of the header (pointer, next-hop MTU; usually 0). b must hold
// ICMPv4HeaderLen+MaxQuote bytes.
func EncodeError(b []byte, typ, code uint8, rest uint32, offending []byte) int {
	n := wire.ICMPv4HeaderLen + copy(b[wire.ICMPv4HeaderLen:], offending[:min(len(offending), MaxQuote)])
	f := wire.ICMPv4Fields{Type: typ, Code: code, RestOfHeader: rest}
	f.Encode(b[:n])
	return n
}

// EncodeEchoReply writes into b the reply to echo request req: same identifier, sequence number
// and data (RFC 792), and returns its length. b must be at least len(req) bytes.
func EncodeEchoReply(b []byte, req wire.ICMPv4) int {
	n := wire.ICMPv4HeaderLen + copy(b[wire.ICMPv4HeaderLen:], req.Payload())
	f := wire.EchoFields(wire.ICMPv4EchoReply, req.Ident(), req.Seq())
	f.Encode(b[:n])
	return n
}

// Error is an ICMP error message as a transport sees it: what happened, and which of its
// datagrams it is about.
type Error struct {
	Type, Code uint8
	// RestOfHeader is the second header word: the pointer of a parameter problem, the next-hop
	// MTU of fragmentation needed.
	RestOfHeader uint32
	// Src, Dst and Protocol come from the quoted IP header: Src is the stack's address.
	Src, Dst netip.Addr
	Protocol wire.IPProtocol
	// TotalLength is the quoted datagram's total length, as its header says: how large the
	// datagram was that a router found too big (RFC 1191).
	TotalLength int
	// Transport holds the quoted transport header: at least 8 bytes (ports and, for TCP, the
	// sequence number).
	Transport []byte
	// Local is true when no ICMP message arrived: the stack itself gave up (ARP resolution
	// failed), as a host-unreachable error.
	Local bool
}

// ParseError reads the datagram quoted by error message m. It fails when the quote is shorter
// than an IP header and 8 bytes, as RFC 1122 3.2.2 requires of every error.
func ParseError(m wire.ICMPv4) (Error, bool) {
	q := m.Payload()
	if len(q) < wire.IPv4MinHeaderLen || q[0]>>4 != 4 {
		return Error{}, false
	}
	hl := int(q[0]&0x0f) * 4
	if hl < wire.IPv4MinHeaderLen || len(q) < hl+8 {
		return Error{}, false
	}
	return Error{
		Type: m.Type(), Code: m.Code(), RestOfHeader: m.RestOfHeader(),
		Src:         netip.AddrFrom4([4]byte(q[12:16])),
		Dst:         netip.AddrFrom4([4]byte(q[16:20])),
		Protocol:    wire.IPProtocol(q[9]),
		TotalLength: int(binary.BigEndian.Uint16(q[2:])),
		Transport:   q[hl:],
	}, true
}
