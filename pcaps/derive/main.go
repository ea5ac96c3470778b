// Command derive writes the captures of pcaps/derived/: each one of the clean recordings
// pcaps/linux-*.pcapng with one artefact that real captures have (a segment the capture missed,
// every frame twice, a clock step, an early end, a late start, a loopback or TSO capture, an
// off-link client, a short snap length, one direction only).
//
// From the repository root:
//
//	go run ./pcaps/derive [-in pcaps] [-out pcaps/derived]
//
// It is deterministic: the same recordings give the same bytes on every run (fixed section and
// interface options, the recordings' own timestamps, no clock read). It checks that each
// recording looks as it expects (the server 198.18.1.2, the client 198.18.1.1, no
// retransmission where it removes or merges segments) and otherwise stops with exit status 1
// before writing that file. What it did to each file is printed on stdout and written into the
// file's section comment, with the source's name and SHA-256.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mtcp-go/mtcp/harness"
)

// The hosts of every recording (pcaps/record.sh).
var (
	serverIP  = net.IPv4(198, 18, 1, 2).To4()
	clientIP  = net.IPv4(198, 18, 1, 1).To4()
	serverMAC = net.HardwareAddr{0x02, 0x00, 0xc6, 0x12, 0x01, 0x02}
	clientMAC = net.HardwareAddr{0x02, 0x00, 0xc6, 0x12, 0x01, 0x01}

	// off-link.pcapng: the client's new address and the server's gateway.
	offLinkClientIP = net.IPv4(198, 19, 77, 1).To4()
	gatewayIP       = net.IPv4(198, 18, 1, 254).To4()

	loopbackIP = net.IPv4(127, 0, 0, 1).To4()
	zeroMAC    = net.HardwareAddr{0, 0, 0, 0, 0, 0}
)

const (
	ethLen         = 14
	dupDelay       = time.Microsecond // duplicates.pcapng: the copy's delay
	clockStep      = 2 * time.Second  // time-backwards.pcapng: how far the clock steps back
	snapLen        = 14 + 20 + 20 + 10
	tsoMaxSegments = 40
	tsoMaxIPLen    = 65535
)

// frame is one record of a capture.
type frame struct {
	num  int // 1-based number in the source recording
	ci   gopacket.CaptureInfo
	data []byte
}

// capture is one source recording.
type capture struct {
	name    string
	sha256  string
	section pcapgo.NgSectionInfo
	intf    pcapgo.NgInterface
	frames  []frame
}

// output is one derived file.
type output struct {
	frames   []frame
	what     string // what was changed, for the section comment and stdout
	snapLen  uint32 // 0: the source's
	intfName string // "": the source's
}

type derivation struct {
	name   string // the derived file
	source string // the recording it is derived from
	derive func(*capture) (output, error)
}

var derivations = []derivation{
	{"gap.pcapng", "linux-http-large.pcapng", deriveGap},
	{"duplicates.pcapng", "linux-http-small.pcapng", deriveDuplicates},
	{"time-backwards.pcapng", "linux-echo.pcapng", deriveTimeBackwards},
	{"cut-end.pcapng", "linux-http-large.pcapng", deriveCutEnd},
	{"midstream.pcapng", "linux-http-large.pcapng", deriveMidstream},
	{"loopback.pcapng", "linux-http-small.pcapng", deriveLoopback},
	{"tso.pcapng", "linux-http-large.pcapng", deriveTSO},
	{"off-link.pcapng", "linux-http-small.pcapng", deriveOffLink},
	{"snap-syn-options.pcapng", "linux-http-modern.pcapng", deriveSnap},
	// Not comparable in the server's place (mtcp-replay exits 3), and every capture of pcaps/
	// must compare something: it goes with the replay's own test data, a path relative to -out.
	{"../../harness/replay/testdata/one-sided.pcapng", "linux-http-small.pcapng", deriveOneSided},
}

func main() {
	in := flag.String("in", "pcaps", "the folder of the recordings linux-*.pcapng")
	out := flag.String("out", "pcaps/derived", "the folder the derived captures are written to")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: go run ./pcaps/derive [-in pcaps] [-out pcaps/derived]")
		os.Exit(2)
	}
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "derive:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	for _, d := range derivations {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(out, d.name)), 0o755); err != nil {
			return err
		}
	}
	sources := map[string]*capture{}
	for _, d := range derivations {
		src, ok := sources[d.source]
		if !ok {
			var err error
			if src, err = load(filepath.Join(in, d.source)); err != nil {
				return err
			}
			sources[d.source] = src
		}
		o, err := d.derive(src)
		if err != nil {
			return fmt.Errorf("%s from %s: %w", d.name, d.source, err)
		}
		if err := write(filepath.Join(out, d.name), src, o); err != nil {
			return fmt.Errorf("%s: %w", d.name, err)
		}
		fmt.Printf("%s: %d frames, from %s (%d frames): %s\n", d.name, len(o.frames), d.source, len(src.frames), o.what)
	}
	return nil
}

// load reads a recording: pcapng, one Ethernet interface.
func load(path string) (*capture, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sum := sha256.Sum256(raw)
	c := &capture{name: filepath.Base(path), sha256: hex.EncodeToString(sum[:]), section: r.SectionInfo()}
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: frame %d: %w", path, len(c.frames)+1, err)
		}
		if ci.InterfaceIndex != 0 {
			return nil, fmt.Errorf("%s: frame %d on interface %d, want one interface", path, len(c.frames)+1, ci.InterfaceIndex)
		}
		c.frames = append(c.frames, frame{num: len(c.frames) + 1, ci: ci, data: data})
	}
	if r.NInterfaces() != 1 || r.LinkType() != layers.LinkTypeEthernet {
		return nil, fmt.Errorf("%s: want one Ethernet interface, got %d of link type %v", path, r.NInterfaces(), r.LinkType())
	}
	if c.intf, err = r.Interface(0); err != nil {
		return nil, err
	}
	if len(c.frames) == 0 {
		return nil, fmt.Errorf("%s: no frames", path)
	}
	return c, nil
}

// write writes a derived file: one section, one interface, the frames; every option fixed or
// taken from the source, so that the bytes depend on the source only.
func write(path string, src *capture, o output) error {
	intf := pcapgo.NgInterface{
		Name:                src.intf.Name,
		OS:                  src.intf.OS,
		LinkType:            layers.LinkTypeEthernet,
		SnapLength:          src.intf.SnapLength,
		TimestampResolution: 9,
	}
	if o.intfName != "" {
		intf.Name = o.intfName
	}
	if o.snapLen != 0 {
		intf.SnapLength = o.snapLen
	}
	section := pcapgo.NgSectionInfo{
		Hardware:    src.section.Hardware,
		OS:          src.section.OS,
		Application: "mtcp pcaps/derive",
		Comment: fmt.Sprintf("Derived by pcaps/derive (go run ./pcaps/derive) from %s (SHA-256 %s, %d frames): %s",
			src.name, src.sha256, len(src.frames), o.what),
	}
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, intf, pcapgo.NgWriterOptions{SectionInfo: section})
	if err != nil {
		return err
	}
	for _, f := range o.frames {
		ci := f.ci
		ci.InterfaceIndex = 0
		ci.AncillaryData = nil
		if err := w.WritePacket(ci, f.data); err != nil {
			return fmt.Errorf("frame %d: %w", f.num, err)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// ---------------------------------------------------------------- decoding

// segment is what derive needs of a TCP/IPv4 frame.
type segment struct {
	ipOff, tcpOff, payOff, end int // offsets in the frame: IPv4 header, TCP header, payload, end of the datagram
	src, dst                   net.IP
	sport, dport               uint16
	seq, ack                   uint32
	flags                      uint8 // FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10
	window                     uint16
	payLen                     int
}

const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagPSH = 0x08
	flagACK = 0x10
)

func (s segment) fromServer() bool { return s.src.Equal(serverIP) }
func (s segment) fromClient() bool { return s.src.Equal(clientIP) }

// tcpSegment decodes a frame as Ethernet, IPv4 (no VLAN tag), TCP.
func tcpSegment(data []byte) (segment, bool) {
	p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.DecodeOptions{NoCopy: true})
	eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if eth == nil || eth.EthernetType != layers.EthernetTypeIPv4 || ip == nil || tcp == nil || p.ErrorLayer() != nil {
		return segment{}, false
	}
	s := segment{
		ipOff:  ethLen,
		tcpOff: ethLen + int(ip.IHL)*4,
		end:    ethLen + int(ip.Length),
		src:    ip.SrcIP.To4(),
		dst:    ip.DstIP.To4(),
		sport:  uint16(tcp.SrcPort),
		dport:  uint16(tcp.DstPort),
		seq:    tcp.Seq,
		ack:    tcp.Ack,
		flags:  data[ethLen+int(ip.IHL)*4+13] & 0x3f,
		window: tcp.Window,
		payLen: len(tcp.Payload),
	}
	s.payOff = s.tcpOff + int(tcp.DataOffset)*4
	if s.payOff+s.payLen != s.end || s.end > len(data) {
		return segment{}, false
	}
	return s, true
}

// isARP says whether a frame is an ARP frame.
func isARP(data []byte) bool {
	return len(data) >= ethLen && binary.BigEndian.Uint16(data[12:14]) == uint16(layers.EthernetTypeARP)
}

// isIPv4 says whether a frame is an IPv4 frame (no VLAN tag).
func isIPv4(data []byte) bool {
	return len(data) >= ethLen+20 && binary.BigEndian.Uint16(data[12:14]) == uint16(layers.EthernetTypeIPv4)
}

// serverISN is the server's initial sequence number, from its SYN-ACK.
func serverISN(c *capture) (uint32, error) {
	for _, f := range c.frames {
		if s, ok := tcpSegment(f.data); ok && s.fromServer() && s.flags&flagSYN != 0 {
			return s.seq, nil
		}
	}
	return 0, errors.New("no SYN-ACK from the server")
}

// serverData lists the indexes (in c.frames) of the server's segments that carry data.
func serverData(c *capture) ([]int, []segment) {
	var idx []int
	var segs []segment
	for i, f := range c.frames {
		if s, ok := tcpSegment(f.data); ok && s.fromServer() && s.payLen > 0 {
			idx = append(idx, i)
			segs = append(segs, s)
		}
	}
	return idx, segs
}

// retransmitted marks the server data segments that overlap another one (the first sending and
// its retransmissions alike), in sequence space relative to isn.
func retransmitted(segs []segment, isn uint32) []bool {
	marks := make([]bool, len(segs))
	for i := range segs {
		a0, a1 := segs[i].seq-isn, segs[i].seq-isn+uint32(segs[i].payLen)
		for j := range segs {
			b0, b1 := segs[j].seq-isn, segs[j].seq-isn+uint32(segs[j].payLen)
			if i != j && a0 < b1 && b0 < a1 {
				marks[i] = true
				break
			}
		}
	}
	return marks
}

// fixChecksums recomputes the IPv4 header checksum of an Ethernet frame and its TCP or UDP
// checksum, with the bench's oracle. An IPv4 total length of 0 (a TSO super-segment) stands for
// the rest of the frame.
func fixChecksums(f []byte) {
	ip := f[ethLen:]
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	if total == 0 {
		total = len(ip)
	}
	harness.SetIPv4Checksum(ip[:ihl])
	switch layers.IPProtocol(ip[9]) {
	case layers.IPProtocolTCP:
		harness.SetTCPChecksum(ip, ip[ihl:total])
	case layers.IPProtocolUDP:
		harness.SetUDPChecksum(ip, ip[ihl:total])
	} // ICMP's checksum does not cover the addresses
}

func clone(f frame) frame {
	f.data = append([]byte(nil), f.data...)
	return f
}

func nums(fs []frame) string {
	var b bytes.Buffer
	for i, f := range fs {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprint(&b, f.num)
	}
	return b.String()
}

// ---------------------------------------------------------------- the derivations

// deriveGap removes one full-size server data segment in the middle of the transfer, one that
// was sent once only and that another server data segment follows at once (so Wireshark marks
// the next one "previous segment not captured" and the client's ACK "ACKed unseen segment").
func deriveGap(c *capture) (output, error) {
	isn, err := serverISN(c)
	if err != nil {
		return output{}, err
	}
	idx, segs := serverData(c)
	if len(segs) < 10 {
		return output{}, fmt.Errorf("%d server data segments, want a bulk transfer", len(segs))
	}
	full := 0
	for _, s := range segs {
		full = max(full, s.payLen)
	}
	retx := retransmitted(segs, isn)
	var cands []int // indexes in segs
	for k, s := range segs {
		next := idx[k] + 1
		if s.payLen == full && !retx[k] && s.flags == flagACK && k+1 < len(segs) && idx[k+1] == next {
			cands = append(cands, k)
		}
	}
	if len(cands) == 0 {
		return output{}, errors.New("no full-size server segment that was sent once inside a burst")
	}
	k := cands[len(cands)/2]
	gone := c.frames[idx[k]]
	var out []frame
	for i, f := range c.frames {
		if i != idx[k] {
			out = append(out, f)
		}
	}
	rel := segs[k].seq - isn
	return output{frames: out, what: fmt.Sprintf(
		"frame %d removed: the server's data segment Seq=%d..%d (relative; %d bytes, full size, sent once, raw Seq=%d), "+
			"so frame %d (now %d) follows a segment the capture missed and the data is simply missing",
		gone.num, rel, rel+uint32(segs[k].payLen), segs[k].payLen, segs[k].seq, gone.num+1, gone.num)}, nil
}

// deriveDuplicates writes every frame twice, the copy byte-identical and 1 µs after it.
func deriveDuplicates(c *capture) (output, error) {
	var out []frame
	for i, f := range c.frames {
		dup := clone(f)
		dup.ci.Timestamp = f.ci.Timestamp.Add(dupDelay)
		if i+1 < len(c.frames) && !dup.ci.Timestamp.Before(c.frames[i+1].ci.Timestamp) {
			return output{}, fmt.Errorf("frames %d and %d are less than %v apart", f.num, f.num+1, dupDelay)
		}
		out = append(out, f, dup)
	}
	return output{frames: out, what: fmt.Sprintf(
		"every frame written twice (frame N of the recording is frames 2N-1 and 2N), the copy byte-identical, its timestamp %v later", dupDelay)}, nil
}

// deriveTimeBackwards steps the clock back 2 s once: from the client's second data segment on,
// every timestamp is 2 s earlier; the frame order is unchanged.
func deriveTimeBackwards(c *capture) (output, error) {
	step := -1
	seen := 0
	for i, f := range c.frames {
		if s, ok := tcpSegment(f.data); ok && s.fromClient() && s.payLen > 0 {
			if seen++; seen == 2 {
				step = i
				break
			}
		}
	}
	if step < 0 {
		return output{}, errors.New("fewer than two client data segments")
	}
	var out []frame
	for i, f := range c.frames {
		if i >= step {
			f.ci.Timestamp = f.ci.Timestamp.Add(-clockStep)
		}
		out = append(out, f)
	}
	last, first := c.frames[len(c.frames)-1], c.frames[step]
	return output{frames: out, what: fmt.Sprintf(
		"the clock steps back %v at frame %d (the client's second data segment): frames %d-%d are %v earlier than recorded "+
			"(frame %d is %v before frame %d); order unchanged",
		clockStep, first.num, first.num, last.num, clockStep, first.num,
		c.frames[step-1].ci.Timestamp.Sub(out[step].ci.Timestamp), first.num-1)}, nil
}

// deriveCutEnd ends the capture at the first client frame after the server's last data
// segment: that ACK and everything after it (the server's FIN, the client's FIN) are gone.
func deriveCutEnd(c *capture) (output, error) {
	idx, segs := serverData(c)
	if len(segs) == 0 {
		return output{}, errors.New("no server data")
	}
	last := idx[len(idx)-1]
	cut := -1
	for i := last + 1; i < len(c.frames); i++ {
		if s, ok := tcpSegment(c.frames[i].data); ok && s.fromClient() {
			cut = i
			break
		}
	}
	if cut < 0 {
		return output{}, errors.New("no client frame after the server's last data segment")
	}
	isn, err := serverISN(c)
	if err != nil {
		return output{}, err
	}
	// The highest ACK the client sent before the cut: what the kept frames leave unacknowledged.
	var acked uint32
	for _, f := range c.frames[:cut] {
		if s, ok := tcpSegment(f.data); ok && s.fromClient() && s.flags&flagACK != 0 {
			acked = max(acked, s.ack-isn)
		}
	}
	end := segs[len(segs)-1].seq - isn + uint32(segs[len(segs)-1].payLen)
	return output{frames: c.frames[:cut], what: fmt.Sprintf(
		"the capture ends after frame %d, the server's last data segment: frames %d-%d (%s) removed; "+
			"the client's last ACK in the file acknowledges Seq=%d of the server's %d bytes (relative), %d bytes stay unacknowledged",
		c.frames[last].num, c.frames[cut].num, c.frames[len(c.frames)-1].num, describe(c.frames[cut:]), acked, end-1, end-acked)}, nil
}

// describe names each frame briefly: "839 client ACK, 840 server FIN".
func describe(fs []frame) string {
	var b bytes.Buffer
	for i, f := range fs {
		if i > 0 {
			b.WriteString(", ")
		}
		s, ok := tcpSegment(f.data)
		if !ok {
			fmt.Fprintf(&b, "%d non-TCP", f.num)
			continue
		}
		who := "server"
		if s.fromClient() {
			who = "client"
		}
		var fl []string
		for _, x := range []struct {
			bit  uint8
			name string
		}{{flagSYN, "SYN"}, {flagFIN, "FIN"}, {flagRST, "RST"}, {flagPSH, "PSH"}, {flagACK, "ACK"}} {
			if s.flags&x.bit != 0 {
				fl = append(fl, x.name)
			}
		}
		fmt.Fprintf(&b, "%d %s %s", f.num, who, joinComma(fl))
		if s.payLen > 0 {
			fmt.Fprintf(&b, " Len=%d", s.payLen)
		}
	}
	return b.String()
}

func joinComma(ss []string) string {
	var b bytes.Buffer
	for i, s := range ss {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(s)
	}
	return b.String()
}

// deriveMidstream starts the capture mid-connection: at the first pure ACK of the client after
// the server's data segment that carries the middle byte of its data (the middle of the
// transfer in time; the ACKs lag behind the data, so it acknowledges less than half).
func deriveMidstream(c *capture) (output, error) {
	isn, err := serverISN(c)
	if err != nil {
		return output{}, err
	}
	idx, segs := serverData(c)
	total := 0
	for _, s := range segs {
		total += s.payLen
	}
	half := uint32(1 + total/2) // relative sequence number of the middle byte
	mid := -1
	for k, s := range segs {
		if rel := s.seq - isn; rel <= half && half < rel+uint32(s.payLen) {
			mid = k
			break
		}
	}
	if mid < 0 {
		return output{}, errors.New("no server segment carries the middle byte")
	}
	start := -1
	var ack uint32
	for i := idx[mid] + 1; i < len(c.frames); i++ {
		s, ok := tcpSegment(c.frames[i].data)
		if ok && s.fromClient() && s.flags == flagACK && s.payLen == 0 {
			start, ack = i, s.ack-isn
			break
		}
	}
	if start < 0 {
		return output{}, errors.New("no client ACK after the middle of the server's data")
	}
	return output{frames: c.frames[start:], what: fmt.Sprintf(
		"frames 1-%d removed (ARP, handshake, request and the first part of the download): the capture starts at frame %d, "+
			"the client's first pure ACK after frame %d (the server segment that carries the middle byte of its %d, relative Seq=%d, in Seq=%d..%d); "+
			"it acknowledges Seq=%d (relative), the server has sent up to Seq=%d",
		c.frames[start].num-1, c.frames[start].num, c.frames[idx[mid]].num, total, half,
		segs[mid].seq-isn, segs[mid].seq-isn+uint32(segs[mid].payLen), ack, sentBefore(c, start, isn))}, nil
}

// sentBefore is the highest relative sequence number the server sent before frame index i.
func sentBefore(c *capture, i int, isn uint32) uint32 {
	var hi uint32
	for _, f := range c.frames[:i] {
		if s, ok := tcpSegment(f.data); ok && s.fromServer() && s.flags&flagSYN == 0 {
			hi = max(hi, s.seq-isn+uint32(s.payLen))
		}
	}
	return hi
}

// deriveLoopback rewrites the capture as one taken on Linux's loopback: both hosts 127.0.0.1,
// both MACs zero, no ARP, checksums recomputed; the ports tell the ends apart.
func deriveLoopback(c *capture) (output, error) {
	var out, dropped []frame
	for _, f := range c.frames {
		switch {
		case isARP(f.data):
			dropped = append(dropped, f)
		case isIPv4(f.data):
			g := clone(f)
			copy(g.data[0:6], zeroMAC)
			copy(g.data[6:12], zeroMAC)
			copy(g.data[ethLen+12:ethLen+16], loopbackIP)
			copy(g.data[ethLen+16:ethLen+20], loopbackIP)
			fixChecksums(g.data)
			out = append(out, g)
		default:
			return output{}, fmt.Errorf("frame %d is neither ARP nor IPv4", f.num)
		}
	}
	return output{frames: out, intfName: "lo", what: fmt.Sprintf(
		"as a Linux loopback capture (interface lo): ARP frames %s removed; in every other frame both MACs 00:00:00:00:00:00, "+
			"both addresses 127.0.0.1, IPv4 and TCP checksums recomputed; ports unchanged", nums(dropped))}, nil
}

// deriveTSO merges runs of the server's data segments into super-segments, as a capture on a
// host with TCP segmentation offload shows them: at most 40 segments and 65535 bytes of IP
// datagram each, only consecutive frames whose sequence numbers follow on, same ACK, window
// and options, none retransmitted; a PSH ends a run. The super-segment keeps the first
// segment's headers and timestamp, takes the last one's PSH, carries IPv4 total length 0, and
// correct IPv4 and TCP checksums; its frame length is its real length.
func deriveTSO(c *capture) (output, error) {
	isn, err := serverISN(c)
	if err != nil {
		return output{}, err
	}
	idx, segs := serverData(c)
	retx := retransmitted(segs, isn)
	mergeable := map[int]segment{}
	for k, i := range idx {
		if !retx[k] && segs[k].flags&^flagPSH == flagACK {
			mergeable[i] = segs[k]
		}
	}
	var out []frame
	merged, supers, largest := 0, 0, 0
	for i := 0; i < len(c.frames); {
		first, ok := mergeable[i]
		if !ok {
			out = append(out, c.frames[i])
			i++
			continue
		}
		opts := c.frames[i].data[first.tcpOff+20 : first.payOff]
		group := []int{i}
		next := first.seq + uint32(first.payLen)
		ipLen := first.end - first.ipOff
		flags := first.flags
		for j := i + 1; j < len(c.frames) && flags&flagPSH == 0 && len(group) < tsoMaxSegments; j++ {
			s, ok := mergeable[j]
			if !ok || s.seq != next || s.ack != first.ack || s.window != first.window ||
				!bytes.Equal(c.frames[j].data[s.tcpOff+20:s.payOff], opts) || ipLen+s.payLen > tsoMaxIPLen {
				break
			}
			group = append(group, j)
			next += uint32(s.payLen)
			ipLen += s.payLen
			flags |= s.flags
		}
		if len(group) == 1 {
			out = append(out, c.frames[i])
			i++
			continue
		}
		head := c.frames[i]
		data := append([]byte(nil), head.data[:first.payOff]...)
		for _, j := range group {
			s := mergeable[j]
			data = append(data, c.frames[j].data[s.payOff:s.end]...)
		}
		binary.BigEndian.PutUint16(data[first.ipOff+2:], 0) // IPv4 total length 0: the frame says how long it is
		data[first.tcpOff+13] = data[first.tcpOff+13]&^0x3f | flags
		fixChecksums(data)
		head.data = data
		head.ci.CaptureLength = len(data)
		head.ci.Length = len(data)
		out = append(out, head)
		merged += len(group)
		supers++
		largest = max(largest, len(group))
		i = group[len(group)-1] + 1
	}
	return output{frames: out, what: fmt.Sprintf(
		"as a capture on a host with TSO: %d of the server's %d data segments merged into %d super-segments "+
			"(2 to %d segments each, at most %d bytes of IPv4 datagram; only consecutive frames with consecutive sequence numbers, "+
			"same ACK, window and options, none retransmitted, a PSH ends one), each with the first segment's headers, IP ID and timestamp, "+
			"IPv4 total length 0, recomputed checksums and its real length as frame length; every other frame unchanged",
		merged, len(segs), supers, largest, tsoMaxIPLen)}, nil
}

// deriveOffLink puts the client behind a router: 198.18.1.1 becomes 198.19.77.1 in every
// IPv4 frame (the client's MAC is now the router's), and the ARP exchange becomes the server's
// request for its gateway 198.18.1.254, answered by the router.
func deriveOffLink(c *capture) (output, error) {
	var out []frame
	var arps []int
	for _, f := range c.frames {
		g := clone(f)
		switch {
		case isARP(f.data):
			arps = append(arps, f.num)
			var err error
			switch len(arps) {
			case 1: // the client's request for the server: now the server's request for its gateway
				g.data, err = arpFrame(layers.ARPRequest, serverMAC, serverIP, net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, gatewayIP)
			case 2: // the server's reply: now the router's reply
				g.data, err = arpFrame(layers.ARPReply, clientMAC, gatewayIP, serverMAC, serverIP)
			default:
				return output{}, fmt.Errorf("frame %d: more than two ARP frames", f.num)
			}
			if err != nil {
				return output{}, err
			}
			g.ci.CaptureLength, g.ci.Length = len(g.data), len(g.data)
		case isIPv4(f.data):
			ip := g.data[ethLen:]
			for _, off := range []int{12, 16} {
				if net.IP(ip[off : off+4]).Equal(clientIP) {
					copy(ip[off:off+4], offLinkClientIP)
				}
			}
			fixChecksums(g.data)
		default:
			return output{}, fmt.Errorf("frame %d is neither ARP nor IPv4", f.num)
		}
		out = append(out, g)
	}
	if len(arps) != 2 {
		return output{}, fmt.Errorf("want an ARP request and its reply, got %d ARP frames", len(arps))
	}
	return output{frames: out, what: fmt.Sprintf(
		"the client is off-link behind a router: 198.18.1.1 rewritten to 198.19.77.1 in every IPv4 frame (IPv4 and TCP checksums recomputed), "+
			"MACs kept (02:00:c6:12:01:01 is now the router's); ARP frames %d and %d (the client's request for 198.18.1.2 and the reply) "+
			"replaced, same place and timestamps, by the server's broadcast request for its gateway 198.18.1.254 and the router's reply "+
			"198.18.1.254 is-at 02:00:c6:12:01:01",
		arps[0], arps[1])}, nil
}

// arpFrame builds a 42-byte Ethernet ARP frame (no padding, as captured on a veth).
func arpFrame(op uint16, srcMAC net.HardwareAddr, srcIP net.IP, dstMAC net.HardwareAddr, dstIP net.IP) ([]byte, error) {
	target := dstMAC
	if op == layers.ARPRequest {
		target = zeroMAC
	}
	eth := &layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeARP}
	arp := &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: op, SourceHwAddress: srcMAC, SourceProtAddress: srcIP, DstHwAddress: target, DstProtAddress: dstIP,
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{}, eth, arp); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// deriveSnap cuts every frame at 64 bytes, inside the TCP options of the SYN and SYN-ACK; each
// record keeps its original length.
func deriveSnap(c *capture) (output, error) {
	var out []frame
	cut := 0
	synCut := 0
	for _, f := range c.frames {
		s, ok := tcpSegment(f.data)
		if ok && s.flags&flagSYN != 0 {
			if !(s.tcpOff+20 < snapLen && snapLen < s.payOff) {
				return output{}, fmt.Errorf("frame %d: the SYN's options (bytes %d-%d) do not hold byte %d", f.num, s.tcpOff+20, s.payOff, snapLen)
			}
			synCut++
		}
		if len(f.data) > snapLen {
			f.data = f.data[:snapLen:snapLen]
			f.ci.CaptureLength = snapLen
			cut++
		}
		out = append(out, f)
	}
	if synCut != 2 {
		return output{}, fmt.Errorf("%d SYNs, want the SYN and the SYN-ACK", synCut)
	}
	return output{frames: out, snapLen: snapLen, what: fmt.Sprintf(
		"snap length %d (14+20+20+10: the SYN's and SYN-ACK's options are cut after MSS, SACK-permitted and 4 bytes of the timestamps option): "+
			"%d of %d frames cut to %d captured bytes, each with its original length; the interface's snaplen is %d",
		snapLen, cut, len(c.frames), snapLen, snapLen)}, nil
}

// deriveOneSided keeps only the frames the client sent.
func deriveOneSided(c *capture) (output, error) {
	var out, dropped []frame
	for _, f := range c.frames {
		if bytes.Equal(f.data[6:12], clientMAC) {
			out = append(out, f)
		} else {
			dropped = append(dropped, f)
		}
	}
	return output{frames: out, what: fmt.Sprintf(
		"only the frames the client (198.18.1.1, 02:00:c6:12:01:01) sent, frames %s; the server's frames %s removed",
		nums(out), nums(dropped))}, nil
}
