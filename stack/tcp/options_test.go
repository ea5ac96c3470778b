package tcp

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// everything is a SYN's options offering every extension.
var everything = wire.TCPOptions{MSS: 1000, HasWindowScale: true, WindowScale: 7, SACKPermitted: true, HasTimestamp: true, TSVal: 77}

// Config.WindowScale, apart from Timestamps: our SYN offers window scale only when on, our
// SYN-ACK (cookies included) answers it only when on; timestamps are agreed either way.
func TestWindowScaleSwitch(t *testing.T) {
	for _, sw := range []Switch{On, Off} {
		want := sw == On
		p := newPeer(t, Config{WindowScale: sw, MaxHalfOpen: 1})
		c, err := p.l.Dial(p.addr)
		if err != nil {
			t.Fatal(err)
		}
		if o := p.recvOne().DecodeOptions(); o.HasWindowScale != want || !o.HasTimestamp {
			t.Fatalf("%v: SYN with window scale %v, timestamps %v", sw, o.HasWindowScale, o.HasTimestamp)
		}
		p.send(c.LocalAddr().Port(), wire.TCPFields{SeqNum: peerISS, AckNum: c.iss.Add(1), Flags: wire.SYN | wire.ACK, WindowSize: 1000, Options: everything}, nil)
		if in := c.Info(); in.WindowScale != want || !in.Timestamps || (in.SndWScale == 7) != want {
			t.Fatalf("%v: dialled connection agreed window scale %v (shift %d), timestamps %v", sw, in.WindowScale, in.SndWScale, in.Timestamps)
		}

		// Passive: a half-open connection, then a SYN cookie (MaxHalfOpen 1).
		p.l.Listen(80, 0)
		for i := range 2 {
			p.addr = netip.AddrPortFrom(p.addr.Addr(), 41000+uint16(i))
			p.recv()
			p.send(80, wire.TCPFields{SeqNum: peerISS, Flags: wire.SYN, WindowSize: 65535, Options: everything}, nil)
			if o := p.recvOne().DecodeOptions(); o.HasWindowScale != want || !o.HasTimestamp {
				t.Fatalf("%v: SYN-ACK %d with window scale %v, timestamps %v", sw, i, o.HasWindowScale, o.HasTimestamp)
			}
		}
		if p.l.Stats().SynCookiesSent != 1 {
			t.Fatalf("%v: %d cookies sent, want 1", sw, p.l.Stats().SynCookiesSent)
		}
	}
}

// TCP_NOOPT: a SYN, a SYN-ACK and a cookie SYN-ACK without any option, not even the MSS;
// nothing agreed, no option on the segments after; the peer's MSS still counts. Without it,
// the same exchange agrees on everything.
func TestNoOptions(t *testing.T) {
	for _, noOpt := range []bool{false, true} {
		p := newPeer(t, Config{MaxHalfOpen: 1})
		c, err := p.l.DialWith(p.addr, DialOptions{NoOptions: noOpt})
		if err != nil {
			t.Fatal(err)
		}
		if hl := p.recvOne().HeaderLen(); (hl == wire.TCPMinHeaderLen) != noOpt {
			t.Fatalf("no options %v: SYN header of %d bytes", noOpt, hl)
		}
		p.send(c.LocalAddr().Port(), wire.TCPFields{SeqNum: peerISS, AckNum: c.iss.Add(1), Flags: wire.SYN | wire.ACK, WindowSize: 65535, Options: everything}, nil)
		in := c.Info()
		if in.Timestamps == noOpt || in.SACK == noOpt || in.WindowScale == noOpt || c.NoOptions() != noOpt {
			t.Fatalf("no options %v: agreed timestamps %v, SACK %v, window scale %v", noOpt, in.Timestamps, in.SACK, in.WindowScale)
		}
		if noOpt && in.SndMSS != 1000 {
			t.Fatalf("no options: SMSS %d, want the peer's 1000", in.SndMSS)
		}
		p.recv()
		c.SetNoDelay(true)
		c.Write([]byte("data"))
		if hl := p.recvOne().HeaderLen(); (hl == wire.TCPMinHeaderLen) != noOpt {
			t.Fatalf("no options %v: data segment header of %d bytes", noOpt, hl)
		}

		// Passive: a half-open connection, then a SYN cookie (MaxHalfOpen 1).
		ln, _ := p.l.Listen(80, 0)
		ln.SetNoOptions(noOpt)
		for i := range 2 {
			p.addr = netip.AddrPortFrom(p.addr.Addr(), 41000+uint16(i))
			p.send(80, wire.TCPFields{SeqNum: peerISS, Flags: wire.SYN, WindowSize: 65535, Options: everything}, nil)
			if hl := p.recvOne().HeaderLen(); (hl == wire.TCPMinHeaderLen) != noOpt {
				t.Fatalf("no options %v: SYN-ACK %d header of %d bytes", noOpt, i, hl)
			}
		}
		if p.l.Stats().SynCookiesSent != 1 {
			t.Fatalf("no options %v: %d cookies sent, want 1", noOpt, p.l.Stats().SynCookiesSent)
		}
	}
}

// The new knobs' defaults keep the stack as it was, and their bad values fail Validate.
func TestKnobDefaultsAndValidation(t *testing.T) {
	d := Config{KeepAliveIdle: time.Minute}.WithDefaults()
	if d.WindowScale != On || d.RSTChallenge != On || d.SYNChallenge != On || d.SynFin != SynFinListenDrop ||
		d.KeepAliveInterval != time.Minute || d.ConnectTimeout != 0 {
		t.Fatalf("defaults: %+v", d)
	}
	for name, c := range map[string]Config{
		"SynFin":         {SynFin: SynFinDrop + 1},
		"RSTChallenge":   {RSTChallenge: Off + 1},
		"SYNChallenge":   {SYNChallenge: Off + 1},
		"WindowScale":    {WindowScale: Off + 1},
		"ConnectTimeout": {ConnectTimeout: -time.Second},
		"SendBuffer":     {SendBuffer: 1<<30 + 1},
		"ReceiveBuffer":  {ReceiveBuffer: 1<<30 + 1},
	} {
		if err := c.WithDefaults().Validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s out of range: Validate says %v", name, err)
		}
	}
}

// Config.InitialWindow: RFC 6928's ten segments instead of RFC 5681 3.1's three (MSS 1460).
func TestInitialWindow(t *testing.T) {
	for _, c := range []struct{ iw, segs int }{{0, 3}, {10, 10}} {
		p := newPeer(t, Config{InitialWindow: c.iw})
		a, _ := p.accept(wire.TCPOptions{MSS: 1460})
		if n, err := a.Write(make([]byte, 64<<10)); err != nil || n == 0 {
			t.Fatalf("write: %d, %v", n, err)
		}
		if got := len(p.recv()); got != c.segs {
			t.Errorf("InitialWindow %d: %d segments sent before the first ACK, want %d", c.iw, got, c.segs)
		}
	}
	if err := (Config{InitialWindow: -1}).WithDefaults().Validate(); err == nil {
		t.Error("a negative InitialWindow validates")
	}
}

// SetConfig acts as a sysctl: an open connection follows a new switch from its next segment,
// and a configuration that does not validate is refused and changes nothing.
func TestSetConfig(t *testing.T) {
	p := newPeer(t, Config{})
	c, _ := p.accept(wire.TCPOptions{MSS: 1460})
	syn := func() {
		p.send(80, wire.TCPFields{SeqNum: peerISS + 10, Flags: wire.SYN, WindowSize: 65535}, nil)
	}
	syn()
	if s := p.recvOne(); s.Flags() != wire.ACK || c.State() != Established {
		t.Fatalf("before: %v, state %v; want a challenge ACK", s.Flags(), c.State())
	}
	cfg := p.l.Config()
	cfg.SYNChallenge = Off
	if err := p.l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	p.advance(oowInterval)
	syn()
	if s := p.recvOne(); s.Flags() != wire.RST|wire.ACK || c.State() != Closed {
		t.Fatalf("after: %v, state %v; want RST|ACK, CLOSED", s.Flags(), c.State())
	}
	bad := p.l.Config()
	bad.InitialWindow = -1
	if err := p.l.SetConfig(bad); err == nil || p.l.Config().InitialWindow != 0 {
		t.Errorf("an invalid configuration: %v, InitialWindow now %d", err, p.l.Config().InitialWindow)
	}
}

// Config.DelayedACKSegments: an ACK for every second segment whatever its size (FreeBSD),
// where by default small segments wait for the delayed-ACK timer.
func TestDelayedACKSegments(t *testing.T) {
	for _, c := range []struct{ n, acks int }{{0, 0}, {2, 1}, {1, 2}} {
		p := newPeer(t, Config{DelayedACKSegments: c.n})
		a, _ := p.accept(wire.TCPOptions{MSS: 1460})
		for i := range 2 {
			p.send(80, wire.TCPFields{SeqNum: peerISS + 1 + wire.Seq(10*i), AckNum: a.Info().SndNxt, Flags: wire.ACK, WindowSize: 65535}, make([]byte, 10))
		}
		if got := len(p.recv()); got != c.acks {
			t.Errorf("DelayedACKSegments %d: %d ACKs for two 10-byte segments, want %d", c.n, got, c.acks)
		}
	}
}

// Config.FINWithACK: in FIN-WAIT-1, the ACK for the peer's data carries our FIN again at its
// sequence number, as BSD does; by default it is a bare ACK after the FIN. Challenge ACKs
// never do.
func TestFINWithACK(t *testing.T) {
	for _, sw := range []Switch{Off, On} {
		p := newPeer(t, Config{FINWithACK: sw})
		a, _ := p.accept(wire.TCPOptions{MSS: 1460})
		a.CloseWrite()
		fin := p.recvOne()
		if fin.Flags() != wire.FIN|wire.ACK {
			t.Fatalf("%v: %v, want our FIN", sw, fin.Flags())
		}
		p.send(80, wire.TCPFields{SeqNum: peerISS + 1, AckNum: fin.SeqNum(), Flags: wire.ACK | wire.PSH, WindowSize: 65535}, make([]byte, 1460))
		p.send(80, wire.TCPFields{SeqNum: peerISS + 1461, AckNum: fin.SeqNum(), Flags: wire.ACK | wire.PSH, WindowSize: 65535}, make([]byte, 1460))
		ack := p.recvOne()
		want, seq := wire.TCPFlags(wire.ACK), fin.SeqNum().Add(1)
		if sw == On {
			want, seq = wire.FIN|wire.ACK, fin.SeqNum()
		}
		if ack.Flags() != want || ack.SeqNum() != seq || ack.AckNum() != peerISS+2921 {
			t.Errorf("%v: %v seq %d ack %d; want %v seq %d ack %d", sw, ack.Flags(), ack.SeqNum(), ack.AckNum(), want, seq, peerISS+2921)
		}
		// A challenge ACK never carries it (BSD's tcp_respond).
		p.send(80, wire.TCPFields{SeqNum: peerISS + 3000, Flags: wire.SYN, WindowSize: 65535}, nil)
		if ch := p.recvOne(); ch.Flags() != wire.ACK || ch.SeqNum() != fin.SeqNum().Add(1) {
			t.Errorf("%v: challenge ACK %v seq %d; want a bare ACK at %d", sw, ch.Flags(), ch.SeqNum(), fin.SeqNum().Add(1))
		}
	}
}

// TCP_MAXSEG: DialOptions.MSS and Listener.SetMSS cap the MSS announced and the segments sent.
func TestUserMSS(t *testing.T) {
	p := newPeer(t, Config{})
	c, err := p.l.DialWith(p.addr, DialOptions{MSS: 1100})
	if err != nil {
		t.Fatal(err)
	}
	if syn := p.recvOne(); syn.DecodeOptions().MSS != 1100 {
		t.Fatalf("SYN announces MSS %d, want 1100", syn.DecodeOptions().MSS)
	}
	syn := wire.TCPFields{SeqNum: peerISS, AckNum: c.Info().ISS.Add(1), Flags: wire.SYN | wire.ACK, WindowSize: 65535, Options: wire.TCPOptions{MSS: 1460}}
	p.send(c.LocalAddr().Port(), syn, nil)
	p.recv()
	c.Write(make([]byte, 3000))
	var sizes []int
	for _, s := range p.recv() {
		sizes = append(sizes, len(s.Payload()))
	}
	if len(sizes) < 2 || sizes[0] != 1100 || sizes[1] != 1100 {
		t.Errorf("segments of %v bytes, want 1100 each (the cap, below the peer's 1460)", sizes)
	}

	p = newPeer(t, Config{})
	ln, _ := p.l.Listen(80, 0)
	ln.SetMSS(1200)
	p.send(80, wire.TCPFields{SeqNum: peerISS, Flags: wire.SYN, WindowSize: 65535, Options: wire.TCPOptions{MSS: 1460}}, nil)
	if sa := p.recvOne(); sa.DecodeOptions().MSS != 1200 {
		t.Errorf("SYN-ACK announces MSS %d, want 1200", sa.DecodeOptions().MSS)
	}
}

// The peer's SYN again in SYN-RECEIVED means our SYN-ACK was lost: it goes again, the same.
func TestSynAgainInSynReceived(t *testing.T) {
	p := newPeer(t, Config{})
	if _, err := p.l.Listen(80, 0); err != nil {
		t.Fatal(err)
	}
	syn := wire.TCPFields{SeqNum: peerISS, Flags: wire.SYN, WindowSize: 65535, Options: wire.TCPOptions{MSS: 1460}}
	p.send(80, syn, nil)
	first := p.recvOne()
	p.send(80, syn, nil)
	again := p.recvOne()
	if again.Flags() != wire.SYN|wire.ACK || again.SeqNum() != first.SeqNum() || again.AckNum() != peerISS+1 {
		t.Errorf("the SYN again drew %v seq %d ack %d; want the SYN-ACK again, seq %d ack %d",
			again.Flags(), again.SeqNum(), again.AckNum(), first.SeqNum(), peerISS+1)
	}
}

// RFC 5961 3.2 compares the RST's own sequence number with RCV.NXT: a RST carrying data that
// starts before RCV.NXT and reaches past it is not an exact match once trimmed.
func TestRSTWithDataBeforeRcvNxt(t *testing.T) {
	p := newPeer(t, Config{})
	c, _ := p.accept(wire.TCPOptions{MSS: 1460})
	p.send(80, wire.TCPFields{SeqNum: peerISS - 4, Flags: wire.RST, WindowSize: 65535}, make([]byte, 10))
	if s := p.recvOne(); s.Flags() != wire.ACK || c.State() != Established {
		t.Fatalf("%v sent, state %v; want a challenge ACK, ESTABLISHED", s.Flags(), c.State())
	}
	// Positive control: at RCV.NXT exactly, the RST resets.
	p.send(80, wire.TCPFields{SeqNum: peerISS + 1, Flags: wire.RST, WindowSize: 65535}, nil)
	if c.State() != Closed {
		t.Fatalf("state %v after a RST at RCV.NXT, want CLOSED", c.State())
	}
}
