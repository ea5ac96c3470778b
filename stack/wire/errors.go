package wire

import (
	"fmt"
	"net/netip"
)

// Error is a parse error: which layer and field was wrong, and why.
type Error struct {
	Layer  string // "ethernet", "arp", "ipv4", "icmpv4", "tcp"
	Field  string // the RFC name of the field, e.g. "data offset"
	Reason string // what is wrong with it, e.g. "3 < 5"
}

func (e *Error) Error() string { return e.Layer + ": " + e.Field + " " + e.Reason }

func errorf(layer, field, format string, args ...any) *Error {
	return &Error{Layer: layer, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// errShort reports a buffer of have bytes where the header needs want.
func errShort(layer, field string, have, want int) *Error {
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
