package tcp

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// testPeer plays the other end of a Layer: its segments go in as datagrams through
// HandlePacket, the whole input path, and what the layer sends comes back parsed.
type testPeer struct {
	t    *testing.T
	h    *fakeHost
	l    *Layer
	addr netip.AddrPort // the peer's address and port
	seen int            // the segments of h.sent already returned by recv
}

const peerISS = 1000 // the peer's initial sequence number

func newPeer(t *testing.T, cfg Config) *testPeer {
	t.Helper()
	h := &fakeHost{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return &testPeer{t: t, h: h, l: New(cfg, h, [16]byte{1}), addr: netip.MustParseAddrPort("198.18.0.1:40000")}
}

// send delivers a segment from the peer to the layer's port.
func (p *testPeer) send(port uint16, f wire.TCPFields, data []byte) {
	p.t.Helper()
	f.SourcePort, f.DestinationPort = p.addr.Port(), port
	ip := wire.IPv4Fields{TTL: 64, Protocol: wire.ProtocolTCP, Source: p.addr.Addr(), Destination: p.h.LocalAddr()}
	hl, tl := ip.HeaderLen(), f.HeaderLen()+len(data)
	b := make([]byte, hl+tl)
	copy(b[hl+f.HeaderLen():], data)
	f.Encode(b[hl:], ip.Source, ip.Destination)
	ip.Encode(b, tl)
	pkt, err := wire.ParseIPv4(b)
	if err != nil {
		p.t.Fatal(err)
	}
	p.l.HandlePacket(p.h.now, pkt, false)
}

// recv returns the segments the layer sent since the last call.
func (p *testPeer) recv() []wire.TCP {
	p.t.Helper()
	var out []wire.TCP
	for ; p.seen < len(p.h.sent); p.seen++ {
		seg, err := wire.ParseTCP(p.h.sent[p.seen])
		if err != nil {
			p.t.Fatal(err)
		}
		out = append(out, seg)
	}
	return out
}

// recvOne returns the one segment the layer sent since the last call.
func (p *testPeer) recvOne() wire.TCP {
	p.t.Helper()
	segs := p.recv()
	if len(segs) != 1 {
		p.t.Fatalf("%d segments sent, want 1: %v", len(segs), describe(segs))
	}
	return segs[0]
}

// advance moves the clock on by d, firing the timers that come due.
func (p *testPeer) advance(d time.Duration) {
	end := p.h.now.Add(d)
	for {
		next, ok := p.h.timers.Next()
		if !ok || next.After(end) {
			break
		}
		p.h.now = next
		p.h.timers.Fire(next)
	}
	p.h.now = end
}

// accept opens a connection to a listener on port 80 from the peer's SYN with opts, and
// returns it established and accepted, with what went before taken.
func (p *testPeer) accept(opts wire.TCPOptions) (*Conn, *Listener) {
	p.t.Helper()
	ln, err := p.l.Listen(80, 0)
	if err != nil {
		p.t.Fatal(err)
	}
	p.send(80, wire.TCPFields{SeqNum: peerISS, Flags: wire.SYN, WindowSize: 65535, Options: opts}, nil)
	synAck := p.recvOne()
	ack := wire.TCPFields{SeqNum: peerISS + 1, AckNum: synAck.SeqNum().Add(1), Flags: wire.ACK, WindowSize: 65535}
	if opts.HasTimestamp {
		ack.Options = wire.TCPOptions{HasTimestamp: true, TSVal: opts.TSVal + 1, TSEcr: synAck.DecodeOptions().TSVal}
	}
	p.send(80, ack, nil)
	c, err := ln.Accept()
	if err != nil {
		p.t.Fatal(err)
	}
	return c, ln
}

// dial opens a connection from the layer to the peer, answers its SYN with a SYN-ACK with
// opts, and returns it established, with what went before taken.
func (p *testPeer) dial(opts wire.TCPOptions) *Conn {
	p.t.Helper()
	c, err := p.l.Dial(p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	syn := p.recvOne()
	p.send(c.LocalAddr().Port(), wire.TCPFields{SeqNum: peerISS, AckNum: syn.SeqNum().Add(1), Flags: wire.SYN | wire.ACK, WindowSize: 65535, Options: opts}, nil)
	p.recv()
	if c.State() != Established {
		p.t.Fatalf("dial: %v after the SYN-ACK", c.State())
	}
	return c
}

// describe lists segments as flags, sequence and acknowledgment numbers, for failures.
func describe(segs []wire.TCP) []string {
	var out []string
	for _, s := range segs {
		out = append(out, fmt.Sprintf("%v seq %d ack %d", s.Flags(), s.SeqNum(), s.AckNum()))
	}
	return out
}
