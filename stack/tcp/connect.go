package tcp

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// Dial starts an active open to remote (RFC 9293 3.10.1): a SYN goes out now; the Conn
// becomes Connected when the handshake completes, or fails with ErrConnRefused, ErrTimeout or
// ErrHostUnreach.
func (l *Layer) Dial(remote netip.AddrPort) (*Conn, error) {
	return l.DialBuffers(remote, BufferSizes{})
}

// DialBuffers is Dial with the connection's buffer sizes, which fix the window of its SYN and
// its window scale.
func (l *Layer) DialBuffers(remote netip.AddrPort, bufs BufferSizes) (*Conn, error) {
	if !remote.Addr().Is4() || remote.Port() == 0 || remote.Addr().IsUnspecified() || remote.Addr().IsMulticast() {
		return nil, fmt.Errorf("%w: %v", ErrInvalidAddress, remote)
	}
	if len(l.conns) >= l.cfg.MaxConnections {
		l.stats.TableFull++
		return nil, ErrTooManyConns
	}
	local := l.host.LocalAddr()
	port, err := l.ephemeralPort(local, remote)
	if err != nil {
		return nil, err
	}
	c := l.newConn(fourTuple{netip.AddrPortFrom(local, port), remote}, SynSent, bufs.clamp())
	l.stats.ActiveOpens++
	c.cwnd, c.ssthresh = initialWindow(c.sndMSS), 1<<30
	c.sendSyn(l.now())
	return c, nil
}

// synSentArrives handles a segment in SYN-SENT (RFC 9293 3.10.7.3).
func (c *Conn) synSentArrives(now time.Time, s *segment) {
	ackOK := false
	if s.has(wire.ACK) {
		// First, the ACK: it must acknowledge our SYN and nothing more.
		if s.ack.LessThanEq(c.iss) || s.ack.GreaterThan(c.sndNxt) {
			if !s.has(wire.RST) {
				c.layer.sendReset(c.tuple, s.ack, 0, wire.RST) // H6: RST seq=SEG.ACK, stay in SYN-SENT
			}
			return
		}
		ackOK = true
	}
	if s.has(wire.RST) {
		c.layer.stats.ResetsIn++
		if ackOK { // H7: the peer refused
			c.abort(ErrConnRefused)
		}
		return // a RST without an ACK is dropped
	}
	if !s.has(wire.SYN) {
		return
	}
	c.irs, c.rcvNxt = s.seq, s.seq.Add(1)
	c.peerOptions(s)
	if ackOK {
		c.sndUna = s.ack
		c.ackedSyn(now)
		c.sndWnd = uint32(s.wnd) // the SYN-ACK's window is not scaled
		c.sndWl1, c.sndWl2 = s.seq, s.ack
		c.maxSndWnd = c.sndWnd
		c.setState(Established)
		c.rcvAdv = c.rcvNxt
		c.ackNow = true
		c.output(now)
		return
	}
	// Simultaneous open (RFC 9293 3.5, figure 7): SYN-ACK with the same ISS, into SYN-RECEIVED.
	c.sndWnd = uint32(s.wnd)
	c.sndWl1, c.sndWl2 = s.seq, s.ack
	c.setState(SynReceived)
	c.timers().Stop(&c.rtxTimer)
	c.backoffs = 0
	c.sendSyn(now)
}
