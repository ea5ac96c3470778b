package tcp

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/timer"
	"github.com/mtcp-go/mtcp/stack/wire"
)

// fakeHost is a Host that records what TCP sends.
type fakeHost struct {
	now    time.Time
	timers timer.Heap
	buf    [1500]byte
	sent   [][]byte
}

func (h *fakeHost) Now() time.Time        { return h.now }
func (h *fakeHost) Timers() *timer.Heap   { return &h.timers }
func (h *fakeHost) LocalAddr() netip.Addr { return netip.MustParseAddr("198.18.0.2") }
func (h *fakeHost) MTU() int              { return 1500 }
func (h *fakeHost) PayloadBuffer() []byte { return h.buf[20:] }
func (h *fakeHost) SendIPv4(_ netip.Addr, _ wire.IPProtocol, p []byte, _ ipv4.SendOptions) error {
	h.sent = append(h.sent, append([]byte(nil), p...))
	return nil
}

// established returns a connection in ESTABLISHED with RCV.NXT = irs+1 and a window of wnd.
func established(t *testing.T, wnd int) (*Conn, *fakeHost) {
	h := &fakeHost{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg := Config{ReceiveBuffer: max(wnd, 1024)}.WithDefaults()
	l := New(cfg, h, [16]byte{1})
	c := l.newConn(tupleOf(netip.MustParseAddrPort("198.18.0.2:80"), netip.MustParseAddrPort("198.18.0.1:40000")), Established, BufferSizes{})
	c.irs, c.rcvNxt = 1000, 1001
	c.rcvAdv = c.rcvNxt.Add(uint32(wnd))
	c.peerMSS = 1460
	return c, h
}

func TestOutOfOrderSegmentsReassembleExactly(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		c, _ := established(t, 1<<16)
		stream := make([]byte, 4000+r.IntN(8000))
		for i := range stream {
			stream[i] = byte(r.Uint32())
		}
		// Random overlapping pieces covering the stream, delivered in random order, some twice.
		var pieces [][2]int
		for off := 0; off < len(stream); {
			n := 1 + r.IntN(900)
			start := max(off-r.IntN(300), 0)
			end := min(off+n, len(stream))
			pieces = append(pieces, [2]int{start, end})
			off = end
		}
		for range len(pieces) / 3 {
			pieces = append(pieces, pieces[r.IntN(len(pieces))])
		}
		r.Shuffle(len(pieces), func(i, j int) { pieces[i], pieces[j] = pieces[j], pieces[i] })
		for _, p := range pieces {
			s := &segment{seq: wire.Seq(1001 + p[0]), flags: wire.ACK, data: stream[p[0]:p[1]]}
			if !c.acceptable(s) {
				continue // wholly old: the real path ACKs and drops it
			}
			c.trim(s)
			if len(s.data) > 0 {
				c.receiveData(c.layer.now(), s)
			}
		}
		if got := bytesOf(&c.rcvBuf); !bytes.Equal(got, stream) {
			t.Fatalf("round %d: reassembled %d bytes, want %d; first difference at %d", round, len(got), len(stream), firstDiff(got, stream))
		}
		if c.oooBytes() != 0 || c.ooo != nil && len(c.ooo.q.ranges) != 0 {
			t.Fatalf("round %d: %d bytes left out of order", round, c.oooBytes())
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestAcceptabilityTable(t *testing.T) {
	// RFC 9293 3.10.7.4: the four cases of segment length and receive window.
	cases := []struct {
		name     string
		wnd      int
		seq      uint32
		dataLen  int
		accepted bool
	}{
		{"empty, zero window, at RCV.NXT", 0, 1001, 0, true},
		{"empty, zero window, elsewhere", 0, 1002, 0, false},
		{"empty, in window", 100, 1050, 0, true},
		{"empty, at the right edge", 100, 1101, 0, false},
		{"data, zero window", 0, 1001, 10, false},
		{"data starting in window", 100, 1095, 10, true},
		{"data ending in window", 100, 995, 10, true},
		{"data wholly before", 100, 900, 10, false},
		{"data wholly past", 100, 1101, 10, false},
		{"data across the 2^32 wrap", 100, 0xfffffffa, 0, false},
	}
	for _, k := range cases {
		c, _ := established(t, k.wnd)
		s := &segment{seq: wire.Seq(k.seq), flags: wire.ACK, data: make([]byte, k.dataLen)}
		if got := c.acceptable(s); got != k.accepted {
			t.Errorf("%s: acceptable = %v, want %v", k.name, got, k.accepted)
		}
	}
	c, _ := established(t, 100)
	c.rcvNxt = 0xfffffff0
	c.rcvAdv = c.rcvNxt.Add(100) // the window spans the wrap
	if !c.acceptable(&segment{seq: 5, data: make([]byte, 10)}) || c.acceptable(&segment{seq: 0x60, data: make([]byte, 10)}) {
		t.Error("acceptability is not wrap-safe")
	}
}

func TestTrimKeepsOnlyTheWindow(t *testing.T) {
	c, _ := established(t, 100)
	data := []byte("0123456789abcdefghij")
	s := &segment{seq: 991, flags: wire.ACK | wire.FIN, data: data} // 10 old bytes, 10 new
	c.trim(s)
	if s.seq != 1001 || string(s.data) != "abcdefghij" || s.flags&wire.FIN == 0 {
		t.Fatalf("left trim: seq %d data %q flags %v", s.seq, s.data, s.flags)
	}
	s = &segment{seq: 1091, flags: wire.ACK | wire.FIN, data: data} // straddles the right edge
	c.trim(s)
	if string(s.data) != "0123456789" || s.flags&wire.FIN != 0 {
		t.Fatalf("right trim: data %q flags %v; want 10 bytes and the FIN dropped", s.data, s.flags)
	}
}

func TestISNsDifferPerTupleAndMoveWithTime(t *testing.T) {
	c, h := established(t, 100)
	l := c.layer
	a := tupleOf(netip.MustParseAddrPort("198.18.0.2:80"), netip.MustParseAddrPort("198.18.0.1:40001"))
	b := tupleOf(netip.MustParseAddrPort("198.18.0.2:80"), netip.MustParseAddrPort("198.18.0.1:40002"))
	ia, ib := l.isn(a), l.isn(b)
	if d := ib.Sub(ia); d > -1<<20 && d < 1<<20 {
		t.Errorf("ISNs of neighbouring tuples %d and %d are close (%d apart)", ia, ib, d)
	}
	h.now = h.now.Add(time.Second)
	if d := l.isn(a).Sub(ia); d != 250000 { // RFC 6528: the 4 µs clock
		t.Errorf("one second moved the ISN by %d, want 250000", d)
	}
	other := New(l.cfg, h, [16]byte{2})
	if other.isn(a) == l.isn(a) {
		t.Error("two secrets gave the same ISN")
	}
}

// After data out of order, the next full segments are acknowledged one by one (quick ACKs);
// before it, every second one is (the control), and with QuickACK off, every second one after
// it too.
func TestQuickACKAfterOutOfOrder(t *testing.T) {
	for _, quick := range []Switch{On, Off} {
		c, h := established(t, 1<<16)
		c.layer.cfg.QuickACK = quick
		seg := func(seq wire.Seq) {
			s := segment{seq: seq, ack: c.sndNxt, flags: wire.ACK, wnd: 65535, data: make([]byte, 1460)}
			c.receiveText(h.now, &s)
			c.output(h.now)
		}
		acks := func(segs ...wire.Seq) int {
			before := len(h.sent)
			for _, s := range segs {
				seg(s)
			}
			return len(h.sent) - before
		}
		if n := acks(1001, 2461, 3921, 5381); n != 2 {
			t.Fatalf("quick %v: in order, %d ACKs for 4 segments, want 2", quick, n)
		}
		if n := acks(8301); n != 1 { // out of order: a duplicate ACK at once
			t.Fatalf("quick %v: %d ACKs for an out-of-order segment", quick, n)
		}
		acks(6841) // fills the hole: an ACK at once
		want := 2
		if quick == On {
			want = 4
		}
		if n := acks(9761, 11221, 12681, 14141); n != want {
			t.Fatalf("quick %v: %d ACKs for 4 segments after the hole, want %d", quick, n, want)
		}
	}
}

// The peer's FIN again in TIME-WAIT restarts 2·MSL each time (RFC 9293 3.10.7.4) without
// growing the queue of entries due: one record per entry, however many FINs come.
func TestTimeWaitRestartsDoNotGrowTheQueue(t *testing.T) {
	c, h := established(t, 1<<16)
	l := c.layer
	c.rcvNxt = c.rcvNxt.Add(1) // the peer's FIN, taken
	c.enterTimeWait(h.now)
	k := c.tuple
	e := l.tw.entries[k]
	if e == nil || c.State() != TimeWait || l.Conns() != 0 {
		t.Fatalf("entry %v, state %v, %d connections", e, c.State(), l.Conns())
	}
	fin := segment{tuple: c.tuple, seq: c.rcvNxt.Add(^uint32(0)), ack: c.sndNxt, flags: wire.FIN | wire.ACK, wnd: 65535}
	for range 10000 {
		h.now = h.now.Add(time.Millisecond)
		s := fin
		l.timeWaitArrives(h.now, k, e, &s)
	}
	if live := len(l.tw.order) - l.tw.head; live != 1 {
		t.Fatalf("%d records queued for one entry after 10,000 FINs", live)
	}
	last := h.now
	h.now = last.Add(2*l.cfg.MSL - time.Millisecond)
	h.timers.Fire(h.now)
	if c.State() != TimeWait {
		t.Fatalf("TIME-WAIT ended %v after the last FIN, before 2·MSL", h.now.Sub(last))
	}
	h.now = last.Add(2 * l.cfg.MSL)
	h.timers.Fire(h.now)
	if c.State() != Closed || l.TimeWaits() != 0 || len(l.tw.order) != 0 {
		t.Fatalf("2·MSL after the last FIN: state %v, %d entries, %d records", c.State(), l.TimeWaits(), len(l.tw.order))
	}
}

// A connection in TIME-WAIT says so while its entry lasts and CLOSED once 2·MSL has passed,
// although the entry does not point back to it; a new incarnation's entry on the same tuple
// is not taken for its own.
func TestTimeWaitEndsInClosed(t *testing.T) {
	c, h := established(t, 1<<16)
	l := c.layer
	c.rcvNxt = c.rcvNxt.Add(1) // the peer's FIN, taken
	c.enterTimeWait(h.now)
	if got := c.State(); got != TimeWait {
		t.Fatalf("after entering TIME-WAIT: %v", got)
	}
	h.now = h.now.Add(2*l.cfg.MSL - time.Millisecond)
	h.timers.Fire(h.now)
	if got := c.Info().State; got != TimeWait {
		t.Fatalf("1 ms before 2·MSL: %v, want TIME-WAIT", got)
	}
	h.now = h.now.Add(2 * time.Millisecond)
	h.timers.Fire(h.now)
	if got, info := c.State(), c.Info().State; got != Closed || info != Closed {
		t.Fatalf("after 2·MSL: State %v, Info %v; want CLOSED", got, info)
	}
	// Another connection's entry under the same tuple.
	other := &twEntry{sndNxt: c.sndNxt.Add(12345), rcvNxt: c.rcvNxt}
	l.tw.entries[c.tuple] = other
	if got := c.State(); got != Closed {
		t.Fatalf("with another incarnation's entry: %v, want CLOSED", got)
	}
}
