package wire

import (
	"encoding/binary"
	"net/netip"
)

// ARPLen is the length of an ARP packet for Ethernet and IPv4.
const ARPLen = 28

// ARP operations (RFC 826).
const (
	ARPRequest uint16 = 1
	ARPReply   uint16 = 2
)

// ARP is a view of an ARP packet for Ethernet hardware and IPv4 protocol addresses (RFC 826),
// made by ParseARP.
type ARP []byte

// ParseARP checks that b is an ARP request or reply for Ethernet (hardware type 1, length 6)
// and IPv4 (protocol type 0x0800, length 4). Trailing bytes (Ethernet padding) are cut off.
func ParseARP(b []byte) (ARP, error) {
	if len(b) < ARPLen {
		return nil, errShort("arp", FieldPacket, len(b), ARPLen)
	}
	if h := binary.BigEndian.Uint16(b[0:]); h != 1 {
		return nil, errorf("arp", FieldHardwareType, "%d is not Ethernet (1)", h)
	}
	if p := binary.BigEndian.Uint16(b[2:]); p != uint16(EtherTypeIPv4) {
		return nil, errorf("arp", FieldProtocolType, "0x%04x is not IPv4 (0x0800)", p)
	}
	if b[4] != 6 {
		return nil, errorf("arp", FieldHardwareLength, "%d != 6", b[4])
	}
	if b[5] != 4 {
		return nil, errorf("arp", FieldProtocolLength, "%d != 4", b[5])
	}
	if op := binary.BigEndian.Uint16(b[6:]); op != ARPRequest && op != ARPReply {
		return nil, errorf("arp", FieldOperation, "%d is neither request (1) nor reply (2)", op)
	}
	return ARP(b[:ARPLen]), nil
}

// HardwareType returns the hardware address space (1: Ethernet).
func (a ARP) HardwareType() uint16 { return binary.BigEndian.Uint16(a[0:]) }

// ProtocolType returns the protocol address space (0x0800: IPv4).
func (a ARP) ProtocolType() EtherType { return EtherType(binary.BigEndian.Uint16(a[2:])) }

// Operation returns ARPRequest or ARPReply.
func (a ARP) Operation() uint16 { return binary.BigEndian.Uint16(a[6:]) }

// SenderHardwareAddr returns the sender's MAC.
func (a ARP) SenderHardwareAddr() MAC { return MAC(a[8:14]) }

// SenderProtocolAddr returns the sender's IPv4 address.
func (a ARP) SenderProtocolAddr() netip.Addr { return netip.AddrFrom4([4]byte(a[14:18])) }

// TargetHardwareAddr returns the target's MAC (zero in a request).
func (a ARP) TargetHardwareAddr() MAC { return MAC(a[18:24]) }

// TargetProtocolAddr returns the target's IPv4 address.
func (a ARP) TargetProtocolAddr() netip.Addr { return netip.AddrFrom4([4]byte(a[24:28])) }

// ARPFields are the values of an Ethernet/IPv4 ARP packet.
type ARPFields struct {
	Operation          uint16
	SenderHardwareAddr MAC
	SenderProtocolAddr netip.Addr // IPv4
	TargetHardwareAddr MAC
	TargetProtocolAddr netip.Addr // IPv4
}

// Encode writes the packet into b[:28]; b must be at least that long.
func (f *ARPFields) Encode(b []byte) {
	_ = b[ARPLen-1]
	binary.BigEndian.PutUint16(b[0:], 1)
	binary.BigEndian.PutUint16(b[2:], uint16(EtherTypeIPv4))
	b[4], b[5] = 6, 4
	binary.BigEndian.PutUint16(b[6:], f.Operation)
	copy(b[8:14], f.SenderHardwareAddr[:])
	spa, tpa := as4(f.SenderProtocolAddr), as4(f.TargetProtocolAddr)
	copy(b[14:18], spa[:])
	copy(b[18:24], f.TargetHardwareAddr[:])
	copy(b[24:28], tpa[:])
}

// Fields returns the packet's values.
func (a ARP) Fields() ARPFields {
	return ARPFields{
		Operation:          a.Operation(),
		SenderHardwareAddr: a.SenderHardwareAddr(),
		SenderProtocolAddr: a.SenderProtocolAddr(),
		TargetHardwareAddr: a.TargetHardwareAddr(),
		TargetProtocolAddr: a.TargetProtocolAddr(),
	}
}
