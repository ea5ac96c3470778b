package capture

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

const benchFrames = 1_000_000

// writeBench writes a capture of benchFrames 60-byte frames with pcapgo, as
// pcap or pcapng, and returns its path.
func writeBench(b *testing.B, ng bool) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.cap")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	var write func(gopacket.CaptureInfo, []byte) error
	flush := func() error { return nil }
	if ng {
		w, err := pcapgo.NewNgWriter(bw, layers.LinkTypeEthernet)
		if err != nil {
			b.Fatal(err)
		}
		write, flush = w.WritePacket, w.Flush
	} else {
		w := pcapgo.NewWriter(bw)
		if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
			b.Fatal(err)
		}
		write = w.WritePacket
	}
	frame := make([]byte, 60)
	t0 := time.Unix(1_700_000_000, 0)
	for i := range benchFrames {
		frame[0] = byte(i)
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Microsecond), CaptureLength: 60, Length: 60}
		if err := write(ci, frame); err != nil {
			b.Fatal(err)
		}
	}
	if err := flush(); err != nil {
		b.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// benchRead reads the capture at path b.N times with read, which returns the
// number of frames, and reports frames/s.
func benchRead(b *testing.B, path string, read func(io.Reader) int) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	b.SetBytes(st.Size())
	b.ReportAllocs()
	frames := 0
	for b.Loop() {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			b.Fatal(err)
		}
		if n := read(f); n != benchFrames {
			b.Fatalf("read %d frames, want %d", n, benchFrames)
		}
		frames += benchFrames
	}
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(frames), "ns/frame")
}

// readCapture reads every record with this package.
func readCapture(b *testing.B) func(io.Reader) int {
	return func(in io.Reader) int {
		r, err := Open(in)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				return n
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
}

// BenchmarkReadPcap reads a 1,000,000-frame pcap of 60-byte frames.
// allocs/op is per file: a handful, none per record.
func BenchmarkReadPcap(b *testing.B) {
	benchRead(b, writeBench(b, false), readCapture(b))
}

// BenchmarkReadPcapng reads the same frames as Enhanced Packet Blocks.
func BenchmarkReadPcapng(b *testing.B) {
	benchRead(b, writeBench(b, true), readCapture(b))
}

// BenchmarkPcapgoReadPcap is the baseline: pcapgo's ZeroCopyReadPacketData
// on the same file.
func BenchmarkPcapgoReadPcap(b *testing.B) {
	benchRead(b, writeBench(b, false), func(in io.Reader) int {
		r, err := pcapgo.NewReader(in)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, _, err := r.ZeroCopyReadPacketData()
			if err == io.EOF {
				return n
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
	})
}
