package tcp

import (
	"time"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// Retransmission timing (RFC 6298), with RTT samples from timestamps (RFC 7323 4) or, without
// them, from one timed segment at a time under Karn's rule.

// rttState is RFC 6298's SRTT, RTTVAR and RTO, with the timed segment of Karn's rule.
type rttState struct {
	srtt, rttvar, rto time.Duration
	minRTT            time.Duration // the least of all samples (RACK.min_RTT, RFC 8985 6.1)
	backoffs          int           // RTO expirations since the last new ACK
	timedAt           instant
	timedSeq          wire.Seq // the timed segment's first sequence number
	hasSample         bool
	timing            bool
}

// rttSample takes a measurement r (RFC 6298 2.2, 2.3). With timestamps an ACK can carry a
// sample every time, many per round trip; RFC 7323 appendix G then divides alpha and beta by
// the samples expected in a window, ceil(FlightSize / (2·SMSS)), so that SRTT and RTTVAR age
// at the rate RFC 6298 meant. expected is 1 without timestamps.
func (c *Conn) rttSample(r time.Duration, expected int) {
	t := &c.rtt
	expected = max(expected, 1)
	if !t.hasSample {
		t.srtt, t.rttvar, t.hasSample = r, r/2, true
	} else {
		d := t.srtt - r
		if d < 0 {
			d = -d
		}
		t.rttvar += (d - t.rttvar) / time.Duration(4*expected)
		t.srtt += (r - t.srtt) / time.Duration(8*expected)
	}
	if c.rtt.minRTT == 0 || r < c.rtt.minRTT {
		c.rtt.minRTT = r
	}
	t.rto = c.computeRTO()
}

// computeRTO is RFC 6298 2.3, SRTT + max(G, 4·RTTVAR), with the variance term at least
// Config.RTOVarMin (Linux's rule: its tcp_rto_min bounds the variance term, so the RTO stays a
// margin above the round trip however steady it is, where RFC 6298 2.4's floor alone would
// let a 100 ms path time out 200 ms after a loss, before recovery can repair it), then 2.4's
// minimum (Config.RTOMin) and a maximum.
func (c *Conn) computeRTO() time.Duration {
	t := &c.rtt
	cfg := &c.layer.cfg
	if !t.hasSample {
		return cfg.RTOInitial
	}
	rto := t.srtt + max(4*t.rttvar, time.Millisecond, cfg.RTOVarMin) // G: a 1 ms clock
	return min(max(rto, cfg.RTOMin), cfg.RTOMax)
}

// sampleOnAck takes the RTT sample an ACK that advanced SND.UNA offers. With timestamps, one
// per ACK (RFC 7323 4.1), weighted by RFC 7323 appendix G: the time since the oldest segment it
// newly acknowledges was sent, when that segment went once (clean: the transmit time is kept
// to the nanosecond, finer than the timestamp clock's millisecond, and the oldest segment is
// the one whose TSval the echo carries, RFC 7323 4.3), else the time since the TSval it echoes
// (a retransmission is no ambiguity with timestamps). Without them, from the timed segment if
// the ACK covers it and it was never sent again (Karn, RFC 6298 3). clean is zero when the
// oldest segment acknowledged was sent again.
func (c *Conn) sampleOnAck(now time.Time, s *segment, flight int, clean instant) {
	if c.tsOK {
		expected := (flight + 2*c.smss() - 1) / (2 * c.smss())
		if clean != 0 {
			c.rttSample(c.layer.since(now, clean), expected)
			return
		}
		if r, ok := c.tsRTT(now, s); ok {
			c.rttSample(r, expected)
			return
		}
	}
	if c.rtt.timing && c.rtt.timedSeq.LessThan(s.ack) {
		c.rtt.timing = false
		if c.rtt.backoffs == 0 {
			c.rttSample(c.layer.since(now, c.rtt.timedAt), 1)
		}
	}
}

// startTiming times a segment sent for the first time, unless one is timed already (Karn:
// only segments sent once are timed; after a backoff, only new data).
func (c *Conn) startTiming(now time.Time, seq wire.Seq) {
	if !c.rtt.timing && c.rtt.backoffs == 0 && !c.tsOK {
		c.rtt.timing, c.rtt.timedSeq, c.rtt.timedAt = true, seq, c.layer.instant(now)
	}
}

// armRTO starts the retransmission timer if it is not running (RFC 6298 5.1).
func (c *Conn) armRTO(now time.Time) {
	if !c.armed(rtxTimer) {
		c.arm(rtxTimer, now.Add(c.rtt.rto))
	}
}

// rtxFired is the retransmission timeout (RFC 6298 5.4-5.7).
func (c *Conn) rtxFired(now time.Time) {
	l := c.layer
	l.stats.Timeouts++
	c.rtt.backoffs++
	c.rtt.timing = false
	c.rtt.rto = min(2*c.rtt.rto, l.cfg.RTOMax) // RFC 6298 5.5: back off
	if c.state == SynSent || c.state == SynReceived {
		// RFC 9293 3.8.3: give up in the end; a half-open passive connection is freed.
		retries := l.cfg.SynRetries
		if c.state == SynReceived {
			retries = l.cfg.SynAckRetries
		}
		if c.rtt.backoffs > retries {
			c.abort(ErrTimeout)
			return
		}
		l.stats.Retransmits++
		c.counts.retransmits++
		c.sendSyn(now)
		if c.state == Closed { // unsendable
			return
		}
		c.arm(rtxTimer, now.Add(c.rtt.rto))
		return
	}
	if c.sent.len() == 0 {
		return
	}
	if c.rtt.backoffs > l.cfg.Retries {
		c.abort(ErrTimeout)
		return
	}
	if c.userTimedOut(now, c.progressAt) {
		l.stats.UserTimeouts++
		c.abort(ErrTimeout)
		return
	}
	c.timeoutCongestion()
	// Everything in flight is presumed lost and goes again, from SND.UNA, as the loss window
	// allows (RFC 5681 3.1, RFC 6675 5.1). The peer may have discarded what it SACKed: those
	// marks go too (RFC 2018 8).
	c.sent.clearSacks()
	for i := range c.sent.len() {
		c.sent.setFlag(i, segLost)
		c.sent.clearFlag(i, segRxtInFlight)
	}
	if c.rack != nil {
		c.rack.tlpOutstanding = false
	}
	c.stop(probeTimer)
	c.stop(reoTimer)
	next := now.Add(c.rtt.rto)
	if end := c.layer.timeAt(c.progressAt).Add(c.userTimeout); c.userTimeout > 0 && end.Before(next) {
		next = end // RFC 5482: the user timeout ends the wait, not the next backoff
	}
	c.arm(rtxTimer, next)
	c.output(now)
}
