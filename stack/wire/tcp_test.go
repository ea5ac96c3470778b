package wire_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// encodeTCP builds a segment from f and payload, checksummed for src > dst.
func encodeTCP(f wire.TCPFields, payload []byte, src, dst netip.Addr) []byte {
	b := make([]byte, f.HeaderLen()+len(payload))
	copy(b[f.HeaderLen():], payload)
	f.Encode(b, src, dst)
	return b
}

// encodeTCPIPv4 wraps a segment in an IPv4 header, for gopacket.
func encodeTCPIPv4(seg []byte, src, dst netip.Addr) []byte {
	return encodeIPv4(wire.IPv4Fields{TTL: 64, Protocol: wire.ProtocolTCP, Source: src, Destination: dst}, seg)
}

// tcpHeaderEqual compares the header fields of two TCPFields, not their options.
func tcpHeaderEqual(a, b wire.TCPFields) bool {
	return a.SourcePort == b.SourcePort && a.DestinationPort == b.DestinationPort && a.SeqNum == b.SeqNum &&
		a.AckNum == b.AckNum && a.Reserved == b.Reserved && a.Flags == b.Flags && a.WindowSize == b.WindowSize &&
		a.UrgentPointer == b.UrgentPointer
}

// gpTCPOptions reads the options of a segment as gopacket decodes them: an independent
// decoder for our TCPOptions.
func gpTCPOptions(t *testing.T, seg []byte) wire.TCPOptions {
	t.Helper()
	var g layers.TCP
	if err := g.DecodeFromBytes(seg, gopacket.NilDecodeFeedback); err != nil {
		t.Fatalf("gopacket: %v", err)
	}
	var o wire.TCPOptions
	for _, opt := range g.Options {
		d := opt.OptionData
		switch opt.OptionType {
		case layers.TCPOptionKindEndList, layers.TCPOptionKindNop:
		case layers.TCPOptionKindMSS:
			o.MSS = binary.BigEndian.Uint16(d)
		case layers.TCPOptionKindWindowScale:
			o.HasWindowScale, o.WindowScale = true, d[0]
		case layers.TCPOptionKindSACKPermitted:
			o.SACKPermitted = true
		case layers.TCPOptionKindTimestamps:
			o.HasTimestamp, o.TSVal, o.TSEcr = true, binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:])
		case layers.TCPOptionKindSACK:
			for ; len(d) >= 8 && o.NumSACKBlocks < 4; d = d[8:] {
				o.SACKBlocks[o.NumSACKBlocks] = wire.SACKBlock{Left: wire.Seq(binary.BigEndian.Uint32(d)), Right: wire.Seq(binary.BigEndian.Uint32(d[4:]))}
				o.NumSACKBlocks++
			}
		default:
			o.Unknown++
		}
	}
	return o
}

// sack returns options with the given SACK blocks.
func sack(o wire.TCPOptions, blocks ...wire.SACKBlock) wire.TCPOptions {
	o.NumSACKBlocks = copy(o.SACKBlocks[:], blocks)
	return o
}

var (
	block1 = wire.SACKBlock{Left: 1000, Right: 2000}
	block2 = wire.SACKBlock{Left: 0xfffffff0, Right: 0x10} // spans the wrap
	block3 = wire.SACKBlock{Left: 5000, Right: 5001}
	block4 = wire.SACKBlock{Left: 0x7fffffff, Right: 0x80000000}
	synOpt = wire.TCPOptions{MSS: 1460, HasWindowScale: true, WindowScale: 7, SACKPermitted: true, HasTimestamp: true, TSVal: 0x0a1b2c3d}
	tsOpt  = wire.TCPOptions{HasTimestamp: true, TSVal: 0xffffffff, TSEcr: 1}
)

func TestTCPRoundTripOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    wire.TCPOptions
	}{
		{"none", wire.TCPOptions{}},
		{"MSS", wire.TCPOptions{MSS: 1460}},
		{"MSS 65535", wire.TCPOptions{MSS: 65535}},
		{"window scale 0", wire.TCPOptions{HasWindowScale: true}},
		{"window scale 14", wire.TCPOptions{HasWindowScale: true, WindowScale: wire.MaxWindowScale}},
		{"window scale 255, as sent", wire.TCPOptions{HasWindowScale: true, WindowScale: 255}},
		{"SACK permitted", wire.TCPOptions{SACKPermitted: true}},
		{"timestamps", tsOpt},
		{"timestamps zero", wire.TCPOptions{HasTimestamp: true}},
		{"SACK 1 block", sack(wire.TCPOptions{}, block1)},
		{"SACK 2 blocks", sack(wire.TCPOptions{}, block1, block2)},
		{"SACK 3 blocks", sack(wire.TCPOptions{}, block1, block2, block3)},
		{"SACK 4 blocks", sack(wire.TCPOptions{}, block1, block2, block3, block4)},
		{"SYN: MSS, timestamps, window scale, SACK permitted", synOpt},
		{"MSS and window scale", wire.TCPOptions{MSS: 536, HasWindowScale: true, WindowScale: 2}},
		{"timestamps and SACK 3 blocks: 40 bytes", sack(tsOpt, block1, block2, block3)},
		{"MSS and SACK 4 blocks: 40 bytes", sack(wire.TCPOptions{MSS: 1}, block4, block3, block2, block1)},
		{"all with SACK 1 block: 36 bytes", sack(synOpt, block2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := wire.TCPFields{SourcePort: 1, DestinationPort: 2, SeqNum: 3, AckNum: 4, Flags: wire.ACK, WindowSize: 5, Options: tc.o}
			payload := []byte("abc")
			b := encodeTCP(f, payload, addrA, addrB)
			if f.HeaderLen() != wire.TCPMinHeaderLen+tc.o.EncodedLen() || tc.o.EncodedLen()%4 != 0 {
				t.Errorf("HeaderLen %d, EncodedLen %d", f.HeaderLen(), tc.o.EncodedLen())
			}
			seg, err := wire.ParseTCP(b)
			if err != nil {
				t.Fatalf("ParseTCP(%x): %v", b, err)
			}
			got := seg.Fields()
			if !tcpHeaderEqual(got, f) || got.Options != tc.o || seg.DecodeOptions() != tc.o {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, f)
			}
			if seg.HeaderLen() != f.HeaderLen() || len(seg.Options()) != tc.o.EncodedLen() || !bytes.Equal(seg.Payload(), payload) {
				t.Errorf("HeaderLen %d, %d option bytes, payload %q", seg.HeaderLen(), len(seg.Options()), seg.Payload())
			}
			if !seg.ChecksumValid(addrA, addrB) {
				t.Error("checksum not valid")
			}
			// gopacket decodes the same options and accepts the checksum.
			if g := gpTCPOptions(t, b); g != tc.o {
				t.Errorf("gopacket decodes options %+v, want %+v", g, tc.o)
			}
			if !gpTCPChecksumValid(t, encodeTCPIPv4(b, addrA, addrB)) {
				t.Error("gopacket: checksum not valid")
			}
			// TCPOptions.Encode on its own writes EncodedLen bytes.
			buf := make([]byte, 40)
			if n := tc.o.Encode(buf); n != tc.o.EncodedLen() || !bytes.Equal(buf[:n], seg.Options()) {
				t.Errorf("Encode wrote %d bytes %x, want %d bytes %x", n, buf[:n], tc.o.EncodedLen(), seg.Options())
			}
		})
	}
}

func TestTCPRoundTripRawOptions(t *testing.T) {
	tfoCookie := []byte{34, 10, 1, 2, 3, 4, 5, 6, 7, 8}
	for _, tc := range []struct {
		name string
		raw  []byte
		want wire.TCPOptions
	}{
		{"empty, not nil", []byte{}, wire.TCPOptions{}},
		{"NOPs", []byte{1, 1, 1, 1}, wire.TCPOptions{}},
		{"EOL", []byte{0}, wire.TCPOptions{}},
		{"MPTCP", []byte{30, 4, 0x01, 0x02}, wire.TCPOptions{Unknown: 1}},
		{"TFO cookie, odd total", append(append([]byte{}, tfoCookie...), 1), wire.TCPOptions{Unknown: 1}},
		{"experimental, 2 bytes", []byte{254, 2}, wire.TCPOptions{Unknown: 1}},
		{"unknown among known", []byte{2, 4, 0x05, 0xb4, 1, 30, 3, 9, 253, 2, 4, 2}, wire.TCPOptions{MSS: 1460, SACKPermitted: true, Unknown: 2}},
		{"Linux SYN order", mustHex(t, "020405b4 0402 080a 0a1b2c3d 00000000 01 030307"), synOpt},
		{"garbage after EOL is ignored", []byte{2, 4, 0x05, 0xb4, 0, 0xff, 0xff, 0xff}, wire.TCPOptions{MSS: 1460}},
		{"two SACK options, blocks add up", []byte{5, 10, 0, 0, 0x03, 0xe8, 0, 0, 0x07, 0xd0, 5, 10, 0, 0, 0x13, 0x88, 0, 0, 0x13, 0x89},
			sack(wire.TCPOptions{}, block1, block3)},
		{"MSS 0 reads as absent", []byte{2, 4, 0, 0}, wire.TCPOptions{}},
		{"later MSS wins", []byte{2, 4, 0, 1, 2, 4, 0, 2}, wire.TCPOptions{MSS: 2}},
		{"40 bytes of unknown", append([]byte{99, 40}, make([]byte, 38)...), wire.TCPOptions{Unknown: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := wire.TCPFields{SourcePort: 443, DestinationPort: 50000, SeqNum: 0xffffffff, Flags: wire.SYN | wire.ACK, RawOptions: tc.raw,
				Options: wire.TCPOptions{MSS: 9999} /* ignored: RawOptions wins */}
			b := encodeTCP(f, nil, addrB, addrA)
			seg, err := wire.ParseTCP(b)
			if err != nil {
				t.Fatalf("ParseTCP(%x): %v", b, err)
			}
			got := seg.Fields()
			if !tcpHeaderEqual(got, f) || got.Options != tc.want {
				t.Errorf("round trip:\n got %+v\nwant options %+v", got, tc.want)
			}
			if !bytes.Equal(got.RawOptions, padTo4(tc.raw)) {
				t.Errorf("RawOptions %x, want %x padded with EOL", got.RawOptions, tc.raw)
			}
			if !seg.ChecksumValid(addrB, addrA) || !gpTCPChecksumValid(t, encodeTCPIPv4(b, addrB, addrA)) {
				t.Error("checksum not valid")
			}
			// Fields of a parsed segment encode back to the same bytes.
			if again := encodeTCP(got, nil, addrB, addrA); !bytes.Equal(again, b) {
				t.Errorf("re-encoded %x, want %x", again, b)
			}
		})
	}
}

func TestTCPRoundTripHeader(t *testing.T) {
	for flags := range 256 {
		for _, reserved := range []uint8{0, 1, 0x0f} {
			f := wire.TCPFields{SourcePort: uint16(flags), DestinationPort: 65535, SeqNum: wire.Seq(flags) << 24, AckNum: 0xffffffff,
				Reserved: reserved, Flags: wire.TCPFlags(flags), WindowSize: 65535, UrgentPointer: uint16(flags) * 3}
			b := encodeTCP(f, []byte{byte(flags)}, addrA, addrB)
			seg, err := wire.ParseTCP(b)
			if err != nil {
				t.Fatal(err)
			}
			if got := seg.Fields(); !tcpHeaderEqual(got, f) || seg.Reserved() != reserved || seg.DataOffset() != 5 {
				t.Fatalf("round trip: got %+v, want %+v", got, f)
			}
			if !seg.ChecksumValid(addrA, addrB) {
				t.Fatalf("flags %v: checksum not valid", f.Flags)
			}
		}
	}
	// gopacket reads every flag and the NS bit (the lowest reserved bit).
	f := wire.TCPFields{Flags: 0xff, Reserved: 1}
	var g layers.TCP
	if err := g.DecodeFromBytes(encodeTCP(f, nil, addrA, addrB), gopacket.NilDecodeFeedback); err != nil {
		t.Fatal(err)
	}
	if !(g.FIN && g.SYN && g.RST && g.PSH && g.ACK && g.URG && g.ECE && g.CWR && g.NS) {
		t.Errorf("gopacket decodes %+v", g)
	}
}

func TestTCPEncodeTooManyOptions(t *testing.T) {
	// 56 bytes of options do not fit in 40: SACK blocks are left out from the last until the
	// rest fits (RFC 2018 3), so MSS, timestamps, window scale, SACK-permitted and two blocks
	// survive.
	f := wire.TCPFields{Flags: wire.SYN, Options: sack(synOpt, block1, block2, block3, block4)}
	if f.Options.EncodedLen() != 56 {
		t.Fatalf("EncodedLen %d, want 56", f.Options.EncodedLen())
	}
	want := synOpt
	want.SACKBlocks[0], want.SACKBlocks[1], want.NumSACKBlocks = block1, block2, 2
	b := encodeTCP(f, []byte("data"), addrA, addrB)
	seg, err := wire.ParseTCP(b)
	if err != nil {
		t.Fatal(err)
	}
	if seg.HeaderLen() != f.HeaderLen() || seg.HeaderLen() > wire.TCPMaxHeaderLen || string(seg.Payload()) != "data" || !seg.ChecksumValid(addrA, addrB) {
		t.Fatalf("HeaderLen %d (fields say %d), payload %q, checksum valid %v", seg.HeaderLen(), f.HeaderLen(), seg.Payload(), seg.ChecksumValid(addrA, addrB))
	}
	if got := seg.DecodeOptions(); got != want {
		t.Fatalf("options written %+v, want %+v", got, want)
	}

	// RawOptions longer than 40 bytes are cut to 40.
	f = wire.TCPFields{RawOptions: bytes.Repeat([]byte{1}, 44)}
	if f.HeaderLen() != 60 {
		t.Errorf("HeaderLen %d, want 60", f.HeaderLen())
	}
	seg, err = wire.ParseTCP(encodeTCP(f, nil, addrA, addrB))
	if err != nil || len(seg.Options()) != 40 {
		t.Errorf("err %v, %d option bytes", err, len(seg.Options()))
	}
}

func TestTCPFixtureLinuxSYN(t *testing.T) {
	frame := mustHex(t, fixtureTCPSYN)
	p, err := wire.ParseIPv4(frame[wire.EthernetHeaderLen:])
	if err != nil {
		t.Fatal(err)
	}
	if p.Protocol() != wire.ProtocolTCP || !p.ChecksumValid() {
		t.Fatalf("IPv4: protocol %v, checksum valid %v", p.Protocol(), p.ChecksumValid())
	}
	seg, err := wire.ParseTCP(p.Payload())
	if err != nil {
		t.Fatal(err)
	}
	want := wire.TCPFields{SourcePort: 45678, DestinationPort: 80, SeqNum: 0x12345678, Flags: wire.SYN, WindowSize: 64240}
	if got := seg.Fields(); !tcpHeaderEqual(got, want) {
		t.Errorf("Fields = %+v, want %+v", got, want)
	}
	if seg.DataOffset() != 10 || seg.HeaderLen() != 40 || seg.Checksum() != 0x6f24 || seg.UrgentPointer() != 0 || len(seg.Payload()) != 0 {
		t.Errorf("DataOffset %d, HeaderLen %d, Checksum %#04x, Urgent %d, payload %x",
			seg.DataOffset(), seg.HeaderLen(), seg.Checksum(), seg.UrgentPointer(), seg.Payload())
	}
	if o := seg.DecodeOptions(); o != synOpt {
		t.Errorf("DecodeOptions = %+v, want %+v", o, synOpt)
	}
	if seg.Flags().String() != "SYN" {
		t.Errorf("Flags = %v", seg.Flags())
	}

	// Checksum: valid for the right pseudo-header, invalid after any bit flip.
	if !seg.ChecksumValid(addrA, addrB) {
		t.Error("ChecksumValid is false")
	}
	if seg.ChecksumValid(addrA, netip.MustParseAddr("198.18.0.3")) {
		t.Error("ChecksumValid is true for another destination")
	}
	flipEachBit(seg, 0, len(seg), func(bit int, c []byte) {
		if s, err := wire.ParseTCP(c); err == nil && s.ChecksumValid(addrA, addrB) {
			t.Errorf("bit %d flipped: ChecksumValid is true", bit)
		}
	})

	// Fields, RawOptions included, encode back to the same bytes.
	if b := encodeTCP(seg.Fields(), nil, addrA, addrB); !bytes.Equal(b, seg) {
		t.Errorf("re-encoded\n%x\nwant\n%x", b, []byte(seg))
	}

	// gopacket, building the same SYN from its own layers, writes the fixture byte for byte.
	built := gpSerialize(t,
		&layers.Ethernet{SrcMAC: hw(macA), DstMAC: hw(macB), EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, Id: 0xbeef, Flags: layers.IPv4DontFragment, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: ip4(addrA), DstIP: ip4(addrB)},
		gpTCPWithChecksum(&layers.TCP{SrcPort: 45678, DstPort: 80, Seq: 0x12345678, SYN: true, Window: 64240, Options: []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionData: []byte{0x05, 0xb4}},
			{OptionType: layers.TCPOptionKindSACKPermitted},
			{OptionType: layers.TCPOptionKindTimestamps, OptionData: []byte{0x0a, 0x1b, 0x2c, 0x3d, 0, 0, 0, 0}},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindWindowScale, OptionData: []byte{7}},
		}}, addrA, addrB))
	if !bytes.Equal(built, frame) {
		t.Errorf("gopacket builds\n%x\nfixture\n%x", built, frame)
	}
	if g := gpTCPOptions(t, seg); g != synOpt {
		t.Errorf("gopacket decodes options %+v", g)
	}
	if !gpTCPChecksumValid(t, p) {
		t.Error("gopacket: checksum not valid")
	}
}

// gpTCPWithChecksum sets the network layer gopacket needs to checksum a TCP layer.
func gpTCPWithChecksum(tcp *layers.TCP, src, dst netip.Addr) *layers.TCP {
	if err := tcp.SetNetworkLayerForChecksum(&layers.IPv4{Version: 4, Protocol: layers.IPProtocolTCP, SrcIP: ip4(src), DstIP: ip4(dst)}); err != nil {
		panic(err)
	}
	return tcp
}

func TestTCPAgainstGopacket(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 1459, 1460} {
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(i * 13)
		}
		g := &layers.TCP{SrcPort: 80, DstPort: 45678, Seq: 0xfffffff0, Ack: 0x12345679, ACK: true, PSH: n > 0, Window: 502, Urgent: 0,
			Options: []layers.TCPOption{
				{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindTimestamps, OptionData: []byte{0, 0, 0, 2, 0x0a, 0x1b, 0x2c, 0x3d}},
				{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindSACK, OptionData: []byte{0, 0, 0x03, 0xe8, 0, 0, 0x07, 0xd0}},
			}}
		seg := gpSerialize(t, gpTCPWithChecksum(g, addrB, addrA), gopacket.Payload(payload))
		s, err := wire.ParseTCP(seg)
		if err != nil {
			t.Fatal(err)
		}
		wantOpt := sack(wire.TCPOptions{HasTimestamp: true, TSVal: 2, TSEcr: 0x0a1b2c3d}, block1)
		want := wire.TCPFields{SourcePort: 80, DestinationPort: 45678, SeqNum: 0xfffffff0, AckNum: 0x12345679, WindowSize: 502, Flags: wire.ACK, Options: wantOpt}
		if n > 0 {
			want.Flags |= wire.PSH
		}
		if got := s.Fields(); !tcpHeaderEqual(got, want) || got.Options != wantOpt || !bytes.Equal(s.Payload(), payload) {
			t.Errorf("%d-byte payload: Fields %+v", n, got)
		}
		if !s.ChecksumValid(addrB, addrA) || s.Checksum() != g.Checksum {
			t.Errorf("%d-byte payload: checksum %#04x, gopacket %#04x", n, s.Checksum(), g.Checksum)
		}
		// Our encoder, given the same options, writes gopacket's bytes.
		if b := encodeTCP(want, payload, addrB, addrA); !bytes.Equal(b, seg) {
			t.Errorf("%d-byte payload: we encode\n%x\ngopacket\n%x", n, b, seg)
		}
	}
}

func TestParseTCPErrors(t *testing.T) {
	// withOptions returns a segment whose options area is exactly opts (a multiple of 4).
	withOptions := func(opts ...byte) []byte {
		return encodeTCP(wire.TCPFields{SourcePort: 1, DestinationPort: 2, Flags: wire.SYN, RawOptions: opts}, []byte("payload"), addrA, addrB)
	}
	withOffset := func(b []byte, off uint8) []byte { b[12] = off<<4 | b[12]&0x0f; return b }
	zeros := func(n int) []byte { return make([]byte, n) }
	for _, tc := range []struct {
		name    string
		in      []byte
		field   string
		reasons []string
	}{
		{"empty", nil, "header", []string{"truncated", "0 bytes < 20"}},
		{"19 bytes", withOptions()[:19], "header", []string{"19 bytes < 20"}},
		{"data offset 0", withOffset(withOptions(), 0), "data offset", []string{"0 < 5"}},
		{"data offset 4", withOffset(withOptions(), 4), "data offset", []string{"4 < 5"}},
		{"data offset 6 in 20 bytes", withOffset(withOptions()[:20], 6), "data offset", []string{"6 (24 bytes) > 20 bytes received"}},
		{"data offset 15 in 27 bytes", withOffset(withOptions(), 15), "data offset", []string{"15 (60 bytes) > 27 bytes received"}},

		{"missing length byte", withOptions(1, 1, 1, 2), "option", []string{"kind 2 at offset 3 has no length byte"}},
		{"unknown kind missing length byte", withOptions(2, 4, 5, 0xb4, 1, 1, 1, 0xfe), "option", []string{"kind 254 at offset 7 has no length byte"}},
		{"length 0", withOptions(30, 0, 0, 0), "option", []string{"kind 30 length 0 < 2"}},
		{"length 1", withOptions(8, 1, 0, 0), "option", []string{"kind 8 length 1 < 2"}},
		{"past header", withOptions(2, 8, 0, 0), "option", []string{"kind 2 length 8 runs past the header"}},
		{"unknown past header", withOptions(1, 30, 4, 0), "option", []string{"kind 30 length 4 runs past the header"}},
		{"timestamps past header", withOptions(8, 10, 0, 0, 0, 0, 0, 0), "option", []string{"kind 8 length 10 runs past the header"}},
		{"MSS length 3", withOptions(2, 3, 5, 0), "option", []string{"kind 2 length 3 != 4"}},
		{"MSS length 6", withOptions(2, 6, 0, 0, 0, 0, 0, 0), "option", []string{"kind 2 length 6 != 4"}},
		{"window scale length 2", withOptions(3, 2, 1, 1), "option", []string{"kind 3 length 2 != 3"}},
		{"window scale length 4", withOptions(3, 4, 7, 0), "option", []string{"kind 3 length 4 != 3"}},
		{"SACK permitted length 3", withOptions(4, 3, 0, 0), "option", []string{"kind 4 length 3 != 2"}},
		{"SACK permitted length 4", withOptions(4, 4, 0, 0), "option", []string{"kind 4 length 4 != 2"}},
		{"timestamps length 8", withOptions(8, 8, 0, 0, 0, 0, 0, 0), "option", []string{"kind 8 length 8 != 10"}},
		{"timestamps length 12", withOptions(append([]byte{8, 12}, zeros(10)...)...), "option", []string{"kind 8 length 12 != 10"}},
		{"SACK length 2", withOptions(5, 2, 0, 0), "option", []string{"SACK length 2 is not 2+8n"}},
		{"SACK length 8", withOptions(5, 8, 0, 0, 0, 0, 0, 0), "option", []string{"SACK length 8 is not 2+8n"}},
		{"SACK length 9", withOptions(append([]byte{5, 9}, zeros(10)...)...), "option", []string{"SACK length 9 is not 2+8n"}},
		{"SACK length 12", withOptions(append([]byte{5, 12}, zeros(10)...)...), "option", []string{"SACK length 12 is not 2+8n"}},
		{"SACK length 11 in 40 bytes", withOptions(append([]byte{5, 11}, zeros(38)...)...), "option", []string{"SACK length 11"}},
		{"bad option after good ones", withOptions(2, 4, 5, 0xb4, 1, 3, 2, 1), "option", []string{"kind 3 length 2 != 3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seg, err := wire.ParseTCP(tc.in)
			wantError(t, err, "tcp", tc.field, tc.reasons...)
			if seg != nil {
				t.Errorf("view %x returned with an error", []byte(seg))
			}
		})
	}
}

func TestTCPFlagsString(t *testing.T) {
	for f, want := range map[wire.TCPFlags]string{
		0:                              "none",
		wire.SYN:                       "SYN",
		wire.SYN | wire.ACK:            "SYN|ACK",
		wire.FIN | wire.PSH | wire.ACK: "FIN|PSH|ACK",
		wire.RST | wire.ACK:            "RST|ACK",
		0xff:                           "FIN|SYN|RST|PSH|ACK|URG|ECE|CWR",
	} {
		if got := f.String(); got != want {
			t.Errorf("TCPFlags(%#02x).String() = %q, want %q", uint8(f), got, want)
		}
	}
}

func TestTCPChecksumOddLengthAndMappedAddrs(t *testing.T) {
	for n := range 8 {
		payload := bytes.Repeat([]byte{0xff}, n)
		b := encodeTCP(wire.TCPFields{Flags: wire.ACK | wire.PSH, Options: tsOpt}, payload, addrA, addrB)
		s, err := wire.ParseTCP(b)
		if err != nil {
			t.Fatal(err)
		}
		mappedA, mappedB := netip.AddrFrom16(addrA.As16()), netip.AddrFrom16(addrB.As16())
		if !s.ChecksumValid(addrA, addrB) || !s.ChecksumValid(mappedA, mappedB) {
			t.Errorf("%d-byte payload: checksum not valid", n)
		}
		if !gpTCPChecksumValid(t, encodeTCPIPv4(b, addrA, addrB)) {
			t.Errorf("%d-byte payload: gopacket finds the checksum bad", n)
		}
	}
}

func TestTCPParseAllocs(t *testing.T) {
	b := mustHex(t, fixtureTCPSYN)[wire.EthernetHeaderLen+wire.IPv4MinHeaderLen:]
	var o wire.TCPOptions
	allocs := testing.AllocsPerRun(1000, func() {
		seg, err := wire.ParseTCP(b)
		if err != nil {
			panic(err)
		}
		o = seg.DecodeOptions()
	})
	if allocs != 0 || o != synOpt {
		t.Errorf("ParseTCP + DecodeOptions: %v allocations per run, want 0 (options %+v)", allocs, o)
	}
}

func TestTCPEncodeAllocs(t *testing.T) {
	f := wire.TCPFields{SourcePort: 1, DestinationPort: 2, Flags: wire.ACK, Options: sack(tsOpt, block1, block2, block3)}
	b := make([]byte, f.HeaderLen()+1000)
	if allocs := testing.AllocsPerRun(1000, func() { f.Encode(b, addrA, addrB) }); allocs != 0 {
		t.Errorf("TCPFields.Encode: %v allocations per run, want 0", allocs)
	}
	f.RawOptions = []byte{2, 4, 5, 0xb4}
	if allocs := testing.AllocsPerRun(1000, func() { f.Encode(b, addrA, addrB) }); allocs != 0 {
		t.Errorf("TCPFields.Encode with RawOptions: %v allocations per run, want 0", allocs)
	}
}

func BenchmarkParseTCP(b *testing.B) {
	seg := mustHex(b, fixtureTCPSYN)[wire.EthernetHeaderLen+wire.IPv4MinHeaderLen:]
	b.SetBytes(int64(len(seg)))
	for b.Loop() {
		s, err := wire.ParseTCP(seg)
		if err != nil {
			b.Fatal(err)
		}
		if o := s.DecodeOptions(); o.MSS != 1460 {
			b.Fatal("bad options")
		}
	}
}

func BenchmarkTCPFieldsEncode(b *testing.B) {
	for _, n := range []int{0, 1460} {
		b.Run(fmt.Sprintf("payload=%d", n), func(b *testing.B) {
			f := wire.TCPFields{SourcePort: 1, DestinationPort: 2, Flags: wire.ACK, Options: sack(tsOpt, block1)}
			buf := make([]byte, f.HeaderLen()+n)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				f.Encode(buf, addrA, addrB)
			}
		})
	}
}

func BenchmarkTCPChecksumValid(b *testing.B) {
	f := wire.TCPFields{Flags: wire.ACK, Options: tsOpt}
	seg := encodeTCP(f, make([]byte, 1448), addrA, addrB)
	s, err := wire.ParseTCP(seg)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(seg)))
	for b.Loop() {
		if !s.ChecksumValid(addrA, addrB) {
			b.Fatal("bad checksum")
		}
	}
}

func TestTCPOptionsEncodeLinuxLayout(t *testing.T) {
	// The layout Linux writes, byte for byte, so that captures and scripts made against Linux
	// read the same: SACK-permitted shares the timestamps' padding; alone, each is padded.
	cases := []struct {
		name string
		o    wire.TCPOptions
		hex  string
	}{
		{"SYN with everything", synOpt, "020405b4 0402 080a 0a1b2c3d 00000000 01 030307"},
		{"timestamps alone", tsOpt, "0101 080a ffffffff 00000001"},
		{"SACK-permitted alone, window scale", wire.TCPOptions{MSS: 1460, SACKPermitted: true, HasWindowScale: true, WindowScale: 7},
			"020405b4 01010402 01030307"},
		{"timestamps and a SACK block", sack(tsOpt, block1), "0101080a ffffffff 00000001 0101050a" + fmt.Sprintf("%08x%08x", uint32(block1.Left), uint32(block1.Right))},
	}
	for _, tc := range cases {
		want := mustHex(t, tc.hex)
		b := make([]byte, 40)
		if n := tc.o.Encode(b); !bytes.Equal(b[:n], want) || n != tc.o.EncodedLen() {
			t.Errorf("%s: % x (EncodedLen %d), want % x", tc.name, b[:n], tc.o.EncodedLen(), want)
		}
	}
}
