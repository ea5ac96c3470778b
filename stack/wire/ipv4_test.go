package wire_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// ipv4FieldsEqual compares IPv4Fields, treating nil and empty Options alike.
func ipv4FieldsEqual(a, b wire.IPv4Fields) bool {
	return a.TOS == b.TOS && a.ID == b.ID && a.Flags == b.Flags && a.FragmentOffset == b.FragmentOffset &&
		a.TTL == b.TTL && a.Protocol == b.Protocol && a.Source == b.Source && a.Destination == b.Destination &&
		bytes.Equal(a.Options, b.Options)
}

// encodeIPv4 builds a datagram from f and payload.
func encodeIPv4(f wire.IPv4Fields, payload []byte) []byte {
	b := make([]byte, f.HeaderLen()+len(payload))
	copy(b[f.HeaderLen():], payload)
	f.Encode(b, len(payload))
	return b
}

// padTo4 returns b padded with zeros to a multiple of 4 bytes.
func padTo4(b []byte) []byte { return append(append([]byte{}, b...), make([]byte, (4-len(b)%4)%4)...) }

func TestIPv4RoundTrip(t *testing.T) {
	routerAlert := []byte{0x94, 0x04, 0x00, 0x00}                         // RFC 2113, already 4 bytes
	recordRoute := []byte{0x07, 0x07, 0x04, 0, 0, 0, 0}                   // 7 bytes, padded to 8
	recordRoute9 := append([]byte{0x07, 0x27, 0x04}, make([]byte, 36)...) // 39 bytes, padded to 40
	for i, tc := range []struct {
		f       wire.IPv4Fields
		payload []byte
	}{
		{wire.IPv4Fields{ID: 1, Flags: wire.IPv4DontFragment, TTL: 64, Protocol: wire.ProtocolTCP, Source: addrA, Destination: addrB}, nil},
		{wire.IPv4Fields{TOS: 0xb9, ID: 0xffff, Flags: wire.IPv4MoreFragments, FragmentOffset: 1480, TTL: 1,
			Protocol: wire.ProtocolUDP, Source: addrB, Destination: addrA}, []byte("x")},
		{wire.IPv4Fields{TOS: 0xff, Flags: 0b111, FragmentOffset: 0x1fff * 8, TTL: 255, Protocol: 253,
			Source: netip.MustParseAddr("255.255.255.255"), Destination: netip.MustParseAddr("224.0.0.1")}, make([]byte, 7)},
		{wire.IPv4Fields{TTL: 1, Protocol: 2, Source: addrA, Destination: netip.MustParseAddr("224.0.0.22"), Options: routerAlert}, make([]byte, 8)},
		{wire.IPv4Fields{TTL: 64, Protocol: wire.ProtocolICMP, Source: addrA, Destination: addrB, Options: recordRoute}, bytes.Repeat([]byte{0xab}, 100)},
		{wire.IPv4Fields{TTL: 64, Protocol: wire.ProtocolICMP, Source: addrA, Destination: addrB, Options: recordRoute9}, []byte{1, 2, 3}},
		{wire.IPv4Fields{TTL: 64, Protocol: wire.ProtocolTCP, Source: addrA, Destination: addrB, Options: []byte{1}}, nil}, // one NOP
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			b := encodeIPv4(tc.f, tc.payload)
			p, err := wire.ParseIPv4(b)
			if err != nil {
				t.Fatalf("ParseIPv4(%x): %v", b, err)
			}
			want := tc.f
			want.Options = padTo4(tc.f.Options)
			if got := p.Fields(); !ipv4FieldsEqual(got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
			}
			if p.Version() != 4 || p.HeaderLen() != tc.f.HeaderLen() || int(p.TotalLength()) != len(b) || len(p) != len(b) {
				t.Errorf("Version %d, HeaderLen %d, TotalLength %d, len %d; want 4, %d, %d, %d",
					p.Version(), p.HeaderLen(), p.TotalLength(), len(p), tc.f.HeaderLen(), len(b), len(b))
			}
			if !bytes.Equal(p.Payload(), tc.payload) {
				t.Errorf("Payload = %x, want %x", p.Payload(), tc.payload)
			}
			if !p.ChecksumValid() {
				t.Error("Encode wrote a bad checksum")
			}
			// gopacket agrees on every field and on the checksum.
			var ip layers.IPv4
			if err := ip.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
				t.Fatalf("gopacket: %v", err)
			}
			if ip.TOS != tc.f.TOS || ip.Id != tc.f.ID || uint8(ip.Flags) != tc.f.Flags || int(ip.FragOffset)*8 != tc.f.FragmentOffset ||
				ip.TTL != tc.f.TTL || uint8(ip.Protocol) != uint8(tc.f.Protocol) ||
				!ip.SrcIP.Equal(ip4(tc.f.Source)) || !ip.DstIP.Equal(ip4(tc.f.Destination)) || int(ip.IHL)*4 != tc.f.HeaderLen() {
				t.Errorf("gopacket decodes %+v", ip)
			}
			if err, res := ip.VerifyChecksum(); err != nil || !res.Valid {
				t.Errorf("gopacket: checksum %#04x, want %#04x (%v)", res.Actual, res.Correct, err)
			}
		})
	}
}

func TestIPv4FieldsHeaderLen(t *testing.T) {
	for _, tc := range []struct{ opts, want int }{
		{0, 20}, {1, 24}, {3, 24}, {4, 24}, {5, 28}, {39, 60}, {40, 60},
		{41, 60}, {44, 60}, {100, 60}, // options past 40 bytes are cut off
	} {
		f := wire.IPv4Fields{Options: make([]byte, tc.opts)}
		if got := f.HeaderLen(); got != tc.want {
			t.Errorf("HeaderLen with %d option bytes = %d, want %d", tc.opts, got, tc.want)
		}
	}
}

func TestIPv4EncodeCutsOptionsTo40(t *testing.T) {
	opts := make([]byte, 44)
	for i := range opts {
		opts[i] = 1 // NOP
	}
	f := wire.IPv4Fields{TTL: 64, Protocol: wire.ProtocolTCP, Source: addrA, Destination: addrB, Options: opts}
	payload := []byte("payload")
	b := encodeIPv4(f, payload) // sized with f.HeaderLen(), as Encode's doc says
	p, err := wire.ParseIPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.HeaderLen() != 60 || f.HeaderLen() != p.HeaderLen() || len(p.Options()) != 40 {
		t.Errorf("HeaderLen %d (Fields say %d), %d option bytes; want 60, 60, 40", p.HeaderLen(), f.HeaderLen(), len(p.Options()))
	}
	if !bytes.Equal(p.Payload(), payload) || !p.ChecksumValid() {
		t.Errorf("Payload %q, ChecksumValid %v; want %q, true", p.Payload(), p.ChecksumValid(), payload)
	}
}

func TestIPv4FixtureICMPEcho(t *testing.T) {
	frame := mustHex(t, fixtureICMPEcho)
	e, err := wire.ParseEthernet(frame)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Payload()) != 46 {
		t.Fatalf("Ethernet payload is %d bytes, want 46", len(e.Payload()))
	}
	// The 13 bytes of Ethernet padding past TotalLength are cut off.
	p, err := wire.ParseIPv4(e.Payload())
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 33 || p.TotalLength() != 33 || len(p.Payload()) != 13 {
		t.Errorf("len %d, TotalLength %d, payload %d; want 33, 33, 13", len(p), p.TotalLength(), len(p.Payload()))
	}
	want := wire.IPv4Fields{ID: 0x1234, Flags: wire.IPv4DontFragment, TTL: 64, Protocol: wire.ProtocolICMP, Source: addrA, Destination: addrB}
	if got := p.Fields(); !ipv4FieldsEqual(got, want) {
		t.Errorf("Fields = %+v, want %+v", got, want)
	}
	if p.Checksum() != 0x9c80 || !p.ChecksumValid() {
		t.Errorf("Checksum %#04x, valid %v; want 0x9c80, true", p.Checksum(), p.ChecksumValid())
	}
	if !p.DontFragment() || p.MoreFragments() || p.IsFragment() || p.FragmentOffset() != 0 {
		t.Errorf("DF %v MF %v fragment %v offset %d", p.DontFragment(), p.MoreFragments(), p.IsFragment(), p.FragmentOffset())
	}
	if p.Version() != 4 || p.HeaderLen() != 20 || p.TOS() != 0 || len(p.Options()) != 0 {
		t.Errorf("Version %d, HeaderLen %d, TOS %d, options %x", p.Version(), p.HeaderLen(), p.TOS(), p.Options())
	}
	// Re-encoding the parsed fields gives the same bytes.
	if b := encodeIPv4(p.Fields(), p.Payload()); !bytes.Equal(b, p) {
		t.Errorf("re-encoded\n%x\nwant\n%x", b, []byte(p))
	}
}

func TestIPv4ChecksumDetectsEveryBitFlip(t *testing.T) {
	for _, fx := range []string{fixtureICMPEcho, fixtureTCPSYN} {
		datagram := mustHex(t, fx)[wire.EthernetHeaderLen:]
		p, err := wire.ParseIPv4(datagram)
		if err != nil || !p.ChecksumValid() {
			t.Fatalf("fixture: %v, checksum valid %v", err, err == nil && p.ChecksumValid())
		}
		flipEachBit(p, 0, p.HeaderLen(), func(bit int, c []byte) {
			q, err := wire.ParseIPv4(c)
			if err != nil {
				return // version, IHL or total length now wrong
			}
			if q.ChecksumValid() {
				t.Errorf("bit %d flipped: ChecksumValid is true", bit)
			}
		})
		// The header checksum does not cover the payload.
		flipEachBit(p, p.HeaderLen(), len(p), func(bit int, c []byte) {
			if q, err := wire.ParseIPv4(c); err != nil || !q.ChecksumValid() {
				t.Errorf("payload bit %d flipped: err %v, header checksum no longer valid", bit, err)
			}
		})
	}
}

func TestIPv4Padding(t *testing.T) {
	b := encodeIPv4(wire.IPv4Fields{TTL: 64, Protocol: wire.ProtocolUDP, Source: addrA, Destination: addrB}, []byte{1, 2, 3})
	for _, pad := range []int{0, 1, 3, 23, 1000} {
		in := append(append([]byte{}, b...), bytes.Repeat([]byte{0xee}, pad)...)
		p, err := wire.ParseIPv4(in)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p, b) || !bytes.Equal(p.Payload(), []byte{1, 2, 3}) {
			t.Errorf("%d bytes of padding: view %x, want %x", pad, []byte(p), b)
		}
		if &p[0] != &in[0] {
			t.Error("the view does not alias its input")
		}
	}
}

func TestIPv4Setters(t *testing.T) {
	b := mustHex(t, fixtureTCPSYN)[wire.EthernetHeaderLen:]
	p, err := wire.ParseIPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	src, dst := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("192.0.2.200")
	p.SetTTL(3)
	p.SetID(0xcafe)
	p.SetSource(src)
	p.SetDestination(dst)
	if p.ChecksumValid() {
		t.Error("checksum still valid after the setters")
	}
	p.UpdateChecksum()
	if !p.ChecksumValid() {
		t.Error("checksum not valid after UpdateChecksum")
	}
	if p.TTL() != 3 || p.ID() != 0xcafe || p.Source() != src || p.Destination() != dst {
		t.Errorf("TTL %d, ID %#x, %v > %v", p.TTL(), p.ID(), p.Source(), p.Destination())
	}
	var ip layers.IPv4
	if err := ip.DecodeFromBytes(p, gopacket.NilDecodeFeedback); err != nil {
		t.Fatal(err)
	}
	if err, res := ip.VerifyChecksum(); err != nil || !res.Valid || ip.TTL != 3 || ip.Id != 0xcafe ||
		!ip.SrcIP.Equal(ip4(src)) || !ip.DstIP.Equal(ip4(dst)) {
		t.Errorf("gopacket decodes %+v, checksum %+v", ip, res)
	}
}

func TestIPv4Fragments(t *testing.T) {
	for _, tc := range []struct {
		flags      uint8
		offset     int
		isFragment bool
	}{
		{0, 0, false},
		{wire.IPv4DontFragment, 0, false},
		{wire.IPv4MoreFragments, 0, true},    // first fragment
		{wire.IPv4MoreFragments, 1480, true}, // middle fragment
		{0, 2960, true},                      // last fragment
		{wire.IPv4DontFragment, 8, true},     // nonsense, but a fragment all the same
		{0b100 /* reserved bit */, 0, false},
	} {
		b := encodeIPv4(wire.IPv4Fields{Flags: tc.flags, FragmentOffset: tc.offset, TTL: 1, Source: addrA, Destination: addrB}, nil)
		p, err := wire.ParseIPv4(b)
		if err != nil {
			t.Fatal(err)
		}
		if p.Flags() != tc.flags || p.FragmentOffset() != tc.offset || p.IsFragment() != tc.isFragment ||
			p.DontFragment() != (tc.flags&wire.IPv4DontFragment != 0) || p.MoreFragments() != (tc.flags&wire.IPv4MoreFragments != 0) {
			t.Errorf("flags %03b offset %d: Flags %03b, FragmentOffset %d, IsFragment %v", tc.flags, tc.offset, p.Flags(), p.FragmentOffset(), p.IsFragment())
		}
	}
}

func TestIPv4AgainstGopacket(t *testing.T) {
	payload := []byte("hello, world")
	ip := &layers.IPv4{
		Version: 4, TOS: 0x10, Id: 4242, Flags: layers.IPv4DontFragment, TTL: 17, Protocol: layers.IPProtocolUDP,
		SrcIP: ip4(addrA), DstIP: ip4(addrB),
		Options: []layers.IPv4Option{{OptionType: 0x94, OptionLength: 4, OptionData: []byte{0, 0}}},
	}
	frame := gpSerialize(t, ip, gopacket.Payload(payload))
	p, err := wire.ParseIPv4(frame)
	if err != nil {
		t.Fatal(err)
	}
	want := wire.IPv4Fields{TOS: 0x10, ID: 4242, Flags: wire.IPv4DontFragment, TTL: 17, Protocol: wire.ProtocolUDP,
		Source: addrA, Destination: addrB, Options: []byte{0x94, 4, 0, 0}}
	if got := p.Fields(); !ipv4FieldsEqual(got, want) {
		t.Errorf("Fields = %+v, want %+v", got, want)
	}
	if !p.ChecksumValid() || p.Checksum() != ip.Checksum || !bytes.Equal(p.Payload(), payload) {
		t.Errorf("checksum %#04x (gopacket %#04x), valid %v, payload %q", p.Checksum(), ip.Checksum, p.ChecksumValid(), p.Payload())
	}
	// Our encoder writes the same bytes as gopacket's.
	if b := encodeIPv4(want, payload); !bytes.Equal(b, frame) {
		t.Errorf("we encode\n%x\ngopacket\n%x", b, frame)
	}
}

func TestParseIPv4Errors(t *testing.T) {
	// valid returns a 40-byte datagram with a 20-byte header.
	valid := func() []byte {
		return encodeIPv4(wire.IPv4Fields{TTL: 64, Protocol: wire.ProtocolTCP, Source: addrA, Destination: addrB}, make([]byte, 20))
	}
	with := func(b []byte, i int, v ...byte) []byte { copy(b[i:], v); return b }
	for _, tc := range []struct {
		name    string
		in      []byte
		field   string
		reasons []string
	}{
		{"empty", nil, "header", []string{"truncated", "0 bytes < 20"}},
		{"19 bytes", valid()[:19], "header", []string{"19 bytes < 20"}},
		{"version 6", with(valid(), 0, 0x65), "version", []string{"6 != 4"}},
		{"version 0", with(valid(), 0, 0x05), "version", []string{"0 != 4"}},
		{"IHL 0", with(valid(), 0, 0x40), "IHL", []string{"0 bytes < 20"}},
		{"IHL 4", with(valid(), 0, 0x44), "IHL", []string{"16 bytes < 20"}},
		{"IHL 6 in 20 bytes", with(valid()[:20], 0, 0x46), "IHL", []string{"24 bytes > 20 bytes received"}},
		{"IHL 15 in 40 bytes", with(valid(), 0, 0x4f), "IHL", []string{"60 bytes > 40 bytes received"}},
		{"total length 0", with(valid(), 2, 0, 0), "total length", []string{"0 < header length 20"}},
		{"total length 19", with(valid(), 2, 0, 19), "total length", []string{"19 < header length 20"}},
		{"total length 20 < IHL 6", with(valid(), 0, 0x46, 0, 0, 20), "total length", []string{"20 < header length 24"}},
		{"total length 41", with(valid(), 2, 0, 41), "total length", []string{"41 > 40 bytes received"}},
		{"total length 65535", with(valid(), 2, 0xff, 0xff), "total length", []string{"65535 > 40 bytes received"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := wire.ParseIPv4(tc.in)
			wantError(t, err, "ipv4", tc.field, tc.reasons...)
			if p != nil {
				t.Errorf("view %x returned with an error", []byte(p))
			}
		})
	}
}

func TestIPProtocolString(t *testing.T) {
	for p, want := range map[wire.IPProtocol]string{
		wire.ProtocolICMP: "ICMP", wire.ProtocolTCP: "TCP", wire.ProtocolUDP: "UDP", 0: "0", 89: "89", 255: "255",
	} {
		if got := p.String(); got != want {
			t.Errorf("IPProtocol(%d).String() = %q, want %q", uint8(p), got, want)
		}
	}
}

func TestIPv4ParseAllocs(t *testing.T) {
	b := mustHex(t, fixtureTCPSYN)[wire.EthernetHeaderLen:]
	var ok bool
	allocs := testing.AllocsPerRun(1000, func() {
		p, err := wire.ParseIPv4(b)
		ok = err == nil && p.ChecksumValid() && p.Source() == addrA
	})
	if !ok || allocs != 0 {
		t.Errorf("ParseIPv4 + ChecksumValid: ok %v, %v allocations per run, want 0", ok, allocs)
	}
}

func BenchmarkParseIPv4(b *testing.B) {
	d := mustHex(b, fixtureTCPSYN)[wire.EthernetHeaderLen:]
	b.SetBytes(int64(len(d)))
	for b.Loop() {
		p, err := wire.ParseIPv4(d)
		if err != nil || !p.ChecksumValid() {
			b.Fatal("bad fixture")
		}
	}
}
