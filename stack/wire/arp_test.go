package wire_test

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/stack/wire"
)

func TestARPRoundTrip(t *testing.T) {
	for _, f := range []wire.ARPFields{
		{Operation: wire.ARPRequest, SenderHardwareAddr: macA, SenderProtocolAddr: addrA, TargetProtocolAddr: addrB},
		{Operation: wire.ARPReply, SenderHardwareAddr: macB, SenderProtocolAddr: addrB, TargetHardwareAddr: macA, TargetProtocolAddr: addrA},
		// Gratuitous ARP: sender and target protocol addresses are the same.
		{Operation: wire.ARPRequest, SenderHardwareAddr: macA, SenderProtocolAddr: addrA, TargetProtocolAddr: addrA},
		// Probe (RFC 5227): sender protocol address 0.0.0.0.
		{Operation: wire.ARPRequest, SenderHardwareAddr: macA, SenderProtocolAddr: netip.IPv4Unspecified(), TargetProtocolAddr: addrB},
		{Operation: wire.ARPReply, SenderHardwareAddr: wire.BroadcastMAC, SenderProtocolAddr: netip.MustParseAddr("255.255.255.255"),
			TargetHardwareAddr: wire.BroadcastMAC, TargetProtocolAddr: netip.MustParseAddr("255.255.255.255")},
	} {
		b := make([]byte, wire.ARPLen)
		f.Encode(b)
		a, err := wire.ParseARP(b)
		if err != nil {
			t.Fatalf("%+v: ParseARP: %v", f, err)
		}
		if got := a.Fields(); got != f {
			t.Errorf("round trip: got %+v, want %+v", got, f)
		}
		if a.HardwareType() != 1 || a.ProtocolType() != wire.EtherTypeIPv4 {
			t.Errorf("HardwareType, ProtocolType = %d, %v; want 1, IPv4", a.HardwareType(), a.ProtocolType())
		}
	}
}

func TestARPEncodeIPv4MappedAndZeroAddr(t *testing.T) {
	b := make([]byte, wire.ARPLen)
	f := wire.ARPFields{Operation: wire.ARPRequest, SenderProtocolAddr: netip.MustParseAddr("::ffff:198.18.0.1")}
	f.Encode(b) // TargetProtocolAddr is the zero netip.Addr: written as 0.0.0.0
	a, err := wire.ParseARP(b)
	if err != nil {
		t.Fatal(err)
	}
	if a.SenderProtocolAddr() != addrA || a.TargetProtocolAddr() != netip.IPv4Unspecified() {
		t.Errorf("addresses %v, %v; want %v, 0.0.0.0", a.SenderProtocolAddr(), a.TargetProtocolAddr(), addrA)
	}
}

func TestARPFixtureWhoHas(t *testing.T) {
	frame := mustHex(t, fixtureARPRequest)
	if len(frame) != wire.EthernetMinFrame {
		t.Fatalf("fixture is %d bytes, want 60", len(frame))
	}
	e, err := wire.ParseEthernet(frame)
	if err != nil {
		t.Fatal(err)
	}
	// The padded payload is 46 bytes: ParseARP accepts it and cuts the padding off.
	a, err := wire.ParseARP(e.Payload())
	if err != nil {
		t.Fatalf("ParseARP of the 46-byte padded payload: %v", err)
	}
	if len(a) != wire.ARPLen {
		t.Errorf("view is %d bytes, want %d", len(a), wire.ARPLen)
	}
	want := wire.ARPFields{Operation: wire.ARPRequest, SenderHardwareAddr: macA, SenderProtocolAddr: addrA, TargetProtocolAddr: addrB}
	if got := a.Fields(); got != want {
		t.Errorf("Fields = %+v, want %+v", got, want)
	}

	// Building the same request with the Fields structs gives the fixture byte for byte.
	b := make([]byte, wire.EthernetMinFrame)
	(&wire.EthernetFields{Destination: wire.BroadcastMAC, Source: macA, EtherType: wire.EtherTypeARP}).Encode(b)
	want.Encode(b[wire.EthernetHeaderLen:])
	if !bytes.Equal(b, frame) {
		t.Errorf("encoded\n%x\nwant\n%x", b, frame)
	}

	// gopacket reads the fixture the same way.
	arp := gpDecode(t, frame, layers.LayerTypeEthernet).Layer(layers.LayerTypeARP).(*layers.ARP)
	if arp.Operation != layers.ARPRequest || !bytes.Equal(arp.SourceHwAddress, hw(macA)) ||
		!bytes.Equal(arp.SourceProtAddress, ip4(addrA)) || !bytes.Equal(arp.DstProtAddress, ip4(addrB)) {
		t.Errorf("gopacket reads %+v", arp)
	}
}

func TestARPAgainstGopacket(t *testing.T) {
	// gopacket builds a reply, we parse it.
	frame := gpSerialize(t,
		&layers.Ethernet{SrcMAC: hw(macB), DstMAC: hw(macA), EthernetType: layers.EthernetTypeARP},
		&layers.ARP{
			AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, Operation: layers.ARPReply,
			SourceHwAddress: hw(macB), SourceProtAddress: ip4(addrB),
			DstHwAddress: hw(macA), DstProtAddress: ip4(addrA),
		})
	e, err := wire.ParseEthernet(frame)
	if err != nil {
		t.Fatal(err)
	}
	a, err := wire.ParseARP(e.Payload())
	if err != nil {
		t.Fatal(err)
	}
	want := wire.ARPFields{Operation: wire.ARPReply, SenderHardwareAddr: macB, SenderProtocolAddr: addrB, TargetHardwareAddr: macA, TargetProtocolAddr: addrA}
	if got := a.Fields(); got != want {
		t.Errorf("Fields = %+v, want %+v", got, want)
	}

	// We build, gopacket decodes.
	b := make([]byte, wire.ARPLen)
	want.Encode(b)
	var arp layers.ARP
	if err := arp.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		t.Fatal(err)
	}
	if arp.AddrType != layers.LinkTypeEthernet || arp.Protocol != layers.EthernetTypeIPv4 ||
		arp.HwAddressSize != 6 || arp.ProtAddressSize != 4 || arp.Operation != layers.ARPReply ||
		!bytes.Equal(arp.SourceHwAddress, hw(macB)) || !bytes.Equal(arp.SourceProtAddress, ip4(addrB)) ||
		!bytes.Equal(arp.DstHwAddress, hw(macA)) || !bytes.Equal(arp.DstProtAddress, ip4(addrA)) {
		t.Errorf("gopacket decodes %+v", arp)
	}
}

func TestParseARPErrors(t *testing.T) {
	valid := func() []byte {
		b := make([]byte, wire.ARPLen)
		(&wire.ARPFields{Operation: wire.ARPRequest, SenderHardwareAddr: macA, SenderProtocolAddr: addrA, TargetProtocolAddr: addrB}).Encode(b)
		return b
	}
	with := func(i int, v ...byte) []byte { b := valid(); copy(b[i:], v); return b }
	for _, tc := range []struct {
		name    string
		in      []byte
		field   string
		reasons []string
	}{
		{"empty", nil, "packet", []string{"truncated", "0 bytes < 28"}},
		{"27 bytes", valid()[:27], "packet", []string{"27 bytes < 28"}},
		{"hardware type IEEE 802", with(0, 0, 6), "hardware type", []string{"6 is not Ethernet"}},
		{"hardware type 0", with(0, 0, 0), "hardware type", []string{"0 is not Ethernet"}},
		{"protocol type IPv6", with(2, 0x86, 0xdd), "protocol type", []string{"0x86dd is not IPv4"}},
		{"hardware length 8", with(4, 8), "hardware length", []string{"8 != 6"}},
		{"protocol length 16", with(5, 16), "protocol length", []string{"16 != 4"}},
		{"operation 0", with(6, 0, 0), "operation", []string{"0 is neither"}},
		{"operation RARP request", with(6, 0, 3), "operation", []string{"3 is neither"}},
		{"operation 0x0101", with(6, 1, 1), "operation", []string{"257 is neither"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := wire.ParseARP(tc.in)
			wantError(t, err, "arp", tc.field, tc.reasons...)
			if a != nil {
				t.Errorf("view %x returned with an error", a)
			}
		})
	}
}
