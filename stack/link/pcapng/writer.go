package pcapng

import (
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Direction says which way a frame crossed the link, seen from the stack.
type Direction uint8

// Directions, written as the pcapng direction flag.
const (
	Unknown  Direction = iota
	Inbound            // to the stack
	Outbound           // from the stack
)

func (d Direction) String() string {
	switch d {
	case Inbound:
		return "inbound"
	case Outbound:
		return "outbound"
	}
	return "unknown"
}

func (d Direction) flags() *pcapgo.NgEpbFlags {
	switch d {
	case Inbound:
		return &pcapgo.NgEpbFlags{Direction: pcapgo.NgEpbFlagDirectionInbound}
	case Outbound:
		return &pcapgo.NgEpbFlags{Direction: pcapgo.NgEpbFlagDirectionOutbound}
	}
	return nil
}

// Frame is one Ethernet frame as a capture holds it.
type Frame struct {
	Time      time.Time
	Direction Direction
	Data      []byte
	Comments  []string // one pcapng opt_comment each; Wireshark shows them as packet comments
}

// Writer writes a pcapng capture with one section and one Ethernet interface. It is the
// encoding shared by the Recorder (frames as they pass) and by the harness (a whole spec's
// frames with their comments, once its verdict is known). It is not safe for concurrent use.
type Writer struct {
	w *pcapgo.NgWriter
}

// NewWriter writes the section header (with sectionComment, if any) and the interface
// description (named interfaceName, DefaultInterfaceName if empty) to w, buffered.
func NewWriter(w io.Writer, interfaceName, sectionComment string) (*Writer, error) {
	if interfaceName == "" {
		interfaceName = DefaultInterfaceName
	}
	intf := pcapgo.NgInterface{
		Name:                interfaceName,
		OS:                  runtime.GOOS,
		LinkType:            layers.LinkTypeEthernet,
		TimestampResolution: 9, // nanoseconds: virtual time keeps its precision
	}
	section := pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{
		Hardware:    runtime.GOARCH,
		OS:          runtime.GOOS,
		Application: "mtcp",
		Comment:     sectionComment,
	}}
	nw, err := pcapgo.NewNgWriterInterface(w, intf, section)
	if err != nil {
		return nil, fmt.Errorf("pcapng: writing capture header: %w", err)
	}
	return &Writer{w: nw}, nil
}

// WriteFrame appends one frame.
func (w *Writer) WriteFrame(f Frame) error {
	ci := gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(f.Data), Length: len(f.Data)}
	return w.w.WritePacketWithOptions(ci, f.Data, pcapgo.NgPacketOptions{Flags: f.Direction.flags(), Comments: f.Comments})
}

// Flush writes out what is buffered.
func (w *Writer) Flush() error { return w.w.Flush() }
