package replay

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// decoded is a frame taken apart with gopacket's DecodingLayerParser: no allocation per frame,
// and never the stack's own wire code. The layers' payloads are slices of the frame (a TCP
// segment's in tcp.Payload): no layer decodes them.
type decoded struct {
	eth  layers.Ethernet
	arp  layers.ARP
	ip   layers.IPv4
	tcp  layers.TCP
	icmp layers.ICMPv4

	parser  *gopacket.DecodingLayerParser
	types   []gopacket.LayerType
	hasEth  bool
	hasARP  bool
	hasIP   bool
	hasTCP  bool
	hasICMP bool
	err     error // the first layer that did not decode
}

// newDecoded makes a parser of the layers the replay reads. Its decoders are found by layer type
// in a slice (gopacket.DecodingLayerSparse), not in the map DecodingLayerParser keeps by
// default: a map lookup per layer made decoding a fifth slower.
func newDecoded() *decoded {
	d := &decoded{}
	d.parser = gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet)
	d.parser.SetDecodingLayerContainer(gopacket.DecodingLayerSparse(nil))
	for _, l := range []gopacket.DecodingLayer{&d.eth, &d.arp, &d.ip, &d.tcp, &d.icmp} {
		d.parser.AddDecodingLayer(l)
	}
	d.parser.IgnoreUnsupported = true // a payload, or a protocol the replay does not read
	d.types = make([]gopacket.LayerType, 0, 8)
	return d
}

// decode fills d from data; which layers decoded is in the has* fields.
func (d *decoded) decode(data []byte) {
	d.hasEth, d.hasARP, d.hasIP, d.hasTCP, d.hasICMP = false, false, false, false, false
	d.err = d.parser.DecodeLayers(data, &d.types)
	for _, t := range d.types {
		switch t {
		case layers.LayerTypeEthernet:
			d.hasEth = true
		case layers.LayerTypeARP:
			d.hasARP = true
		case layers.LayerTypeIPv4:
			d.hasIP = true
		case layers.LayerTypeTCP:
			d.hasTCP = true
		case layers.LayerTypeICMPv4:
			d.hasICMP = true
		}
	}
	// A fragment other than the first carries no transport header.
	if d.hasIP && d.ip.FragOffset != 0 {
		d.hasTCP, d.hasICMP = false, false
	}
}

func (d *decoded) srcIP() netip.Addr { a, _ := netip.AddrFromSlice(d.ip.SrcIP.To4()); return a }
func (d *decoded) dstIP() netip.Addr { a, _ := netip.AddrFromSlice(d.ip.DstIP.To4()); return a }

// untag removes 802.1Q and 802.1ad tags from an Ethernet frame (mtcp has no VLANs: the
// replay carries the frames as if untagged), and reads an IEEE 802.3 frame with an LLC/SNAP
// header of EtherType encapsulation (RFC 1042: DSAP and SSAP 0xaa, UI, OUI 0) as the Ethernet
// II frame it carries, copying it when it changes it; tagged and snap say which it did.
func untag(data []byte) (out []byte, tagged, snap bool) {
	for len(data) >= 18 {
		et := binary.BigEndian.Uint16(data[12:14])
		if et != 0x8100 && et != 0x88a8 {
			break
		}
		if !tagged {
			data = append([]byte(nil), data...)
			tagged = true
		}
		data = append(data[:12], data[16:]...)
	}
	if len(data) >= 22 && binary.BigEndian.Uint16(data[12:14]) < 0x0600 &&
		data[14] == 0xaa && data[15] == 0xaa && data[16] == 0x03 && data[17]|data[18]|data[19] == 0 {
		n := min(14+int(binary.BigEndian.Uint16(data[12:14])), len(data)) // the 802.3 length: no padding
		f := make([]byte, 0, n-8)
		f = append(append(f, data[:12]...), data[20:n]...)
		return f, tagged, true
	}
	return data, tagged, false
}

// tcpFlags returns the segment's control bits in their wire order (FIN = 1 ... CWR = 0x80).
func tcpFlags(t *layers.TCP) uint8 {
	var f uint8
	for i, on := range []bool{t.FIN, t.SYN, t.RST, t.PSH, t.ACK, t.URG, t.ECE, t.CWR} {
		if on {
			f |= 1 << i
		}
	}
	return f
}

// Control bits.
const (
	flFIN = 1 << iota
	flSYN
	flRST
	flPSH
	flACK
	flURG
	flECE
	flCWR
)

// flagString renders control bits as packetdrill does: "S.", "F.", "R", "." .
func flagString(f uint8) string {
	s := ""
	for i, c := range "FSRP.UEW" {
		if f&(1<<i) != 0 {
			s += string(c)
		}
	}
	if s == "" {
		return "-"
	}
	return s
}

// optionsFault says what is wrong with the options of a TCP segment ("" if nothing): an
// option shorter than its own header, or one running past the header's end. gopacket takes
// such options apart without complaint.
func optionsFault(seg []byte) string {
	opts := seg[20:min(int(seg[12]>>4)*4, len(seg))]
	for i := 0; i < len(opts); {
		switch kind := opts[i]; {
		case kind == 0:
			return ""
		case kind == 1:
			i++
		case i+1 >= len(opts) || opts[i+1] < 2:
			return fmt.Sprintf("TCP option kind %d at byte %d has no valid length", kind, 20+i)
		case i+int(opts[i+1]) > len(opts):
			return fmt.Sprintf("TCP option kind %d of length %d at byte %d runs past the header", kind, opts[i+1], 20+i)
		default:
			if bad := optionLengthFault(kind, opts[i:i+int(opts[i+1])]); bad != "" {
				return fmt.Sprintf("TCP option kind %d at byte %d: %s", kind, 20+i, bad)
			}
			i += int(opts[i+1])
		}
	}
	return ""
}

// optionLengthFault checks the length of an option of a kind whose length is fixed by its RFC.
func optionLengthFault(kind byte, o []byte) string {
	n := len(o)
	switch {
	case kind == 2 && n != 4, kind == 3 && n != 3, kind == 4 && n != 2, kind == 8 && n != 10:
		return fmt.Sprintf("length %d, not the one RFC 9293 or RFC 7323 gives", n)
	case kind == 5 && (n < 10 || (n-2)%8 != 0):
		return fmt.Sprintf("SACK length %d, not 2 + 8n (RFC 2018)", n)
	case kind == 30 && n >= 3 && o[2]>>4 == 2 && n < 4:
		return fmt.Sprintf("MPTCP DSS length %d, shorter than its 4-byte header (RFC 8684 3.3)", n)
	}
	return ""
}

// tcpOffsets locates the IPv4 header and the TCP segment (header and payload as the IP total
// length says) of an Ethernet frame; ok is false when the frame is too short for them.
func tcpOffsets(frame []byte) (ipHdr, seg []byte, ok bool) {
	if len(frame) < 14+20 {
		return nil, nil, false
	}
	ip := frame[14:]
	hl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if total == 0 && len(ip) > 0xffff {
		total = len(ip) // larger than 64 KiB (GRO, BIG TCP): the length field says 0
	}
	if hl < 20 || total < hl+20 || total > len(ip) {
		return nil, nil, false
	}
	seg = ip[hl:total]
	if off := int(seg[12]>>4) * 4; off < 20 || off > len(seg) {
		return nil, nil, false
	}
	return ip[:hl], seg, true
}
