package replay_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// heldCapture writes a download in which the client's ACKs come before the server's data in
// the capture, so that the replay must hold them (the stack cannot have sent what they
// acknowledge yet), and the client closes its window and opens it again while they are held:
//
//	 0 ms  client SYN (window scale 7), 1 ms server SYN-ACK, 21 ms client ACK (RTT 20 ms)
//	22 ms  client request, 100 bytes
//	29 ms  client ACK of all 40 segments of the answer, win 0          (held)
//	30 ms  server: the 40 segments, 58400 bytes
//	35 ms  client ACK, the same ack, win 502: its window opens again  (held)
//	36 ms  client FIN, the same ack, win 502                           (held)
//	37 ms  server FIN
//	57 ms  client ACK of the server's FIN, win 502                     (held)
//
// The stack sends ten segments (its initial window) when the window opens at 35 ms; the
// held ACKs are given back as far as it has sent one recorded round trip later, after the
// client's FIN: they must advertise the window of the client's newest segment (502, scaled
// by 2^7), not the win 0 they were recorded with, or the stack stalls with 48 KB unsent.
// With ts, both ends use timestamps too (TSval in milliseconds from 100 and 9000).
func heldCapture(t *testing.T, path string, ts bool) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	cMAC, sMAC := []byte{2, 0, 198, 18, 0, 1}, []byte{2, 0, 198, 18, 0, 2}
	cIP, sIP := []byte{198, 18, 0, 1}, []byte{198, 18, 0, 2}
	const cISN, sISN, segs, mss = 1000, 5000, 40, 1460
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var hostTS uint32 // the server's newest TSval, which the client echoes
	buf := gopacket.NewSerializeBuffer()
	write := func(ms float64, fromClient bool, flags string, seq, ack uint32, win uint16, data []byte) {
		at := start.Add(time.Duration(ms * float64(time.Millisecond)))
		eth := &layers.Ethernet{SrcMAC: sMAC, DstMAC: cMAC, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: sIP, DstIP: cIP}
		tcp := &layers.TCP{SrcPort: 80, DstPort: 40000, Seq: seq, Ack: ack, Window: win,
			SYN: strings.Contains(flags, "S"), FIN: strings.Contains(flags, "F"), ACK: strings.Contains(flags, "."), PSH: len(data) > 0}
		if fromClient {
			eth.SrcMAC, eth.DstMAC = cMAC, sMAC
			ip.SrcIP, ip.DstIP = cIP, sIP
			tcp.SrcPort, tcp.DstPort = 40000, 80
		}
		if tcp.SYN {
			tcp.Options = append(tcp.Options,
				layers.TCPOption{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{mss >> 8, mss & 0xff}},
				layers.TCPOption{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2})
		}
		if ts {
			val := uint32(9000 + ms)
			if fromClient {
				val = uint32(100 + ms)
			}
			o := make([]byte, 8)
			binary.BigEndian.PutUint32(o, val)
			if fromClient {
				binary.BigEndian.PutUint32(o[4:], hostTS)
			} else {
				hostTS = val
				if tcp.ACK {
					binary.BigEndian.PutUint32(o[4:], uint32(100+ms))
				}
			}
			tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKindNop},
				layers.TCPOption{OptionType: layers.TCPOptionKindNop},
				layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: o})
		}
		if tcp.SYN {
			tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKindNop},
				layers.TCPOption{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}})
		}
		_ = tcp.SetNetworkLayerForChecksum(ip)
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(data)); err != nil {
			t.Fatal(err)
		}
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	end := uint32(sISN + 1 + segs*mss) // past the answer: the server's FIN
	write(0, true, "S", cISN, 0, 64240, nil)
	write(1, false, "S.", sISN, cISN+1, 65160, nil)
	write(21, true, ".", cISN+1, sISN+1, 502, nil)
	write(22, true, ".", cISN+1, sISN+1, 502, bytes.Repeat([]byte("r"), 100))
	write(29, true, ".", cISN+101, end, 0, nil)
	for i := range segs {
		data := make([]byte, mss)
		for j := range data {
			data[j] = byte(i + j)
		}
		write(30+float64(i)/1000, false, ".", sISN+1+uint32(i*mss), cISN+101, 509, data)
	}
	write(35, true, ".", cISN+101, end, 502, nil)
	write(36, true, "F.", cISN+101, end, 502, nil)
	write(37, false, "F.", end, cISN+102, 509, nil)
	write(57, true, ".", cISN+102, end+1, 502, nil)
}

// injectedSegment is a TCP segment the replay gave the stack, read from its output, with the
// comments the output gives it.
type injectedSegment struct {
	ack, tsVal uint32
	win        uint16
	note       string
}

// injectedSegments reads the TCP segments a replay injected from its output.
func injectedSegments(t *testing.T, path string) []injectedSegment {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	var segs []injectedSegment
	for {
		data, _, opts, err := r.ReadPacketDataWithOptions()
		if err == io.EOF {
			return segs
		}
		if err != nil {
			t.Fatal(err)
		}
		if opts.Flags == nil || opts.Flags.Direction != pcapgo.NgEpbFlagDirectionInbound {
			continue
		}
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil {
			continue
		}
		s := injectedSegment{ack: tcp.Ack, win: tcp.Window, note: strings.Join(opts.Comments, "; ")}
		for _, o := range tcp.Options {
			if o.OptionType == layers.TCPOptionKindTimestamps && len(o.OptionData) == 8 {
				s.tsVal = binary.BigEndian.Uint32(o.OptionData)
			}
		}
		segs = append(segs, s)
	}
}

// TestHeldACKsAdvertiseThePeersNewestWindow: a held ACK given back advertises the peer's
// window as its newest segment (here its window update and its FIN) advertised it, not the
// zero window it was recorded with, and several given back at once are one ACK.
func TestHeldACKsAdvertiseThePeersNewestWindow(t *testing.T) {
	for _, c := range []struct {
		name string
		ts   bool
	}{{"sack-wscale", false}, {"sack-wscale-ts", true}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			capture, out := filepath.Join(dir, "held.pcap"), filepath.Join(dir, "out.pcapng")
			heldCapture(t, capture, c.ts)
			text, code := run("-q", "-o", out, "--compare", "options", capture)
			if code != 0 || lastLine(text) != "equivalent" {
				t.Fatalf("want exit 0 and 'equivalent'; got exit %d:\n%s", code, text)
			}
			injected := injectedSegments(t, out)
			var got []injectedSegment
			var clientTS uint32
			held := false
			for _, s := range injected {
				switch {
				case strings.Contains(s.note, "replayed"):
					got = append(got, s)
				case strings.HasPrefix(s.note, "capture frame 5;"):
					// By construction, the held ACK itself went in with the win 0 it was
					// recorded with: what is given back later is not what was held.
					if !strings.Contains(s.note, "ack held at what the stack has sent") || s.win != 0 {
						t.Errorf("capture frame 5 went in as %+v, want held, with win 0", s)
					}
					held = true
					fallthrough
				default:
					clientTS = max(clientTS, s.tsVal)
				}
			}
			if !held || len(got) == 0 {
				t.Fatalf("capture frame 5 injected: %v; held ACKs given back: %d\n%s", held, len(got), text)
			}
			// The held ACKs were recorded with win 0 (frame 5), then the client opened its
			// window (frame 46: 502, and 502 in its FIN, frame 47): every one given back, all
			// after the window update, advertises 502, which the stack scales by 2^7.
			for i, a := range got {
				if a.win != 502 {
					t.Errorf("held ACK %d given back (ack %d, %q) advertises win %d: want the client's newest, 502, not the win 0 it was held with", i, a.ack, a.note, a.win)
				}
				if c.ts && a.tsVal < clientTS && i == len(got)-1 {
					t.Errorf("the last held ACK given back has TSval %d, below the client's newest %d", a.tsVal, clientTS)
				}
			}
			// The ACKs of frames 5, 46 and 47 (the same ack) and, as far as the stack had sent,
			// frame 49's are given back at once, when the stack sends the last of the answer: one
			// ACK, of the newest ack, for all four.
			collapsed := 0
			for _, a := range got {
				if strings.Contains(a.note, "capture frames 5, 46, 47, 49, their acks replayed as one") {
					collapsed++
				}
			}
			if collapsed != 1 {
				t.Errorf("%d ACKs given back for frames 5, 46, 47 and 49 at once, want 1: %+v", collapsed, got)
			}
			if !strings.Contains(text, "peer ACKs replayed once the stack had sent what they acknowledge") {
				t.Errorf("the report does not count the held ACKs given back:\n%s", text)
			}
		})
	}
}
