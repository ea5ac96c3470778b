package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"testing"
)

// FuzzOpen feeds arbitrary bytes to Open and Next: they must not panic, and
// the reader must end with io.EOF or an *Error, keep returning it, and hand
// out only records that agree with themselves.
func FuzzOpen(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if b, err := os.ReadFile("testdata/" + e.Name()); err == nil && e.Name() != "SOURCES.md" {
			f.Add(b)
		}
	}
	get := load(f, "get.pcap")
	f.Add(gzipped(f, get))
	f.Add(gzipped(f, load(f, "test202.pcapng")))
	f.Add(get[:len(get)-10])
	le, be := binary.LittleEndian, binary.BigEndian
	w := &ng{order: be}
	f.Add((&ng{}).shb(be).idb(1, 64, w.opt(optTSResol, []byte{0x94}), w.opt(optTSOffset, w.u64(7))).
		epb(0, 1<<40, 70, frame(61, 0), w.opt(optComment, []byte("c"))).spb(100, frame(64, 0)).
		pb(0, 5, 5, frame(5, 0)).block(ngISB, w.u32(0)).shb(le).idb(0, 0).spb(3, frame(3, 0)).b)

	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open(bytes.NewReader(data))
		if err != nil {
			if e := (*Error)(nil); !errors.As(err, &e) || e.Record != 0 {
				t.Fatalf("Open: %v (%T), want an *Error for record 0", err, err)
			}
			return
		}
		gz := r.Format() == "pcap (gzip)" || r.Format() == "pcapng (gzip)"
		last := int64(-1)
		for n := 1; ; n++ {
			rec, err := r.Next()
			if err != nil {
				var e *Error
				if err != io.EOF && !errors.As(err, &e) {
					t.Fatalf("Next: %v (%T), want io.EOF or an *Error", err, err)
				}
				if e != nil && (e.Offset < 0 || !gz && e.Offset > int64(len(data)) || e.Record != 0 && e.Record != n) {
					t.Fatalf("error %q: record %d, offset %d, after %d records of %d bytes", e, e.Record, e.Offset, n-1, len(data))
				}
				if _, again := r.Next(); again != err {
					t.Fatalf("Next after %v returned %v", err, again)
				}
				return
			}
			if rec.Number != n || rec.Offset <= last || len(rec.Data) != rec.CapLen ||
				rec.CapLen > rec.OrigLen || rec.CapLen > MaxCapLen || !gz && rec.Offset+int64(rec.CapLen) > int64(len(data)) {
				t.Fatalf("record %d: %+v after offset %d", n, *rec, last)
			}
			last = rec.Offset
		}
	})
}
