package replay

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mtcp-go/mtcp/harness/replay/capture"
)

// prefetchCapture writes a pcap of n records of random sizes, a few of them of the largest size
// a record may have, so that batches end by their count and by their bytes.
func prefetchCapture(t *testing.T, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	if err := w.WriteFileHeader(capture.MaxCapLen, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		size := 14 + rng.IntN(1500)
		if i%997 == 5 {
			size = capture.MaxCapLen
		}
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(i + j)
		}
		at = at.Add(time.Duration(rng.IntN(1000)) * time.Microsecond)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: at, CaptureLength: size, Length: size + rng.IntN(2)}, data); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// The prefetcher gives the records the reader gives, in order, with the reader's error after
// the last (io.EOF, or where a capture is cut off), and stops when closed before the end.
func TestPrefetcherIsTheReader(t *testing.T) {
	file := prefetchCapture(t, 3*prefetchRecords+123)
	for _, c := range []struct {
		name string
		file []byte
	}{{"whole", file}, {"cut off", file[:len(file)-700]}} {
		t.Run(c.name, func(t *testing.T) {
			r1, err := capture.Open(bytes.NewReader(c.file))
			if err != nil {
				t.Fatal(err)
			}
			r2, err := capture.Open(bytes.NewReader(c.file))
			if err != nil {
				t.Fatal(err)
			}
			p := prefetch(r2)
			defer p.Close()
			for n := 1; ; n++ {
				want, werr := r1.Next()
				got, gerr := p.Next()
				if werr != nil || gerr != nil {
					if !errors.Is(gerr, werr) && gerr.Error() != werr.Error() {
						t.Fatalf("record %d: error %v, want %v", n, gerr, werr)
					}
					if _, again := p.Next(); again == nil || again.Error() != werr.Error() {
						t.Fatalf("after the end: %v, want %v again", again, werr)
					}
					if c.name == "whole" && werr != io.EOF {
						t.Fatalf("record %d: %v", n, werr)
					}
					return
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("record %d: %+v\nwant %+v", n, got.Number, want.Number)
				}
			}
		})
	}
	t.Run("closed early", func(t *testing.T) {
		r, err := capture.Open(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		p := prefetch(r)
		for range prefetchRecords + 1 {
			if _, err := p.Next(); err != nil {
				t.Fatal(err)
			}
		}
		p.Close() // returns once the goroutine has: it must not wait for the records left
	})
}
