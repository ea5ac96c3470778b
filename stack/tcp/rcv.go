package tcp

import (
	"time"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// segmentArrives processes a segment for an existing connection, in the order of RFC 9293
// 3.10.7.3 (SYN-SENT) and 3.10.7.4 (every other state).
func (c *Conn) segmentArrives(now time.Time, s *segment) {
	if c.state == SynSent {
		c.synSentArrives(now, s)
		return
	}
	if c.keepAlive {
		c.keepProbes = 0
		c.armKeepAlive(now)
	}
	// TIME-WAIT and a new SYN (RFC 1122 4.2.2.13, RFC 6191 without timestamps): a SYN whose
	// sequence number is beyond RCV.NXT ends the old incarnation and opens a new one (T6).
	if c.state == TimeWait && s.has(wire.SYN) && !s.has(wire.ACK|wire.RST) && s.seq.GreaterThan(c.rcvNxt) {
		if ln := c.layer.listeners[c.tuple.local.Port()]; ln != nil {
			c.closeNormally()
			ln.segmentArrives(now, s)
			return
		}
	}

	// TIME-WAIT and the peer's FIN again (its ACK of ours was lost, or our ACK of its FIN was):
	// acknowledge it and restart the 2·MSL timer (RFC 9293 3.10.7.4, eighth step; T4). The
	// FIN lies before RCV.NXT, so the acceptability test below would only ACK it.
	if c.state == TimeWait && s.has(wire.FIN) && !s.has(wire.RST|wire.SYN) && s.seq.Add(s.seqLen()) == c.rcvNxt {
		c.sendAck()
		c.timers().Arm(&c.waitTimer, now.Add(2*c.layer.cfg.MSL))
		return
	}

	// Simultaneous open (RFC 9293 3.5, figure 7, line 6): the peer's SYN,ACK carries SEG.SEQ =
	// IRS, one below RCV.NXT; its SYN is the one already received, its ACK completes ours.
	if c.state == SynReceived && c.listener == nil && s.has(wire.SYN|wire.ACK) && s.flags&(wire.SYN|wire.ACK) == wire.SYN|wire.ACK && s.seq == c.irs {
		s.flags &^= wire.SYN
		s.seq = s.seq.Add(1)
	}

	// First, check the sequence number.
	if !c.acceptable(s) {
		c.layer.stats.Unacceptable++
		if !s.has(wire.RST) { // 3.10.7.4: an unacceptable segment draws <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
			c.sendAck()
		}
		return
	}
	c.trim(s)

	// Second, the RST bit (RFC 5961 3.2: exact match resets, else a challenge ACK).
	if s.has(wire.RST) {
		c.layer.stats.ResetsIn++
		if c.state == TimeWait { // RFC 1337: ignore RSTs in TIME-WAIT (T5)
			return
		}
		if s.seq != c.rcvNxt {
			c.challengeAck(now) // S2
			return
		}
		switch c.state {
		case SynReceived:
			// H9: passive, back to LISTEN (the listener stays, this TCB goes); active
			// (simultaneous open), the connection is refused. Either way the TCB is deleted.
			c.abort(ErrConnRefused)
		case Established, FinWait1, FinWait2, CloseWait:
			c.abort(ErrConnReset) // S1
		default: // CLOSING, LAST-ACK
			c.closeNormally()
		}
		return
	}

	// Fourth, the SYN bit: in a synchronized state (or SYN-RECEIVED's duplicate) a challenge ACK
	// and no reset (RFC 5961 4.2, S4).
	if s.has(wire.SYN) {
		if c.state == SynReceived && c.listener != nil && s.seq == c.irs {
			c.sendSyn(now) // a retransmitted SYN: our SYN-ACK was lost
			return
		}
		c.challengeAck(now)
		return
	}

	// Fifth, the ACK field.
	if !s.has(wire.ACK) { // B3
		c.layer.stats.NoACK++
		return
	}
	if c.state == SynReceived {
		if !(c.sndUna.LessThan(s.ack) && s.ack.LessThanEq(c.sndNxt)) { // H10: RST with seq = SEG.ACK
			c.layer.sendReset(c.tuple, s.ack, 0, wire.RST)
			return
		}
		c.sndUna = s.ack
		c.ackedSyn(now)
		c.sndWnd = uint32(s.wnd) << c.sndWScale
		c.sndWl1, c.sndWl2 = s.seq, s.ack
		c.maxSndWnd = c.sndWnd
		ln := c.listener
		if c.finQueued {
			c.setState(FinWait1)
		} else {
			c.setState(Established)
		}
		if ln != nil {
			ln.queue = append(ln.queue, c)
			ln.wake()
		}
	}
	if !c.processAck(now, s) {
		return
	}

	// Seventh, the segment text (URG is not treated apart: RFC 6093, in-line).
	switch c.state {
	case Established, FinWait1, FinWait2:
		if len(s.data) > 0 {
			if c.appClosed { // RFC 1122 4.2.2.13: data after CLOSE draws a RST
				c.Abort()
				return
			}
			c.receiveData(now, s)
		}
	}

	// Eighth, the FIN bit: taken only in order, after all the data before it.
	if s.has(wire.FIN) && s.seq.Add(uint32(len(s.data))) == c.rcvNxt && !c.finRcvd {
		c.receiveFin(now)
	}
	c.output(now)
}

// acceptable is RFC 9293 3.10.7.4's table of segment acceptability.
func (c *Conn) acceptable(s *segment) bool {
	wnd := uint32(c.rcvAdv.Sub(c.rcvNxt))
	if int32(wnd) < 0 {
		wnd = 0
	}
	n := s.seqLen()
	switch {
	case n == 0 && wnd == 0:
		return s.seq == c.rcvNxt
	case n == 0:
		return s.seq.InWindow(c.rcvNxt, wnd)
	case wnd == 0:
		return false
	}
	return s.seq.InWindow(c.rcvNxt, wnd) || s.seq.Add(n-1).InWindow(c.rcvNxt, wnd)
}

// trim cuts the parts of an acceptable segment outside the window (3.10.7.4, "trimmed"):
// bytes already received at the left, bytes past the window at the right (D4, D5).
func (c *Conn) trim(s *segment) {
	if s.has(wire.SYN) && s.seq.LessThan(c.rcvNxt) {
		s.flags &^= wire.SYN
		s.seq = s.seq.Add(1)
	}
	if d := c.rcvNxt.Sub(s.seq); d > 0 {
		cut := min(int(d), len(s.data))
		s.data = s.data[cut:]
		s.seq = s.seq.Add(uint32(cut))
		if int(d) > cut && s.has(wire.FIN) { // the FIN too was old
			s.flags &^= wire.FIN
		}
	}
	wnd := int(c.rcvAdv.Sub(c.rcvNxt))
	if over := int(s.seq.Sub(c.rcvNxt)) + len(s.data) - max(wnd, 0); over > 0 {
		s.data = s.data[:max(len(s.data)-over, 0)]
		s.flags &^= wire.FIN // the FIN lies past the window
	}
}

// challengeAck sends an RFC 5961 challenge ACK, within the rate limit.
func (c *Conn) challengeAck(now time.Time) {
	if c.layer.allowChallenge(now) {
		c.sendAck()
	}
}

// ackedSyn runs when our SYN (or SYN-ACK) is acknowledged: the handshake's RTT sample (unless
// the SYN was retransmitted: Karn) and a fresh RTO.
func (c *Conn) ackedSyn(now time.Time) {
	c.timers().Stop(&c.rtxTimer)
	if c.rttTiming && c.backoffs == 0 {
		c.rttSample(now.Sub(c.rttStart))
	}
	c.rttTiming, c.backoffs = false, 0
}

// processAck is step five for synchronized states: RFC 5961 5.2's range check, then SND.UNA,
// the window, congestion control and the close states. It reports whether processing goes on.
func (c *Conn) processAck(now time.Time, s *segment) bool {
	// RFC 5961 5.2: SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT, else drop with an ACK (S5, D6).
	// SND.NXT here is the highest sequence number sent (sndMax): after a timeout sndNxt goes
	// back to SND.UNA to resend, but an ACK of anything ever sent is legitimate.
	if s.ack.GreaterThan(c.sndMax) {
		c.sendAck()
		return false
	}
	if s.ack.LessThan(c.sndUna.Add(-c.maxSndWnd)) {
		c.challengeAck(now)
		return false
	}
	acked := s.ack.Sub(c.sndUna)
	if acked > 0 {
		c.newAck(now, s, uint32(acked))
	} else if acked == 0 && len(s.data) == 0 && !s.has(wire.FIN) && c.sndMax != c.sndUna &&
		uint32(s.wnd)<<c.sndWScale == c.sndWnd {
		c.dupAck(now) // RFC 5681 2: a duplicate ACK
	}
	// The window (3.10.7.4): from the newest segment, by SND.WL1/SND.WL2.
	if c.sndWl1.LessThan(s.seq) || c.sndWl1 == s.seq && c.sndWl2.LessThanEq(s.ack) {
		c.sndWnd = uint32(s.wnd) << c.sndWScale
		c.sndWl1, c.sndWl2 = s.seq, s.ack
		c.maxSndWnd = max(c.maxSndWnd, c.sndWnd)
		if c.sndWnd > 0 {
			c.timers().Stop(&c.persistTimer)
			c.persistBackoff = 0
		}
	}
	finAcked := c.finQueued && c.sndUna == c.finSeq().Add(1)
	switch c.state {
	case FinWait1:
		if finAcked {
			c.setState(FinWait2)
		}
	case Closing:
		if finAcked {
			c.enterTimeWait(now)
		}
	case LastAck:
		if finAcked {
			c.closeNormally()
			return false
		}
		// Not yet: data or the FIN the window held back still has to go (output, below).
	}
	return true
}

// finSeq is the sequence number of our FIN (once queued): right after the data.
func (c *Conn) finSeq() wire.Seq { return c.sndBufSeq.Add(uint32(c.sndBuf.Len())) }

// newAck handles an ACK of acked new bytes.
func (c *Conn) newAck(now time.Time, s *segment, acked uint32) {
	flight := int(c.sndMax.Sub(c.sndUna))
	c.lastAdvance = int(acked)
	c.sndUna = s.ack
	if c.sndNxt.LessThan(c.sndUna) {
		c.sndNxt = c.sndUna
	}
	data := min(int(c.sndUna.Sub(c.sndBufSeq)), c.sndBuf.Len())
	if data > 0 {
		c.sndBuf.Discard(data)
		c.sndBufSeq = c.sndBufSeq.Add(uint32(data))
		c.wake() // writable
	}
	// RFC 6298 5.3 and Karn: sample only segments sent once; restart the timer on new data acked.
	if c.rttTiming && c.rttSeq.LessThan(s.ack) {
		c.rttTiming = false
		if c.backoffs == 0 {
			c.rttSample(now.Sub(c.rttStart))
		}
	}
	// Karn (RFC 6298 5.5, RFC 9293 3.8.1): a backed-off RTO stays until a new sample replaces it.
	c.backoffs = 0
	if c.sndUna == c.sndMax {
		c.timers().Stop(&c.rtxTimer)
	} else {
		c.timers().Arm(&c.rtxTimer, now.Add(c.rto)) // R4: a partial ACK restarts the timer
	}
	// Congestion control.
	if c.inRecovery {
		if c.sndUna.GreaterThanEq(c.recover) { // full ACK: leave fast recovery (RFC 6582 3.2 step 3)
			c.inRecovery = false
			// Option 1 of step 3: min(ssthresh, max(FlightSize, SMSS) + SMSS), FlightSize
			// being what is still outstanding after this ACK.
			c.cwnd = min(c.ssthresh, max(flight-int(acked), c.sndMSS)+c.sndMSS)
		} else { // partial ACK: retransmit the next hole, deflate (RFC 6582 3.2 step 3)
			c.retransmitFirst(now)
			c.cwnd = max(c.cwnd-int(acked)+c.sndMSS, c.sndMSS)
		}
	} else if c.cwnd < c.ssthresh { // slow start (RFC 5681 3.1)
		c.cwnd += min(int(acked), c.sndMSS)
	} else { // congestion avoidance
		c.cwnd += max(c.sndMSS*c.sndMSS/max(c.cwnd, 1), 1)
	}
	c.dupAcks = 0
}

// dupAck counts duplicate ACKs. The third (fewer with RFC 5827 early retransmit, when fewer
// than four segments are out and no new data can go) starts fast retransmit and NewReno
// recovery (RFC 5681 3.2, RFC 6582); the first two may send new data (RFC 3042 limited
// transmit, in output); later ones inflate the window.
func (c *Conn) dupAck(now time.Time) {
	c.dupAcks++
	if c.inRecovery {
		c.cwnd += c.sndMSS
		return
	}
	if c.dupAcks == 1 {
		// What is in flight before limited transmit sends anything: the segments it sends
		// MUST NOT count in ssthresh (RFC 5681 3.2 step 2, RFC 3042 2).
		c.flightAtDup = int(c.sndMax.Sub(c.sndUna))
	}
	if c.dupAcks != c.dupThreshold() {
		return
	}
	if !c.sndUna.GreaterThanEq(c.recover) &&
		// RFC 6582 3.2 step 2's heuristic: below recover (after a timeout), duplicate ACKs
		// still mean a loss when the cumulative ACK last advanced by at most 4·SMSS.
		!(c.cwnd > c.sndMSS && c.lastAdvance <= 4*c.sndMSS) {
		return
	}
	c.ssthresh = max(c.flightAtDup/2, 2*c.sndMSS) // R5
	c.recover = c.sndMax
	c.inRecovery = true
	c.layer.stats.FastRetransmits++
	c.retransmitFirst(now)
	c.cwnd = c.ssthresh + 3*c.sndMSS
}

// dupThreshold is 3 (RFC 5681), or for 2 or 3 segments in flight with no new data to send,
// one less than the segments in flight (RFC 5827 early retransmit).
func (c *Conn) dupThreshold() int {
	flight := int(c.sndMax.Sub(c.sndUna))
	segs := (flight + c.sndMSS - 1) / c.sndMSS
	unsent := c.sndBuf.Len() - int(c.sndMax.Sub(c.sndBufSeq))
	if unsent <= 0 && segs >= 2 && segs < 4 {
		return segs - 1
	}
	return 3
}

// receiveData takes in-window data (already trimmed): in order into the receive buffer, out of
// order into the reassembly queue (bounded by the window).
func (c *Conn) receiveData(now time.Time, s *segment) {
	if s.seq != c.rcvNxt {
		c.queueOutOfOrder(s)
		c.ackNow = true // D2: an out-of-order segment draws an immediate (duplicate) ACK
		return
	}
	hole := c.oooBytes > 0
	c.rcvBuf.Write(s.data)
	c.rcvNxt = c.rcvNxt.Add(uint32(len(s.data)))
	c.pullOutOfOrder()
	if hole { // D3: a segment filling a hole draws an immediate ACK
		c.ackNow = true
	} else if len(s.data) >= c.sndMSS {
		c.unackedSeg++
		if c.unackedSeg >= 2 { // D7: every second full-sized segment
			c.ackNow = true
		}
	}
	if !c.ackNow && !c.delackTimer.Armed() {
		c.timers().Arm(&c.delackTimer, now.Add(c.layer.cfg.DelayedACK))
	}
	c.wake()
}

func (c *Conn) queueOutOfOrder(s *segment) {
	c.layer.stats.OutOfOrder++
	seq, data := s.seq, s.data
	// Keep only bytes not held already; the queue stays sorted and non-overlapping.
	out := c.ooo[:0:0]
	for _, o := range c.ooo {
		oEnd := o.seq.Add(uint32(len(o.data)))
		end := seq.Add(uint32(len(data)))
		if len(data) > 0 && o.seq.LessThanEq(seq) && seq.LessThan(oEnd) { // starts inside o
			cut := min(int(oEnd.Sub(seq)), len(data))
			data, seq = data[cut:], seq.Add(uint32(cut))
		}
		if len(data) > 0 && seq.LessThan(o.seq) && o.seq.LessThan(end) { // o starts inside: keep our head
			out = append(out, oooSegment{seq, append([]byte(nil), data[:o.seq.Sub(seq)]...)})
			c.oooBytes += int(o.seq.Sub(seq))
			cut := min(int(oEnd.Sub(seq)), len(data))
			data, seq = data[cut:], seq.Add(uint32(cut))
		}
		out = append(out, o)
	}
	if len(data) > 0 {
		out = append(out, oooSegment{seq, append([]byte(nil), data...)})
		c.oooBytes += len(data)
	}
	sortSegments(out)
	c.ooo = out
}

func sortSegments(s []oooSegment) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].seq.LessThan(s[j-1].seq); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// pullOutOfOrder moves queued segments that now follow RCV.NXT into the receive buffer.
func (c *Conn) pullOutOfOrder() {
	for len(c.ooo) > 0 {
		o := c.ooo[0]
		if o.seq.GreaterThan(c.rcvNxt) {
			return
		}
		c.ooo = c.ooo[1:]
		c.oooBytes -= len(o.data)
		if skip := int(c.rcvNxt.Sub(o.seq)); skip < len(o.data) {
			c.rcvBuf.Write(o.data[skip:])
			c.rcvNxt = o.seq.Add(uint32(len(o.data)))
		}
	}
	if len(c.ooo) == 0 {
		c.ooo = nil
	}
}

// receiveFin takes the peer's FIN, in order (RFC 9293 3.10.7.4, eighth).
func (c *Conn) receiveFin(now time.Time) {
	c.rcvNxt = c.rcvNxt.Add(1)
	c.finRcvd = true
	c.ackNow = true
	switch c.state {
	case SynReceived, Established:
		c.setState(CloseWait) // T2
	case FinWait1:
		if c.sndUna == c.finSeq().Add(1) {
			c.enterTimeWait(now)
		} else {
			c.setState(Closing) // T3: simultaneous close
		}
	case FinWait2:
		c.enterTimeWait(now)
	}
	c.wake()
}

func (c *Conn) enterTimeWait(now time.Time) {
	c.setState(TimeWait)
	h := c.timers()
	h.Stop(&c.rtxTimer)
	h.Stop(&c.persistTimer)
	h.Stop(&c.keepTimer)
	h.Arm(&c.waitTimer, now.Add(2*c.layer.cfg.MSL)) // T1: 2·MSL
}
