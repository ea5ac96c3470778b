package harness

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TCPFlags are TCP control bits, for building and matching segments.
type TCPFlags uint8

// TCP control bits.
const (
	FIN TCPFlags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
)

func (f TCPFlags) String() string {
	if f == 0 {
		return "none"
	}
	names := []string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}
	var out []string
	for i, n := range names {
		if f&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return strings.Join(out, "|")
}

// FlagsOf returns the control bits of a decoded TCP header.
func FlagsOf(t *layers.TCP) TCPFlags {
	var f TCPFlags
	for _, b := range []struct {
		set  bool
		flag TCPFlags
	}{{t.FIN, FIN}, {t.SYN, SYN}, {t.RST, RST}, {t.PSH, PSH}, {t.ACK, ACK}, {t.URG, URG}, {t.ECE, ECE}, {t.CWR, CWR}} {
		if b.set {
			f |= b.flag
		}
	}
	return f
}

// Injectable is anything the bench can hand to the stack.
type Injectable interface {
	Bytes() []byte
	String() string
}

// Raw is a frame given as bytes, with a description for the capture.
type Raw struct {
	Data []byte
	Desc string
}

// Bytes returns the frame.
func (r Raw) Bytes() []byte { return r.Data }

// String returns the description.
func (r Raw) String() string { return r.Desc }

// Peer is the host on the other end of the bench's link. It builds frames with gopacket.
type Peer struct {
	MAC      net.HardwareAddr
	IP       netip.Addr
	stackMAC net.HardwareAddr
	stackIP  netip.Addr
}

// NewPeer returns a host with address ip and MAC mac that sends to a stack at stackIP and
// stackMAC. A Bench makes its own; this is for building frames elsewhere.
func NewPeer(mac net.HardwareAddr, ip netip.Addr, stackMAC net.HardwareAddr, stackIP netip.Addr) *Peer {
	return &Peer{MAC: mac, IP: ip, stackMAC: stackMAC, stackIP: stackIP}
}

// Packet is a frame being built by a Peer. Its modifiers return the packet so they chain; the
// bytes are made by Bytes.
type Packet struct {
	desc    []string
	eth     *layers.Ethernet
	arp     *layers.ARP
	ip      *layers.IPv4
	payload []gopacket.SerializableLayer
	mutate  []func([]byte)
	pad     int
}

func (p *Peer) frame(t layers.EthernetType, dst net.HardwareAddr) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: p.MAC, DstMAC: dst, EthernetType: t}
}

// ARPRequest asks, by broadcast, who has target. The frame is padded to 60 bytes as on a wire.
func (p *Peer) ARPRequest(target netip.Addr) *Packet {
	return &Packet{
		desc: []string{fmt.Sprintf("ARP Who has %v? Tell %v", target, p.IP)},
		eth:  p.frame(layers.EthernetTypeARP, layers.EthernetBroadcast),
		arp: &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPRequest, SourceHwAddress: p.MAC, SourceProtAddress: p.IP.AsSlice(),
			DstHwAddress: make([]byte, 6), DstProtAddress: target.AsSlice()},
		pad: 60,
	}
}

// ARPReply tells the stack, by unicast, that p.IP is at p.MAC.
func (p *Peer) ARPReply() *Packet {
	return &Packet{
		desc: []string{fmt.Sprintf("ARP %v is at %v", p.IP, p.MAC)},
		eth:  p.frame(layers.EthernetTypeARP, p.stackMAC),
		arp: &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPReply, SourceHwAddress: p.MAC, SourceProtAddress: p.IP.AsSlice(),
			DstHwAddress: p.stackMAC, DstProtAddress: p.stackIP.AsSlice()},
		pad: 60,
	}
}

// IPv4 sends a datagram of the given protocol to the stack; payload layers follow the header.
func (p *Peer) IPv4(proto layers.IPProtocol, payload ...gopacket.SerializableLayer) *Packet {
	return &Packet{
		desc:    []string{fmt.Sprintf("IPv4 %v → %v proto %v", p.IP, p.stackIP, proto)},
		eth:     p.frame(layers.EthernetTypeIPv4, p.stackMAC),
		ip:      &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: p.IP.AsSlice(), DstIP: p.stackIP.AsSlice()},
		payload: payload,
	}
}

// Echo sends an ICMP echo request.
func (p *Peer) Echo(id, seq uint16, data []byte) *Packet {
	pk := p.IPv4(layers.IPProtocolICMPv4,
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: id, Seq: seq},
		gopacket.Payload(data))
	pk.desc = []string{fmt.Sprintf("ICMP echo request id=0x%04x seq=%d, %d data bytes", id, seq, len(data))}
	return pk
}

// ICMP sends an ICMP message of any type and code, rest being the second header word.
func (p *Peer) ICMP(typ, code uint8, rest uint32, data []byte) *Packet {
	pk := p.IPv4(layers.IPProtocolICMPv4,
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, code), Id: uint16(rest >> 16), Seq: uint16(rest)},
		gopacket.Payload(data))
	pk.desc = []string{fmt.Sprintf("ICMP %v, %d data bytes", layers.CreateICMPv4TypeCode(typ, code), len(data))}
	return pk
}

func (pk *Packet) note(format string, args ...any) *Packet {
	pk.desc = append(pk.desc, fmt.Sprintf(format, args...))
	return pk
}

// ToMAC sets the Ethernet destination.
func (pk *Packet) ToMAC(m net.HardwareAddr) *Packet {
	pk.eth.DstMAC = m
	return pk.note("to MAC %v", m)
}

// ToIP sets the IPv4 destination.
func (pk *Packet) ToIP(a netip.Addr) *Packet {
	pk.ip.DstIP = a.AsSlice()
	return pk.note("to %v", a)
}

// FromIP sets the IPv4 source.
func (pk *Packet) FromIP(a netip.Addr) *Packet {
	pk.ip.SrcIP = a.AsSlice()
	return pk.note("from %v", a)
}

// TTL sets the time-to-live.
func (pk *Packet) TTL(ttl uint8) *Packet {
	pk.ip.TTL = ttl
	return pk.note("TTL %d", ttl)
}

// ECN sets the ECN field of the IPv4 header (RFC 3168 5).
func (pk *Packet) ECN(e ECN) *Packet {
	pk.ip.TOS = pk.ip.TOS&^3 | uint8(e&3)
	return pk.note("%v", e)
}

// ID sets the IP identification.
func (pk *Packet) ID(id uint16) *Packet {
	pk.ip.Id = id
	return pk
}

// IPOptions adds IPv4 options.
func (pk *Packet) IPOptions(opts ...layers.IPv4Option) *Packet {
	pk.ip.Options = append(pk.ip.Options, opts...)
	return pk.note("%d IP options", len(opts))
}

// EtherType replaces the EtherType.
func (pk *Packet) EtherType(t layers.EthernetType) *Packet {
	pk.eth.EthernetType = t
	return pk.note("EtherType 0x%04x", uint16(t))
}

// Pad pads the frame with zeros to n bytes, as Ethernet pads short frames to 60.
func (pk *Packet) Pad(n int) *Packet {
	pk.pad = n
	return pk.note("padded to %d bytes", n)
}

// Mutate changes the serialized frame (offsets are from the start of the Ethernet header),
// for malformed input; desc says what was done, for the capture.
func (pk *Packet) Mutate(desc string, f func(frame []byte)) *Packet {
	pk.mutate = append(pk.mutate, f)
	return pk.note("%s", desc)
}

// MutateTCP changes the serialized TCP segment (header and data, offsets from the start of the
// TCP header) and then recomputes its checksum, for segments that are malformed in one field
// but would otherwise be accepted: reserved bits, the data offset, an option's length.
func (pk *Packet) MutateTCP(desc string, f func(segment []byte)) *Packet {
	pk.mutate = append(pk.mutate, func(frame []byte) {
		ip := frame[14:]
		hl := int(ip[0]&0x0f) * 4
		end := min(int(binary.BigEndian.Uint16(ip[2:])), len(ip))
		seg := ip[hl:end]
		f(seg)
		seg[16], seg[17] = 0, 0
		var ph [12]byte
		copy(ph[0:8], ip[12:20])
		ph[9] = byte(layers.IPProtocolTCP)
		binary.BigEndian.PutUint16(ph[10:], uint16(len(seg)))
		binary.BigEndian.PutUint16(seg[16:], ^onesSum(seg, uint32(onesSum(ph[:], 0))))
	})
	return pk.note("%s (TCP checksum fixed)", desc)
}

// Truncate cuts the frame to n bytes.
func (pk *Packet) Truncate(n int) Raw {
	b := pk.Bytes()
	return Raw{Data: b[:min(n, len(b))], Desc: fmt.Sprintf("%s, cut to %d bytes", pk, n)}
}

// Bytes serializes the frame with correct lengths and checksums, then applies the mutations.
func (pk *Packet) Bytes() []byte {
	ls := []gopacket.SerializableLayer{pk.eth}
	switch {
	case pk.arp != nil:
		ls = append(ls, pk.arp)
	case pk.ip != nil:
		ls = append(ls, pk.ip)
		for _, l := range pk.payload {
			if t, ok := l.(*layers.TCP); ok {
				_ = t.SetNetworkLayerForChecksum(pk.ip)
			}
		}
		ls = append(ls, pk.payload...)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		panic(fmt.Sprintf("harness: building %s: %v", pk, err))
	}
	b := append([]byte(nil), buf.Bytes()...)
	for len(b) < pk.pad {
		b = append(b, 0)
	}
	for _, m := range pk.mutate {
		m(b)
	}
	return b
}

// String describes the frame.
func (pk *Packet) String() string { return strings.Join(pk.desc, ", ") }

// Fragments splits the datagram's IP payload into fragments carrying the given data sizes
// (each but the last a multiple of 8; the last takes the rest), sharing identification id.
func (pk *Packet) Fragments(id uint16, sizes ...int) []Injectable {
	whole := pk.Bytes()
	hl := int(whole[14]&0x0f) * 4
	data := whole[14+hl:]
	var out []Injectable
	off := 0
	for i, n := range sizes {
		if i == len(sizes)-1 || off+n > len(data) {
			n = len(data) - off
		}
		ip := *pk.ip
		ip.Id = id
		ip.FragOffset = uint16(off / 8)
		ip.Flags &^= layers.IPv4MoreFragments
		if off+n < len(data) {
			ip.Flags |= layers.IPv4MoreFragments
		}
		frag := &Packet{eth: pk.eth, ip: &ip, payload: []gopacket.SerializableLayer{gopacket.Payload(data[off : off+n])}}
		frag.desc = []string{fmt.Sprintf("fragment %d of %s: id 0x%04x, bytes %d..%d, MF %v", i+1, pk, id, off, off+n, off+n < len(data))}
		out = append(out, frag)
		off += n
		if off >= len(data) {
			break
		}
	}
	return out
}

// The ports of a segment that names none: the peer's, and the stack's. The stack's is the
// discard port, which Wireshark shows as plain data: the specs' bulk transfers are not taken
// for a text protocol and flagged malformed (as on port 80, HTTP's).
const (
	DefaultPeerPort  = 40000
	DefaultStackPort = 9
)

// Segment describes a TCP segment for Peer.TCP. Ports default to DefaultPeerPort and
// DefaultStackPort.
type Segment struct {
	SrcPort, DstPort uint16
	Flags            TCPFlags
	Seq, Ack         uint32
	Win              uint16
	MSS              uint16             // 0: no MSS option
	WScale           int                // > 0: a window scale option with this shift
	Options          []layers.TCPOption // more options, after MSS and window scale
	Urgent           uint16
	Data             []byte
}

// TCP sends a TCP segment to the stack.
func (p *Peer) TCP(s Segment) *Packet {
	if s.SrcPort == 0 {
		s.SrcPort = DefaultPeerPort
	}
	if s.DstPort == 0 {
		s.DstPort = DefaultStackPort
	}
	t := &layers.TCP{SrcPort: layers.TCPPort(s.SrcPort), DstPort: layers.TCPPort(s.DstPort), Seq: s.Seq, Ack: s.Ack,
		Window: s.Win, Urgent: s.Urgent,
		FIN: s.Flags&FIN != 0, SYN: s.Flags&SYN != 0, RST: s.Flags&RST != 0, PSH: s.Flags&PSH != 0,
		ACK: s.Flags&ACK != 0, URG: s.Flags&URG != 0, ECE: s.Flags&ECE != 0, CWR: s.Flags&CWR != 0}
	if s.MSS != 0 {
		t.Options = append(t.Options, layers.TCPOption{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{byte(s.MSS >> 8), byte(s.MSS)}})
	}
	if s.WScale > 0 {
		t.Options = append(t.Options, layers.TCPOption{OptionType: layers.TCPOptionKindNop},
			layers.TCPOption{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{byte(s.WScale)}})
	}
	t.Options = append(t.Options, s.Options...)
	pk := p.IPv4(layers.IPProtocolTCP, t, gopacket.Payload(s.Data))
	pk.desc = []string{fmt.Sprintf("TCP %d → %d [%v] Seq=%d Ack=%d Win=%d Len=%d", s.SrcPort, s.DstPort, s.Flags, s.Seq, s.Ack, s.Win, len(s.Data))}
	return pk
}

// TimestampOption is a timestamp option (RFC 7323 3) for Segment.Options.
func TimestampOption(val, ecr uint32) layers.TCPOption {
	d := make([]byte, 8)
	binary.BigEndian.PutUint32(d, val)
	binary.BigEndian.PutUint32(d[4:], ecr)
	return layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: d}
}

// SACKPermittedOption is the SACK-permitted option (RFC 2018 2) for a SYN's Segment.Options.
var SACKPermittedOption = layers.TCPOption{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2}

// NOPOption is one byte of padding.
var NOPOption = layers.TCPOption{OptionType: layers.TCPOptionKindNop, OptionLength: 1}

// SACKOption is a SACK option (RFC 2018 3) with these blocks, for Segment.Options.
func SACKOption(blocks ...SACKBlock) layers.TCPOption {
	d := make([]byte, 0, 8*len(blocks))
	for _, b := range blocks {
		d = binary.BigEndian.AppendUint32(d, b.Left)
		d = binary.BigEndian.AppendUint32(d, b.Right)
	}
	return layers.TCPOption{OptionType: layers.TCPOptionKindSACK, OptionLength: uint8(2 + len(d)), OptionData: d}
}
