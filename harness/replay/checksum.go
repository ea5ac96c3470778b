package replay

import "encoding/binary"

// checksumUpdate returns the TCP checksum of a segment whose header was old and is now hdr
// (same length; the checksum field, bytes 16 and 17, aside), the rest unchanged, given sum, its
// right checksum before (as harness.SetTCPChecksum computes it): RFC 1624's incremental update,
// HC' = ~(~HC + ~m + m') for each 16-bit word m that became m'. From a checksum computed over
// the whole segment it gives the same value as computing it again (a checksum computed so is
// never 0xffff, and ~HC + ... in ones' complement arithmetic is then never the zero 0x0000: the
// two sums are the same number, with the same representation).
func checksumUpdate(sum uint16, old, hdr []byte) uint16 {
	acc := uint32(^sum)
	for i := 0; i+1 < len(hdr); i += 2 {
		if i == 16 {
			continue
		}
		m, m2 := binary.BigEndian.Uint16(old[i:]), binary.BigEndian.Uint16(hdr[i:])
		if m != m2 {
			acc += uint32(^m) + uint32(m2)
		}
	}
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return ^uint16(acc)
}
