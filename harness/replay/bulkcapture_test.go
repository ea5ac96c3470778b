package replay_test

import (
	"encoding/binary"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/replay"
)

// The bulk shape of the replay's benchmarks: sequential HTTP/1.1 downloads of 1 MiB each over a
// 10 Gbit/s link, as captured on the server (198.18.0.2:80), the host the stack plays.
const (
	bulkBody     = 1 << 20
	bulkMSS      = 1448 // full-sized segments: MSS 1460 less the timestamps option
	bulkRTT      = 50 * time.Microsecond
	bulkFrameGap = 1230 * time.Nanosecond // a 1514-byte frame (and its preamble and gap) at 10 Gbit/s
	bulkIW       = 10                     // the server's initial window, in segments (RFC 6928)
	bulkThink    = 20 * time.Microsecond  // the server's time from the request to the response
	bulkIdle     = 100 * time.Microsecond // between one download's end and the next one's SYN
)

// bulkRequest and bulkHeader are the HTTP request and the head of the response.
var (
	bulkRequest = []byte("GET /1MiB.bin HTTP/1.1\r\nHost: 198.18.0.2\r\nUser-Agent: mtcp-bench\r\nAccept: */*\r\n\r\n")
	bulkHeader  = []byte("HTTP/1.1 200 OK\r\nServer: mtcp-bench\r\nContent-Type: application/octet-stream\r\nContent-Length: 1048576\r\nConnection: close\r\n\r\n")
)

// bulkFrames is the number of frames writeBulkCapture writes for downloads downloads.
func bulkFrames(downloads int) int {
	segs := (len(bulkHeader) + bulkBody + bulkMSS - 1) / bulkMSS
	// SYN, SYN-ACK, ACK, GET; the segments; an ACK of every second one (and of the last);
	// the server's FIN, the client's ACK of it, its FIN, the server's last ACK.
	return downloads * (4 + segs + (segs+1)/2 + 4)
}

// writeBulkCapture writes a pcap (nanosecond timestamps) of downloads sequential HTTP/1.1
// downloads of 1 MiB from 198.18.0.2:80, each on a connection of its own from a port of
// 198.18.0.1: the client's SYN offers MSS 1460, SACK, timestamps and window scaling, and the
// server's SYN-ACK accepts them; the client sends a GET, the server answers it in 1448-byte
// segments, paced at 10 Gbit/s and held to a congestion window that starts at 10 segments and
// grows by a segment for each one acknowledged (slow start: a correct server does no more),
// the client acknowledges every second segment one round trip (50 µs) later, and the server
// closes first (Connection: close). The checksums are right. The frames are built at fixed
// offsets in one buffer, and the checksum of each segment's payload computed once for all
// downloads: a million frames take a few seconds.
func writeBulkCapture(tb testing.TB, path string, downloads int) {
	tb.Helper()
	w, done := createPcap(tb, path, true)
	defer done()
	rng := rand.New(rand.NewPCG(1, 2))
	resp := make([]byte, 0, len(bulkHeader)+bulkBody)
	resp = append(resp, bulkHeader...)
	for len(resp) < cap(resp) {
		resp = binary.BigEndian.AppendUint64(resp, rng.Uint64())
	}
	resp = resp[:len(bulkHeader)+bulkBody]
	segs := (len(resp) + bulkMSS - 1) / bulkMSS

	g := &bulkGen{w: w, tb: tb, t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	g.cTS, g.sTS = rng.Uint32(), rng.Uint32()
	g.start = g.t
	for i := range downloads {
		c := bulkConn{port: uint16(40000 + i), cSeq: rng.Uint32(), sSeq: rng.Uint32()}
		// Handshake: the client's SYN, the server's SYN-ACK at once, the client's ACK and GET
		// a round trip later.
		g.frame(true, &c, flSYN, nil)
		g.after(bulkFrameGap)
		g.frame(false, &c, flSYN|flACK, nil)
		g.after(bulkRTT)
		g.frame(true, &c, flACK, nil)
		g.after(bulkFrameGap / 8)
		g.frame(true, &c, flPSH|flACK, bulkRequest)
		g.after(bulkThink)

		// The response: sent while the window allows, at the link's pace; acks come back a
		// round trip after the second segment they acknowledge.
		type ack struct {
			at  time.Time
			seq uint32 // what it acknowledges, relative to the server's ISN
		}
		var acks []ack
		cwnd, sent, acked := bulkIW, 0, 0
		nextSend := g.t
		for acked < segs {
			canSend := sent < segs && sent-acked < cwnd
			if canSend && (len(acks) == 0 || !acks[0].at.Before(nextSend)) {
				g.t = nextSend
				off := sent * bulkMSS
				data := resp[off:min(off+bulkMSS, len(resp))]
				fl := uint8(flACK)
				if sent == segs-1 {
					fl |= flPSH
				}
				g.frame(false, &c, fl, data)
				sent++
				nextSend = g.t.Add(bulkFrameGap)
				if sent%2 == 0 || sent == segs {
					acks = append(acks, ack{g.t.Add(bulkRTT), uint32(off + len(data))})
				}
				continue
			}
			a := acks[0]
			acks = acks[1:]
			g.t = a.at
			g.frame(true, &c, flACK, nil, a.seq)
			n := (int(a.seq) + bulkMSS - 1) / bulkMSS
			cwnd += n - acked // slow start: a segment more for each one acknowledged
			acked = n
			if !nextSend.After(g.t) {
				nextSend = g.t
			}
		}
		// The server closes; the client acknowledges the FIN and closes too.
		g.after(bulkFrameGap)
		g.frame(false, &c, flFIN|flACK, nil)
		g.after(bulkRTT)
		g.frame(true, &c, flACK, nil)
		g.after(bulkFrameGap)
		g.frame(true, &c, flFIN|flACK, nil)
		g.frame(false, &c, flACK, nil)
		g.after(bulkIdle)
	}
	if want := bulkFrames(downloads); g.n != want {
		tb.Fatalf("wrote %d frames, want %d", g.n, want)
	}
}

// Control bits, as in the TCP header's 14th byte.
const (
	flFIN = 0x01
	flSYN = 0x02
	flPSH = 0x08
	flACK = 0x10
)

// bulkConn is one download: the client's port, and each side's next sequence number.
type bulkConn struct {
	port       uint16
	cSeq, sSeq uint32 // the next sequence number of the client, of the server
	cISN, sISN uint32
	sAcked     uint32 // what the client has acknowledged (the server's sequence space)
}

// bulkGen writes the frames of writeBulkCapture.
type bulkGen struct {
	w        *pcapgo.Writer
	tb       testing.TB
	t, start time.Time
	cTS, sTS uint32 // the client's and the server's timestamp clocks at the start
	cLast    uint32 // the last TSval each side sent
	sLast    uint32
	n        int
	buf      [14 + 20 + 40 + bulkMSS]byte
}

func (g *bulkGen) after(d time.Duration) { g.t = g.t.Add(d) }

var (
	bulkClientMAC = []byte{0x02, 0x00, 198, 18, 0, 1}
	bulkServerMAC = []byte{0x02, 0x00, 198, 18, 0, 2}
	bulkClientIP  = []byte{198, 18, 0, 1}
	bulkServerIP  = []byte{198, 18, 0, 2}
)

// frame writes one segment of c: from the client or the server, with control bits fl and
// payload data; ackTo, for the client's ACKs, is what it acknowledges, relative to the server's
// ISN (by default all it has received).
func (g *bulkGen) frame(fromClient bool, c *bulkConn, fl uint8, data []byte, ackTo ...uint32) {
	b := g.buf[:]
	srcMAC, dstMAC, srcIP, dstIP := bulkServerMAC, bulkClientMAC, bulkServerIP, bulkClientIP
	sport, dport := uint16(80), c.port
	if fromClient {
		srcMAC, dstMAC, srcIP, dstIP = bulkClientMAC, bulkServerMAC, bulkClientIP, bulkServerIP
		sport, dport = dport, sport
	}
	copy(b[0:], dstMAC)
	copy(b[6:], srcMAC)
	b[12], b[13] = 0x08, 0x00

	// TCP options: a SYN's as Linux orders them (MSS, SACK permitted, timestamps, NOP,
	// window scale 7), otherwise NOP, NOP, timestamps.
	ms := uint32(g.t.Sub(g.start) / time.Millisecond)
	tsval, tsecr := g.sTS+ms, g.cLast
	if fromClient {
		tsval, tsecr = g.cTS+ms, g.sLast
	}
	tcp := b[34:]
	var opts []byte
	if fl&flSYN != 0 {
		opts = tcp[20:40]
		copy(opts, []byte{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 7})
		binary.BigEndian.PutUint32(opts[8:], tsval)
		binary.BigEndian.PutUint32(opts[12:], tsecr)
	} else {
		opts = tcp[20:32]
		copy(opts, []byte{1, 1, 8, 10})
		binary.BigEndian.PutUint32(opts[4:], tsval)
		binary.BigEndian.PutUint32(opts[8:], tsecr)
	}
	if fromClient {
		g.cLast = tsval
	} else {
		g.sLast = tsval
	}
	hl := 20 + len(opts)
	copy(tcp[hl:], data)
	segLen := hl + len(data)

	// Sequence and acknowledgement numbers.
	var seq, ack uint32
	if fromClient {
		if fl&flSYN != 0 {
			c.cISN = c.cSeq
		}
		seq = c.cSeq
		if fl&flSYN == 0 {
			ack = c.sSeq
			if len(ackTo) > 0 {
				ack = c.sISN + 1 + ackTo[0]
			}
		}
		c.cSeq += uint32(len(data))
		if fl&(flSYN|flFIN) != 0 {
			c.cSeq++
		}
	} else {
		if fl&flSYN != 0 {
			c.sISN = c.sSeq
		}
		seq, ack = c.sSeq, c.cSeq
		c.sSeq += uint32(len(data))
		if fl&(flSYN|flFIN) != 0 {
			c.sSeq++
		}
	}
	binary.BigEndian.PutUint16(tcp[0:], sport)
	binary.BigEndian.PutUint16(tcp[2:], dport)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], ack)
	tcp[12] = byte(hl/4) << 4
	tcp[13] = fl
	win := uint16(24576) // scaled by 7: 3 MiB, never what limits the server
	switch {
	case fl&flSYN != 0:
		win = 64240
	case !fromClient:
		win = 512 // 64 KiB, scaled by 7: the server receives a request only
	}
	binary.BigEndian.PutUint16(tcp[14:], win)
	tcp[16], tcp[17], tcp[18], tcp[19] = 0, 0, 0, 0

	// IPv4: DF set, ID 0 (RFC 6864), TTL 64.
	ip := b[14:34]
	ip[0], ip[1] = 0x45, 0
	binary.BigEndian.PutUint16(ip[2:], uint16(20+segLen))
	ip[4], ip[5], ip[6], ip[7] = 0, 0, 0x40, 0
	ip[8], ip[9] = 64, 6
	ip[10], ip[11] = 0, 0
	copy(ip[12:], srcIP)
	copy(ip[16:], dstIP)
	harness.SetIPv4Checksum(ip)
	harness.SetTCPChecksum(ip, tcp[:segLen])

	frame := b[:34+segLen]
	if err := g.w.WritePacket(gopacket.CaptureInfo{Timestamp: g.t, CaptureLength: len(frame), Length: len(frame)}, frame); err != nil {
		g.tb.Fatal(err)
	}
	g.n++
}

// The bulk capture is what a correct server does: the stack in its place is equivalent, on
// every frame of the downloads, and tshark (when there is one) finds nothing wrong with it.
func TestBulkCaptureIsEquivalent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bulk.pcap")
	const downloads = 3
	writeBulkCapture(t, path, downloads)
	rep, err := replay.Replay(path, replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Equivalent() || rep.Records != bulkFrames(downloads) || len(rep.Conversations) != downloads || rep.ChecksumsFixed != 0 {
		var b strings.Builder
		rep.Write(&b)
		t.Fatalf("%d records, want %d; %d conversations, want %d; %d checksums fixed:\n%s",
			rep.Records, bulkFrames(downloads), len(rep.Conversations), downloads, rep.ChecksumsFixed, b.String())
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		return
	}
	out, err := exec.Command(tshark, "-r", path, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
		"-Y", "tcp.checksum.status == 0 || ip.checksum.status == 0 || tcp.analysis.flags").CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" && !strings.Contains(line, "Running as user") && !strings.Contains(line, "could be dangerous") {
			t.Errorf("tshark: %s", line)
		}
	}
}
