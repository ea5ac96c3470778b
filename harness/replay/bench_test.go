package replay_test

import (
	"bufio"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mtcp-go/mtcp/harness/replay"
)

// writeLargeCapture writes a pcap of one long TCP conversation of about frames frames: a client
// sends 100-byte segments, the server acknowledges every second one, 1 ms apart.
func writeLargeCapture(tb testing.TB, path string, frames int) {
	tb.Helper()
	w, done := createPcap(tb, path, false)
	defer done()
	cMAC, sMAC := []byte{2, 0, 0, 0, 0, 1}, []byte{2, 0, 0, 0, 0, 2}
	cIP, sIP := []byte{198, 18, 0, 1}, []byte{198, 18, 0, 2}
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	buf := gopacket.NewSerializeBuffer()
	payload := make([]byte, 100)
	var cSeq, sSeq uint32 = 1000, 5000
	n := 0
	write := func(fromClient bool, flags uint8, seq, ack uint32, data []byte) {
		eth := &layers.Ethernet{SrcMAC: sMAC, DstMAC: cMAC, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: sIP, DstIP: cIP}
		tcp := &layers.TCP{SrcPort: 80, DstPort: 40000, Seq: seq, Ack: ack, Window: 65535,
			SYN: flags&2 != 0, ACK: flags&16 != 0, FIN: flags&1 != 0, PSH: len(data) > 0}
		if fromClient {
			eth.SrcMAC, eth.DstMAC = cMAC, sMAC
			ip.SrcIP, ip.DstIP = cIP, sIP
			tcp.SrcPort, tcp.DstPort = 40000, 80
		}
		if tcp.SYN {
			tcp.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}}
		}
		_ = tcp.SetNetworkLayerForChecksum(ip)
		_ = gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(data))
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}, buf.Bytes()); err != nil {
			tb.Fatal(err)
		}
		n++
		t = t.Add(time.Millisecond)
	}
	write(true, 2, cSeq, 0, nil)
	write(false, 18, sSeq, cSeq+1, nil)
	cSeq++
	sSeq++
	write(true, 16, cSeq, sSeq, nil)
	for n < frames-4 {
		for range 2 {
			binary.BigEndian.PutUint32(payload, cSeq)
			write(true, 16, cSeq, sSeq, payload)
			cSeq += uint32(len(payload))
		}
		write(false, 16, sSeq, cSeq, nil)
	}
	write(true, 17, cSeq, sSeq, nil)
	write(false, 17, sSeq, cSeq+1, nil)
	write(true, 16, cSeq+1, sSeq+1, nil)
}

// createPcap creates an Ethernet pcap at path (nanosecond timestamps if nanos) and returns its
// writer and the function that flushes and closes it.
func createPcap(tb testing.TB, path string, nanos bool) (w *pcapgo.Writer, done func()) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w = pcapgo.NewWriter(bw)
	if nanos {
		w = pcapgo.NewWriterNanos(bw)
	}
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		tb.Fatal(err)
	}
	return w, func() {
		if err := bw.Flush(); err != nil {
			tb.Fatal(err)
		}
		if err := f.Close(); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkReplay replays a capture of 1,000,000 frames (frames per second of wall time), in
// process: the one to profile (-cpuprofile). MTCP_BENCH_CAPTURE=path keeps the capture there, to
// compare with `tshark -r path` and with the mtcp-replay command (peak memory: /usr/bin/time
// -v); BenchmarkReplayVsTshark makes that comparison.
func BenchmarkReplay(b *testing.B) {
	path := os.Getenv("MTCP_BENCH_CAPTURE")
	if path == "" {
		path = filepath.Join(b.TempDir(), "large.pcap")
	}
	const frames = 1_000_000
	if _, err := os.Stat(path); err != nil {
		writeLargeCapture(b, path, frames)
	}
	b.ResetTimer()
	var rep *replay.Report
	for b.Loop() {
		var err error
		rep, err = replay.Replay(path, replay.Options{})
		if err != nil {
			b.Fatal(err)
		}
	}
	if !rep.Equivalent() {
		b.Fatalf("%s: %v", rep.Verdict(), rep.Differences[0])
	}
	b.ReportMetric(float64(rep.Records*b.N)/b.Elapsed().Seconds(), "frames/s")
	b.ReportMetric(rep.Elapsed.Seconds(), "virtual-s")
}
