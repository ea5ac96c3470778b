package core

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/stack/clock"
	"github.com/mtcp-go/mtcp/stack/icmp"
	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/link/pipe"
	"github.com/mtcp-go/mtcp/stack/wire"
)

// The test bench: a core on one end of a pipe, the test on the other, time virtual. Frames are
// built and decoded with gopacket, never with stack/wire, so a bug in the wire package cannot
// hide on both sides.

var (
	stackMAC  = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
	peerMAC   = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	otherMAC  = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x03}
	bcastMAC  = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	stackIP   = netip.MustParseAddr("198.18.0.2")
	peerIP    = netip.MustParseAddr("198.18.0.1")
	otherIP   = netip.MustParseAddr("198.18.0.3")
	gatewayIP = netip.MustParseAddr("198.18.0.254")
	farIP     = netip.MustParseAddr("198.19.7.7")
	subnetBC  = netip.MustParseAddr("198.18.0.255")
)

type bench struct {
	t     testing.TB
	now   time.Time
	core  *Core
	peer  *pipe.End
	out   [][]byte
	trans *fakeTransport
}

// fakeTransport records what the core hands a transport.
type fakeTransport struct {
	packets []wire.IPv4
	errors  []icmp.Error
}

func (f *fakeTransport) HandlePacket(_ time.Time, p wire.IPv4, _ bool) {
	f.packets = append(f.packets, append(wire.IPv4(nil), p...))
}
func (f *fakeTransport) HandleError(_ time.Time, e icmp.Error) { f.errors = append(f.errors, e) }

func newBench(t testing.TB, mutate ...func(*Config)) *bench {
	t.Helper()
	a, b := pipe.New(1500)

	cfg := Config{
		MAC:       stackMAC,
		Interface: ipv4.Interface{Addr: netip.MustParsePrefix("198.18.0.2/24"), Gateway: gatewayIP},
		Secret:    [16]byte{1},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := New(cfg, a)
	if err != nil {
		t.Fatal(err)
	}
	bn := &bench{t: t, now: clock.Epoch, core: c, peer: b, trans: &fakeTransport{}}
	c.RegisterTransport(wire.ProtocolTCP, bn.trans)
	a.Attach(receiverFunc(func(f []byte) { c.HandleFrame(bn.now, f) }))
	b.Attach(receiverFunc(func(f []byte) { bn.out = append(bn.out, append([]byte(nil), f...)) }))
	return bn
}

type receiverFunc func([]byte)

func (f receiverFunc) DeliverFrame(b []byte) { f(b) }

// inject hands a frame to the stack at the current virtual time.
func (b *bench) inject(frame []byte) {
	b.t.Helper()
	if err := b.peer.WriteFrame(frame); err != nil {
		b.t.Fatalf("inject: %v", err)
	}
}

// advance moves virtual time by d, waking the core at each of its deadlines on the way.
func (b *bench) advance(d time.Duration) {
	end := b.now.Add(d)
	for {
		next, ok := b.core.NextDeadline()
		if !ok || next.After(end) {
			break
		}
		if next.After(b.now) {
			b.now = next
		}
		b.core.Advance(b.now)
	}
	b.now = end
	b.core.Advance(end)
}

// next returns the oldest frame the stack sent that the test has not looked at, decoded.
func (b *bench) next() gopacket.Packet {
	b.t.Helper()
	if len(b.out) == 0 {
		b.t.Fatalf("at +%v: the stack sent nothing, a frame was expected", b.now.Sub(clock.Epoch))
	}
	f := b.out[0]
	b.out = b.out[1:]
	p := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		b.t.Fatalf("stack sent an undecodable frame: %v\n%s", el.Error(), p.Dump())
	}
	return p
}

// expectNothing fails if the stack sent anything not yet looked at.
func (b *bench) expectNothing() {
	b.t.Helper()
	if len(b.out) > 0 {
		p := gopacket.NewPacket(b.out[0], layers.LayerTypeEthernet, gopacket.Default)
		b.t.Fatalf("at +%v: the stack sent %d unexpected frame(s), first:\n%s", b.now.Sub(clock.Epoch), len(b.out), p.Dump())
	}
}

// expectNothingFor advances d of virtual time and fails if anything was sent.
func (b *bench) expectNothingFor(d time.Duration) {
	b.t.Helper()
	b.advance(d)
	b.expectNothing()
}

// learnPeer teaches the stack the peer's MAC (an ARP request for the stack) and consumes the reply.
func (b *bench) learnPeer() {
	b.t.Helper()
	b.inject(arpFrame(layers.ARPRequest, peerMAC, peerIP, nil, stackIP, bcastMAC))
	b.next()
}

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		panic(fmt.Sprintf("serialize: %v", err))
	}
	return buf.Bytes()
}

func arpFrame(op uint16, sha net.HardwareAddr, spa netip.Addr, tha net.HardwareAddr, tpa netip.Addr, dst net.HardwareAddr) []byte {
	if tha == nil {
		tha = net.HardwareAddr{0, 0, 0, 0, 0, 0}
	}
	f := serialize(nil,
		&layers.Ethernet{SrcMAC: sha, DstMAC: dst, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: op, SourceHwAddress: sha, SourceProtAddress: spa.AsSlice(), DstHwAddress: tha, DstProtAddress: tpa.AsSlice()})
	return pad60(f)
}

func pad60(f []byte) []byte {
	for len(f) < 60 {
		f = append(f, 0)
	}
	return f
}

// ipFrame builds Ethernet + IPv4 + payload layers from the peer to the stack; fields of ip
// left zero get the bench's defaults.
func ipFrame(ip *layers.IPv4, payload ...gopacket.SerializableLayer) []byte {
	if ip.Version == 0 {
		ip.Version = 4
	}
	if ip.TTL == 0 {
		ip.TTL = 64
	}
	if ip.SrcIP == nil {
		ip.SrcIP = peerIP.AsSlice()
	}
	if ip.DstIP == nil {
		ip.DstIP = stackIP.AsSlice()
	}
	for _, l := range payload {
		if tcp, ok := l.(*layers.TCP); ok {
			_ = tcp.SetNetworkLayerForChecksum(ip)
		}
	}
	ls := append([]gopacket.SerializableLayer{
		&layers.Ethernet{SrcMAC: peerMAC, DstMAC: stackMAC, EthernetType: layers.EthernetTypeIPv4}, ip}, payload...)
	return serialize(nil, ls...)
}

func echoRequest(id, seq uint16, data []byte) []gopacket.SerializableLayer {
	return []gopacket.SerializableLayer{
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: id, Seq: seq},
		gopacket.Payload(data),
	}
}

func icmpProto() *layers.IPv4 { return &layers.IPv4{Protocol: layers.IPProtocolICMPv4} }

// layer returns the decoded layer of type T in p, failing the test if it is absent.
func layer[T gopacket.Layer](t testing.TB, p gopacket.Packet) T {
	t.Helper()
	for _, l := range p.Layers() {
		if v, ok := l.(T); ok {
			return v
		}
	}
	var zero T
	t.Fatalf("frame has no %T layer:\n%s", zero, p.Dump())
	return zero
}

// verifyIPv4Checksum recomputes the checksum of an outbound IPv4 header independently.
func verifyIPv4Checksum(t testing.TB, ip *layers.IPv4) {
	t.Helper()
	h := ip.Contents
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	if sum != 0xffff {
		t.Fatalf("IPv4 header checksum 0x%04x is wrong", ip.Checksum)
	}
}

func onesSum(b []byte) uint16 {
	var sum uint32
	for i := 0; i < len(b); i += 2 {
		w := uint32(b[i]) << 8
		if i+1 < len(b) {
			w |= uint32(b[i+1])
		}
		sum += w
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

func netipFrom4(b [4]byte) netip.Addr { return netip.AddrFrom4(b) }

var (
	netipZero       netip.Addr
	netipZeroPrefix netip.Prefix
)

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func mustIP4(s string) []byte { return netip.MustParseAddr(s).AsSlice() }
