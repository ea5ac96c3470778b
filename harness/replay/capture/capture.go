// Package capture reads Wireshark captures (classic pcap and pcapng, plain or
// gzip-compressed) as a stream, one packet record at a time, and reports a
// broken file precisely: every error is an *Error that names the record number
// and the byte offset where the bad record or block starts.
//
// It exists because gopacket's pcapgo, which remains the writer and the
// cross-check in this package's tests, reports a broken file with no record
// number or byte offset (a cut-off file is a bare "unexpected EOF") and reads
// ahead through its own buffer, so a caller cannot locate the fault either.
//
// What it reads:
//
//   - pcap: magics a1b2c3d4 (microseconds) and a1b23c4d (nanoseconds) in
//     either byte order; only major version 2 is accepted.
//   - pcapng: any number of sections, each with its own byte order and
//     interfaces; Enhanced, Simple and (obsolete) Packet Blocks are returned,
//     with if_tsresol and if_tsoffset applied; all other blocks (statistics,
//     name resolution, decryption secrets, custom, unknown) are skipped by
//     their length after the framing is checked.
//   - gzip: either format inside, decompressed on the fly.
//
// A record's captured length must not exceed 256 KiB (MaxCapLen) nor its
// original length. Like libpcap and Wireshark, the reader does not hold
// records to the snap length of their file or interface, which some writers
// declare and then ignore; it uses the snap length only to size the data of a
// Simple Packet Block. The SHB's section length is not checked (it may be -1).
//
// Offsets are counted as the reader parses, so they are exact although the
// input is buffered. The reader never panics on bad input and in steady state
// allocates nothing per record: the Record and its Data are reused by the
// next call to Next. It does not write captures, and it does not decode the
// packets it returns.
package capture

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// MaxCapLen is the largest captured length a record may have (Wireshark's
// and libpcap's limit for most link types). A bigger one is reported as an
// error: it is almost always a corrupt length field.
const MaxCapLen = 256 << 10

// bufSize is the size of the reader's buffer: a pcap record's data up to it are returned
// from the buffer itself (peek), not copied.
const bufSize = 256 << 10

// maxBlockLen is the largest pcapng block the reader parses (Enhanced, Simple
// and Packet Blocks, section and interface headers). Blocks it skips may be
// any length.
const maxBlockLen = 16 << 20

// Record is one packet read from a capture. It and its slices are valid until
// the next call to Next.
type Record struct {
	// Number counts packet records from 1 (pcap records; pcapng Enhanced,
	// Simple and Packet Blocks), across all sections.
	Number int
	// Offset is the byte offset where the record (pcap) or block (pcapng)
	// starts, in the decompressed stream.
	Offset int64
	// Time is the capture time in UTC, with the interface's if_tsresol and
	// if_tsoffset applied. A Simple Packet Block has no time: it gets the time
	// of the record before it (the zero Time if there is none).
	Time time.Time
	// Section is the pcapng section, from 0 (pcap: 0).
	Section int
	// Interface is the interface index within its section (pcap: 0).
	Interface int
	// LinkType is the interface's link type (1 = Ethernet, 0 = NULL/loopback).
	LinkType uint16
	// CapLen is the number of bytes captured, len(Data).
	CapLen int
	// OrigLen is the length of the packet on the wire.
	OrigLen int
	// Data is the captured bytes, exactly CapLen of them (no padding).
	Data []byte
	// Comments are the packet block's opt_comment options (pcapng).
	Comments []string
}

// Error is a broken capture, located by record and byte offset.
type Error struct {
	// Record is the number of the packet record being read, from 1, or 0 if
	// the error is in the file header or in a pcapng block that is not a
	// packet block.
	Record int
	// Offset is where that record, block or file header starts, in the
	// decompressed stream.
	Offset int64
	// Msg says what is wrong, and for errors inside a record or block, at
	// which byte.
	Msg string
	// Err is the underlying error, if any: io.ErrUnexpectedEOF for a file
	// that ends inside a record, or the error of the underlying reader.
	Err error
}

// Error returns "record 14 at byte 6321: message", or "byte 0: message" when
// the error is not in a packet record.
func (e *Error) Error() string {
	if e.Record > 0 {
		return fmt.Sprintf("record %d at byte %d: %s", e.Record, e.Offset, e.Msg)
	}
	return fmt.Sprintf("byte %d: %s", e.Offset, e.Msg)
}

// Unwrap returns the underlying error, so that errors.Is(err,
// io.ErrUnexpectedEOF) reports a capture cut off inside a record.
func (e *Error) Unwrap() error { return e.Err }

// Reader reads the records of one capture.
type Reader struct {
	in     *bufio.Reader
	off    int64 // bytes consumed from in
	gzip   bool
	pcapng bool
	big    bool  // byte order of the file (pcap) or current section (pcapng)
	err    error // sticky: io.EOF or *Error once the stream has ended
	count  int   // packet records returned so far
	rec    Record
	buf    []byte   // the current record's data (pcap) or block (pcapng)
	hdr    [24]byte // file, record and block headers
	notes  []string // backing store for rec.Comments

	// pcap
	nanos bool
	link  uint16

	// pcapng
	section int
	ifaces  []iface
	last    time.Time // time of the previous record, for Simple Packet Blocks
}

// Format returns "pcap" or "pcapng", with " (gzip)" appended if the stream
// was compressed.
func (r *Reader) Format() string {
	f := "pcap"
	if r.pcapng {
		f = "pcapng"
	}
	if r.gzip {
		f += " (gzip)"
	}
	return f
}

// Open reads the start of a capture and detects its format from the first
// bytes: gzip (1f 8b, decompressed on the fly), pcap (a1b2c3d4 or a1b23c4d in
// either byte order) or pcapng (0a0d0d0a). Anything else is an *Error naming
// the magic. r is read through a buffer; the Reader owns it from then on.
func Open(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, bufSize)
	rd := &Reader{in: br}
	if m, _ := br.Peek(2); len(m) == 2 && m[0] == 0x1f && m[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &Error{Msg: "reading the gzip header: " + err.Error(), Err: err}
		}
		rd.in = bufio.NewReaderSize(gzipStream{zr}, bufSize)
		rd.gzip = true
	}
	n, err := rd.read(rd.hdr[:4])
	if err != nil {
		if n == 0 && err == io.EOF {
			return nil, &Error{Msg: "empty file: no pcap or pcapng header", Err: io.ErrUnexpectedEOF}
		}
		return nil, rd.ioError(0, 0, err, "file magic", 4, n)
	}
	magic := binary.BigEndian.Uint32(rd.hdr[:4])
	switch magic {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		if err := rd.openPcap(); err != nil {
			return nil, err
		}
	case ngSHB:
		rd.pcapng = true
		if err := rd.openPcapng(); err != nil {
			return nil, err
		}
	default:
		return nil, &Error{Msg: fmt.Sprintf("unknown file magic %08x: not pcap (a1b2c3d4, a1b23c4d) or pcapng (0a0d0d0a)", magic)}
	}
	return rd, nil
}

// Next returns the next packet record. At the clean end of the capture it
// returns io.EOF; for a broken capture, an *Error. Either is returned again by
// every later call.
func (r *Reader) Next() (*Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	var err error
	if r.pcapng {
		err = r.nextBlock()
	} else {
		err = r.nextPcap()
	}
	if err != nil {
		r.err = err
		return nil, err
	}
	r.last = r.rec.Time
	return &r.rec, nil
}

// read fills p from the stream and returns how many bytes it got: io.EOF if
// none, io.ErrUnexpectedEOF if some.
func (r *Reader) read(p []byte) (int, error) {
	n, err := io.ReadFull(r.in, p)
	r.off += int64(n)
	return n, err
}

// readBuf reads n more bytes onto the end of r.buf. It grows the buffer only
// as the bytes arrive, so a corrupt length cannot make it allocate more than
// about twice what the stream holds.
func (r *Reader) readBuf(n int) (int, error) {
	want := len(r.buf) + n
	got := 0
	for len(r.buf) < want {
		if len(r.buf) == cap(r.buf) {
			grow := min(want, 2*cap(r.buf)+4096)
			nb := make([]byte, len(r.buf), grow)
			copy(nb, r.buf)
			r.buf = nb
		}
		end := min(want, cap(r.buf))
		m, err := r.read(r.buf[len(r.buf):end])
		r.buf = r.buf[:len(r.buf)+m]
		got += m
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return got, err
		}
	}
	return got, nil
}

// peek returns the next n bytes where the buffered input holds them, and consumes them: no
// copy. They are valid until the next read, that is, until the next call to Next. It returns
// false, having consumed nothing, when they are not all there (more than the buffer holds, or
// the stream ends or fails first): readBuf then reads them, and says what went wrong.
func (r *Reader) peek(n int) ([]byte, bool) {
	b, err := r.in.Peek(n)
	if err != nil {
		return nil, false
	}
	if _, err := r.in.Discard(n); err != nil {
		return nil, false // cannot happen: Peek had them
	}
	r.off += int64(n)
	return b[:n:n], true
}

// skip discards n bytes and returns how many it could.
func (r *Reader) skip(n int64) (int64, error) {
	var done int64
	for done < n {
		m, err := r.in.Discard(int(min(n-done, 1<<30)))
		done += int64(m)
		r.off += int64(m)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return done, err
		}
	}
	return done, nil
}

// fail builds an *Error for the record rec (0: not a packet record) that
// starts at byte off.
func fail(rec int, off int64, format string, args ...any) *Error {
	return &Error{Record: rec, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// ioError reports a read of what (need bytes) that got only got bytes:
// the stream ended early, or the underlying reader failed.
func (r *Reader) ioError(rec int, off int64, err error, what string, need, got int) *Error {
	if cut, why := ended(err); cut {
		e := fail(rec, off, "%s cut off: %d bytes needed, %d left%s", what, need, got, why)
		e.Err = io.ErrUnexpectedEOF
		return e
	}
	e := fail(rec, off, "reading %s at byte %d: %v", what, r.off, err)
	e.Err = err
	return e
}

// ended reports whether a read error means that the stream ended early, and
// if it was the gzip stream that broke off, a note saying so.
func ended(err error) (bool, string) {
	switch err {
	case io.EOF, io.ErrUnexpectedEOF:
		return true, ""
	case errGzipCutOff:
		return true, " (the gzip stream is cut off)"
	}
	return false, ""
}

// errGzipCutOff is compress/gzip's io.ErrUnexpectedEOF, renamed so that a
// gzip stream that ends early is told apart from a capture that does.
var errGzipCutOff = errors.New("gzip stream cut off")

// gzipStream renames the io.ErrUnexpectedEOF of a gzip reader.
type gzipStream struct{ r io.Reader }

// Read reads decompressed bytes.
func (g gzipStream) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err == io.ErrUnexpectedEOF {
		err = errGzipCutOff
	}
	return n, err
}

// u16, u32 and u64 decode in the byte order of the file or section.
func (r *Reader) u16(b []byte) uint16 {
	if r.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *Reader) u32(b []byte) uint32 {
	if r.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *Reader) u64(b []byte) uint64 {
	if r.big {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}
