package report

import (
	"encoding/binary"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/stack/link/pcapng"
)

// The bench's addresses: the peer 198.18.0.1, the stack 198.18.0.2.
var (
	peerMAC  = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	stackMAC = net.HardwareAddr{2, 0, 0, 0, 0, 2}
	peerIP   = net.IP{198, 18, 0, 1}
	stackIP  = net.IP{198, 18, 0, 2}
)

// seg describes a TCP segment for tcpFrame.
type seg struct {
	fromStack        bool
	sport, dport     uint16
	flags            string // packetdrill's letters: "S", "S.", ".", "P.", "F.", "R"
	seq, ack         uint32
	win              uint16
	opts             []layers.TCPOption
	data             int
	badChecksum      bool
	srcIP, dstIP     net.IP // default: the peer's and the stack's, by direction
	tos              uint8
	truncateTo       int
	ipFlags          layers.IPv4Flag
	ipFragOffset8    uint16
	ipID             uint16
	corruptIPChecksm bool
}

func ethIP(fromStack bool, src, dst net.IP, proto layers.IPProtocol) (*layers.Ethernet, *layers.IPv4) {
	eth := &layers.Ethernet{SrcMAC: peerMAC, DstMAC: stackMAC, EthernetType: layers.EthernetTypeIPv4}
	if src == nil {
		src, dst = peerIP, stackIP
		if fromStack {
			src, dst = stackIP, peerIP
		}
	}
	if fromStack {
		eth.SrcMAC, eth.DstMAC = stackMAC, peerMAC
	}
	return eth, &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: src, DstIP: dst}
}

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func tcpFrame(t testing.TB, s seg) []byte {
	t.Helper()
	eth, ip := ethIP(s.fromStack, s.srcIP, s.dstIP, layers.IPProtocolTCP)
	ip.TOS, ip.Flags, ip.FragOffset, ip.Id = s.tos, s.ipFlags, s.ipFragOffset8, s.ipID
	if s.sport == 0 {
		s.sport, s.dport = 40000, 80
		if s.fromStack {
			s.sport, s.dport = 80, 40000
		}
	}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(s.sport), DstPort: layers.TCPPort(s.dport), Seq: s.seq, Ack: s.ack, Window: s.win, Options: s.opts}
	for _, c := range s.flags {
		switch c {
		case 'S':
			tcp.SYN = true
		case '.':
			tcp.ACK = true
		case 'F':
			tcp.FIN = true
		case 'R':
			tcp.RST = true
		case 'P':
			tcp.PSH = true
		}
	}
	_ = tcp.SetNetworkLayerForChecksum(ip)
	b := serialize(t, eth, ip, tcp, gopacket.Payload(make([]byte, s.data)))
	if s.badChecksum {
		b[14+20+16] ^= 0xff
	}
	if s.corruptIPChecksm {
		b[14+10] ^= 0x01
	}
	if s.truncateTo > 0 {
		b = b[:s.truncateTo]
	}
	return b
}

func mss(n uint16) layers.TCPOption {
	return layers.TCPOption{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: binary.BigEndian.AppendUint16(nil, n)}
}

func wscale(n byte) layers.TCPOption {
	return layers.TCPOption{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{n}}
}

var (
	nop    = layers.TCPOption{OptionType: layers.TCPOptionKindNop, OptionLength: 1}
	sackOK = layers.TCPOption{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2}
)

func ts(val, ecr uint32) layers.TCPOption {
	d := binary.BigEndian.AppendUint32(nil, val)
	return layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: binary.BigEndian.AppendUint32(d, ecr)}
}

func sack(blocks ...uint32) layers.TCPOption {
	var d []byte
	for _, b := range blocks {
		d = binary.BigEndian.AppendUint32(d, b)
	}
	return layers.TCPOption{OptionType: layers.TCPOptionKindSACK, OptionLength: uint8(2 + len(d)), OptionData: d}
}

func arpFrame(t testing.TB, fromStack bool, op uint16) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: peerMAC, DstMAC: net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, EthernetType: layers.EthernetTypeARP}
	a := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4, Operation: op,
		SourceHwAddress: peerMAC, SourceProtAddress: peerIP, DstHwAddress: make(net.HardwareAddr, 6), DstProtAddress: stackIP}
	if fromStack {
		eth.SrcMAC = stackMAC
		a.SourceHwAddress, a.SourceProtAddress, a.DstProtAddress = stackMAC, stackIP, peerIP
	}
	if op == layers.ARPReply {
		eth.DstMAC = stackMAC
		a.DstHwAddress = stackMAC
		if fromStack {
			eth.DstMAC, a.DstHwAddress = peerMAC, peerMAC
		}
	}
	return serialize(t, eth, a)
}

func icmpFrame(t testing.TB, fromStack bool, typ, code uint8, id, seqn uint16, payload []byte) []byte {
	t.Helper()
	eth, ip := ethIP(fromStack, nil, nil, layers.IPProtocolICMPv4)
	ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, code), Id: id, Seq: seqn}
	return serialize(t, eth, ip, ic, gopacket.Payload(payload))
}

// pkt is one frame of a test capture.
type pkt struct {
	at       time.Duration // after harness.DefaultStart
	inbound  bool
	data     []byte
	comments []string
}

// writeCapture writes frames to dir/name.pcapng as the bench does, and returns the path.
func writeCapture(t testing.TB, dir, name, section string, frames []pkt) string {
	t.Helper()
	path := filepath.Join(dir, name+".pcapng")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcapng.NewWriter(f, "bench0", section)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range frames {
		dir := pcapng.Outbound
		if p.inbound {
			dir = pcapng.Inbound
		}
		if err := w.WriteFrame(pcapng.Frame{Time: harness.DefaultStart().Add(p.at), Direction: dir, Data: p.data, Comments: p.comments}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// failingCase is a spec capture with every kind of arrow: a handshake whose SYN-ACK met its
// expectation, data, a segment with a bad checksum (injected damage), the bench's ARP, an
// idle gap of 5 s, and a FIN where a pure ACK was expected.
func failingCase(t testing.TB, dir string) string {
	t.Helper()
	return writeCapture(t, dir, "T9-closes", "T9 closes\ntarget: mtcp\nverdict: FAILED: expected instead ...", []pkt{
		{0, true, tcpFrame(t, seg{flags: "S", seq: 1000, win: 65535, opts: []layers.TCPOption{mss(1460)}}), []string{"injected: TCP 40000 → 80 [SYN] Seq=1000 Ack=0 Win=65535 Len=0"}},
		{0, false, arpFrame(t, true, layers.ARPRequest), []string{"ARP request for the peer: answered by the bench"}},
		{0, true, arpFrame(t, false, layers.ARPReply), []string{"the bench answers the stack's ARP request"}},
		{0, false, tcpFrame(t, seg{fromStack: true, flags: "S.", seq: 5000, ack: 1001, win: 65535, opts: []layers.TCPOption{mss(1460), sackOK, ts(1, 0), nop, wscale(7)}}),
			[]string{"met: TCP segment with flags SYN|ACK, ack 1001"}},
		{10 * time.Millisecond, true, tcpFrame(t, seg{flags: ".", seq: 1001, ack: 5001, win: 65535, data: 1000}), []string{"injected: TCP 40000 → 80 [ACK] Seq=1001 Ack=5001 Win=65535 Len=1000"}},
		{10 * time.Millisecond, true, tcpFrame(t, seg{flags: "P.", seq: 2001, ack: 5001, win: 65535, data: 7, badChecksum: true}),
			[]string{"injected: TCP 40000 → 80 [PSH|ACK] Seq=2001 Ack=5001 Win=65535 Len=7, TCP checksum inverted"}},
		{20 * time.Millisecond, true, icmpFrame(t, false, 8, 0, 1, 1, []byte("abc")), []string{"injected: ICMP echo request id=0x0001 seq=1, 3 data bytes"}},
		{20 * time.Millisecond, false, icmpFrame(t, true, 0, 0, 1, 1, []byte("abc")), []string{"met: ICMP echo reply with ICMP seq 1"}},
		{5*time.Second + 20*time.Millisecond, false, tcpFrame(t, seg{fromStack: true, flags: "F.", seq: 5001, ack: 2001, win: 64535}),
			[]string{"expected instead: TCP segment with flags ACK, ack 2001 (flags: want ACK, got FIN|ACK)"}},
		{5*time.Second + 20*time.Millisecond, true, tcpFrame(t, seg{flags: "R", seq: 2001, win: 0}), []string{"injected: TCP 40000 → 80 [RST] Seq=2001"}},
	})
}

// passingCase is a short capture of a passing spec.
func passingCase(t testing.TB, dir string) string {
	t.Helper()
	return writeCapture(t, dir, "A1-answers", "A1 answers\ntarget: mtcp\nverdict: passed", []pkt{
		{0, true, arpFrame(t, false, layers.ARPRequest), []string{"injected: ARP Who has 198.18.0.2? Tell 198.18.0.1"}},
		{0, false, arpFrame(t, true, layers.ARPReply), []string{"met: ARP reply with sender IP 198.18.0.2"}},
	})
}

// scriptCase is a script's capture as the runner writes it, failing at line 5.
func scriptCase(t testing.TB, dir string) string {
	t.Helper()
	return writeCapture(t, dir, "fail", "fail.pkt\ntarget: mtcp\nverdict: FAILED: fail.pkt:5: ...", []pkt{
		{0, true, tcpFrame(t, seg{flags: "S", seq: 0, win: 65535, opts: []layers.TCPOption{mss(1460)}}), []string{"injected: line 4: +0 < S 0:0(0) win 65535 <mss 1460>"}},
		{0, false, tcpFrame(t, seg{fromStack: true, flags: "S.", seq: 77, ack: 1, win: 65535, opts: []layers.TCPOption{mss(1460)}}),
			[]string{"line 5: expected instead: 0.000000 > S. 0:0(0) ack 1 win 5840 <mss 1460> (win 65535, want 5840)"}},
	})
}

// svgFragments returns every <svg>…</svg> of a page.
func svgFragments(page string) []string {
	return regexp.MustCompile(`(?s)<svg\b.*?</svg>`).FindAllString(page, -1)
}

// svgText parses an SVG fragment as XML, failing the test if it is not well formed, and
// returns its text content, one string per element with text.
func svgText(t testing.TB, fragment string) []string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(fragment))
	var texts []string
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return texts
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, cut(fragment, 2000))
		}
		if c, ok := tok.(xml.CharData); ok && strings.TrimSpace(string(c)) != "" {
			texts = append(texts, string(c))
		}
	}
}
