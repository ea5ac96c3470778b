package core

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/link/pipe"
	"github.com/mtcp-go/mtcp/stack/wire"
)

func TestC1EchoIsAnsweredWithSameIDSeqAndData(t *testing.T) {
	for _, n := range []int{0, 1, 7, 56, 57, 1471, 1472} { // odd lengths too; 1472 fills the MTU
		b := newBench(t)
		b.learnPeer()
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i*7 + 3)
		}
		b.inject(echoFrame(uint16(n), data))
		expectEchoReply(t, b, uint16(n), data)
		b.expectNothing()
	}
}

func TestC2BadChecksumOrUnknownTypeIsDropped(t *testing.T) {
	b := newBench(t)
	b.learnPeer()
	f := echoFrame(1, []byte("abc"))
	f[14+20+2] ^= 0xff // ICMP checksum
	b.inject(f)
	unknown := ipFrame(icmpProto(), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(42, 0)}, gopacket.Payload("????"))
	b.inject(unknown)
	short := ipFrame(icmpProto(), gopacket.Payload("1234567")) // shorter than the ICMP header
	b.inject(short)
	b.expectNothingFor(5 * time.Second)
	s := b.core.Stats().ICMP
	if s.BadChecksum != 1 || s.UnknownType != 1 || s.Malformed != 1 {
		t.Fatalf("ICMP stats %+v; want one bad checksum, one unknown type, one malformed", s)
	}
}

func TestC3EchoToBroadcastIsIgnored(t *testing.T) {
	for _, dst := range []string{"198.18.0.255", "255.255.255.255"} {
		b := newBench(t)
		b.learnPeer()
		ip := icmpProto()
		ip.DstIP = []byte{0, 0, 0, 0}
		copy(ip.DstIP, mustIP4(dst))
		f := ipFrame(ip, echoRequest(0x4d54, 1, []byte("bc"))...)
		copy(f[0:6], bcastMAC)
		b.inject(f)
		b.expectNothingFor(5 * time.Second)
		if b.core.Stats().ICMP.BroadcastEcho != 1 {
			t.Fatalf("echo to %s not counted as ignored", dst)
		}
	}
}

func TestC4NoErrorAboutAnErrorABroadcastOrANonFirstFragment(t *testing.T) {
	t.Run("fragment 0 of an ICMP error times out", func(t *testing.T) {
		b := newBench(t)
		b.learnPeer()
		msg := serialize(t, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, 3)},
			gopacket.Payload(bytes.Repeat([]byte{0x45}, 64)))
		b.inject(ipFrame(&layers.IPv4{Protocol: layers.IPProtocolICMPv4, Id: 3, Flags: layers.IPv4MoreFragments}, gopacket.Payload(msg[:40])))
		b.expectNothingFor(2 * ipv4.DefaultReassemblyTimeout)
		if b.core.Stats().ICMP.ErrorSuppressed != 1 {
			t.Fatal("suppression not counted")
		}
	})
	t.Run("unknown protocol to broadcast", func(t *testing.T) {
		b := newBench(t)
		b.learnPeer()
		f := ipFrame(&layers.IPv4{Protocol: 253, DstIP: subnetBC.AsSlice()}, gopacket.Payload("12345678"))
		copy(f[0:6], bcastMAC)
		b.inject(f)
		b.expectNothingFor(5 * time.Second)
		if b.core.Stats().ICMP.ErrorSuppressed != 1 {
			t.Fatal("suppression not counted")
		}
	})
	t.Run("non-first fragment only", func(t *testing.T) {
		b := newBench(t)
		b.learnPeer()
		b.inject(ipFrame(&layers.IPv4{Protocol: 253, Id: 4, FragOffset: 8}, gopacket.Payload("12345678")))
		b.expectNothingFor(2 * ipv4.DefaultReassemblyTimeout)
	})
}

func TestIncomingDestinationUnreachableGoesToTheOwningTransport(t *testing.T) {
	b := newBench(t)
	b.learnPeer()
	// The datagram the stack "sent": a TCP segment from us to the peer, quoted back.
	quoted := serialize(t, &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP,
		SrcIP: stackIP.AsSlice(), DstIP: peerIP.AsSlice()}, gopacket.Payload([]byte{0x9c, 0x40, 0, 80, 0, 0, 0, 1}))
	unreach := func(src []byte) []byte {
		return ipFrame(icmpProto(), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodePort)},
			gopacket.Payload(src))
	}
	b.inject(unreach(quoted))
	if len(b.trans.errors) != 1 {
		t.Fatalf("transport got %d errors, want 1", len(b.trans.errors))
	}
	e := b.trans.errors[0]
	if e.Type != wire.ICMPv4DestUnreach || e.Code != wire.ICMPv4PortUnreachable || e.Protocol != wire.ProtocolTCP ||
		e.Src != stackIP || e.Dst != peerIP || !bytes.Equal(e.Transport, quoted[20:]) || e.Local {
		t.Fatalf("error %+v does not describe the quoted segment", e)
	}
	// Quoting a datagram some other host sent, or too little of it: not handed on.
	other := append([]byte(nil), quoted...)
	copy(other[12:16], otherIP.AsSlice())
	b.inject(unreach(other))
	b.inject(unreach(quoted[:24]))
	if len(b.trans.errors) != 1 {
		t.Fatal("an error about a datagram we did not send reached the transport")
	}
	b.expectNothing() // never an ICMP error about an ICMP error
	if s := b.core.Stats().ICMP; s.Unowned != 1 || s.Malformed != 1 {
		t.Fatalf("ICMP stats %+v; want 1 unowned, 1 malformed", s)
	}
}

func TestOffLinkDestinationGoesThroughTheGateway(t *testing.T) {
	b := newBench(t)
	if err := b.core.SendIPv4(farIP, wire.ProtocolTCP, []byte("x"), ipv4.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	a := expectARP(t, b, layers.ARPRequest, bcastMAC)
	if !bytes.Equal(a.DstProtAddress, gatewayIP.AsSlice()) {
		t.Fatalf("resolving %v, want the gateway %v", a.DstProtAddress, gatewayIP)
	}
	noGW := newBench(t, func(c *Config) { c.Interface.Gateway = netipZero })
	if err := noGW.core.SendIPv4(farIP, wire.ProtocolTCP, []byte("x"), ipv4.SendOptions{}); err == nil {
		t.Fatal("sending off-link without a gateway succeeded")
	}
}

func TestConfigIsValidated(t *testing.T) {
	a, _ := pipe.New(1500)
	good := func() Config {
		return Config{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, Interface: ipv4.Interface{Addr: mustPrefix("198.18.0.2/24")}}
	}
	bad := map[string]func(*Config){
		"multicast MAC":      func(c *Config) { c.MAC[0] = 1 },
		"zero MAC":           func(c *Config) { c.MAC = net.HardwareAddr{0, 0, 0, 0, 0, 0} },
		"no address":         func(c *Config) { c.Interface.Addr = netipZeroPrefix },
		"network address":    func(c *Config) { c.Interface.Addr = mustPrefix("198.18.0.0/24") },
		"broadcast address":  func(c *Config) { c.Interface.Addr = mustPrefix("198.18.0.255/24") },
		"/32":                func(c *Config) { c.Interface.Addr = mustPrefix("198.18.0.2/32") },
		"gateway off-link":   func(c *Config) { c.Interface.Gateway = farIP },
		"MTU over the link":  func(c *Config) { c.MTU = 9000 },
		"MTU below 68":       func(c *Config) { c.MTU = 60 },
		"ARP retry too fast": func(c *Config) { c.ARP.RetryInterval = time.Millisecond },
		"reassembly tiny":    func(c *Config) { c.Reassembly.MaxBytes = 100 },
	}
	if _, err := New(good(), a); err != nil {
		t.Fatalf("good config refused: %v", err)
	}
	for name, m := range bad {
		c := good()
		m(&c)
		if _, err := New(c, a); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// BenchmarkEcho measures one ICMP echo request in and its reply out through the core.
func BenchmarkEcho(b *testing.B) {
	a, peer := pipe.New(1500)
	c, err := New(Config{MAC: stackMAC, Interface: ipv4.Interface{Addr: mustPrefix("198.18.0.2/24")}, Secret: [16]byte{1}}, a)
	if err != nil {
		b.Fatal(err)
	}
	now := c.Now()
	a.Attach(receiverFunc(func(f []byte) { c.HandleFrame(now, f) }))
	replies := 0
	peer.Attach(receiverFunc(func(f []byte) { replies++ }))
	if err := peer.WriteFrame(arpFrame(layers.ARPRequest, peerMAC, peerIP, nil, stackIP, bcastMAC)); err != nil {
		b.Fatal(err)
	}
	req := echoFrame(1, bytes.Repeat([]byte{0xa5}, 56)) // ping's default size
	replies = 0
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	for b.Loop() {
		_ = peer.WriteFrame(req)
	}
	if replies != b.N {
		b.Fatalf("%d replies to %d requests", replies, b.N)
	}
}
