package wire_test

import (
	"bytes"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/stack/wire"
)

func TestEthernetRoundTrip(t *testing.T) {
	for _, f := range []wire.EthernetFields{
		{Destination: wire.BroadcastMAC, Source: macA, EtherType: wire.EtherTypeARP},
		{Destination: macB, Source: macA, EtherType: wire.EtherTypeIPv4},
		{Destination: wire.MAC{0x33, 0x33, 0, 0, 0, 1}, Source: macB, EtherType: wire.EtherTypeIPv6},
		{Destination: wire.MAC{0x01, 0x80, 0xc2, 0, 0, 0x0e}, Source: macA, EtherType: 0x88cc}, // LLDP
		{EtherType: 0x0600}, // the smallest EtherType
		{Destination: wire.BroadcastMAC, Source: wire.BroadcastMAC, EtherType: 0xffff},
	} {
		b := make([]byte, wire.EthernetMinFrame)
		payload := b[wire.EthernetHeaderLen:]
		for i := range payload {
			payload[i] = byte(i)
		}
		f.Encode(b)
		e, err := wire.ParseEthernet(b)
		if err != nil {
			t.Fatalf("%+v: ParseEthernet: %v", f, err)
		}
		if got := e.Fields(); got != f {
			t.Errorf("round trip: got %+v, want %+v", got, f)
		}
		if !bytes.Equal(e.Payload(), payload) {
			t.Errorf("%+v: Payload = %x, want %x", f, e.Payload(), payload)
		}
		if len(e) != len(b) {
			t.Errorf("%+v: view is %d bytes, want %d", f, len(e), len(b))
		}
	}
}

func TestEthernetHeaderOnly(t *testing.T) {
	b := make([]byte, wire.EthernetHeaderLen)
	(&wire.EthernetFields{Destination: macB, Source: macA, EtherType: wire.EtherTypeIPv4}).Encode(b)
	e, err := wire.ParseEthernet(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Payload()) != 0 {
		t.Errorf("Payload = %x, want empty", e.Payload())
	}
}

func TestEthernetSetters(t *testing.T) {
	b := fixture(t, fixtureICMPEcho)
	e, err := wire.ParseEthernet(b)
	if err != nil {
		t.Fatal(err)
	}
	e.SetDestination(macA)
	e.SetSource(macB)
	want := wire.EthernetFields{Destination: macA, Source: macB, EtherType: wire.EtherTypeIPv4}
	if got := e.Fields(); got != want {
		t.Errorf("after setters: %+v, want %+v", got, want)
	}
	if !bytes.Equal(b[wire.EthernetHeaderLen:], mustHex(t, fixtureICMPEcho)[wire.EthernetHeaderLen:]) {
		t.Error("setters changed the payload")
	}
}

func TestParseEthernetErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []byte
		field   string
		reasons []string
	}{
		{"empty", nil, "header", []string{"truncated", "0 bytes < 14"}},
		{"13 bytes", make([]byte, 13), "header", []string{"13 bytes < 14"}},
		{"802.3 length 1500", append(make([]byte, 12), 0x05, 0xdc), "type", []string{"0x05dc", "802.3 length"}},
		{"802.3 length 0", make([]byte, 60), "type", []string{"0x0000"}},
		{"type 0x05ff", append(make([]byte, 12), 0x05, 0xff), "type", []string{"0x05ff"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := wire.ParseEthernet(tc.in)
			wantError(t, err, "ethernet", tc.field, tc.reasons...)
			if e != nil {
				t.Errorf("view %x returned with an error", e)
			}
		})
	}
}

func TestEthernetFixtures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		hex     string
		want    wire.EthernetFields
		payload int
	}{
		{"arp request", fixtureARPRequest, wire.EthernetFields{Destination: wire.BroadcastMAC, Source: macA, EtherType: wire.EtherTypeARP}, 46},
		{"icmp echo", fixtureICMPEcho, wire.EthernetFields{Destination: macB, Source: macA, EtherType: wire.EtherTypeIPv4}, 46},
		{"tcp syn", fixtureTCPSYN, wire.EthernetFields{Destination: macB, Source: macA, EtherType: wire.EtherTypeIPv4}, 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := mustHex(t, tc.hex)
			e, err := wire.ParseEthernet(b)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Fields(); got != tc.want {
				t.Errorf("Fields = %+v, want %+v", got, tc.want)
			}
			if len(e.Payload()) != tc.payload {
				t.Errorf("Payload is %d bytes, want %d (padding included)", len(e.Payload()), tc.payload)
			}
			// gopacket, as an independent decoder, reads the same header.
			eth := gpDecode(t, b, layers.LayerTypeEthernet).Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			if !bytes.Equal(eth.DstMAC, hw(tc.want.Destination)) || !bytes.Equal(eth.SrcMAC, hw(tc.want.Source)) ||
				uint16(eth.EthernetType) != uint16(tc.want.EtherType) {
				t.Errorf("gopacket reads %v > %v %v", eth.SrcMAC, eth.DstMAC, eth.EthernetType)
			}
		})
	}
}

func TestEthernetAgainstGopacket(t *testing.T) {
	// gopacket builds, we parse.
	frame := gpSerialize(t,
		&layers.Ethernet{SrcMAC: hw(macA), DstMAC: hw(wire.BroadcastMAC), EthernetType: layers.EthernetTypeARP},
		gopacket.Payload([]byte{1, 2, 3}))
	if len(frame) != wire.EthernetMinFrame {
		t.Fatalf("gopacket frame is %d bytes, want it padded to 60", len(frame))
	}
	e, err := wire.ParseEthernet(frame)
	if err != nil {
		t.Fatal(err)
	}
	want := wire.EthernetFields{Destination: wire.BroadcastMAC, Source: macA, EtherType: wire.EtherTypeARP}
	if got := e.Fields(); got != want {
		t.Errorf("Fields = %+v, want %+v", got, want)
	}

	// We build, gopacket decodes.
	b := make([]byte, 20)
	(&wire.EthernetFields{Destination: macB, Source: macA, EtherType: wire.EtherTypeIPv6}).Encode(b)
	var eth layers.Ethernet
	if err := eth.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(eth.DstMAC, hw(macB)) || !bytes.Equal(eth.SrcMAC, hw(macA)) || eth.EthernetType != layers.EthernetTypeIPv6 {
		t.Errorf("gopacket decodes %v > %v %v", eth.SrcMAC, eth.DstMAC, eth.EthernetType)
	}
}

func TestMAC(t *testing.T) {
	m, ok := wire.MACFrom(net.HardwareAddr{0x02, 0, 0, 0, 0, 1})
	if !ok || m != macA {
		t.Errorf("MACFrom = %v, %v; want %v, true", m, ok, macA)
	}
	for _, h := range []net.HardwareAddr{nil, {1, 2, 3, 4, 5}, {1, 2, 3, 4, 5, 6, 7, 8}} {
		if m, ok := wire.MACFrom(h); ok || !m.IsZero() {
			t.Errorf("MACFrom(%v) = %v, %v; want zero, false", h, m, ok)
		}
	}
	h := macA.HardwareAddr()
	if h.String() != "02:00:00:00:00:01" || macA.String() != "02:00:00:00:00:01" {
		t.Errorf("HardwareAddr = %v, String = %v", h, macA)
	}
	h[0] = 0xff // the net.HardwareAddr is a copy
	if macA[0] != 0x02 {
		t.Error("HardwareAddr aliases the MAC")
	}
	for _, tc := range []struct {
		m                      wire.MAC
		broadcast, mcast, zero bool
	}{
		{wire.BroadcastMAC, true, true, false},
		{wire.MAC{0x01, 0x00, 0x5e, 0, 0, 1}, false, true, false},
		{macA, false, false, false},
		{wire.MAC{}, false, false, true},
	} {
		if tc.m.IsBroadcast() != tc.broadcast || tc.m.IsMulticast() != tc.mcast || tc.m.IsZero() != tc.zero {
			t.Errorf("%v: IsBroadcast, IsMulticast, IsZero = %v, %v, %v; want %v, %v, %v", tc.m,
				tc.m.IsBroadcast(), tc.m.IsMulticast(), tc.m.IsZero(), tc.broadcast, tc.mcast, tc.zero)
		}
	}
}

func TestEtherTypeString(t *testing.T) {
	for typ, want := range map[wire.EtherType]string{
		wire.EtherTypeIPv4: "IPv4", wire.EtherTypeARP: "ARP", wire.EtherTypeIPv6: "IPv6", 0x88cc: "0x88cc", 0x0600: "0x0600",
	} {
		if got := typ.String(); got != want {
			t.Errorf("EtherType(%#x).String() = %q, want %q", uint16(typ), got, want)
		}
	}
}
