package replay

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mtcp-go/mtcp/stack/clock"
	"github.com/mtcp-go/mtcp/stack/link/pcapng"
)

// maxHeld bounds the frames the output holds back waiting for their comments: flat memory.
const maxHeld = 1 << 16

// output writes the replay's pcapng: frames are held back for a while (two horizons of virtual
// time, at most maxHeld frames), so that the comment saying which capture frame a stack frame
// corresponds to, known only when the recorded one is read, can still be added; they are
// then streamed to a temporary file. At the end, the file is written with the verdict in its
// section comment, followed by the frames.
type output struct {
	path    string
	tmp     *os.File
	w       *pcapng.Writer
	counted *countingWriter
	header  int64 // bytes of the temporary file's own section and interface headers
	held    []*outFrame
	last    *outFrame
	sc      *scan
}

// outFrame is a frame of the output with its comments.
type outFrame struct {
	f  pcapng.Frame // its Time is on the capture's clock (see output.add)
	at time.Time    // virtual time: when the replay made it
	// frames are the capture frames it corresponds to, named in one comment.
	frames []int
	// fallback is its comment if it gets no other (a pure ACK of the stack's no recorded
	// ACK needed, say).
	fallback string
}

// corresponds records that the frame corresponds to capture frame n.
func (o *outFrame) corresponds(n int) {
	if o != nil && !slices.Contains(o.frames, n) {
		o.frames = append(o.frames, n)
	}
}

// comments are the frame's comments as written: those it was given, after the capture frames
// it corresponds to; a frame of the stack's with none says why (end is the capture's last
// record, in virtual time; zero while the replay runs, when every frame written is before).
func (o *outFrame) comments(end time.Time) []string {
	cs := o.f.Comments
	if len(o.frames) > 0 {
		sort.Ints(o.frames)
		cs = append([]string{"corresponds to capture " + frameList(o.frames)}, cs...)
	}
	if len(cs) > 0 || o.f.Direction != pcapng.Outbound {
		return cs
	}
	switch {
	case !end.IsZero() && o.at.After(end):
		return []string{"not compared: sent after the capture's end (the replay runs one horizon past it)"}
	case o.fallback != "":
		return []string{o.fallback}
	}
	return []string{"extra: no recorded frame corresponds"}
}

func (o *outFrame) note(format string, args ...any) {
	if o != nil {
		o.f.Comments = append(o.f.Comments, fmt.Sprintf(format, args...))
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func newOutput(path string, sc *scan) (*output, error) {
	o := &output{path: path, sc: sc}
	if path == "" {
		return o, nil
	}
	tmp, err := outFiles.create(func() (*os.File, error) { return os.CreateTemp(filepath.Dir(path), ".mtcp-replay-*.pcapng") })
	if err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	o.tmp = tmp
	o.counted = &countingWriter{w: tmp}
	o.w, err = pcapng.NewWriter(o.counted, "replay0", "")
	if err == nil {
		err = o.w.Flush()
	}
	if err != nil {
		o.abandon()
		return nil, fmt.Errorf("output %s: %w", path, err)
	}
	o.header = o.counted.n
	return o, nil
}

// captureTime is virtual time at on the capture's clock: the output's frames line up with
// the capture's in Wireshark.
func (o *output) captureTime(at time.Time) time.Time { return o.sc.start.Add(at.Sub(clock.Epoch)) }

// add appends a frame (copied), made at virtual time at and stamped stamp (the capture's
// own timestamp for a record injected as it was captured, else captureTime(at)), and returns
// it, for comments.
func (o *output) add(at, stamp time.Time, dir pcapng.Direction, data []byte, comments ...string) *outFrame {
	if o.w == nil {
		return nil
	}
	f := &outFrame{at: at, f: pcapng.Frame{Time: stamp, Direction: dir, Data: append([]byte(nil), data...), Comments: comments}}
	o.held = append(o.held, f)
	o.last = f
	if len(o.held) > maxHeld {
		o.write(o.held[:len(o.held)/2], time.Time{})
		o.held = append(o.held[:0], o.held[len(o.held)/2:]...)
	}
	return f
}

// noteLast comments the latest frame: for differences that concern no frame of the stack.
func (o *output) noteLast(format string, args ...any) { o.last.note(format, args...) }

// flushBefore writes the frames older than t.
func (o *output) flushBefore(t time.Time) {
	if o.w == nil {
		return
	}
	n := 0
	for n < len(o.held) && o.held[n].at.Before(t) {
		n++
	}
	if n > 0 {
		o.write(o.held[:n], time.Time{})
		o.held = append(o.held[:0], o.held[n:]...)
	}
}

// write writes frames; end is the capture's end in virtual time, or zero (see comments).
func (o *output) write(fs []*outFrame, end time.Time) {
	for _, f := range fs {
		if o.w != nil {
			pf := f.f
			pf.Comments = f.comments(end)
			if err := o.w.WriteFrame(pf); err != nil {
				o.w = nil // reported by close
				return
			}
		}
	}
}

// close writes the final file: its section comment says what was replayed and the verdict.
func (o *output) close(r *Report) error {
	if o.path == "" {
		return nil
	}
	defer o.abandon()
	if o.w == nil {
		return fmt.Errorf("output %s: writing frames failed", o.path)
	}
	o.write(o.held, clock.Epoch.Add(r.Elapsed))
	o.held = nil
	if o.w == nil {
		return fmt.Errorf("output %s: writing frames failed", o.path)
	}
	if err := o.w.Flush(); err != nil {
		return fmt.Errorf("output %s: %w", o.path, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "mtcp-replay of %s\nthe stack plays %v (%v): %s\nverdict: %s", r.Capture, r.Host, r.HostMAC, r.Why, r.Verdict())
	for i, d := range r.Differences {
		if i == maxListed {
			fmt.Fprintf(&b, "\n... and %d more differences", r.NumDifferences()-maxListed)
			break
		}
		fmt.Fprintf(&b, "\n%s", d)
	}
	f, err := outFiles.create(func() (*os.File, error) { return os.Create(o.path) })
	if err != nil {
		return fmt.Errorf("output: %w", err)
	}
	defer outFiles.forget(o.path)
	bw := bufio.NewWriter(f)
	w, err := pcapng.NewWriter(bw, "replay0", b.String())
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		_, err = o.tmp.Seek(o.header, io.SeekStart)
	}
	if err == nil {
		_, err = io.Copy(bw, o.tmp)
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(o.path) // no partial output
		return fmt.Errorf("output %s: %w", o.path, err)
	}
	return nil
}

// abandon removes the temporary file.
func (o *output) abandon() {
	if o.tmp != nil {
		o.tmp.Close()
		os.Remove(o.tmp.Name())
		outFiles.forget(o.tmp.Name())
		o.tmp = nil
	}
}

// outFiles are the output files being written (the temporary file, the output while it is
// copied there), for removeOutputs.
var outFiles = newFileSet()

// removeOutputs removes the output files being written and refuses to create more: for a
// command that exits at once, when a second signal interrupts it.
func removeOutputs() { outFiles.shut() }

// fileSet is a set of files being written.
type fileSet struct {
	mu     sync.Mutex
	names  map[string]bool
	closed bool
}

func newFileSet() *fileSet { return &fileSet{names: map[string]bool{}} }

// create creates a file with create and adds it to the set, unless the set was shut.
func (s *fileSet) create(create func() (*os.File, error)) (*os.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errInterrupted
	}
	f, err := create()
	if err == nil {
		s.names[f.Name()] = true
	}
	return f, err
}

// forget takes a file out of the set: it is complete, or removed.
func (s *fileSet) forget(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.names, name)
}

// shut removes the files of the set, and no more are created.
func (s *fileSet) shut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for name := range s.names {
		os.Remove(name)
		delete(s.names, name)
	}
}

var errInterrupted = errors.New("interrupted")
