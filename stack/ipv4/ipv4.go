// Package ipv4 holds the IPv4 decisions of the core that do not need the rest of it: which
// addresses are ours, where a datagram goes next, which identification it carries, and the
// reassembly of fragments (RFC 791, RFC 1122 3.2 and 3.3.2, RFC 6864).
//
// Like the rest of the core it is deterministic: time is an argument, timers live in the core's
// heap, and nothing here reads a clock or starts a goroutine.
package ipv4

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// DefaultTTL is the time-to-live of datagrams the stack sends (RFC 1122 3.2.1.7 asks for a
// fixed default; 64 as RFC 1700 and Linux).
const DefaultTTL = 64

// ErrNoRoute is returned for a destination that is neither on-link nor reachable through a
// gateway.
var ErrNoRoute = errors.New("ipv4: no route to host")

// Interface is the stack's address on its link: an address with its prefix, and an optional
// gateway for destinations off the link.
type Interface struct {
	Addr    netip.Prefix // e.g. 198.18.0.2/24
	Gateway netip.Addr   // zero: no off-link destinations
}

// Validate checks the address and gateway.
func (i Interface) Validate() error {
	a := i.Addr.Addr()
	switch {
	case !i.Addr.IsValid() || !a.Is4():
		return fmt.Errorf("ipv4: address %v is not an IPv4 prefix such as 198.18.0.2/24", i.Addr)
	case i.Addr.Bits() > 30:
		return fmt.Errorf("ipv4: prefix /%d leaves no room for a peer (at most /30)", i.Addr.Bits())
	case a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() || a == i.Addr.Masked().Addr() || i.IsBroadcast(a):
		return fmt.Errorf("ipv4: %v cannot be a host address", i.Addr)
	}
	if i.Gateway.IsValid() {
		if !i.Gateway.Is4() || !i.Addr.Contains(i.Gateway) || i.Gateway == a || i.IsBroadcast(i.Gateway) {
			return fmt.Errorf("ipv4: gateway %v is not a host on %v", i.Gateway, i.Addr.Masked())
		}
	}
	return nil
}

// IsLocal reports whether a is the stack's own address.
func (i Interface) IsLocal(a netip.Addr) bool { return a == i.Addr.Addr() }

// IsBroadcast reports whether a is the limited broadcast 255.255.255.255 or the directed
// broadcast of the stack's subnet.
func (i Interface) IsBroadcast(a netip.Addr) bool {
	if !a.Is4() {
		return false
	}
	b := a.As4()
	v := binary.BigEndian.Uint32(b[:])
	if v == 0xffffffff {
		return true
	}
	own, bits := i.Addr.Addr(), i.Addr.Bits()
	if bits < 0 || !own.Is4() {
		return false
	}
	// On the subnet (the bits of the prefix are ours) with every host bit set. Sent and
	// received datagrams ask this, so it is 32-bit arithmetic rather than Prefix.Contains.
	o := own.As4()
	host := ^uint32(0) >> bits
	return v&^host == binary.BigEndian.Uint32(o[:])&^host && v&host == host
}

// IsValidSource reports whether a may be the source of a datagram from the wire: not
// broadcast, multicast, loopback or our own address (RFC 1122 3.2.1.3). The unspecified
// address is allowed only as the source of broadcasts, so it is refused here.
func (i Interface) IsValidSource(a netip.Addr) bool {
	return a.Is4() && !a.IsUnspecified() && !a.IsMulticast() && !a.IsLoopback() &&
		!i.IsBroadcast(a) && !i.IsLocal(a)
}

// NextHop returns where a datagram to dst goes on the link: dst itself when it is on-link,
// otherwise the gateway.
func (i Interface) NextHop(dst netip.Addr) (netip.Addr, error) {
	if i.Addr.Contains(dst) {
		return dst, nil
	}
	if i.Gateway.IsValid() {
		return i.Gateway, nil
	}
	return netip.Addr{}, fmt.Errorf("%w %v: not on %v and no gateway set", ErrNoRoute, dst, i.Addr.Masked())
}

// SendOptions are the header choices a transport makes for each datagram it sends.
type SendOptions struct {
	// DontFragment sets DF (RFC 791): the datagram is never fragmented, and one larger than
	// the MTU is refused. TCP sets it on every segment for path MTU discovery (RFC 1191).
	DontFragment bool
	// ECN is the ECN field (RFC 3168 5): ECT(0) on the data of an ECN-capable connection.
	ECN wire.ECN
}

// ErrTooBig is returned for a datagram with DF set that is larger than the MTU.
var ErrTooBig = errors.New("ipv4: datagram larger than the MTU with DF set")

// IDs hands out identification values. RFC 6864 4.1 requires them unique per source,
// destination and protocol within the datagram lifetime for datagrams that may be fragmented
// (those with DF clear: ICMP); RFC 7739 5.3 counsels against one global counter (it leaks
// traffic volume and eases ID prediction). So, as RFC 7739 suggests, each datagram draws from
// one of 256 counters chosen by a keyed hash of (destination, protocol), each counter starting
// at a keyed offset. Datagrams with DF set (TCP) do not draw from them: they are atomic, RFC
// 6864 4.1 lets their ID take any value, and the core sends them with ID 0.
type IDs struct {
	keyed    uint32 // the FNV-1a state after the secret: the hash's prefix, hashed once
	counters [256]uint16
}

// NewIDs returns a generator keyed with secret.
func NewIDs(secret [16]byte) *IDs {
	g := &IDs{keyed: fnvOffset32}
	for _, b := range secret {
		g.keyed = (g.keyed ^ uint32(b)) * fnvPrime32
	}
	sum := sha256.Sum256(secret[:])
	for i := range g.counters {
		g.counters[i] = binary.BigEndian.Uint16(sum[(2*i)%32:]) ^ uint16(i*goldenRatio16)
	}
	return g
}

// The keyed hash that picks a counter is FNV-1a (32 bits) over the secret, the destination and
// the protocol; the counters' starting points are spread by the 16-bit golden ratio.
const (
	fnvOffset32   = 2166136261
	fnvPrime32    = 16777619
	goldenRatio16 = 0x9e37
)

// Next returns the identification for the next datagram to dst carrying protocol.
func (g *IDs) Next(dst netip.Addr, protocol uint8) uint16 {
	d := dst.As4()
	h := g.keyed
	for _, b := range d {
		h = (h ^ uint32(b)) * fnvPrime32
	}
	h = (h ^ uint32(protocol)) * fnvPrime32
	c := &g.counters[h&0xff]
	*c++
	return *c
}
