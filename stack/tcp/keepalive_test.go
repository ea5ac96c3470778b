package tcp

import (
	"errors"
	"slices"
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
	// The end is told to the peer, in case it is there after all.
	if len(h.sent) != 11 {
		t.Fatalf("%d segments sent; want 10 probes and a RST", len(h.sent))
	}
	if rst, err := wire.ParseTCP(h.sent[10]); err != nil || rst.Flags() != wire.RST|wire.ACK {
		t.Fatalf("at the end: %v (%v); want RST|ACK", rst.Flags(), err)
	}
}

// The keepalive interval and count apart from the idle time (TCP_KEEPINTVL, TCP_KEEPCNT): the
// first probe after the idle time, the next ones at the interval, and the connection given up
// one interval after the last of count probes. By default (Config.KeepAliveInterval unset) the
// interval is the idle time, and the count Config.KeepAliveProbes.
func TestKeepAliveIntervalAndCount(t *testing.T) {
	for _, set := range []bool{false, true} {
		p := newPeer(t, Config{KeepAliveIdle: 10 * time.Second})
		c, _ := p.accept(wire.TCPOptions{MSS: 1460})
		if c.KeepAliveInterval() != 10*time.Second || c.KeepAliveCount() != 9 {
			t.Fatalf("defaults: interval %v, count %d; want the idle time, 9", c.KeepAliveInterval(), c.KeepAliveCount())
		}
		c.SetKeepAlive(true)
		if set {
			c.SetKeepAliveInterval(2 * time.Second)
			c.SetKeepAliveCount(3)
		}
		start := p.h.now
		var probes []time.Duration
		for c.State() == Established && p.h.now.Sub(start) < time.Minute {
			p.advance(time.Second)
			for _, s := range p.recv() {
				if s.Flags()&wire.RST == 0 { // the RST that ends it is not a probe
					probes = append(probes, p.h.now.Sub(start))
				}
			}
		}
		gone := p.h.now.Sub(start)
		if set {
			want := []time.Duration{10 * time.Second, 12 * time.Second, 14 * time.Second}
			if !slices.Equal(probes, want) || gone != 16*time.Second || !errors.Is(c.Err(), ErrTimeout) {
				t.Fatalf("interval 2 s, count 3: probes at %v, given up at %v (%v); want %v, 16s, ErrTimeout", probes, gone, c.Err(), want)
			}
		} else if len(probes) != 6 || probes[1] != 20*time.Second || c.State() != Established {
			t.Fatalf("defaults: probes at %v in a minute, state %v; want every 10 s from 10 s", probes, c.State())
		}
	}
	p := newPeer(t, Config{KeepAliveInterval: 3 * time.Second, KeepAliveProbes: 4})
	c, _ := p.accept(wire.TCPOptions{MSS: 1460})
	c.SetKeepAliveIdle(time.Minute)
	if c.KeepAliveIdle() != time.Minute || c.KeepAliveInterval() != 3*time.Second || c.KeepAliveCount() != 4 {
		t.Fatalf("idle %v, interval %v, count %d; want 1m, Config's 3s and 4", c.KeepAliveIdle(), c.KeepAliveInterval(), c.KeepAliveCount())
	}
}

// The connect timeout (FreeBSD's TCP_KEEPINIT) ends an active open that is not established in
// time, from SYN-SENT without a word, from SYN-RECEIVED with a RST; without it, the SYN retries
// go on. Once established, it has no effect.
func TestConnectTimeout(t *testing.T) {
	for _, timeout := range []time.Duration{0, 5 * time.Second} {
		p := newPeer(t, Config{ConnectTimeout: timeout})
		c, _ := p.l.Dial(p.addr)
		if c.ConnectTimeout() != timeout {
			t.Fatalf("ConnectTimeout %v, want Config's %v", c.ConnectTimeout(), timeout)
		}
		p.advance(5*time.Second - time.Millisecond)
		if n := len(p.recv()); n != 3 || c.State() != SynSent { // at 0, 1 s and 3 s
			t.Fatalf("timeout %v: %d SYNs, state %v before 5 s", timeout, n, c.State())
		}
		p.advance(time.Millisecond)
		segs := p.recv()
		switch timeout {
		case 0:
			if c.State() != SynSent {
				t.Fatalf("no timeout: %v at 5 s", c.State())
			}
		default:
			if len(segs) != 0 || c.State() != Closed || !errors.Is(c.Err(), ErrTimeout) || p.l.Stats().ConnectTimeouts != 1 {
				t.Fatalf("timeout 5 s: %v sent, state %v, err %v at 5 s; want nothing, CLOSED, ErrTimeout", describe(segs), c.State(), c.Err())
			}
		}
	}

	// Set during the handshake it counts from then; in SYN-RECEIVED (simultaneous open) a RST
	// goes.
	p := newPeer(t, Config{})
	c, _ := p.l.Dial(p.addr)
	p.recv()
	p.send(c.LocalAddr().Port(), wire.TCPFields{SeqNum: peerISS, Flags: wire.SYN, WindowSize: 65535}, nil)
	p.recv()
	p.advance(time.Second) // the SYN-ACK again at 1 s, next at 3 s
	p.recv()
	c.SetConnectTimeout(1500 * time.Millisecond)
	p.advance(1500*time.Millisecond - time.Millisecond)
	if segs := p.recv(); len(segs) != 0 || c.State() != SynReceived {
		t.Fatalf("SYN-RECEIVED: %v sent, state %v before the timeout", describe(segs), c.State())
	}
	p.advance(time.Millisecond)
	if s := p.recvOne(); s.Flags() != wire.RST || c.State() != Closed || !errors.Is(c.Err(), ErrTimeout) {
		t.Fatalf("SYN-RECEIVED: %v sent, state %v, err %v; want RST, CLOSED, ErrTimeout", s.Flags(), c.State(), c.Err())
	}

	// Established in time: nothing happens at the timeout, not even in FIN-WAIT-2, whose
	// timeout (Config.FinTimeout) takes the same timer.
	p = newPeer(t, Config{ConnectTimeout: 5 * time.Second})
	c = p.dial(wire.TCPOptions{MSS: 1460})
	c.Close()
	fin := p.recvOne()
	p.send(c.LocalAddr().Port(), wire.TCPFields{SeqNum: peerISS + 1, AckNum: fin.SeqNum().Add(1), Flags: wire.ACK, WindowSize: 65535}, nil)
	p.advance(10 * time.Second)
	if c.State() != FinWait2 || len(p.recv()) != 0 {
		t.Fatalf("established: %v after the connect timeout", c.State())
	}
}
