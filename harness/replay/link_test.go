package replay_test

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mtcp-go/mtcp/harness/replay"
)

// A conversation as a list of packets without a link layer, so that it can be written in every
// encapsulation: ARP who-has and is-at, a TCP handshake, a request, an answer, the server's
// FIN, the client's, and an echo request and reply. The capture point is the server's end.
type linkPacket struct {
	at         time.Time
	fromServer bool
	arp        bool   // an ARP packet (else IPv4)
	data       []byte // the ARP or IPv4 packet
}

var (
	lkClient, lkServer       = net.IP{198, 18, 5, 1}, net.IP{198, 18, 5, 2}
	lkClientMAC, lkServerMAC = net.HardwareAddr{0x52, 0x54, 0, 0x12, 0x34, 0x01}, net.HardwareAddr{0x52, 0x54, 0, 0x12, 0x34, 0x02}
)

// conversation builds the packets of one exchange between client:cport and server:sport, from
// start, with ARP first when withARP.
func conversation(t testing.TB, start time.Time, client, server net.IP, cport, sport uint16, withARP bool) []linkPacket {
	t.Helper()
	var out []linkPacket
	at := start
	add := func(fromServer, arp bool, ls ...gopacket.SerializableLayer) {
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
			t.Fatal(err)
		}
		out = append(out, linkPacket{at: at, fromServer: fromServer, arp: arp, data: append([]byte(nil), buf.Bytes()...)})
		at = at.Add(2 * time.Millisecond)
	}
	if withARP {
		add(false, true, &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPRequest, SourceHwAddress: lkClientMAC, SourceProtAddress: client, DstHwAddress: make([]byte, 6), DstProtAddress: server})
		add(true, true, &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPReply, SourceHwAddress: lkServerMAC, SourceProtAddress: server, DstHwAddress: lkClientMAC, DstProtAddress: client})
	}
	var cseq, sseq uint32 = 1000, 7000
	mss := []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}}
	seg := func(fromServer bool, flags string, seq, ack uint32, payload []byte, opts []layers.TCPOption) {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: client, DstIP: server, Flags: layers.IPv4DontFragment}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(cport), DstPort: layers.TCPPort(sport), Seq: seq, Ack: ack, Window: 64240, Options: opts,
			SYN: strings.Contains(flags, "S"), ACK: strings.Contains(flags, "."), FIN: strings.Contains(flags, "F"), PSH: strings.Contains(flags, "P")}
		if fromServer {
			ip.SrcIP, ip.DstIP = server, client
			tcp.SrcPort, tcp.DstPort = tcp.DstPort, tcp.SrcPort
		}
		_ = tcp.SetNetworkLayerForChecksum(ip)
		add(fromServer, false, ip, tcp, gopacket.Payload(payload))
	}
	req := []byte("GET /small HTTP/1.0\r\n\r\n")
	resp := bytes.Repeat([]byte("mtcp "), 40)
	seg(false, "S", cseq, 0, nil, mss)
	seg(true, "S.", sseq, cseq+1, nil, mss)
	cseq, sseq = cseq+1, sseq+1
	seg(false, ".", cseq, sseq, nil, nil)
	seg(false, "P.", cseq, sseq, req, nil)
	cseq += uint32(len(req))
	seg(true, ".", sseq, cseq, nil, nil)
	seg(true, "P.", sseq, cseq, resp, nil)
	sseq += uint32(len(resp))
	seg(true, "F.", sseq, cseq, nil, nil)
	sseq++
	seg(false, ".", cseq, sseq, nil, nil)
	seg(false, "F.", cseq, sseq, nil, nil)
	seg(true, ".", sseq, cseq+1, nil, nil)
	for i, fromServer := range []bool{false, true} {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: client, DstIP: server}
		icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 77, Seq: 1}
		if i == 1 {
			ip.SrcIP, ip.DstIP = server, client
			icmp.TypeCode = layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoReply, 0)
		}
		add(fromServer, false, ip, icmp, gopacket.Payload([]byte("ping data 0123456789")))
	}
	return out
}

// madeUp is the MAC mtcp-replay makes up for an address: 02:00 and the address.
func madeUp(ip net.IP) net.HardwareAddr {
	return net.HardwareAddr{2, 0, ip[0], ip[1], ip[2], ip[3]}
}

// encapsulations the tests write, by name: the link type and how a packet is framed.
type encap struct {
	name     string
	linkType layers.LinkType
	carries  bool // it carries ARP
	frame    func(p linkPacket) []byte
}

// addrs gives a packet's sender and receiver addresses.
func addrs(p linkPacket) (src, dst net.IP) {
	if p.arp {
		return net.IP(p.data[14:18]), net.IP(p.data[24:28])
	}
	return net.IP(p.data[12:16]), net.IP(p.data[16:20])
}

// senderMAC is the "real" MAC of a packet's sender (what a cooked capture's header carries).
func senderMAC(p linkPacket) net.HardwareAddr {
	src, _ := addrs(p)
	if src.Equal(lkServer) {
		return lkServerMAC
	}
	return append(net.HardwareAddr{0x52, 0x54, 0}, src[1:]...)
}

func etherType(p linkPacket) uint16 {
	if p.arp {
		return 0x0806
	}
	return 0x0800
}

// ethernetWith frames a packet as Ethernet with the MACs mac gives each address; ARP's hardware
// addresses are rewritten to match.
func ethernetWith(mac func(net.IP) net.HardwareAddr) func(p linkPacket) []byte {
	return func(p linkPacket) []byte {
		src, dst := addrs(p)
		to := mac(dst)
		data := append([]byte(nil), p.data...)
		if p.arp {
			copy(data[8:14], mac(src))
			if binary.BigEndian.Uint16(data[6:]) == 1 {
				to = layers.EthernetBroadcast
			} else {
				copy(data[18:24], mac(dst))
			}
		}
		f := append(append(append([]byte(nil), to...), mac(src)...), byte(etherType(p)>>8), byte(etherType(p)))
		return append(f, data...)
	}
}

func sll(p linkPacket) []byte {
	h := make([]byte, 16)
	if p.fromServer {
		binary.BigEndian.PutUint16(h[0:], 4) // sent by us
	} else if p.arp && binary.BigEndian.Uint16(p.data[6:]) == 1 {
		binary.BigEndian.PutUint16(h[0:], 1) // broadcast
	}
	binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(h[4:], 6)
	copy(h[6:], senderMAC(p))
	binary.BigEndian.PutUint16(h[14:], etherType(p))
	return append(h, p.data...)
}

func sll2(p linkPacket) []byte {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h[0:], etherType(p))
	binary.BigEndian.PutUint32(h[4:], 2) // interface index
	binary.BigEndian.PutUint16(h[8:], 1) // ARPHRD_ETHER
	if p.fromServer {
		h[10] = 4
	} else if p.arp && binary.BigEndian.Uint16(p.data[6:]) == 1 {
		h[10] = 1
	}
	h[11] = 6
	copy(h[12:], senderMAC(p))
	return append(h, p.data...)
}

func family(order binary.ByteOrder) func(p linkPacket) []byte {
	return func(p linkPacket) []byte {
		h := make([]byte, 4)
		order.PutUint32(h, 2) // AF_INET
		return append(h, p.data...)
	}
}

func rawIP(p linkPacket) []byte { return append([]byte(nil), p.data...) }

var encaps = []encap{
	{"sll", 113, true, sll},
	{"sll2", 276, true, sll2},
	{"raw", 101, false, rawIP},
	{"ipv4", 228, false, rawIP},
	{"dlt-raw-12", 12, false, rawIP},
	{"dlt-raw-14", 14, false, rawIP},
	{"null-le", 0, false, family(binary.LittleEndian)},
	{"null-be", 0, false, family(binary.BigEndian)},
	{"loop", 108, false, family(binary.BigEndian)},
}

// timedFrame is a record to write.
type timedFrame struct {
	at   time.Time
	data []byte
}

// framed frames the packets a link type lt carries (ARP only in Ethernet and cooked captures).
func framed(pkts []linkPacket, lt layers.LinkType, frame func(linkPacket) []byte) []timedFrame {
	var out []timedFrame
	for _, p := range pkts {
		if p.arp && lt != layers.LinkTypeEthernet && lt != layers.LinkTypeLinuxSLL && lt != layers.LinkTypeLinuxSLL2 {
			continue
		}
		out = append(out, timedFrame{p.at, frame(p)})
	}
	return out
}

// writePcap writes frames as a classic pcap of link type lt.
func writePcap(t *testing.T, path string, lt layers.LinkType, frames []timedFrame) {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, lt); err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: f.at, CaptureLength: len(f.data), Length: len(f.data)}, f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// withoutFirstLine drops the report's first line, which names the capture file and format.
func withoutFirstLine(s string) string {
	_, rest, _ := strings.Cut(s, "\n")
	return rest
}

// TestLinkTypesReplayAsEthernet: the same conversation in every link type mtcp-replay reads
// gives the report the Ethernet capture of it gives, line for line but the first (the file's
// name), when the Ethernet frames carry the MACs mtcp-replay makes up (02:00 and the address):
// a cooked capture's own link-layer addresses are not used, ARP included.
func TestLinkTypesReplayAsEthernet(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	pkts := conversation(t, start, lkClient, lkServer, 40000, 8080, true)
	want := map[bool]string{}
	for _, withARP := range []bool{true, false} {
		path := filepath.Join(dir, "ethernet.pcap")
		lt := layers.LinkTypeEthernet
		ps := pkts
		if !withARP {
			ps = pkts[2:]
		}
		writePcap(t, path, lt, framed(ps, lt, ethernetWith(madeUp)))
		text, code := run("-q", "--compare", "options", path)
		if code != 0 || lastLine(text) != "equivalent" {
			t.Fatalf("Ethernet (ARP %v): exit %d:\n%s", withARP, code, text)
		}
		if n := map[bool]string{true: "7", false: "6"}[withARP]; !strings.Contains(text, n+" of the host's compared") {
			t.Fatalf("Ethernet (ARP %v): want %s of the host's frames compared (ARP reply, 5 TCP segments, echo reply):\n%s", withARP, n, text)
		}
		want[withARP] = withoutFirstLine(text)
	}
	if !strings.Contains(want[true], "the stack plays 198.18.5.2 (02:00:c6:12:05:02)") {
		t.Fatalf("reference report:\n%s", want[true])
	}
	for _, e := range encaps {
		t.Run(e.name, func(t *testing.T) {
			path := filepath.Join(dir, e.name+".pcap")
			writePcap(t, path, e.linkType, framed(pkts, e.linkType, e.frame))
			text, code := run("-q", "--compare", "options", path)
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, text)
			}
			if got := withoutFirstLine(text); got != want[e.carries] {
				t.Fatalf("report differs from the Ethernet capture's:\n%s\nwant:\n%s", got, want[e.carries])
			}
			out := filepath.Join(dir, e.name+".pcapng")
			if text, code := run("-q", "-o", out, path); code != 0 {
				t.Fatalf("-o: exit %d:\n%s", code, text)
			}
			checkOutput(t, out)
		})
	}
}

// Records of a link type's other protocols are skipped and counted; damaged ones are named.
func TestLinkTypesSkipAndDamage(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	pkts := conversation(t, start, lkClient, lkServer, 40000, 8080, false)
	ipv6 := linkPacket{at: start.Add(time.Millisecond), data: append([]byte{0x60}, make([]byte, 39)...)}
	for _, c := range []struct {
		name  string
		lt    layers.LinkType
		extra []byte
		want  []string
	}{
		{"sll2-ipv6", 276, func() []byte { b := sll2(ipv6); binary.BigEndian.PutUint16(b, 0x86dd); return b }(), []string{"skipped: 1 EtherType IPv6"}},
		{"sll-llc", 113, func() []byte { b := sll(ipv6); binary.BigEndian.PutUint16(b[14:], 4); return b }(), []string{"skipped: 1 Linux cooked capture protocol 0x0004 (not IPv4 or ARP)"}},
		{"sll-short", 113, make([]byte, 10), []string{"damaged: frame 2: 10 bytes, shorter than the 16-byte LINKTYPE_LINUX_SLL header", "1 shorter than a Linux cooked capture header"}},
		{"raw-ipv6", 101, ipv6.data, []string{"skipped: 1 IPv6 (raw IP)"}},
		{"raw-version-5", 101, []byte{0x50, 1, 2, 3}, []string{"damaged: frame 2: a raw IP record of version 5, neither IPv4 nor IPv6"}},
		{"null-ipv6", 0, append([]byte{30, 0, 0, 0}, ipv6.data...), []string{"skipped: 1 IPv6 (address family 30)"}},
		{"loop-short", 108, []byte{0, 0}, []string{"damaged: frame 2: 2 bytes, shorter than the 4-byte address family of LINKTYPE_LOOP (108)"}},
		{"ipv4-cut", 228, []byte{0x45, 0, 0}, []string{"damaged: frame 2: IPv4"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			frame := map[layers.LinkType]func(linkPacket) []byte{113: sll, 276: sll2, 101: rawIP, 228: rawIP, 0: family(binary.LittleEndian), 108: family(binary.BigEndian)}[c.lt]
			frames := framed(pkts, c.lt, frame)
			frames = append(frames[:1], append([]timedFrame{{frames[0].at, c.extra}}, frames[1:]...)...) // record 2
			path := filepath.Join(dir, c.name+".pcap")
			writePcap(t, path, c.lt, frames)
			text, code := run("-q", path)
			if code != 0 || lastLine(text) != "equivalent" {
				t.Fatalf("exit %d:\n%s", code, text)
			}
			wantLines(t, text, c.want...)
		})
	}
}

// A capture of a link type mtcp-replay does not read is refused, exit 2, with the registered
// name of the link type (not gopacket's "UnknownLinkType").
func TestUnreadableLinkTypeRefused(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		lt   layers.LinkType
		want string
	}{
		{147, "interface 0 is LINKTYPE_USER0 (147), with 2 records"},
		{239, "interface 0 is LINKTYPE_NFLOG (239), with 2 records"},
		{229, "interface 0 is LINKTYPE_IPV6 (229), with 2 records"},
		{4242, "interface 0 is link type 4242, with 2 records"},
	} {
		path := filepath.Join(dir, "unknown.pcap")
		writePcap(t, path, c.lt, []timedFrame{{start, []byte{1, 2, 3}}, {start, []byte{4, 5, 6}}})
		text, code := run("-q", path)
		if code != 2 || !strings.Contains(text, c.want) || !strings.Contains(text, "no interface of a link type mtcp-replay reads") ||
			!strings.Contains(text, "LINKTYPE_LINUX_SLL2 (276)") || strings.Contains(text, "UnknownLinkType") {
			t.Errorf("link type %d: exit %d (want 2), want %q:\n%s", c.lt, code, c.want, text)
		}
	}
}

// A loopback capture (127.0.0.1 on both ends) in LINKTYPE_NULL is read, and its two ends are
// told apart by port: each gets an address and a MAC of its own, and the stack plays either.
func TestLoopbackNullCaptureIsRead(t *testing.T) {
	lo := net.IP{127, 0, 0, 1}
	pkts := conversation(t, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), lo, lo, 40000, 8080, false)
	for _, lt := range []layers.LinkType{0, 108} {
		path := filepath.Join(t.TempDir(), "lo.pcap")
		writePcap(t, path, lt, framed(pkts, lt, family(binary.BigEndian)))
		text, code := run("-q", path)
		if code != 0 || lastLine(text) != "equivalent" || !strings.Contains(text, "the stack plays 198.18.0.2 (02:00:c6:12:00:02)") ||
			!strings.Contains(text, "a loopback capture, 127.0.0.1 at both ends, told apart by port") ||
			!strings.Contains(text, "tcp 198.18.0.1:40000 -> 198.18.0.2:8080 (stack as server)") || !strings.Contains(text, "judged: 5 of 5 host frames compared, 1 conversation\n") {
			t.Errorf("link type %d: exit %d:\n%s", lt, code, text)
		}
		text, code = run("-q", "--client", path)
		if code != 0 || lastLine(text) != "equivalent" || !strings.Contains(text, "the stack plays 198.18.0.1 (02:00:c6:12:00:01)") ||
			!strings.Contains(text, "(stack as client, from its port") {
			t.Errorf("link type %d, --client: exit %d:\n%s", lt, code, text)
		}
	}
}

// A pcapng file with an Ethernet interface, a Linux cooked one and one of a link type
// mtcp-replay does not read: the conversations of the first two are replayed, the third
// interface is named in the report as left out. The host keeps the MAC its Ethernet frames show
// in the cooked interface's frames too, whichever interface comes first in the file.
func TestMixedInterfaces(t *testing.T) {
	for _, cookedFirst := range []bool{false, true} {
		start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		ethStart, cookedStart := start, start.Add(time.Second)
		if cookedFirst {
			ethStart, cookedStart = cookedStart, ethStart
		}
		a := conversation(t, ethStart, lkClient, lkServer, 40000, 8080, true)
		b := conversation(t, cookedStart, net.IP{198, 18, 5, 3}, lkServer, 40001, 8081, true)
		var buf bytes.Buffer
		w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 65535}, pcapgo.DefaultNgWriterOptions)
		if err != nil {
			t.Fatal(err)
		}
		for _, intf := range []pcapgo.NgInterface{{Name: "any", LinkType: layers.LinkTypeLinuxSLL2, SnapLength: 65535}, {Name: "user0", LinkType: 147, SnapLength: 65535}} {
			if _, err := w.AddInterface(intf); err != nil {
				t.Fatal(err)
			}
		}
		realMAC := func(ip net.IP) net.HardwareAddr {
			if ip.Equal(lkServer) {
				return lkServerMAC
			}
			return lkClientMAC
		}
		write := func(iface int, f []byte, at time.Time) {
			if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(f), Length: len(f), InterfaceIndex: iface}, f); err != nil {
				t.Fatal(err)
			}
		}
		eth := func() {
			for _, p := range a {
				write(0, ethernetWith(realMAC)(p), p.at)
			}
		}
		if !cookedFirst {
			eth()
		}
		for i, p := range b {
			write(1, sll2(p), p.at)
			if i < 3 {
				write(2, []byte{0xde, 0xad, 0xbe, 0xef}, p.at)
			}
		}
		if cookedFirst {
			eth()
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "mixed.pcapng")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		text, code := run("-q", path)
		wantLines(t, text,
			"the stack plays 198.18.5.2 (52:54:00:12:34:02)",
			"skipped: 3 records of interface 2, left out: mtcp-replay does not read its link type LINKTYPE_USER0 (147)",
			"tcp 198.18.5.1:40000 -> 198.18.5.2:8080 (stack as server): host 200 bytes in 5 segments",
			"tcp 198.18.5.3:40001 -> 198.18.5.2:8081 (stack as server): host 200 bytes in 5 segments")
		if code != 0 || lastLine(text) != "equivalent" {
			t.Fatalf("cooked first %v: exit %d:\n%s", cookedFirst, code, text)
		}
	}
}

// FuzzReplayLinkTypes replays captures of arbitrary records of the link types mtcp-replay turns
// into Ethernet, seeded with the conversation above: a report or an error, never a panic.
func FuzzReplayLinkTypes(f *testing.F) {
	pkts := conversation(f, time.Unix(1, 0), lkClient, lkServer, 40000, 8080, true)
	for i, e := range encaps {
		var recs [][]byte
		for _, fr := range framed(pkts, e.linkType, e.frame) {
			recs = append(recs, fr.data)
		}
		f.Add(uint8(i), bytes.Join(recs, []byte("\xff\xfe\xfd")))
	}
	f.Fuzz(func(t *testing.T, which uint8, in []byte) {
		e := encaps[int(which)%len(encaps)]
		var frames []timedFrame
		at := time.Unix(1, 0)
		for _, r := range bytes.Split(in, []byte("\xff\xfe\xfd")) {
			frames = append(frames, timedFrame{at, r[:min(len(r), 65535)]})
			at = at.Add(10 * time.Millisecond)
		}
		path := filepath.Join(t.TempDir(), "fuzz.pcap")
		writePcap(t, path, e.linkType, frames)
		rep, err := replay.Replay(path, replay.Options{})
		if (rep == nil) == (err == nil) {
			t.Fatalf("report %v and error %v", rep, err)
		}
	})
}
