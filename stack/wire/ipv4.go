package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// IPv4 header constants.
const (
	IPv4MinHeaderLen = 20
	IPv4MaxHeaderLen = 60
)

// IPProtocol is the protocol field of an IPv4 header.
type IPProtocol uint8

// Protocol numbers mtcp knows by name.
const (
	ProtocolICMP IPProtocol = 1
	ProtocolTCP  IPProtocol = 6
	ProtocolUDP  IPProtocol = 17
)

func (p IPProtocol) String() string {
	switch p {
	case ProtocolICMP:
		return "ICMP"
	case ProtocolTCP:
		return "TCP"
	case ProtocolUDP:
		return "UDP"
	}
	return fmt.Sprintf("%d", uint8(p))
}

// IPv4 flag bits, as they appear in the top three bits of the flags/fragment-offset word.
const (
	IPv4DontFragment  uint8 = 0b010
	IPv4MoreFragments uint8 = 0b001
)

// ECN is the ECN field of an IPv4 header: the two low bits of the TOS byte (RFC 3168 5).
type ECN uint8

// The four ECN codepoints (RFC 3168 5).
const (
	NotECT ECN = 0b00 // the sender does not speak ECN
	ECT1   ECN = 0b01 // ECN-capable transport (1)
	ECT0   ECN = 0b10 // ECN-capable transport (0), what TCP sends
	CE     ECN = 0b11 // congestion experienced, set by a router
)

func (e ECN) String() string {
	return [...]string{"Not-ECT", "ECT(1)", "ECT(0)", "CE"}[e&3]
}

// IPv4 is a view of an IPv4 datagram (RFC 791 3.1), made by ParseIPv4: the header with its
// options and exactly TotalLength bytes, any link padding cut off.
type IPv4 []byte

// ParseIPv4 checks version, IHL and total length against each other and against len(b)
// (RFC 791 3.1, RFC 1122 3.2.1.1). Bytes past TotalLength (Ethernet padding) are cut off.
// The header checksum is not checked here: see ChecksumValid.
func ParseIPv4(b []byte) (IPv4, error) {
	if len(b) < IPv4MinHeaderLen {
		return nil, errShort("ipv4", FieldHeader, len(b), IPv4MinHeaderLen)
	}
	if v := b[0] >> 4; v != 4 {
		return nil, errorf("ipv4", FieldVersion, "%d != 4", v)
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < IPv4MinHeaderLen {
		return nil, errorf("ipv4", FieldIHL, "%d bytes < 20", ihl)
	}
	if ihl > len(b) {
		return nil, errorf("ipv4", FieldIHL, "%d bytes > %d bytes received", ihl, len(b))
	}
	total := int(binary.BigEndian.Uint16(b[2:]))
	if total < ihl {
		return nil, errorf("ipv4", FieldTotalLength, "%d < header length %d", total, ihl)
	}
	if total > len(b) {
		return nil, errorf("ipv4", FieldTotalLength, "%d > %d bytes received", total, len(b))
	}
	return IPv4(b[:total]), nil
}

// Version returns the version field (4 after a successful parse).
func (p IPv4) Version() uint8 { return p[0] >> 4 }

// HeaderLen returns the header length in bytes (IHL × 4).
func (p IPv4) HeaderLen() int { return int(p[0]&0x0f) * 4 }

// TOS returns the type-of-service byte (DSCP and ECN).
func (p IPv4) TOS() uint8 { return p[1] }

// ECN returns the ECN field, the two low bits of the TOS byte (RFC 3168 5).
func (p IPv4) ECN() ECN { return ECN(p[1] & 3) }

// TotalLength returns the length of header and data.
func (p IPv4) TotalLength() uint16 { return binary.BigEndian.Uint16(p[2:]) }

// ID returns the identification field.
func (p IPv4) ID() uint16 { return binary.BigEndian.Uint16(p[4:]) }

// Flags returns the three flag bits (IPv4DontFragment, IPv4MoreFragments).
func (p IPv4) Flags() uint8 { return p[6] >> 5 }

// DontFragment reports whether DF is set.
func (p IPv4) DontFragment() bool { return p.Flags()&IPv4DontFragment != 0 }

// MoreFragments reports whether MF is set.
func (p IPv4) MoreFragments() bool { return p.Flags()&IPv4MoreFragments != 0 }

// FragmentOffset returns the fragment offset in bytes (the field × 8).
func (p IPv4) FragmentOffset() int { return int(binary.BigEndian.Uint16(p[6:])&0x1fff) * 8 }

// IsFragment reports whether the datagram is a fragment (MF set or a non-zero offset).
func (p IPv4) IsFragment() bool { return p.MoreFragments() || p.FragmentOffset() != 0 }

// TTL returns the time-to-live.
func (p IPv4) TTL() uint8 { return p[8] }

// Protocol returns the protocol of the payload.
func (p IPv4) Protocol() IPProtocol { return IPProtocol(p[9]) }

// Checksum returns the header checksum field.
func (p IPv4) Checksum() uint16 { return binary.BigEndian.Uint16(p[10:]) }

// Source returns the source address.
func (p IPv4) Source() netip.Addr { return netip.AddrFrom4([4]byte(p[12:16])) }

// Destination returns the destination address.
func (p IPv4) Destination() netip.Addr { return netip.AddrFrom4([4]byte(p[16:20])) }

// Options returns the option bytes of the header (empty when IHL is 5).
func (p IPv4) Options() []byte { return p[IPv4MinHeaderLen:p.HeaderLen()] }

// Payload returns the data after the header.
func (p IPv4) Payload() []byte { return p[p.HeaderLen():] }

// ChecksumValid reports whether the header checksum is correct (RFC 1122 3.2.1.2).
func (p IPv4) ChecksumValid() bool { return Checksum(p[:p.HeaderLen()]) == 0 }

// SetTTL sets the time-to-live; call UpdateChecksum afterwards.
func (p IPv4) SetTTL(ttl uint8) { p[8] = ttl }

// SetID sets the identification field; call UpdateChecksum afterwards.
func (p IPv4) SetID(id uint16) { binary.BigEndian.PutUint16(p[4:], id) }

// SetSource sets the source address; call UpdateChecksum afterwards.
func (p IPv4) SetSource(a netip.Addr) { s := as4(a); copy(p[12:16], s[:]) }

// SetDestination sets the destination address; call UpdateChecksum afterwards.
func (p IPv4) SetDestination(a netip.Addr) { d := as4(a); copy(p[16:20], d[:]) }

// UpdateChecksum recomputes the header checksum.
func (p IPv4) UpdateChecksum() {
	p[10], p[11] = 0, 0
	binary.BigEndian.PutUint16(p[10:], Checksum(p[:p.HeaderLen()]))
}

// IPv4Fields are the values of an IPv4 header. The total length and checksum are computed by
// Encode.
type IPv4Fields struct {
	TOS            uint8
	ID             uint16
	Flags          uint8 // IPv4DontFragment, IPv4MoreFragments
	FragmentOffset int   // in bytes, a multiple of 8
	TTL            uint8
	Protocol       IPProtocol
	Source         netip.Addr
	Destination    netip.Addr
	Options        []byte // padded with zeros (end of option list) to a multiple of 4, at most 40 bytes
}

// HeaderLen returns the length of the encoded header: 20 plus the options padded to 4 bytes, at
// most 60 (Encode cuts options to 40 bytes).
func (f *IPv4Fields) HeaderLen() int {
	return min(IPv4MinHeaderLen+(len(f.Options)+3)&^3, IPv4MaxHeaderLen)
}

// Encode writes the header into b[:f.HeaderLen()] for a payload of payloadLen bytes, with its
// checksum. b must be at least HeaderLen bytes; options longer than 40 bytes are cut to 40.
func (f *IPv4Fields) Encode(b []byte, payloadLen int) {
	hl := min(f.HeaderLen(), IPv4MaxHeaderLen)
	_ = b[hl-1]
	b[0] = 4<<4 | uint8(hl/4)
	b[1] = f.TOS
	binary.BigEndian.PutUint16(b[2:], uint16(hl+payloadLen))
	binary.BigEndian.PutUint16(b[4:], f.ID)
	binary.BigEndian.PutUint16(b[6:], uint16(f.Flags&0b111)<<13|uint16(f.FragmentOffset/8)&0x1fff)
	b[8] = f.TTL
	b[9] = uint8(f.Protocol)
	b[10], b[11] = 0, 0
	s, d := as4(f.Source), as4(f.Destination)
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
	n := copy(b[20:hl], f.Options)
	clear(b[20+n : hl])
	binary.BigEndian.PutUint16(b[10:], Checksum(b[:hl]))
}

// Fields returns the header's values (Options aliases the view).
func (p IPv4) Fields() IPv4Fields {
	return IPv4Fields{
		TOS: p.TOS(), ID: p.ID(), Flags: p.Flags(), FragmentOffset: p.FragmentOffset(),
		TTL: p.TTL(), Protocol: p.Protocol(), Source: p.Source(), Destination: p.Destination(),
		Options: p.Options(),
	}
}
