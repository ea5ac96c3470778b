package stack

import (
	"net/netip"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/stack/link/pipe"
)

// A burst bigger than the receive queue, while the driver is held up: the queue doubles as it
// fills, up to RxQueueMax, and only what comes past that is dropped; every frame queued then
// reaches the core, in order. With the queue unable to grow (RxQueueMax = RxQueue), the same
// burst loses all but RxQueue frames (the control).
func TestReceiveQueueGrowsWithABurst(t *testing.T) {
	for _, c := range []struct{ max, burst, queued int }{
		{4096, 3000, 3000},
		{1024, 3000, 1024},
		{512, 3000, 512},
	} {
		a, b := pipe.New(1500)
		s, err := New(Config{Link: a, Addr: netip.MustParsePrefix("198.18.0.2/24"), RxQueueMax: c.max})
		if err != nil {
			t.Fatal(err)
		}
		_ = b
		// A frame for another host: the core counts it in and drops it.
		frame := make([]byte, 60)
		copy(frame, []byte{2, 0, 0, 0, 0, 9, 2, 0, 0, 0, 0, 1, 0x08, 0x00})
		s.mu.Lock() // the driver waits here: nothing leaves the queue
		for range c.burst {
			s.DeliverFrame(frame)
		}
		st := s.rxStats
		s.mu.Unlock()
		if drops := int(st.RxQueueDrops); drops != c.burst-c.queued {
			t.Errorf("RxQueueMax %d: %d frames dropped, want %d", c.max, drops, c.burst-c.queued)
		}
		deadline := time.Now().Add(10 * time.Second)
		for int(s.Stats().Link.FramesIn) < c.queued && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if got := s.Stats(); int(got.Link.FramesIn) != c.queued || int(got.RxQueueLen) < min(c.max, c.queued) {
			t.Errorf("RxQueueMax %d: %d frames reached the core, want %d; queue %d slots", c.max, got.Link.FramesIn, c.queued, got.RxQueueLen)
		}
		s.Close()
	}
}

// Frames that arrive one at a time hold one frame buffer between them, however many pass and
// however large the queue has grown: a buffer goes back to the spares when its frame has been
// handled, so memory follows how many frames waited at once, not the queue's size. The burst
// (the control) leaves as many buffers as frames waited together.
func TestReceiveQueueBuffersFollowDepth(t *testing.T) {
	a, _ := pipe.New(1500)
	s, err := New(Config{Link: a, Addr: netip.MustParsePrefix("198.18.0.2/24")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	frame := make([]byte, 60)
	copy(frame, []byte{2, 0, 0, 0, 0, 9, 2, 0, 0, 0, 0, 1, 0x08, 0x00})
	buffers := func() int {
		s.rxMu.Lock()
		defer s.rxMu.Unlock()
		return len(s.rxFree) + s.rxLen
	}
	waitHandled := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); int(s.Stats().Link.FramesIn) < n; time.Sleep(100 * time.Microsecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d frames reached the core, want %d", s.Stats().Link.FramesIn, n)
			}
		}
	}
	for i := range 600 {
		s.DeliverFrame(frame)
		waitHandled(i + 1)
	}
	if got := buffers(); got != 1 {
		t.Errorf("after 600 frames one at a time: %d frame buffers, want 1", got)
	}
	s.mu.Lock()
	for range 700 {
		s.DeliverFrame(frame)
	}
	s.mu.Unlock()
	waitHandled(1300)
	if got := buffers(); got != 700 {
		t.Errorf("after a burst of 700: %d frame buffers, want 700", got)
	}
}
