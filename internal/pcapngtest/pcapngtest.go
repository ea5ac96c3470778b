// Package pcapngtest reads a pcapng capture back in a test, with pcapgo (never with the
// writer under test): its section comment, and every packet with its time, direction and
// comments. The bench's, the script runner's, mtcp-test's and the examples' tests check their
// captures with it. Tshark, TsharkFields and Capinfos open captures with Wireshark's own
// tools, many captures in one tshark pass and one capinfos call.
package pcapngtest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Capture is a pcapng file as read back.
type Capture struct {
	// Comment is the section header's comment.
	Comment  string
	LinkType layers.LinkType
	Packets  []Packet
}

// Packet is one packet of a capture.
type Packet struct {
	Data []byte
	Time time.Time
	// Flags is the enhanced packet block's flags option; nil when the packet has none.
	Flags    *pcapgo.NgEpbFlags
	Comments []string
}

// Direction is the packet's direction, pcapgo.NgEpbFlagDirectionUnknown without a flags option.
func (p Packet) Direction() pcapgo.NgEpbFlag {
	if p.Flags == nil {
		return pcapgo.NgEpbFlagDirectionUnknown
	}
	return p.Flags.Direction
}

// Comments returns every packet comment of the capture, in order.
func (c Capture) Comments() []string {
	var all []string
	for _, p := range c.Packets {
		all = append(all, p.Comments...)
	}
	return all
}

// Read reads the pcapng file at path; an unreadable or malformed file fails the test.
func Read(t testing.TB, path string) Capture {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("pcapngtest: %v", err)
	}
	c, err := Parse(data)
	if err != nil {
		t.Fatalf("pcapngtest: %s: %v", path, err)
	}
	return c
}

// Parse reads a pcapng capture held in memory, to its end; a block it cannot read is an error.
func Parse(data []byte) (Capture, error) {
	r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		return Capture{}, err
	}
	c := Capture{Comment: r.SectionInfo().Comment, LinkType: r.LinkType()}
	for {
		d, ci, opts, err := r.ReadPacketDataWithOptions()
		if errors.Is(err, io.EOF) {
			return c, nil
		}
		if err != nil {
			return c, err
		}
		c.Packets = append(c.Packets, Packet{Data: append([]byte(nil), d...), Time: ci.Timestamp, Flags: opts.Flags, Comments: opts.Comments})
	}
}
