package replay

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/stack/clock"
)

// peerFrame is a frame of the peer (198.18.0.1:40000 to 198.18.0.2:80) with the TCP options
// given as bytes.
func peerFrame(t *testing.T, seq, ack uint32, flags uint8, win uint16, opts []byte, payload []byte) []byte {
	t.Helper()
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: seq, Ack: ack, Window: win,
		FIN: flags&flFIN != 0, SYN: flags&flSYN != 0, RST: flags&flRST != 0, ACK: flags&flACK != 0, PSH: flags&flPSH != 0, URG: flags&flURG != 0, Urgent: 7}
	for len(opts) > 0 { // gopacket writes options one by one
		switch opts[0] {
		case 0, 1:
			tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKind(opts[0])})
			opts = opts[1:]
		default:
			tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKind(opts[0]), OptionLength: opts[1], OptionData: opts[2:opts[1]]})
			opts = opts[opts[1]:]
		}
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: []byte{198, 18, 0, 1}, DstIP: []byte{198, 18, 0, 2}}
	eth := &layers.Ethernet{SrcMAC: []byte{2, 0, 198, 18, 0, 1}, DstMAC: []byte{2, 0, 198, 18, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	_ = tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func tsOpt(val, ecr uint32) []byte {
	o := []byte{1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(o[4:], val)
	binary.BigEndian.PutUint32(o[8:], ecr)
	return o
}

func sackOpt(blocks ...uint32) []byte {
	o := []byte{1, 1, 5, byte(2 + 4*len(blocks))}
	for _, b := range blocks {
		o = binary.BigEndian.AppendUint32(o, b)
	}
	return o
}

// segOf returns the TCP segment of a frame, checking that the frame is whole and its
// checksums right.
func segOf(t *testing.T, f []byte) []byte {
	t.Helper()
	ipHdr, seg, ok := tcpOffsets(f)
	if !ok {
		t.Fatalf("frame of %d bytes does not hold its IPv4 and TCP headers", len(f))
	}
	ip := append([]byte(nil), ipHdr...)
	harness.SetIPv4Checksum(ip)
	if !bytes.Equal(ip, ipHdr) || !harness.TCPChecksumOK(ipHdr, seg) {
		t.Fatal("wrong checksum")
	}
	return seg
}

// A held ACK given back advertises the peer's newest window and options, not its own: the
// right edge of the peer's newest segment (its window from its ack, scaled by the negotiated
// shift; a SYN's window is never scaled), that segment's SACK blocks above the ack, the peer's
// newest TSval and the held ACK's own TS echo; it is a pure ACK at the peer's next sequence
// number.
func TestReleasedAckTakesThePeersNewestWindowAndOptions(t *testing.T) {
	const peerISN, stackISN = 1000, 7000
	c := &conv{peerISN: peerISN, peerISNOK: true, stackISN: stackISN, stackOK: true, peerGiven: 102, peerTS: 500, peerTSOK: true}
	// Held: win 0, TS 300/4444, a SACK block, 10 bytes, FIN, PSH and URG.
	held := peerFrame(t, peerISN+90, stackISN+1, flACK|flFIN|flPSH|flURG, 0,
		append(tsOpt(300, 4444), sackOpt(stackISN+100, stackISN+200)...), []byte("0123456789"))
	released := func(ack uint32) *layers.TCP {
		t.Helper()
		f := c.releasedAck(held, ack)
		if seg := segOf(t, f); len(f) != 14+20+len(seg) || len(seg) != int(seg[12]>>4)*4 {
			t.Fatalf("released frame of %d bytes, TCP header of %d: %x", len(f), len(seg), f)
		}
		p := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil {
			t.Fatalf("no TCP in %x", f)
		}
		if tcp.Seq != peerISN+102 || tcp.Ack != stackISN+ack || !tcp.ACK || tcp.FIN || tcp.PSH || tcp.URG || tcp.SYN || tcp.RST || tcp.Urgent != 0 || len(tcp.Payload) != 0 {
			t.Errorf("released as seq %d ack %d (FIN %v PSH %v URG %v urgent %d), %d bytes; want a pure ACK, seq 102 ack %d",
				tcp.Seq-peerISN, tcp.Ack-stackISN, tcp.FIN, tcp.PSH, tcp.URG, tcp.Urgent, len(tcp.Payload), ack)
		}
		return tcp
	}
	options := func(tcp *layers.TCP) (ts []byte, sack []uint32) {
		for _, o := range tcp.Options {
			switch o.OptionType {
			case layers.TCPOptionKindTimestamps:
				ts = o.OptionData
			case layers.TCPOptionKindSACK:
				for i := 0; i+4 <= len(o.OptionData); i += 4 {
					sack = append(sack, binary.BigEndian.Uint32(o.OptionData[i:])-stackISN)
				}
			}
		}
		return ts, sack
	}

	// No segment of the peer noted: the held ACK's own window and options stand.
	tcp := released(150)
	ts, sack := options(tcp)
	if tcp.Window != 0 || len(ts) != 8 || binary.BigEndian.Uint32(ts) != 500 || binary.BigEndian.Uint32(ts[4:]) != 4444 || len(sack) != 2 || sack[0] != 100 {
		t.Errorf("nothing newer: win %d, TS %x, SACK %v; want win 0, TS 500/4444, SACK 100-200", tcp.Window, ts, sack)
	}

	// The peer's newest segment, its FIN: win 502, TS 480/5555, a SACK block below the ack
	// and one above. The window and the blocks above the ack are the FIN's, the TS echo the
	// held ACK's, the TSval the newest.
	// It acknowledged 2000 (as recorded; it went in held at what the stack had sent).
	c.notePeerSegment(segOf(t, peerFrame(t, peerISN+101, stackISN+1500, flACK|flFIN, 502,
		append(tsOpt(480, 5555), sackOpt(stackISN+50, stackISN+80, stackISN+3000, stackISN+4000)...), nil)), 2000, 502)
	tcp = released(2000)
	ts, sack = options(tcp)
	if tcp.Window != 502 {
		t.Errorf("win %d, want the FIN's 502, not the held ACK's 0", tcp.Window)
	}
	// Given back as far as 1500: the same right edge, 2000+502, counted from 1500.
	if tcp := released(1500); tcp.Window != 1002 {
		t.Errorf("win %d at ack 1500, want 1002: the FIN's right edge, 2000+502", tcp.Window)
	}
	if len(ts) != 8 || binary.BigEndian.Uint32(ts) != 500 || binary.BigEndian.Uint32(ts[4:]) != 4444 {
		t.Errorf("TS %x, want TSval 500 (the newest) and TSecr 4444 (the held ACK's)", ts)
	}
	if len(sack) != 2 || sack[0] != 3000 || sack[1] != 4000 {
		t.Errorf("SACK %v, want the FIN's block above the ack, 3000-4000", sack)
	}

	// A newer segment without SACK blocks: none.
	c.notePeerSegment(segOf(t, peerFrame(t, peerISN+102, stackISN+1500, flACK, 600, tsOpt(490, 6666), nil)), 2000, 600)
	tcp = released(2000)
	if ts, sack = options(tcp); tcp.Window != 600 || sack != nil || len(ts) != 8 {
		t.Errorf("win %d, SACK %v, TS %x; want win 600, no SACK, a timestamp", tcp.Window, sack, ts)
	}

	// A reset or a segment without ACK says nothing of the window.
	c.notePeerSegment(segOf(t, peerFrame(t, peerISN+102, stackISN+1500, flACK|flRST, 0, nil, nil)), 2000, 0)
	c.notePeerSegment(segOf(t, peerFrame(t, peerISN+102, 0, 0, 0, nil, nil)), 0, 0)
	if tcp = released(2000); tcp.Window != 600 {
		t.Errorf("win %d after a reset and a segment without ACK, want 600", tcp.Window)
	}

	// Four SACK blocks do not fit with a timestamp (a peer's segment could not carry them):
	// three go.
	c.newest.opts = append(append(c.newest.opts[:0], tsOpt(490, 6666)...), sackOpt(stackISN+3000, stackISN+3100, stackISN+3200, stackISN+3300, stackISN+3400, stackISN+3500, stackISN+3600, stackISN+3700)...)
	if _, sack = options(released(2000)); len(sack) != 6 || sack[0] != 3000 || sack[5] != 3500 {
		t.Errorf("SACK %v, want the first three blocks", sack)
	}

	// The window of a SYN (the peer's SYN-ACK sent again) is not scaled: scaled down to the
	// shift the peer offered, 7, here where the stack has no connection to ask, rounded up.
	c.notePeerSegment(segOf(t, peerFrame(t, peerISN, stackISN+1, flSYN|flACK, 65535, []byte{1, 3, 3, 7}, nil)), 1, 65535)
	if tcp = released(1); tcp.Window != 512 {
		t.Errorf("win %d after a SYN-ACK of window 65535 and scale 7, want 512", tcp.Window)
	}
	// Scaled: win 10 at 5000 is the right edge 5000+10<<7; from 2000, 33.4 units, rounded up
	// (the bytes the peer acknowledged are not lost to the rounding).
	c.notePeerSegment(segOf(t, peerFrame(t, peerISN+102, stackISN+5000, flACK, 10, nil, nil)), 5000, 10)
	if tcp = released(5000); tcp.Window != 10 {
		t.Errorf("win %d at the ack it came with, want 10", tcp.Window)
	}
	if tcp = released(2000); tcp.Window != 34 {
		t.Errorf("win %d at ack 2000, want 34: (3000 + 10<<7) >> 7, rounded up", tcp.Window)
	}
	// A window past 0xffff units is 0xffff.
	c.notePeerSegment(segOf(t, peerFrame(t, peerISN+102, stackISN+5000, flACK, 0xffff, nil, nil)), 10<<20, 0xffff)
	if tcp = released(2000); tcp.Window != 0xffff {
		t.Errorf("win %d, want 0xffff", tcp.Window)
	}
}

// Held ACKs the stack catches up with at once are given back as one ACK: of the newest ack,
// or as far as the stack has sent when the next held one acknowledges more, from the newest
// held frame; one that brings nothing newer is not given back.
func TestReleaseDeferredCollapses(t *testing.T) {
	const peerISN, stackISN = 1000, 7000
	e := &engine{rep: &Report{Skipped: map[string]int{}}, now: clock.Epoch}
	c := &conv{e: e, peerISN: peerISN, peerISNOK: true, stackISN: stackISN, stackOK: true, peerGiven: 1, recRTT: 20 * time.Millisecond}
	hold := func(capture int, ack uint32, ecr uint32) {
		c.deferred = append(c.deferred, deferredAck{frame: peerFrame(t, peerISN+1, stackISN+1, flACK, 0, tsOpt(1, ecr), nil), ack: ack, capture: capture})
	}
	given := func() (acks []uint32, ecrs []uint32, notes []string) {
		for _, l := range e.later {
			tcp, _ := gopacket.NewPacket(l.build(), layers.LayerTypeEthernet, gopacket.Default).Layer(layers.LayerTypeTCP).(*layers.TCP)
			acks = append(acks, tcp.Ack-stackISN)
			for _, o := range tcp.Options {
				if o.OptionType == layers.TCPOptionKindTimestamps {
					ecrs = append(ecrs, binary.BigEndian.Uint32(o.OptionData[4:]))
				}
			}
			notes = append(notes, l.note)
		}
		e.later = nil
		return acks, ecrs, notes
	}
	hold(5, 101, 55)
	hold(6, 151, 66)
	hold(7, 151, 77)
	hold(8, 301, 88)

	c.sentEnd = 50 // sent: 51, short of all of them
	c.releaseDeferred()
	if acks, ecrs, notes := given(); len(acks) != 1 || acks[0] != 51 || ecrs[0] != 55 || !strings.HasPrefix(notes[0], "capture frame 5, its ack replayed") {
		t.Errorf("given back %v (TSecr %v, %q), want one ACK of 51, from frame 5", acks, ecrs, notes)
	}
	c.releaseDeferred() // nothing sent since
	if acks, _, _ := given(); len(acks) != 0 {
		t.Errorf("given back %v with nothing sent since, want nothing", acks)
	}

	c.sentEnd = 150 // 151: frames 5, 6 and 7 caught up with
	c.releaseDeferred()
	if acks, ecrs, notes := given(); len(acks) != 1 || acks[0] != 151 || ecrs[0] != 77 || !strings.HasPrefix(notes[0], "capture frames 5, 6, 7, their acks replayed as one") {
		t.Errorf("given back %v (TSecr %v, %q), want one ACK of 151, from frame 7", acks, ecrs, notes)
	}
	if len(c.deferred) != 1 || c.deferred[0].capture != 8 {
		t.Errorf("still held: %+v, want frame 8's", c.deferred)
	}

	hold(9, 401, 99)
	c.sentEnd = 350 // 351: frame 8 caught up with, frame 9 as far as the stack has sent
	c.releaseDeferred()
	if acks, ecrs, notes := given(); len(acks) != 1 || acks[0] != 351 || ecrs[0] != 99 || !strings.HasPrefix(notes[0], "capture frames 8, 9, their acks replayed as one") {
		t.Errorf("given back %v (TSecr %v, %q), want one ACK of 351, from frame 9", acks, ecrs, notes)
	}
	if e.rep.Synthesized != 3 {
		t.Errorf("%d ACKs counted as given back, want 3", e.rep.Synthesized)
	}
}
