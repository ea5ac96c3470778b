package harness

import "encoding/binary"

// The oracle's checksums (RFC 1071), written here so that the harness shares no code with the
// stack it judges. The script runner and the replay engine build and patch frames with them.

// onesSum is the one's-complement sum of b added to acc, folded to 16 bits (not complemented).
// It adds 32-bit words into 64 bits, eight bytes a step, and folds at the end: 2^16 is 1
// modulo 2^16-1, so the fold of the 32-bit words' sum is the sum of the 16-bit ones (RFC 1071
// 2(B)); a 64 KiB datagram adds at most 2^14 words, far from overflow.
func onesSum(b []byte, acc uint32) uint16 {
	sum := uint64(acc)
	for len(b) >= 8 {
		sum += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		sum += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

// tcpPseudo is the sum of the TCP pseudo-header of seg, carried in the datagram whose IPv4
// header is ipHdr.
func tcpPseudo(ipHdr, seg []byte) uint32 {
	return uint32(onesSum(ipHdr[12:20], 0)) + 6 + uint32(len(seg))
}

// SetIPv4Checksum computes an IPv4 header's checksum and stores it in the header.
func SetIPv4Checksum(h []byte) {
	h[10], h[11] = 0, 0
	binary.BigEndian.PutUint16(h[10:], ^onesSum(h, 0))
}

// SetTCPChecksum computes the checksum of the TCP segment seg (header and payload), carried in
// the datagram whose IPv4 header is ipHdr, and stores it in the segment.
func SetTCPChecksum(ipHdr, seg []byte) {
	seg[16], seg[17] = 0, 0
	binary.BigEndian.PutUint16(seg[16:], ^onesSum(seg, tcpPseudo(ipHdr, seg)))
}

// SetUDPChecksum computes the checksum of the UDP datagram d (header and payload), carried in
// the datagram whose IPv4 header is ipHdr, and stores it; a sum of 0 is sent as 0xffff (RFC 768).
func SetUDPChecksum(ipHdr, d []byte) {
	d[6], d[7] = 0, 0
	c := ^onesSum(d, uint32(onesSum(ipHdr[12:20], 0))+17+uint32(len(d)))
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(d[6:], c)
}

// TCPChecksumOK reports whether seg's checksum is right (0x0000 and 0xffff alike).
func TCPChecksumOK(ipHdr, seg []byte) bool {
	return onesSum(seg, tcpPseudo(ipHdr, seg)) == 0xffff
}

// SetICMPChecksum computes an ICMP message's checksum and stores it in the message.
func SetICMPChecksum(m []byte) {
	m[2], m[3] = 0, 0
	binary.BigEndian.PutUint16(m[2:], ^onesSum(m, 0))
}
