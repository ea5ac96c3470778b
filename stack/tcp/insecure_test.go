package tcp

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// Config.RSTChallenge: a RST in the window but not at RCV.NXT draws a challenge ACK (RFC 5961
// 3.2) and the connection stays; off, it resets the connection (RFC 9293 alone, FreeBSD's
// insecure_rst=1), in ESTABLISHED as in SYN-RECEIVED. A RST outside the window is dropped
// either way.
func TestRSTChallengeSwitch(t *testing.T) {
	for _, sw := range []Switch{On, Off} {
		p := newPeer(t, Config{RSTChallenge: sw})
		c, ln := p.accept(wire.TCPOptions{MSS: 1460})
		rst := func(seq wire.Seq) { p.send(80, wire.TCPFields{SeqNum: seq, Flags: wire.RST}, nil) }

		rst(peerISS + 1 + 65535) // just past the right edge
		if segs := p.recv(); len(segs) != 0 || c.State() != Established {
			t.Fatalf("%v: a RST past the window: %v sent, state %v", sw, describe(segs), c.State())
		}
		rst(peerISS + 1 + 65534) // the right edge
		segs := p.recv()
		switch sw {
		case On:
			if len(segs) != 1 || segs[0].Flags() != wire.ACK || segs[0].AckNum() != peerISS+1 || c.State() != Established {
				t.Fatalf("on: %v sent, state %v; want a challenge ACK for 1001, ESTABLISHED", describe(segs), c.State())
			}
		case Off:
			if len(segs) != 0 || c.State() != Closed || !errors.Is(c.Err(), ErrConnReset) {
				t.Fatalf("off: %v sent, state %v, err %v; want nothing, CLOSED, ErrConnReset", describe(segs), c.State(), c.Err())
			}
		}

		// SYN-RECEIVED: a RST inside the window of the SYN-ACK.
		p.addr = netip.AddrPortFrom(p.addr.Addr(), p.addr.Port()+1) // a second connection
		p.send(80, wire.TCPFields{SeqNum: peerISS, Flags: wire.SYN, WindowSize: 65535}, nil)
		p.recvOne()
		rst(peerISS + 1 + 10)
		p.recv()
		if got, want := ln.HalfOpen(), map[Switch]int{On: 1, Off: 0}[sw]; got != want {
			t.Fatalf("%v: %d half-open after an in-window RST in SYN-RECEIVED, want %d", sw, got, want)
		}
	}
}

// Config.SYNChallenge: a SYN in the window of a synchronized connection draws a challenge ACK
// (RFC 5961 4.2); off, it resets the connection with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>
// (RFC 793 3.9, FreeBSD's insecure_syn=1). A SYN below the window draws an ACK either way.
func TestSYNChallengeSwitch(t *testing.T) {
	for _, sw := range []Switch{On, Off} {
		for _, at := range []wire.Seq{peerISS + 1, peerISS + 1 + 65534} { // the left and right edges
			p := newPeer(t, Config{SYNChallenge: sw})
			c, _ := p.accept(wire.TCPOptions{MSS: 1460})
			syn := func(seq wire.Seq) {
				p.send(80, wire.TCPFields{SeqNum: seq, Flags: wire.SYN, WindowSize: 65535}, nil)
			}
			syn(peerISS) // below the window: an ACK
			if s := p.recvOne(); s.Flags() != wire.ACK || c.State() != Established {
				t.Fatalf("%v: a SYN below the window drew %v, state %v", sw, s.Flags(), c.State())
			}
			p.advance(oowInterval) // past the per-connection limit on challenge ACKs
			sndNxt := c.sndNxt
			syn(at)
			s := p.recvOne()
			switch sw {
			case On:
				if s.Flags() != wire.ACK || c.State() != Established {
					t.Fatalf("on, SYN at %d: %v sent, state %v; want a challenge ACK, ESTABLISHED", at, s.Flags(), c.State())
				}
			case Off:
				if s.Flags() != wire.RST|wire.ACK || s.SeqNum() != sndNxt || s.AckNum() != peerISS+1 || s.WindowSize() != 0 {
					t.Fatalf("off, SYN at %d: %v seq %d ack %d win %d; want RST|ACK seq %d ack %d win 0",
						at, s.Flags(), s.SeqNum(), s.AckNum(), s.WindowSize(), sndNxt, peerISS+1)
				}
				if c.State() != Closed || !errors.Is(c.Err(), ErrConnReset) {
					t.Fatalf("off: state %v, err %v; want CLOSED, ErrConnReset", c.State(), c.Err())
				}
			}
		}
	}
}

// timeWait takes an accepted connection to TIME-WAIT: our FIN, the peer's FIN acknowledging
// it, our ACK.
func (p *testPeer) timeWait(c *Conn) {
	p.t.Helper()
	c.CloseWrite()
	fin := p.recvOne()
	p.send(80, wire.TCPFields{SeqNum: peerISS + 1, AckNum: fin.SeqNum().Add(1), Flags: wire.FIN | wire.ACK, WindowSize: 65535}, nil)
	p.recvOne()
	if c.State() != TimeWait || p.l.TimeWaits() != 1 {
		p.t.Fatalf("state %v, %d in TIME-WAIT", c.State(), p.l.TimeWaits())
	}
}

// In TIME-WAIT, a SYN at RCV.NXT (not beyond it: no new incarnation) draws a challenge ACK;
// with Config.SYNChallenge off, a RST|ACK that ends TIME-WAIT (RFC 793 3.9). A RST is ignored
// (RFC 1337) whatever Config.RSTChallenge says.
func TestSYNChallengeSwitchInTimeWait(t *testing.T) {
	for _, sw := range []Switch{On, Off} {
		p := newPeer(t, Config{SYNChallenge: sw, RSTChallenge: sw})
		c, _ := p.accept(wire.TCPOptions{MSS: 1460})
		p.timeWait(c)
		p.send(80, wire.TCPFields{SeqNum: peerISS + 2, Flags: wire.RST}, nil)
		if segs := p.recv(); len(segs) != 0 || p.l.TimeWaits() != 1 {
			t.Fatalf("%v: a RST in TIME-WAIT: %v sent, %d in TIME-WAIT", sw, describe(segs), p.l.TimeWaits())
		}
		p.send(80, wire.TCPFields{SeqNum: peerISS + 2, Flags: wire.SYN, WindowSize: 65535}, nil)
		s := p.recvOne()
		switch sw {
		case On:
			if s.Flags() != wire.ACK || p.l.TimeWaits() != 1 {
				t.Fatalf("on: %v sent, %d in TIME-WAIT; want an ACK, TIME-WAIT kept", s.Flags(), p.l.TimeWaits())
			}
		case Off:
			if s.Flags() != wire.RST|wire.ACK || s.AckNum() != peerISS+2 || p.l.TimeWaits() != 0 || c.State() != Closed {
				t.Fatalf("off: %v ack %d sent, %d in TIME-WAIT, state %v; want RST|ACK ack %d, TIME-WAIT over",
					s.Flags(), s.AckNum(), p.l.TimeWaits(), c.State(), peerISS+2)
			}
		}
	}
}

// Config.SynFin: a SYN+FIN in LISTEN, SYN-SENT and TIME-WAIT. SynFinListenDrop (Linux) drops
// it in LISTEN only, so TIME-WAIT challenges it; SynFinAccept takes it as a SYN everywhere,
// acknowledging the SYN alone; SynFinDrop drops it in LISTEN and SYN-SENT, and TIME-WAIT
// challenges it as any SYN it does not take.
func TestSynFinModes(t *testing.T) {
	synFin := wire.TCPFields{SeqNum: 5000, Flags: wire.SYN | wire.FIN, WindowSize: 65535}
	for _, mode := range []SynFinMode{SynFinListenDrop, SynFinAccept, SynFinDrop} {
		// LISTEN.
		p := newPeer(t, Config{SynFin: mode})
		ln, _ := p.l.Listen(80, 0)
		p.send(80, synFin, nil)
		segs := p.recv()
		if mode == SynFinAccept {
			if len(segs) != 1 || segs[0].Flags() != wire.SYN|wire.ACK || segs[0].AckNum() != 5001 || ln.HalfOpen() != 1 {
				t.Fatalf("%v, LISTEN: %v sent, %d half-open; want a SYN-ACK for 5001", mode, describe(segs), ln.HalfOpen())
			}
		} else if len(segs) != 0 || ln.HalfOpen() != 0 {
			t.Fatalf("%v, LISTEN: %v sent, %d half-open; want nothing", mode, describe(segs), ln.HalfOpen())
		}

		// SYN-SENT.
		c, _ := p.l.Dial(netip.MustParseAddrPort("198.18.0.9:80"))
		p.recvOne()
		p.addr = netip.MustParseAddrPort("198.18.0.9:80")
		p.send(c.LocalAddr().Port(), synFin, nil)
		segs = p.recv()
		if mode == SynFinDrop {
			if len(segs) != 0 || c.State() != SynSent {
				t.Fatalf("%v, SYN-SENT: %v sent, state %v; want nothing, SYN-SENT", mode, describe(segs), c.State())
			}
		} else if len(segs) != 1 || segs[0].Flags() != wire.SYN|wire.ACK || segs[0].AckNum() != 5001 || c.State() != SynReceived {
			t.Fatalf("%v, SYN-SENT: %v sent, state %v; want a SYN-ACK for 5001, SYN-RECEIVED", mode, describe(segs), c.State())
		}

		// TIME-WAIT, a SYN+FIN beyond RCV.NXT with the listener open.
		p = newPeer(t, Config{SynFin: mode})
		a, ln := p.accept(wire.TCPOptions{MSS: 1460})
		p.timeWait(a)
		p.send(80, wire.TCPFields{SeqNum: peerISS + 100, Flags: wire.SYN | wire.FIN, WindowSize: 65535}, nil)
		segs = p.recv()
		switch mode {
		case SynFinListenDrop, SynFinDrop:
			if len(segs) != 1 || segs[0].Flags() != wire.ACK || p.l.TimeWaits() != 1 {
				t.Fatalf("%v, TIME-WAIT: %v sent, %d in TIME-WAIT; want a challenge ACK", mode, describe(segs), p.l.TimeWaits())
			}
		case SynFinAccept:
			if len(segs) != 1 || segs[0].Flags() != wire.SYN|wire.ACK || p.l.TimeWaits() != 0 || ln.HalfOpen() != 1 {
				t.Fatalf("%v, TIME-WAIT: %v sent, %d in TIME-WAIT; want a new incarnation's SYN-ACK", mode, describe(segs), p.l.TimeWaits())
			}
		}
	}
}
