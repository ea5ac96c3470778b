package tcp

import (
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// The sequence numbers the joined connections stand at: a few bytes below the 2^32 wrap on
// both sides, so that an addition done outside sequence arithmetic shows.
const (
	joinSnd  wire.Seq = 0xfffffffd // SND.NXT
	joinRcv  wire.Seq = 0xfffffffe // RCV.NXT
	joinPort          = 8080
)

// join joins a connection from the layer's joinPort to the peer in the state j (its addresses
// filled in), and checks that Join sent nothing.
func (p *testPeer) join(j JoinState) *Conn {
	p.t.Helper()
	j.Local, j.Remote = joinPort, p.addr
	c, err := p.l.Join(j)
	if err != nil {
		p.t.Fatal(err)
	}
	if segs := p.recv(); len(segs) != 0 {
		p.t.Fatalf("Join sent %v", describe(segs))
	}
	return c
}

// sendJoined delivers a segment from the peer to the joined connection, with ACK set.
func (p *testPeer) sendJoined(seq, ack wire.Seq, wnd uint16, data []byte, opts wire.TCPOptions) {
	p.t.Helper()
	p.send(joinPort, wire.TCPFields{SeqNum: seq, AckNum: ack, Flags: wire.ACK, WindowSize: wnd, Options: opts}, data)
}

// expectSegment checks a segment's sequence and acknowledgment numbers, flags, window field and
// payload.
func expectSegment(t *testing.T, what string, s wire.TCP, seq, ack wire.Seq, flags wire.TCPFlags, wnd uint16, data string) {
	t.Helper()
	if s.SeqNum() != seq || s.AckNum() != ack || s.Flags() != flags || s.WindowSize() != wnd || string(s.Payload()) != data {
		t.Fatalf("%s: %v seq %d ack %d window %d %q; want %v seq %d ack %d window %d %q", what,
			s.Flags(), s.SeqNum(), s.AckNum(), s.WindowSize(), s.Payload(), flags, seq, ack, wnd, data)
	}
}

// A joined connection is ESTABLISHED with the control block a handshake would have left, and
// counted apart from opens. Written data goes at SND.NXT, acknowledges RCV.NXT and advertises
// the receive buffer scaled by RcvShift; the peer's ACK of it is taken: SND.UNA moves, the
// window is its field shifted by SndShift, and nothing answers it (no RST, no challenge ACK).
func TestJoinWrite(t *testing.T) {
	p := newPeer(t, Config{InitialWindow: 10})
	c := p.join(JoinState{SndNxt: uint32(joinSnd), RcvNxt: uint32(joinRcv), SndWnd: 1000 << 7, MSS: 1460, SndShift: 7, RcvShift: 7})
	if !c.Connected() || !c.Writable() || c.Readable() || c.State() != Established {
		t.Fatalf("joined: connected %v, writable %v, readable %v, %v; want connected, writable, not readable, ESTABLISHED",
			c.Connected(), c.Writable(), c.Readable(), c.State())
	}
	in := c.Info()
	want := Info{
		State: Established, ISS: joinSnd - 1, SndUna: joinSnd, SndNxt: joinSnd, SndWnd: 128000,
		IRS: joinRcv - 1, RcvNxt: joinRcv, RcvWnd: DefaultBuffer, SndMSS: 1460, AdvMSS: 1460, PMTU: 1500,
		SndWScale: 7, RcvWScale: 7, WindowScale: true, RTO: time.Second, ATO: DefaultDelayedACK,
		Cwnd: 10 * 1460, Ssthresh: 1 << 30, Reordering: dupThresh,
	}
	if in != want {
		t.Fatalf("joined:\n%+v\nwant\n%+v", in, want)
	}
	if st := p.l.Stats(); st.Joins != 1 || st.ActiveOpens != 0 || st.PassiveOpens != 0 || st.Established != 0 || p.l.Conns() != 1 {
		t.Fatalf("stats: %d joins, %d active, %d passive, %d established, %d in the table; want 1, 0, 0, 0, 1",
			st.Joins, st.ActiveOpens, st.PassiveOpens, st.Established, p.l.Conns())
	}

	if n, err := c.Write([]byte("hello")); n != 5 || err != nil {
		t.Fatalf("Write: %d, %v", n, err)
	}
	seg := p.recvOne()
	expectSegment(t, "data", seg, joinSnd, joinRcv, wire.ACK|wire.PSH, DefaultBuffer>>7, "hello")
	if seg.HeaderLen() != wire.TCPMinHeaderLen {
		t.Fatalf("data segment with %d bytes of header, want no option", seg.HeaderLen())
	}

	p.sendJoined(joinRcv, joinSnd.Add(5), 500, nil, wire.TCPOptions{})
	if segs := p.recv(); len(segs) != 0 {
		t.Fatalf("the peer's ACK drew %v", describe(segs))
	}
	in = c.Info()
	if in.SndUna != joinSnd.Add(5) || in.SndNxt != 2 || in.SndWnd != 500<<7 || c.Buffered() != 0 || c.State() != Established {
		t.Fatalf("after the ACK: SND.UNA %d, SND.NXT %d, SND.WND %d, %d buffered, %v; want 2, 2, %d, 0, ESTABLISHED",
			in.SndUna, in.SndNxt, in.SndWnd, c.Buffered(), c.State(), 500<<7)
	}
	if st := p.l.Stats(); st.ResetsOut != 0 || st.ChallengeACKs != 0 || st.Unacceptable != 0 {
		t.Fatalf("after the ACK: %d resets, %d challenge ACKs, %d unacceptable; want none", st.ResetsOut, st.ChallengeACKs, st.Unacceptable)
	}

	// MSS 0 is RFC 9293 3.7.1's 536, and the initial window follows it.
	c2, err := p.l.Join(JoinState{Local: joinPort + 1, Remote: p.addr, SndNxt: 1, RcvNxt: 1, SndWnd: 100, SndShift: -1, RcvShift: -1})
	if err != nil {
		t.Fatal(err)
	}
	if in := c2.Info(); in.SndMSS != 536 || in.Cwnd != 10*536 || in.WindowScale || in.RcvWnd != 0xffff {
		t.Fatalf("MSS 0: SMSS %d, cwnd %d, window scale %v, receive window %d; want 536, %d, false, 65535",
			in.SndMSS, in.Cwnd, in.WindowScale, in.RcvWnd, 10*536)
	}
}

// The peer's data at RCV.NXT, sent before the joined connection sent anything, is delivered
// and acknowledged (after the delayed-ACK timer) at RCV.NXT plus its length, across the wrap.
// Without window scaling the window field is the buffer as far as 16 bits say.
func TestJoinPeerData(t *testing.T) {
	p := newPeer(t, Config{})
	c := p.join(JoinState{SndNxt: uint32(joinSnd), RcvNxt: uint32(joinRcv), SndWnd: 65535, MSS: 1460, SndShift: -1, RcvShift: -1})
	p.sendJoined(joinRcv, joinSnd, 65535, []byte("abc"), wire.TCPOptions{})
	buf := make([]byte, 10)
	if n, err := c.Read(buf); string(buf[:n]) != "abc" || err != nil {
		t.Fatalf("Read: %q, %v; want \"abc\"", buf[:n], err)
	}
	if segs := p.recv(); len(segs) != 0 {
		t.Fatalf("before the delayed-ACK timer: %v", describe(segs))
	}
	p.advance(DefaultDelayedACK - time.Millisecond)
	if segs := p.recv(); len(segs) != 0 {
		t.Fatalf("before the delayed-ACK timer: %v", describe(segs))
	}
	p.advance(time.Millisecond)
	// The right edge stays where it was advertised until it can move by the silly-window
	// threshold (RFC 9293 3.8.6.2.2): the window is 3 bytes less.
	expectSegment(t, "delayed ACK", p.recvOne(), joinSnd, joinRcv.Add(3), wire.ACK, 0xffff-3, "")

	p.sendJoined(joinRcv.Add(3), joinSnd, 65535, nil, wire.TCPOptions{})
	p.send(joinPort, wire.TCPFields{SeqNum: joinRcv.Add(3), AckNum: joinSnd, Flags: wire.ACK | wire.FIN, WindowSize: 65535}, nil)
	if n, err := c.Read(buf); n != 0 || err != io.EOF || c.State() != CloseWait {
		t.Fatalf("after the peer's FIN: %d, %v, %v; want EOF in CLOSE-WAIT", n, err, c.State())
	}
	expectSegment(t, "the FIN's ACK", p.recvOne(), joinSnd, joinRcv.Add(4), wire.ACK, 0xffff-4, "")
}

// A segment outside the window the joined connection advertises (the receive buffer scaled
// by RcvShift: 256 KiB) is not taken and draws RFC 9293 3.10.7.4's ACK,
// <SEQ=SND.NXT><ACK=RCV.NXT>, not a challenge ACK; one at the window's last bytes is taken,
// out of order.
func TestJoinOutOfWindow(t *testing.T) {
	p := newPeer(t, Config{})
	c := p.join(JoinState{SndNxt: uint32(joinSnd), RcvNxt: uint32(joinRcv), SndWnd: 65535 << 7, MSS: 1460, SndShift: 7, RcvShift: 7})
	data := []byte("0123456789")
	for i, seq := range []wire.Seq{joinRcv.Add(DefaultBuffer), joinRcv - 100} { // just past the right edge; wholly old
		p.sendJoined(seq, joinSnd, 65535, data, wire.TCPOptions{})
		expectSegment(t, "ACK for an unacceptable segment", p.recvOne(), joinSnd, joinRcv, wire.ACK, DefaultBuffer>>7, "")
		if st := p.l.Stats(); st.Unacceptable != uint64(i+1) || st.ChallengeACKs != 0 || st.OutOfOrder != 0 || c.Unread() != 0 || c.oooBytes() != 0 {
			t.Fatalf("segment at %d: %d unacceptable, %d challenge ACKs, %d out of order, %d unread, %d held; want %d, 0, 0, 0, 0",
				seq, st.Unacceptable, st.ChallengeACKs, st.OutOfOrder, c.Unread(), c.oooBytes(), i+1)
		}
	}
	p.sendJoined(joinRcv.Add(DefaultBuffer-10), joinSnd, 65535, data, wire.TCPOptions{})
	expectSegment(t, "ACK for out-of-order data", p.recvOne(), joinSnd, joinRcv, wire.ACK, DefaultBuffer>>7, "")
	if st := p.l.Stats(); st.Unacceptable != 2 || st.OutOfOrder != 1 || c.oooBytes() != 10 {
		t.Fatalf("at the window's last bytes: %d unacceptable, %d out of order, %d held; want 2, 1, 10", st.Unacceptable, st.OutOfOrder, c.oooBytes())
	}
}

// A receive buffer that is no multiple of the scale's unit is advertised rounded down to one,
// so the window the peer computes from the field is the one the stack takes: 5000 bytes under
// RcvShift 10 are 4 units, 4096 bytes; a byte at RCV.NXT+4096 is outside, one at
// RCV.NXT+4095 inside.
func TestJoinWindowRounded(t *testing.T) {
	p := newPeer(t, Config{})
	c := p.join(JoinState{SndNxt: uint32(joinSnd), RcvNxt: uint32(joinRcv), SndWnd: 65535, MSS: 1460, SndShift: 10, RcvShift: 10,
		Buffers: BufferSizes{Receive: 5000}})
	if in := c.Info(); in.RcvWnd != 4096 {
		t.Fatalf("receive window %d, want 4096", in.RcvWnd)
	}
	p.sendJoined(joinRcv.Add(4096), joinSnd, 65535, []byte("x"), wire.TCPOptions{})
	expectSegment(t, "ACK for an unacceptable segment", p.recvOne(), joinSnd, joinRcv, wire.ACK, 4, "")
	p.sendJoined(joinRcv.Add(4095), joinSnd, 65535, []byte("x"), wire.TCPOptions{})
	expectSegment(t, "ACK for out-of-order data", p.recvOne(), joinSnd, joinRcv, wire.ACK, 4, "")
	if st := p.l.Stats(); st.Unacceptable != 1 || st.OutOfOrder != 1 {
		t.Fatalf("%d unacceptable, %d out of order; want 1, 1", st.Unacceptable, st.OutOfOrder)
	}
}

// With Timestamps, every segment carries the option with TSecr = TSRecent, a segment is one
// option shorter, a peer segment without one or with an older TSval is not taken (RFC 7323 3.2,
// 5.3 R1), and a newer TSval becomes TS.Recent. Without, no segment carries one.
func TestJoinTimestamps(t *testing.T) {
	for _, ts := range []bool{true, false} {
		p := newPeer(t, Config{})
		c := p.join(JoinState{SndNxt: uint32(joinSnd), RcvNxt: uint32(joinRcv), SndWnd: 65535, MSS: 1000, SndShift: 0, RcvShift: 0,
			Timestamps: ts, TSRecent: 123456})
		c.SetNoDelay(true)
		c.Write(make([]byte, 1000))
		segs := p.recv()
		wantLens := map[bool][]int{true: {988, 12}, false: {1000}}[ts]
		if len(segs) != len(wantLens) {
			t.Fatalf("timestamps %v: %v sent, want %d segments", ts, describe(segs), len(wantLens))
		}
		for i, s := range segs {
			o := s.DecodeOptions()
			if len(s.Payload()) != wantLens[i] || s.SeqNum() != joinSnd.Add(uint32(i*988)) || o.HasTimestamp != ts ||
				ts && (o.TSEcr != 123456 || o.TSVal != c.tsAt(p.h.now)) {
				t.Fatalf("timestamps %v: segment %d: seq %d, %d bytes, timestamp %v (%d, echo %d); want seq %d, %d bytes, echo 123456",
					ts, i, s.SeqNum(), len(s.Payload()), o.HasTimestamp, o.TSVal, o.TSEcr, joinSnd.Add(uint32(i*988)), wantLens[i])
			}
		}
		if !ts {
			continue
		}
		p.sendJoined(joinRcv, joinSnd.Add(1000), 65535, nil, wire.TCPOptions{}) // no timestamp: dropped
		p.sendJoined(joinRcv, joinSnd.Add(1000), 65535, nil, wire.TCPOptions{HasTimestamp: true, TSVal: 123455})
		expectSegment(t, "PAWS", p.recvOne(), joinSnd.Add(1000), joinRcv, wire.ACK, 0xffff, "")
		if st := p.l.Stats(); st.NoTimestamp != 1 || st.PAWSRejects != 1 || c.Info().SndUna != joinSnd {
			t.Fatalf("%d without timestamp, %d PAWS rejects, SND.UNA %d; want 1, 1, %d", st.NoTimestamp, st.PAWSRejects, c.Info().SndUna, joinSnd)
		}
		p.sendJoined(joinRcv, joinSnd.Add(1000), 65535, []byte("x"), wire.TCPOptions{HasTimestamp: true, TSVal: 123457})
		if c.Info().SndUna != joinSnd.Add(1000) || c.Unread() != 1 {
			t.Fatalf("newer TSval: SND.UNA %d, %d unread; want %d, 1", c.Info().SndUna, c.Unread(), joinSnd.Add(1000))
		}
		p.advance(DefaultDelayedACK)
		if o := p.recvOne().DecodeOptions(); !o.HasTimestamp || o.TSEcr != 123457 {
			t.Fatalf("the ACK echoes %d, want the newer TSval 123457", o.TSEcr)
		}
	}
}

// With SACK, an out-of-order peer segment draws an ACK for RCV.NXT with a SACK block for it
// (RFC 2018 4); without, the same ACK and no block.
func TestJoinSACK(t *testing.T) {
	for _, sack := range []bool{true, false} {
		p := newPeer(t, Config{})
		p.join(JoinState{SndNxt: uint32(joinSnd), RcvNxt: uint32(joinRcv), SndWnd: 65535, MSS: 1460, SndShift: 7, RcvShift: 7, SACK: sack})
		p.sendJoined(joinRcv.Add(100), joinSnd, 65535, make([]byte, 10), wire.TCPOptions{})
		s := p.recvOne()
		expectSegment(t, "ACK for out-of-order data", s, joinSnd, joinRcv, wire.ACK, DefaultBuffer>>7, "")
		o := s.DecodeOptions()
		switch {
		case sack && (o.NumSACKBlocks != 1 || o.SACKBlocks[0] != wire.SACKBlock{Left: joinRcv.Add(100), Right: joinRcv.Add(110)}):
			t.Fatalf("SACK: %d blocks %v; want [%d, %d)", o.NumSACKBlocks, o.SACKBlocks[:o.NumSACKBlocks], joinRcv.Add(100), joinRcv.Add(110))
		case !sack && o.NumSACKBlocks != 0:
			t.Fatalf("no SACK: %d blocks sent", o.NumSACKBlocks)
		}
	}
}

// Joined at a zero window, written data waits; the persist timer probes at SND.UNA-1 after the
// initial RTO and again after twice that (RFC 9293 3.8.6.1), and the window update that
// opens the window releases the data.
func TestJoinZeroWindowPersist(t *testing.T) {
	p := newPeer(t, Config{})
	c := p.join(JoinState{SndNxt: uint32(joinSnd), RcvNxt: uint32(joinRcv), SndWnd: 0, MSS: 1460, SndShift: 2, RcvShift: 2})
	if n, err := c.Write(make([]byte, 100)); n != 100 || err != nil {
		t.Fatalf("Write: %d, %v", n, err)
	}
	if segs := p.recv(); len(segs) != 0 || c.Unsent() != 100 {
		t.Fatalf("into a zero window: %v sent, %d unsent; want nothing, 100", describe(segs), c.Unsent())
	}
	const wnd = 0xffff // 256 KiB >> 2, as far as the field says
	for i, wait := range []time.Duration{time.Second, 2 * time.Second} {
		p.advance(wait - time.Millisecond)
		if segs := p.recv(); len(segs) != 0 {
			t.Fatalf("before probe %d: %v", i+1, describe(segs))
		}
		p.advance(time.Millisecond)
		expectSegment(t, "probe", p.recvOne(), joinSnd-1, joinRcv, wire.ACK, wnd, "")
	}
	p.sendJoined(joinRcv, joinSnd, 250, nil, wire.TCPOptions{}) // 1000 bytes, scaled
	expectSegment(t, "released data", p.recvOne(), joinSnd, joinRcv, wire.ACK|wire.PSH, wnd, string(make([]byte, 100)))
	if c.armed(persistTimer) || c.Info().SndWnd != 1000 {
		t.Fatalf("after the window update: persist timer armed %v, SND.WND %d; want stopped, 1000", c.armed(persistTimer), c.Info().SndWnd)
	}
	p.sendJoined(joinRcv, joinSnd.Add(100), 250, nil, wire.TCPOptions{})
	if c.Buffered() != 0 || c.Info().SndUna != joinSnd.Add(100) {
		t.Fatalf("after the ACK: %d buffered, SND.UNA %d", c.Buffered(), c.Info().SndUna)
	}
}

// Close sends the FIN after the data written, at SND.NXT; the close completes into TIME-WAIT,
// where the four-tuple cannot be joined again.
func TestJoinClose(t *testing.T) {
	p := newPeer(t, Config{})
	c := p.join(JoinState{SndNxt: uint32(joinSnd), RcvNxt: uint32(joinRcv), SndWnd: 65535, MSS: 1460, SndShift: -1, RcvShift: -1})
	c.Write([]byte("hi"))
	expectSegment(t, "data", p.recvOne(), joinSnd, joinRcv, wire.ACK|wire.PSH, 0xffff, "hi")
	if err := c.Close(); err != nil || c.State() != FinWait1 {
		t.Fatalf("Close: %v, %v", err, c.State())
	}
	expectSegment(t, "FIN", p.recvOne(), joinSnd.Add(2), joinRcv, wire.ACK|wire.FIN, 0xffff, "")
	p.send(joinPort, wire.TCPFields{SeqNum: joinRcv, AckNum: joinSnd.Add(3), Flags: wire.ACK | wire.FIN, WindowSize: 65535}, nil)
	expectSegment(t, "the FIN's ACK", p.recvOne(), joinSnd.Add(3), joinRcv.Add(1), wire.ACK, 0xffff-1, "") // the FIN took one of the window
	if c.State() != TimeWait || p.l.Conns() != 0 {
		t.Fatalf("after the peer's FIN: %v, %d in the table; want TIME-WAIT, out of the table", c.State(), p.l.Conns())
	}
	_, err := p.l.Join(JoinState{Local: joinPort, Remote: p.addr, SndNxt: 1, RcvNxt: 1, SndShift: -1, RcvShift: -1})
	if !errors.Is(err, ErrAddrInUse) {
		t.Fatalf("Join of a tuple in TIME-WAIT: %v, want ErrAddrInUse", err)
	}
}

// Join refuses a four-tuple in use, an address or port a dial would refuse, a state no
// handshake could leave, and a full table; it sends nothing and adds nothing for any of them.
// A listener on the local port is no obstacle.
func TestJoinErrors(t *testing.T) {
	p := newPeer(t, Config{MaxConnections: 2})
	if _, err := p.l.Listen(joinPort, 0); err != nil {
		t.Fatal(err)
	}
	ok := JoinState{Local: joinPort, Remote: p.addr, SndNxt: 1, RcvNxt: 1, SndWnd: 1000, SndShift: 7, RcvShift: 7}
	if _, err := p.l.Join(ok); err != nil {
		t.Fatalf("Join on a listener's port: %v", err)
	}
	cases := []struct {
		name string
		edit func(*JoinState)
		want error
	}{
		{"the same four-tuple", func(*JoinState) {}, ErrAddrInUse},
		{"remote port 0", func(j *JoinState) { j.Remote = netip.AddrPortFrom(p.addr.Addr(), 0) }, ErrInvalidAddress},
		{"local port 0", func(j *JoinState) { j.Local = 0 }, ErrInvalidAddress},
		{"unspecified", func(j *JoinState) { j.Remote = netip.MustParseAddrPort("0.0.0.0:80") }, ErrInvalidAddress},
		{"multicast", func(j *JoinState) { j.Remote = netip.MustParseAddrPort("224.0.0.1:80") }, ErrInvalidAddress},
		{"IPv6", func(j *JoinState) { j.Remote = netip.MustParseAddrPort("[2001:db8::1]:80") }, ErrInvalidAddress},
		{"shift 15", func(j *JoinState) { j.Local, j.SndShift = joinPort+1, 15 }, ErrInvalidJoinState},
		{"shift -2", func(j *JoinState) { j.Local, j.RcvShift = joinPort+1, -2 }, ErrInvalidJoinState},
		{"scaled one way", func(j *JoinState) { j.Local, j.RcvShift = joinPort+1, -1 }, ErrInvalidJoinState},
		{"window past the field", func(j *JoinState) { j.Local, j.SndWnd, j.SndShift, j.RcvShift = joinPort+1, 0x10000, -1, -1 }, ErrInvalidJoinState},
		{"window past the scaled field", func(j *JoinState) { j.Local, j.SndWnd = joinPort+1, 0xffff<<7+1 }, ErrInvalidJoinState},
		{"buffer under the scale's unit", func(j *JoinState) {
			j.Local, j.RcvShift, j.Buffers = joinPort+1, 11, BufferSizes{Receive: 2047}
		}, ErrInvalidJoinState},
		{"negative MSS", func(j *JoinState) { j.Local, j.MSS = joinPort+1, -1 }, ErrInvalidJoinState},
		{"MSS past 16 bits", func(j *JoinState) { j.Local, j.MSS = joinPort+1, 0x10000 }, ErrInvalidJoinState},
	}
	for _, k := range cases {
		j := ok
		k.edit(&j)
		if c, err := p.l.Join(j); !errors.Is(err, k.want) || c != nil {
			t.Errorf("%s: %v, %v; want %v", k.name, c, err, k.want)
		}
	}
	if p.l.Conns() != 1 || p.l.Stats().Joins != 1 || len(p.h.sent) != 0 {
		t.Fatalf("after the refusals: %d in the table, %d joins, %d segments sent; want 1, 1, 0", p.l.Conns(), p.l.Stats().Joins, len(p.h.sent))
	}

	// The largest window the scaled field says, and a buffer of exactly the scale's unit, are
	// fine; then the table (MaxConnections 2) is full.
	j := ok
	j.Local, j.SndWnd, j.RcvShift, j.Buffers = joinPort+1, 0xffff<<7, 11, BufferSizes{Receive: 2048}
	c, err := p.l.Join(j)
	if err != nil {
		t.Fatalf("at the limits: %v", err)
	}
	if in := c.Info(); in.RcvWnd != 2048 || in.RcvWScale != 11 {
		t.Fatalf("at the limits: receive window %d, scale %d; want 2048, 11", in.RcvWnd, in.RcvWScale)
	}
	j.Local = joinPort + 2
	if _, err := p.l.Join(j); !errors.Is(err, ErrTooManyConns) || p.l.Stats().TableFull != 1 {
		t.Fatalf("table full: %v, %d counted; want ErrTooManyConns, 1", err, p.l.Stats().TableFull)
	}
}
