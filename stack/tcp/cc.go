package tcp

import (
	"time"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// Congestion control: slow start and congestion avoidance (RFC 5681), fast retransmit with
// NewReno recovery for peers without SACK (RFC 5681 3.2, RFC 6582, RFC 3042 limited transmit,
// RFC 5827 early retransmit), SACK-based loss recovery (RFC 6675), and the response to ECN
// (RFC 3168 6.1.2) and to a tail loss probe that repaired a loss (RFC 8985 7.4). All windows
// are in bytes.

// congestion is the sender's congestion state.
type congestion struct {
	cwnd, ssthresh int
	dupAcks        int
	flightAtDup    int // FlightSize at the first duplicate ACK, before limited transmit sent anything
	lastAdvance    int // bytes the last new ACK covered (RFC 6582 3.2 step 2's heuristic)
	inRecovery     bool
	recover        wire.Seq    // RFC 6582's recover, RFC 6675's RecoveryPoint: SND.NXT when recovery began
	event          CAState     // what set recover: CARecovery, CACWR or CALoss (for Info's CAState)
	highRxt        wire.Seq    // RFC 6675's HighRxt: past the highest segment sent again
	cubic          *cubicState // RFC 9438; made at the first congestion event or avoidance step
}

// dupThresh is RFC 5681's DupThresh.
const dupThresh = 3

// initialWindow is RFC 5681 3.1's IW, or Config.InitialWindow segments.
func (l *Layer) initialWindow(mss int) int {
	if n := l.cfg.InitialWindow; n > 0 {
		return n * mss
	}
	switch {
	case mss > 2190:
		return 2 * mss
	case mss > 1095:
		return 3 * mss
	}
	return 4 * mss
}

// initCongestion starts slow start once the handshake fixed the MSS.
func (c *Conn) initCongestion() {
	c.cc.cwnd = c.layer.initialWindow(c.smss())
	c.cc.ssthresh = 1 << 30
}

// flightSize is RFC 5681's FlightSize: data sent and not yet cumulatively acknowledged.
func (c *Conn) flightSize() int { return int(c.sndNxt.Sub(c.sndUna)) }

// pipe is RFC 6675's pipe: the bytes thought to be in the network. Segments SACKed or thought
// lost are not; a retransmission in flight is, once more.
func (c *Conn) pipe() int {
	q := &c.sent
	return c.flightSize() - int(q.sacked) - int(q.lost) + int(q.rxt)
}

// lossThreshold is the ssthresh a congestion event sets, and notes the event for CUBIC: RFC
// 5681 3.1 (equation 4)'s max(FlightSize/2, 2·SMSS) under CongestionReno; by default
// max(0.7·FlightSize, 2·SMSS), RFC 9438 4.6's β_cubic. Halving leaves too few segments in
// flight at high loss rates for SACK and RACK to see the next loss, and each lost ACK then
// becomes a timeout (two-way 5 % loss, 16 MiB: 16 RTOs halving, 5 with 0.7, in virtual time).
func (c *Conn) lossThreshold(flight int) int {
	if c.layer.cfg.Congestion == CongestionReno {
		return max(flight/2, 2*c.smss())
	}
	c.cubicCongestion()
	return max(int(float64(flight)*cubicBeta), 2*c.smss())
}

// avoidanceIncrease is what congestion avoidance adds to cwnd for an ACK of acked bytes: about
// one SMSS per round trip (RFC 5681 3.1, equation 3) under CongestionReno; CUBIC's growth
// (RFC 9438) by default.
func (c *Conn) avoidanceIncrease(now time.Time, acked int) int {
	if c.layer.cfg.Congestion == CongestionReno {
		return max(c.smss()*c.smss()/max(c.cc.cwnd, 1), 1)
	}
	return c.cubicIncrease(now, acked)
}

// newAck handles an ACK that advanced SND.UNA by acked bytes; flight is FlightSize before it.
func (c *Conn) newAck(now time.Time, acked int, flight int, ece bool) {
	cc := &c.cc
	cc.lastAdvance = acked
	cc.dupAcks = 0
	if cc.inRecovery {
		if c.sndUna.GreaterThanEq(cc.recover) { // the recovery is over (RFC 6582 3.2 step 3, RFC 6675 5)
			cc.inRecovery = false
			if c.rack != nil {
				c.rack.recoveryEnded()
			}
			if !c.sackOK {
				// RFC 6582 3.2 step 3, option 1: min(ssthresh, max(FlightSize, SMSS) + SMSS),
				// FlightSize being what is still outstanding after this ACK.
				cc.cwnd = min(cc.ssthresh, max(flight-acked, c.smss())+c.smss())
			} else {
				cc.cwnd = cc.ssthresh
			}
			return
		}
		if !c.sackOK { // a partial ACK: retransmit the next hole, deflate (RFC 6582 3.2 step 3)
			c.retransmitFirst(now)
			cc.cwnd = max(cc.cwnd-acked+c.smss(), c.smss())
		}
		return // with SACK, pipe governs what goes (RFC 6675 5 (C))
	}
	if ece {
		return // RFC 3168 6.1.2: no growth on an ACK that echoes congestion
	}
	if cc.cwnd < cc.ssthresh { // slow start (RFC 5681 3.1)
		cc.cwnd += min(acked, c.smss())
	} else { // congestion avoidance
		cc.cwnd += c.avoidanceIncrease(now, acked)
	}
}

// dupAck counts a duplicate ACK (RFC 5681 2; with SACK, RFC 6675 2: an ACK that SACKs new
// data). Without SACK the third (fewer with RFC 5827 early retransmit, when fewer than four
// segments are out and no new data can go) starts fast retransmit and NewReno recovery; the
// first two may send new data (RFC 3042 limited transmit, in output); later ones inflate the
// window. With SACK and without RACK, RFC 6675 5's DupThresh rule applies.
func (c *Conn) dupAck(now time.Time) {
	cc := &c.cc
	cc.dupAcks++
	if cc.inRecovery {
		if !c.sackOK {
			cc.cwnd += c.smss()
		}
		return
	}
	if c.sackOK {
		if !c.rackOn() && (cc.dupAcks >= dupThresh || c.sent.len() > 0 && c.sent.at(0).is(segLost)) {
			c.sent.setFlag(0, segLost) // RFC 6675 5 (4): fast retransmit begins at HighACK+1
			c.lossDetected(now)
		}
		return
	}
	if cc.dupAcks == 1 {
		// What is in flight before limited transmit sends anything: the segments it sends
		// MUST NOT count in ssthresh (RFC 5681 3.2 step 2, RFC 3042 2).
		cc.flightAtDup = c.flightSize()
	}
	if cc.dupAcks != c.dupThreshold() {
		return
	}
	if c.sndUna.LessThan(cc.recover) &&
		// RFC 6582 3.2 step 2's heuristic: below recover (after a timeout), duplicate ACKs
		// still mean a loss when the cumulative ACK last advanced by at most 4·SMSS.
		!(cc.cwnd > c.smss() && cc.lastAdvance <= 4*c.smss()) {
		return
	}
	cc.ssthresh = c.lossThreshold(cc.flightAtDup)
	cc.recover, cc.event = c.sndNxt, CARecovery
	cc.inRecovery = true
	c.layer.stats.FastRetransmits++
	c.retransmitFirst(now)
	cc.cwnd = cc.ssthresh + 3*c.smss()
}

// dupThreshold is 3 (RFC 5681), or for 2 or 3 segments in flight with no new data to send,
// one less than the segments in flight (RFC 5827 early retransmit).
func (c *Conn) dupThreshold() int {
	segs := c.sent.len()
	if c.unsent() <= 0 && segs >= 2 && segs < 4 {
		return segs - 1
	}
	return dupThresh
}

// lossDetected starts SACK-based loss recovery when the scoreboard (RACK, or RFC 6675's
// IsLost) holds a segment thought lost and no recovery is under way: RFC 6675 5 (4).
// RecoveryPoint is SND.NXT; ssthresh and cwnd come down to half the flight (RFC 5681 3.2 step
// 2 as RFC 6675 4.2 uses it), and the first lost segment goes at once, whatever cwnd says.
func (c *Conn) lossDetected(now time.Time) {
	cc := &c.cc
	if cc.inRecovery || c.sent.lost == 0 || c.sndUna.LessThan(cc.recover) {
		return
	}
	cc.ssthresh = c.lossThreshold(c.flightSize())
	cc.cwnd = cc.ssthresh
	cc.recover, cc.event = c.sndNxt, CARecovery
	cc.highRxt = c.sndUna
	cc.inRecovery = true
	c.layer.stats.FastRetransmits++
	c.stop(probeTimer)
	if i := c.nextLost(); i >= 0 {
		c.retransmit(now, i)
	}
}

// reduceWindow is the congestion response to a loss that needed no retransmission by us: a
// tail loss probe repaired it (RFC 8985 7.4.2), or ECN reported it (RFC 3168 6.1.2). It
// halves the window once per window of data, and reports whether it did.
func (c *Conn) reduceWindow() bool {
	cc := &c.cc
	if cc.inRecovery || c.sndUna.LessThan(cc.recover) {
		return false // already reduced for this window of data
	}
	cc.ssthresh = c.lossThreshold(c.flightSize())
	cc.cwnd = cc.ssthresh
	cc.recover, cc.event = c.sndNxt, CACWR
	return true
}

// timeoutCongestion is RFC 5681 3.1's response to a retransmission timeout: ssthresh from
// equation 4, a loss window of one segment, and no new recovery until what is in flight now is
// acknowledged (RFC 6582 4, RFC 6675 5.1).
func (c *Conn) timeoutCongestion() {
	cc := &c.cc
	cc.ssthresh = c.lossThreshold(c.flightSize())
	cc.cwnd = c.smss()
	cc.inRecovery, cc.dupAcks = false, 0
	cc.recover, cc.event = c.sndNxt, CALoss
}

// nextLost is RFC 6675's NextSeg() rule 1: the first segment thought lost and not yet sent
// again, or -1.
func (c *Conn) nextLost() int {
	if c.sent.resend == 0 {
		return -1
	}
	for i := range c.sent.len() {
		s := c.sent.at(i)
		if s.is(segLost) && !s.is(segRxtInFlight) && !s.is(segSacked) {
			return i
		}
	}
	return -1
}
