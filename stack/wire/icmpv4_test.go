package wire_test

import (
	"bytes"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// encodeICMPv4 builds a message from f and payload.
func encodeICMPv4(f wire.ICMPv4Fields, payload []byte) []byte {
	b := make([]byte, wire.ICMPv4HeaderLen+len(payload))
	copy(b[wire.ICMPv4HeaderLen:], payload)
	f.Encode(b)
	return b
}

// quotedUDP returns a whole UDP datagram 198.18.0.2:5353 > 198.18.0.1:9 with no data: an IP
// header and 8 bytes, as an ICMP error quotes it.
func quotedUDP() []byte {
	udp := []byte{0x14, 0xe9, 0x00, 0x09, 0x00, 0x08, 0x00, 0x00}
	return encodeIPv4(wire.IPv4Fields{ID: 7, TTL: 1, Protocol: wire.ProtocolUDP, Source: addrB, Destination: addrA}, udp)
}

func TestICMPv4RoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name    string
		f       wire.ICMPv4Fields
		payload []byte
		check   func(t *testing.T, m wire.ICMPv4)
	}{
		{"echo", wire.EchoFields(wire.ICMPv4Echo, 0x1234, 7), []byte("ping"), func(t *testing.T, m wire.ICMPv4) {
			if m.Ident() != 0x1234 || m.Seq() != 7 || m.IsError() {
				t.Errorf("Ident %#x, Seq %d, IsError %v", m.Ident(), m.Seq(), m.IsError())
			}
		}},
		{"echo reply, odd payload", wire.EchoFields(wire.ICMPv4EchoReply, 0xffff, 0xfffe), []byte("pong!"), func(t *testing.T, m wire.ICMPv4) {
			if m.Type() != wire.ICMPv4EchoReply || m.Ident() != 0xffff || m.Seq() != 0xfffe {
				t.Errorf("Type %d, Ident %#x, Seq %#x", m.Type(), m.Ident(), m.Seq())
			}
		}},
		{"echo, no payload", wire.EchoFields(wire.ICMPv4Echo, 0, 0), nil, nil},
		{"port unreachable with quoted datagram", wire.ICMPv4Fields{Type: wire.ICMPv4DestUnreach, Code: wire.ICMPv4PortUnreachable}, quotedUDP(),
			func(t *testing.T, m wire.ICMPv4) {
				if !m.IsError() || m.Code() != wire.ICMPv4PortUnreachable || m.RestOfHeader() != 0 {
					t.Errorf("IsError %v, Code %d, rest %#x", m.IsError(), m.Code(), m.RestOfHeader())
				}
				q, err := wire.ParseIPv4(m.Payload())
				if err != nil {
					t.Fatalf("quoted datagram: %v", err)
				}
				if q.Source() != addrB || q.Destination() != addrA || q.Protocol() != wire.ProtocolUDP || !q.ChecksumValid() ||
					!bytes.Equal(q.Payload()[:4], []byte{0x14, 0xe9, 0x00, 0x09}) {
					t.Errorf("quoted %v > %v %v, payload %x", q.Source(), q.Destination(), q.Protocol(), q.Payload())
				}
			}},
		{"fragmentation needed", wire.ICMPv4Fields{Type: wire.ICMPv4DestUnreach, Code: wire.ICMPv4FragmentationNeeded, RestOfHeader: 1400}, quotedUDP(),
			func(t *testing.T, m wire.ICMPv4) {
				if m.NextHopMTU() != 1400 {
					t.Errorf("NextHopMTU = %d, want 1400", m.NextHopMTU())
				}
			}},
		{"time exceeded", wire.ICMPv4Fields{Type: wire.ICMPv4TimeExceeded, Code: wire.ICMPv4TTLExceeded}, quotedUDP(),
			func(t *testing.T, m wire.ICMPv4) {
				if !m.IsError() || !bytes.Equal(m.Payload(), quotedUDP()) {
					t.Errorf("IsError %v, payload %x", m.IsError(), m.Payload())
				}
			}},
		{"reassembly time exceeded", wire.ICMPv4Fields{Type: wire.ICMPv4TimeExceeded, Code: wire.ICMPv4ReassemblyExceeded}, quotedUDP(), nil},
		{"parameter problem, pointer 9 (protocol)", wire.ICMPv4Fields{Type: wire.ICMPv4ParamProblem, RestOfHeader: 9 << 24}, quotedUDP(),
			func(t *testing.T, m wire.ICMPv4) {
				if m.Pointer() != 9 || !m.IsError() {
					t.Errorf("Pointer %d, IsError %v; want 9, true", m.Pointer(), m.IsError())
				}
			}},
		{"parameter problem, pointer 255", wire.ICMPv4Fields{Type: wire.ICMPv4ParamProblem, RestOfHeader: 0xff << 24}, quotedUDP()[:21],
			func(t *testing.T, m wire.ICMPv4) {
				if m.Pointer() != 255 {
					t.Errorf("Pointer %d, want 255", m.Pointer())
				}
			}},
		{"timestamp reply", wire.ICMPv4Fields{Type: wire.ICMPv4TimestampReply, RestOfHeader: 0xdeadbeef}, make([]byte, 12), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := encodeICMPv4(tc.f, tc.payload)
			m, err := wire.ParseICMPv4(b)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Fields(); got != tc.f {
				t.Errorf("round trip: got %+v, want %+v", got, tc.f)
			}
			if !bytes.Equal(m.Payload(), tc.payload) || !m.ChecksumValid() {
				t.Errorf("Payload %x, ChecksumValid %v; want %x, true", m.Payload(), m.ChecksumValid(), tc.payload)
			}
			if tc.check != nil {
				tc.check(t, m)
			}
			// gopacket agrees.
			var g layers.ICMPv4
			if err := g.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
				t.Fatal(err)
			}
			if g.TypeCode.Type() != tc.f.Type || g.TypeCode.Code() != tc.f.Code || g.Checksum != m.Checksum() ||
				uint32(g.Id)<<16|uint32(g.Seq) != tc.f.RestOfHeader || !bytes.Equal(g.Payload, tc.payload) {
				t.Errorf("gopacket decodes %+v", g)
			}
			if err, res := g.VerifyChecksum(); err != nil || !res.Valid {
				t.Errorf("gopacket: checksum %#04x, want %#04x (%v)", res.Actual, res.Correct, err)
			}
		})
	}
}

func TestICMPv4QuotedDatagramIsUsuallyTruncated(t *testing.T) {
	// An ICMP error quotes the IP header and 8 bytes of data (RFC 792), so the quoted
	// TotalLength is usually larger than what was quoted and ParseIPv4 rejects the quote:
	// a consumer must read the quoted header without ParseIPv4's length check.
	syn := mustHex(t, fixtureTCPSYN)[wire.EthernetHeaderLen:]
	b := encodeICMPv4(wire.ICMPv4Fields{Type: wire.ICMPv4DestUnreach, Code: wire.ICMPv4HostUnreachable}, syn[:28])
	m, err := wire.ParseICMPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	_, err = wire.ParseIPv4(m.Payload())
	wantError(t, err, "ipv4", "total length", "60 > 28 bytes received")
}

func TestICMPv4FixtureEcho(t *testing.T) {
	frame := mustHex(t, fixtureICMPEcho)
	p, err := wire.ParseIPv4(frame[wire.EthernetHeaderLen:])
	if err != nil {
		t.Fatal(err)
	}
	m, err := wire.ParseICMPv4(p.Payload())
	if err != nil {
		t.Fatal(err)
	}
	if m.Type() != wire.ICMPv4Echo || m.Code() != 0 || m.Ident() != 1 || m.Seq() != 1 || m.Checksum() != 0xce36 ||
		string(m.Payload()) != "abcde" || m.IsError() {
		t.Errorf("Type %d Code %d Ident %d Seq %d Checksum %#04x Payload %q", m.Type(), m.Code(), m.Ident(), m.Seq(), m.Checksum(), m.Payload())
	}
	if !m.ChecksumValid() {
		t.Error("fixture checksum is not valid")
	}
	flipEachBit(m, 0, len(m), func(bit int, c []byte) {
		if q, _ := wire.ParseICMPv4(c); q.ChecksumValid() {
			t.Errorf("bit %d flipped: ChecksumValid is true", bit)
		}
	})
	// An echo reply built from the request's fields and payload has the right checksum.
	reply := encodeICMPv4(wire.EchoFields(wire.ICMPv4EchoReply, m.Ident(), m.Seq()), m.Payload())
	if r, err := wire.ParseICMPv4(reply); err != nil || !r.ChecksumValid() || r.Checksum() != 0xd636 {
		t.Errorf("reply %x: err %v, checksum %#04x, want valid 0xd636", reply, err, r.Checksum())
	}
	// Re-encoding gives the fixture's bytes.
	if b := encodeICMPv4(m.Fields(), m.Payload()); !bytes.Equal(b, m) {
		t.Errorf("re-encoded %x, want %x", b, []byte(m))
	}
	// gopacket reads the same.
	g := gpDecode(t, frame, layers.LayerTypeEthernet).Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if g.TypeCode != layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0) || g.Id != 1 || g.Seq != 1 || g.Checksum != 0xce36 {
		t.Errorf("gopacket reads %+v", g)
	}
	if err, res := g.VerifyChecksum(); err != nil || !res.Valid {
		t.Errorf("gopacket: checksum %+v, %v", res, err)
	}
}

func TestICMPv4AgainstGopacket(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 55, 56, 1471} {
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(i*7 + 3)
		}
		frame := gpSerialize(t,
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 0xabcd, Seq: uint16(n)},
			gopacket.Payload(payload))
		m, err := wire.ParseICMPv4(frame)
		if err != nil {
			t.Fatal(err)
		}
		want := wire.EchoFields(wire.ICMPv4Echo, 0xabcd, uint16(n))
		if got := m.Fields(); got != want || !m.ChecksumValid() || !bytes.Equal(m.Payload(), payload) {
			t.Errorf("%d-byte payload: Fields %+v, ChecksumValid %v", n, got, m.ChecksumValid())
		}
		if b := encodeICMPv4(want, payload); !bytes.Equal(b, frame) {
			t.Errorf("%d-byte payload: we encode %x, gopacket %x", n, b, frame)
		}
	}
}

func TestParseICMPv4Errors(t *testing.T) {
	for n := range wire.ICMPv4HeaderLen {
		m, err := wire.ParseICMPv4(make([]byte, n))
		wantError(t, err, "icmpv4", "header", "truncated")
		if m != nil {
			t.Errorf("%d bytes: view returned with an error", n)
		}
	}
	_, err := wire.ParseICMPv4(make([]byte, 7))
	wantError(t, err, "icmpv4", "header", "7 bytes < 8")
}

func TestIsICMPv4Error(t *testing.T) {
	errorTypes := map[uint8]bool{3: true, 4: true, 5: true, 11: true, 12: true}
	for typ := range 256 {
		if got := wire.IsICMPv4Error(uint8(typ)); got != errorTypes[uint8(typ)] {
			t.Errorf("IsICMPv4Error(%d) = %v", typ, got)
		}
	}
}

func TestICMPv4EncodeAllocs(t *testing.T) {
	b := make([]byte, 64)
	f := wire.EchoFields(wire.ICMPv4Echo, 1, 2)
	if allocs := testing.AllocsPerRun(1000, func() { f.Encode(b) }); allocs != 0 {
		t.Errorf("ICMPv4Fields.Encode: %v allocations per run, want 0", allocs)
	}
}
