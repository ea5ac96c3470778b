package replay

import (
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// frameBuilder builds the frames the replay makes itself, with gopacket's SerializeLayers: the
// ARP replies for the stack, and the peer's segments the capture does not hold as such (a held
// ACK given back, the parts of a coalesced segment, the zeros of a capture gap), on the headers
// of a segment of the peer the replay injected. As the stack's own code parses no capture frame
// (frame.go), none builds a frame the stack is given.
//
// gopacket pads an Ethernet frame to the 60 bytes of the wire's minimum; the frames built are
// cut to their IPv4 datagram or ARP packet, as the capture's frames and the stack's are.
type frameBuilder struct {
	eth layers.Ethernet
	ip  layers.IPv4
	tcp layers.TCP
	arp layers.ARP
	buf gopacket.SerializeBuffer
}

var buildOptions = gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}

func newFrameBuilder() *frameBuilder {
	return &frameBuilder{buf: gopacket.NewSerializeBuffer()}
}

// builder returns the engine's frame builder.
func (e *engine) builder() *frameBuilder {
	if e.fb == nil {
		e.fb = newFrameBuilder()
	}
	return e.fb
}

// arpReply builds the ARP reply that tells the stack (stackIP, stackMAC) that ip is at mac.
func (b *frameBuilder) arpReply(mac net.HardwareAddr, ip netip.Addr, stackMAC net.HardwareAddr, stackIP netip.Addr) []byte {
	a4, s4 := ip.As4(), stackIP.As4()
	b.eth = layers.Ethernet{SrcMAC: mac, DstMAC: stackMAC, EthernetType: layers.EthernetTypeARP}
	b.arp = layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation:       layers.ARPReply,
		SourceHwAddress: mac, SourceProtAddress: a4[:],
		DstHwAddress: stackMAC, DstProtAddress: s4[:],
	}
	if err := gopacket.SerializeLayers(b.buf, buildOptions, &b.eth, &b.arp); err != nil {
		panic("replay: an ARP reply does not serialize: " + err.Error()) // six-byte MACs and IPv4 addresses always do
	}
	return append([]byte(nil), b.buf.Bytes()[:14+28]...)
}

// template takes the Ethernet, IPv4 and TCP headers of f, a segment of the peer as injected,
// for the segments built on it (segment); false if they do not decode. Its payload is not
// taken, nor the bytes past the IPv4 datagram.
func (b *frameBuilder) template(f []byte) bool {
	if b.eth.DecodeFromBytes(f, gopacket.NilDecodeFeedback) != nil || b.eth.EthernetType != layers.EthernetTypeIPv4 ||
		b.ip.DecodeFromBytes(b.eth.Payload, gopacket.NilDecodeFeedback) != nil || b.ip.Protocol != layers.IPProtocolTCP ||
		b.tcp.DecodeFromBytes(b.ip.Payload, gopacket.NilDecodeFeedback) != nil {
		return false
	}
	b.tcp.Padding = nil // FixLengths pads the options again
	_ = b.tcp.SetNetworkLayerForChecksum(&b.ip)
	return true
}

// segment builds a frame of the template's headers, as changed since (template), with payload:
// lengths and checksums computed.
func (b *frameBuilder) segment(payload []byte) []byte {
	if err := gopacket.SerializeLayers(b.buf, buildOptions, &b.eth, &b.ip, &b.tcp, gopacket.Payload(payload)); err != nil {
		return nil
	}
	return append([]byte(nil), b.buf.Bytes()[:14+int(b.ip.Length)]...)
}

// tcpOptions turns TCP options as bytes into gopacket's; they are well-formed (as
// releasedOptions makes them). End-of-list padding is left to FixLengths.
func tcpOptions(raw []byte, into []layers.TCPOption) []layers.TCPOption {
	into = into[:0]
	for len(raw) > 0 {
		switch kind := layers.TCPOptionKind(raw[0]); {
		case kind == layers.TCPOptionKindEndList:
			return into
		case kind == layers.TCPOptionKindNop:
			into = append(into, layers.TCPOption{OptionType: kind, OptionLength: 1})
			raw = raw[1:]
		default:
			n := int(raw[1])
			into = append(into, layers.TCPOption{OptionType: kind, OptionLength: raw[1], OptionData: raw[2:n]})
			raw = raw[n:]
		}
	}
	return into
}
