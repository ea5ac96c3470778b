package wire_test

import (
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// Addresses of the two hosts every fixture talks between.
var (
	macA  = wire.MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	macB  = wire.MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
	addrA = netip.MustParseAddr("198.18.0.1")
	addrB = netip.MustParseAddr("198.18.0.2")
)

// Hex fixtures: whole Ethernet frames as they appear on the wire (without FCS). Checksums were
// computed outside Go and are cross-checked against gopacket in the tests.
const (
	// ARP request "who has 198.18.0.2 tell 198.18.0.1" from 02:00:00:00:00:01, broadcast,
	// padded with zeros to the 60-byte Ethernet minimum.
	fixtureARPRequest = "ffffffffffff 020000000001 0806" + // Ethernet
		"0001 0800 06 04 0001" + // Ethernet/IPv4, request
		"020000000001 c6120001" + // sender 02:00:00:00:00:01 198.18.0.1
		"000000000000 c6120002" + // target ?? 198.18.0.2
		"000000000000000000000000000000000000" // 18 bytes of padding

	// ICMP echo request 198.18.0.1 > 198.18.0.2, id 1, seq 1, payload "abcde" (odd length),
	// IPv4 ID 0x1234, DF, TTL 64; 47 bytes, padded with zeros to 60.
	fixtureICMPEcho = "020000000002 020000000001 0800" + // Ethernet
		"4500 0021 1234 4000 4001 9c80 c6120001 c6120002" + // IPv4, total length 33
		"0800 ce36 0001 0001" + // echo request, checksum 0xce36
		"6162636465" + // "abcde"
		"00000000000000000000000000" // 13 bytes of padding

	// TCP SYN 198.18.0.1:45678 > 198.18.0.2:80 as Linux sends it: seq 0x12345678, window
	// 64240, options MSS 1460, SACK permitted, TS val 0x0a1b2c3d ecr 0, NOP, window scale 7.
	fixtureTCPSYN = "020000000002 020000000001 0800" + // Ethernet
		"4500 003c beef 4000 4006 efa4 c6120001 c6120002" + // IPv4, total length 60
		"b26e 0050 12345678 00000000 a002 faf0 6f24 0000" + // TCP, data offset 10, SYN
		"020405b4" + // MSS 1460
		"0402" + // SACK permitted
		"080a 0a1b2c3d 00000000" + // timestamps
		"01" + // NOP
		"030307" // window scale 7
)

// mustHex decodes a hex string, ignoring spaces.
func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex fixture: %v", err)
	}
	return b
}

// fixture returns a fresh copy of a hex fixture, so tests may modify it.
func fixture(t testing.TB, s string) []byte { t.Helper(); return mustHex(t, s) }

// wantError checks that err is a *wire.Error for layer and field, that its message names the
// field, and that the message contains each of reasons.
func wantError(t *testing.T, err error, layer, field string, reasons ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s %s error", layer, field)
	}
	var we *wire.Error
	if !errors.As(err, &we) {
		t.Fatalf("error %q (%T) is not a *wire.Error", err, err)
	}
	if we.Layer != layer || string(we.Field) != field {
		t.Errorf("error %q: Layer, Field = %q, %q; want %q, %q", err, we.Layer, we.Field, layer, field)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, layer+": "+field+" ") {
		t.Errorf("error %q does not start with %q", msg, layer+": "+field)
	}
	for _, r := range reasons {
		if !strings.Contains(msg, r) {
			t.Errorf("error %q does not mention %q", msg, r)
		}
	}
}

// gpSerialize builds a frame with gopacket, fixing lengths and computing checksums.
func gpSerialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatalf("gopacket SerializeLayers: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// gpDecode decodes a frame with gopacket and fails the test on a decoding error.
func gpDecode(t testing.TB, frame []byte, first gopacket.LayerType) gopacket.Packet {
	t.Helper()
	p := gopacket.NewPacket(frame, first, gopacket.DecodeOptions{NoCopy: true})
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("gopacket cannot decode %x: %v", frame, el.Error())
	}
	return p
}

// gpTCPChecksumValid reports whether gopacket finds the TCP checksum of an IPv4 datagram
// correct.
func gpTCPChecksumValid(t testing.TB, datagram []byte) bool {
	t.Helper()
	p := gpDecode(t, datagram, layers.LayerTypeIPv4)
	ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	err, res := tcp.VerifyChecksum()
	if err != nil {
		t.Fatal(err)
	}
	return res.Valid
}

// hw converts a MAC for gopacket.
func hw(m wire.MAC) net.HardwareAddr { return m.HardwareAddr() }

// ip4 converts an address for gopacket.
func ip4(a netip.Addr) net.IP { s := a.As4(); return net.IP(s[:]) }

// flipEachBit calls f with a copy of b in which one bit has been flipped, for every bit of
// b[from:to].
func flipEachBit(b []byte, from, to int, f func(bit int, c []byte)) {
	for bit := from * 8; bit < to*8; bit++ {
		c := append([]byte(nil), b...)
		c[bit/8] ^= 0x80 >> (bit % 8)
		f(bit, c)
	}
}
