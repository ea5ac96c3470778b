package tcp

import (
	"time"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// RACK-TLP (RFC 8985): losses found by time rather than by counting duplicate ACKs, and a
// probe that turns a lost tail into a fast recovery instead of a timeout.

// rack is RFC 8985 6.1's RACK and 7's TLP state.
type rack struct {
	xmit            instant       // RACK.xmit_ts: sent time of the latest segment delivered
	order           uint32        // in place of RACK.end_seq: that segment's order of sending
	rtt             time.Duration // RACK.rtt
	fack            wire.Seq      // RACK.fack: the highest sequence delivered
	hasFack         bool
	reorderingSeen  bool     // RACK.reordering_seen
	dsackRound      wire.Seq // RACK.dsack_round
	hasDSACKRound   bool
	reoWndMult      int  // RACK.reo_wnd_mult
	reoWndPersist   int  // RACK.reo_wnd_persist
	dsackThisAck    bool // a D-SACK came on the ACK being processed
	tlpEnd          wire.Seq
	tlpOutstanding  bool // TLP.end_seq is set: a probe awaits its ACK
	tlpRetransmit   bool // TLP.is_retrans
	tlpDSACKCovered bool // a D-SACK reported the probe's retransmission (RFC 8985 7.4.1)
}

// wcDelAckT is RFC 8985 7.2's worst-case delayed ACK timer, added to the PTO when one segment
// is in flight.
const wcDelAckT = 200 * time.Millisecond

// ptoSlack is added to the PTO when more than one segment is in flight (our policy): on a fast
// link SRTT is microseconds, and a receiver that stalls its ACKs for a millisecond or two
// would draw a needless probe. Linux adds 2 ms (TCP_TIMEOUT_MIN_US) and rounds up to its
// timer tick, 4 ms at the usual HZ=250; so do we, without the tick.
const ptoSlack = 4 * time.Millisecond

// rackOn reports whether RACK-TLP runs on this connection: it needs SACK (RFC 8985 3).
func (c *Conn) rackOn() bool { return c.sackOK && c.layer.cfg.RACK == On }

// stampXmit records that s goes out (again) at now: its time and its order of sending.
func (c *Conn) stampXmit(now time.Time, s *txSeg) {
	c.sent.sends++
	s.xmit, s.order = c.layer.instant(now), c.sent.sends
}

// sentAfter is RFC 8985's RACK_sent_after: a transmission at t1, numbered o1 in the order of
// sending, came after one at t2 numbered o2. The RFC breaks a tie of times by end sequence
// number, which is the order of sending for new data but not for a retransmission, which has a
// lower sequence number than new data sent before it. Segments sent at one time are common
// here: the core reads the clock once for a batch of frames, and handling a batch sends new
// data, then retransmissions. With the RFC's tie-break, delivering that new data marked the
// retransmissions lost again at once, and they went out again and again (on a 1 % lossy link,
// 60 % of the retransmissions were needless). The order of sending breaks the tie right.
func sentAfter(t1 instant, o1 uint32, t2 instant, o2 uint32) bool {
	return t1 > t2 || t1 == t2 && int32(o1-o2) > 0
}

// rackState returns the connection's RACK-TLP state, made if it has none.
func (c *Conn) rackState() *rack {
	if c.rack == nil {
		c.rack = new(rack)
	}
	return c.rack
}

// rackDelivered is RFC 8985 6.2 steps 2 and 3 for one segment newly acknowledged, cumulatively
// or selectively, by ACK s. (RACK.min_RTT is the connection's, c.rtt.minRTT.)
func (c *Conn) rackDelivered(now time.Time, seg *txSeg, s *segment) {
	if !c.rackOn() {
		return
	}
	r := c.rackState()
	// Step 3: reordering. An original transmission delivered below the highest sequence
	// delivered so far came out of order.
	end := seg.end()
	switch {
	case !r.hasFack || end.GreaterThan(r.fack):
		r.fack, r.hasFack = end, true
	case end.LessThan(r.fack) && !seg.is(segRetransmitted):
		r.reorderingSeen = true
	}
	// Step 2: the most recently sent segment delivered, and its RTT. The ACK of a
	// retransmitted segment may be for the original: believe it only when the timestamp
	// echoed is that of the retransmission, or the RTT is not implausibly short.
	rtt := c.layer.since(now, seg.xmit)
	if seg.is(segRetransmitted) {
		if c.tsOK && s.opts.HasTimestamp && s.opts.TSEcr != 0 && int32(s.opts.TSEcr-c.tsAt(c.layer.timeAt(seg.xmit))) < 0 {
			return
		}
		if rtt < c.rtt.minRTT {
			return
		}
	}
	if c.rtt.minRTT == 0 || rtt < c.rtt.minRTT {
		c.rtt.minRTT = rtt
	}
	if sentAfter(seg.xmit, seg.order, r.xmit, r.order) {
		r.xmit, r.order, r.rtt = seg.xmit, seg.order, rtt
	}
}

// sawDSACK notes a D-SACK block b: it widens the reordering window (RFC 8985 6.2 step 4) and
// may show that a tail loss probe was not needed (7.4.1).
func (r *rack) sawDSACK(b wire.SACKBlock) {
	r.dsackThisAck = true
	if r.tlpOutstanding && r.tlpRetransmit && b.Right == r.tlpEnd {
		r.tlpDSACKCovered = true
	}
}

// reoWnd is RFC 8985 6.2 step 4: the reordering window.
func (r *rack) reoWnd(c *Conn) time.Duration {
	if r.hasDSACKRound && c.sndUna.GreaterThanEq(r.dsackRound) {
		r.hasDSACKRound = false
	}
	if !r.hasDSACKRound && r.dsackThisAck {
		r.dsackRound, r.hasDSACKRound = c.sndNxt, true
		r.reoWndMult++
		r.reoWndPersist = 16
	}
	if r.reoWndMult == 0 {
		r.reoWndMult = 1
	}
	if !r.reorderingSeen && (c.cc.inRecovery || c.sent.nSack >= 3) {
		return 0
	}
	return min(time.Duration(r.reoWndMult)*c.rtt.minRTT/4, c.rtt.srtt)
}

// recoveryEnded counts a recovery without D-SACK towards resetting the reordering window
// (RFC 8985 6.2 step 4).
func (r *rack) recoveryEnded() {
	r.reoWndPersist--
	if r.reoWndPersist <= 0 {
		r.reoWndMult, r.reoWndPersist = 1, 0
	}
}

// detectLoss is RFC 8985 6.2 step 5: every segment sent before the latest one delivered, by
// more than RACK.rtt plus the reordering window, is lost. For the others it arms the reorder
// timer. It reports whether it marked a segment lost.
func (c *Conn) detectLoss(now time.Time) bool {
	r := c.rack
	if r == nil || r.xmit == 0 {
		return false
	}
	reo := r.reoWnd(c)
	var timeout time.Duration
	marked := false
	for i := range c.sent.len() {
		seg := c.sent.at(i)
		if seg.is(segSacked) || seg.is(segLost) && !seg.is(segRxtInFlight) {
			continue // delivered, or waiting to be sent again
		}
		if !sentAfter(r.xmit, r.order, seg.xmit, seg.order) {
			if !seg.is(segRetransmitted) {
				break // never sent again, and after RACK.xmit_ts: so is every segment above it
			}
			continue
		}
		if remaining := r.rtt + reo - c.layer.since(now, seg.xmit); remaining > 0 {
			timeout = max(timeout, remaining)
			continue
		}
		c.sent.setFlag(i, segLost)
		c.sent.clearFlag(i, segRxtInFlight)
		c.layer.stats.RACKLosses++
		marked = true
	}
	if timeout > 0 {
		c.arm(reoTimer, now.Add(timeout))
	} else {
		c.stop(reoTimer)
	}
	return marked
}

// reorderFired is RFC 8985 6.3: the reorder timer looks for losses again.
func (c *Conn) reorderFired(now time.Time) {
	if c.state == Closed || c.sent.len() == 0 {
		return
	}
	if c.detectLoss(now) {
		c.lossDetected(now)
		c.output(now)
	}
}

// schedulePTO arms the tail loss probe (RFC 8985 7.2) after new data went out or an ACK
// advanced SND.UNA: only outside recovery, with no SACKed data (RACK's timer covers that), and
// not while a probe awaits its ACK. The PTO is 2·SRTT, plus WCDelAckT with one segment in
// flight (the receiver may be delaying its ACK) or ptoSlack with more.
func (c *Conn) schedulePTO(now time.Time) {
	if !c.rackOn() || c.cc.inRecovery || c.sndUna.LessThan(c.cc.recover) || c.sent.len() == 0 ||
		c.sent.nSack > 0 || c.rack != nil && c.rack.tlpOutstanding || !c.state.synchronized() {
		c.stop(probeTimer)
		return
	}
	pto := time.Second
	if c.rtt.hasSample {
		pto = 2 * c.rtt.srtt
		if c.sent.len() == 1 {
			pto += wcDelAckT
		} else {
			pto += ptoSlack
		}
	}
	deadline := now.Add(pto)
	if c.armed(rtxTimer) && deadline.After(c.deadline(rtxTimer)) {
		c.stop(probeTimer) // the RTO comes first: it does the probe's work
		return
	}
	c.arm(probeTimer, deadline)
}

// probeFired is RFC 8985 7.3: send one new segment if there is one and the peer's window
// allows it, else the last segment again; then the RTO takes over. Our policy, unless
// Config.TLPNewData: the last segment again, always. A receiver acknowledges a duplicate at
// once (RFC 5681 4.2), while a lone new segment in order waits for its delayed ACK (40 ms at
// least in Linux): on a lossy path, where probes are frequent, that wait was most of the time
// lost (16 MiB down through 5 % loss each way to Linux's curl: 4.9-8.5 s with new data as the
// probe, 2.1-4.3 s with the last segment).
func (c *Conn) probeFired(now time.Time) {
	if !c.state.synchronized() || c.sent.len() == 0 || c.cc.inRecovery {
		return
	}
	r := c.rackState()
	unsent := c.unsent()
	rwnd := int(c.sndUna.Add(c.sndWnd).Sub(c.sndNxt))
	switch {
	case unsent > 0 && rwnd > 0 && c.layer.cfg.TLPNewData == On:
		n := min(unsent, c.dataRoom(), rwnd)
		c.transmitNew(now, n, c.finQueued && n == unsent)
		r.tlpRetransmit = false
	default:
		last := c.sent.len() - 1
		if c.sent.at(last).is(segSacked) {
			return
		}
		c.retransmit(now, last)
		r.tlpRetransmit = true
	}
	r.tlpEnd, r.tlpOutstanding, r.tlpDSACKCovered = c.sndNxt, true, false
	c.layer.stats.TailLossProbes++
	c.arm(rtxTimer, now.Add(c.rtt.rto))
}

// tlpAck is RFC 8985 7.4: the ACK of a probe says whether it repaired a loss. If it did, the
// congestion window comes down as for any loss; if a D-SACK says the probe was a duplicate,
// nothing was lost. advanced tells whether the ACK moved SND.UNA.
func (c *Conn) tlpAck(now time.Time, s *segment, advanced bool) {
	r := c.rack
	if r == nil || !r.tlpOutstanding || s.ack.LessThan(r.tlpEnd) {
		return
	}
	switch {
	case !r.tlpRetransmit: // the probe carried new data, which was delivered
		r.tlpOutstanding = false
	case r.tlpDSACKCovered: // the original got there: the probe was a duplicate
		r.tlpOutstanding = false
	case s.ack.GreaterThan(r.tlpEnd): // the probe repaired a lost segment
		r.tlpOutstanding = false
		c.reduceWindow()
	case !advanced && s.opts.NumSACKBlocks == 0 && len(s.data) == 0:
		r.tlpOutstanding = false // a duplicate ACK without SACK: the loss, if any, was repaired
	}
}
