package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"testing"
	"testing/iotest"
	"time"
)

// rec is the part of a Record that TestLayout checks.
type rec struct {
	section, iface  int
	link            uint16
	capLen, origLen int
	unixNano        int64
	comments        []string
}

// TestLayout checks what each record of the special-case captures says about
// itself, against tshark -T fields -e frame.time_epoch -e frame.interface_id
// -e frame.cap_len -e frame.len -e frame.comment (sections counted from 0).
func TestLayout(t *testing.T) {
	const t101 = 1340954905_298858000
	for _, c := range []struct {
		name, why string
		first     int // index of the first record listed
		want      []rec
	}{
		{name: "pptp.pcap", why: "big-endian pcap", want: []rec{
			{0, 0, 1, 62, 62, 954147395_148077000, nil},
			{0, 0, 1, 62, 62, 954147395_148207000, nil},
		}},
		{name: "cooper-grill-dvwa.pcapng", why: "nanosecond if_tsresol", want: []rec{
			{0, 0, 1, 66, 66, 1730145002_900383409, nil},
			{0, 0, 1, 66, 66, 1730145002_901314287, nil},
		}},
		{name: "cooper-grill-dvwa.pcapng", why: "nanosecond if_tsresol, last record", first: 63, want: []rec{
			{0, 0, 1, 66, 66, 1730145073_257679667, nil},
		}},
		{name: "pcapng-multi-interface.pcapng", why: "two interfaces: ns and µs", want: []rec{
			{0, 0, 1, 96, 96, 1767663089_500330493, nil},
			{0, 0, 1, 214, 214, 1767663089_514291940, nil},
			{0, 1, 1, 70, 70, 1767663437_111897000, nil},
			{0, 1, 1, 166, 166, 1767663437_126460000, nil},
			{0, 1, 1, 70, 70, 1767663437_128303000, nil},
			{0, 1, 1, 182, 182, 1767663437_140942000, nil},
		}},
		{name: "test101.pcapng", why: "3 interfaces, one NULL (link type 0); record 3 is an SPB snapped to 96 bytes", want: []rec{
			{0, 0, 1, 96, 314, t101, nil},
			{0, 2, 1, 128, 342, t101, nil},
			{0, 0, 1, 96, 314, t101, nil},
			{0, 1, 0, 168, 168, 1340954905_301858000, nil},
		}},
		{name: "test202.pcapng", why: "3 sections, byte order changes; records 4 and 6 are SPBs (previous record's time)", want: []rec{
			{0, 0, 1, 96, 314, t101, nil},
			{0, 0, 1, 96, 342, t101, nil},
			{0, 1, 0, 168, 168, 1340954905_301858000, nil},
			{1, 0, 1, 128, 314, 1340954905_301858000, nil},
			{1, 0, 1, 128, 342, t101, nil},
			{1, 0, 1, 128, 314, t101, nil},
			{1, 0, 1, 128, 342, t101, nil},
			{2, 1, 0, 168, 168, 1340954905_301858000, nil},
		}},
		{name: "test009.pcapng", why: "packet comments", want: []rec{
			{0, 0, 1, 314, 314, t101, []string{"test009-1"}},
			{0, 0, 1, 342, 342, 1340954905_299858000, []string{"test009-2"}},
		}},
	} {
		t.Run(c.name+": "+c.why, func(t *testing.T) {
			_, recs, err := readAll(t, load(t, c.name))
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) < c.first+len(c.want) {
				t.Fatalf("%d records, want at least %d", len(recs), c.first+len(c.want))
			}
			for i, w := range c.want {
				g := recs[c.first+i]
				got := rec{g.Section, g.Interface, g.LinkType, g.CapLen, g.OrigLen, g.Time.UnixNano(), g.Comments}
				if len(got.comments) == 0 {
					got.comments = nil
				}
				if got.section != w.section || got.iface != w.iface || got.link != w.link ||
					got.capLen != w.capLen || got.origLen != w.origLen || got.unixNano != w.unixNano ||
					!slices.Equal(got.comments, w.comments) {
					t.Errorf("record %d:\n got %+v\nwant %+v", g.Number, got, w)
				}
			}
		})
	}
}

// TestOffsets checks that every record's Offset is where its record header
// (pcap) or packet block (pcapng) starts, walking the files independently.
func TestOffsets(t *testing.T) {
	for _, f := range goodFiles {
		b := load(t, f.name)
		_, recs, err := readAll(t, b)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if f.format == "pcap" {
			var order binary.ByteOrder = binary.LittleEndian
			if b[0] == 0xa1 {
				order = binary.BigEndian
			}
			at := 24
			for _, r := range recs {
				if r.Offset != int64(at) {
					t.Errorf("%s record %d: Offset %d, want %d", f.name, r.Number, r.Offset, at)
				}
				at += 16 + int(order.Uint32(b[at+8:]))
			}
			continue
		}
		for _, r := range recs {
			typ := b[r.Offset : r.Offset+4]
			if !slices.Contains([]uint32{ngEPB, ngSPB, ngPB}, binary.LittleEndian.Uint32(typ)) &&
				!slices.Contains([]uint32{ngEPB, ngSPB, ngPB}, binary.BigEndian.Uint32(typ)) {
				t.Errorf("%s record %d: Offset %d holds % x, not a packet block type", f.name, r.Number, r.Offset, typ)
			}
		}
	}
}

// TestGzip reads a gzip of get.pcap: the same records, at the same
// (decompressed) offsets, as the plain file.
func TestGzip(t *testing.T) {
	plain := load(t, "get.pcap")
	_, want, err := readAll(t, plain)
	if err != nil {
		t.Fatal(err)
	}
	format, got, err := readAll(t, gzipped(t, plain))
	if err != nil {
		t.Fatal(err)
	}
	if format != "pcap (gzip)" {
		t.Errorf("Format() = %q, want %q", format, "pcap (gzip)")
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Offset != w.Offset || !g.Time.Equal(w.Time) || !bytes.Equal(g.Data, w.Data) || g.OrigLen != w.OrigLen {
			t.Errorf("record %d differs from the plain file's: offset %d/%d, time %v/%v", i+1, g.Offset, w.Offset, g.Time, w.Time)
		}
	}
	format, _, err = readAll(t, gzipped(t, load(t, "test009.pcapng")))
	if err != nil || format != "pcapng (gzip)" {
		t.Errorf("gzip of test009.pcapng: Format() = %q, error %v", format, err)
	}
}

// TestNanosecondPcap rewrites get.pcap as a nanosecond pcap (magic a1b23c4d,
// fractions times 1000, plus 7 ns on record 2) and in big-endian order, and
// expects the same records at the same times.
func TestNanosecondPcap(t *testing.T) {
	plain := load(t, "get.pcap")
	_, want, err := readAll(t, plain)
	if err != nil {
		t.Fatal(err)
	}
	nano := bytes.Clone(plain)
	binary.LittleEndian.PutUint32(nano, 0xa1b23c4d)
	for i, at := range pcapRecords(plain) {
		us := binary.LittleEndian.Uint32(plain[at+4:])
		binary.LittleEndian.PutUint32(nano[at+4:], us*1000+uint32(i%2*7))
	}
	big := bytes.Clone(nano)
	for _, f := range [][2]int{{0, 4}, {4, 2}, {6, 2}, {8, 4}, {12, 4}, {16, 4}, {20, 4}} {
		slices.Reverse(big[f[0] : f[0]+f[1]])
	}
	for _, at := range pcapRecords(nano) {
		for f := at; f < at+16; f += 4 {
			slices.Reverse(big[f : f+4])
		}
	}
	for name, b := range map[string][]byte{"little-endian": nano, "big-endian": big} {
		format, got, err := readAll(t, b)
		if err != nil || format != "pcap" || len(got) != len(want) {
			t.Fatalf("%s: %d records, format %q, error %v", name, len(got), format, err)
		}
		for i := range got {
			wt := want[i].Time.Add(time.Duration(i % 2 * 7))
			if !got[i].Time.Equal(wt) || !bytes.Equal(got[i].Data, want[i].Data) {
				t.Errorf("%s record %d: time %v, want %v", name, i+1, got[i].Time, wt)
			}
		}
	}
}

// TestPcapngCases reads pcapng files built block by block, for what the
// captures of testdata do not show.
func TestPcapngCases(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	w, wb := &ng{order: le}, &ng{order: be}
	d61, d5 := frame(61, 0), frame(5, 100)
	for _, c := range []struct {
		name string
		file *ng
		want []rec
		data [][]byte // if set, each record's exact Data
	}{
		{
			name: "if_tsresol 2^-20 and if_tsoffset 1000 s",
			file: (&ng{}).shb(le).idb(1, 0, w.opt(optTSResol, []byte{0x80 | 20}), w.opt(optTSOffset, le.AppendUint64(nil, 1000))).
				epb(0, 3<<20|1<<19, 61, d61),
			want: []rec{{0, 0, 1, 61, 61, 1003_500000000, nil}},
			data: [][]byte{d61},
		},
		{
			name: "if_tsresol 10^-3, 10^0 and 2^-1, negative if_tsoffset",
			file: (&ng{}).shb(be).
				idb(1, 0, wb.opt(optTSResol, []byte{3})).
				idb(1, 0, wb.opt(optTSResol, []byte{0}), wb.opt(optTSOffset, wb.u64(uint64(0xffffffffffffff9c)))).
				idb(1, 0, wb.opt(optTSResol, []byte{0x81})).
				epb(0, 1500, 5, d5).epb(1, 1100, 5, d5).epb(2, 3, 5, d5),
			want: []rec{
				{0, 0, 1, 5, 5, 1_500000000, nil},
				{0, 1, 1, 5, 5, 1000_000000000, nil},
				{0, 2, 1, 5, 5, 1_500000000, nil},
			},
		},
		{
			name: "SPB: padding removed, snapped to interface 0; first record has no time",
			file: (&ng{}).shb(le).idb(1, 0).spb(5, d5).shb(be).idb(1, 8).spb(20, frame(8, 0)),
			want: []rec{{0, 0, 1, 5, 5, 0, nil}, {1, 0, 1, 8, 20, 0, nil}},
			data: [][]byte{d5, frame(8, 0)},
		},
		{
			name: "obsolete Packet Block, with comments",
			file: (&ng{}).shb(le).idb(113, 0).idb(1, 0).pb(1, 2_000000, 70, d61, w.opt(optComment, []byte("a")), w.opt(optComment, []byte("bc"))),
			want: []rec{{0, 1, 1, 61, 70, 2_000000000, []string{"a", "bc"}}},
			data: [][]byte{d61},
		},
		{
			name: "ISB, NRB, DSB, custom and unknown blocks are skipped",
			file: (&ng{}).shb(le, w.opt(optComment, []byte("section"))).
				block(ngNRB, w.u16(0), w.u16(0)).
				idb(1, 0, w.opt(2, []byte("eth0"))).
				block(ngISB, w.u32(0), w.u32(0), w.u32(0)).
				block(ngDSB, frame(33, 0)).block(ngCB, w.u32(32473)).block(0x7fffffff).
				epb(0, 0, 5, d5).block(ngCBN, w.u32(32473), frame(100, 0)),
			want: []rec{{0, 0, 1, 5, 5, 0, nil}},
			data: [][]byte{d5},
		},
		{
			name: "a section with no packets, then one whose interfaces start again from 0",
			file: (&ng{}).shb(le).idb(1, 0).idb(1, 0).shb(le).idb(0, 0).epb(0, 1_000000, 5, d5),
			want: []rec{{1, 0, 0, 5, 5, 1_000000000, nil}},
		},
		{
			name: "no interface and no packet",
			file: (&ng{}).shb(be),
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, recs, err := readAll(t, c.file.b)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != len(c.want) {
				t.Fatalf("%d records, want %d", len(recs), len(c.want))
			}
			for i, w := range c.want {
				g := recs[i]
				got := rec{g.Section, g.Interface, g.LinkType, g.CapLen, g.OrigLen, g.Time.UnixNano(), g.Comments}
				if g.Time.IsZero() {
					got.unixNano = 0
				}
				if len(got.comments) == 0 {
					got.comments = nil
				}
				if got.section != w.section || got.iface != w.iface || got.link != w.link ||
					got.capLen != w.capLen || got.origLen != w.origLen || got.unixNano != w.unixNano ||
					!slices.Equal(got.comments, w.comments) {
					t.Errorf("record %d:\n got %+v\nwant %+v", g.Number, got, w)
				}
				if c.data != nil && !bytes.Equal(g.Data, c.data[i]) {
					t.Errorf("record %d: data % x, want % x", g.Number, g.Data, c.data[i])
				}
			}
		})
	}
}

// TestBroken checks each broken capture's error: the records read before it,
// the record number and offset, the message, and whether errors.Is reports
// io.ErrUnexpectedEOF (the file is cut off).
func TestBroken(t *testing.T) {
	get := load(t, "get.pcap")
	getRecs := pcapRecords(get) // record 14 starts at byte 6253; it has 66 bytes
	patch := func(b []byte, at int, v uint32) []byte {
		b = bytes.Clone(b)
		binary.LittleEndian.PutUint32(b[at:], v)
		return b
	}
	le := binary.LittleEndian
	w := &ng{order: le}
	good := func() *ng { return (&ng{}).shb(le).idb(1, 0) } // SHB 28 bytes, IDB 20: the next block is at byte 48
	withTail := func(f *ng, tail ...[]byte) []byte { return slices.Concat(append([][]byte{f.b}, tail...)...) }
	epb := good().epb(0, 0, 5, frame(5, 0)).b[48:] // 40 bytes: 28, 5 of data and 3 of padding, 4

	for _, c := range []struct {
		name    string
		file    []byte
		records int // read before the error; -1: any number
		want    string
		cut     bool
	}{
		// classic pcap
		{name: "libpcap's pcap-invalid-version-1.pcap", file: load(t, "pcap-invalid-version-1.pcap"),
			want: "byte 0: unsupported pcap version 1.4 (only 2.x is defined)"},
		{name: "get.pcap cut 10 bytes short", file: get[:len(get)-10], records: 13,
			want: "record 14 at byte 6253: record cut off: header says 66 bytes, 56 left", cut: true},
		{name: "get.pcap cut inside record 14's header", file: get[:getRecs[13]+7], records: 13,
			want: "record 14 at byte 6253: record header cut off: 16 bytes needed, 7 left", cut: true},
		{name: "get.pcap cut inside the file header", file: get[:20],
			want: "byte 0: pcap file header cut off: 24 bytes needed, 20 left", cut: true},
		{name: "get.pcap cut inside the magic", file: get[:3],
			want: "byte 0: file magic cut off: 4 bytes needed, 3 left", cut: true},
		{name: "empty", file: nil, want: "byte 0: empty file: no pcap or pcapng header", cut: true},
		{name: "not a capture", file: []byte("hello, world\n"),
			want: "byte 0: unknown file magic 68656c6c: not pcap (a1b2c3d4, a1b23c4d) or pcapng (0a0d0d0a)"},
		{name: "captured length over 256 KiB", file: patch(patch(get, getRecs[1]+8, 300000), getRecs[1]+12, 300000), records: 1,
			want: "record 2 at byte 118: captured length 300000 is more than the maximum of 262144"},
		{name: "captured length over the original length", file: patch(get, getRecs[2]+12, 10), records: 2,
			want: "record 3 at byte 208: captured length 66 is more than the original length 10"},
		{name: "gzip of get.pcap without its 8-byte trailer", file: func() []byte { z := gzipped(t, get); return z[:len(z)-8] }(), records: 14,
			want: "record 15 at byte 6335: record header cut off: 16 bytes needed, 0 left (the gzip stream is cut off)", cut: true},
		{name: "gzip of get.pcap cut in half", file: func() []byte { z := gzipped(t, get); return z[:len(z)/2] }(), records: -1, cut: true},

		// pcapng
		{name: "libpcap's shb-option-too-long.pcapng", file: load(t, "shb-option-too-long.pcapng"),
			want: "byte 0: SHB option 12336 at byte 24 has length 12336, which runs past the end of the block's options at byte 48 (20 bytes left)"},
		{name: "EPB on an undeclared interface", file: good().epb(1, 0, 5, frame(5, 0)).b,
			want: "record 1 at byte 48: EPB refers to interface 1, but section 0 has declared 1"},
		{name: "Packet Block on an undeclared interface", file: (&ng{}).shb(le).pb(0, 0, 5, frame(5, 0)).b,
			want: "record 1 at byte 28: Packet Block refers to interface 0, but section 0 has declared 0"},
		{name: "interfaces do not carry over to the next section", file: good().shb(le).epb(0, 0, 5, frame(5, 0)).b,
			want: "record 1 at byte 76: EPB refers to interface 0, but section 1 has declared 0"},
		{name: "SPB before any interface", file: (&ng{}).shb(le).spb(5, frame(5, 0)).b,
			want: "record 1 at byte 28: SPB in section 0, which has declared no interface"},
		{name: "SPB shorter than its original length", file: good().spb(9, frame(4, 0)).b,
			want: "record 1 at byte 48: SPB original length 9 and snap length 0 need 9 bytes, but total length 20 leaves room for 4"},
		{name: "EPB option runs past the end", file: good().block(ngEPB, w.u32(0), w.u32(0), w.u32(0), w.u32(5), w.u32(5), pad4(frame(5, 0)), w.u16(optComment), w.u16(8)).b,
			want: "record 1 at byte 48: EPB option 1 (opt_comment) at byte 84 has length 8, which runs past the end of the block's options at byte 88 (0 bytes left)"},
		{name: "EPB captured length past the block", file: good().block(ngEPB, w.u32(0), w.u32(0), w.u32(0), w.u32(9), w.u32(9), pad4(frame(5, 0))).b,
			want: "record 1 at byte 48: EPB captured length 9 does not fit in the block: total length 40 leaves room for 8"},
		{name: "EPB captured length over the original length", file: good().epb(0, 0, 4, frame(5, 0)).b,
			want: "record 1 at byte 48: EPB captured length 5 is more than the original length 4"},
		{name: "EPB total lengths differ", file: withTail(good(), epb[:36], le.AppendUint32(nil, 48)),
			want: "record 1 at byte 48: EPB total length is 40 at the start but 48 at the end"},
		{name: "custom block total lengths differ", file: withTail(good(), le.AppendUint32(nil, ngCB), le.AppendUint32(nil, 16), frame(4, 0), le.AppendUint32(nil, 20)),
			want: "byte 48: Custom Block total length is 16 at the start but 20 at the end"},
		{name: "total length not a multiple of 4", file: withTail(good(), le.AppendUint32(nil, 99), le.AppendUint32(nil, 13), frame(5, 0)),
			want: "byte 48: block of type 0x00000063 total length 13 is not a multiple of 4"},
		{name: "total length under 12", file: withTail(good(), le.AppendUint32(nil, 99), le.AppendUint32(nil, 8)),
			want: "byte 48: block of type 0x00000063 total length 8 is less than the minimum of 12"},
		{name: "EPB total length under 32", file: withTail(good(), le.AppendUint32(nil, ngEPB), le.AppendUint32(nil, 28), frame(20, 0)),
			want: "record 1 at byte 48: EPB total length 28 is less than the minimum of 32"},
		{name: "EPB runs past the end of the file", file: withTail(good(), epb[:30]),
			want: "record 1 at byte 48: EPB cut off: total length 40, 30 bytes left", cut: true},
		{name: "skipped block runs past the end of the file", file: withTail(good(), le.AppendUint32(nil, ngNRB), le.AppendUint32(nil, 1000), frame(100, 0)),
			want: "byte 48: NRB cut off: total length 1000, 108 bytes left", cut: true},
		{name: "block header cut off after a packet", file: withTail(good(), epb, epb[:6]), records: 1,
			want: "byte 88: block header cut off: 8 bytes needed, 6 left", cut: true},
		{name: "SHB byte-order magic", file: patch(good().b, 8, 0x01020304),
			want: "byte 0: SHB byte-order magic 04030201 is not 1a2b3c4d in either byte order"},
		{name: "pcapng version 2.0", file: patch(good().b, 12, 2),
			want: "byte 0: unsupported pcapng version 2.0 (only 1.x is defined)"},
		{name: "if_tsresol 10^-20", file: (&ng{}).shb(le).idb(1, 0, w.opt(optTSResol, []byte{20})).b,
			want: "byte 28: IDB if_tsresol at byte 44 is 0x14: 10^-20 or 2^-20 s is finer than 64-bit timestamps can count"},
		{name: "if_tsresol 2^-64", file: (&ng{}).shb(le).idb(1, 0, w.opt(optTSResol, []byte{0x80 | 64})).b,
			want: "byte 28: IDB if_tsresol at byte 44 is 0xc0: 10^-192 or 2^-64 s is finer than 64-bit timestamps can count"},
		{name: "if_tsoffset of 4 bytes", file: (&ng{}).shb(le).idb(1, 0, w.opt(optTSOffset, []byte{1, 2, 3, 4})).b,
			want: "byte 28: IDB if_tsoffset at byte 44 has length 4, want 8"},
		{name: "SHB cut off", file: good().b[:10],
			want: "byte 0: SHB header cut off: 12 bytes needed, 10 left", cut: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, recs, err := readAll(t, c.file)
			if c.records >= 0 && len(recs) != c.records {
				t.Errorf("read %d records before the error, want %d", len(recs), c.records)
			}
			if err == nil {
				t.Fatal("no error")
			}
			e := asError(t, err)
			if c.want != "" && e.Error() != c.want {
				t.Errorf("error\n got %q\nwant %q", e.Error(), c.want)
			}
			if got := errors.Is(err, io.ErrUnexpectedEOF); got != c.cut {
				t.Errorf("errors.Is(err, io.ErrUnexpectedEOF) = %v, want %v", got, c.cut)
			}
		})
	}
}

// TestErrorIsSticky checks that after an error or the end, Next keeps
// returning it.
func TestErrorIsSticky(t *testing.T) {
	for _, b := range [][]byte{load(t, "get.pcap"), load(t, "get.pcap")[:100]} {
		r, err := Open(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		var first error
		for first == nil {
			_, first = r.Next()
		}
		for range 3 {
			if rec, err := r.Next(); rec != nil || err != first {
				t.Errorf("Next after %v = %v, %v", first, rec, err)
			}
		}
	}
}

// TestNextAllocs checks that Next allocates nothing per record once its
// buffers have grown, for pcap and for pcapng EPBs without comments.
func TestNextAllocs(t *testing.T) {
	const n = 1200
	get := load(t, "get.pcap")
	pcap := bytes.Clone(get[:24])
	w := (&ng{}).shb(binary.LittleEndian).idb(1, 0)
	for i := range n {
		at := pcapRecords(get)[i%14]
		pcap = append(pcap, get[at:at+16+int(binary.LittleEndian.Uint32(get[at+8:]))]...)
		w.epb(0, uint64(i), 60, frame(60, byte(i)))
	}
	for name, b := range map[string][]byte{"pcap": pcap, "pcapng": w.b} {
		r, err := Open(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		for range 100 { // grow the buffers
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
		}
		allocs := testing.AllocsPerRun(1000, func() {
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per Next, want 0", name, allocs)
		}
	}
}

// TestReadError checks that a failing underlying reader, or a gzip stream
// whose checksum is wrong, gives an *Error that wraps the cause.
func TestReadError(t *testing.T) {
	get := load(t, "get.pcap")
	boom := errors.New("boom")
	z := gzipped(t, get)
	z[len(z)-8] ^= 0xff // CRC-32
	ng := load(t, "test009.pcapng")
	for _, c := range []struct {
		name    string
		in      io.Reader
		records int
		want    string
		cause   error
	}{
		{"pcap record data", io.MultiReader(bytes.NewReader(get[:100]), iotest.ErrReader(boom)), 0,
			"record 1 at byte 24: reading record data at byte 100: boom", boom},
		{"pcapng block", io.MultiReader(bytes.NewReader(ng[:200]), iotest.ErrReader(boom)), 0,
			"record 1 at byte 128: reading EPB at byte 200: boom", boom},
		{"pcapng skipped block", io.MultiReader(bytes.NewReader(load(t, "test101.pcapng")[:600]), iotest.ErrReader(boom)), 2,
			"byte 580: reading ISB at byte 600: boom", boom},
		{"gzip checksum", bytes.NewReader(z), 14,
			"record 15 at byte 6335: reading record header at byte 6335: gzip: invalid checksum", gzip.ErrChecksum},
	} {
		r, err := Open(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		n := 0
		for ; ; n++ {
			if _, err = r.Next(); err != nil {
				break
			}
		}
		if n != c.records || err.Error() != c.want || !errors.Is(err, c.cause) {
			t.Errorf("%s: after %d records, error %q (cause %v), want %d records, %q", c.name, n, err, c.cause, c.records, c.want)
		}
	}
}
