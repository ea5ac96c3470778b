package ipv4

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/mtcp-go/mtcp/stack/timer"
	"github.com/mtcp-go/mtcp/stack/wire"
)

// ReassemblyConfig bounds fragment reassembly. Zero values take the defaults.
type ReassemblyConfig struct {
	MaxBytes     int           // fragment data held at once, all datagrams together (default 256 KiB)
	MaxDatagrams int           // datagrams being reassembled at once (default 64)
	Timeout      time.Duration // how long a datagram may take to complete (default 60 s, RFC 1122 3.3.2)
}

// Reassembly defaults.
const (
	DefaultReassemblyBytes     = 256 << 10
	DefaultReassemblyDatagrams = 64
	DefaultReassemblyTimeout   = 60 * time.Second
)

// WithDefaults returns c with zero fields set to their defaults.
func (c ReassemblyConfig) WithDefaults() ReassemblyConfig {
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultReassemblyBytes
	}
	if c.MaxDatagrams == 0 {
		c.MaxDatagrams = DefaultReassemblyDatagrams
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultReassemblyTimeout
	}
	return c
}

// Validate reports the first field out of range.
func (c ReassemblyConfig) Validate() error {
	switch {
	case c.MaxBytes < 576:
		return fmt.Errorf("ipv4: reassembly memory %d bytes < 576 (RFC 791: every host must take 576-byte datagrams)", c.MaxBytes)
	case c.MaxDatagrams < 1:
		return fmt.Errorf("ipv4: reassembly datagrams %d < 1", c.MaxDatagrams)
	case c.Timeout < time.Second:
		return fmt.Errorf("ipv4: reassembly timeout %v < 1s", c.Timeout)
	}
	return nil
}

// ReassemblyStats counts what reassembly saw.
type ReassemblyStats struct {
	Fragments   uint64 // fragments received
	Reassembled uint64 // datagrams completed
	Duplicates  uint64 // fragments that repeated bytes already held, ignored
	Overlaps    uint64 // datagrams dropped because fragments overlapped with different extents
	Malformed   uint64 // fragments dropped: data not a multiple of 8 before the last, past 65535, inconsistent end
	TimedOut    uint64 // datagrams dropped by the timeout
	Evicted     uint64 // datagrams dropped to make room (memory or count bound)
	Refused     uint64 // fragments dropped because even eviction could not make room
}

// TimeoutFunc is called when a datagram times out after its first fragment arrived, with the
// first fragment's header and first 8 data bytes, for an ICMP time-exceeded message.
type TimeoutFunc func(now time.Time, quote []byte)

type fragKey struct {
	src, dst netip.Addr
	proto    wire.IPProtocol
	id       uint16
}

type fragment struct {
	offset int
	data   []byte
}

type datagram struct {
	key      fragKey
	frags    []fragment // sorted by offset, never overlapping
	bytes    int
	end      int    // total data length, once the last fragment (MF=0) arrived; -1 before
	first    []byte // header and first 8 data bytes of fragment 0, once it arrived
	poisoned bool   // fragments overlapped: drop everything until the timeout
	started  time.Time
	timer    timer.Timer
}

// Reassembler puts fragmented datagrams back together (RFC 791 3.2, RFC 1122 3.3.2). Our
// policy for overlapping fragments follows RFC 5722's spirit: a fragment that overlaps another
// one with different extents drops the whole datagram, and later fragments of it are dropped
// until its timeout; an exact duplicate is ignored.
type Reassembler struct {
	cfg       ReassemblyConfig
	timers    *timer.Heap
	onTimeout TimeoutFunc
	pending   map[fragKey]*datagram
	bytes     int
	stats     ReassemblyStats
}

// NewReassembler returns a reassembler; cfg must have passed Validate after WithDefaults.
func NewReassembler(cfg ReassemblyConfig, timers *timer.Heap, onTimeout TimeoutFunc) *Reassembler {
	return &Reassembler{cfg: cfg, timers: timers, onTimeout: onTimeout, pending: make(map[fragKey]*datagram)}
}

// Stats returns the counters.
func (r *Reassembler) Stats() ReassemblyStats { return r.stats }

// Bytes returns the fragment data held now.
func (r *Reassembler) Bytes() int { return r.bytes }

// Pending returns the number of datagrams being reassembled.
func (r *Reassembler) Pending() int { return len(r.pending) }

// Add takes one fragment. When it completes its datagram, Add returns the whole datagram, in
// a new buffer, with MF and offset cleared; otherwise nil.
func (r *Reassembler) Add(now time.Time, p wire.IPv4) wire.IPv4 {
	r.stats.Fragments++
	off, data, more := p.FragmentOffset(), p.Payload(), p.MoreFragments()
	end := off + len(data)
	if (more && (len(data) == 0 || len(data)%8 != 0)) || p.HeaderLen()+end > 0xffff {
		r.stats.Malformed++
		return nil
	}
	k := fragKey{p.Source(), p.Destination(), p.Protocol(), p.ID()}
	d := r.pending[k]
	if d == nil {
		if d = r.start(now, k); d == nil {
			r.stats.Refused++
			return nil
		}
	}
	if d.poisoned {
		r.stats.Overlaps++
		return nil
	}
	if !more {
		if d.end >= 0 && d.end != end {
			r.poison(d)
			r.stats.Malformed++
			return nil
		}
		d.end = end
	}
	if d.end >= 0 && end > d.end {
		r.poison(d)
		r.stats.Malformed++
		return nil
	}
	at := 0 // insertion index keeping frags sorted
	for i, f := range d.frags {
		fend := f.offset + len(f.data)
		if off < fend && f.offset < end { // overlap
			if f.offset == off && len(f.data) == len(data) && string(f.data) == string(data) {
				r.stats.Duplicates++
				return nil
			}
			r.poison(d)
			r.stats.Overlaps++
			return nil
		}
		if f.offset < off {
			at = i + 1
		}
	}
	if !r.makeRoom(d, len(data)) {
		r.stats.Refused++
		return nil
	}
	d.frags = append(d.frags, fragment{})
	copy(d.frags[at+1:], d.frags[at:])
	d.frags[at] = fragment{offset: off, data: append([]byte(nil), data...)}
	d.bytes += len(data)
	r.bytes += len(data)
	if off == 0 {
		n := p.HeaderLen() + min(8, len(data))
		d.first = append([]byte(nil), p[:n]...)
	}
	if d.first == nil || d.end < 0 || d.bytes != d.end {
		return nil
	}
	return r.finish(d)
}

func (r *Reassembler) start(now time.Time, k fragKey) *datagram {
	if len(r.pending) >= r.cfg.MaxDatagrams && !r.evictOldest(nil) {
		return nil
	}
	d := &datagram{key: k, end: -1, started: now}
	d.timer.Init(func(now time.Time) { r.expire(now, d) })
	r.timers.Arm(&d.timer, now.Add(r.cfg.Timeout))
	r.pending[k] = d
	return d
}

// makeRoom evicts the oldest other datagrams until n more bytes fit in MaxBytes.
func (r *Reassembler) makeRoom(keep *datagram, n int) bool {
	for r.bytes+n > r.cfg.MaxBytes {
		if !r.evictOldest(keep) {
			return false
		}
	}
	return true
}

func (r *Reassembler) evictOldest(keep *datagram) bool {
	var oldest *datagram
	for _, d := range r.pending {
		if d == keep {
			continue
		}
		if oldest == nil || d.started.Before(oldest.started) ||
			d.started.Equal(oldest.started) && r.timers.Deadline(&d.timer).Before(r.timers.Deadline(&oldest.timer)) {
			oldest = d
		}
	}
	if oldest == nil {
		return false
	}
	r.remove(oldest)
	r.stats.Evicted++
	return true
}

// poison drops d's data and keeps its entry, so that its remaining fragments are dropped too.
func (r *Reassembler) poison(d *datagram) {
	r.bytes -= d.bytes
	d.bytes, d.frags, d.first, d.poisoned = 0, nil, nil, true
}

func (r *Reassembler) remove(d *datagram) {
	r.timers.Stop(&d.timer)
	r.bytes -= d.bytes
	delete(r.pending, d.key)
}

func (r *Reassembler) expire(now time.Time, d *datagram) {
	r.bytes -= d.bytes
	delete(r.pending, d.key)
	if d.poisoned {
		return
	}
	r.stats.TimedOut++
	if d.first != nil && r.onTimeout != nil {
		r.onTimeout(now, d.first) // RFC 1122 3.3.2: time exceeded only if fragment 0 arrived
	}
}

func (r *Reassembler) finish(d *datagram) wire.IPv4 {
	r.remove(d)
	hl := wire.IPv4(d.first).HeaderLen()
	out := make([]byte, hl+d.end)
	copy(out, d.first[:hl])
	for _, f := range d.frags {
		copy(out[hl+f.offset:], f.data)
	}
	binary.BigEndian.PutUint16(out[2:], uint16(len(out)))
	out[6], out[7] = out[6]&^0x3f, 0 // clear MF and the offset, keep DF
	p := wire.IPv4(out)
	p.UpdateChecksum()
	r.stats.Reassembled++
	return p
}
