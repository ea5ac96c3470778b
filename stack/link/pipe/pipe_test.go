package pipe_test

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mtcp-go/mtcp/stack/link"
	"github.com/mtcp-go/mtcp/stack/link/pipe"
)

// collector keeps a copy of every frame it receives.
type collector struct {
	mu     sync.Mutex
	frames [][]byte
}

func (c *collector) DeliverFrame(frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frames = append(c.frames, bytes.Clone(frame))
}

func (c *collector) got() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frames
}

// frame returns a minimum-size frame whose first byte is tag.
func frame(tag byte) []byte {
	f := make([]byte, link.EthernetHeaderLen+4)
	f[0] = tag
	return f
}

func tags(frames [][]byte) []byte {
	out := make([]byte, len(frames))
	for i, f := range frames {
		out[i] = f[0]
	}
	return out
}

func TestWriteFrameDeliversToTheOtherEndBeforeReturning(t *testing.T) {
	a, b := pipe.New(link.DefaultMTU)
	var atA, atB collector
	a.Attach(&atA)
	b.Attach(&atB)

	if err := a.WriteFrame(frame(1)); err != nil {
		t.Fatalf("a.WriteFrame: %v", err)
	}
	if got := tags(atB.got()); !bytes.Equal(got, []byte{1}) {
		t.Fatalf("b received %v right after a.WriteFrame, want [1]", got)
	}
	if err := b.WriteFrame(frame(2)); err != nil {
		t.Fatalf("b.WriteFrame: %v", err)
	}
	if got := tags(atA.got()); !bytes.Equal(got, []byte{2}) {
		t.Fatalf("a received %v, want [2]", got)
	}
	if s := b.Stats(); s != (pipe.Stats{Delivered: 1}) {
		t.Fatalf("b.Stats() = %+v, want 1 delivered", s)
	}
}

func TestWriteFrameChecksTheFrameSize(t *testing.T) {
	const mtu = 100
	a, b := pipe.New(mtu)
	var atB collector
	b.Attach(&atB)
	if a.MTU() != mtu {
		t.Fatalf("MTU() = %d, want %d", a.MTU(), mtu)
	}

	for _, n := range []int{0, link.EthernetHeaderLen - 1, mtu + link.EthernetHeaderLen + 1} {
		if err := a.WriteFrame(make([]byte, n)); !errors.Is(err, link.ErrFrameSize) {
			t.Errorf("WriteFrame(%d bytes) = %v, want ErrFrameSize", n, err)
		}
	}
	for _, n := range []int{link.EthernetHeaderLen, mtu + link.EthernetHeaderLen} {
		if err := a.WriteFrame(make([]byte, n)); err != nil {
			t.Errorf("WriteFrame(%d bytes) = %v, want nil", n, err)
		}
	}
	if got := len(atB.got()); got != 2 {
		t.Fatalf("b received %d frames, want the 2 of valid size", got)
	}
}

func TestFramesWithoutReceiverAreDroppedAndCounted(t *testing.T) {
	a, b := pipe.New(link.DefaultMTU)
	for range 3 {
		if err := a.WriteFrame(frame(1)); err != nil {
			t.Fatalf("WriteFrame: %v", err)
		}
	}
	if s := b.Stats(); s != (pipe.Stats{Dropped: 3}) {
		t.Fatalf("b.Stats() = %+v, want 3 dropped", s)
	}

	var atB collector
	b.Attach(&atB)
	_ = a.WriteFrame(frame(2))
	b.Attach(nil)
	_ = a.WriteFrame(frame(3))

	if got := tags(atB.got()); !bytes.Equal(got, []byte{2}) {
		t.Fatalf("b received %v, want [2]", got)
	}
	if s := b.Stats(); s != (pipe.Stats{Delivered: 1, Dropped: 4}) {
		t.Fatalf("b.Stats() = %+v, want 1 delivered, 4 dropped", s)
	}
}

func TestAttachReplacesTheReceiver(t *testing.T) {
	a, b := pipe.New(link.DefaultMTU)
	var first, second collector
	b.Attach(&first)
	_ = a.WriteFrame(frame(1))
	b.Attach(&second)
	_ = a.WriteFrame(frame(2))
	if !bytes.Equal(tags(first.got()), []byte{1}) || !bytes.Equal(tags(second.got()), []byte{2}) {
		t.Fatalf("first got %v, second got %v; want [1] and [2]", tags(first.got()), tags(second.got()))
	}
}

func TestFramesArrivingDuringADeliveryAreQueuedInOrderNotRecursed(t *testing.T) {
	a, b := pipe.New(link.DefaultMTU)
	var depth, maxDepth int
	var got []byte
	b.Attach(link.ReceiverFunc(func(f []byte) {
		depth++
		maxDepth = max(maxDepth, depth)
		got = append(got, f[0])
		if f[0] == 1 {
			// The peer writes twice more while b is still inside DeliverFrame. The source
			// buffer is reused at once, so the pipe must have copied it.
			buf := frame(2)
			_ = a.WriteFrame(buf)
			buf[0] = 3
			_ = a.WriteFrame(buf)
			buf[0] = 99
			if len(got) != 1 {
				t.Errorf("queued frames were delivered before the current delivery returned")
			}
		}
		depth--
	}))

	if err := a.WriteFrame(frame(1)); err != nil {
		t.Fatalf("WriteFrame: %v", err)
	}

	if !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Fatalf("b received %v, want [1 2 3]", got)
	}
	if maxDepth != 1 {
		t.Fatalf("DeliverFrame nested %d deep, want 1", maxDepth)
	}
	if s := b.Stats(); s.Delivered != 3 {
		t.Fatalf("b delivered %d, want 3", s.Delivered)
	}
}

func TestPingPongBetweenEndsNeverRecurses(t *testing.T) {
	a, b := pipe.New(link.DefaultMTU)
	var depthA, depthB, maxDepth int
	var log []byte
	echo := func(self *pipe.End, depth *int) link.ReceiverFunc {
		return func(f []byte) {
			*depth++
			maxDepth = max(maxDepth, *depth)
			log = append(log, f[0])
			if f[0] < 10 {
				_ = self.WriteFrame(frame(f[0] + 1))
			}
			*depth--
		}
	}
	a.Attach(echo(a, &depthA))
	b.Attach(echo(b, &depthB))

	_ = a.WriteFrame(frame(0))

	if want := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}; !bytes.Equal(log, want) {
		t.Fatalf("frames seen %v, want %v", log, want)
	}
	if maxDepth != 1 {
		t.Fatalf("an end's DeliverFrame nested %d deep, want 1", maxDepth)
	}
}

func TestConcurrentWritersNeverOverlapDeliveries(t *testing.T) {
	a, b := pipe.New(link.DefaultMTU)
	var inside atomic.Bool
	var delivered atomic.Int64
	b.Attach(link.ReceiverFunc(func([]byte) {
		if !inside.CompareAndSwap(false, true) {
			t.Error("DeliverFrame called while another delivery was running")
		}
		delivered.Add(1)
		inside.Store(false)
	}))

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			f := frame(1)
			for range 500 {
				_ = a.WriteFrame(f)
			}
		})
	}
	wg.Wait()

	if delivered.Load() != 8*500 || b.Stats().Delivered != 8*500 {
		t.Fatalf("delivered %d (stats %d), want %d", delivered.Load(), b.Stats().Delivered, 8*500)
	}
}

func TestAPanickingReceiverDoesNotWedgeTheEnd(t *testing.T) {
	a, b := pipe.New(link.DefaultMTU)
	b.Attach(link.ReceiverFunc(func([]byte) { panic("receiver bug") }))
	func() {
		defer func() { _ = recover() }()
		_ = a.WriteFrame(frame(1))
	}()

	var atB collector
	b.Attach(&atB)
	_ = a.WriteFrame(frame(2))
	if got := tags(atB.got()); !bytes.Equal(got, []byte{2}) {
		t.Fatalf("after a receiver panic b received %v, want [2]", got)
	}
}

func TestCloseOnEitherEndClosesBoth(t *testing.T) {
	for _, closeA := range []bool{true, false} {
		a, b := pipe.New(link.DefaultMTU)
		closing := b
		if closeA {
			closing = a
		}
		if err := closing.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := closing.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		for name, e := range map[string]*pipe.End{"a": a, "b": b} {
			if err := e.WriteFrame(frame(1)); !errors.Is(err, link.ErrClosed) {
				t.Errorf("closeA=%v: %s.WriteFrame after Close = %v, want ErrClosed", closeA, name, err)
			}
		}
	}
}

func TestNewRejectsAnMTUBelow68(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New(67) did not panic")
		}
	}()
	pipe.New(67)
}

func TestWriteFrameDoesNotAllocate(t *testing.T) {
	a, b := pipe.New(link.DefaultMTU)
	sink := 0
	b.Attach(link.ReceiverFunc(func(f []byte) { sink += len(f) }))
	f := make([]byte, 1514)
	allocs := testing.AllocsPerRun(1000, func() {
		if err := a.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("WriteFrame allocated %.1f times per frame, want 0", allocs)
	}
}

func BenchmarkWriteFrame(b *testing.B) {
	x, y := pipe.New(link.DefaultMTU)
	sink := 0
	y.Attach(link.ReceiverFunc(func(f []byte) { sink += len(f) }))
	f := make([]byte, 1514)
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	for b.Loop() {
		if err := x.WriteFrame(f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteFrameBothWays writes on both ends at once, from two goroutines, as two stacks
// joined by a pipe do: each end's lock and counters are then touched by both cores.
func BenchmarkWriteFrameBothWays(b *testing.B) {
	x, y := pipe.New(link.DefaultMTU)
	x.Attach(link.ReceiverFunc(func([]byte) {}))
	y.Attach(link.ReceiverFunc(func([]byte) {}))
	f := make([]byte, 64)
	b.ReportAllocs()
	b.SetParallelism(1)
	var which atomic.Int32
	b.RunParallel(func(pb *testing.PB) {
		end := x
		if which.Add(1)%2 == 0 {
			end = y
		}
		for pb.Next() {
			if err := end.WriteFrame(f); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// blocker is a receiver whose first delivery waits for release; it reports each frame's
// first byte on got as the frame arrives.
type blocker struct {
	got     chan byte
	release chan struct{}
	first   atomic.Bool
}

func (b *blocker) DeliverFrame(f []byte) {
	b.got <- f[0]
	if b.first.CompareAndSwap(false, true) {
		<-b.release
	}
}

type concurrentBlocker struct{ *blocker }

func (concurrentBlocker) ConcurrentDelivery() {}

// A link.ConcurrentReceiver is called by a second writer while a first delivery is still
// running; any other receiver gets the second frame only after the first delivery returns.
func TestConcurrentReceiverIsNotSerialized(t *testing.T) {
	for _, concurrent := range []bool{false, true} {
		x, y := pipe.New(link.DefaultMTU)
		b := &blocker{got: make(chan byte, 2), release: make(chan struct{})}
		if concurrent {
			y.Attach(concurrentBlocker{b})
		} else {
			y.Attach(b)
		}
		done := make(chan error, 1)
		go func() { done <- x.WriteFrame(frameOf(1)) }()
		if got := <-b.got; got != 1 {
			t.Fatalf("first frame %d, want 1", got)
		}
		second := make(chan error, 1)
		go func() { second <- x.WriteFrame(frameOf(2)) }()
		if concurrent {
			// Delivered at once, the first delivery still blocked.
			if got := <-b.got; got != 2 {
				t.Fatalf("concurrent: second frame %d, want 2", got)
			}
		} else {
			// Queued: WriteFrame returns with the frame not yet delivered.
			if err := <-second; err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-b.got:
				t.Fatalf("serialized: frame %d delivered during the first delivery", got)
			default:
			}
		}
		close(b.release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if !concurrent {
			if got := <-b.got; got != 2 { // delivered when the first delivery returned
				t.Fatalf("serialized: second frame %d, want 2", got)
			}
		} else if err := <-second; err != nil {
			t.Fatal(err)
		}
		if n := y.Stats().Delivered; n != 2 {
			t.Errorf("concurrent %v: %d delivered, want 2", concurrent, n)
		}
	}
}

func frameOf(b byte) []byte {
	f := make([]byte, 60)
	f[0] = b
	return f
}

type nopConcurrent struct{}

func (nopConcurrent) DeliverFrame([]byte) {}
func (nopConcurrent) ConcurrentDelivery() {}

// BenchmarkWriteFrameConcurrent writes on one end from two goroutines at once to a
// link.ConcurrentReceiver, as a stack's driver and a writer of it do.
func BenchmarkWriteFrameConcurrent(b *testing.B) {
	x, y := pipe.New(link.DefaultMTU)
	y.Attach(nopConcurrent{})
	f := make([]byte, 64)
	b.ReportAllocs()
	b.SetParallelism(1)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := x.WriteFrame(f); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if got := y.Stats().Delivered; got != uint64(b.N) {
		b.Fatalf("%d delivered, want %d", got, b.N)
	}
}
