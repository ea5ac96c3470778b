package wire

import (
	"encoding/binary"
	"fmt"
	"net"
)

// EthernetHeaderLen is the length of an Ethernet II header.
const EthernetHeaderLen = 14

// EthernetMinFrame is the shortest Ethernet frame without FCS: shorter frames are padded to it.
const EthernetMinFrame = 60

// MAC is an Ethernet hardware address.
type MAC [6]byte

// BroadcastMAC is ff:ff:ff:ff:ff:ff.
var BroadcastMAC = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// MACFrom converts a 6-byte net.HardwareAddr; ok is false for any other length.
func MACFrom(h net.HardwareAddr) (m MAC, ok bool) {
	if len(h) != len(m) {
		return m, false
	}
	copy(m[:], h)
	return m, true
}

// HardwareAddr returns m as a net.HardwareAddr.
func (m MAC) HardwareAddr() net.HardwareAddr { return append(net.HardwareAddr(nil), m[:]...) }

// IsBroadcast reports whether m is ff:ff:ff:ff:ff:ff.
func (m MAC) IsBroadcast() bool { return m == BroadcastMAC }

// IsMulticast reports whether the group bit is set (broadcast included).
func (m MAC) IsMulticast() bool { return m[0]&1 != 0 }

// IsZero reports whether m is 00:00:00:00:00:00.
func (m MAC) IsZero() bool { return m == MAC{} }

func (m MAC) String() string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// EtherType is the type field of an Ethernet II header.
type EtherType uint16

// EtherTypes mtcp knows by name.
const (
	EtherTypeIPv4 EtherType = 0x0800
	EtherTypeARP  EtherType = 0x0806
	EtherTypeIPv6 EtherType = 0x86dd
)

func (t EtherType) String() string {
	switch t {
	case EtherTypeIPv4:
		return "IPv4"
	case EtherTypeARP:
		return "ARP"
	case EtherTypeIPv6:
		return "IPv6"
	}
	return fmt.Sprintf("0x%04x", uint16(t))
}

// Ethernet is a view of an Ethernet II frame (without FCS), made by ParseEthernet.
type Ethernet []byte

// ParseEthernet checks that b holds an Ethernet II header. Values of the type field below
// 0x0600 are IEEE 802.3 lengths, not EtherTypes, and are rejected.
func ParseEthernet(b []byte) (Ethernet, error) {
	if len(b) < EthernetHeaderLen {
		return nil, errShort("ethernet", FieldHeader, len(b), EthernetHeaderLen)
	}
	if t := binary.BigEndian.Uint16(b[12:]); t < 0x0600 {
		return nil, errorf("ethernet", FieldType, "0x%04x is an 802.3 length, not an EtherType", t)
	}
	return Ethernet(b), nil
}

// Destination returns the destination address.
func (e Ethernet) Destination() MAC { return MAC(e[0:6]) }

// Source returns the source address.
func (e Ethernet) Source() MAC { return MAC(e[6:12]) }

// EtherType returns the type of the payload.
func (e Ethernet) EtherType() EtherType { return EtherType(binary.BigEndian.Uint16(e[12:])) }

// Payload returns what follows the header, Ethernet padding included.
func (e Ethernet) Payload() []byte { return e[EthernetHeaderLen:] }

// SetDestination sets the destination address.
func (e Ethernet) SetDestination(m MAC) { copy(e[0:6], m[:]) }

// SetSource sets the source address.
func (e Ethernet) SetSource(m MAC) { copy(e[6:12], m[:]) }

// EthernetFields are the values of an Ethernet II header.
type EthernetFields struct {
	Destination MAC
	Source      MAC
	EtherType   EtherType
}

// Encode writes the header into b[:14]; b must be at least that long.
func (f *EthernetFields) Encode(b []byte) {
	_ = b[EthernetHeaderLen-1]
	copy(b[0:6], f.Destination[:])
	copy(b[6:12], f.Source[:])
	binary.BigEndian.PutUint16(b[12:], uint16(f.EtherType))
}

// Fields returns the header's values.
func (e Ethernet) Fields() EthernetFields {
	return EthernetFields{Destination: e.Destination(), Source: e.Source(), EtherType: e.EtherType()}
}
