package wire

import "encoding/binary"

// ICMPv4HeaderLen is the length of the fixed ICMP header: type, code, checksum and the
// four-byte rest of header.
const ICMPv4HeaderLen = 8

// ICMPv4 types (RFC 792).
const (
	ICMPv4EchoReply      uint8 = 0
	ICMPv4DestUnreach    uint8 = 3
	ICMPv4Echo           uint8 = 8
	ICMPv4TimeExceeded   uint8 = 11
	ICMPv4ParamProblem   uint8 = 12
	ICMPv4TimestampReply uint8 = 14
)

// ICMPv4 destination-unreachable codes (RFC 792, RFC 1122 3.2.2.1).
const (
	ICMPv4NetUnreachable      uint8 = 0
	ICMPv4HostUnreachable     uint8 = 1
	ICMPv4ProtocolUnreachable uint8 = 2
	ICMPv4PortUnreachable     uint8 = 3
	ICMPv4FragmentationNeeded uint8 = 4
)

// ICMPv4 time-exceeded codes (RFC 792).
const (
	ICMPv4TTLExceeded        uint8 = 0
	ICMPv4ReassemblyExceeded uint8 = 1
)

// ICMPv4 is a view of an ICMPv4 message, made by ParseICMPv4.
type ICMPv4 []byte

// ParseICMPv4 checks that b holds the fixed ICMP header. The checksum is not checked here: see
// ChecksumValid.
func ParseICMPv4(b []byte) (ICMPv4, error) {
	if len(b) < ICMPv4HeaderLen {
		return nil, errShort("icmpv4", FieldHeader, len(b), ICMPv4HeaderLen)
	}
	return ICMPv4(b), nil
}

// Type returns the message type.
func (m ICMPv4) Type() uint8 { return m[0] }

// Code returns the message code.
func (m ICMPv4) Code() uint8 { return m[1] }

// Checksum returns the checksum field.
func (m ICMPv4) Checksum() uint16 { return binary.BigEndian.Uint16(m[2:]) }

// Ident returns the identifier of an echo or echo reply.
func (m ICMPv4) Ident() uint16 { return binary.BigEndian.Uint16(m[4:]) }

// Seq returns the sequence number of an echo or echo reply.
func (m ICMPv4) Seq() uint16 { return binary.BigEndian.Uint16(m[6:]) }

// Pointer returns the octet a parameter problem points at.
func (m ICMPv4) Pointer() uint8 { return m[4] }

// NextHopMTU returns the MTU a fragmentation-needed message announces (RFC 1191).
func (m ICMPv4) NextHopMTU() uint16 { return binary.BigEndian.Uint16(m[6:]) }

// RestOfHeader returns bytes 4 to 7 as one word.
func (m ICMPv4) RestOfHeader() uint32 { return binary.BigEndian.Uint32(m[4:]) }

// Payload returns what follows the fixed header: echo data, or for an error message the
// quoted datagram (its IP header and at least 8 bytes of its data).
func (m ICMPv4) Payload() []byte { return m[ICMPv4HeaderLen:] }

// IsError reports whether the type is an error message (destination unreachable, source
// quench, redirect, time exceeded, parameter problem), which must never trigger another
// ICMP error (RFC 1122 3.2.2).
func (m ICMPv4) IsError() bool { return IsICMPv4Error(m.Type()) }

// IsICMPv4Error reports whether an ICMP type is an error message.
func IsICMPv4Error(typ uint8) bool {
	switch typ {
	case ICMPv4DestUnreach, 4 /* source quench */, 5 /* redirect */, ICMPv4TimeExceeded, ICMPv4ParamProblem:
		return true
	}
	return false
}

// ChecksumValid reports whether the checksum over the whole message is correct.
func (m ICMPv4) ChecksumValid() bool { return Checksum(m) == 0 }

// ICMPv4Fields are the values of an ICMP header.
type ICMPv4Fields struct {
	Type         uint8
	Code         uint8
	RestOfHeader uint32 // echo: ident<<16 | seq; parameter problem: pointer<<24; frag needed: MTU
}

// EchoFields returns the fields of an echo (typ ICMPv4Echo) or echo reply.
func EchoFields(typ uint8, ident, seq uint16) ICMPv4Fields {
	return ICMPv4Fields{Type: typ, RestOfHeader: uint32(ident)<<16 | uint32(seq)}
}

// Encode writes the header into b[:8] and the checksum over all of b, so the payload must
// already be in b[8:] and b must end where the message ends.
func (f *ICMPv4Fields) Encode(b []byte) {
	_ = b[ICMPv4HeaderLen-1]
	b[0], b[1], b[2], b[3] = f.Type, f.Code, 0, 0
	binary.BigEndian.PutUint32(b[4:], f.RestOfHeader)
	binary.BigEndian.PutUint16(b[2:], Checksum(b))
}

// Fields returns the header's values.
func (m ICMPv4) Fields() ICMPv4Fields {
	return ICMPv4Fields{Type: m.Type(), Code: m.Code(), RestOfHeader: m.RestOfHeader()}
}
