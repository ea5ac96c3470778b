package ipv4

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/stack/timer"
	"github.com/mtcp-go/mtcp/stack/wire"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// frag builds a fragment with the given offset (bytes), MF flag and data.
func frag(id uint16, off int, more bool, data []byte) wire.IPv4 {
	f := wire.IPv4Fields{ID: id, FragmentOffset: off, TTL: 64, Protocol: 253,
		Source: netip.MustParseAddr("198.18.0.1"), Destination: netip.MustParseAddr("198.18.0.2")}
	if more {
		f.Flags = wire.IPv4MoreFragments
	}
	b := make([]byte, 20+len(data))
	copy(b[20:], data)
	f.Encode(b, len(data))
	p, err := wire.ParseIPv4(b)
	if err != nil {
		panic(err)
	}
	return p
}

func newReassembler(cfg ReassemblyConfig) (*Reassembler, *timer.Heap, *[][]byte) {
	var h timer.Heap
	var quotes [][]byte
	r := NewReassembler(cfg.WithDefaults(), &h, func(_ time.Time, q []byte) { quotes = append(quotes, q) })
	return r, &h, &quotes
}

func TestReassembledDatagramHasCleanHeader(t *testing.T) {
	data := bytes.Repeat([]byte("abcdefgh"), 5)
	// Overlap with other extents: the datagram is dropped, and so are its later fragments.
	r, _, _ := newReassembler(ReassemblyConfig{})
	r.Add(t0, frag(1, 0, true, data[:16]))
	if r.Add(t0, frag(1, 8, true, data[8:24])) != nil || r.Stats().Overlaps != 1 || r.Bytes() != 0 {
		t.Fatalf("overlap: %+v, %d bytes held", r.Stats(), r.Bytes())
	}
	if r.Add(t0, frag(1, 16, false, data[16:])) != nil {
		t.Fatal("a poisoned datagram completed")
	}
	// An exact duplicate is ignored, not an overlap.
	r, _, _ = newReassembler(ReassemblyConfig{})
	r.Add(t0, frag(3, 0, true, data[:16]))
	r.Add(t0, frag(3, 0, true, data[:16]))
	if r.Stats().Duplicates != 1 || r.Add(t0, frag(3, 16, false, data[16:])) == nil {
		t.Fatalf("duplicate handling: %+v", r.Stats())
	}

	r, _, _ = newReassembler(ReassemblyConfig{})
	r.Add(t0, frag(2, 16, false, data[16:]))
	p := r.Add(t0, frag(2, 0, true, data[:16]))
	if p == nil {
		t.Fatal("not reassembled")
	}
	if !bytes.Equal(p.Payload(), data) || p.IsFragment() || !p.ChecksumValid() || int(p.TotalLength()) != 20+len(data) {
		t.Fatalf("reassembled: fragment %v, checksum %v, length %d, data %q", p.IsFragment(), p.ChecksumValid(), p.TotalLength(), p.Payload())
	}
	if r.Pending() != 0 || r.Bytes() != 0 {
		t.Fatal("state left after completion")
	}
}

func TestMalformedFragmentsAreRefused(t *testing.T) {
	cases := map[string][]wire.IPv4{
		"MF with data not a multiple of 8": {frag(1, 0, true, make([]byte, 12))},
		"MF with no data":                  {frag(1, 0, true, nil)},
		"past 65535":                       {frag(1, 65528, false, make([]byte, 16))},
		"two different ends":               {frag(1, 8, false, make([]byte, 8)), frag(1, 16, false, make([]byte, 8))},
		"data past the end":                {frag(1, 8, false, make([]byte, 8)), frag(1, 16, true, make([]byte, 8))},
	}
	for name, frags := range cases {
		r, _, _ := newReassembler(ReassemblyConfig{})
		for _, f := range frags {
			if r.Add(t0, f) != nil {
				t.Errorf("%s: produced a datagram", name)
			}
		}
		if r.Stats().Malformed != 1 {
			t.Errorf("%s: malformed = %d, want 1", name, r.Stats().Malformed)
		}
	}
}

func TestTimeoutQuotesFragmentZeroOnly(t *testing.T) {
	r, h, quotes := newReassembler(ReassemblyConfig{Timeout: 30 * time.Second})
	r.Add(t0, frag(1, 0, true, bytes.Repeat([]byte{7}, 16)))
	r.Add(t0, frag(2, 8, true, bytes.Repeat([]byte{7}, 16)))
	h.Fire(t0.Add(30*time.Second - 1))
	if len(*quotes) != 0 || r.Pending() != 2 {
		t.Fatal("timed out early")
	}
	h.Fire(t0.Add(30 * time.Second))
	if len(*quotes) != 1 || r.Pending() != 0 || r.Bytes() != 0 || r.Stats().TimedOut != 2 {
		t.Fatalf("%d quotes, %d pending; want 1 quote (datagram 1 only), none pending", len(*quotes), r.Pending())
	}
	q := (*quotes)[0]
	if len(q) != 28 || binary.BigEndian.Uint16(q[4:]) != 1 {
		t.Fatalf("quote %x: want datagram 1's header and 8 bytes", q)
	}
}

func TestDatagramCountIsBounded(t *testing.T) {
	r, _, _ := newReassembler(ReassemblyConfig{MaxDatagrams: 3})
	for id := range uint16(10) {
		r.Add(t0.Add(time.Duration(id)*time.Millisecond), frag(id, 0, true, make([]byte, 8)))
	}
	if r.Pending() != 3 || r.Stats().Evicted != 7 {
		t.Fatalf("%d pending, %d evicted; want 3, 7", r.Pending(), r.Stats().Evicted)
	}
	// The newest three survive: completing datagram 9 works, datagram 0 is gone.
	if r.Add(t0, frag(9, 8, false, make([]byte, 8))) == nil {
		t.Fatal("the newest datagram was evicted")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []ReassemblyConfig{{MaxBytes: 100}, {MaxDatagrams: -1}, {Timeout: time.Millisecond}} {
		if err := c.WithDefaults().Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
