package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"time"
)

// pcapng: a sequence of blocks, each framed as type (4 bytes), total length
// (4), body, total length again (4). A Section Header Block starts each
// section and sets its byte order. Format: draft-ietf-opsawg-pcapng.

// Block types.
const (
	ngSHB = 0x0a0d0d0a // Section Header Block; the same in both byte orders
	ngIDB = 1          // Interface Description Block
	ngPB  = 2          // Packet Block (obsolete)
	ngSPB = 3          // Simple Packet Block
	ngNRB = 4          // Name Resolution Block
	ngISB = 5          // Interface Statistics Block
	ngEPB = 6          // Enhanced Packet Block
	ngDSB = 0x0a       // Decryption Secrets Block
	ngCB  = 0x00000bad // Custom Block (may be copied)
	ngCBN = 0x40000bad // Custom Block (do not copy)
)

// ngByteOrderMagic is the SHB field that tells the section's byte order.
const ngByteOrderMagic = 0x1a2b3c4d

// Option codes the reader uses.
const (
	optEndOfOpt  = 0
	optComment   = 1
	optTSResol   = 9  // IDB if_tsresol
	optTSOffset  = 14 // IDB if_tsoffset
	packetHeader = 28 // type, length and the fixed fields of an EPB or PB
)

// iface is an interface declared by an IDB in the current section.
type iface struct {
	link    uint16
	snaplen uint32
	units   uint64 // timestamp units per second (if_tsresol)
	offset  int64  // seconds added to every timestamp (if_tsoffset)
}

// time converts a timestamp in the interface's units to UTC.
func (f *iface) time(ts uint64) time.Time {
	hi, lo := bits.Mul64(ts%f.units, 1e9)
	nsec, _ := bits.Div64(hi, lo, f.units) // hi < units: no panic
	return time.Unix(int64(ts/f.units)+f.offset, int64(nsec)).UTC()
}

// blockName names a block type for error messages.
func blockName(typ uint32) string {
	switch typ {
	case ngSHB:
		return "SHB"
	case ngIDB:
		return "IDB"
	case ngPB:
		return "Packet Block"
	case ngSPB:
		return "SPB"
	case ngNRB:
		return "NRB"
	case ngISB:
		return "ISB"
	case ngEPB:
		return "EPB"
	case ngDSB:
		return "DSB"
	case ngCB, ngCBN:
		return "Custom Block"
	}
	return fmt.Sprintf("block of type 0x%08x", typ)
}

// minBlockLen is the smallest total length a block of type typ can have.
func minBlockLen(typ uint32) uint32 {
	switch typ {
	case ngSHB:
		return 28
	case ngIDB:
		return 20
	case ngEPB, ngPB:
		return 32
	case ngSPB:
		return 16
	}
	return 12
}

// optionName names an option code for error messages.
func optionName(typ uint32, code uint16) string {
	switch {
	case code == optComment:
		return fmt.Sprintf("option %d (opt_comment)", code)
	case typ == ngIDB && code == optTSResol:
		return fmt.Sprintf("option %d (if_tsresol)", code)
	case typ == ngIDB && code == optTSOffset:
		return fmt.Sprintf("option %d (if_tsoffset)", code)
	}
	return fmt.Sprintf("option %d", code)
}

// openPcapng reads the first SHB, whose first 4 bytes are in r.hdr.
func (r *Reader) openPcapng() error {
	r.section = -1
	_, err := r.block(4)
	return err
}

// nextBlock reads blocks up to and including the next packet block, which it
// puts in r.rec.
func (r *Reader) nextBlock() error {
	for {
		packet, err := r.block(0)
		if err != nil || packet {
			return err
		}
	}
}

// block reads and handles one block, of which the first have bytes are
// already in r.hdr. It reports whether the block was a packet, now in r.rec.
func (r *Reader) block(have int) (packet bool, err error) {
	start := r.off - int64(have)
	if n, err := r.read(r.hdr[have:8]); err != nil {
		if have+n == 0 && err == io.EOF {
			return false, io.EOF
		}
		return false, r.ioError(0, start, err, "block header", 8, have+n)
	}
	hl := 8 // header bytes read
	if binary.BigEndian.Uint32(r.hdr[:4]) == ngSHB {
		if n, err := r.read(r.hdr[8:12]); err != nil {
			return false, r.ioError(0, start, err, "SHB header", 12, 8+n)
		}
		hl = 12
		switch binary.BigEndian.Uint32(r.hdr[8:12]) {
		case ngByteOrderMagic:
			r.big = true
		case 0x4d3c2b1a:
			r.big = false
		default:
			return false, fail(0, start, "SHB byte-order magic %08x is not 1a2b3c4d in either byte order",
				binary.BigEndian.Uint32(r.hdr[8:12]))
		}
	}
	typ, length := r.u32(r.hdr[:4]), r.u32(r.hdr[4:8])
	name := blockName(typ)
	rec := 0
	if typ == ngEPB || typ == ngSPB || typ == ngPB {
		rec = r.count + 1
	}
	switch {
	case length < minBlockLen(typ):
		return false, fail(rec, start, "%s total length %d is less than the minimum of %d", name, length, minBlockLen(typ))
	case length%4 != 0:
		return false, fail(rec, start, "%s total length %d is not a multiple of 4", name, length)
	}

	switch typ {
	case ngSHB, ngIDB, ngEPB, ngSPB, ngPB:
	default: // skipped: check the framing only
		n, err := r.skip(int64(length) - int64(hl) - 4)
		if err == nil {
			var m int
			m, err = r.read(r.hdr[12:16])
			n += int64(m)
		}
		if err != nil {
			return false, r.blockCutOff(rec, start, name, length, int64(hl)+n, err)
		}
		if end := r.u32(r.hdr[12:16]); end != length {
			return false, fail(rec, start, "%s total length is %d at the start but %d at the end", name, length, end)
		}
		return false, nil
	}

	if length > maxBlockLen {
		return false, fail(rec, start, "%s total length %d is more than the maximum of %d", name, length, maxBlockLen)
	}
	r.buf = append(r.buf[:0], r.hdr[:hl]...)
	if n, err := r.readBuf(int(length) - hl); err != nil {
		return false, r.blockCutOff(rec, start, name, length, int64(hl+n), err)
	}
	switch typ {
	case ngSHB:
		err = r.sectionHeader(start)
	case ngIDB:
		err = r.interfaceDescription(start)
	case ngEPB, ngPB:
		err = r.packet(typ, start)
	case ngSPB:
		err = r.simplePacket(start)
	}
	if err != nil {
		return false, err
	}
	if end := r.u32(r.buf[length-4:]); end != length {
		return false, fail(rec, start, "%s total length is %d at the start but %d at the end", name, length, end)
	}
	if rec > 0 {
		r.count++
	}
	return rec > 0, nil
}

// blockCutOff reports a block the stream ends inside (or a read error).
func (r *Reader) blockCutOff(rec int, start int64, name string, length uint32, got int64, err error) *Error {
	cut, why := ended(err)
	if !cut {
		e := fail(rec, start, "reading %s at byte %d: %v", name, r.off, err)
		e.Err = err
		return e
	}
	e := fail(rec, start, "%s cut off: total length %d, %d bytes left%s", name, length, got, why)
	e.Err = io.ErrUnexpectedEOF
	return e
}

// option decodes the option at r.buf[at:end], the options of the block of
// type typ (record rec) that starts at byte start. It returns the option's
// code and value and where the next one starts; done is true at
// opt_endofopt or at the end of the options, which may be absent.
func (r *Reader) option(typ uint32, rec int, start int64, at, end int) (code uint16, val []byte, next int, done bool, err error) {
	if at >= end {
		return 0, nil, end, true, nil
	}
	if end-at < 4 {
		return 0, nil, 0, true, fail(rec, start, "%s option header at byte %d runs past the end of the block's options at byte %d",
			blockName(typ), start+int64(at), start+int64(end))
	}
	code, n := r.u16(r.buf[at:]), int(r.u16(r.buf[at+2:]))
	if code == optEndOfOpt {
		return 0, nil, end, true, nil
	}
	if n > end-at-4 {
		return 0, nil, 0, true, fail(rec, start, "%s %s at byte %d has length %d, which runs past the end of the block's options at byte %d (%d bytes left)",
			blockName(typ), optionName(typ, code), start+int64(at), n, start+int64(end), end-at-4)
	}
	next = min(at+4+(n+3)&^3, end)
	return code, r.buf[at+4 : at+4+n], next, false, nil
}

// sectionHeader starts a new section from the SHB in r.buf.
func (r *Reader) sectionHeader(start int64) error {
	b := r.buf
	major, minor := r.u16(b[12:14]), r.u16(b[14:16])
	if major != 1 {
		return fail(0, start, "unsupported pcapng version %d.%d (only 1.x is defined)", major, minor)
	}
	// The section length (b[16:24]) may be -1 (unknown); the reader does
	// not need it, so it does not check it.
	for at, end := 24, len(b)-4; ; {
		_, _, next, done, err := r.option(ngSHB, 0, start, at, end)
		if err != nil {
			return err
		}
		if done {
			break
		}
		at = next
	}
	r.section++
	r.ifaces = r.ifaces[:0]
	return nil
}

// interfaceDescription adds the interface of the IDB in r.buf.
func (r *Reader) interfaceDescription(start int64) error {
	b := r.buf
	f := iface{link: r.u16(b[8:10]), snaplen: r.u32(b[12:16]), units: 1e6}
	for at, end := 16, len(b)-4; ; {
		code, val, next, done, err := r.option(ngIDB, 0, start, at, end)
		if err != nil {
			return err
		}
		if done {
			break
		}
		switch code {
		case optTSResol:
			if len(val) != 1 {
				return fail(0, start, "IDB if_tsresol at byte %d has length %d, want 1", start+int64(at), len(val))
			}
			units, ok := tsUnits(val[0])
			if !ok {
				return fail(0, start, "IDB if_tsresol at byte %d is %#02x: 10^-%d or 2^-%d s is finer than 64-bit timestamps can count",
					start+int64(at), val[0], val[0], val[0]&0x7f)
			}
			f.units = units
		case optTSOffset:
			if len(val) != 8 {
				return fail(0, start, "IDB if_tsoffset at byte %d has length %d, want 8", start+int64(at), len(val))
			}
			f.offset = int64(r.u64(val))
		}
		at = next
	}
	r.ifaces = append(r.ifaces, f)
	return nil
}

// tsUnits returns the number of timestamp units per second for an
// if_tsresol value: 10^v, or 2^(v&0x7f) if the high bit is set.
func tsUnits(v byte) (uint64, bool) {
	if v&0x80 != 0 {
		e := v & 0x7f
		return 1 << e, e <= 63
	}
	if v > 19 { // 10^20 does not fit in a uint64
		return 0, false
	}
	u := uint64(1)
	for range v {
		u *= 10
	}
	return u, true
}

// packet decodes the EPB or obsolete Packet Block in r.buf into r.rec.
func (r *Reader) packet(typ uint32, start int64) error {
	b, num, name := r.buf, r.count+1, blockName(typ)
	var id int
	if typ == ngPB {
		id = int(r.u16(b[8:10]))
	} else {
		id = int(r.u32(b[8:12]))
	}
	if id >= len(r.ifaces) {
		return fail(num, start, "%s refers to interface %d, but section %d has declared %d", name, id, r.section, len(r.ifaces))
	}
	f := &r.ifaces[id]
	ts := uint64(r.u32(b[12:16]))<<32 | uint64(r.u32(b[16:20]))
	capLen, origLen := r.u32(b[20:24]), r.u32(b[24:28])
	room := uint32(len(b)) - packetHeader - 4
	switch {
	case capLen > MaxCapLen:
		return fail(num, start, "%s captured length %d is more than the maximum of %d", name, capLen, MaxCapLen)
	case capLen > origLen:
		return fail(num, start, "%s captured length %d is more than the original length %d", name, capLen, origLen)
	case capLen > room:
		return fail(num, start, "%s captured length %d does not fit in the block: total length %d leaves room for %d", name, capLen, len(b), room)
	}
	r.notes = r.notes[:0]
	for at, end := packetHeader+int(capLen+3)&^3, len(b)-4; ; {
		code, val, next, done, err := r.option(typ, num, start, at, end)
		if err != nil {
			return err
		}
		if done {
			break
		}
		if code == optComment {
			r.notes = append(r.notes, string(val))
		}
		at = next
	}
	r.rec = Record{
		Number:    num,
		Offset:    start,
		Time:      f.time(ts),
		Section:   r.section,
		Interface: id,
		LinkType:  f.link,
		CapLen:    int(capLen),
		OrigLen:   int(origLen),
		Data:      b[packetHeader : packetHeader+capLen],
		Comments:  r.notes,
	}
	return nil
}

// simplePacket decodes the SPB in r.buf into r.rec. It belongs to interface
// 0 and holds min(original length, snap length) bytes.
func (r *Reader) simplePacket(start int64) error {
	b, num := r.buf, r.count+1
	if len(r.ifaces) == 0 {
		return fail(num, start, "SPB in section %d, which has declared no interface", r.section)
	}
	f := &r.ifaces[0]
	origLen := r.u32(b[8:12])
	capLen := origLen
	if f.snaplen != 0 {
		capLen = min(capLen, f.snaplen)
	}
	room := uint32(len(b)) - 16
	switch {
	case capLen > MaxCapLen:
		return fail(num, start, "SPB captured length %d is more than the maximum of %d", capLen, MaxCapLen)
	case capLen > room:
		return fail(num, start, "SPB original length %d and snap length %d need %d bytes, but total length %d leaves room for %d",
			origLen, f.snaplen, capLen, len(b), room)
	}
	r.notes = r.notes[:0]
	r.rec = Record{
		Number:   num,
		Offset:   start,
		Time:     r.last,
		Section:  r.section,
		LinkType: f.link,
		CapLen:   int(capLen),
		OrigLen:  int(origLen),
		Data:     b[12 : 12+capLen],
		Comments: r.notes,
	}
	return nil
}
