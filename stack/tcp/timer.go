package tcp

import (
	"time"

	"github.com/mtcp-go/mtcp/stack/icmp"
	"github.com/mtcp-go/mtcp/stack/wire"
)

// rttSample updates SRTT and RTTVAR (RFC 6298 2.2, 2.3) and the RTO.
func (c *Conn) rttSample(r time.Duration) {
	if c.srtt == 0 {
		c.srtt, c.rttvar = r, r/2
	} else {
		d := c.srtt - r
		if d < 0 {
			d = -d
		}
		c.rttvar = (3*c.rttvar + d) / 4
		c.srtt = (7*c.srtt + r) / 8
	}
	c.rto = c.computeRTO()
}

// computeRTO is RFC 6298 2.3 with the minimum of 2.4 (configurable) and a maximum.
func (c *Conn) computeRTO() time.Duration {
	if c.srtt == 0 {
		return c.layer.cfg.RTOInitial
	}
	rto := c.srtt + max(4*c.rttvar, time.Millisecond) // G: a 1 ms clock
	return min(max(rto, c.layer.cfg.RTOMin), c.layer.cfg.RTOMax)
}

// rtxFired is the retransmission timeout (RFC 6298 5.4-5.7).
func (c *Conn) rtxFired(now time.Time) {
	l := c.layer
	l.stats.Timeouts++
	c.backoffs++
	c.rttTiming = false
	c.rto = min(2*c.rto, l.cfg.RTOMax) // R2: back off
	switch c.state {
	case SynSent:
		if c.backoffs > l.cfg.SynRetries { // H11: bounded
			c.abort(ErrTimeout)
			return
		}
		l.stats.Retransmits++
		c.sendSyn(now)
		c.timers().Arm(&c.rtxTimer, now.Add(c.rto))
		return
	case SynReceived:
		if c.backoffs > l.cfg.SynAckRetries { // U10: the half-open connection is freed
			c.abort(ErrTimeout)
			return
		}
		l.stats.Retransmits++
		c.sendSyn(now)
		c.timers().Arm(&c.rtxTimer, now.Add(c.rto))
		return
	}
	if c.sndUna == c.sndMax {
		return
	}
	if c.backoffs > l.cfg.Retries {
		c.abort(ErrTimeout)
		return
	}
	// RFC 5681 3.1 (equation 4) and the loss window; go back to SND.UNA (R1, R6).
	c.ssthresh = max(int(c.sndMax.Sub(c.sndUna))/2, 2*c.sndMSS)
	c.cwnd = c.sndMSS
	c.inRecovery, c.dupAcks = false, 0
	c.recover = c.sndMax
	c.sndNxt = c.sndUna
	c.timers().Arm(&c.rtxTimer, now.Add(c.rto))
	c.output(now)
}

// delackFired sends the delayed ACK.
func (c *Conn) delackFired(now time.Time) {
	c.ackNow = true
	c.output(now)
}

// persistInterval is the zero-window probe interval: the RTO, doubled per probe, at most 60 s.
func (c *Conn) persistInterval() time.Duration {
	d := c.computeRTO() << min(c.persistBackoff, 16)
	return min(d, c.layer.cfg.RTOMax)
}

// persistFired probes a zero window (RFC 9293 3.8.6.1, RFC 6429: never give up while the
// peer answers): a segment with SEG.SEQ = SND.UNA-1 and no data, which the peer must ACK with
// its current window.
func (c *Conn) persistFired(now time.Time) {
	if c.sndWnd > 0 || c.state == Closed {
		return
	}
	c.sendSegment(c.sndUna.Add(^uint32(0)), 0, nil)
	c.persistBackoff++
	c.timers().Arm(&c.persistTimer, now.Add(c.persistInterval()))
}

func (c *Conn) armKeepAlive(now time.Time) {
	if !c.keepAlive || !c.state.synchronized() || c.state == TimeWait {
		c.timers().Stop(&c.keepTimer)
		return
	}
	c.timers().Arm(&c.keepTimer, now.Add(c.keepIdle))
}

// keepFired sends a keepalive probe (RFC 1122 4.2.3.6): SEG.SEQ = SND.NXT-1, no data.
func (c *Conn) keepFired(now time.Time) {
	if c.keepProbes >= c.layer.cfg.KeepAliveProbes {
		c.abort(ErrTimeout)
		return
	}
	c.keepProbes++
	c.sendSegment(c.sndNxt.Add(^uint32(0)), 0, nil)
	c.timers().Arm(&c.keepTimer, now.Add(c.keepIdle))
}

// waitFired ends TIME-WAIT.
func (c *Conn) waitFired(time.Time) { c.closeNormally() }

// icmpError takes an ICMP error quoting one of our segments (RFC 1122 4.2.3.9, RFC 5927).
func (c *Conn) icmpError(now time.Time, e icmp.Error, seq wire.Seq) {
	// RFC 5927 4.1: only errors quoting a sequence number in flight (SND.UNA up to the highest
	// sent, even when a timeout rewound SND.NXT) are believed (C6).
	if !e.Local && !(c.sndUna.LessThanEq(seq) && seq.LessThan(c.sndMax)) {
		return
	}
	err := ErrHostUnreach
	if e.Type == wire.ICMPv4DestUnreach && (e.Code == wire.ICMPv4ProtocolUnreachable || e.Code == wire.ICMPv4PortUnreachable) {
		err = ErrConnRefused
	}
	// Hard errors abort a connection still opening (C5); everything else is soft (C7).
	if c.state == SynSent && err == ErrConnRefused {
		c.abort(err)
		return
	}
	if c.state == SynSent && e.Local {
		c.abort(ErrHostUnreach)
		return
	}
	c.softErr = err
}
