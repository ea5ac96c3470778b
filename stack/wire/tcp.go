package wire

import (
	"encoding/binary"
	"net/netip"
	"strings"
)

// TCP header constants.
const (
	TCPMinHeaderLen = 20
	TCPMaxHeaderLen = 60
)

// TCPFlags are the control bits of a TCP header (byte 13).
type TCPFlags uint8

// TCP control bits (RFC 9293 3.1, RFC 3168).
const (
	FIN TCPFlags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
)

// String returns the flags in tcpdump's order and letters' spirit, e.g. "SYN|ACK", or "none".
func (f TCPFlags) String() string {
	if f == 0 {
		return "none"
	}
	names := [...]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}
	var parts []string
	for i, n := range names {
		if f&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	return strings.Join(parts, "|")
}

// TCP option kinds (RFC 9293 3.1, RFC 7323, RFC 2018).
const (
	TCPOptionEOL           uint8 = 0
	TCPOptionNOP           uint8 = 1
	TCPOptionMSS           uint8 = 2
	TCPOptionWindowScale   uint8 = 3
	TCPOptionSACKPermitted uint8 = 4
	TCPOptionSACK          uint8 = 5
	TCPOptionTimestamp     uint8 = 8
)

// MaxWindowScale is the largest shift RFC 7323 2.3 allows; larger values are used as 14.
const MaxWindowScale = 14

// TCP is a view of a TCP segment (header, options and data), made by ParseTCP.
type TCP []byte

// ParseTCP checks the data offset against len(b) and walks the options: an option whose length
// is missing, below 2 or past the header, or a known option with the wrong length, is an
// error. (RFC 9293 3.1 requires an illegal option length to be handled and suggests a reset;
// the TCP layer's policy is to drop the segment.) Unknown options are skipped. The checksum
// is not checked here: see ChecksumValid.
func ParseTCP(b []byte) (TCP, error) {
	if len(b) < TCPMinHeaderLen {
		return nil, errShort("tcp", FieldHeader, len(b), TCPMinHeaderLen)
	}
	off := int(b[12] >> 4)
	if off < 5 {
		return nil, errorf("tcp", FieldDataOffset, "%d < 5", off)
	}
	if off*4 > len(b) {
		return nil, errorf("tcp", FieldDataOffset, "%d (%d bytes) > %d bytes received", off, off*4, len(b))
	}
	if err := walkOptions(b[TCPMinHeaderLen:off*4], nil); err != nil {
		return nil, err
	}
	return TCP(b), nil
}

// walkOptions checks every option and calls f (when not nil) with each option's kind and data.
func walkOptions(b []byte, f func(kind uint8, data []byte)) error {
	for i := 0; i < len(b); {
		kind := b[i]
		switch kind {
		case TCPOptionEOL:
			return nil
		case TCPOptionNOP:
			i++
			continue
		}
		if i+1 >= len(b) {
			return errorf("tcp", FieldOption, "kind %d at offset %d has no length byte", kind, i)
		}
		n := int(b[i+1])
		if n < 2 {
			return errorf("tcp", FieldOption, "kind %d length %d < 2", kind, n)
		}
		if i+n > len(b) {
			return errorf("tcp", FieldOption, "kind %d length %d runs past the header", kind, n)
		}
		want := 0
		switch kind {
		case TCPOptionMSS:
			want = 4
		case TCPOptionWindowScale:
			want = 3
		case TCPOptionSACKPermitted:
			want = 2
		case TCPOptionTimestamp:
			want = 10
		case TCPOptionSACK:
			if n < 10 || (n-2)%8 != 0 {
				return errorf("tcp", FieldOption, "SACK length %d is not 2+8n with n >= 1", n)
			}
		}
		if want != 0 && n != want {
			return errorf("tcp", FieldOption, "kind %d length %d != %d", kind, n, want)
		}
		if f != nil {
			f(kind, b[i+2:i+n])
		}
		i += n
	}
	return nil
}

// SourcePort returns the source port.
func (t TCP) SourcePort() uint16 { return binary.BigEndian.Uint16(t[0:]) }

// DestinationPort returns the destination port.
func (t TCP) DestinationPort() uint16 { return binary.BigEndian.Uint16(t[2:]) }

// SeqNum returns the sequence number.
func (t TCP) SeqNum() Seq { return Seq(binary.BigEndian.Uint32(t[4:])) }

// AckNum returns the acknowledgment number.
func (t TCP) AckNum() Seq { return Seq(binary.BigEndian.Uint32(t[8:])) }

// DataOffset returns the header length in 32-bit words.
func (t TCP) DataOffset() uint8 { return t[12] >> 4 }

// HeaderLen returns the header length in bytes.
func (t TCP) HeaderLen() int { return int(t[12]>>4) * 4 }

// Reserved returns the four reserved bits after the data offset (RFC 9293 3.1: must be zero
// when sent, ignored when received).
func (t TCP) Reserved() uint8 { return t[12] & 0x0f }

// Flags returns the control bits.
func (t TCP) Flags() TCPFlags { return TCPFlags(t[13]) }

// WindowSize returns the window field as sent, unscaled.
func (t TCP) WindowSize() uint16 { return binary.BigEndian.Uint16(t[14:]) }

// Checksum returns the checksum field.
func (t TCP) Checksum() uint16 { return binary.BigEndian.Uint16(t[16:]) }

// UrgentPointer returns the urgent pointer.
func (t TCP) UrgentPointer() uint16 { return binary.BigEndian.Uint16(t[18:]) }

// Options returns the option bytes of the header.
func (t TCP) Options() []byte { return t[TCPMinHeaderLen:t.HeaderLen()] }

// Payload returns the segment's data.
func (t TCP) Payload() []byte { return t[t.HeaderLen():] }

// ChecksumValid reports whether the checksum over the pseudo-header and the whole segment is
// correct (RFC 9293 3.1).
func (t TCP) ChecksumValid(src, dst netip.Addr) bool {
	return Fold(Sum(t, PseudoHeaderSum(src, dst, ProtocolTCP, len(t)))) == 0
}

// DecodeOptions returns the values of the options mtcp understands. It cannot fail: ParseTCP
// has checked them.
func (t TCP) DecodeOptions() TCPOptions {
	var o TCPOptions
	_ = walkOptions(t.Options(), o.add)
	return o
}

// SACKBlock is one block of a SACK option: the bytes [Left, Right) were received.
type SACKBlock struct{ Left, Right Seq }

// TCPOptions are the values of the TCP options mtcp understands. A zero field means the option
// is absent, except where a Has field says otherwise.
type TCPOptions struct {
	MSS            uint16 // 0: absent
	HasWindowScale bool
	WindowScale    uint8 // the shift as sent (may exceed MaxWindowScale)
	SACKPermitted  bool
	HasTimestamp   bool
	TSVal, TSEcr   uint32
	SACKBlocks     [4]SACKBlock
	NumSACKBlocks  int // 0..4
	Unknown        int // options of unknown kinds, skipped
}

func (o *TCPOptions) add(kind uint8, data []byte) {
	switch kind {
	case TCPOptionMSS:
		o.MSS = binary.BigEndian.Uint16(data)
	case TCPOptionWindowScale:
		o.HasWindowScale, o.WindowScale = true, data[0]
	case TCPOptionSACKPermitted:
		o.SACKPermitted = true
	case TCPOptionTimestamp:
		o.HasTimestamp = true
		o.TSVal, o.TSEcr = binary.BigEndian.Uint32(data), binary.BigEndian.Uint32(data[4:])
	case TCPOptionSACK:
		for ; len(data) >= 8 && o.NumSACKBlocks < len(o.SACKBlocks); data = data[8:] {
			o.SACKBlocks[o.NumSACKBlocks] = SACKBlock{Seq(binary.BigEndian.Uint32(data)), Seq(binary.BigEndian.Uint32(data[4:]))}
			o.NumSACKBlocks++
		}
	default:
		o.Unknown++
	}
}

// EncodedLen returns the length of the encoded options, a multiple of 4.
func (o *TCPOptions) EncodedLen() int {
	return o.encodedLen(min(o.NumSACKBlocks, len(o.SACKBlocks)))
}

// encodedLen is EncodedLen with k SACK blocks.
func (o *TCPOptions) encodedLen(k int) int {
	n := 0
	if o.MSS != 0 {
		n += 4
	}
	if o.HasTimestamp {
		n += 12 // with SACK-permitted in its two padding bytes, when both are sent
	} else if o.SACKPermitted {
		n += 4
	}
	if o.HasWindowScale {
		n += 4
	}
	if k > 0 {
		n += 4 + 8*k
	}
	return n
}

// Encode writes the options into b, each aligned to 4 bytes, in the layout Linux uses (so a
// capture or a script written against Linux reads the same): MSS; SACK-permitted and
// timestamps sharing one 12-byte block (NOP, NOP before timestamps alone, before
// SACK-permitted alone); NOP and window scale; NOP, NOP and the SACK blocks. It returns the
// number of bytes written (EncodedLen). b must be long enough.
func (o *TCPOptions) Encode(b []byte) int {
	return o.encode(b, min(o.NumSACKBlocks, len(o.SACKBlocks)))
}

// encode is Encode with the first k SACK blocks.
func (o *TCPOptions) encode(b []byte, k int) int {
	i := 0
	if o.MSS != 0 {
		b[i], b[i+1] = TCPOptionMSS, 4
		binary.BigEndian.PutUint16(b[i+2:], o.MSS)
		i += 4
	}
	switch {
	case o.HasTimestamp:
		b[i], b[i+1] = TCPOptionNOP, TCPOptionNOP
		if o.SACKPermitted {
			b[i], b[i+1] = TCPOptionSACKPermitted, 2
		}
		b[i+2], b[i+3] = TCPOptionTimestamp, 10
		binary.BigEndian.PutUint32(b[i+4:], o.TSVal)
		binary.BigEndian.PutUint32(b[i+8:], o.TSEcr)
		i += 12
	case o.SACKPermitted:
		b[i], b[i+1], b[i+2], b[i+3] = TCPOptionNOP, TCPOptionNOP, TCPOptionSACKPermitted, 2
		i += 4
	}
	if o.HasWindowScale {
		b[i], b[i+1], b[i+2], b[i+3] = TCPOptionNOP, TCPOptionWindowScale, 3, o.WindowScale
		i += 4
	}
	if k > 0 {
		b[i], b[i+1], b[i+2], b[i+3] = TCPOptionNOP, TCPOptionNOP, TCPOptionSACK, byte(2+8*k)
		i += 4
		for _, s := range o.SACKBlocks[:k] {
			binary.BigEndian.PutUint32(b[i:], uint32(s.Left))
			binary.BigEndian.PutUint32(b[i+4:], uint32(s.Right))
			i += 8
		}
	}
	return i
}

// TCPFields are the values of a TCP header. The data offset and checksum are computed by Encode.
type TCPFields struct {
	SourcePort      uint16
	DestinationPort uint16
	SeqNum          Seq
	AckNum          Seq
	Reserved        uint8 // the four reserved bits; zero unless a test wants them set
	Flags           TCPFlags
	WindowSize      uint16
	UrgentPointer   uint16
	Options         TCPOptions
	// RawOptions, when not nil, is written instead of Options, padded with EOL (0) to a
	// multiple of 4: for building segments with unusual or malformed options.
	RawOptions []byte
}

// HeaderLen returns the length of the encoded header, at most 60: when Options need more than
// 40 bytes, SACK blocks are left out from the last until they fit (RFC 2018 3: a sender sends
// as many blocks as fit); RawOptions beyond 40 bytes are cut.
func (f *TCPFields) HeaderLen() int {
	if f.RawOptions != nil {
		return min(TCPMinHeaderLen+(len(f.RawOptions)+3)&^3, TCPMaxHeaderLen)
	}
	return TCPMinHeaderLen + f.Options.encodedLen(f.fittedSACKBlocks())
}

// fittedSACKBlocks returns how many of the SACK blocks fit in 40 bytes beside the other options.
func (f *TCPFields) fittedSACKBlocks() int {
	o := &f.Options
	k := min(o.NumSACKBlocks, len(o.SACKBlocks))
	for k > 0 && o.encodedLen(k) > TCPMaxHeaderLen-TCPMinHeaderLen {
		k--
	}
	return k
}

// Encode writes the header into b[:f.HeaderLen()] and the checksum over the pseudo-header
// (src, dst) and all of b, so the payload must already be in b[HeaderLen:] and b must end where
// the segment ends.
func (f *TCPFields) Encode(b []byte, src, dst netip.Addr) {
	hl := f.HeaderLen()
	_ = b[hl-1]
	binary.BigEndian.PutUint16(b[0:], f.SourcePort)
	binary.BigEndian.PutUint16(b[2:], f.DestinationPort)
	binary.BigEndian.PutUint32(b[4:], uint32(f.SeqNum))
	binary.BigEndian.PutUint32(b[8:], uint32(f.AckNum))
	b[12] = uint8(hl/4)<<4 | f.Reserved&0x0f
	b[13] = uint8(f.Flags)
	binary.BigEndian.PutUint16(b[14:], f.WindowSize)
	b[16], b[17] = 0, 0
	binary.BigEndian.PutUint16(b[18:], f.UrgentPointer)
	opts := b[TCPMinHeaderLen:hl]
	n := 0
	if f.RawOptions != nil {
		n = copy(opts, f.RawOptions)
	} else if k := f.fittedSACKBlocks(); f.Options.encodedLen(k) <= len(opts) {
		n = f.Options.encode(opts, k)
	}
	clear(opts[n:])
	binary.BigEndian.PutUint16(b[16:], Fold(Sum(b, PseudoHeaderSum(src, dst, ProtocolTCP, len(b)))))
}

// Fields returns the header's values; RawOptions aliases the view's option bytes.
func (t TCP) Fields() TCPFields {
	return TCPFields{
		SourcePort: t.SourcePort(), DestinationPort: t.DestinationPort(),
		SeqNum: t.SeqNum(), AckNum: t.AckNum(), Reserved: t.Reserved(), Flags: t.Flags(),
		WindowSize: t.WindowSize(), UrgentPointer: t.UrgentPointer(),
		Options: t.DecodeOptions(), RawOptions: t.Options(),
	}
}
