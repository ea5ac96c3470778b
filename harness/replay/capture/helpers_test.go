package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// load returns a file of testdata/.
func load(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readAll opens b and reads every record, copying each one. err is nil at a
// clean end, else the error of Open or Next.
func readAll(t testing.TB, b []byte) (format string, recs []Record, err error) {
	t.Helper()
	r, err := Open(bytes.NewReader(b))
	if err != nil {
		return "", nil, err
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return r.Format(), recs, nil
		}
		if err != nil {
			return r.Format(), recs, err
		}
		c := *rec
		c.Data = bytes.Clone(rec.Data)
		c.Comments = slices.Clone(rec.Comments)
		recs = append(recs, c)
	}
}

// asError returns err as an *Error, failing the test if it is not one.
func asError(t testing.TB, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *capture.Error", err, err)
	}
	return e
}

// gzipped compresses b.
func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pcapRecords walks the record headers of a little-endian classic pcap by
// hand (independently of the reader) and returns where each record starts.
func pcapRecords(b []byte) []int {
	var offs []int
	for at := 24; at+16 <= len(b); {
		offs = append(offs, at)
		at += 16 + int(binary.LittleEndian.Uint32(b[at+8:]))
	}
	return offs
}

// ng builds pcapng files block by block, for cases no capture in testdata
// has (and no pcapng writer would produce). Each section has its own byte
// order.
type ng struct {
	b     []byte
	order binary.AppendByteOrder
}

// u16, u32 and u64 encode in the current section's byte order.
func (w *ng) u16(v uint16) []byte { return w.order.AppendUint16(nil, v) }
func (w *ng) u32(v uint32) []byte { return w.order.AppendUint32(nil, v) }
func (w *ng) u64(v uint64) []byte { return w.order.AppendUint64(nil, v) }

// opt encodes one option, padded to 4 bytes.
func (w *ng) opt(code uint16, val []byte) []byte {
	o := append(append(w.u16(code), w.u16(uint16(len(val)))...), val...)
	for len(o)%4 != 0 {
		o = append(o, 0)
	}
	return o
}

// opts encodes options followed by opt_endofopt, or nothing if there are none.
func (w *ng) opts(opts ...[]byte) []byte {
	if len(opts) == 0 {
		return nil
	}
	return append(slices.Concat(opts...), w.opt(0, nil)...)
}

// block appends a block: type, total length, body padded to 4, total length.
func (w *ng) block(typ uint32, body ...[]byte) *ng {
	bd := slices.Concat(body...)
	for len(bd)%4 != 0 {
		bd = append(bd, 0)
	}
	n := uint32(12 + len(bd))
	w.b = slices.Concat(w.b, w.u32(typ), w.u32(n), bd, w.u32(n))
	return w
}

// shb starts a section in the given byte order.
func (w *ng) shb(order binary.AppendByteOrder, opts ...[]byte) *ng {
	w.order = order
	return w.block(ngSHB, w.u32(ngByteOrderMagic), w.u16(1), w.u16(0), w.u64(^uint64(0)), w.opts(opts...))
}

// idb declares an interface.
func (w *ng) idb(link uint16, snaplen uint32, opts ...[]byte) *ng {
	return w.block(ngIDB, w.u16(link), w.u16(0), w.u32(snaplen), w.opts(opts...))
}

// epb appends an Enhanced Packet Block.
func (w *ng) epb(id uint32, ts uint64, orig uint32, data []byte, opts ...[]byte) *ng {
	return w.block(ngEPB, w.u32(id), w.u32(uint32(ts>>32)), w.u32(uint32(ts)),
		w.u32(uint32(len(data))), w.u32(orig), pad4(data), w.opts(opts...))
}

// pb appends an obsolete Packet Block.
func (w *ng) pb(id uint16, ts uint64, orig uint32, data []byte, opts ...[]byte) *ng {
	return w.block(ngPB, w.u16(id), w.u16(0), w.u32(uint32(ts>>32)), w.u32(uint32(ts)),
		w.u32(uint32(len(data))), w.u32(orig), pad4(data), w.opts(opts...))
}

// spb appends a Simple Packet Block holding data.
func (w *ng) spb(orig uint32, data []byte) *ng {
	return w.block(ngSPB, w.u32(orig), data)
}

// pad4 pads b with zeros to a multiple of 4 bytes.
func pad4(b []byte) []byte {
	return append(slices.Clone(b), make([]byte, (4-len(b)%4)%4)...)
}

// frame returns n bytes 0, 1, 2, ... (mod 256) starting at first.
func frame(n int, first byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = first + byte(i)
	}
	return b
}
