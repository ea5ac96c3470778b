// Package fault wraps a link.Endpoint and injects faults into the frames crossing it: drops,
// duplicates, reordering, bit corruption and delay, each at its own rate. Tests use it to put a
// stack through a bad network in a way that can be replayed: every decision comes from a PCG
// generator seeded by Config.Seed, one stream per direction, so the same seed and the same
// sequence of frames in a direction give the same faults.
//
// This package must not start goroutines or read a clock: delayed frames are released by the
// Scheduler it is given (a clock.Manual in tests). It never modifies a caller's buffer; frames
// that are corrupted, held back or delayed are copies.
package fault

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mtcp-go/mtcp/stack/clock"
	"github.com/mtcp-go/mtcp/stack/link"
)

// Direction selects which frames an Injector disturbs.
type Direction int

// Directions. The zero value is Both.
const (
	// Both disturbs frames in both directions.
	Both Direction = iota
	// Inbound disturbs only frames delivered by the wrapped endpoint to the receiver.
	Inbound
	// Outbound disturbs only frames written to the wrapped endpoint.
	Outbound
)

// String returns "both", "inbound" or "outbound".
func (d Direction) String() string {
	switch d {
	case Both:
		return "both"
	case Inbound:
		return "inbound"
	case Outbound:
		return "outbound"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// Config says which faults to inject and how often. Rates are probabilities in [0, 1], drawn
// independently for every frame; 0 disables a fault, 1 hits every frame.
type Config struct {
	// Seed seeds the generator; the same seed replays the same faults.
	Seed uint64
	// Drop is the rate of frames that are lost.
	Drop float64
	// Duplicate is the rate of frames passed on twice.
	Duplicate float64
	// Reorder is the rate of frames held back and released right after the next frame in the
	// same direction. At most one frame per direction is held at a time.
	Reorder float64
	// Corrupt is the rate of frames with one bit flipped, after the Ethernet header when the
	// frame is longer than one.
	Corrupt float64
	// Delay is the rate of frames passed on DelayBy later, through Scheduler.
	Delay float64
	// DelayBy is how long delayed frames are held; it must be positive when Delay > 0.
	DelayBy time.Duration
	// Scheduler releases delayed frames; required when Delay > 0.
	Scheduler clock.Scheduler
	// Direction selects the frames to disturb; the zero value is Both.
	Direction Direction
}

// Counters counts what happened to the frames in one direction.
type Counters struct {
	// Frames counts frames that entered the injector in this direction, disturbed or not.
	Frames uint64
	// Dropped counts frames lost on purpose.
	Dropped uint64
	// Duplicated counts frames passed on twice.
	Duplicated uint64
	// Reordered counts frames held back behind the next one.
	Reordered uint64
	// Corrupted counts frames with a bit flipped.
	Corrupted uint64
	// Delayed counts frames handed to the Scheduler.
	Delayed uint64
}

// Stats holds the counters of an Injector.
type Stats struct {
	// Inbound counts frames delivered by the wrapped endpoint.
	Inbound Counters
	// Outbound counts frames written to the injector.
	Outbound Counters
	// NoReceiver counts inbound frames dropped because no receiver was attached when they were
	// due (delayed or held frames, or a detached receiver).
	NoReceiver uint64
	// LateWriteErrors counts held or delayed outbound frames the wrapped endpoint refused; their
	// errors have no caller to return to.
	LateWriteErrors uint64
}

// String says what the counters count, as the examples and pcaps/faultrelay print it: "447
// frames (24 dropped, 0 duplicated, 0 reordered, 0 corrupted, 0 delayed)".
func (c Counters) String() string {
	return fmt.Sprintf("%d frames (%d dropped, %d duplicated, %d reordered, %d corrupted, %d delayed)",
		c.Frames, c.Dropped, c.Duplicated, c.Reordered, c.Corrupted, c.Delayed)
}

// Injector is a link.Endpoint that disturbs the frames crossing the endpoint it wraps. It is
// safe for concurrent use; each direction has its own generator, so the faults in one direction
// do not depend on how its frames interleave with the other's.
type Injector struct {
	inner  link.Endpoint
	cfg    Config
	closed atomic.Bool

	in, out stream

	receiver        atomic.Pointer[receiverBox]
	noReceiver      atomic.Uint64
	lateWriteErrors atomic.Uint64
}

var _ link.Endpoint = (*Injector)(nil)

type receiverBox struct{ r link.Receiver }

// stream is the state of one direction.
type stream struct {
	mu       sync.Mutex
	rng      *rand.Rand
	held     []byte // a frame held back by Reorder, or nil
	counters Counters
}

// Seeds of the second PCG word, one per direction, so that the two streams differ.
const (
	inboundStream  = 0x6d7463702d696e // "mtcp-in"
	outboundStream = 0x6d7463702d6f75 // "mtcp-ou"
)

// New returns an Injector wrapping inner. It checks cfg: every rate must be in [0, 1], and a
// Delay rate needs a positive DelayBy and a Scheduler.
func New(inner link.Endpoint, cfg Config) (*Injector, error) {
	if inner == nil {
		return nil, errors.New("fault: inner endpoint is nil")
	}
	for _, r := range []struct {
		name string
		rate float64
	}{
		{"Drop", cfg.Drop}, {"Duplicate", cfg.Duplicate}, {"Reorder", cfg.Reorder},
		{"Corrupt", cfg.Corrupt}, {"Delay", cfg.Delay},
	} {
		if math.IsNaN(r.rate) || r.rate < 0 || r.rate > 1 {
			return nil, fmt.Errorf("fault: %s rate %v outside [0, 1]", r.name, r.rate)
		}
	}
	if cfg.Delay > 0 {
		if cfg.Scheduler == nil {
			return nil, fmt.Errorf("fault: Delay rate %v needs a Scheduler", cfg.Delay)
		}
		if cfg.DelayBy <= 0 {
			return nil, fmt.Errorf("fault: Delay rate %v needs DelayBy > 0, got %v", cfg.Delay, cfg.DelayBy)
		}
	}
	if cfg.DelayBy < 0 {
		return nil, fmt.Errorf("fault: DelayBy %v is negative", cfg.DelayBy)
	}
	if cfg.Direction < Both || cfg.Direction > Outbound {
		return nil, fmt.Errorf("fault: unknown %v", cfg.Direction)
	}
	return &Injector{
		inner: inner,
		cfg:   cfg,
		in:    stream{rng: rand.New(rand.NewPCG(cfg.Seed, inboundStream))},
		out:   stream{rng: rand.New(rand.NewPCG(cfg.Seed, outboundStream))},
	}, nil
}

// MTU returns the MTU of the wrapped endpoint.
func (j *Injector) MTU() int { return j.inner.MTU() }

// WriteFrame passes frame through the outbound faults to the wrapped endpoint. It returns
// link.ErrClosed after Close and an error wrapping link.ErrFrameSize for a bad size (such frames
// are not counted). A dropped, held or delayed frame reports success, as a lossy wire would; a
// frame written now returns the wrapped endpoint's error.
func (j *Injector) WriteFrame(frame []byte) error {
	if j.closed.Load() {
		return link.ErrClosed
	}
	if err := link.CheckFrameSize(len(frame), j.inner.MTU()); err != nil {
		return err
	}
	if !j.disturbs(Outbound) {
		return j.inner.WriteFrame(frame)
	}
	return j.process(&j.out, frame, Outbound)
}

// Attach sets the receiver of incoming frames; nil detaches it. The Injector attaches itself to
// the wrapped endpoint and passes inbound frames through the inbound faults to r.
func (j *Injector) Attach(r link.Receiver) {
	if r == nil {
		j.receiver.Store(nil)
		j.inner.Attach(nil)
		return
	}
	j.receiver.Store(&receiverBox{r})
	j.inner.Attach(link.ReceiverFunc(j.deliverInbound))
}

// Close closes the wrapped endpoint and returns its error. Held frames are discarded, and
// delayed frames that fall due afterwards are dropped. Calls after the first return nil.
func (j *Injector) Close() error {
	if !j.closed.CompareAndSwap(false, true) {
		return nil
	}
	for _, s := range []*stream{&j.in, &j.out} {
		s.mu.Lock()
		s.held = nil
		s.mu.Unlock()
	}
	return j.inner.Close()
}

// Stats returns the injector's counters.
func (j *Injector) Stats() Stats {
	j.in.mu.Lock()
	in := j.in.counters
	j.in.mu.Unlock()
	j.out.mu.Lock()
	out := j.out.counters
	j.out.mu.Unlock()
	return Stats{
		Inbound:         in,
		Outbound:        out,
		NoReceiver:      j.noReceiver.Load(),
		LateWriteErrors: j.lateWriteErrors.Load(),
	}
}

func (j *Injector) disturbs(d Direction) bool {
	return j.cfg.Direction == Both || j.cfg.Direction == d
}

func (j *Injector) deliverInbound(frame []byte) {
	if j.closed.Load() {
		return
	}
	if !j.disturbs(Inbound) {
		j.deliver(frame)
		return
	}
	_ = j.process(&j.in, frame, Inbound)
}

// deliver hands an inbound frame to the current receiver.
func (j *Injector) deliver(frame []byte) {
	box := j.receiver.Load()
	if box == nil {
		j.noReceiver.Add(1)
		return
	}
	box.r.DeliverFrame(frame)
}

// deliverLate delivers a held or delayed inbound frame unless the injector was closed meanwhile.
func (j *Injector) deliverLate(frame []byte) {
	if !j.closed.Load() {
		j.deliver(frame)
	}
}

// pass passes a frame on in direction d at once: written to the wrapped endpoint (its error
// returned), or delivered to the receiver.
func (j *Injector) pass(d Direction, frame []byte) error {
	if d == Outbound {
		return j.inner.WriteFrame(frame)
	}
	j.deliver(frame)
	return nil
}

// passLate passes on a frame that was held or delayed.
func (j *Injector) passLate(d Direction, frame []byte) {
	if d == Outbound {
		j.sendLate(frame)
	} else {
		j.deliverLate(frame)
	}
}

// sendLate writes a held or delayed outbound frame; its error has no caller, so it is counted.
func (j *Injector) sendLate(frame []byte) {
	if j.closed.Load() {
		return
	}
	if err := j.inner.WriteFrame(frame); err != nil {
		j.lateWriteErrors.Add(1)
	}
}

// verdict is what the generator decided for one frame.
type verdict struct {
	drop, corrupt, duplicate, reorder, delay bool
	bit                                      uint64 // random bits choosing the bit to flip
}

// decide draws the same number of values for every frame, whatever the rates, so that changing
// one rate does not shift the decisions made for later frames.
func (j *Injector) decide(rng *rand.Rand) verdict {
	return verdict{
		drop:      rng.Float64() < j.cfg.Drop,
		corrupt:   rng.Float64() < j.cfg.Corrupt,
		duplicate: rng.Float64() < j.cfg.Duplicate,
		reorder:   rng.Float64() < j.cfg.Reorder,
		delay:     rng.Float64() < j.cfg.Delay,
		bit:       rng.Uint64(),
	}
}

// process applies the faults to one frame going in direction d, whose state is s: a frame
// passed on at once returns the wrapped endpoint's error (pass), one held or delayed is passed
// on later as a copy (passLate). A frame held by Reorder is released after the next frame in
// the direction, whatever happened to it. Nothing is allocated for a frame passed on at once.
func (j *Injector) process(s *stream, frame []byte, d Direction) error {
	s.mu.Lock()
	v := j.decide(s.rng)
	s.counters.Frames++
	released := s.held
	s.held = nil

	var err error
	switch {
	case v.drop:
		s.counters.Dropped++
		s.mu.Unlock()
	default:
		if v.corrupt {
			frame = flipBit(frame, v.bit)
			s.counters.Corrupted++
		}
		copies := 1
		if v.duplicate {
			copies = 2
			s.counters.Duplicated++
		}
		switch {
		case v.reorder && released == nil:
			s.held = own(frame, v.corrupt)
			s.counters.Reordered++
			s.mu.Unlock()
			if copies == 2 {
				err = j.pass(d, frame) // the duplicate goes ahead, the original waits
			}
		case v.delay:
			s.counters.Delayed++
			s.mu.Unlock()
			delayed := own(frame, v.corrupt)
			j.cfg.Scheduler.AfterFunc(j.cfg.DelayBy, func() {
				for range copies {
					j.passLate(d, delayed)
				}
			})
		default:
			s.mu.Unlock()
			for range copies {
				if e := j.pass(d, frame); err == nil {
					err = e
				}
			}
		}
	}
	if released != nil {
		j.passLate(d, released)
	}
	return err
}

// flipBit returns a copy of frame with one bit flipped, chosen by r among the bits after the
// Ethernet header (among all bits when there are none after it).
func flipBit(frame []byte, r uint64) []byte {
	out := append([]byte(nil), frame...)
	start := link.EthernetHeaderLen
	if len(out) <= start {
		start = 0
	}
	if len(out) == 0 {
		return out
	}
	bit := r % uint64((len(out)-start)*8)
	out[start+int(bit/8)] ^= 1 << (bit % 8)
	return out
}

// own returns a frame the injector may keep: frame itself if it is already a private copy.
func own(frame []byte, private bool) []byte {
	if private {
		return frame
	}
	return append([]byte(nil), frame...)
}
