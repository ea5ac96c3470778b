package tcp

import (
	"time"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// segmentArrives processes a segment for an existing connection, in the order of RFC 9293
// 3.10.7.3 (SYN-SENT) and 3.10.7.4 (every other state), with RFC 7323's checks before the
// first step and RFC 5961's in the second, fourth and fifth.
func (c *Conn) segmentArrives(now time.Time, s *segment) {
	c.counts.segsIn++
	if len(s.data) > 0 {
		c.counts.dataSegsIn++
	}
	if c.state == SynSent {
		c.synSentArrives(now, s)
		return
	}
	if c.keepAlive {
		c.keepProbes = 0
		c.armKeepAlive(now)
	}

	// Simultaneous open (RFC 9293 3.5, figure 7, line 6): the peer's SYN,ACK carries SEG.SEQ =
	// IRS, one below RCV.NXT; its SYN is the one already received, its ACK completes ours.
	if c.state == SynReceived && c.listener == nil && s.flags&(wire.SYN|wire.ACK) == wire.SYN|wire.ACK && s.seq == c.irs {
		s.flags &^= wire.SYN
		s.seq = s.seq.Add(1)
	}

	// The peer's SYN again in a passive SYN-RECEIVED: our SYN-ACK was lost, so it goes again
	// (as Linux's tcp_check_req), rather than the ACK an unacceptable segment draws.
	if c.state == SynReceived && c.listener != nil && s.flags&(wire.SYN|wire.ACK|wire.RST) == wire.SYN && s.seq == c.irs {
		c.sendSyn(now)
		return
	}

	// RFC 7323 3.2: once timestamps are agreed, every segment but a RST carries one. Our
	// policy follows the RFC's SHOULD: one without is dropped, silently.
	if c.tsOK && !s.opts.HasTimestamp && !s.has(wire.RST) && !c.layer.cfg.TolerateMissingTimestamps {
		c.layer.stats.NoTimestamp++
		return
	}
	// RFC 7323 5.3 R1: PAWS. An old duplicate is acknowledged and dropped.
	if c.pawsRejects(now, s) {
		c.layer.stats.PAWSRejects++
		c.oowAck(now, s, false)
		return
	}

	// First, check the sequence number.
	if !c.acceptable(s) {
		c.layer.stats.Unacceptable++
		switch {
		case s.has(wire.RST): // dropped silently (RFC 5961 3.2)
		case s.has(wire.SYN): // RFC 5961 4.2: whatever its sequence number, a challenge ACK
			c.challengeAck(now)
		default: // 3.10.7.4: an unacceptable segment draws <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
			if len(s.data) > 0 && s.seq.Add(uint32(len(s.data))).LessThanEq(c.rcvNxt) {
				c.noteDuplicate(s.seq, s.seq.Add(uint32(len(s.data)))) // RFC 2883 4.1.1
			}
			c.oowAck(now, s, true)
		}
		return
	}
	segSeq := s.seq // SEG.SEQ before trimming, for RFC 7323 4.3's test
	c.trim(s)
	if c.ecnOK {
		c.ecnReceive(s)
	}

	// Second, the RST bit (RFC 5961 3.2: exact match resets, else a challenge ACK; without
	// RFC 5961, Config.RSTChallenge off, any RST in the window resets).
	if s.has(wire.RST) {
		c.layer.stats.ResetsIn++
		if segSeq != c.rcvNxt && c.layer.cfg.RSTChallenge == On { // SEG.SEQ as sent, before trimming
			c.challengeAck(now)
			return
		}
		switch c.state {
		case SynReceived:
			// Passive: back to LISTEN (the listener stays, this TCB goes); active
			// (simultaneous open): the connection is refused. Either way the TCB is deleted.
			c.abort(ErrConnRefused)
		case Established, FinWait1, FinWait2, CloseWait:
			c.abort(ErrConnReset)
		default: // CLOSING, LAST-ACK
			c.closeNormally()
		}
		return
	}

	// Fourth, the SYN bit: in a synchronized state (or SYN-RECEIVED's duplicate) a challenge ACK
	// and no reset (RFC 5961 4.2). Without RFC 5961 (Config.SYNChallenge off), RFC 793 3.9: a
	// SYN still here is in the window (trim took off one below RCV.NXT), an error that resets
	// the connection, as FreeBSD's insecure_syn (tcp_drop: <CTL=RST,ACK>, ECONNRESET).
	if s.has(wire.SYN) {
		if c.state.synchronized() && c.layer.cfg.SYNChallenge == Off {
			c.sendReset(wire.RST | wire.ACK)
			c.abort(ErrConnReset)
			return
		}
		c.challengeAck(now)
		return
	}

	// Fifth, the ACK field.
	if !s.has(wire.ACK) {
		c.layer.stats.NoACK++
		return
	}
	if c.state == SynReceived {
		if !(c.sndUna.LessThan(s.ack) && s.ack.LessThanEq(c.sndNxt)) { // <SEQ=SEG.ACK><CTL=RST>
			c.layer.sendReset(c.tuple, s.ack, 0, wire.RST)
			return
		}
		c.sndUna = s.ack
		c.ackedSyn(now, s)
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
	if !c.processAck(now, s, segSeq) {
		return
	}
	c.receiveText(now, s)
	c.output(now)
}

// acceptable is RFC 9293 3.10.7.4's table of segment acceptability.
func (c *Conn) acceptable(s *segment) bool {
	wnd := c.rcvWnd()
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
// bytes already received at the left, which a D-SACK reports (RFC 2883 4.1.1), and bytes past
// the window at the right.
func (c *Conn) trim(s *segment) {
	if s.has(wire.SYN) && s.seq.LessThan(c.rcvNxt) {
		s.flags &^= wire.SYN
		s.seq = s.seq.Add(1)
	}
	if d := c.rcvNxt.Sub(s.seq); d > 0 {
		cut := min(int(d), len(s.data))
		if cut > 0 {
			c.noteDuplicate(s.seq, s.seq.Add(uint32(cut)))
		}
		s.data = s.data[cut:]
		s.seq = s.seq.Add(uint32(cut))
		if int(d) > cut && s.has(wire.FIN) { // the FIN too was old
			s.flags &^= wire.FIN
		}
	}
	if over := int(s.seq.Sub(c.rcvNxt)) + len(s.data) - int(c.rcvWnd()); over > 0 {
		s.data = s.data[:max(len(s.data)-over, 0)]
		s.flags &^= wire.FIN // the FIN lies past the window
	}
}

// challengeAck sends an RFC 5961 challenge ACK within the rate limits: one per 500 ms for the
// connection (shared with the ACKs for unacceptable segments, as Linux's
// tcp_invalid_ratelimit), then the layer's randomised budget (allowChallenge).
func (c *Conn) challengeAck(now time.Time) {
	if c.lastOOWAck != 0 && c.layer.since(now, c.lastOOWAck) < oowInterval {
		c.layer.stats.ChallengeLimited++
		return
	}
	if c.layer.allowChallenge(now) {
		c.lastOOWAck = c.layer.instant(now)
		c.sendSegment(now, c.sndNxt, 0, nil, nil, challengeSegment)
	}
}

// processAck is step five for synchronized states: RFC 5961 5.2's range check, then the
// scoreboard (SND.UNA, SACK), RTT and loss detection, congestion control, the window and the
// close states. It reports whether processing goes on.
func (c *Conn) processAck(now time.Time, s *segment, segSeq wire.Seq) bool {
	// RFC 5961 5.2: SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT, else drop with an ACK.
	if s.ack.GreaterThan(c.sndNxt) {
		c.sendAck()
		return false
	}
	if s.ack.LessThan(c.sndUna.Add(-c.maxSndWnd)) {
		c.challengeAck(now)
		return false
	}
	// RFC 7323 5.3 R3, only now that the ACK too has passed: a segment dropped for its ACK
	// leaves TS.Recent alone (as Linux), or one with a far-future TSval would make PAWS drop
	// every segment after it.
	c.updateTSRecent(now, s, segSeq)
	c.lastAckAt, c.probesOut = c.layer.instant(now), 0 // the peer is there: zero-window probes start counting again
	flight := c.flightSize()
	acked := int(s.ack.Sub(c.sndUna))
	if c.rack != nil {
		c.rack.dsackThisAck = false
	}
	if acked > 0 {
		c.takeAck(now, s, flight)
	}
	newlySacked := false
	if c.sackOK && s.opts.NumSACKBlocks > 0 {
		newlySacked, _ = c.takeSACK(now, s)
	}
	switch {
	case c.rackOn():
		if c.detectLoss(now) {
			c.lossDetected(now)
		}
	case c.sackOK && newlySacked:
		c.markLostBySACK()
	}
	c.tlpAck(now, s, acked > 0)
	ece := c.ecnOK && s.has(wire.ECE)
	if ece {
		c.ecnEcho()
	}
	switch {
	case acked > 0:
		c.newAck(now, acked, flight, ece)
	case c.isDupAck(s, newlySacked):
		c.dupAck(now)
	}
	if acked > 0 && c.sent.len() > 0 {
		c.schedulePTO(now)
	}

	// The window (3.10.7.4): from the newest segment, by SND.WL1/SND.WL2.
	if c.sndWl1.LessThan(s.seq) || c.sndWl1 == s.seq && c.sndWl2.LessThanEq(s.ack) {
		c.sndWnd = uint32(s.wnd) << c.sndWScale
		c.sndWl1, c.sndWl2 = s.seq, s.ack
		c.maxSndWnd = max(c.maxSndWnd, c.sndWnd)
		if c.sndWnd > 0 { // output arms the persist timer again if the window is still too small
			c.stop(persistTimer)
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

// isDupAck is RFC 5681 2's duplicate ACK: nothing new acknowledged, no data, no SYN or FIN,
// the same window, and data outstanding. With SACK it must also SACK new data (RFC 6675 2).
func (c *Conn) isDupAck(s *segment, newlySacked bool) bool {
	if c.sent.len() == 0 || len(s.data) > 0 || s.has(wire.SYN|wire.FIN) {
		return false
	}
	if c.sackOK {
		return newlySacked
	}
	return uint32(s.wnd)<<c.sndWScale == c.sndWnd
}

// takeAck moves SND.UNA to SEG.ACK: the acknowledged segments leave the retransmission queue
// (RACK learns from each), the send buffer frees their bytes, the RTT is sampled and the
// retransmission timer restarted (RFC 6298 5.2, 5.3).
func (c *Conn) takeAck(now time.Time, s *segment, flight int) {
	// The RTT sample is the oldest segment's this ACK covers, as a timestamp echo would say
	// (RFC 7323 4.3: a delayed ACK echoes the earliest segment), if it went only once.
	var clean instant
	first := true
	for c.sent.len() > 0 {
		seg := c.sent.at(0)
		if s.ack.LessThan(seg.end()) {
			if cut := s.ack.Sub(seg.seq); cut > 0 { // the peer took part of the segment
				c.sent.trimFront(uint32(cut))
			}
			break
		}
		if !seg.is(segSacked) {
			c.counts.delivered++
			c.rackDelivered(now, seg, s)
			if first && !seg.is(segRetransmitted) {
				clean = seg.xmit
			}
			first = false
		}
		c.sent.popFront()
	}
	c.counts.bytesAcked += uint64(s.ack.Sub(c.sndUna))
	c.sndUna = s.ack
	c.progressAt = c.layer.instant(now)
	data := min(int(c.sndUna.Sub(c.sndBufSeq)), c.sndBuf.Len())
	if data > 0 {
		c.sndBuf.Discard(data)
		c.sndBufSeq = c.sndBufSeq.Add(uint32(data))
		c.wake() // writable
	}
	c.sampleOnAck(now, s, flight, clean)
	// Karn (RFC 6298 5.5, RFC 9293 3.8.1): a backed-off RTO stays until a new sample replaces it.
	c.rtt.backoffs = 0
	if c.sent.len() == 0 {
		c.stop(rtxTimer)
		c.stop(probeTimer)
		c.stop(reoTimer)
	} else {
		c.arm(rtxTimer, now.Add(c.rtt.rto)) // a partial ACK restarts the timer
	}
}

// finSeq is the sequence number of our FIN (once queued): right after the data.
func (c *Conn) finSeq() wire.Seq { return c.sndBufSeq.Add(uint32(c.sndBuf.Len())) }

// receiveText is steps six to eight: the segment's data, then its FIN.
func (c *Conn) receiveText(now time.Time, s *segment) {
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
	// Eighth, the FIN bit.
	if !s.has(wire.FIN) {
		return
	}
	at := s.seq.Add(uint32(len(s.data)))
	switch {
	case c.finRcvd:
		// A FIN again, after the one taken: acknowledge it (RFC 9293 3.10.7.4, eighth step).
		c.ackNow = true
	case at == c.rcvNxt:
		c.receiveFin(now)
	default:
		// The FIN came before data in front of it: held with the out-of-order data and taken
		// in sequence once the gap fills; meanwhile it is answered like out-of-order data, at
		// once (RFC 5681 4.2).
		if c.state == Established || c.state == FinWait1 || c.state == FinWait2 {
			c.outOfOrder().q.setFin(at)
			c.ackNow = true
		}
	}
}

// receiveData takes in-window data (already trimmed): in order into the receive buffer, out of
// order into the reassembly queue (bounded by the window).
func (c *Conn) receiveData(now time.Time, s *segment) {
	if s.seq != c.rcvNxt {
		c.layer.stats.OutOfOrder++
		dup, hasDup, pruned := c.outOfOrder().q.insert(s.seq, s.data)
		if hasDup {
			c.noteDuplicate(dup.Left, dup.Right)
		}
		if pruned {
			c.layer.stats.OutOfOrderPruned++
		}
		c.noteOutOfOrder(s.seq)
		c.ackNow = true // RFC 5681 4.2: an out-of-order segment draws an immediate (duplicate) ACK
		c.enterQuickAck()
		return
	}
	hole := c.ooo != nil && (c.ooo.q.bytes > 0 || c.ooo.q.fin)
	c.rcvBuf.Write(s.data)
	next := c.rcvNxt.Add(uint32(len(s.data)))
	if hole {
		next = c.ooo.q.pull(next, &c.rcvBuf)
	}
	c.counts.bytesReceived += uint64(next.Sub(c.rcvNxt))
	c.counts.lastDataRecv = now.UnixNano()
	c.rcvNxt = next
	switch {
	case hole: // RFC 5681 4.2: a segment that fills (part of) a hole draws an immediate ACK
		c.ackNow = true
	case c.quickAcks > 0: // the sender is recovering from a loss: every segment is acknowledged
		c.quickAcks--
		c.ackNow = true
	case c.layer.cfg.DelayedACKSegments > 0: // every n-th segment, whatever its size
		c.unackedSeg++
		if int(c.unackedSeg) >= c.layer.cfg.DelayedACKSegments {
			c.ackNow = true
		}
	case len(s.data) >= c.smss():
		c.unackedSeg++
		if c.unackedSeg >= 2 { // RFC 1122 4.2.3.2: every second full-sized segment
			c.ackNow = true
		}
	}
	if hole && c.ooo.q.fin && c.ooo.q.finSeq == c.rcvNxt {
		c.ooo.q.fin = false
		c.receiveFin(now)
	}
	if !c.ackNow && !c.armed(delackTimer) {
		c.arm(delackTimer, now.Add(c.layer.cfg.DelayedACK))
	}
	c.wake()
}

// receiveFin takes the peer's FIN, in order (RFC 9293 3.10.7.4, eighth).
func (c *Conn) receiveFin(now time.Time) {
	c.rcvNxt = c.rcvNxt.Add(1)
	c.counts.bytesReceived++
	c.finRcvd = true
	c.ackNow = true
	switch c.state {
	case SynReceived, Established:
		c.setState(CloseWait)
	case FinWait1:
		if c.sndUna == c.finSeq().Add(1) {
			c.enterTimeWait(now)
		} else {
			c.setState(Closing) // simultaneous close
		}
	case FinWait2:
		c.enterTimeWait(now)
	}
	c.wake()
}

// enterQuickAck has the next segments acknowledged one by one, not every second one or after
// the delayed-ACK timer: our policy, as Linux's quick-ACK mode, once data arrives out of order.
// The sender is in loss recovery then, with a small window; each ACK it gets sooner, and each
// one more that survives a lossy return path, saves it a probe or a timeout (two-way 5 % loss,
// 16 MiB in virtual time: 7-17 timeouts without, 1-5 with). As many as half the receive
// buffer in full segments, at most 16.
func (c *Conn) enterQuickAck() {
	if c.layer.cfg.QuickACK != On {
		return
	}
	c.quickAcks = int32(min(maxQuickAcks, c.rcvBufSize/(2*c.layer.mss())))
}

const maxQuickAcks = 16
