package pcapng

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
)

func TestWriterKeepsCommentsDirectionsAndNanoseconds(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, "bench0", "A1 answers: passed")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 123456789, time.UTC)
	frames := []Frame{
		{Time: t0, Direction: Inbound, Data: make([]byte, 60), Comments: []string{"injected: ARP request"}},
		{Time: t0.Add(time.Nanosecond), Direction: Outbound, Data: make([]byte, 42), Comments: []string{"met: ARP reply", "second"}},
		{Time: t0.Add(time.Second), Direction: Unknown, Data: make([]byte, 14)},
	}
	for _, f := range frames {
		if err := w.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewNgReader(&buf, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	if c := r.SectionInfo().Comment; c != "A1 answers: passed" {
		t.Fatalf("section comment %q", c)
	}
	for i, want := range frames {
		data, ci, opts, err := r.ReadPacketDataWithOptions()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if len(data) != len(want.Data) || !ci.Timestamp.Equal(want.Time) || !slices.Equal(opts.Comments, want.Comments) {
			t.Fatalf("frame %d: %d bytes at %v with %q; want %d at %v with %q", i, len(data), ci.Timestamp, opts.Comments, len(want.Data), want.Time, want.Comments)
		}
		dir := Unknown
		if opts.Flags != nil {
			switch opts.Flags.Direction {
			case pcapgo.NgEpbFlagDirectionInbound:
				dir = Inbound
			case pcapgo.NgEpbFlagDirectionOutbound:
				dir = Outbound
			}
		}
		if dir != want.Direction {
			t.Fatalf("frame %d: direction %v, want %v", i, dir, want.Direction)
		}
	}
}
