package report

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// The labels of the ladder's arrows are in packetdrill's notation, as the scenario scripts
// and the failure messages write them: "S. 0:0(0) ack 1 win 65535 <mss 1460>". The script
// runner's and the replay's renderers are unexported and work on their own types (a script
// line, a replayed conversation), so this one renders a decoded frame, with sequence numbers
// relative to each side's ISN as packetdrill and Wireshark show them.

// label is an arrow's text in parts: the ports and addresses are shown only where the capture
// needs them to tell frames apart, which is known once every frame has been read.
type label struct {
	conn  connKey // TCP: the connection (ports shown when the capture has several)
	ports string  // TCP: "40000>80"
	pair  ipPair  // IPv4: the addresses, unordered (shown when not the capture's usual pair)
	addrs string  // IPv4: "198.18.0.7>198.18.0.2"
	text  string  // the rest: "S. 0:0(0) win 65535 <mss 1460>"
}

// ipPair is two IPv4 addresses, the lower first.
type ipPair [2]netip.Addr

func pairOf(a, b netip.Addr) ipPair {
	if b.Less(a) {
		a, b = b, a
	}
	return ipPair{a, b}
}

// connKey is a TCP connection's two ends, the lower first.
type connKey [2]netip.AddrPort

func connOf(a, b netip.AddrPort) connKey {
	if b.Compare(a) < 0 {
		a, b = b, a
	}
	return connKey{a, b}
}

// tcpSide is what the labeler knows of one end of a connection: the base its sequence numbers
// are shown from (its ISN, or the first number seen less one, as Wireshark does).
type tcpSide struct {
	base  uint32
	known bool
}

// labeler labels the frames of one capture, in capture order. It keeps a little state per TCP
// connection; nothing else grows with the capture.
type labeler struct {
	conns map[connKey]*[2]tcpSide // indexed as connKey
	pairs map[ipPair]int          // frames per address pair, for the usual pair
	first ipPair                  // the first pair seen, which wins a tie
	usual ipPair                  // the usual pair, once render has been called
	done  bool                    // usual is known: no more describe calls
}

func newLabeler() *labeler {
	return &labeler{conns: map[connKey]*[2]tcpSide{}, pairs: map[ipPair]int{}}
}

// describe labels one decoded frame.
func (lb *labeler) describe(p gopacket.Packet) label {
	if a, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP); ok {
		return label{text: arpText(a)}
	}
	ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if !ok {
		return label{text: otherText(p)}
	}
	if len(ip.Contents) < 20 { // gopacket keeps an IPv4 layer it failed to decode
		return label{text: brokenIPv4Text(p)}
	}
	src, _ := netip.AddrFromSlice(ip.SrcIP.To4())
	dst, _ := netip.AddrFromSlice(ip.DstIP.To4())
	l := label{pair: pairOf(src, dst), addrs: src.String() + ">" + dst.String()}
	if len(lb.pairs) == 0 {
		lb.first = l.pair
	}
	lb.pairs[l.pair]++
	switch {
	case ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0:
		mf := ""
		if ip.Flags&layers.IPv4MoreFragments != 0 {
			mf = " MF"
		}
		l.text = fmt.Sprintf("IP fragment id 0x%04x offset %d len %d%s (%s)", ip.Id, int(ip.FragOffset)*8, len(ip.Payload), mf, protoName(ip.Protocol))
	case ip.Protocol == layers.IPProtocolTCP:
		l.text = lb.tcpText(ip, src, dst, p, &l)
	case ip.Protocol == layers.IPProtocolICMPv4:
		l.text = icmpText(p)
	default:
		l.text = fmt.Sprintf("IP proto %d (%d bytes)", uint8(ip.Protocol), len(ip.Payload))
	}
	if p.Metadata() != nil && p.Metadata().Truncated {
		l.text += " [truncated]"
	}
	return l
}

// tcpHeader is what a label shows of a TCP header, from gopacket or, when gopacket refused the
// segment (a bad data offset or option), read from the fixed header.
type tcpHeader struct {
	srcPort, dstPort uint16
	seq, ack         uint32
	flags            uint8 // FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 ECE=64 CWR=128
	win, urg         uint16
	payload          int
	opts             []layers.TCPOption
	bad              string // why gopacket refused it; "" if it did not
}

func tcpHeaderOf(ip *layers.IPv4, p gopacket.Packet) (tcpHeader, bool) {
	// gopacket keeps a TCP layer it failed to decode: only one with its header is sound.
	if t, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok && len(t.Contents) >= 20 {
		h := tcpHeader{srcPort: uint16(t.SrcPort), dstPort: uint16(t.DstPort), seq: t.Seq, ack: t.Ack,
			win: t.Window, urg: t.Urgent, payload: len(t.Payload), opts: t.Options}
		for i, b := range []bool{t.FIN, t.SYN, t.RST, t.PSH, t.ACK, t.URG, t.ECE, t.CWR} {
			if b {
				h.flags |= 1 << i
			}
		}
		return h, true
	}
	b := ip.Payload
	if len(b) < 20 {
		return tcpHeader{}, false
	}
	h := tcpHeader{srcPort: binary.BigEndian.Uint16(b), dstPort: binary.BigEndian.Uint16(b[2:]),
		seq: binary.BigEndian.Uint32(b[4:]), ack: binary.BigEndian.Uint32(b[8:]), flags: b[13],
		win: binary.BigEndian.Uint16(b[14:]), urg: binary.BigEndian.Uint16(b[18:]), bad: "malformed header"}
	if e := decodeError(p); e != "" {
		h.bad = "malformed: " + e
	}
	if off := int(b[12]>>4) * 4; off >= 20 && off <= len(b) {
		h.payload = len(b) - off
	}
	return h, true
}

// tcpText renders a segment: "[ect0] S. 0:0(0) ack 1 win 65535 urg 0 <mss 1460,sackOK>".
func (lb *labeler) tcpText(ip *layers.IPv4, src, dst netip.Addr, p gopacket.Packet, l *label) string {
	h, ok := tcpHeaderOf(ip, p)
	if !ok {
		return fmt.Sprintf("TCP, cut short (%d bytes)", len(ip.Payload))
	}
	from, to := netip.AddrPortFrom(src, h.srcPort), netip.AddrPortFrom(dst, h.dstPort)
	l.conn, l.ports = connOf(from, to), fmt.Sprintf("%d>%d", h.srcPort, h.dstPort)
	sides := lb.conns[l.conn]
	if sides == nil {
		sides = &[2]tcpSide{}
		lb.conns[l.conn] = sides
	}
	me, peer := &sides[0], &sides[1]
	if l.conn[0] != from {
		me, peer = peer, me
	}
	const syn, ack, urg = 2, 16, 32
	if h.flags&syn != 0 {
		if me.known && me.base != h.seq && h.flags&ack == 0 {
			*peer = tcpSide{} // a new connection on the same ports: the other side's ISN is new too
		}
		*me = tcpSide{base: h.seq, known: true}
	}
	if !me.known {
		*me = tcpSide{base: h.seq - 1, known: true}
	}
	if h.flags&ack != 0 && !peer.known {
		*peer = tcpSide{base: h.ack - 1, known: true}
	}
	var b strings.Builder
	switch ip.TOS & 3 {
	case 1:
		b.WriteString("[ect1] ")
	case 2:
		b.WriteString("[ect0] ")
	case 3:
		b.WriteString("[ce] ")
	}
	seq := h.seq - me.base
	fmt.Fprintf(&b, "%s %d:%d(%d)", flagText(h.flags), seq, seq+uint32(h.payload), h.payload)
	if h.flags&ack != 0 {
		fmt.Fprintf(&b, " ack %d", h.ack-peer.base)
	}
	fmt.Fprintf(&b, " win %d", h.win)
	if h.flags&urg != 0 {
		fmt.Fprintf(&b, " urg %d", h.urg)
	}
	if len(h.opts) > 0 {
		b.WriteString(" <" + optionsText(h.opts, peer.base) + ">")
	}
	if h.bad != "" {
		b.WriteString(" [" + h.bad + "]")
	}
	return b.String()
}

// flagText writes TCP flags as packetdrill does: F S R P . U E W, "-" for none.
func flagText(f uint8) string {
	var b strings.Builder
	for i, c := range "FSRP.UEW" {
		if f&(1<<i) != 0 {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

// optionsText writes TCP options as packetdrill does; SACK blocks are in the other side's
// sequence space, shown from peerBase.
func optionsText(opts []layers.TCPOption, peerBase uint32) string {
	parts := make([]string, 0, len(opts))
	for _, o := range opts {
		d := o.OptionData
		switch o.OptionType {
		case layers.TCPOptionKindEndList:
			parts = append(parts, "eol")
		case layers.TCPOptionKindNop:
			parts = append(parts, "nop")
		case layers.TCPOptionKindMSS:
			if len(d) == 2 {
				parts = append(parts, fmt.Sprintf("mss %d", binary.BigEndian.Uint16(d)))
				continue
			}
			parts = append(parts, fmt.Sprintf("mss len %d", len(d)+2))
		case layers.TCPOptionKindWindowScale:
			if len(d) == 1 {
				parts = append(parts, fmt.Sprintf("wscale %d", d[0]))
				continue
			}
			parts = append(parts, fmt.Sprintf("wscale len %d", len(d)+2))
		case layers.TCPOptionKindSACKPermitted:
			parts = append(parts, "sackOK")
		case layers.TCPOptionKindSACK:
			var bl []string
			for i := 0; i+8 <= len(d); i += 8 {
				bl = append(bl, fmt.Sprintf("%d:%d", binary.BigEndian.Uint32(d[i:])-peerBase, binary.BigEndian.Uint32(d[i+4:])-peerBase))
			}
			parts = append(parts, strings.TrimSpace("sack "+strings.Join(bl, " ")))
		case layers.TCPOptionKindTimestamps:
			if len(d) == 8 {
				parts = append(parts, fmt.Sprintf("TS val %d ecr %d", binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:])))
				continue
			}
			parts = append(parts, fmt.Sprintf("TS len %d", len(d)+2))
		default:
			parts = append(parts, fmt.Sprintf("kind %d len %d", uint8(o.OptionType), len(d)+2))
		}
	}
	return strings.Join(parts, ",")
}

func arpText(a *layers.ARP) string {
	sip, tip := net.IP(a.SourceProtAddress), net.IP(a.DstProtAddress)
	var s string
	switch a.Operation {
	case layers.ARPRequest:
		s = fmt.Sprintf("ARP who-has %v tell %v", tip, sip)
	case layers.ARPReply:
		s = fmt.Sprintf("ARP reply %v is-at %v", sip, net.HardwareAddr(a.SourceHwAddress))
	default:
		s = fmt.Sprintf("ARP op %d %v tell %v", a.Operation, tip, sip)
	}
	if a.AddrType != layers.LinkTypeEthernet || a.Protocol != layers.EthernetTypeIPv4 || a.HwAddressSize != 6 || a.ProtAddressSize != 4 {
		s += fmt.Sprintf(" [htype %d ptype 0x%04x hlen %d plen %d]", uint16(a.AddrType), uint16(a.Protocol), a.HwAddressSize, a.ProtAddressSize)
	}
	return s
}

// otherText labels a frame that is neither ARP nor IPv4: what gopacket made of it.
func otherText(p gopacket.Packet) string {
	e, ok := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if !ok {
		return fmt.Sprintf("undecodable frame (%d bytes)", len(p.Data()))
	}
	switch {
	case e.EthernetType == layers.EthernetTypeARP:
		return fmt.Sprintf("ARP, malformed (%d bytes)", len(e.Payload))
	case e.EthernetType == layers.EthernetTypeIPv4:
		return fmt.Sprintf("IPv4, malformed (%d bytes)", len(e.Payload))
	case e.EthernetType == layers.EthernetTypeIPv6:
		return fmt.Sprintf("IPv6 (%d bytes)", len(e.Payload))
	}
	return fmt.Sprintf("EtherType 0x%04x (%d bytes)", uint16(e.EthernetType), len(e.Payload))
}

// brokenIPv4Text labels an IPv4 header gopacket refused, from its bytes: "IPv4
// 198.18.0.1>198.18.0.2 proto 1, IHL 4, total length 35 (27 bytes) [malformed: ...]".
func brokenIPv4Text(p gopacket.Packet) string {
	b := p.Data()
	if e, ok := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); ok {
		b = e.Payload
	}
	s := fmt.Sprintf("IPv4, malformed (%d bytes)", len(b))
	if len(b) >= 20 {
		s = fmt.Sprintf("IPv4 %v>%v proto %d, IHL %d, total length %d (%d bytes)", net.IP(b[12:16]), net.IP(b[16:20]), b[9],
			b[0]&0x0f, binary.BigEndian.Uint16(b[2:]), len(b))
	}
	if e := decodeError(p); e != "" {
		s += " [malformed: " + e + "]"
	}
	return s
}

var icmpTypeNames = map[uint8]string{
	0: "echo reply", 3: "unreachable", 4: "source quench", 5: "redirect", 8: "echo request",
	11: "time exceeded", 12: "parameter problem", 13: "timestamp request", 14: "timestamp reply",
}

var unreachableCodes = map[uint8]string{
	0: "net", 1: "host", 2: "protocol", 3: "port", 4: "frag needed", 5: "source route failed",
	9: "net prohibited", 10: "host prohibited", 13: "admin prohibited",
}

// icmpText: "ICMP echo request id 1 seq 1 (3 bytes)", "ICMP unreachable port [TCP 80>40000 seq 1000]".
func icmpText(p gopacket.Packet) string {
	ic, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if !ok || len(ic.Contents) < 8 {
		return "ICMP, malformed"
	}
	t, c := ic.TypeCode.Type(), ic.TypeCode.Code()
	name, known := icmpTypeNames[t]
	if !known {
		name = fmt.Sprintf("type %d", t)
	}
	s := "ICMP " + name
	switch t {
	case layers.ICMPv4TypeEchoRequest, layers.ICMPv4TypeEchoReply:
		s += fmt.Sprintf(" id %d seq %d", ic.Id, ic.Seq)
		if len(ic.Payload) > 0 {
			s += fmt.Sprintf(" (%d bytes)", len(ic.Payload))
		}
		if c != 0 {
			s += fmt.Sprintf(" code %d", c)
		}
		return s
	case layers.ICMPv4TypeDestinationUnreachable:
		if n, ok := unreachableCodes[c]; ok {
			s += " " + n
		} else {
			s += fmt.Sprintf(" code %d", c)
		}
	case layers.ICMPv4TypeTimeExceeded:
		s += map[uint8]string{0: " ttl", 1: " reassembly"}[c]
		if c > 1 {
			s += fmt.Sprintf(" code %d", c)
		}
	default:
		if c != 0 {
			s += fmt.Sprintf(" code %d", c)
		}
	}
	if q := quotedText(ic.Payload); q != "" {
		s += " [" + q + "]"
	}
	return s
}

// quotedText names the datagram an ICMP error quotes: "TCP 80>40000 seq 1000".
func quotedText(b []byte) string {
	if len(b) < 20 || b[0]>>4 != 4 {
		return ""
	}
	hl := int(b[0]&0x0f) * 4
	if hl < 20 || len(b) < hl+4 {
		return fmt.Sprintf("quoting IP proto %d", b[9])
	}
	l4 := b[hl:]
	sp, dp := binary.BigEndian.Uint16(l4), binary.BigEndian.Uint16(l4[2:])
	switch b[9] {
	case 6:
		if len(l4) >= 8 {
			return fmt.Sprintf("quoting TCP %d>%d seq %d", sp, dp, binary.BigEndian.Uint32(l4[4:]))
		}
		return fmt.Sprintf("quoting TCP %d>%d", sp, dp)
	case 17:
		return fmt.Sprintf("quoting UDP %d>%d", sp, dp)
	case 1:
		return fmt.Sprintf("quoting ICMP type %d", l4[0])
	}
	return fmt.Sprintf("quoting IP proto %d", b[9])
}

func protoName(p layers.IPProtocol) string {
	switch p {
	case layers.IPProtocolTCP:
		return "tcp"
	case layers.IPProtocolICMPv4:
		return "icmp"
	case layers.IPProtocolUDP:
		return "udp"
	}
	return fmt.Sprintf("proto %d", uint8(p))
}

// render turns a label into its text, now that the whole capture is known: the ports when it
// has several TCP connections, the addresses when they are not the capture's usual pair.
func (lb *labeler) render(l label) string {
	if !lb.done {
		lb.usual, lb.done = lb.usualPair(), true
	}
	var b strings.Builder
	if l.addrs != "" && l.pair != lb.usual {
		b.WriteString("[" + l.addrs + "] ")
	}
	if l.ports != "" && len(lb.conns) > 1 {
		b.WriteString(l.ports + " ")
	}
	b.WriteString(l.text)
	return b.String()
}

// usualPair is the address pair most frames carry: the first seen on a tie with it, else the
// lowest.
func (lb *labeler) usualPair() ipPair {
	best := lb.first
	for p, c := range lb.pairs {
		n := lb.pairs[best]
		if c > n || (c == n && best != lb.first && pairLess(p, best)) {
			best = p
		}
	}
	return best
}

func pairLess(a, b ipPair) bool {
	if c := a[0].Compare(b[0]); c != 0 {
		return c < 0
	}
	return a[1].Less(b[1])
}
