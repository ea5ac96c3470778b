package wire

import (
	"fmt"
	"net/netip"
)

// Error is a parse error: which layer and field was wrong, and why.
type Error struct {
	Layer  string // "ethernet", "arp", "ipv4", "icmpv4", "tcp"
	Field  Field  // the field that was wrong
	Reason string // what is wrong with it, e.g. "3 < 5"
}

func (e *Error) Error() string { return e.Layer + ": " + string(e.Field) + " " + e.Reason }

// Field is the header field a parse error is about, by its RFC name, so that callers can tell
// the errors apart (to count them, say) without comparing message text.
type Field string

// The fields the parsers check.
const (
	FieldHeader         Field = "header"          // any layer: shorter than its fixed header
	FieldPacket         Field = "packet"          // ARP: shorter than an Ethernet/IPv4 ARP packet
	FieldType           Field = "type"            // Ethernet: the EtherType
	FieldHardwareType   Field = "hardware type"   // ARP (RFC 826)
	FieldProtocolType   Field = "protocol type"   // ARP
	FieldHardwareLength Field = "hardware length" // ARP
	FieldProtocolLength Field = "protocol length" // ARP
	FieldOperation      Field = "operation"       // ARP
	FieldVersion        Field = "version"         // IPv4 (RFC 791)
	FieldIHL            Field = "IHL"             // IPv4: the header length
	FieldTotalLength    Field = "total length"    // IPv4
	FieldDataOffset     Field = "data offset"     // TCP (RFC 9293)
	FieldOption         Field = "option"          // TCP: a malformed option
)

func errorf(layer string, field Field, format string, args ...any) *Error {
	return &Error{Layer: layer, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// errShort reports a buffer of have bytes where the header needs want.
func errShort(layer string, field Field, have, want int) *Error {
	return errorf(layer, field, "truncated: %d bytes < %d", have, want)
}

// as4 returns the four bytes of an IPv4 (or IPv4-mapped) address, and zeros for anything else,
// so that encoding a zero netip.Addr writes 0.0.0.0 instead of panicking.
func as4(a netip.Addr) [4]byte {
	if a.Is4() || a.Is4In6() {
		return a.As4()
	}
	return [4]byte{}
}
