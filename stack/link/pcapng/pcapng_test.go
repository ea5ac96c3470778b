package pcapng_test

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mtcp-go/mtcp/stack/clock"
	"github.com/mtcp-go/mtcp/stack/link"
	"github.com/mtcp-go/mtcp/stack/link/pcapng"
	"github.com/mtcp-go/mtcp/stack/link/pipe"
)

// captured is one packet read back from a capture.
type captured struct {
	data      []byte
	at        time.Time
	direction pcapgo.NgEpbFlag
}

func readCapture(t *testing.T, capture []byte) (*pcapgo.NgReader, []captured) {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(capture), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatalf("NewNgReader: %v", err)
	}
	var out []captured
	for {
		data, ci, opts, err := r.ReadPacketDataWithOptions()
		if errors.Is(err, io.EOF) {
			return r, out
		}
		if err != nil {
			t.Fatalf("reading packet %d: %v", len(out), err)
		}
		if opts.Flags == nil {
			t.Fatalf("packet %d has no flags option", len(out))
		}
		out = append(out, captured{data: data, at: ci.Timestamp, direction: opts.Flags.Direction})
	}
}

func frame(tag byte, n int) []byte {
	f := make([]byte, n)
	for i := range f {
		f[i] = tag
	}
	return f
}

// failingWriter fails every write after the first okBytes bytes.
type failingWriter struct {
	okBytes int
	err     error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) <= w.okBytes {
		w.okBytes -= len(p)
		return len(p), nil
	}
	n := w.okBytes
	w.okBytes = 0
	return n, w.err
}

func TestRecordsBothDirectionsWithClockTimestampsAndDirectionFlags(t *testing.T) {
	peer, local := pipe.New(link.DefaultMTU)
	defer peer.Close()
	clk := clock.NewManual(time.Time{})
	var capture bytes.Buffer
	rec, err := pcapng.New(local, &capture, pcapng.Options{
		Clock:          clk,
		InterfaceName:  "test0",
		SectionComment: "recorded by TestRecords",
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var delivered [][]byte
	rec.Attach(link.ReceiverFunc(func(f []byte) { delivered = append(delivered, bytes.Clone(f)) }))
	var sent [][]byte
	peer.Attach(link.ReceiverFunc(func(f []byte) { sent = append(sent, bytes.Clone(f)) }))

	if err := peer.WriteFrame(frame(1, 60)); err != nil { // inbound at Epoch
		t.Fatal(err)
	}
	clk.Advance(1500 * time.Millisecond)
	if err := rec.WriteFrame(frame(2, 1514)); err != nil { // outbound at Epoch+1.5s
		t.Fatal(err)
	}
	clk.Advance(time.Microsecond)
	if err := rec.WriteFrame(frame(3, 14)); err != nil { // outbound at Epoch+1.500001s
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	if err := peer.WriteFrame(frame(4, 61)); err != nil { // inbound
		t.Fatal(err)
	}
	if err := rec.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}

	if len(delivered) != 2 || len(sent) != 2 {
		t.Fatalf("frames passed through: %d inbound, %d outbound; want 2 and 2", len(delivered), len(sent))
	}
	r, got := readCapture(t, capture.Bytes())
	in, out := pcapgo.NgEpbFlagDirectionInbound, pcapgo.NgEpbFlagDirectionOutbound
	want := []captured{
		{frame(1, 60), clock.Epoch, in},
		{frame(2, 1514), clock.Epoch.Add(1500 * time.Millisecond), out},
		{frame(3, 14), clock.Epoch.Add(1500*time.Millisecond + time.Microsecond), out},
		{frame(4, 61), clock.Epoch.Add(time.Hour + 1500*time.Millisecond + time.Microsecond), in},
	}
	if len(got) != len(want) {
		t.Fatalf("capture holds %d packets, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].data, want[i].data) {
			t.Errorf("packet %d: data %x..., want %x...", i, got[i].data[:4], want[i].data[:4])
		}
		if !got[i].at.Equal(want[i].at) {
			t.Errorf("packet %d: timestamp %v, want %v", i, got[i].at, want[i].at)
		}
		if got[i].direction != want[i].direction {
			t.Errorf("packet %d: direction %v, want %v", i, got[i].direction, want[i].direction)
		}
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Errorf("link type %v, want Ethernet", r.LinkType())
	}
	if intf, err := r.Interface(0); err != nil || intf.Name != "test0" {
		t.Errorf("interface 0 = %q, %v; want test0", intf.Name, err)
	}
	if c := r.SectionInfo().Comment; c != "recorded by TestRecords" {
		t.Errorf("section comment %q, want the one given", c)
	}
	if s := rec.Stats(); s != (pcapng.Stats{Recorded: 4}) {
		t.Errorf("Stats() = %+v, want 4 recorded", s)
	}
	if err := rec.Err(); err != nil {
		t.Errorf("Err() = %v, want nil", err)
	}
}

func TestDefaultInterfaceNameIsMtcp0(t *testing.T) {
	_, local := pipe.New(link.DefaultMTU)
	var capture bytes.Buffer
	rec, err := pcapng.New(local, &capture, pcapng.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Flush(); err != nil {
		t.Fatal(err)
	}
	r, _ := readCapture(t, capture.Bytes())
	if intf, err := r.Interface(0); err != nil || intf.Name != pcapng.DefaultInterfaceName {
		t.Fatalf("interface 0 = %q, %v; want %q", intf.Name, err, pcapng.DefaultInterfaceName)
	}
}

func TestBadSizeFramesAreRefusedAndNotRecorded(t *testing.T) {
	_, local := pipe.New(100)
	rec, _ := pcapng.New(local, io.Discard, pcapng.Options{})
	if rec.MTU() != 100 {
		t.Fatalf("MTU() = %d, want the inner endpoint's 100", rec.MTU())
	}
	if err := rec.WriteFrame(make([]byte, 115)); !errors.Is(err, link.ErrFrameSize) {
		t.Fatalf("WriteFrame(115 bytes) = %v, want ErrFrameSize", err)
	}
	if s := rec.Stats(); s.Recorded != 0 {
		t.Fatalf("recorded %d frames, want 0", s.Recorded)
	}
}

func TestAFailingWriterIsCountedAndTrafficKeepsFlowing(t *testing.T) {
	peer, local := pipe.New(link.DefaultMTU)
	diskFull := errors.New("disk full")
	w := &failingWriter{okBytes: 0, err: diskFull}
	rec, err := pcapng.New(local, w, pcapng.Options{Clock: clock.NewManual(time.Time{})})
	if err != nil {
		t.Fatalf("New: %v (the header is buffered, so New must not fail)", err)
	}
	inbound, outbound := 0, 0
	rec.Attach(link.ReceiverFunc(func([]byte) { inbound++ }))
	peer.Attach(link.ReceiverFunc(func([]byte) { outbound++ }))

	// 20 full-size frames overflow the writer's buffer, so its writes reach the failing writer.
	for range 10 {
		if err := rec.WriteFrame(frame(1, 1514)); err != nil {
			t.Fatalf("WriteFrame: %v", err)
		}
		if err := peer.WriteFrame(frame(2, 1514)); err != nil {
			t.Fatalf("peer WriteFrame: %v", err)
		}
	}
	flushErr := rec.Flush()

	if inbound != 10 || outbound != 10 {
		t.Fatalf("frames passed through: %d inbound, %d outbound; want 10 and 10", inbound, outbound)
	}
	if !errors.Is(flushErr, diskFull) {
		t.Errorf("Flush() = %v, want it to wrap the writer's error", flushErr)
	}
	if !errors.Is(rec.Err(), diskFull) {
		t.Errorf("Err() = %v, want it to wrap the writer's error", rec.Err())
	}
	s := rec.Stats()
	if s.WriteErrors == 0 {
		t.Errorf("Stats() = %+v, want write errors counted", s)
	}
	if s.Recorded+s.WriteErrors != 20+1 {
		t.Errorf("Stats() = %+v: recorded + errors should be 20 frames + 1 flush", s)
	}
	if err := rec.Close(); !errors.Is(err, diskFull) {
		t.Errorf("Close() = %v, want the flush error", err)
	}
}

func TestCloseFlushesAndClosesTheInnerEndpoint(t *testing.T) {
	peer, local := pipe.New(link.DefaultMTU)
	var capture bytes.Buffer
	rec, _ := pcapng.New(local, &capture, pcapng.Options{Clock: clock.NewManual(time.Time{})})
	_ = rec.WriteFrame(frame(1, 60))
	if capture.Len() != 0 {
		t.Fatalf("capture written before Flush or Close (%d bytes); expected buffering", capture.Len())
	}

	if err := rec.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := rec.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	if _, got := readCapture(t, capture.Bytes()); len(got) != 1 {
		t.Fatalf("capture holds %d packets after Close, want 1", len(got))
	}
	if err := peer.WriteFrame(frame(2, 60)); !errors.Is(err, link.ErrClosed) {
		t.Fatalf("inner endpoint still open after Close: peer.WriteFrame = %v", err)
	}
	if err := rec.WriteFrame(frame(3, 60)); !errors.Is(err, link.ErrClosed) {
		t.Fatalf("WriteFrame after Close = %v, want ErrClosed", err)
	}
}

func TestAttachNilLeavesTheInnerEndpointWithoutReceiver(t *testing.T) {
	peer, local := pipe.New(link.DefaultMTU)
	rec, _ := pcapng.New(local, io.Discard, pcapng.Options{})
	rec.Attach(link.ReceiverFunc(func([]byte) {}))
	rec.Attach(nil)
	_ = peer.WriteFrame(frame(1, 60))
	if s := local.Stats(); s.Dropped != 1 {
		t.Fatalf("inner endpoint stats %+v, want the frame dropped there", s)
	}
	if s := rec.Stats(); s.Recorded != 0 {
		t.Fatalf("recorded %d frames, want 0", s.Recorded)
	}
}

func TestConcurrentInboundAndOutboundAreAllRecorded(t *testing.T) {
	peer, local := pipe.New(link.DefaultMTU)
	var mu sync.Mutex
	var capture bytes.Buffer
	rec, _ := pcapng.New(local, &lockedWriter{mu: &mu, w: &capture}, pcapng.Options{})
	rec.Attach(link.ReceiverFunc(func([]byte) {}))
	peer.Attach(link.ReceiverFunc(func([]byte) {}))

	const perSide = 500
	var wg sync.WaitGroup
	wg.Go(func() {
		for range perSide {
			_ = rec.WriteFrame(frame(1, 100))
		}
	})
	wg.Go(func() {
		for range perSide {
			_ = peer.WriteFrame(frame(2, 100))
		}
	})
	wg.Wait()
	if err := rec.Flush(); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	_, got := readCapture(t, capture.Bytes())
	counts := map[pcapgo.NgEpbFlag]int{}
	for i, p := range got {
		counts[p.direction]++
		wantTag := byte(1)
		if p.direction == pcapgo.NgEpbFlagDirectionInbound {
			wantTag = 2
		}
		if !bytes.Equal(p.data, frame(wantTag, 100)) {
			t.Fatalf("packet %d (%v) holds the wrong data", i, p.direction)
		}
	}
	if counts[pcapgo.NgEpbFlagDirectionInbound] != perSide || counts[pcapgo.NgEpbFlagDirectionOutbound] != perSide {
		t.Fatalf("capture holds %v by direction, want %d each", counts, perSide)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestNewRejectsNilArguments(t *testing.T) {
	_, local := pipe.New(link.DefaultMTU)
	if _, err := pcapng.New(nil, io.Discard, pcapng.Options{}); err == nil {
		t.Error("New(nil inner) succeeded")
	}
	if _, err := pcapng.New(local, nil, pcapng.Options{}); err == nil {
		t.Error("New(nil writer) succeeded")
	}
}

func BenchmarkRecordedWriteFrame(b *testing.B) {
	x, y := pipe.New(link.DefaultMTU)
	x.Attach(link.ReceiverFunc(func([]byte) {}))
	rec, err := pcapng.New(y, io.Discard, pcapng.Options{Clock: clock.NewManual(time.Time{})})
	if err != nil {
		b.Fatal(err)
	}
	f := make([]byte, 1514)
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	for b.Loop() {
		if err := rec.WriteFrame(f); err != nil {
			b.Fatal(err)
		}
	}
}
