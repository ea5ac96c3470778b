package tcp

import (
	"io"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// Peek returns what Read would without taking it (MSG_PEEK), Discard takes without copying
// (MSG_TRUNC), Unread counts what is there (FIONREAD); at the end both say io.EOF as Read.
func TestPeekDiscardUnread(t *testing.T) {
	p := newPeer(t, Config{})
	c, _ := p.accept(wire.TCPOptions{MSS: 1460})
	buf := make([]byte, 5)
	if n, err := c.Peek(buf); n != 0 || err != ErrWouldBlock {
		t.Fatalf("Peek with nothing there: %d, %v", n, err)
	}
	p.send(80, wire.TCPFields{SeqNum: peerISS + 1, AckNum: c.sndNxt, Flags: wire.ACK | wire.PSH, WindowSize: 65535}, []byte("hello world"))
	for range 2 {
		if n, err := c.Peek(buf); string(buf[:n]) != "hello" || err != nil || c.Unread() != 11 {
			t.Fatalf("Peek: %q, %v, %d unread; want \"hello\", 11 unread", buf[:n], err, c.Unread())
		}
	}
	if n, _ := c.Read(buf); string(buf[:n]) != "hello" || c.Unread() != 6 {
		t.Fatalf("Read after Peek: %q, %d unread", buf[:n], c.Unread())
	}
	if n, err := c.Discard(3); n != 3 || err != nil || c.Unread() != 3 {
		t.Fatalf("Discard(3): %d, %v, %d unread", n, err, c.Unread())
	}
	if n, err := c.Discard(100); n != 3 || err != nil {
		t.Fatalf("Discard(100) of 3: %d, %v", n, err)
	}
	p.send(80, wire.TCPFields{SeqNum: peerISS + 12, AckNum: c.sndNxt, Flags: wire.ACK | wire.FIN, WindowSize: 65535}, nil)
	if n, err := c.Peek(buf); n != 0 || err != io.EOF {
		t.Fatalf("Peek after the FIN: %d, %v", n, err)
	}
	if n, err := c.Discard(1); n != 0 || err != io.EOF {
		t.Fatalf("Discard after the FIN: %d, %v", n, err)
	}
}

// Buffered counts what is not yet acknowledged (SIOCOUTQ), Unsent what is not yet sent
// (SIOCOUTQNSD).
func TestBufferedAndUnsent(t *testing.T) {
	p := newPeer(t, Config{})
	c := p.dial(wire.TCPOptions{MSS: 1460})
	c.Write(make([]byte, 100)) // goes at once
	c.Write(make([]byte, 50))  // Nagle holds it: the first is unacknowledged
	if c.Buffered() != 150 || c.Unsent() != 50 || c.Info().NotSent != 50 {
		t.Fatalf("buffered %d, unsent %d; want 150, 50", c.Buffered(), c.Unsent())
	}
	p.send(c.LocalAddr().Port(), wire.TCPFields{SeqNum: peerISS + 1, AckNum: c.sndUna.Add(100), Flags: wire.ACK, WindowSize: 65535}, nil)
	if c.Buffered() != 50 || c.Unsent() != 0 {
		t.Fatalf("after the ACK of 100: buffered %d, unsent %d; want 50, 0", c.Buffered(), c.Unsent())
	}
}

// Poll says what poll(2) would: POLLIN for data and for the peer's FIN, POLLRDHUP for the FIN,
// POLLHUP when both directions are shut or the connection is gone, POLLERR when it failed.
func TestPoll(t *testing.T) {
	p := newPeer(t, Config{})
	c, _ := p.accept(wire.TCPOptions{MSS: 1460})
	check := func(what string, want Readiness) {
		t.Helper()
		if got := c.Poll(); got != want {
			t.Fatalf("%s: %+v, want %+v", what, got, want)
		}
	}
	check("established", Readiness{Writable: true})
	p.send(80, wire.TCPFields{SeqNum: peerISS + 1, AckNum: c.sndNxt, Flags: wire.ACK, WindowSize: 65535}, []byte("x"))
	check("data", Readiness{Readable: true, Writable: true})
	p.send(80, wire.TCPFields{SeqNum: peerISS + 2, AckNum: c.sndNxt, Flags: wire.ACK | wire.FIN, WindowSize: 65535}, nil)
	check("FIN", Readiness{Readable: true, Writable: true, ReadHangUp: true})
	c.CloseWrite()
	check("both shut", Readiness{Readable: true, Writable: true, ReadHangUp: true, HangUp: true})

	p = newPeer(t, Config{})
	c, _ = p.accept(wire.TCPOptions{MSS: 1460})
	p.send(80, wire.TCPFields{SeqNum: peerISS + 1, Flags: wire.RST}, nil)
	check("reset", Readiness{Readable: true, Writable: true, Error: true, ReadHangUp: true, HangUp: true})
}

// Info's counters and congestion-avoidance state follow a transfer, a timeout and its repair.
func TestInfoCountersAndCAState(t *testing.T) {
	p := newPeer(t, Config{})
	c := p.dial(wire.TCPOptions{MSS: 1460})
	port := c.LocalAddr().Port()
	c.SetNoDelay(true)
	c.Write(make([]byte, 3000)) // 1460 + 1460 + 80
	p.recv()
	in := c.Info()
	if in.DataSegsOut != 3 || in.BytesSent != 3000 || in.SegsOut != 5 || in.UnackedSegs != 3 || in.CAState != CAOpen { // SYN, ACK, data
		t.Fatalf("after 3000 bytes: %d data segments, %d bytes, %d segments, %d unacked, %v",
			in.DataSegsOut, in.BytesSent, in.SegsOut, in.UnackedSegs, in.CAState)
	}
	p.advance(10 * time.Millisecond)
	p.send(port, wire.TCPFields{SeqNum: peerISS + 1, AckNum: c.sndNxt, Flags: wire.ACK, WindowSize: 65535}, []byte("abc"))
	in = c.Info()
	if in.BytesAcked != 3001 || in.Delivered != 3 || in.BytesReceived != 3 || in.DataSegsIn != 1 || in.SegsIn != 2 || in.LastDataRecv != 0 {
		t.Fatalf("after the ACK: acked %d (want 3000 and the SYN), delivered %d, received %d, data segments in %d, segments in %d",
			in.BytesAcked, in.Delivered, in.BytesReceived, in.DataSegsIn, in.SegsIn)
	}

	c.Write(make([]byte, 100))
	rto := c.rtt.rto
	p.advance(rto) // the timeout: the segment goes again
	in = c.Info()
	if in.CAState != CALoss || in.TotalRetrans != 1 || in.BytesRetrans != 100 || in.LostSegs != 1 || in.RetransSegs != 1 || in.Backoffs != 1 {
		t.Fatalf("after a timeout: %v, %d retransmitted (%d bytes), %d lost, %d in flight again, %d backoffs",
			in.CAState, in.TotalRetrans, in.BytesRetrans, in.LostSegs, in.RetransSegs, in.Backoffs)
	}
	if in.LastDataSent != rto || in.LastDataRecv != rto { // a retransmission is not new data
		t.Fatalf("last data sent %v, received %v ago; want one RTO", in.LastDataSent, in.LastDataRecv)
	}
	p.send(port, wire.TCPFields{SeqNum: peerISS + 4, AckNum: c.sndNxt, Flags: wire.ACK, WindowSize: 65535}, nil)
	if in = c.Info(); in.CAState != CAOpen || in.UnackedSegs != 0 || in.LastAckRecv != 0 {
		t.Fatalf("repaired: %v, %d unacked", in.CAState, in.UnackedSegs)
	}
}
