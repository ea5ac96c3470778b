package tcp

import (
	"time"

	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/wire"
)

// Output: what goes on the wire, when, and with which options.

// tsOptionLen is what the timestamp option takes in every segment once negotiated, with its
// two NOPs of padding (RFC 7323 appendix A).
const tsOptionLen = 12

// smss is RFC 5681's SMSS: the most data a segment carries. The peer's MSS and the path MTU's
// (RFC 1191) bound it, less the options every segment carries (RFC 6691: the MSS counts no
// options).
func (c *Conn) smss() int {
	m := min(c.peerMSS, c.pmtu-wire.IPv4MinHeaderLen-wire.TCPMinHeaderLen)
	if c.userMSS != 0 {
		m = min(m, int(c.userMSS))
	}
	if c.tsOK {
		m -= tsOptionLen
	}
	return m
}

// advMSS is the MSS the connection announces: the interface's, capped by TCP_MAXSEG.
func (c *Conn) advMSS() int { return capMSS(c.layer.mss(), c.userMSS) }

func capMSS(mss int, user uint16) int {
	if user != 0 {
		return min(mss, int(user))
	}
	return mss
}

// unsent is how many bytes of the send buffer have not been sent yet (negative once the FIN
// is out: it takes a sequence number but no byte of the buffer).
func (c *Conn) unsent() int { return c.sndBuf.Len() - int(c.sndNxt.Sub(c.sndBufSeq)) }

// rcvSpace is the room left in the receive buffer.
func (c *Conn) rcvSpace() int {
	return max(c.rcvBufSize-c.rcvBuf.Len(), 0)
}

// rcvWnd is RCV.WND as last advertised: from RCV.NXT to the advertised right edge.
func (c *Conn) rcvWnd() uint32 { return uint32(max(c.rcvAdv.Sub(c.rcvNxt), 0)) }

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
	return uint16(min(c.rcvWnd(), c.maxWindow()) >> c.rcvWScale)
}

// windowOpened sends a window update when reading opened the window enough (RFC 9293 3.8.6.2,
// RFC 1122 4.2.3.3): the right edge must move by at least min(MSS, half the buffer), and the
// update goes at once only when the peer may be stalled (less than that left of the window
// advertised) or the window at least doubles and no ACK is pending anyway; otherwise the next
// ACK or data segment carries it.
func (c *Conn) windowOpened() {
	if !c.state.synchronized() || c.finRcvd {
		return
	}
	grow := int(c.rightEdge().Sub(c.rcvAdv))
	if grow < c.swsThreshold() {
		return
	}
	remaining := int(c.rcvWnd())
	if remaining < c.swsThreshold() || (!c.armed(delackTimer) && grow >= remaining) {
		c.ackNow = true
		c.output(c.layer.now())
	}
}

// segmentKind says what a segment carries, for the choices that depend on it.
type segmentKind uint8

const (
	controlSegment    segmentKind = iota // ACK, window update, probe, FIN alone
	challengeSegment                     // a challenge ACK (RFC 5961): never with the FIN again, as BSD's tcp_respond
	newDataSegment                       // data sent for the first time: ECT, CWR (RFC 3168 6.1.2)
	retransmitSegment                    // data sent again: never ECT (RFC 3168 6.1.5)
)

// sendSegment sends one segment of the connection with ACK set, the current window, the
// timestamp option (RFC 7323 3.2: on every segment once negotiated), the SACK blocks held
// (RFC 2018 4) and the ECN bits (RFC 3168 6.1). With Config.FINWithACK, an ACK sent while our
// FIN is unacknowledged carries the FIN again, at its sequence number.
func (c *Conn) sendSegment(now time.Time, seq wire.Seq, flags wire.TCPFlags, data, more []byte, kind segmentKind) {
	if kind == controlSegment && seq == c.sndNxt && c.layer.cfg.FINWithACK == On {
		if last := c.sent.last(); last != nil && last.fin { // our FIN is unacknowledged: send it again
			seq, flags = seq.Add(^uint32(0)), flags|wire.FIN
		}
	}
	f := wire.TCPFields{
		SourcePort: c.tuple.localPort, DestinationPort: c.tuple.remotePort,
		SeqNum: seq, AckNum: c.rcvNxt, Flags: flags | wire.ACK, WindowSize: c.windowField(),
	}
	if c.tsOK {
		f.Options.HasTimestamp, f.Options.TSVal, f.Options.TSEcr = true, c.tsAt(now), c.ts.recent
	}
	if c.sackOK {
		f.Options.SACKBlocks, f.Options.NumSACKBlocks = c.sackBlocks()
		if c.ooo != nil && c.ooo.report.hasDSACK {
			c.ooo.report.hasDSACK = false // reported once (RFC 2883 4)
			c.layer.stats.DSACKsOut++
		}
	}
	opts := ipv4.SendOptions{DontFragment: c.layer.cfg.PMTUD == On}
	if c.ecnOK {
		if c.ecn.echoCE {
			f.Flags |= wire.ECE
		}
		if kind == newDataSegment {
			opts.ECN = wire.ECT0
			if c.ecn.cwrPending {
				f.Flags |= wire.CWR
				c.ecn.cwrPending = false
			}
		}
	}
	c.layer.sendParts(c.tuple, &f, data, more, opts)
	c.counts.segsOut++
	if n := len(data) + len(more); n > 0 {
		c.counts.dataSegsOut++
		c.counts.bytesSent += uint64(n)
	}
	c.ts.lastAckSent = c.rcvNxt
	c.ackNow, c.unackedSeg = false, 0
	c.stop(delackTimer)
}

// sendAck sends <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> now.
func (c *Conn) sendAck() { c.sendSegment(c.layer.now(), c.sndNxt, 0, nil, nil, controlSegment) }

// sendReset sends the connection's <SEQ=SND.NXT><CTL=RST> (RFC 9293 3.10.5), or with flags
// RST|ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>, with the timestamp option when negotiated
// (RFC 7323 3.2: SHOULD).
func (c *Conn) sendReset(flags wire.TCPFlags) {
	f := wire.TCPFields{SourcePort: c.tuple.localPort, DestinationPort: c.tuple.remotePort, SeqNum: c.sndNxt, Flags: flags}
	if flags&wire.ACK != 0 {
		f.AckNum = c.rcvNxt
	}
	if c.tsOK {
		f.Options.HasTimestamp, f.Options.TSVal, f.Options.TSEcr = true, c.tsAt(c.layer.now()), c.ts.recent
	}
	c.layer.stats.ResetsOut++
	c.counts.segsOut++
	c.layer.send(c.tuple, &f, nil, ipv4.SendOptions{DontFragment: c.layer.cfg.PMTUD == On})
}

// oowInterval is the least time between two ACKs for unacceptable segments, or two challenge
// ACKs, on one connection.
const oowInterval = 500 * time.Millisecond

// oowAck answers a segment that failed the acceptability test or PAWS with an ACK (RFC 9293
// 3.10.7.4, RFC 7323 5.3 R1). A segment with data is always answered: the ACK may carry a
// D-SACK and tells a retransmitting peer where it stands. Others (ACKs, and anything PAWS
// rejected) get at most one answer per 500 ms, as Linux's tcp_invalid_ratelimit: two stacks
// that disagree on the window must not ACK each other in a loop, and a flood of stale segments
// must not draw a flood of ACKs.
func (c *Conn) oowAck(now time.Time, s *segment, always bool) {
	if always && len(s.data) > 0 {
		c.sendAck()
		return
	}
	if c.lastOOWAck != 0 && c.layer.since(now, c.lastOOWAck) < oowInterval {
		c.layer.stats.OutOfWindowACKs++
		return
	}
	c.lastOOWAck = c.layer.instant(now)
	c.sendAck()
}

// output sends what may be sent now: segments thought lost (RFC 6675 NextSeg rule 1), then new
// data within the peer's window and the congestion window, a FIN after the data, or a pending
// ACK.
func (c *Conn) output(now time.Time) {
	switch c.state {
	case Closed, Listen, SynSent, TimeWait:
		return
	case SynReceived:
		if c.ackNow {
			c.sendSyn(now)
			c.ackNow = false
		}
		return
	}
	sent, newData := false, false
	for {
		// RFC 6675 NextSeg rule 1 (and go-back-N after a timeout): a segment thought lost.
		if i := c.nextLost(); i >= 0 {
			if !c.windowAllows(i) {
				break
			}
			c.retransmit(now, i)
			sent = true
			continue
		}
		// Rule 2: new data.
		if ok, fin := c.sendNewSegment(now); ok {
			sent, newData = true, true
			if !fin {
				continue
			}
			break
		}
		// Rule 3, in SACK recovery without RACK: a hole below the highest SACKed segment not
		// yet sent again, though not yet thought lost.
		if i := c.nextHole(); i >= 0 && c.windowAllows(i) {
			c.retransmit(now, i)
			sent = true
			continue
		}
		break
	}
	if !sent && c.ackNow {
		c.sendAck()
	}
	if newData {
		c.schedulePTO(now)
	}
	c.armPersist(now)
}

// windowAllows reports whether the congestion window has room to send segment i again
// (RFC 6675 5 (C): cwnd - pipe >= 1 SMSS, or the segment's length when it is shorter).
func (c *Conn) windowAllows(i int) bool {
	return c.cc.cwnd-c.pipe() >= min(int(c.sent.at(i).len), c.smss())
}

// sendNewSegment sends the next new segment, if the windows, silly-window avoidance and
// Nagle's algorithm let it go. It reports whether it sent one, and whether that was the FIN.
func (c *Conn) sendNewSegment(now time.Time) (sent, fin bool) {
	unsent := c.unsent()
	if unsent < 0 { // the FIN is out
		return false, false
	}
	room := c.dataRoom()
	cwnd := c.cc.cwnd
	if !c.sackOK && !c.cc.inRecovery && c.cc.dupAcks > 0 && c.cc.dupAcks < dupThresh {
		cwnd += c.cc.dupAcks * c.smss() // RFC 3042 limited transmit: new data on dup ACKs 1 and 2
	}
	usable := min(int(c.sndUna.Add(c.sndWnd).Sub(c.sndNxt)), cwnd-c.pipe())
	n := max(min(unsent, room, usable), 0)
	fin = c.finQueued && n == unsent
	if n == 0 && !fin {
		return false, false
	}
	if n < room && !fin && !c.mayTransmit(n, unsent) {
		return false, false
	}
	c.transmitNew(now, n, fin)
	return true, fin
}

// nextHole is RFC 6675's NextSeg() rule 3, for SACK recovery without RACK: the first segment
// not SACKed and not sent again, above the highest one sent again in this recovery and below
// the highest SACKed one; or -1.
func (c *Conn) nextHole() int {
	if !c.cc.inRecovery || !c.sackOK || c.rackOn() || c.sent.nSack == 0 {
		return -1
	}
	highest := -1
	for i := c.sent.len() - 1; i >= 0; i-- {
		if c.sent.at(i).is(segSacked) {
			highest = i
			break
		}
	}
	for i := range highest {
		s := c.sent.at(i)
		if !s.is(segSacked) && !s.is(segRxtInFlight) && s.seq.GreaterThanEq(c.cc.highRxt) {
			return i
		}
	}
	return -1
}

// mayTransmit is RFC 9293 3.8.6.2.1's sender silly-window avoidance for a segment of n bytes,
// shorter than a full one, with unsent bytes queued: it goes when it takes everything queued,
// or at least half the largest window the peer offered, and Nagle's algorithm (RFC 896) does
// not hold it (nothing unacknowledged in flight, or TCP_NODELAY). Otherwise the stack waits
// for an ACK, or for the persist timer as the override timeout.
func (c *Conn) mayTransmit(n, unsent int) bool {
	nagleOK := c.noDelay || c.sndNxt == c.sndUna
	return nagleOK && (n == unsent || n >= int(c.maxSndWnd)/2)
}

// armPersist starts the persist timer when data waits, nothing is in flight and only the
// peer's window holds it back: a zero window is probed (RFC 9293 3.8.6.1), a window too small
// for silly-window avoidance is used when the timer fires (RFC 9293 3.8.6.2.1's override).
func (c *Conn) armPersist(now time.Time) {
	unsent := c.unsent()
	if c.sndNxt != c.sndUna || unsent <= 0 || c.armed(persistTimer) || !c.state.synchronized() {
		return
	}
	if int(c.sndWnd) >= min(unsent, c.smss()) {
		return // the window is not what holds the data back
	}
	c.arm(persistTimer, now.Add(c.persistInterval()))
}

// transmitNew sends n new bytes (and the FIN) at SND.NXT, records the segment in the
// retransmission queue, times it and arms the retransmission timer.
func (c *Conn) transmitNew(now time.Time, n int, fin bool) {
	off := int(c.sndNxt.Sub(c.sndBufSeq))
	flags := wire.TCPFlags(0)
	if n > 0 && off+n == c.sndBuf.Len() {
		flags |= wire.PSH // RFC 1122 4.2.2.2: PSH on the segment that empties the send queue
	}
	if fin {
		flags |= wire.FIN
	}
	seq := c.sndNxt
	kind := newDataSegment
	if n == 0 {
		kind = controlSegment
	}
	data, more := c.sndBuf.Peek(off, n)
	c.sendSegment(now, seq, flags, data, more, kind)
	if n > 0 {
		c.counts.lastDataSent = now.UnixNano()
	}
	seg := txSeg{seq: seq, len: uint32(n), fin: fin}
	c.stampXmit(now, &seg)
	if c.sent.len() == 0 {
		c.progressAt = c.layer.instant(now)
	}
	if fin {
		seg.len++
	}
	c.sent.push(seg)
	c.sndNxt = seq.Add(seg.len)
	c.startTiming(now, seq)
	c.armRTO(now)
}

// retransmit sends segment i of the retransmission queue again, cut to the current SMSS first
// if the path MTU came down (RFC 1191), or joined with the segments after it that wait to go
// again too, as far as one SMSS takes them (a lost FIN goes with the lost data before it).
func (c *Conn) retransmit(now time.Time, i int) {
	limit := c.smss()
	if c.sent.at(i).dataLen() > limit {
		c.sent.split(i, uint32(limit))
	}
	for i+1 < c.sent.len() {
		s, next := c.sent.at(i), c.sent.at(i+1)
		if s.fin || s.flags != next.flags || !s.is(segLost) || s.dataLen()+next.dataLen() > limit {
			break
		}
		c.sent.mergeNext(i)
	}
	s := c.sent.at(i)
	off := int(s.seq.Sub(c.sndBufSeq))
	n := s.dataLen()
	flags := wire.TCPFlags(0)
	if n > 0 && off+n == c.sndBuf.Len() {
		flags |= wire.PSH
	}
	if s.fin {
		flags |= wire.FIN
	}
	data, more := c.sndBuf.Peek(off, n)
	c.sendSegment(now, s.seq, flags, data, more, retransmitSegment)
	c.stampXmit(now, s)
	if s.end().GreaterThan(c.cc.highRxt) {
		c.cc.highRxt = s.end() // RFC 6675's HighRxt
	}
	c.sent.setFlag(i, segRetransmitted|segRxtInFlight)
	c.layer.stats.Retransmits++
	c.counts.retransmits++
	c.counts.bytesRetrans += uint64(n)
	if c.rtt.timing && c.rtt.timedSeq.LessThan(s.end()) {
		c.rtt.timing = false // Karn: a segment sent twice gives no sample
	}
	c.armRTO(now)
}

// retransmitFirst sends the segment at SND.UNA again at once (fast retransmit, and NewReno's
// partial ACKs), whatever the window says (RFC 5681 3.2 step 3, RFC 6582 3.2 step 3).
func (c *Conn) retransmitFirst(now time.Time) {
	if c.sent.len() == 0 {
		return
	}
	c.sent.setFlag(0, segLost)
	c.sent.clearFlag(0, segRxtInFlight)
	c.retransmit(now, 0)
}
