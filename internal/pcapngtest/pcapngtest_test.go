package pcapngtest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mtcp-go/mtcp/stack/link/pcapng"
)

// A capture written by mtcp's writer reads back whole: section comment, times, directions
// and comments, a packet without a direction as Unknown.
func TestReadBack(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	w, err := pcapng.NewWriter(&buf, "bench0", "A1 demo\nverdict: passed")
	if err != nil {
		t.Fatal(err)
	}
	frames := []pcapng.Frame{
		{Time: t0, Direction: pcapng.Inbound, Data: make([]byte, 60), Comments: []string{"injected"}},
		{Time: t0.Add(time.Second), Direction: pcapng.Outbound, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, Comments: []string{"met", "second"}},
	}
	for _, f := range frames {
		if err := w.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "c.pcapng")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	c := Read(t, path)
	if c.Comment != "A1 demo\nverdict: passed" || len(c.Packets) != 2 {
		t.Fatalf("section %q, %d packets", c.Comment, len(c.Packets))
	}
	if p := c.Packets[1]; !p.Time.Equal(t0.Add(time.Second)) || p.Direction() != pcapgo.NgEpbFlagDirectionOutbound || len(p.Data) != 15 || p.Data[14] != 15 {
		t.Errorf("packet 2: %+v", p)
	}
	if c.Packets[0].Direction() != pcapgo.NgEpbFlagDirectionInbound {
		t.Errorf("packet 1 direction %v", c.Packets[0].Direction())
	}
	if got := c.Comments(); len(got) != 3 || got[2] != "second" {
		t.Errorf("comments %q", got)
	}
	if (Packet{}).Direction() != pcapgo.NgEpbFlagDirectionUnknown {
		t.Error("a packet without flags has a direction")
	}
	if _, err := Parse(buf.Bytes()[:buf.Len()-3]); err == nil {
		t.Error("a truncated capture parsed without error")
	}
}
