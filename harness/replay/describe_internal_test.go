package replay

import (
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/stack/clock"
	"github.com/mtcp-go/mtcp/stack/link/pcapng"
)

// testConv is a conversation of an engine that records differences and has no output.
func testConv(opts Options) *conv {
	if opts.Horizon == 0 {
		opts.Horizon = 3 * time.Second
	}
	e := &engine{opts: opts, rep: &Report{}, out: &output{}, now: clock.Epoch}
	return &conv{e: e, name: "198.18.1.1:40000 -> 198.18.1.2:80"}
}

// Sequence numbers are relative to each side's ISN (the stack's to its own), or all absolute
// with Options.Absolute; a side whose SYN is unknown counts from its first number seen, less
// one, as Wireshark does, the recorded host and the stack from the same base.
func TestNumbering(t *testing.T) {
	c := testConv(Options{})
	c.hostISN, c.hostISNOK = 1000, true
	c.stackISN, c.stackOK = 5000, true
	c.peerISN, c.peerISNOK = 0xfffffff0, true
	if h, s, p := c.hostSeq(1001), c.stackSeq(5001), c.peerSeq(0xfffffff0+5); h != 1 || s != 1 || p != 5 {
		t.Errorf("relative: host %d, stack %d, peer %d; want 1, 1, 5", h, s, p)
	}
	if h, s := c.hostByte(10), c.stackByte(10); h != 11 || s != 11 {
		t.Errorf("byte offset 10: host %d, stack %d; want 11 for both", h, s)
	}
	a := testConv(Options{Absolute: true})
	a.hostISN, a.hostISNOK = 1000, true
	a.stackISN, a.stackOK = 5000, true
	if h, s, p := a.hostSeq(1001), a.stackSeq(5001), a.peerSeq(77); h != 1001 || s != 5001 || p != 77 {
		t.Errorf("absolute: host %d, stack %d, peer %d; want 1001, 5001, 77", h, s, p)
	}
	if got := a.asStacks(0, 84); got != ", the stack's 5001:5085" {
		t.Errorf("absolute, the host's bytes as the stack's: %q", got)
	}
	if got := c.asStacks(0, 84); got != "" {
		t.Errorf("relative numbers need no translation, got %q", got)
	}
	// No SYN of the host (a reset from a closed port) nor of the stack: one base for both,
	// so that numbers compared as they are stay apart as they are.
	g := testConv(Options{})
	if h, s := g.hostSeq(0), g.stackSeq(5); h != 1 || s != 6 {
		t.Errorf("no ISN: host's 0 shown %d, stack's 5 shown %d; want 1 and 6", h, s)
	}
	if p, q := g.peerSeq(3155636567), g.peerSeq(3155636600); p != 1 || q != 34 {
		t.Errorf("no ISN of the peer: its first ack shown %d, a later one %d; want 1 and 34", p, q)
	}
}

// The messages that used to contradict themselves: "the stack did not acknowledge 0 (it
// acknowledged 0)" when the peer's SYN was never replayed, and "stack: nothing" under "the
// stack retransmitted N times".
func TestMessagesDoNotContradict(t *testing.T) {
	c := testConv(Options{})
	x := &tcpExp{kind: expAck, frame: 7, ack: 0, ackShown: 25, desc: ". 85:85(0) ack 25 win 58376"}
	if got := c.ackMissing(x); !strings.Contains(got, "did not acknowledge 25 (no SYN of the peer was replayed") {
		t.Errorf("no SYN of the peer: %q", got)
	}
	c.peerISN, c.peerISNOK = 100, true
	if got := c.ackMissing(x); got != "the stack did not acknowledge 25 (it sent nothing in this conversation)" {
		t.Errorf("nothing sent: %q", got)
	}
	c.stackSegs = 1
	if got := c.ackMissing(x); got != "the stack did not acknowledge 25 (it acknowledged nothing)" {
		t.Errorf("no ack sent: %q", got)
	}
	c.maxAck, c.hasAck = 10, true
	if got := c.ackMissing(x); got != "the stack did not acknowledge 25 (it acknowledged up to 10)" {
		t.Errorf("acked less: %q", got)
	}
	for _, s := range []struct {
		segs    int
		ok      bool
		sentEnd uint32
		want    string
	}{
		{0, false, 0, "it sent nothing in this conversation"},
		{1, false, 0, "it sent no SYN, so no data"},
		{1, true, 0, "it sent no data"},
		{3, true, 84, "it sent up to 85"},
	} {
		d := testConv(Options{})
		d.stackSegs, d.stackOK, d.sentEnd = s.segs, s.ok, s.sentEnd
		if got := d.sentSoFar(); got != s.want {
			t.Errorf("%+v: %q, want %q", s, got, s.want)
		}
	}

	r := testConv(Options{})
	r.stackOK, r.stackRetrans, r.hostRetrans = true, 3, 1
	r.cmp.firstRetransDesc, r.cmp.firstRetransAt = "P. 1449:2897(1448) ack 1 win 502", clock.Epoch.Add(2*time.Second)
	r.expire(clock.Epoch.Add(time.Hour), true)
	if len(r.e.rep.Differences) != 1 {
		t.Fatalf("differences %+v, want the retransmissions", r.e.rep.Differences)
	}
	d := r.e.rep.Differences[0]
	text := d.String()
	if d.What != "the stack retransmitted 3 times, the recorded host once" || strings.Contains(text, "nothing") ||
		!strings.Contains(text, "recorded host: 1 retransmission\n") ||
		!strings.Contains(text, "stack:         3 retransmissions; the first beyond the recorded host's: P. 1449:2897(1448)") ||
		d.At != 2*time.Second {
		t.Errorf("retransmissions: %+v\n%s", d, text)
	}
	// A difference about no segment of either side has no "nothing" lines.
	if s := (Difference{What: "the stack cannot dial: no route"}).String(); strings.Contains(s, "nothing") || strings.Contains(s, "\n") {
		t.Errorf("%q", s)
	}
}

// --compare window compares windows scaled by the shift each side negotiated, and says so;
// a SYN's window is never scaled; a shift counts only when the peer offered one too.
func TestWindowDiffScales(t *testing.T) {
	c := testConv(Options{CompareWindow: true})
	c.cmp.hostWS, c.cmp.hostSYNSeen = 7, true
	c.cmp.stackWS, c.cmp.stackSYNSeen = 3, true
	c.cmp.peerWS, c.cmp.peerSYNSeen = 2, true
	fin := &tcpExp{flags: flFIN | flACK, win: 512}
	if got := c.windowDiff(&ctlSeg{flags: flFIN | flACK, win: 8192}, fin); got != "" {
		t.Errorf("8192 << 3 and 512 << 7 are the same window: %q", got)
	}
	fin.win = 511
	if got := c.windowDiff(&ctlSeg{flags: flFIN | flACK, win: 8192}, fin); got != "window 65536 (8192 << scale 3), recorded 65408 (511 << scale 7)" {
		t.Errorf("scaled: %q", got)
	}
	syn := &tcpExp{flags: flSYN | flACK, win: 64240}
	if got := c.windowDiff(&ctlSeg{flags: flSYN | flACK, win: 65535}, syn); got != "window 65535, recorded 64240 (a SYN's window is not scaled)" {
		t.Errorf("SYN: %q", got)
	}
	c.cmp.peerWS = -1 // the peer offered no window scale: neither side scales
	if got := c.windowDiff(&ctlSeg{flags: flFIN | flACK, win: 8192}, &tcpExp{flags: flFIN | flACK, win: 8192}); got != "" {
		t.Errorf("unscaled, the same field: %q", got)
	}
	if got := c.windowDiff(&ctlSeg{flags: flFIN | flACK, win: 8192}, fin); got != "window 8192 (8192 << scale 0), recorded 511 (511 << scale 0)" {
		t.Errorf("unscaled: %q", got)
	}
}

// A reset with ACK and one without, of the same sequence number, pair (and count as the
// same retransmission); only --compare rst-ack tells them apart.
func TestRSTAndRSTACK(t *testing.T) {
	if !sameControl(flRST, flRST|flACK) || !sameControl(flRST|flACK, flRST) || sameControl(flSYN, flSYN|flACK) || sameControl(flFIN, flFIN|flACK) {
		t.Error("sameControl")
	}
	if ctlKey(flRST, 7) != ctlKey(flRST|flACK, 7) || ctlKey(flFIN, 7) == ctlKey(flFIN|flACK, 7) {
		t.Error("ctlKey")
	}
	s, x := &ctlSeg{flags: flRST | flACK}, &tcpExp{flags: flRST}
	if d := testConv(Options{}).rstACKDiff(s, x); d != "" {
		t.Errorf("by default: %q", d)
	}
	if d := testConv(Options{CompareRSTACK: true}).rstACKDiff(s, x); d != "the stack's reset carries an ACK, the recorded host's does not" {
		t.Errorf("--compare rst-ack: %q", d)
	}
}

// Every frame of the stack's in the output says something: the capture frames it
// corresponds to, its own notes, or why it corresponds to none.
func TestOutputFrameComments(t *testing.T) {
	end := clock.Epoch.Add(time.Second)
	out := func(at time.Duration) *outFrame {
		return &outFrame{at: clock.Epoch.Add(at), f: pcapng.Frame{Direction: pcapng.Outbound}}
	}
	f := out(0)
	f.corresponds(9)
	f.corresponds(3)
	f.corresponds(9)
	f.note("a retransmission of 1:1449")
	if got := f.comments(end); len(got) != 2 || got[0] != "corresponds to capture frames 3 and 9" || got[1] != "a retransmission of 1:1449" {
		t.Errorf("%q", got)
	}
	one := out(0)
	one.corresponds(2)
	if got := one.comments(end); len(got) != 1 || got[0] != "corresponds to capture frame 2" {
		t.Errorf("%q", got)
	}
	if got := out(2 * time.Second).comments(end); len(got) != 1 || !strings.HasPrefix(got[0], "not compared: sent after the capture's end") {
		t.Errorf("after the end: %q", got)
	}
	if got := out(0).comments(end); len(got) != 1 || got[0] != "extra: no recorded frame corresponds" {
		t.Errorf("unmatched: %q", got)
	}
	if got := out(0).comments(time.Time{}); len(got) != 1 || got[0] != "extra: no recorded frame corresponds" {
		t.Errorf("unmatched, written while the replay runs: %q", got)
	}
	ack := out(0)
	ack.fallback = "extra: no recorded ACK corresponds"
	if got := ack.comments(end); len(got) != 1 || got[0] != ack.fallback {
		t.Errorf("pure ACK: %q", got)
	}
	in := &outFrame{f: pcapng.Frame{Direction: pcapng.Inbound}}
	if got := in.comments(end); len(got) != 0 {
		t.Errorf("an injected frame gets no made-up comment: %q", got)
	}
}

// The stack's data is described by sequence numbers relative to its ISN, as its segments are
// (not by stream offsets, one less): a payload that differs names its first differing byte;
// a segment past a hole names the hole; bytes never written, their range.
func TestStackDataMessages(t *testing.T) {
	c := testConv(Options{})
	c.stackISN, c.stackOK = 5000, true
	c.peerISN, c.peerISNOK = 9000, true
	c.written.append([]byte("hello world"))
	seg := func(seq uint32, p string) *layers.TCP {
		return &layers.TCP{Seq: 5000 + seq, Ack: 9001, ACK: true, PSH: true, Window: 100, BaseLayer: layers.BaseLayer{Payload: []byte(p)}}
	}
	c.peerGiven = 1
	c.stackSegment(seg(1, "hellO"), nil)
	c.stackSegment(seg(9, "rld"), nil)
	c.stackSegment(seg(6, " world!"), nil)
	var got []string
	for _, d := range c.e.rep.Differences {
		got = append(got, d.What)
	}
	want := []string{
		"the stack's payload differs from what the application wrote from 5 on",
		"the stack skipped 6:9 (this segment begins past what it had sent)",
		"the stack sent 6:13, which the application never wrote",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("differences:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d := c.e.rep.Differences[0]; d.Stack != "P. 1:6(5) ack 1 win 100" {
		t.Errorf("the stack's segment: %q", d.Stack)
	}
}

// The report keeps the first maxKept differences and counts the others: memory stays flat
// however many a replay finds, and the verdict counts them all.
func TestDifferencesKeptAndCounted(t *testing.T) {
	e := &engine{rep: &Report{}, out: &output{}}
	for i := range maxKept + 500 {
		e.diff(Difference{Frame: i + 1, What: "x"}, nil)
	}
	r := e.rep
	if len(r.Differences) != maxKept || r.MoreDifferences != 500 || r.NumDifferences() != maxKept+500 {
		t.Fatalf("kept %d, more %d", len(r.Differences), r.MoreDifferences)
	}
	r.Compared = 1
	var b strings.Builder
	r.Write(&b)
	if !strings.HasSuffix(b.String(), "different: 1500 differences\n") || !strings.Contains(b.String(), "  ... and 1400 more (all of them are in the output capture's comments)\n") {
		t.Errorf("report:\n%s", b.String())
	}
}

// A conversation with capture gaps lacks the peer's ACKs with the host's segments: the
// stack's retransmissions beyond the host's are said as an artefact, not a difference (a
// 200 MB download recorded with 3588 frames dropped by dumpcap: 12 against 3). Without gaps
// they are a difference.
func TestRetransmissionsWithCaptureGaps(t *testing.T) {
	for _, gaps := range []int{0, 2} {
		e := &engine{rep: &Report{}, out: &output{}, opts: Options{Horizon: time.Second}}
		c := &conv{e: e, name: "198.18.1.1:40000 -> 198.18.1.2:80", stackRetrans: 12, hostRetrans: 3, gaps: gaps}
		c.expire(time.Time{}, true)
		switch {
		case gaps == 0 && (len(e.rep.Differences) != 1 || e.rep.Differences[0].What != "the stack retransmitted 12 times, the recorded host 3 times" || len(e.rep.Artefacts) != 0):
			t.Errorf("no gaps: differences %v, artefacts %q", e.rep.Differences, e.rep.Artefacts)
		case gaps > 0 && (len(e.rep.Differences) != 0 || len(e.rep.Artefacts) != 1 ||
			e.rep.Artefacts[0] != "retransmissions not compared in 198.18.1.1:40000 -> 198.18.1.2:80, which has capture gaps (the peer's ACKs are missing with the host's segments): the stack retransmitted 12 times, the recorded host 3 times"):
			t.Errorf("gaps: differences %v, artefacts %q", e.rep.Differences, e.rep.Artefacts)
		}
	}
}
