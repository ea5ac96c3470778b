package capture

import (
	"encoding/binary"
	"io"
	"time"
)

// Classic pcap: a 24-byte file header, then records of a 16-byte header and
// the captured bytes. Format: draft-ietf-opsawg-pcap.

const (
	pcapFileHeaderLen   = 24
	pcapRecordHeaderLen = 16
)

// openPcap reads the rest of the file header; its magic is in r.hdr[:4].
func (r *Reader) openPcap() error {
	if n, err := r.read(r.hdr[4:pcapFileHeaderLen]); err != nil {
		return r.ioError(0, 0, err, "pcap file header", pcapFileHeaderLen, 4+n)
	}
	switch binary.BigEndian.Uint32(r.hdr[:4]) {
	case 0xa1b2c3d4:
		r.big = true
	case 0xa1b23c4d:
		r.big, r.nanos = true, true
	case 0x4d3cb2a1:
		r.nanos = true
	}
	major, minor := r.u16(r.hdr[4:6]), r.u16(r.hdr[6:8])
	if major != 2 {
		return fail(0, 0, "unsupported pcap version %d.%d (only 2.x is defined)", major, minor)
	}
	// The snap length (r.hdr[16:20]) is not checked against the records:
	// writers that do not truncate to the length they declare exist (the
	// test corpus has two), and libpcap and Wireshark read their records.
	// The upper 16 bits of the link type field hold FCS information.
	r.link = uint16(r.u32(r.hdr[20:24]))
	return nil
}

// nextPcap reads one record into r.rec.
func (r *Reader) nextPcap() error {
	num, start := r.count+1, r.off
	h := r.hdr[:pcapRecordHeaderLen]
	if n, err := r.read(h); err != nil {
		if n == 0 && err == io.EOF {
			return err // io.EOF: the clean end
		}
		return r.ioError(num, start, err, "record header", pcapRecordHeaderLen, n)
	}
	sec, frac := r.u32(h[0:4]), r.u32(h[4:8])
	capLen, origLen := r.u32(h[8:12]), r.u32(h[12:16])
	switch {
	case capLen > MaxCapLen:
		return fail(num, start, "captured length %d is more than the maximum of %d", capLen, MaxCapLen)
	case capLen > origLen:
		return fail(num, start, "captured length %d is more than the original length %d", capLen, origLen)
	}
	data, ok := r.peek(int(capLen))
	if !ok {
		r.buf = r.buf[:0]
		if n, err := r.readBuf(int(capLen)); err != nil {
			if cut, why := ended(err); cut {
				e := fail(num, start, "record cut off: header says %d bytes, %d left%s", capLen, n, why)
				e.Err = io.ErrUnexpectedEOF
				return e
			}
			return r.ioError(num, start, err, "record data", int(capLen), n)
		}
		data = r.buf
	}
	nsec := int64(frac)
	if !r.nanos {
		nsec *= 1000
	}
	r.count++
	r.rec = Record{
		Number:   num,
		Offset:   start,
		Time:     time.Unix(int64(sec), nsec).UTC(),
		LinkType: r.link,
		CapLen:   int(capLen),
		OrigLen:  int(origLen),
		Data:     data,
	}
	return nil
}
