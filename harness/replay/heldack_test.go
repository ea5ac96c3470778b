package replay_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mtcp-go/mtcp/internal/pcapngtest"
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
// The held ACK of 29 ms goes in acknowledging nothing yet, with a window that keeps the
// client's right edge (after the 40 segments); the stack sends ten segments (its initial
// window) at 30 ms, and the held ACKs are given back as far as it has sent one recorded round
// trip later, after the client's window update and FIN: they must advertise the window of the
// client's newest segment (502, scaled by 2^7, from its ack on), not the win 0 they were
// recorded with, or the stack stalls with 44 KB unsent. With ts, both ends use timestamps too
// (TSval in milliseconds from 100 and 9000).
//
// With closed, the client's window closes once the server has sent the answer, and stays
// closed for 4 s:
//
//	  30 ms  server: the 40 segments
//	  31 ms  client ACK of all of them, win 0                  (held: the stack sent ten)
//	4031 ms  client ACK, the same ack, win 502
//	4032 ms  client FIN, 4033 ms server FIN, 4053 ms client ACK of it
//
// The client had room for the 40 segments it acknowledged: the held ACK must keep the stack's
// window open up to them (its right edge), not close it at the ten the stack had sent, or the
// stack sends the rest 4 s after the recorded server, past the replay's 3 s horizon.
func heldCapture(t *testing.T, path string, ts, closed bool) {
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
	answer := func() {
		for i := range segs {
			data := make([]byte, mss)
			for j := range data {
				data[j] = byte(i + j)
			}
			write(30+float64(i)/1000, false, ".", sISN+1+uint32(i*mss), cISN+101, 509, data)
		}
	}
	if closed {
		answer()
		write(31, true, ".", cISN+101, end, 0, nil)
		write(4031, true, ".", cISN+101, end, 502, nil)
		write(4032, true, "F.", cISN+101, end, 502, nil)
		write(4033, false, "F.", end, cISN+102, 509, nil)
		write(4053, true, ".", cISN+102, end+1, 502, nil)
		return
	}
	write(29, true, ".", cISN+101, end, 0, nil)
	answer()
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

// injectedSegments reads the TCP segments a replay injected from its output, and the stack's
// ISN (from its SYN-ACK).
func injectedSegments(t *testing.T, path string) (segs []injectedSegment, stackISN uint32) {
	t.Helper()
	for _, pk := range pcapngtest.Read(t, path).Packets {
		p := gopacket.NewPacket(pk.Data, layers.LayerTypeEthernet, gopacket.Default)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil || pk.Flags == nil {
			continue
		}
		if pk.Direction() != pcapgo.NgEpbFlagDirectionInbound {
			if tcp.SYN {
				stackISN = tcp.Seq
			}
			continue
		}
		s := injectedSegment{ack: tcp.Ack, win: tcp.Window, note: strings.Join(pk.Comments, "; ")}
		for _, o := range tcp.Options {
			if o.OptionType == layers.TCPOptionKindTimestamps && len(o.OptionData) == 8 {
				s.tsVal = binary.BigEndian.Uint32(o.OptionData)
			}
		}
		segs = append(segs, s)
	}
	return segs, stackISN
}

// TestHeldACKsAdvertiseThePeersNewestWindow: a held ACK given back advertises the peer's
// window as its newest segment (here its window update and its FIN) advertised it, not the
// zero window it was recorded with; and as a right edge: one that acknowledges less than the
// peer did advertises the bytes between as well, as the held ACK itself did when it went in.
// Several given back at once are one ACK.
func TestHeldACKsAdvertiseThePeersNewestWindow(t *testing.T) {
	const answer = 40 * 1460 // the stack's stream: SYN, answer, FIN
	newestEdge := uint32(answer+1) + 502<<7
	for _, c := range []struct {
		name string
		ts   bool
	}{{"sack-wscale", false}, {"sack-wscale-ts", true}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			capture, out := filepath.Join(dir, "held.pcap"), filepath.Join(dir, "out.pcapng")
			heldCapture(t, capture, c.ts, false)
			text, code := run("-q", "-o", out, "--compare", "options", capture)
			if code != 0 || lastLine(text) != "equivalent" {
				t.Fatalf("want exit 0 and 'equivalent'; got exit %d:\n%s", code, text)
			}
			injected, isn := injectedSegments(t, out)
			var got []injectedSegment
			var clientTS uint32
			held := false
			for _, s := range injected {
				switch {
				case strings.Contains(s.note, "replayed"):
					got = append(got, s)
				case strings.HasPrefix(s.note, "capture frame 5;"):
					// The held ACK went in acknowledging what the stack had sent (its SYN),
					// with the window that keeps the client's right edge where its win 0 put
					// it, after the answer: 457 units of 2^7 from ack 1, not 0.
					if !strings.Contains(s.note, "ack held at what the stack has sent") || s.ack-isn != 1 || s.win != 457 {
						t.Errorf("capture frame 5 went in as ack %d win %d (%q), want held at 1, win 457", s.ack-isn, s.win, s.note)
					}
					held = true
					fallthrough
				default:
					clientTS = max(clientTS, s.tsVal)
				}
			}
			if !held || len(got) < 2 {
				t.Fatalf("capture frame 5 injected: %v; held ACKs given back: %d\n%s", held, len(got), text)
			}
			// All are given back after the client's window update (frame 46: win 502) and FIN
			// (frame 47: 502), acknowledging the answer: each advertises the right edge those
			// put 502<<7 past the answer, whatever its own ack (the win 0 they were held with
			// would put it at their ack: the stack would stall).
			for i, a := range got {
				ack := a.ack - isn
				if edge := ack + uint32(a.win)<<7; edge < newestEdge || edge >= newestEdge+1+1<<7 {
					t.Errorf("held ACK %d given back (%q): ack %d win %d, right edge %d; want the client's newest, %d (rounded up to 2^7)", i, a.note, ack, a.win, edge, newestEdge)
				}
				if c.ts && a.tsVal < clientTS && i == len(got)-1 {
					t.Errorf("the last held ACK given back has TSval %d, below the client's newest %d", a.tsVal, clientTS)
				}
			}
			// The ACKs of frames 5, 46 and 47 (the same ack) and frame 49's are given back at
			// once, when the stack sends the last of the answer and its FIN: one ACK, of the
			// newest ack, frame 49's, with the window the client advertised last, 502, as it
			// advertised it (the same ack), not the win 0 frame 5 was recorded with.
			last := got[len(got)-1]
			if !strings.HasPrefix(last.note, "capture frames 5, 46, 47, 49, their acks replayed as one") || last.ack-isn != answer+2 || last.win != 502 {
				t.Errorf("last held ACK given back: ack %d win %d (%q); want frames 5, 46, 47 and 49 as one, ack %d, win 502", last.ack-isn, last.win, last.note, answer+2)
			}
			for _, a := range got[:len(got)-1] {
				if strings.Contains(a.note, "capture frames") {
					t.Errorf("held ACKs given back as one before the last: %q", a.note)
				}
			}
			if !strings.Contains(text, "peer ACKs replayed once the stack had sent what they acknowledge") {
				t.Errorf("the report does not count the held ACKs given back:\n%s", text)
			}
		})
	}
}

// TestHeldZeroWindowKeepsThePeersRightEdge: a held ACK that closes the peer's window after
// bytes the stack has not sent yet closes it there, not at what the stack has sent: the stack
// sends what the recorded server sent before the window closed, at once, not 4 s later when
// the client opens it again (see heldCapture).
func TestHeldZeroWindowKeepsThePeersRightEdge(t *testing.T) {
	const answer = 40 * 1460
	for _, c := range []struct {
		name string
		ts   bool
	}{{"sack-wscale", false}, {"sack-wscale-ts", true}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			capture, out := filepath.Join(dir, "closed.pcap"), filepath.Join(dir, "out.pcapng")
			heldCapture(t, capture, c.ts, true)
			text, code := run("-q", "-o", out, capture)
			if code != 0 || lastLine(text) != "equivalent" {
				t.Fatalf("want exit 0 and 'equivalent'; got exit %d:\n%s", code, text)
			}
			injected, isn := injectedSegments(t, out)
			held, given := false, 0
			for _, s := range injected {
				ack := s.ack - isn
				switch {
				case strings.HasPrefix(s.note, "capture frame 45;"):
					// Held at what the stack had sent, with the window up to the client's
					// right edge: the end of the answer, where its win 0 put it.
					edge := ack + uint32(s.win)<<7
					if !strings.Contains(s.note, "ack held at what the stack has sent") || ack >= answer+1 || edge < answer+1 || edge >= answer+1+1<<7 {
						t.Errorf("capture frame 45 went in as ack %d win %d (%q): want held, the window up to %d", ack, s.win, s.note, answer+1)
					}
					held = true
				case strings.HasPrefix(s.note, "capture frame 45, its ack replayed"):
					// Given back as far as the stack had sent, before the window opens
					// again: the same right edge; the last, of all the answer, win 0.
					if edge := ack + uint32(s.win)<<7; edge < answer+1 || edge >= answer+1+1<<7 || ack == answer+1 && s.win != 0 {
						t.Errorf("frame 45's ack given back as ack %d win %d: want the right edge %d", ack, s.win, answer+1)
					}
					given++
				}
			}
			if !held || given == 0 {
				t.Fatalf("capture frame 45 held: %v, given back %d times\n%s", held, given, text)
			}
		})
	}
}
