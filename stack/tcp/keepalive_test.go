package tcp

import (
	"errors"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// TestKeepAliveProbesThenTimesOut: with keepalive on (RFC 1122 4.2.3.6), an idle connection
// sends a probe (SEG.SEQ = SND.NXT-1, no data) every period; an answer starts the count over;
// KeepAliveProbes unanswered probes end the connection with ErrTimeout.
func TestKeepAliveProbesThenTimesOut(t *testing.T) {
	c, h := established(t, 1<<16)
	c.sndUna, c.sndNxt, c.sndBufSeq = 5001, 5001, 5001
	c.sndWnd = 65535
	c.SetKeepAlivePeriod(10 * time.Second)
	c.SetKeepAlive(true)
	run := func(d time.Duration) {
		end := h.now.Add(d)
		for {
			next, ok := h.timers.Next()
			if !ok || next.After(end) {
				break
			}
			h.now = next
			h.timers.Fire(next)
		}
		h.now = end
	}
	probe := func(i int) {
		t.Helper()
		if len(h.sent) != i {
			t.Fatalf("%d segments sent, want %d probes", len(h.sent), i)
		}
		seg, err := wire.ParseTCP(h.sent[i-1])
		if err != nil || seg.SeqNum() != 5000 || len(seg.Payload()) != 0 || seg.Flags() != wire.ACK {
			t.Fatalf("probe %d: seq %d, %d bytes, flags %v; want seq 5000, no data, ACK", i, seg.SeqNum(), len(seg.Payload()), seg.Flags())
		}
	}
	run(10*time.Second - time.Millisecond)
	if len(h.sent) != 0 {
		t.Fatal("a probe before the idle period")
	}
	run(time.Millisecond)
	probe(1)
	// The peer answers: the count starts over, the next probe comes a full period later.
	c.segmentArrives(h.now, &segment{seq: c.rcvNxt, ack: 5001, flags: wire.ACK, wnd: 65535})
	run(10 * time.Second)
	probe(2)
	// No more answers: probes every period until KeepAliveProbes (9) went unanswered.
	run(8 * 10 * time.Second)
	probe(10)
	if c.Err() != nil {
		t.Fatalf("ended early: %v", c.Err())
	}
	run(10 * time.Second)
	if !errors.Is(c.Err(), ErrTimeout) || c.State() != Closed {
		t.Fatalf("after 9 unanswered probes: state %v, err %v; want CLOSED, ErrTimeout", c.State(), c.Err())
	}
}
