package replay

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/harness"
)

// writtenLog keeps what a contiguous buffer would: the same bytes at the same offsets, the
// same first differing byte, after drops and resets.
func TestWrittenLogIsABuffer(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var w writtenLog
	var ref []byte
	for round := range 2000 {
		switch op := rng.IntN(10); {
		case op < 6:
			p := make([]byte, rng.IntN(3000))
			for i := range p {
				p[i] = byte(rng.IntN(4))
			}
			w.append(p)
			ref = append(ref, p...)
		case op < 8 && len(ref) > 0:
			n := rng.IntN(len(ref) + 1)
			w.drop(n)
			ref = ref[n:]
		case op == 8 && rng.IntN(20) == 0:
			w.reset()
			ref = nil
		default:
			if len(ref) == 0 {
				continue
			}
			off := rng.IntN(len(ref))
			p := append([]byte(nil), ref[off:off+rng.IntN(len(ref)-off+1)]...)
			want := -1
			if len(p) > 0 && rng.IntN(2) == 0 {
				want = rng.IntN(len(p))
				p[want] ^= 0x80
			}
			if got := w.mismatch(off, p); got != want {
				t.Fatalf("round %d: mismatch(%d, %d bytes) = %d, want %d", round, off, len(p), got, want)
			}
		}
		if w.Len() != len(ref) || !bytes.Equal(w.bytes(), ref) {
			t.Fatalf("round %d: %d bytes kept, want %d (or different bytes)", round, w.Len(), len(ref))
		}
	}
}

// keep copies: the recorded payload's buffer can change afterwards. The full-sized slabs of a
// finished conversation go to the next one, and nothing else does.
func TestConvKeepCopies(t *testing.T) {
	e := &engine{}
	c := &conv{e: e}
	buf := []byte("abcdef")
	a := c.keep(buf)
	b := c.keep(buf[:3])
	copy(buf, "zzzzzz")
	if string(a) != "abcdef" || string(b) != "abc" || cap(a) != len(a) {
		t.Fatalf("kept %q %q (cap %d)", a, b, cap(a))
	}
	big := c.keep(make([]byte, 100<<10))
	if len(big) != 100<<10 {
		t.Fatal(len(big))
	}
	seg := bytes.Repeat([]byte{7}, 1448)
	for range 200 {
		c.keep(seg)
	}
	if len(c.slabs) == 0 {
		t.Fatal("no full-sized slab after 290 KB")
	}
	full := len(c.slabs)
	c.freeSlabs()
	if len(e.spareSlabs) != full || c.slab != nil || c.slabs != nil {
		t.Fatalf("%d spare slabs, want %d", len(e.spareSlabs), full)
	}
	d := &conv{e: e}
	for range 100 {
		if p := d.keep(seg); !bytes.Equal(p, seg) {
			t.Fatal("a slab used again gives back other bytes")
		}
	}
	if len(e.spareSlabs) >= full {
		t.Errorf("%d spare slabs left of %d: none used again", len(e.spareSlabs), full)
	}
}

// optionString renders options as it did with fmt and strings.Join.
func TestOptionStringAsBefore(t *testing.T) {
	old := func(opts []layers.TCPOption) string {
		var parts []string
		for _, o := range opts {
			switch o.OptionType {
			case layers.TCPOptionKindMSS:
				if len(o.OptionData) == 2 {
					parts = append(parts, fmt.Sprintf("mss %d", binary.BigEndian.Uint16(o.OptionData)))
				}
			case layers.TCPOptionKindWindowScale:
				if len(o.OptionData) == 1 {
					parts = append(parts, fmt.Sprintf("wscale %d", o.OptionData[0]))
				}
			default:
				parts = append(parts, optionName(byte(o.OptionType)))
			}
		}
		return strings.Join(parts, ",")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	kinds := []layers.TCPOptionKind{0, 1, 2, 3, 4, 5, 8, 30, 254}
	for range 5000 {
		var opts []layers.TCPOption
		for range rng.IntN(12) {
			o := layers.TCPOption{OptionType: kinds[rng.IntN(len(kinds))]}
			o.OptionData = make([]byte, rng.IntN(4))
			for i := range o.OptionData {
				o.OptionData[i] = byte(rng.IntN(256))
			}
			opts = append(opts, o)
		}
		if got, want := optionString(opts), old(opts); got != want {
			t.Fatalf("%v: %q, want %q", opts, got, want)
		}
	}
	nopTS := []layers.TCPOption{{OptionType: 1}, {OptionType: 1}, {OptionType: 8, OptionData: make([]byte, 8)}}
	if n := testing.AllocsPerRun(100, func() { optionString(nopTS) }); n != 0 {
		t.Errorf("nop,nop,TS: %v allocations", n)
	}
}

// checksumUpdate gives what harness.SetTCPChecksum gives over the rewritten segment, for any
// header words changed.
func TestChecksumUpdateIsARecomputation(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	ip := make([]byte, 20)
	for range 20000 {
		for i := range ip {
			ip[i] = byte(rng.IntN(256))
		}
		hl := 20 + 4*rng.IntN(11)
		seg := make([]byte, hl+rng.IntN(200))
		for i := range seg {
			switch rng.IntN(4) {
			case 0:
				seg[i] = 0
			case 1:
				seg[i] = 0xff
			default:
				seg[i] = byte(rng.IntN(256))
			}
		}
		seg[12] = byte(hl/4) << 4
		harness.SetTCPChecksum(ip, seg)
		right := binary.BigEndian.Uint16(seg[16:])
		old := append([]byte(nil), seg[:hl]...)
		for range rng.IntN(6) {
			i := rng.IntN(hl)
			if i == 12 || i == 16 || i == 17 {
				continue
			}
			seg[i] = []byte{0, 0xff, byte(rng.IntN(256))}[rng.IntN(3)]
		}
		got := checksumUpdate(right, old, seg[:hl])
		harness.SetTCPChecksum(ip, seg)
		if want := binary.BigEndian.Uint16(seg[16:]); got != want {
			t.Fatalf("updated checksum %#04x, recomputed %#04x", got, want)
		}
	}
}
