package script

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/harness"
)

// flow is one TCP connection as the script sees it: its ports and both initial sequence
// numbers, which map the script's sequence numbers onto the wire's as packetdrill does
// (socket.h, remote_seq_script_to_live_offset and local_seq_script_to_live_offset):
//
//   - In a segment with SYN, the peer's numbers are absolute and the stack's count from the
//     ISN the script gave the stack in its SYN line ("> S. 0:0(0)" calls it 0).
//   - In a segment without SYN, the peer's numbers count from the peer's ISN (its SYN's
//     sequence number) and the stack's from the stack's ISN: "< . 1:1(0) ack 1" is the first
//     byte after both SYNs, whatever the SYN lines wrote.
//
// Until a side's ISN is known (before its SYN), its numbers are absolute.
type flow struct {
	local, remote uint16 // ports; local is 0 until the stack's SYN shows its ephemeral port
	isnKnown      bool
	scriptISN     uint32 // the stack's ISN as the script writes it (usually 0)
	liveISN       uint32 // the stack's ISN on the wire
	// The peer's ISN: the sequence number of the first SYN the peer sent on these ports (a
	// passive open), or of the SYN-ACK it answered the stack's SYN with (an active open).
	// Later SYNs (a SYN in ESTABLISHED, a new connection after TIME-WAIT) leave it, as in
	// packetdrill, whose socket keeps the ISN of the SYN that made it.
	remoteISN   uint32
	remoteKnown bool
	// The peer's last SYN. A SYN with another sequence number may begin a new connection on
	// these ports (after TIME-WAIT, or a reset): if the stack's next line answers with a SYN,
	// its ISN is learned again; if not (a challenge ACK), the connection went on.
	peerSYN    uint32
	hasPeerSYN bool
	maybeNew   bool
	// Timestamps, mapped as packetdrill maps them (run_packet.c): the stack's TS val on the
	// wire and in the script differ by the offset between the first pair seen, and an inbound
	// TS ecr the script writes names a TS val of the stack's, mapped back to the wire the same
	// way (or exactly, when an outbound line wrote that very value).
	tsMap            map[uint32]uint32 // script TS val → the wire's, for each outbound line matched
	tsKnown          bool
	tsScript, tsLive uint32 // the first pair
}

// learnTimestamps notes the TS val an outbound line wrote and the one on the wire of the
// segment it matched.
func (f *flow) learnTimestamps(want []TCPOption, wire []TCPOption) {
	w, g := tsOption(want), tsOption(wire)
	if w == nil || g == nil {
		return
	}
	if f.tsMap == nil {
		f.tsMap = map[uint32]uint32{}
	}
	f.tsMap[w.TSVal] = g.TSVal
	if !f.tsKnown {
		f.tsKnown, f.tsScript, f.tsLive = true, w.TSVal, g.TSVal
	}
}

// scriptTS rewrites the TS val of a segment from the wire into the script's clock, once the
// first pair is known: how lines say it, and how it is compared and shown.
func (f *flow) scriptTS(opts []TCPOption) {
	if ts := tsOption(opts); ts != nil && f.tsKnown {
		ts.TSVal = f.tsScript + (ts.TSVal - f.tsLive)
	}
}

// liveEcr maps the TS ecr of an inbound line to the wire: the stack's TS val it names. A
// value no outbound line has shown (before the stack sent a timestamp at all) goes as written.
func (f *flow) liveEcr(ecr uint32) uint32 {
	if v, ok := f.tsMap[ecr]; ok {
		return v
	}
	if f.tsKnown {
		return ecr - f.tsScript + f.tsLive
	}
	return ecr
}

func tsOption(opts []TCPOption) *TCPOption {
	for i := range opts {
		if opts[i].Kind == OptTimestamp {
			return &opts[i]
		}
	}
	return nil
}

// toLive maps a sequence number of the stack's sequence space from script to wire, in a
// segment with SYN set (syn) or without.
func (f *flow) toLive(v uint32, syn bool) uint32 {
	switch {
	case !f.isnKnown:
		return v
	case syn:
		return v - f.scriptISN + f.liveISN
	}
	return v + f.liveISN
}

// toScript maps a sequence number of the stack's sequence space from wire to script.
func (f *flow) toScript(v uint32, syn bool) uint32 {
	switch {
	case !f.isnKnown:
		return v
	case syn:
		return v - f.liveISN + f.scriptISN
	}
	return v - f.liveISN
}

// remoteToLive maps a sequence number of the peer's sequence space from script to wire.
func (f *flow) remoteToLive(v uint32, syn bool) uint32 {
	if syn || !f.remoteKnown {
		return v
	}
	return v + f.remoteISN
}

// remoteToScript maps a sequence number of the peer's sequence space from wire to script.
func (f *flow) remoteToScript(v uint32, syn bool) uint32 {
	if syn || !f.remoteKnown {
		return v
	}
	return v - f.remoteISN
}

// learnRemoteISN notes the peer's ISN from an inbound segment of this flow: its first SYN, or
// the SYN-ACK answering the stack's SYN.
func (f *flow) learnRemoteISN(flags TCPFlags, seq uint32) {
	if flags&SYN != 0 && !f.remoteKnown {
		f.remoteISN, f.remoteKnown = seq, true
	}
}

// seg is a TCP segment in packetdrill's terms, from a script line or from the wire.
type seg struct {
	flags            TCPFlags
	seq              uint32
	len              int
	ack              uint32
	hasAck           bool
	win              uint16
	hasWin           bool
	urg              uint16
	hasUrg           bool
	opts             []TCPOption
	anyOpts          bool
	ecn              ECN
	srcPort, dstPort uint16
	hasPorts         bool
}

func segOfLine(p *Packet) seg {
	t := p.TCP
	return seg{flags: t.Flags, seq: t.Seq, len: t.Len, ack: t.Ack, hasAck: t.HasAck, win: t.Win, hasWin: t.HasWin,
		urg: t.Urg, hasUrg: t.HasUrg, opts: t.Options, anyOpts: t.AnyOptions, ecn: p.IP.ECN,
		srcPort: p.SrcPort, dstPort: p.DstPort, hasPorts: p.Ports}
}

// segOfWire reads a segment the stack sent, with its sequence numbers made relative by f.
func segOfWire(ip *layers.IPv4, t *layers.TCP, f *flow) seg {
	s := seg{flags: TCPFlags(harness.FlagsOf(t)), seq: f.toScript(t.Seq, t.SYN), len: len(t.Payload), win: t.Window,
		hasWin: true, ecn: ecnOf(ip.TOS), srcPort: uint16(t.SrcPort), dstPort: uint16(t.DstPort)}
	if t.ACK {
		s.ack, s.hasAck = f.remoteToScript(t.Ack, t.SYN), true
	}
	if t.URG {
		s.urg, s.hasUrg = t.Urgent, true
	}
	s.opts = optionsOfWire(t.Options)
	for i := range s.opts {
		for j, b := range s.opts[i].SACK { // the stack's SACK blocks are in the peer's sequence space
			s.opts[i].SACK[j] = SACKBlock{f.remoteToScript(b.Left, t.SYN), f.remoteToScript(b.Right, t.SYN)}
		}
	}
	return s
}

func ecnOf(tos uint8) ECN {
	switch tos & 3 {
	case 1:
		return ECT1
	case 2:
		return ECT0
	case 3:
		return CE
	}
	return NoECN
}

func optionsOfWire(in []layers.TCPOption) []TCPOption {
	var out []TCPOption
	for _, o := range in {
		k := TCPOptionKind(o.OptionType)
		switch {
		case k == OptEOL || k == OptNOP:
			out = append(out, TCPOption{Kind: k})
		case k == OptMSS && len(o.OptionData) == 2:
			out = append(out, TCPOption{Kind: k, MSS: binary.BigEndian.Uint16(o.OptionData)})
		case k == OptWScale && len(o.OptionData) == 1:
			out = append(out, TCPOption{Kind: k, WScale: o.OptionData[0]})
		case k == OptSACKOK:
			out = append(out, TCPOption{Kind: k})
		case k == OptSACK && len(o.OptionData)%8 == 0:
			var bl []SACKBlock
			for i := 0; i+8 <= len(o.OptionData); i += 8 {
				bl = append(bl, SACKBlock{binary.BigEndian.Uint32(o.OptionData[i:]), binary.BigEndian.Uint32(o.OptionData[i+4:])})
			}
			out = append(out, TCPOption{Kind: k, SACK: bl})
		case k == OptTimestamp && len(o.OptionData) == 8:
			out = append(out, TCPOption{Kind: k, TSVal: binary.BigEndian.Uint32(o.OptionData), TSEcr: binary.BigEndian.Uint32(o.OptionData[4:])})
		default:
			out = append(out, TCPOption{Kind: k, raw: append([]byte(nil), o.OptionData...), unknown: true})
		}
	}
	return out
}

// String renders the segment in packetdrill's notation: "S. 0:0(0) ack 1 win 65535 <mss 1460>".
func (s seg) String() string {
	var b strings.Builder
	switch s.ecn {
	case NoECN:
	case ECT0:
		b.WriteString("[ect0] ")
	case ECT1:
		b.WriteString("[ect1] ")
	case CE:
		b.WriteString("[ce] ")
	case ECT01:
		b.WriteString("[ect01] ")
	}
	if s.hasPorts && (s.srcPort != 0 || s.dstPort != 0) {
		fmt.Fprintf(&b, "%d>%d ", s.srcPort, s.dstPort)
	}
	fmt.Fprintf(&b, "%v %d:%d(%d)", s.flags, s.seq, s.seq+uint32(s.len), s.len)
	if s.hasAck {
		fmt.Fprintf(&b, " ack %d", s.ack)
	}
	if s.hasWin {
		fmt.Fprintf(&b, " win %d", s.win)
	}
	if s.hasUrg {
		fmt.Fprintf(&b, " urg %d", s.urg)
	}
	switch {
	case s.anyOpts:
		b.WriteString(" <...>")
	case len(s.opts) > 0:
		b.WriteString(" <" + renderOptions(s.opts) + ">")
	}
	return b.String()
}

func renderOptions(opts []TCPOption) string {
	parts := make([]string, len(opts))
	for i, o := range opts {
		parts[i] = o.String()
	}
	return strings.Join(parts, ",")
}

// String renders the option as packetdrill writes it.
func (o TCPOption) String() string {
	switch o.Kind {
	case OptEOL:
		return "eol"
	case OptNOP:
		return "nop"
	case OptMSS:
		return fmt.Sprintf("mss %d", o.MSS)
	case OptWScale:
		return fmt.Sprintf("wscale %d", o.WScale)
	case OptSACKOK:
		return "sackOK"
	case OptSACK:
		var bl []string
		for _, s := range o.SACK {
			bl = append(bl, fmt.Sprintf("%d:%d", s.Left, s.Right))
		}
		return "sack " + strings.Join(bl, " ")
	case OptTimestamp:
		return fmt.Sprintf("TS val %d ecr %d", o.TSVal, o.TSEcr)
	}
	return fmt.Sprintf("kind %d len %d", o.Kind, len(o.raw)+2)
}

// tsCheck says how an outbound line's TS val is compared: not at all when tick is 0
// (packetdrill's default), else within tolerance of the script's value, one tick being tick.
type tsCheck struct {
	tick, tolerance time.Duration
}

// diff lists how got differs from want (a script's outbound line); empty when it matches.
// Lenient ignores the window, the PSH bit, option values and option order. Otherwise the
// options match kind by kind in order, with the TS val judged by ts and the TS ecr exactly (stricter than
// packetdrill, which leaves the echo unchecked: an echo is the RFC 7323 4.3 rules at work).
func (want seg) diff(got seg, lenient bool, ts tsCheck) []string {
	var d []string
	if want.hasPorts && (want.srcPort != got.srcPort || want.dstPort != got.dstPort) {
		d = append(d, fmt.Sprintf("ports %d>%d, want %d>%d", got.srcPort, got.dstPort, want.srcPort, want.dstPort))
	}
	if w, g := want.flags, got.flags; w != g && (!lenient || w&^PSH != g&^PSH) {
		// Lenient: where a sender sets PSH is its own choice (RFC 9293 3.9.1).
		d = append(d, fmt.Sprintf("flags %v, want %v", got.flags, want.flags))
	}
	if want.seq != got.seq {
		d = append(d, fmt.Sprintf("seq %d, want %d", got.seq, want.seq))
	}
	if want.len != got.len {
		d = append(d, fmt.Sprintf("length %d, want %d", got.len, want.len))
	}
	if want.hasAck && (!got.hasAck || want.ack != got.ack) {
		d = append(d, fmt.Sprintf("ack %d, want %d", got.ack, want.ack))
	}
	if want.hasWin && !lenient && want.win != got.win {
		d = append(d, fmt.Sprintf("win %d, want %d", got.win, want.win))
	}
	if want.hasUrg && (!got.hasUrg || want.urg != got.urg) {
		d = append(d, fmt.Sprintf("urg %d, want %d", got.urg, want.urg))
	}
	if want.ecn != ECNUnspecified && !ecnMatches(want.ecn, got.ecn) {
		d = append(d, fmt.Sprintf("ECN %s, want %s", ecnName(got.ecn), ecnName(want.ecn)))
	}
	if !want.anyOpts {
		if lenient {
			if w, g := optionKinds(want.opts), optionKinds(got.opts); !slices.Equal(w, g) {
				d = append(d, fmt.Sprintf("options <%s>, want the kinds of <%s>", renderOptions(got.opts), renderOptions(want.opts)))
			}
		} else if !optionsMatch(want.opts, got.opts, ts) {
			d = append(d, fmt.Sprintf("options <%s>, want <%s>", renderOptions(got.opts), renderOptions(want.opts)))
		}
	}
	return d
}

// optionsMatch compares options in order: the same kinds, the same values, the TS val within
// the tolerance when ts says to check it.
func optionsMatch(want, got []TCPOption, ts tsCheck) bool {
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.Kind == OptTimestamp && g.Kind == OptTimestamp {
			if w.TSEcr != g.TSEcr {
				return false
			}
			if ts.tick > 0 {
				off := time.Duration(int32(g.TSVal-w.TSVal)) * ts.tick
				if off < -ts.tolerance || off > ts.tolerance {
					return false
				}
			}
			continue
		}
		if w.String() != g.String() {
			return false
		}
	}
	return true
}

// optionKinds is the sorted list of option kinds but padding (nop, eol): what --lenient compares.
func optionKinds(opts []TCPOption) []TCPOptionKind {
	var k []TCPOptionKind
	for _, o := range opts {
		if o.Kind != OptNOP && o.Kind != OptEOL {
			k = append(k, o.Kind)
		}
	}
	slices.Sort(k)
	return k
}

func ecnMatches(want, got ECN) bool {
	if want == ECT01 {
		return got == ECT0 || got == ECT1
	}
	return want == got
}

func ecnName(e ECN) string {
	return [...]string{"unspecified", "noecn", "ect0", "ect1", "ce", "ect01"}[e]
}

func ecnBits(e ECN) uint8 {
	switch e {
	case ECT0:
		return 2
	case ECT1:
		return 1
	case CE:
		return 3
	}
	return 0
}

// wireOptions encodes a line's options for an inbound segment; SACK blocks are in the stack's
// sequence space, so f maps them (as in a segment with SYN set, syn, or without), and so does
// a TS ecr on a segment with ACK set (ack): it echoes a TS val of the stack's.
func wireOptions(opts []TCPOption, f *flow, syn, ack bool) []layers.TCPOption {
	var out []layers.TCPOption
	for _, o := range opts {
		lo := layers.TCPOption{OptionType: layers.TCPOptionKind(o.Kind)}
		switch o.Kind {
		case OptEOL, OptNOP:
			lo.OptionLength = 1
		case OptMSS:
			lo.OptionData = binary.BigEndian.AppendUint16(nil, o.MSS)
		case OptWScale:
			lo.OptionData = []byte{o.WScale}
		case OptSACKOK:
		case OptSACK:
			for _, s := range o.SACK {
				lo.OptionData = binary.BigEndian.AppendUint32(lo.OptionData, f.toLive(s.Left, syn))
				lo.OptionData = binary.BigEndian.AppendUint32(lo.OptionData, f.toLive(s.Right, syn))
			}
		case OptTimestamp:
			ecr := o.TSEcr
			if ack && !o.AbsoluteTSEcr { // "ecr N!" is the wire's value
				ecr = f.liveEcr(ecr)
			}
			lo.OptionData = binary.BigEndian.AppendUint32(nil, o.TSVal)
			lo.OptionData = binary.BigEndian.AppendUint32(lo.OptionData, ecr)
		}
		if lo.OptionLength == 0 {
			lo.OptionLength = uint8(2 + len(lo.OptionData))
		}
		out = append(out, lo)
	}
	return out
}

// frameBuilder makes the frames a script injects, with gopacket.
type frameBuilder struct {
	peerMAC, stackMAC net.HardwareAddr
	peerIP, stackIP   netip.Addr
	ipID              uint16
}

// macFor is the MAC the builder uses for a host that is not the peer: locally administered,
// derived from its address.
func macFor(a netip.Addr) net.HardwareAddr {
	b := a.As4()
	return net.HardwareAddr{0x02, 0x00, b[0], b[1], b[2], b[3]}
}

// ipv4 wraps an L4 payload in IPv4 and Ethernet, from the peer to the stack, applying the
// line's IP fields and checksum extensions.
func (fb *frameBuilder) ipv4(p *Packet, proto layers.IPProtocol, l4 ...gopacket.SerializableLayer) ([]byte, error) {
	fb.ipID++
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, Id: fb.ipID,
		SrcIP: fb.peerIP.AsSlice(), DstIP: fb.stackIP.AsSlice()}
	f := p.IP
	ip.TOS = f.TOS | ecnBits(f.ECN)
	if f.HasTTL {
		ip.TTL = f.TTL
	}
	if f.HasID {
		ip.Id = f.ID
	}
	for _, l := range l4 {
		if t, ok := l.(*layers.TCP); ok {
			_ = t.SetNetworkLayerForChecksum(ip)
		}
	}
	eth := &layers.Ethernet{SrcMAC: fb.peerMAC, DstMAC: fb.stackMAC, EthernetType: layers.EthernetTypeIPv4}
	// The L4 bytes first, with their checksum over the whole segment, then the IP header
	// around them, so options and fragment fields never disturb the L4 checksum.
	l4buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(l4buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, l4...); err != nil {
		return nil, err
	}
	payload := append([]byte(nil), l4buf.Bytes()...)
	if p.BadChecksum {
		switch {
		case proto == layers.IPProtocolTCP && len(payload) >= 18:
			payload[16] ^= 0xff
		case proto == layers.IPProtocolICMPv4 && len(payload) >= 4:
			payload[2] ^= 0xff
		}
	}
	hdr := make([]byte, 20+len(f.Options))
	hdr[0] = 0x40 | byte(len(hdr)/4)
	hdr[1] = ip.TOS
	binary.BigEndian.PutUint16(hdr[2:], uint16(len(hdr)+len(payload)))
	binary.BigEndian.PutUint16(hdr[4:], ip.Id)
	var frag uint16
	if f.Fragment {
		frag = f.FragmentOffset / 8
		if f.MoreFragments {
			frag |= 0x2000
		}
	}
	binary.BigEndian.PutUint16(hdr[6:], frag)
	hdr[8], hdr[9] = ip.TTL, byte(proto)
	copy(hdr[12:16], ip.SrcIP.To4())
	copy(hdr[16:20], ip.DstIP.To4())
	copy(hdr[20:], f.Options)
	harness.SetIPv4Checksum(hdr)
	if p.BadIPChecksum {
		hdr[10] ^= 0xff
	}
	ethBuf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(ethBuf, gopacket.SerializeOptions{}, eth, gopacket.Payload(append(hdr, payload...))); err != nil {
		return nil, err
	}
	return append([]byte(nil), ethBuf.Bytes()...), nil
}

// tcp builds an inbound TCP segment of the line on flow f.
func (fb *frameBuilder) tcp(p *Packet, f *flow) ([]byte, error) {
	t := p.TCP
	src, dst := f.remote, f.local
	if p.Ports {
		src, dst = p.SrcPort, p.DstPort
	}
	win := uint16(65535)
	if t.HasWin {
		win = t.Win
	}
	syn := t.Flags&SYN != 0
	seq := f.remoteToLive(t.Seq, syn)
	if t.AbsoluteSeq { // "S:E(L)!": the wire's number
		seq = t.Seq
	}
	l := &layers.TCP{SrcPort: layers.TCPPort(src), DstPort: layers.TCPPort(dst), Seq: seq, Window: win, Urgent: t.Urg,
		FIN: t.Flags&FIN != 0, SYN: t.Flags&SYN != 0, RST: t.Flags&RST != 0, PSH: t.Flags&PSH != 0,
		ACK: t.Flags&ACK != 0, URG: t.Flags&URG != 0, ECE: t.Flags&ECE != 0, CWR: t.Flags&CWR != 0}
	if t.HasAck {
		l.Ack = f.toLive(t.Ack, syn)
	}
	l.Options = wireOptions(t.Options, f, syn, t.Flags&ACK != 0)
	return fb.ipv4(p, layers.IPProtocolTCP, l, gopacket.Payload(make([]byte, t.Len)))
}

// icmp builds an inbound ICMP message. An error quotes the IP header and TCP header of a
// segment the stack sent on flow f (or a UDP or raw datagram of the given length); an echo
// request carries seq and a payload of the echoed length.
func (fb *frameBuilder) icmp(p *Packet, f *flow, echoSeq uint16) ([]byte, error) {
	ic := p.ICMP
	m := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(ic.Type, ic.Code)}
	var data []byte
	switch ic.Type {
	case layers.ICMPv4TypeEchoRequest, layers.ICMPv4TypeEchoReply:
		m.Id, m.Seq = ic.ID, echoSeq
		n := 56
		if ic.Echoed != nil {
			n = ic.Echoed.Len
		}
		data = echoData(n)
	default:
		if ic.HasMTU {
			m.Seq = ic.MTU // the next-hop MTU is the low 16 bits of the rest of the header (RFC 1191)
		}
		if ic.Echoed != nil {
			data = fb.quoted(ic.Echoed, f)
		}
	}
	return fb.ipv4(p, layers.IPProtocolICMPv4, m, gopacket.Payload(data))
}

// echoData is the payload of an echo request the script sends: a counting pattern.
func echoData(n int) []byte {
	d := make([]byte, n)
	for i := range d {
		d[i] = byte(i)
	}
	return d
}

// quoted is the datagram an ICMP error quotes: as if the stack had sent it to the peer.
func (fb *frameBuilder) quoted(e *ICMPEchoed, f *flow) []byte {
	var proto layers.IPProtocol
	var l4 []byte
	switch e.Proto {
	case "tcp":
		proto = layers.IPProtocolTCP
		l4 = make([]byte, 20)
		binary.BigEndian.PutUint16(l4[0:], f.local)
		binary.BigEndian.PutUint16(l4[2:], f.remote)
		seq := f.toLive(e.Seq, false)
		if e.AbsoluteSeq {
			seq = e.Seq
		}
		binary.BigEndian.PutUint32(l4[4:], seq)
		l4[12] = 5 << 4
		l4[13] = 0x18 // PSH, ACK
	case "udp":
		proto = layers.IPProtocolUDP
		l4 = make([]byte, 8+e.Len)
		binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
	default:
		proto = 255
		l4 = make([]byte, e.Len)
	}
	total := 20 + len(l4)
	if e.Proto == "tcp" {
		total += e.Len
	}
	hdr := make([]byte, 20)
	hdr[0] = 0x45
	binary.BigEndian.PutUint16(hdr[2:], uint16(total))
	hdr[6] = 0x40 // DF
	hdr[8], hdr[9] = 64, byte(proto)
	copy(hdr[12:16], fb.stackIP.AsSlice())
	copy(hdr[16:20], fb.peerIP.AsSlice())
	harness.SetIPv4Checksum(hdr)
	return append(hdr, l4...)
}

// arp builds an inbound ARP request or reply.
func (fb *frameBuilder) arp(a *ARP) ([]byte, error) {
	l := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: uint16(a.Op), SourceProtAddress: a.SenderIP.AsSlice()}
	eth := &layers.Ethernet{EthernetType: layers.EthernetTypeARP}
	sender := fb.peerMAC
	if a.SenderIP != fb.peerIP {
		sender = macFor(a.SenderIP)
	}
	switch a.Op {
	case ARPRequest:
		l.SourceHwAddress, l.DstHwAddress, l.DstProtAddress = sender, make(net.HardwareAddr, 6), a.TargetIP.AsSlice()
		eth.SrcMAC, eth.DstMAC = sender, layers.EthernetBroadcast
	default:
		if a.MAC != nil {
			sender = a.MAC
		}
		l.SourceHwAddress, l.DstHwAddress, l.DstProtAddress = sender, fb.stackMAC, fb.stackIP.AsSlice()
		eth.SrcMAC, eth.DstMAC = sender, fb.stackMAC
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, eth, l); err != nil {
		return nil, err
	}
	return append([]byte(nil), buf.Bytes()...), nil
}

// describeFrame renders a frame the stack sent in the script's notation (TCP relative to f).
func describeFrame(fr *harness.Frame, f *flow) string {
	switch {
	case fr.TCP() != nil && fr.IPv4() != nil:
		s := segOfWire(fr.IPv4(), fr.TCP(), f)
		f.scriptTS(s.opts)
		return "> " + s.String()
	case fr.ICMPv4() != nil:
		m := fr.ICMPv4()
		s := fmt.Sprintf("> icmp %s", icmpName(m.TypeCode.Type(), m.TypeCode.Code()))
		if t := m.TypeCode.Type(); t == layers.ICMPv4TypeEchoReply || t == layers.ICMPv4TypeEchoRequest {
			s += fmt.Sprintf(" id %d [raw (%d)]", m.Id, len(m.Payload))
		} else if q := quotedOf(m.Payload); q != "" {
			s += " " + q
		}
		return s
	case fr.ARP() != nil:
		a := fr.ARP()
		if a.Operation == layers.ARPRequest {
			return fmt.Sprintf("> arp request who-has %v tell %v", net.IP(a.DstProtAddress), net.IP(a.SourceProtAddress))
		}
		return fmt.Sprintf("> arp reply %v is-at %v", net.IP(a.SourceProtAddress), net.HardwareAddr(a.SourceHwAddress))
	}
	return "> " + fr.String()
}

// quotedOf renders the datagram quoted by an ICMP error: "[seq:end(len)]", "[udp (N)]", "[raw (N)]".
func quotedOf(p []byte) string {
	if len(p) < 20 || p[0]>>4 != 4 {
		return ""
	}
	hl := int(p[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(p[2:]))
	switch {
	case p[9] == 6 && len(p) >= hl+8:
		seq := binary.BigEndian.Uint32(p[hl+4:])
		n := total - hl - 20
		if len(p) >= hl+13 {
			n = total - hl - int(p[hl+12]>>4)*4
		}
		n = max(n, 0)
		return fmt.Sprintf("[%d:%d(%d)]", seq, seq+uint32(n), n)
	case p[9] == 17:
		return fmt.Sprintf("[udp (%d)]", max(total-hl-8, 0))
	}
	return fmt.Sprintf("[raw (%d)]", max(total-hl, 0))
}

func icmpName(t, c uint8) string {
	name := ""
	for n, v := range icmpTypes {
		if v == t {
			name = n
		}
	}
	if name == "" {
		return fmt.Sprintf("type_%d code_%d", t, c)
	}
	if t == 3 {
		for n, v := range icmpCodes {
			if v == c {
				return name + " " + n
			}
		}
	}
	if c != 0 {
		return fmt.Sprintf("%s code_%d", name, c)
	}
	return name
}
