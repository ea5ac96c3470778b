package fault_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/stack/clock"
	"github.com/mtcp-go/mtcp/stack/link"
	"github.com/mtcp-go/mtcp/stack/link/fault"
	"github.com/mtcp-go/mtcp/stack/link/pipe"
)

// bench is an Injector wrapping one end of a pipe; the peer end plays the network.
type bench struct {
	inj      *fault.Injector
	peer     *pipe.End
	clk      *clock.Manual
	received [][]byte // inbound frames that reached the stack side
	sent     [][]byte // outbound frames that reached the peer
}

func newBench(t testing.TB, cfg fault.Config) *bench {
	t.Helper()
	peer, local := pipe.New(link.DefaultMTU)
	b := &bench{peer: peer, clk: clock.NewManual(time.Time{})}
	if cfg.Scheduler == nil {
		cfg.Scheduler = b.clk
	}
	inj, err := fault.New(local, cfg)
	if err != nil {
		t.Fatalf("fault.New: %v", err)
	}
	b.inj = inj
	inj.Attach(link.ReceiverFunc(func(f []byte) { b.received = append(b.received, bytes.Clone(f)) }))
	peer.Attach(link.ReceiverFunc(func(f []byte) { b.sent = append(b.sent, bytes.Clone(f)) }))
	return b
}

// numbered returns a 64-byte frame carrying n after the Ethernet header.
func numbered(n int) []byte {
	f := make([]byte, 64)
	binary.BigEndian.PutUint32(f[link.EthernetHeaderLen:], uint32(n))
	return f
}

func numbers(frames [][]byte) []int {
	out := make([]int, len(frames))
	for i, f := range frames {
		out[i] = int(binary.BigEndian.Uint32(f[link.EthernetHeaderLen:]))
	}
	return out
}

// run sends frames 0..n-1 in both directions, one pair per virtual millisecond, and returns
// everything that came out, in order, tagged with its direction.
func run(t *testing.T, cfg fault.Config, n int) ([]string, fault.Stats) {
	t.Helper()
	b := newBench(t, cfg)
	var log []string
	b.inj.Attach(link.ReceiverFunc(func(f []byte) { log = append(log, fmt.Sprintf("in %x", f)) }))
	b.peer.Attach(link.ReceiverFunc(func(f []byte) { log = append(log, fmt.Sprintf("out %x", f)) }))
	for i := range n {
		if err := b.inj.WriteFrame(numbered(i)); err != nil {
			t.Fatalf("WriteFrame: %v", err)
		}
		if err := b.peer.WriteFrame(numbered(i)); err != nil {
			t.Fatalf("peer WriteFrame: %v", err)
		}
		b.clk.Advance(time.Millisecond)
	}
	b.clk.Advance(time.Second)
	return log, b.inj.Stats()
}

func allFaults(seed uint64) fault.Config {
	return fault.Config{
		Seed: seed, Drop: 0.1, Duplicate: 0.1, Reorder: 0.1, Corrupt: 0.1, Delay: 0.1,
		DelayBy: 3 * time.Millisecond,
	}
}

func TestTheSameSeedReplaysTheSameFaults(t *testing.T) {
	first, stats := run(t, allFaults(42), 1000)
	second, _ := run(t, allFaults(42), 1000)
	if !slices.Equal(first, second) {
		t.Fatal("two runs with seed 42 produced different frame sequences")
	}
	for dir, c := range map[string]fault.Counters{"inbound": stats.Inbound, "outbound": stats.Outbound} {
		if c.Frames != 1000 || c.Dropped == 0 || c.Duplicated == 0 || c.Reordered == 0 || c.Corrupted == 0 || c.Delayed == 0 {
			t.Errorf("%s counters %+v: want 1000 frames and every fault hit at rate 0.1", dir, c)
		}
	}
}

func TestADifferentSeedGivesDifferentFaults(t *testing.T) {
	first, _ := run(t, allFaults(42), 1000)
	other, _ := run(t, allFaults(43), 1000)
	if slices.Equal(first, other) {
		t.Fatal("seeds 42 and 43 produced the same frame sequence")
	}
}

func TestDropAtRateOneLosesEveryFrame(t *testing.T) {
	b := newBench(t, fault.Config{Drop: 1})
	for i := range 5 {
		if err := b.inj.WriteFrame(numbered(i)); err != nil {
			t.Fatalf("WriteFrame of a dropped frame = %v, want nil (a lossy wire does not report)", err)
		}
		_ = b.peer.WriteFrame(numbered(i))
	}
	if len(b.sent) != 0 || len(b.received) != 0 {
		t.Fatalf("%d frames sent, %d received; want none", len(b.sent), len(b.received))
	}
	s := b.inj.Stats()
	if s.Outbound.Dropped != 5 || s.Inbound.Dropped != 5 {
		t.Fatalf("Stats() = %+v, want 5 dropped each way", s)
	}
}

func TestDuplicateAtRateOnePassesEveryFrameTwice(t *testing.T) {
	b := newBench(t, fault.Config{Duplicate: 1})
	for i := range 3 {
		_ = b.inj.WriteFrame(numbered(i))
		_ = b.peer.WriteFrame(numbered(i))
	}
	want := []int{0, 0, 1, 1, 2, 2}
	if got := numbers(b.sent); !slices.Equal(got, want) {
		t.Errorf("sent %v, want %v", got, want)
	}
	if got := numbers(b.received); !slices.Equal(got, want) {
		t.Errorf("received %v, want %v", got, want)
	}
	if s := b.inj.Stats(); s.Outbound.Duplicated != 3 || s.Inbound.Duplicated != 3 {
		t.Errorf("Stats() = %+v, want 3 duplicated each way", s)
	}
}

func TestReorderAtRateOneSwapsEachPair(t *testing.T) {
	b := newBench(t, fault.Config{Reorder: 1})
	for i := range 5 {
		_ = b.inj.WriteFrame(numbered(i))
		_ = b.peer.WriteFrame(numbered(i))
	}
	// 0 is held and follows 1; 1 is not held, as 0 already is. Then 2 is held behind 3, and 4
	// is still held at the end.
	want := []int{1, 0, 3, 2}
	if got := numbers(b.sent); !slices.Equal(got, want) {
		t.Errorf("sent %v, want %v", got, want)
	}
	if got := numbers(b.received); !slices.Equal(got, want) {
		t.Errorf("received %v, want %v", got, want)
	}
	if s := b.inj.Stats(); s.Outbound.Reordered != 3 || s.Inbound.Reordered != 3 {
		t.Errorf("Stats() = %+v, want 3 reordered each way", s)
	}
}

func TestCorruptAtRateOneFlipsOneBitAfterTheEthernetHeaderOfACopy(t *testing.T) {
	b := newBench(t, fault.Config{Seed: 7, Corrupt: 1})
	const n = 200
	for i := range n {
		f := numbered(i)
		original := bytes.Clone(f)
		_ = b.inj.WriteFrame(f)
		if !bytes.Equal(f, original) {
			t.Fatalf("frame %d: the caller's buffer was modified", i)
		}
	}
	if len(b.sent) != n {
		t.Fatalf("sent %d frames, want %d", len(b.sent), n)
	}
	for i, got := range b.sent {
		want := numbered(i)
		flipped := 0
		for k := range want {
			if d := got[k] ^ want[k]; d != 0 {
				flipped += bits.OnesCount8(d)
				if k < link.EthernetHeaderLen {
					t.Fatalf("frame %d: byte %d of the Ethernet header was changed", i, k)
				}
			}
		}
		if flipped != 1 {
			t.Fatalf("frame %d: %d bits differ, want exactly 1", i, flipped)
		}
	}
	if s := b.inj.Stats(); s.Outbound.Corrupted != n {
		t.Errorf("Stats() = %+v, want %d corrupted", s, n)
	}
}

func TestCorruptFlipsAHeaderBitWhenThereIsNothingElse(t *testing.T) {
	b := newBench(t, fault.Config{Corrupt: 1})
	f := make([]byte, link.EthernetHeaderLen)
	_ = b.inj.WriteFrame(f)
	if len(b.sent) != 1 {
		t.Fatalf("sent %d frames, want 1", len(b.sent))
	}
	flipped := 0
	for _, c := range b.sent[0] {
		flipped += bits.OnesCount8(c)
	}
	if flipped != 1 {
		t.Fatalf("%d bits of a 14-byte frame flipped, want 1", flipped)
	}
}

func TestDelayAtRateOneReleasesEachFrameDelayByLater(t *testing.T) {
	b := newBench(t, fault.Config{Delay: 1, DelayBy: 50 * time.Millisecond})
	f := numbered(1)
	_ = b.inj.WriteFrame(f)
	_ = b.peer.WriteFrame(numbered(2))
	f[link.EthernetHeaderLen+3] = 99 // the caller reuses its buffer at once

	b.clk.Advance(50*time.Millisecond - time.Nanosecond)
	if len(b.sent) != 0 || len(b.received) != 0 {
		t.Fatalf("before 50ms: %d sent, %d received; want none", len(b.sent), len(b.received))
	}
	var sentAt time.Time
	b.peer.Attach(link.ReceiverFunc(func(f []byte) { sentAt = b.clk.Now(); b.sent = append(b.sent, bytes.Clone(f)) }))
	b.clk.Advance(time.Nanosecond)

	if got := numbers(b.sent); !slices.Equal(got, []int{1}) {
		t.Fatalf("sent %v at 50ms, want [1] (a copy made before the caller reused its buffer)", got)
	}
	if got := numbers(b.received); !slices.Equal(got, []int{2}) {
		t.Fatalf("received %v at 50ms, want [2]", got)
	}
	if want := clock.Epoch.Add(50 * time.Millisecond); !sentAt.Equal(want) {
		t.Fatalf("frame released at %v, want %v", sentAt, want)
	}
	if s := b.inj.Stats(); s.Outbound.Delayed != 1 || s.Inbound.Delayed != 1 {
		t.Fatalf("Stats() = %+v, want 1 delayed each way", s)
	}
}

func TestDirectionLimitsTheFaultsToOneSide(t *testing.T) {
	for _, d := range []fault.Direction{fault.Inbound, fault.Outbound} {
		t.Run(d.String(), func(t *testing.T) {
			b := newBench(t, fault.Config{Drop: 1, Direction: d})
			_ = b.inj.WriteFrame(numbered(1))
			_ = b.peer.WriteFrame(numbered(2))
			wantSent, wantReceived := 1, 0
			if d == fault.Outbound {
				wantSent, wantReceived = 0, 1
			}
			if len(b.sent) != wantSent || len(b.received) != wantReceived {
				t.Fatalf("%d sent, %d received; want %d and %d", len(b.sent), len(b.received), wantSent, wantReceived)
			}
		})
	}
}

func TestNoFaultsPassesFramesUnchanged(t *testing.T) {
	b := newBench(t, fault.Config{Seed: 1})
	for i := range 10 {
		_ = b.inj.WriteFrame(numbered(i))
		_ = b.peer.WriteFrame(numbered(i))
	}
	want := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	if !slices.Equal(numbers(b.sent), want) || !slices.Equal(numbers(b.received), want) {
		t.Fatalf("sent %v, received %v; want %v both", numbers(b.sent), numbers(b.received), want)
	}
}

func TestWriteFrameChecksSizeAndReturnsTheInnerError(t *testing.T) {
	b := newBench(t, fault.Config{})
	if err := b.inj.WriteFrame(make([]byte, 10)); !errors.Is(err, link.ErrFrameSize) {
		t.Fatalf("WriteFrame(10 bytes) = %v, want ErrFrameSize", err)
	}
	if s := b.inj.Stats(); s.Outbound.Frames != 0 {
		t.Fatalf("a refused frame was counted: %+v", s)
	}
	_ = b.peer.Close()
	if err := b.inj.WriteFrame(numbered(1)); !errors.Is(err, link.ErrClosed) {
		t.Fatalf("WriteFrame on a closed inner endpoint = %v, want ErrClosed", err)
	}
}

func TestCloseDropsHeldAndDelayedFrames(t *testing.T) {
	b := newBench(t, fault.Config{Delay: 1, DelayBy: time.Millisecond})
	_ = b.inj.WriteFrame(numbered(1))
	_ = b.peer.WriteFrame(numbered(2))
	if err := b.inj.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.inj.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	b.clk.Advance(time.Second)
	if len(b.sent) != 0 || len(b.received) != 0 {
		t.Fatalf("after Close %d sent, %d received; want none", len(b.sent), len(b.received))
	}
	if err := b.inj.WriteFrame(numbered(3)); !errors.Is(err, link.ErrClosed) {
		t.Fatalf("WriteFrame after Close = %v, want ErrClosed", err)
	}
	if err := b.peer.WriteFrame(numbered(3)); !errors.Is(err, link.ErrClosed) {
		t.Fatalf("inner endpoint still open after Close: %v", err)
	}
}

func TestDelayedInboundFrameWithoutReceiverIsCounted(t *testing.T) {
	b := newBench(t, fault.Config{Delay: 1, DelayBy: time.Millisecond})
	_ = b.peer.WriteFrame(numbered(1))
	b.inj.Attach(nil)
	b.clk.Advance(time.Millisecond)
	if s := b.inj.Stats(); s.NoReceiver != 1 {
		t.Fatalf("Stats() = %+v, want 1 NoReceiver", s)
	}
}

func TestLateOutboundWriteErrorsAreCounted(t *testing.T) {
	b := newBench(t, fault.Config{Delay: 1, DelayBy: time.Millisecond})
	_ = b.inj.WriteFrame(numbered(1))
	_ = b.peer.Close() // closes the inner endpoint behind the injector's back
	b.clk.Advance(time.Millisecond)
	if s := b.inj.Stats(); s.LateWriteErrors != 1 {
		t.Fatalf("Stats() = %+v, want 1 late write error", s)
	}
}

func TestNewValidatesTheConfig(t *testing.T) {
	_, local := pipe.New(link.DefaultMTU)
	clk := clock.NewManual(time.Time{})
	bad := map[string]fault.Config{
		"negative drop":        {Drop: -0.1},
		"duplicate above one":  {Duplicate: 1.5},
		"NaN reorder":          {Reorder: math.NaN()},
		"corrupt above one":    {Corrupt: 2},
		"delay without sched":  {Delay: 0.5, DelayBy: time.Second},
		"delay without amount": {Delay: 0.5, Scheduler: clk},
		"negative delay":       {DelayBy: -time.Second},
		"unknown direction":    {Direction: fault.Direction(7)},
	}
	for name, cfg := range bad {
		if _, err := fault.New(local, cfg); err == nil {
			t.Errorf("%s: New succeeded, want an error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if _, err := fault.New(nil, fault.Config{}); err == nil {
		t.Error("New(nil inner) succeeded")
	}
	good := fault.Config{Drop: 0, Duplicate: 1, Delay: 1, DelayBy: time.Millisecond, Scheduler: clk, Direction: fault.Outbound}
	if _, err := fault.New(local, good); err != nil {
		t.Errorf("New(%+v): %v", good, err)
	}
}

// A frame the injector passes on at once, either way, costs no allocation (the faults it did
// not draw cost nothing): at bulk rates the link must not add garbage per frame. The control:
// frames counted on both sides, so the loop really went through the injector.
func TestPassingAFrameOnAllocatesNothing(t *testing.T) {
	peer, local := pipe.New(link.DefaultMTU)
	inj, err := fault.New(local, fault.Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var in, out int
	inj.Attach(link.ReceiverFunc(func([]byte) { in++ }))
	peer.Attach(link.ReceiverFunc(func([]byte) { out++ }))
	frame := numbered(1)
	allocs := testing.AllocsPerRun(200, func() {
		if err := inj.WriteFrame(frame); err != nil {
			t.Fatal(err)
		}
		if err := peer.WriteFrame(frame); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per frame each way, want 0", allocs)
	}
	if in < 200 || out < 200 {
		t.Errorf("%d frames in, %d out; want at least 200 each", in, out)
	}
}
