package tcp

import (
	"time"

	"github.com/mtcp-go/mtcp/stack/timer"
)

// The timers other than retransmission's (rtx.go, rack.go): delayed ACK, persist, keepalive
// and TIME-WAIT.

// delackFired sends the delayed ACK (RFC 1122 4.2.3.2).
func (c *Conn) delackFired(now time.Time) {
	c.ackNow = true
	c.output(now)
}

// persistInterval is the persist timer's interval: the RTO, doubled per probe, at most RTOMax.
func (c *Conn) persistInterval() time.Duration {
	d := c.computeRTO() << min(c.persistBackoff, 16)
	return min(d, c.layer.cfg.RTOMax)
}

// persistFired runs when data waited with nothing in flight because of the peer's window. A
// zero window is probed (RFC 9293 3.8.6.1, RFC 6429: never give up while the peer answers)
// with a segment at SND.UNA-1 and no data, which the peer must ACK with its current window. A
// window too small for silly-window avoidance is filled as far as it goes: the timer is RFC
// 9293 3.8.6.2.1's override timeout.
func (c *Conn) persistFired(now time.Time) {
	if !c.state.synchronized() || c.sndNxt != c.sndUna {
		return
	}
	unsent := c.unsent()
	if unsent <= 0 {
		return
	}
	if c.sndWnd > 0 {
		n := min(unsent, int(c.sndWnd), c.smss()-c.sackOptionLen())
		c.transmitNew(now, n, c.finQueued && n == unsent)
		return
	}
	c.sendSegment(now, c.sndUna.Add(^uint32(0)), 0, nil, controlSegment)
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
	c.sendSegment(now, c.sndNxt.Add(^uint32(0)), 0, nil, controlSegment)
	c.timers().Arm(&c.keepTimer, now.Add(c.keepIdle))
}

// enterTimeWait moves to TIME-WAIT for 2·MSL (RFC 9293 3.10.7.4).
func (c *Conn) enterTimeWait(now time.Time) {
	c.setState(TimeWait)
	h := c.timers()
	for _, t := range []*timer.Timer{&c.rtxTimer, &c.persistTimer, &c.keepTimer, &c.probeTimer, &c.reoTimer} {
		h.Stop(t)
	}
	h.Arm(&c.waitTimer, now.Add(2*c.layer.cfg.MSL))
}

// waitFired ends TIME-WAIT.
func (c *Conn) waitFired(time.Time) { c.closeNormally() }
