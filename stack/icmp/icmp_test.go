package icmp

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/wire"
)

var ifc = ipv4.Interface{Addr: netip.MustParsePrefix("198.18.0.2/24")}

func datagram(src, dst string, proto wire.IPProtocol, fragOff int, payload []byte) wire.IPv4 {
	f := wire.IPv4Fields{TTL: 64, Protocol: proto, FragmentOffset: fragOff,
		Source: netip.MustParseAddr(src), Destination: netip.MustParseAddr(dst)}
	b := make([]byte, 20+len(payload))
	copy(b[20:], payload)
	f.Encode(b, len(payload))
	p, err := wire.ParseIPv4(b)
	if err != nil {
		panic(err)
	}
	return p
}

func icmpMsg(typ uint8) []byte {
	b := make([]byte, 8)
	f := wire.ICMPv4Fields{Type: typ}
	f.Encode(b)
	return b
}

func TestMayReportError(t *testing.T) {
	cases := []struct {
		name string
		p    wire.IPv4
		link bool
		want bool
	}{
		{"unicast datagram", datagram("198.18.0.1", "198.18.0.2", 253, 0, []byte("12345678")), false, true},
		{"echo request", datagram("198.18.0.1", "198.18.0.2", wire.ProtocolICMP, 0, icmpMsg(wire.ICMPv4Echo)), false, true},
		{"an ICMP error", datagram("198.18.0.1", "198.18.0.2", wire.ProtocolICMP, 0, icmpMsg(wire.ICMPv4DestUnreach)), false, false},
		{"unreadable ICMP", datagram("198.18.0.1", "198.18.0.2", wire.ProtocolICMP, 0, []byte{3}), false, false},
		{"link broadcast", datagram("198.18.0.1", "198.18.0.2", 253, 0, nil), true, false},
		{"IP broadcast", datagram("198.18.0.1", "198.18.0.255", 253, 0, nil), false, false},
		{"multicast", datagram("198.18.0.1", "224.0.0.9", 253, 0, nil), false, false},
		{"non-first fragment", datagram("198.18.0.1", "198.18.0.2", 253, 8, nil), false, false},
		{"source 0.0.0.0", datagram("0.0.0.0", "198.18.0.2", 253, 0, nil), false, false},
		{"broadcast source", datagram("198.18.0.255", "198.18.0.2", 253, 0, nil), false, false},
	}
	for _, c := range cases {
		if got := MayReportError(c.p, c.link, ifc); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestErrorQuotesAtMost576Bytes(t *testing.T) {
	big := datagram("198.18.0.1", "198.18.0.2", 253, 0, bytes.Repeat([]byte{9}, 1400))
	buf := make([]byte, 1500)
	n := EncodeError(buf, wire.ICMPv4DestUnreach, wire.ICMPv4ProtocolUnreachable, 0, big)
	if n != 8+MaxQuote || 20+n != 576 {
		t.Fatalf("error is %d bytes, want an IP datagram of 576", n)
	}
	m, _ := wire.ParseICMPv4(buf[:n])
	if !m.ChecksumValid() || !bytes.Equal(m.Payload(), big[:MaxQuote]) {
		t.Fatal("bad checksum or quote")
	}
	e, ok := ParseError(m)
	if !ok || e.Protocol != 253 || e.Src != netip.MustParseAddr("198.18.0.1") || len(e.Transport) != MaxQuote-20 {
		t.Fatalf("ParseError: %+v %v", e, ok)
	}
}

func TestParseErrorNeedsHeaderAndEightBytes(t *testing.T) {
	p := datagram("198.18.0.2", "198.18.0.1", wire.ProtocolTCP, 0, []byte("01234567"))
	for n, want := range map[int]bool{28: true, 27: false, 20: false, 0: false} {
		buf := make([]byte, 8+n)
		EncodeError(buf, wire.ICMPv4DestUnreach, wire.ICMPv4PortUnreachable, 0, p[:n])
		m, _ := wire.ParseICMPv4(buf)
		if _, ok := ParseError(m); ok != want {
			t.Errorf("quote of %d bytes: ok %v, want %v", n, ok, want)
		}
	}
}

func TestEchoReplyMirrorsRequest(t *testing.T) {
	req := make([]byte, 8+5)
	copy(req[8:], "abcde")
	f := wire.EchoFields(wire.ICMPv4Echo, 0x1234, 0x5678)
	f.Encode(req)
	m, _ := wire.ParseICMPv4(req)
	out := make([]byte, len(req))
	n := EncodeEchoReply(out, m)
	r, _ := wire.ParseICMPv4(out[:n])
	if r.Type() != wire.ICMPv4EchoReply || r.Ident() != 0x1234 || r.Seq() != 0x5678 || string(r.Payload()) != "abcde" || !r.ChecksumValid() {
		t.Fatalf("reply %x", out[:n])
	}
}
