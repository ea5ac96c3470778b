package harness

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/stack/link/pcapng"
)

// Frame is one frame that crossed the bench's link, decoded by gopacket (never by the stack's
// own wire package).
type Frame struct {
	Number    int              // 1-based position in the capture
	Time      time.Time        // virtual time it crossed
	Offset    time.Duration    // since the bench started
	Direction pcapng.Direction // Inbound: to the stack; Outbound: from it
	Data      []byte
	Packet    gopacket.Packet
	comments  []string
}

func newFrame(n int, at time.Time, off time.Duration, dir pcapng.Direction, data []byte) *Frame {
	data = append([]byte(nil), data...)
	return &Frame{
		Number: n, Time: at, Offset: off, Direction: dir, Data: data,
		Packet: gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.DecodeOptions{NoCopy: true}),
	}
}

// Note adds a comment that goes into the capture as a packet comment on this frame.
func (f *Frame) Note(format string, args ...any) {
	f.comments = append(f.comments, fmt.Sprintf(format, args...))
}

// Comments returns the notes on the frame.
func (f *Frame) Comments() []string { return f.comments }

// Ethernet returns the Ethernet layer, or nil.
func (f *Frame) Ethernet() *layers.Ethernet { return layerOf[*layers.Ethernet](f) }

// ARP returns the ARP layer, or nil.
func (f *Frame) ARP() *layers.ARP { return layerOf[*layers.ARP](f) }

// IPv4 returns the IPv4 layer, or nil.
func (f *Frame) IPv4() *layers.IPv4 { return layerOf[*layers.IPv4](f) }

// ICMPv4 returns the ICMPv4 layer, or nil.
func (f *Frame) ICMPv4() *layers.ICMPv4 { return layerOf[*layers.ICMPv4](f) }

// TCP returns the TCP layer, or nil.
func (f *Frame) TCP() *layers.TCP { return layerOf[*layers.TCP](f) }

func layerOf[T gopacket.Layer](f *Frame) T {
	var zero T
	if f == nil || f.Packet == nil {
		return zero
	}
	for _, l := range f.Packet.Layers() {
		if v, ok := l.(T); ok {
			return v
		}
	}
	return zero
}

// ChecksumErrors checks, independently of the stack, every checksum the frame carries: the
// IPv4 header, and ICMP or TCP (with its pseudo-header) unless the datagram is a fragment.
func (f *Frame) ChecksumErrors() []string {
	var errs []string
	ip := f.IPv4()
	if ip == nil {
		return nil
	}
	if len(ip.Contents) >= 20 && onesSum(ip.Contents, 0) != 0xffff {
		errs = append(errs, fmt.Sprintf("IPv4 header checksum 0x%04x is wrong", ip.Checksum))
	}
	if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
		return errs
	}
	switch ip.Protocol {
	case layers.IPProtocolICMPv4:
		if onesSum(ip.Payload, 0) != 0xffff {
			errs = append(errs, "ICMP checksum is wrong")
		}
	case layers.IPProtocolTCP:
		if len(ip.Contents) < 20 || !TCPChecksumOK(ip.Contents, ip.Payload) {
			errs = append(errs, "TCP checksum is wrong")
		}
	}
	return errs
}

// String is a one-line summary, as in tshark's packet list.
func (f *Frame) String() string {
	if f == nil {
		return "<no frame>"
	}
	dir := "→ stack"
	if f.Direction == pcapng.Outbound {
		dir = "stack →"
	}
	return fmt.Sprintf("frame %d (%s, +%s, %d bytes): %s", f.Number, dir, fmtOffset(f.Offset), len(f.Data), f.summary())
}

func fmtOffset(d time.Duration) string { return fmt.Sprintf("%.6fs", d.Seconds()) }

func (f *Frame) summary() string {
	if a := f.ARP(); a != nil {
		if a.Operation == layers.ARPRequest {
			return fmt.Sprintf("ARP Who has %v? Tell %v", net.IP(a.DstProtAddress), net.IP(a.SourceProtAddress))
		}
		return fmt.Sprintf("ARP %v is at %v", net.IP(a.SourceProtAddress), net.HardwareAddr(a.SourceHwAddress))
	}
	ip := f.IPv4()
	if ip == nil {
		if e := f.Ethernet(); e != nil {
			return fmt.Sprintf("Ethernet %v → %v type %v", e.SrcMAC, e.DstMAC, e.EthernetType)
		}
		return "undecodable"
	}
	s := fmt.Sprintf("%v → %v", ip.SrcIP, ip.DstIP)
	if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
		return s + fmt.Sprintf(" IPv4 fragment (proto %v, id 0x%04x, offset %d, MF %v)", ip.Protocol, ip.Id, int(ip.FragOffset)*8, ip.Flags&layers.IPv4MoreFragments != 0)
	}
	if ic := f.ICMPv4(); ic != nil {
		return s + " ICMP " + icmpSummary(ic)
	}
	if t := f.TCP(); t != nil {
		return s + " TCP " + tcpSummary(t)
	}
	return s + fmt.Sprintf(" IPv4 proto %v, %d bytes", ip.Protocol, len(ip.Payload))
}

func icmpSummary(ic *layers.ICMPv4) string {
	t := ic.TypeCode.Type()
	switch t {
	case layers.ICMPv4TypeEchoRequest, layers.ICMPv4TypeEchoReply:
		return fmt.Sprintf("%v id=0x%04x, seq=%d, %d data bytes", ic.TypeCode, ic.Id, ic.Seq, len(ic.Payload))
	}
	return ic.TypeCode.String()
}

func tcpSummary(t *layers.TCP) string {
	return fmt.Sprintf("%d → %d [%s] Seq=%d Ack=%d Win=%d Len=%d", t.SrcPort, t.DstPort, FlagsOf(t), t.Seq, t.Ack, t.Window, len(t.Payload))
}

// Describe decodes the frame field by field, as tshark -V would, one layer to a paragraph,
// with the oracle's checksum verdicts.
func (f *Frame) Describe() string {
	if f == nil {
		return "<no frame>"
	}
	var b strings.Builder
	b.WriteString(f.String())
	b.WriteByte('\n')
	if e := f.Ethernet(); e != nil {
		fmt.Fprintf(&b, "  Ethernet II, Src: %v, Dst: %v, Type: %v (0x%04x)\n", e.SrcMAC, e.DstMAC, e.EthernetType, uint16(e.EthernetType))
	}
	if a := f.ARP(); a != nil {
		fmt.Fprintf(&b, "  ARP, hardware type %d, protocol type 0x%04x, sizes %d/%d, opcode %d\n", a.AddrType, uint16(a.Protocol), a.HwAddressSize, a.ProtAddressSize, a.Operation)
		fmt.Fprintf(&b, "    sender %v %v, target %v %v\n", net.HardwareAddr(a.SourceHwAddress), net.IP(a.SourceProtAddress), net.HardwareAddr(a.DstHwAddress), net.IP(a.DstProtAddress))
	}
	if ip := f.IPv4(); ip != nil {
		fmt.Fprintf(&b, "  Internet Protocol Version %d, Src: %v, Dst: %v\n", ip.Version, ip.SrcIP, ip.DstIP)
		flags := ip.Flags.String()
		if ip.Flags == 0 {
			flags = "none"
		}
		fmt.Fprintf(&b, "    header length %d, TOS 0x%02x, total length %d, id 0x%04x, flags %s, fragment offset %d, TTL %d, protocol %v, checksum 0x%04x\n",
			int(ip.IHL)*4, ip.TOS, ip.Length, ip.Id, flags, int(ip.FragOffset)*8, ip.TTL, ip.Protocol, ip.Checksum)
		if len(ip.Options) > 0 {
			fmt.Fprintf(&b, "    options %d\n", len(ip.Options))
		}
	}
	if ic := f.ICMPv4(); ic != nil {
		fmt.Fprintf(&b, "  Internet Control Message Protocol, type %d code %d (%v), checksum 0x%04x, id 0x%04x, seq %d, %d bytes of data\n",
			ic.TypeCode.Type(), ic.TypeCode.Code(), ic.TypeCode, ic.Checksum, ic.Id, ic.Seq, len(ic.Payload))
	}
	if t := f.TCP(); t != nil {
		fmt.Fprintf(&b, "  Transmission Control Protocol, Src Port: %d, Dst Port: %d, Seq: %d, Ack: %d, Len: %d\n", t.SrcPort, t.DstPort, t.Seq, t.Ack, len(t.Payload))
		fmt.Fprintf(&b, "    header length %d, flags [%s], window %d, checksum 0x%04x, urgent %d\n", int(t.DataOffset)*4, FlagsOf(t), t.Window, t.Checksum, t.Urgent)
		for _, o := range t.Options {
			fmt.Fprintf(&b, "    option %v\n", o)
		}
	}
	if el := f.Packet.ErrorLayer(); el != nil {
		fmt.Fprintf(&b, "  [decode error: %v]\n", el.Error())
	}
	if f.Direction == pcapng.Outbound {
		if errs := f.ChecksumErrors(); len(errs) > 0 {
			fmt.Fprintf(&b, "  [oracle: %s]\n", strings.Join(errs, "; "))
		}
	}
	return strings.TrimRight(b.String(), "\n")
}
