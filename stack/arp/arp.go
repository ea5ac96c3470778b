// Package arp resolves next-hop IPv4 addresses to Ethernet addresses (RFC 826, RFC 1122 2.3.2)
// and answers requests for the stack's own address.
//
// It belongs to the deterministic core: it is handed frames and the current time, sends through
// the link it was given, and keeps its retry timers in the core's timer heap. It never reads a
// clock and never starts a goroutine.
//
// Policy, where the RFCs leave a choice:
//   - The cache holds at most Config.CacheSize entries; when full, a new entry replaces the
//     resolved entry that was confirmed longest ago. Unresolved entries are never evicted, so a
//     full table of unresolved entries makes new resolutions fail at once (counted).
//   - A resolved entry is trusted for Config.Lifetime. Used after that, it is still used, and a
//     unicast request revalidates it; if no reply comes after Config.MaxRetries requests the
//     entry is removed (RFC 1122 2.3.2.1, "unicast poll").
//   - At most one request per second per address (RFC 1122 2.3.2.1), Config.MaxRetries requests
//     in all, then the frames waiting for the address are handed back as unreachable.
//   - Up to Config.PendingFrames frames wait per unresolved address; when more arrive the
//     oldest is dropped, so the latest is always kept (RFC 1122 2.3.2.2).
//   - Requests whose sender address is ours, zero, or whose sender MAC is a group address are
//     not merged into the cache. A probe (sender 0.0.0.0, RFC 5227) for our address is answered.
package arp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/mtcp-go/mtcp/stack/timer"
	"github.com/mtcp-go/mtcp/stack/wire"
)

// Config sets the bounds and timings of the ARP cache. Zero values take the defaults.
type Config struct {
	CacheSize     int           // entries, resolved or not (default 256)
	Lifetime      time.Duration // how long a reply is trusted before revalidation (default 60 s)
	RetryInterval time.Duration // time between requests for one address (default and minimum 1 s)
	MaxRetries    int           // requests before giving up (default 3)
	PendingFrames int           // frames waiting per unresolved address (default 4)
}

// Defaults for Config.
const (
	DefaultCacheSize     = 256
	DefaultLifetime      = 60 * time.Second
	DefaultRetryInterval = time.Second
	DefaultMaxRetries    = 3
	DefaultPendingFrames = 4
)

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.Lifetime == 0 {
		c.Lifetime = DefaultLifetime
	}
	if c.RetryInterval == 0 {
		c.RetryInterval = DefaultRetryInterval
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	if c.PendingFrames == 0 {
		c.PendingFrames = DefaultPendingFrames
	}
	return c
}

// Validate reports the first field that is out of range.
func (c Config) Validate() error {
	switch {
	case c.CacheSize < 1:
		return fmt.Errorf("arp: cache size %d < 1", c.CacheSize)
	case c.Lifetime < time.Second:
		return fmt.Errorf("arp: lifetime %v < 1s", c.Lifetime)
	case c.RetryInterval < time.Second:
		return fmt.Errorf("arp: retry interval %v < 1s (RFC 1122 2.3.2.1 allows at most one request per second)", c.RetryInterval)
	case c.MaxRetries < 1:
		return fmt.Errorf("arp: max retries %d < 1", c.MaxRetries)
	case c.PendingFrames < 1:
		return fmt.Errorf("arp: pending frames %d < 1 (RFC 1122 2.3.2.2 keeps at least the latest)", c.PendingFrames)
	}
	return nil
}

// Stats counts what the ARP layer saw and did.
type Stats struct {
	RequestsIn      uint64 // requests received (for any address)
	RepliesIn       uint64 // replies received
	RequestsOut     uint64 // requests sent (broadcast and unicast revalidation)
	RepliesOut      uint64 // replies sent
	Malformed       uint64 // dropped: bad hardware/protocol type or length, bad operation, truncated
	BadSender       uint64 // not merged: sender MAC is a group address, or sender IP is ours
	Resolved        uint64 // addresses that went from unresolved to resolved
	Failed          uint64 // resolutions that ran out of retries
	Expired         uint64 // stale entries removed after failed revalidation
	Evicted         uint64 // resolved entries replaced because the cache was full
	TableFull       uint64 // frames refused because the cache was full of unresolved entries
	PendingDropped  uint64 // queued frames dropped to make room for a newer one
	FramesQueued    uint64 // frames queued waiting for resolution
	FramesUnreached uint64 // queued frames handed back because resolution failed
}

// Link sends frames.
type Link interface {
	WriteFrame(frame []byte) error
}

// UnreachableFunc is called with each frame that waited for an address that could not be
// resolved, so the core can tell the transport that sent it.
type UnreachableFunc func(now time.Time, frame []byte)

// ErrTableFull is returned by Send when the frame cannot wait: the cache is full of addresses
// still being resolved.
var ErrTableFull = errors.New("arp: cache full of unresolved addresses")

type state uint8

const (
	incomplete state = iota // request sent, no answer yet
	reachable               // resolved, within its lifetime
	probing                 // resolved, lifetime over, being revalidated
)

type entry struct {
	addr      netip.Addr
	mac       wire.MAC
	state     state
	confirmed time.Time // last reply or merge
	requests  int       // requests sent in the current resolution or revalidation
	pending   [][]byte  // frames waiting (incomplete only)
	timer     timer.Timer
}

// Table is the ARP cache and the protocol engine around it.
type Table struct {
	cfg         Config
	mac         wire.MAC
	addr        netip.Addr
	link        Link
	timers      *timer.Heap
	unreachable UnreachableFunc
	entries     map[netip.Addr]*entry
	last        *entry   // the entry Send found last, while it is in entries: no map lookup per frame
	free        [][]byte // recycled frame buffers
	stats       Stats
	buf         [wire.EthernetMinFrame]byte
}

// New returns a table for the host (mac, addr) sending through link and timing with timers.
// cfg must have passed Validate after WithDefaults. unreachable may be nil.
func New(cfg Config, mac wire.MAC, addr netip.Addr, link Link, timers *timer.Heap, unreachable UnreachableFunc) *Table {
	return &Table{
		cfg: cfg, mac: mac, addr: addr, link: link, timers: timers, unreachable: unreachable,
		entries: make(map[netip.Addr]*entry, cfg.CacheSize),
	}
}

// Stats returns the counters.
func (t *Table) Stats() Stats { return t.stats }

// Lookup returns the MAC cached for addr, if resolved.
func (t *Table) Lookup(addr netip.Addr) (wire.MAC, bool) {
	e := t.entries[addr]
	if e == nil || e.state == incomplete {
		return wire.MAC{}, false
	}
	return e.mac, true
}

// Len returns the number of entries, resolved or not.
func (t *Table) Len() int { return len(t.entries) }

// Handle processes an ARP packet received in frame eth.
func (t *Table) Handle(now time.Time, eth wire.Ethernet) {
	p, err := wire.ParseARP(eth.Payload())
	if err != nil {
		t.stats.Malformed++
		return
	}
	op, spa, sha, tpa := p.Operation(), p.SenderProtocolAddr(), p.SenderHardwareAddr(), p.TargetProtocolAddr()
	if op == wire.ARPRequest {
		t.stats.RequestsIn++
	} else {
		t.stats.RepliesIn++
	}
	forUs := tpa == t.addr
	if sha.IsMulticast() || sha.IsZero() || spa == t.addr {
		// Never learn a group address or a claim to our own address (a conflict).
		t.stats.BadSender++
		return
	}
	// RFC 826 packet reception: merge first, then, if we are the target, add and reply.
	if spa.IsValid() && !spa.IsUnspecified() {
		if e := t.entries[spa]; e != nil {
			t.confirm(now, e, sha)
		} else if forUs {
			if e := t.insert(now, spa); e != nil {
				t.confirm(now, e, sha)
			}
		}
	}
	if forUs && op == wire.ARPRequest {
		t.reply(p)
	}
}

// confirm records that addr is at mac now and sends anything waiting for it.
func (t *Table) confirm(now time.Time, e *entry, mac wire.MAC) {
	if e.state == incomplete {
		t.stats.Resolved++
	}
	e.mac, e.state, e.confirmed, e.requests = mac, reachable, now, 0
	t.timers.Stop(&e.timer)
	pending := e.pending
	e.pending = nil
	for _, f := range pending {
		wire.Ethernet(f).SetDestination(mac)
		t.write(f)
		t.recycle(f)
	}
}

func (t *Table) reply(req wire.ARP) {
	f := t.buf[:]
	eth := wire.EthernetFields{Destination: req.SenderHardwareAddr(), Source: t.mac, EtherType: wire.EtherTypeARP}
	eth.Encode(f)
	a := wire.ARPFields{
		Operation:          wire.ARPReply,
		SenderHardwareAddr: t.mac, SenderProtocolAddr: t.addr,
		TargetHardwareAddr: req.SenderHardwareAddr(), TargetProtocolAddr: req.SenderProtocolAddr(),
	}
	a.Encode(f[wire.EthernetHeaderLen:])
	clear(f[wire.EthernetHeaderLen+wire.ARPLen:])
	t.stats.RepliesOut++
	t.write(f)
}

func (t *Table) request(target netip.Addr, dst wire.MAC) {
	f := t.buf[:]
	eth := wire.EthernetFields{Destination: dst, Source: t.mac, EtherType: wire.EtherTypeARP}
	eth.Encode(f)
	a := wire.ARPFields{
		Operation:          wire.ARPRequest,
		SenderHardwareAddr: t.mac, SenderProtocolAddr: t.addr,
		TargetProtocolAddr: target,
	}
	if dst != wire.BroadcastMAC {
		a.TargetHardwareAddr = dst
	}
	a.Encode(f[wire.EthernetHeaderLen:])
	clear(f[wire.EthernetHeaderLen+wire.ARPLen:])
	t.stats.RequestsOut++
	t.write(f)
}

func (t *Table) write(f []byte) {
	_ = t.link.WriteFrame(f) // the link counts its own write errors
}

// Send sends an Ethernet frame to the next hop nextHop, filling in the destination MAC. When
// nextHop is not resolved the frame is copied and waits while a request goes out.
func (t *Table) Send(now time.Time, nextHop netip.Addr, frame []byte) error {
	e := t.last
	if e == nil || e.addr != nextHop {
		e = t.entries[nextHop]
		t.last = e
	}
	if e != nil && e.state != incomplete {
		wire.Ethernet(frame).SetDestination(e.mac)
		err := t.link.WriteFrame(frame)
		if e.state == reachable && now.Sub(e.confirmed) >= t.cfg.Lifetime {
			// RFC 1122 2.3.2.1: keep using the entry, and revalidate it with unicast polls.
			e.state, e.requests = probing, 0
			t.poll(now, e)
		}
		return err
	}
	if e == nil {
		if e = t.insert(now, nextHop); e == nil {
			t.stats.TableFull++
			return ErrTableFull
		}
		e.state = incomplete
		t.queue(e, frame)
		t.poll(now, e)
		return nil
	}
	t.queue(e, frame)
	return nil
}

func (t *Table) queue(e *entry, frame []byte) {
	if len(e.pending) >= t.cfg.PendingFrames {
		t.recycle(e.pending[0])
		copy(e.pending, e.pending[1:])
		e.pending = e.pending[:len(e.pending)-1]
		t.stats.PendingDropped++
	}
	var b []byte
	if n := len(t.free); n > 0 {
		b, t.free = t.free[n-1], t.free[:n-1]
	}
	e.pending = append(e.pending, append(b[:0], frame...))
	t.stats.FramesQueued++
}

func (t *Table) recycle(b []byte) {
	if len(t.free) < t.cfg.PendingFrames*4 {
		t.free = append(t.free, b)
	}
}

// poll sends a request for e (broadcast while incomplete, unicast while probing) and arms the
// retry timer; RetryInterval >= 1 s keeps it within one request per second.
func (t *Table) poll(now time.Time, e *entry) {
	dst := wire.BroadcastMAC
	if e.state == probing {
		dst = e.mac
	}
	e.requests++
	t.request(e.addr, dst)
	t.timers.Arm(&e.timer, now.Add(t.cfg.RetryInterval))
}

// retry runs when a request went unanswered for RetryInterval.
func (t *Table) retry(now time.Time, e *entry) {
	if e.requests < t.cfg.MaxRetries {
		t.poll(now, e)
		return
	}
	t.remove(e)
	if e.state == probing {
		t.stats.Expired++
		return
	}
	t.stats.Failed++
	pending := e.pending
	e.pending = nil
	for _, f := range pending {
		t.stats.FramesUnreached++
		if t.unreachable != nil {
			t.unreachable(now, f)
		}
		t.recycle(f)
	}
}

// remove takes e out of the cache.
func (t *Table) remove(e *entry) {
	delete(t.entries, e.addr)
	if t.last == e {
		t.last = nil
	}
}

// insert adds an entry for addr, evicting the resolved entry confirmed longest ago when the
// cache is full; it returns nil when every entry is unresolved.
func (t *Table) insert(now time.Time, addr netip.Addr) *entry {
	if len(t.entries) >= t.cfg.CacheSize {
		var oldest *entry
		for _, e := range t.entries {
			if e.state != incomplete && (oldest == nil || e.confirmed.Before(oldest.confirmed) ||
				e.confirmed.Equal(oldest.confirmed) && e.addr.Less(oldest.addr)) {
				oldest = e
			}
		}
		if oldest == nil {
			return nil
		}
		t.timers.Stop(&oldest.timer)
		t.remove(oldest)
		t.stats.Evicted++
	}
	e := &entry{addr: addr, confirmed: now}
	e.timer.Init(func(now time.Time) { t.retry(now, e) })
	t.entries[addr] = e
	return e
}
