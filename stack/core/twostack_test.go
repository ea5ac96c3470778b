package core_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/stack/clock"
	"github.com/mtcp-go/mtcp/stack/core"
	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/link"
	"github.com/mtcp-go/mtcp/stack/link/fault"
	"github.com/mtcp-go/mtcp/stack/tcp"
)

// wire2 is a simulated Ethernet segment between two cores in virtual time: every frame takes
// latency to cross, and frames are delivered by the run loop, never from inside a send, so
// neither core is re-entered.
type wire2 struct {
	now     time.Time
	latency time.Duration
	queue   []inFlight
	ends    [2]*wireEnd
	cores   [2]*core.Core
}

type inFlight struct {
	at    time.Time
	to    int
	frame []byte
}

type wireEnd struct {
	w    *wire2
	side int
	recv link.Receiver
}

func (e *wireEnd) MTU() int { return 1500 }
func (e *wireEnd) WriteFrame(f []byte) error {
	e.w.queue = append(e.w.queue, inFlight{e.w.now.Add(e.w.latency), 1 - e.side, append([]byte(nil), f...)})
	return nil
}
func (e *wireEnd) Attach(r link.Receiver) { e.recv = r }
func (e *wireEnd) Close() error           { return nil }

// newWire2 makes two cores, 198.18.0.1 and 198.18.0.2, with the fault injector (outbound, so
// each frame is disturbed once) when faults is not nil.
func newWire2(t testing.TB, faults *fault.Config, tcpCfg tcp.Config) *wire2 {
	w := &wire2{now: clock.Epoch, latency: time.Millisecond}
	for i := range 2 {
		end := &wireEnd{w: w, side: i}
		w.ends[i] = end
		var ep link.Endpoint = end
		if faults != nil {
			fc := *faults
			fc.Seed += uint64(i) * 1000003
			fc.Direction = fault.Outbound
			inj, err := fault.New(end, fc)
			if err != nil {
				t.Fatal(err)
			}
			ep = inj
		}
		c, err := core.New(core.Config{
			MAC:       net.HardwareAddr{2, 0, 0, 0, 0, byte(i + 1)},
			Interface: ipv4.Interface{Addr: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(i + 1)}), 24)},
			Secret:    [16]byte{byte(i + 1)},
			TCP:       tcpCfg,
		}, ep)
		if err != nil {
			t.Fatal(err)
		}
		w.cores[i] = c
		ep.Attach(link.ReceiverFunc(func(f []byte) { c.HandleFrame(w.now, f) }))
		c.Advance(w.now)
	}
	return w
}

// step runs the next event (a frame arriving or a timer) if it is due by limit.
func (w *wire2) step(limit time.Time) bool {
	next, kind := limit, -1
	for i, c := range w.cores {
		if d, ok := c.NextDeadline(); ok && d.Before(next) {
			next, kind = d, i
		}
	}
	if len(w.queue) > 0 && !w.queue[0].at.After(next) {
		f := w.queue[0]
		w.queue = w.queue[1:]
		w.now = maxTime(w.now, f.at)
		w.ends[f.to].recv.DeliverFrame(f.frame)
		return true
	}
	if kind < 0 {
		return false
	}
	w.now = maxTime(w.now, next)
	w.cores[kind].Advance(w.now)
	return true
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// transfer sends size bytes from core 0 to core 1 over one connection and returns the virtual
// time it took. The receiver reads everything and checks it byte for byte.
func transfer(t testing.TB, w *wire2, size int, limit time.Duration) time.Duration {
	t.Helper()
	ln, err := w.cores[1].TCP().Listen(80, 0)
	if err != nil {
		t.Fatal(err)
	}
	start := w.now
	c, err := w.cores[0].TCP().Dial(netip.MustParseAddrPort("198.18.0.2:80"))
	if err != nil {
		t.Fatal(err)
	}
	src := rand.New(rand.NewPCG(uint64(size), 7))
	want, got := sha256.New(), sha256.New()
	chunk := make([]byte, 64<<10)
	rbuf := make([]byte, 64<<10)
	sent, received := 0, 0
	var pending []byte
	var srv *tcp.Conn
	deadline := start.Add(limit)
	closed := false
	for received < size || !closed {
		if w.now.After(deadline) {
			t.Fatalf("after %v of virtual time: %d of %d bytes sent, %d received; client %v (err %v), server %v",
				limit, sent, size, received, c.State(), c.Err(), stateOf(srv))
		}
		if c.Err() != nil {
			t.Fatalf("at +%v client failed: %v; %d of %d bytes sent, %d received\nclient %+v\nserver %s",
				w.now.Sub(start), c.Err(), sent, size, received, c.Info(), infoOf(srv))
		}
		for sent < size && c.Writable() {
			if len(pending) == 0 {
				pending = chunk[:min(size-sent, len(chunk))]
				for i := range pending {
					pending[i] = byte(src.Uint32())
				}
			}
			m, err := c.Write(pending)
			if errors.Is(err, tcp.ErrWouldBlock) {
				break
			}
			if err != nil {
				t.Fatalf("write: %v", err)
			}
			want.Write(pending[:m])
			pending = pending[m:]
			sent += m
			if sent == size {
				c.CloseWrite()
			}
		}
		if srv == nil {
			if s, err := ln.Accept(); err == nil {
				srv = s
			}
		}
		if srv != nil {
			for {
				n, err := srv.Read(rbuf)
				got.Write(rbuf[:n])
				received += n
				if err == io.EOF {
					closed = true
					srv.Close()
					break
				}
				if err != nil || n == 0 {
					break
				}
			}
		}
		if !w.step(deadline) {
			w.now = w.now.Add(time.Millisecond)
		}
	}
	if !bytes.Equal(want.Sum(nil), got.Sum(nil)) {
		t.Fatalf("%d bytes arrived but differ from what was sent", received)
	}
	return w.now.Sub(start)
}

func infoOf(c *tcp.Conn) string {
	if c == nil {
		return "not accepted"
	}
	return fmt.Sprintf("%+v", c.Info())
}

func stateOf(c *tcp.Conn) string {
	if c == nil {
		return "not accepted"
	}
	return fmt.Sprintf("%v (err %v)", c.State(), c.Err())
}

func TestTransferByteExact(t *testing.T) {
	w := newWire2(t, nil, tcp.Config{})
	d := transfer(t, w, 4<<20, time.Minute)
	t.Logf("4 MiB in %v of virtual time", d)
}

func TestTransfer64MiB(t *testing.T) {
	w := newWire2(t, nil, tcp.Config{})
	d := transfer(t, w, 64<<20, 10*time.Minute)
	t.Logf("64 MiB in %v of virtual time", d)
}

func TestTransferThroughFaults(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			w := newWire2(t, &fault.Config{Seed: seed, Drop: 0.05, Duplicate: 0.01, Reorder: 0.05, Corrupt: 0.005}, tcp.Config{})
			d := transfer(t, w, 64<<20, 3*time.Hour)
			s0, s1 := w.cores[0].Stats().TCP, w.cores[1].Stats().TCP
			t.Logf("64 MiB in %v of virtual time; sender: %d retransmits (%d fast), %d timeouts; receiver: %d out of order, %d bad checksums",
				d, s0.Retransmits, s0.FastRetransmits, s0.Timeouts, s1.OutOfOrder, s1.BadChecksum+w.cores[1].Stats().IPv4.BadChecksum)
		})
	}
}
