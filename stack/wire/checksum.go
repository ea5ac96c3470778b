package wire

import (
	"encoding/binary"
	"net/netip"
)

// Sum adds b to the running one's-complement sum acc (RFC 1071) and returns the new sum,
// unfolded. A trailing odd byte is padded with zero, as the RFC requires; so only the last
// piece of a checksummed message may have an odd length.
func Sum(b []byte, acc uint64) uint64 {
	for len(b) >= 8 {
		acc += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	if len(b) >= 4 {
		acc += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

// Fold folds a running sum to 16 bits and complements it: the value that goes in a checksum
// field. A message whose checksum field is correct folds to 0.
func Fold(acc uint64) uint16 {
	for acc>>16 != 0 {
		acc = (acc & 0xffff) + acc>>16
	}
	return ^uint16(acc)
}

// Checksum returns the Internet checksum of b.
func Checksum(b []byte) uint16 { return Fold(Sum(b, 0)) }

// PseudoHeaderSum returns the running sum of the IPv4 pseudo-header that TCP and UDP checksums
// cover (RFC 9293 3.1): source, destination, zero, protocol, and length of the segment.
func PseudoHeaderSum(src, dst netip.Addr, protocol IPProtocol, length int) uint64 {
	s, d := as4(src), as4(dst)
	acc := uint64(binary.BigEndian.Uint32(s[:])) + uint64(binary.BigEndian.Uint32(d[:]))
	return acc + uint64(protocol) + uint64(length)
}
