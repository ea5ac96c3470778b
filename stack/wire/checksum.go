package wire

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Sum adds b to the running one's-complement sum acc (RFC 1071) and returns the new sum,
// unfolded. A trailing odd byte is padded with zero, as the RFC requires; so only the last
// piece of a checksummed message may have an odd length. The sum is of big-endian 16-bit
// words: acc is 0, a previous Sum or a PseudoHeaderSum. Any value will do: each call adds
// less than 2^32 to it, with end-around carry, so a sum may go through any number of calls
// before Fold.
//
// It reads b 8 bytes at a time as little-endian words and adds them with end-around carry
// (RFC 1071 2(B), (C)): one's-complement addition does not care about byte order, provided
// the result is byte-swapped once at the end, which makes the loads native on the common
// little-endian machines.
func Sum(b []byte, acc uint64) uint64 {
	// Reversing the 4 bytes of the little-endian sum swaps its two 16-bit words, which
	// addition does not mind, and the bytes within each, which makes it the big-endian sum.
	acc, c := bits.Add64(acc, uint64(bits.ReverseBytes32(sumLE(b))), 0)
	return acc + c
}

// sumLE returns the one's-complement sum of b read as little-endian 64-bit words, the last
// one padded with zeros, folded to 32 bits (2^32 ≡ 1 modulo 0xffff): congruent modulo 0xffff
// to the sum of b's 16-bit words with their bytes swapped. End-around carry never makes a
// non-zero sum zero, so the result is zero only if b is all zeros, and Fold still tells an
// all-zero message (+0) from one that sums to 0xffff (-0).
func sumLE(b []byte) uint32 {
	var s, c uint64
	// A carry chain: the add with no carry in starts it, the add of the last carry out ends
	// it. That last add never overflows: an add with carry in of at most 1 that carries out
	// leaves at most 2^64-2. The words are loaded before the chain and the tail is taken by
	// length, so that no bounds check or branch splits a chain (the carry stays in the flags).
	for len(b) >= 64 {
		w0 := binary.LittleEndian.Uint64(b[0:8])
		w1 := binary.LittleEndian.Uint64(b[8:16])
		w2 := binary.LittleEndian.Uint64(b[16:24])
		w3 := binary.LittleEndian.Uint64(b[24:32])
		w4 := binary.LittleEndian.Uint64(b[32:40])
		w5 := binary.LittleEndian.Uint64(b[40:48])
		w6 := binary.LittleEndian.Uint64(b[48:56])
		w7 := binary.LittleEndian.Uint64(b[56:64])
		s, c = bits.Add64(s, w0, 0)
		s, c = bits.Add64(s, w1, c)
		s, c = bits.Add64(s, w2, c)
		s, c = bits.Add64(s, w3, c)
		s, c = bits.Add64(s, w4, c)
		s, c = bits.Add64(s, w5, c)
		s, c = bits.Add64(s, w6, c)
		s, c = bits.Add64(s, w7, c)
		s += c
		b = b[64:]
	}
	if len(b) >= 32 {
		w0 := binary.LittleEndian.Uint64(b[0:8])
		w1 := binary.LittleEndian.Uint64(b[8:16])
		w2 := binary.LittleEndian.Uint64(b[16:24])
		w3 := binary.LittleEndian.Uint64(b[24:32])
		s, c = bits.Add64(s, w0, 0)
		s, c = bits.Add64(s, w1, c)
		s, c = bits.Add64(s, w2, c)
		s, c = bits.Add64(s, w3, c)
		s += c
		b = b[32:]
	}
	if len(b) >= 16 {
		w0 := binary.LittleEndian.Uint64(b[0:8])
		w1 := binary.LittleEndian.Uint64(b[8:16])
		s, c = bits.Add64(s, w0, 0)
		s, c = bits.Add64(s, w1, c)
		s += c
		b = b[16:]
	}
	if len(b) >= 8 {
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[0:8]), 0)
		s += c
		b = b[8:]
	}
	// The last 0 to 7 bytes, at their little-endian places: they sum to less than 2^33.
	var t uint64
	if len(b) >= 4 {
		t = uint64(binary.LittleEndian.Uint32(b[0:4]))
		b = b[4:]
	}
	if len(b) >= 2 {
		t += uint64(binary.LittleEndian.Uint16(b[0:2]))
		b = b[2:]
	}
	if len(b) >= 1 {
		t += uint64(b[0]) // the high byte of a big-endian word, padded with zero
	}
	s, c = bits.Add64(s, t, 0)
	s += c
	s32, c32 := bits.Add32(uint32(s), uint32(s>>32), 0)
	return s32 + c32
}

// Fold folds a running sum to 16 bits and complements it: the value that goes in a checksum
// field. A message whose checksum field is correct folds to 0.
func Fold(acc uint64) uint16 {
	// End-around carry at each step keeps the value modulo 0xffff and never turns a non-zero
	// sum into zero: 64 bits to 32, then to at most 0x1fffe, then to at most 0xffff.
	s, c := bits.Add32(uint32(acc), uint32(acc>>32), 0)
	s += c
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return ^uint16(s)
}

// Checksum returns the Internet checksum of b: Fold(Sum(b, 0)), folded straight from the
// little-endian sum and swapped once.
func Checksum(b []byte) uint16 {
	s := sumLE(b)
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return ^bits.ReverseBytes16(uint16(s))
}

// PseudoHeaderSum returns the running sum of the IPv4 pseudo-header that TCP and UDP checksums
// cover (RFC 9293 3.1): source, destination, zero, protocol, and length of the segment.
func PseudoHeaderSum(src, dst netip.Addr, protocol IPProtocol, length int) uint64 {
	s, d := as4(src), as4(dst)
	acc := uint64(binary.BigEndian.Uint32(s[:])) + uint64(binary.BigEndian.Uint32(d[:]))
	return acc + uint64(protocol) + uint64(length)
}
