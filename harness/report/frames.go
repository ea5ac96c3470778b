package report

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mtcp-go/mtcp/harness/replay/capture"
)

// frame is one frame of a capture, as far as the report needs it: the bytes are decoded,
// labelled and judged as they are read, then dropped, so that memory does not grow with the
// capture (only the frames drawn are kept, see picker).
type frame struct {
	num      int // 1-based, in its capture
	at       time.Time
	toRight  bool // from the left lifeline to the right one: to the stack, or to the recorded host
	comments []string
	lab      label
	lb       *labeler // renders lab, once its capture has been read
	verdict  verdict
	src      netip.Addr // the sender's IPv4 address (ARP: its protocol address), if any
	// tag is, for a frame of the replay's output injected from the capture, the capture record
	// it was injected from ("capture frame N"); 0 otherwise.
	tag int
}

// ownReader reads a pcapng capture written by mtcp (a bench's, the script runner's, the
// replay's output): one Ethernet interface, direction flags (inbound: to the stack) and packet
// comments. Frames are labelled as they are read.
type ownReader struct {
	f       *os.File
	r       *pcapgo.NgReader
	n       int
	lb      *labeler
	comment string
}

func openOwn(path string) (*ownReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := pcapgo.NewNgReader(bufio.NewReader(f), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &ownReader{f: f, r: r, lb: newLabeler(), comment: r.SectionInfo().Comment}, nil
}

func (o *ownReader) Close() error { return o.f.Close() }

// next returns the next frame, or io.EOF.
func (o *ownReader) next() (*frame, error) {
	data, ci, opts, err := o.r.ReadPacketDataWithOptions()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("frame %d: %w", o.n+1, err)
	}
	o.n++
	inbound := opts.Flags != nil && opts.Flags.Direction == pcapgo.NgEpbFlagDirectionInbound
	p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.DecodeOptions{NoCopy: true})
	fr := &frame{num: o.n, at: ci.Timestamp, toRight: inbound, comments: opts.Comments, lab: o.lb.describe(p), lb: o.lb, src: sourceOf(p)}
	fr.verdict = judge(fr.comments, inbound)
	if inbound {
		if what := inspect(data, p); what != "" && fr.verdict.class < damaged {
			fr.verdict.class, fr.verdict.why = damaged, what
		}
	}
	for _, c := range fr.comments {
		if n, ok := captureTag(c); ok {
			fr.tag = n
			break
		}
	}
	return fr, nil
}

// captureTag reads the replay's comment on a frame it injected: "capture frame N" (and
// "capture frame N (payload cut ...)").
func captureTag(c string) (int, bool) {
	var n int
	if _, err := fmt.Sscanf(c, "capture frame %d", &n); err == nil && n > 0 {
		return n, true
	}
	return 0, false
}

// sourceOf is the frame's sender's IPv4 address: IPv4 source, or the ARP sender's.
func sourceOf(p gopacket.Packet) netip.Addr {
	if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		a, _ := netip.AddrFromSlice(ip.SrcIP.To4())
		return a
	}
	if a, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP); ok && len(a.SourceProtAddress) == 4 {
		return netip.AddrFrom4([4]byte(a.SourceProtAddress))
	}
	return netip.Addr{}
}

// destOf is the frame's IPv4 destination, or the address an ARP frame asks for or answers.
func destOf(p gopacket.Packet) netip.Addr {
	if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		a, _ := netip.AddrFromSlice(ip.DstIP.To4())
		return a
	}
	if a, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP); ok && len(a.DstProtAddress) == 4 {
		return netip.AddrFrom4([4]byte(a.DstProtAddress))
	}
	return netip.Addr{}
}

// recordedReader reads the capture a replay replayed (pcap or pcapng, gzipped or not, of any
// link type gopacket decodes) and keeps the frames of the recorded host and to it: a frame
// from host goes from the right lifeline to the left, one to it from left to right. Others
// (between other hosts) are counted in skipped.
type recordedReader struct {
	f       *os.File
	r       *capture.Reader
	lb      *labeler
	host    netip.Addr
	hostMAC net.HardwareAddr
	skipped int
	start   time.Time // the first record's time, of any host: the replay's time zero
	started bool
	// injected are the records the replay injected (its output says so), for a capture
	// whose ends share an address; nil when unknown.
	injected map[int]bool
}

func openRecorded(path string, host netip.Addr, hostMAC net.HardwareAddr, injected map[int]bool) (*recordedReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := capture.Open(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &recordedReader{f: f, r: r, lb: newLabeler(), host: host, hostMAC: hostMAC, injected: injected}, nil
}

func (o *recordedReader) Close() error { return o.f.Close() }

// next returns the next frame of or to the recorded host, or io.EOF.
func (o *recordedReader) next() (*frame, error) {
	for {
		rec, err := o.r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, err
		}
		if !o.started {
			o.start, o.started = rec.Time, true
		}
		p := gopacket.NewPacket(rec.Data, decoderFor(rec.LinkType, rec.Data), gopacket.DecodeOptions{})
		src, dst := sourceOf(p), destOf(p)
		var fromHost, toHost bool
		switch {
		case src.IsValid() && src == dst && o.injected != nil:
			// A loopback capture: both ends have one address (the replay gives them two).
			// The replay's output names the records it injected, to the host; the others
			// are the host's.
			toHost = o.injected[rec.Number]
			fromHost = !toHost
		case o.host.IsValid() && src == o.host && dst != o.host:
			fromHost = true
		case o.host.IsValid() && dst == o.host && src != o.host:
			toHost = true
		case !src.IsValid() && !dst.IsValid() && len(o.hostMAC) == 6: // neither IPv4 nor ARP: by MAC
			if e, ok := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); ok {
				fromHost = e.SrcMAC.String() == o.hostMAC.String()
				toHost = !fromHost && (e.DstMAC.String() == o.hostMAC.String() || isBroadcast(e.DstMAC))
			}
		}
		if !fromHost && !toHost {
			o.skipped++
			continue
		}
		fr := &frame{num: rec.Number, at: rec.Time, toRight: toHost, comments: append([]string(nil), rec.Comments...), lab: o.lb.describe(p), lb: o.lb, src: src}
		return fr, nil
	}
}

func isBroadcast(m net.HardwareAddr) bool {
	return len(m) == 6 && m[0]&m[1]&m[2]&m[3]&m[4]&m[5] == 0xff
}

// decoderFor decodes a record of the given link type: gopacket's decoder for the link type,
// IPv4 for the raw-IP numbers some old files give (12, 14).
func decoderFor(linkType uint16, data []byte) gopacket.Decoder {
	switch linkType {
	case 12, 14, uint16(layers.LinkTypeRaw), uint16(layers.LinkTypeIPv4):
		if len(data) > 0 && data[0]>>4 == 6 {
			return layers.LayerTypeIPv6
		}
		return layers.LayerTypeIPv4
	}
	return layers.LinkType(linkType)
}

// injectedRecords reads a replay's output for the capture records it injected ("capture
// frame N" on a frame to the stack). Only their numbers are kept.
func injectedRecords(path string) (map[int]bool, error) {
	o, err := openOwn(path)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	injected := map[int]bool{}
	for {
		_, _, opts, err := o.r.ReadPacketDataWithOptions()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return injected, nil
			}
			return injected, err
		}
		if opts.Flags == nil || opts.Flags.Direction != pcapgo.NgEpbFlagDirectionInbound {
			continue
		}
		for _, c := range opts.Comments {
			if n, ok := captureTag(c); ok {
				injected[n] = true
			}
		}
	}
}
