package tcp

import (
	"time"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// rcvSpace is the room left in the receive buffer.
func (c *Conn) rcvSpace() int {
	return max(c.rcvBufSize-c.rcvBuf.Len(), 0)
}

// swsThreshold is how far the window's right edge must move before it is advertised
// (RFC 1122 4.2.3.3: min(half the buffer, one MSS)).
func (c *Conn) swsThreshold() int {
	return min(c.rcvBufSize/2, c.layer.mss())
}

// maxWindow is the largest window the window field can say: 0xffff << scale.
func (c *Conn) maxWindow() uint32 { return uint32(0xffff) << c.rcvWScale }

// rightEdge is where the receive window could end now: the buffer's free space past RCV.NXT,
// as far as the window field can say.
func (c *Conn) rightEdge() wire.Seq {
	return c.rcvNxt.Add(min(uint32(c.rcvSpace()), c.maxWindow()))
}

// windowField returns the window to advertise, scaled, moving the advertised right edge
// forward only in steps of swsThreshold and never backward (RFC 9293 3.8.6.2.2), and never
// past what the field can say (0xffff << scale): the segments accepted are the ones the peer
// was told it may send.
func (c *Conn) windowField() uint16 {
	if right := c.rightEdge(); right.Sub(c.rcvAdv) >= int32(c.swsThreshold()) || c.rcvAdv.LessThan(c.rcvNxt) {
		c.rcvAdv = right
	}
	// The field rounds the window down to the scale's unit; the edge itself stays put, so the
	// window never shrinks by rounding (at most 2^scale - 1 bytes past what the peer computes
	// are still taken).
	wnd := min(uint32(max(c.rcvAdv.Sub(c.rcvNxt), 0)), c.maxWindow()) >> c.rcvWScale
	return uint16(wnd)
}

// sendSegment sends one segment of the connection with ACK set, the current window, and data.
func (c *Conn) sendSegment(seq wire.Seq, flags wire.TCPFlags, data []byte) {
	f := wire.TCPFields{
		SourcePort: c.tuple.local.Port(), DestinationPort: c.tuple.remote.Port(),
		SeqNum: seq, AckNum: c.rcvNxt, Flags: flags | wire.ACK, WindowSize: c.windowField(),
	}
	c.layer.send(c.tuple, &f, data)
	c.ackNow, c.unackedSeg = false, 0
	c.timers().Stop(&c.delackTimer)
}

// sendAck sends <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> now.
func (c *Conn) sendAck() { c.sendSegment(c.sndNxt, 0, nil) }

// output sends what may be sent now: new data within the peer's window and the congestion
// window, a FIN after the data, or a pending ACK.
func (c *Conn) output(now time.Time) {
	switch c.state {
	case Closed, Listen, SynSent:
		return
	case SynReceived:
		if c.ackNow {
			c.sendSyn(now)
			c.ackNow = false
		}
		return
	case TimeWait:
		if c.ackNow {
			c.sendAck()
		}
		return
	}
	sent := false
	for {
		off := int(c.sndNxt.Sub(c.sndBufSeq))
		unsent := c.sndBuf.Len() - off
		if unsent < 0 { // the FIN is already out
			break
		}
		cwnd := c.cwnd
		if !c.inRecovery && c.dupAcks > 0 && c.dupAcks < 3 {
			cwnd += c.dupAcks * c.sndMSS // RFC 3042 limited transmit: new data on dup ACKs 1 and 2
		}
		wnd := min(int(c.sndWnd), cwnd)
		usable := wnd - int(c.sndNxt.Sub(c.sndUna))
		n := max(min(unsent, c.sndMSS, usable), 0)
		fin := c.finQueued && n == unsent
		if n == 0 && !fin {
			break
		}
		if n < c.sndMSS && n < unsent && c.sndNxt != c.sndUna {
			break // SWS avoidance (RFC 1122 4.2.3.4): no small segment while the window limits it
		}
		if n < c.sndMSS && !fin && !c.noDelay && c.sndNxt != c.sndUna {
			break // Nagle (RFC 896, RFC 1122 4.2.3.4): one small segment in flight at most
		}
		if fin && n < unsent {
			fin = false
		}
		flags := wire.TCPFlags(0)
		if n > 0 && n == unsent {
			flags |= wire.PSH // RFC 1122 4.2.2.2: PSH on the segment that empties the send queue
		}
		if fin {
			flags |= wire.FIN
		}
		c.transmit(now, c.sndNxt, flags, c.sndBuf.Bytes()[off:off+n])
		sent = true
		if fin {
			break
		}
	}
	if !sent && c.ackNow {
		c.sendAck()
	}
	// A closed window with data waiting and nothing in flight: probe it (RFC 9293 3.8.6.1).
	if c.sndNxt == c.sndUna && c.sndBuf.Len() > int(c.sndNxt.Sub(c.sndBufSeq)) && c.sndWnd == 0 && !c.persistTimer.Armed() {
		c.timers().Arm(&c.persistTimer, now.Add(c.persistInterval()))
	}
}

// transmit sends data (and FIN) at seq, advancing SND.NXT, timing the segment and arming the
// retransmission timer.
func (c *Conn) transmit(now time.Time, seq wire.Seq, flags wire.TCPFlags, data []byte) {
	retransmission := seq.LessThan(c.sndMax)
	if retransmission {
		c.layer.stats.Retransmits++
	}
	c.sendSegment(seq, flags, data)
	end := seq.Add(uint32(len(data)))
	if flags&wire.FIN != 0 {
		end = end.Add(1)
	}
	c.sndNxt = end
	if c.sndMax.LessThan(end) {
		c.sndMax = end
	}
	if !retransmission && !c.rttTiming && c.backoffs == 0 { // Karn: time only first transmissions
		c.rttTiming, c.rttSeq, c.rttStart = true, seq, now
	}
	if !c.rtxTimer.Armed() {
		c.timers().Arm(&c.rtxTimer, now.Add(c.rto))
	}
}

// retransmitFirst sends again the segment at SND.UNA (fast retransmit, partial ACKs).
func (c *Conn) retransmitFirst(now time.Time) {
	off := int(c.sndUna.Sub(c.sndBufSeq))
	if off < 0 {
		return
	}
	n := min(c.sndBuf.Len()-off, c.sndMSS)
	flags := wire.TCPFlags(0)
	if n < 0 {
		n = 0
	}
	if c.finQueued && off+n == c.sndBuf.Len() {
		flags |= wire.FIN
	}
	if n == 0 && flags == 0 {
		return
	}
	save := c.sndNxt
	c.transmit(now, c.sndUna, flags, c.sndBuf.Bytes()[off:off+n])
	if save.GreaterThan(c.sndNxt) {
		c.sndNxt = save
	}
	c.rttTiming = false
}
