package tcp

import (
	"time"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// The timers other than retransmission's (rtx.go, rack.go) and TIME-WAIT's (timewait.go):
// delayed ACK, persist, keepalive, the connect timeout and the FIN-WAIT-2 timeout.

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
// zero window is probed (RFC 9293 3.8.6.1) with a segment at SND.UNA-1 and no data, which the
// peer must ACK with its current window. The connection stays while probes are answered
// (RFC 6429, RFC 1122 4.2.2.17); probes that go unanswered count like retransmissions: after
// Config.Retries of them (or the user timeout, RFC 5482) the peer is given up for gone, with
// ErrTimeout. A window too small for silly-window avoidance is filled as far as it goes: the
// timer is RFC 9293 3.8.6.2.1's override timeout.
func (c *Conn) persistFired(now time.Time) {
	if !c.state.synchronized() || c.sndNxt != c.sndUna {
		return
	}
	unsent := c.unsent()
	if unsent <= 0 {
		return
	}
	if c.sndWnd > 0 {
		n := min(unsent, int(c.sndWnd), c.dataRoom())
		c.transmitNew(now, n, c.finQueued && n == unsent)
		return
	}
	if int(c.probesOut) >= c.layer.cfg.Retries || c.userTimedOut(now, c.lastAckAt) {
		c.layer.stats.PersistTimeouts++
		c.abort(ErrTimeout)
		return
	}
	c.probesOut++
	c.sendSegment(now, c.sndUna.Add(^uint32(0)), 0, nil, nil, controlSegment)
	c.persistBackoff++
	next := now.Add(c.persistInterval())
	if end := c.layer.timeAt(c.lastAckAt).Add(c.userTimeout); c.userTimeout > 0 && end.After(now) && end.Before(next) {
		next = end // RFC 5482: the user timeout ends the wait, not the next probe
	}
	c.arm(persistTimer, next)
}

func (c *Conn) armKeepAlive(now time.Time) {
	if !c.keepAlive || !c.state.synchronized() || c.state == TimeWait {
		c.stop(keepTimer)
		return
	}
	c.arm(keepTimer, now.Add(c.keepIdle))
}

// keepFired sends a keepalive probe (RFC 1122 4.2.3.6): SEG.SEQ = SND.NXT-1, no data. The
// first goes after the idle time, the next ones at the keepalive interval; the connection is
// given up one interval after the last of its probe count, with a RST in case the peer is
// there after all (as Linux's tcp_keepalive_timer and FreeBSD's tcp_timer_keep).
func (c *Conn) keepFired(now time.Time) {
	if c.keepProbes >= c.keepCount {
		c.sendReset(wire.RST | wire.ACK)
		c.abort(ErrTimeout)
		return
	}
	c.keepProbes++
	c.sendSegment(now, c.sndNxt.Add(^uint32(0)), 0, nil, nil, controlSegment)
	c.arm(keepTimer, now.Add(c.keepIntvl))
}

// userTimedOut reports whether the user timeout (RFC 5482, SetUserTimeout) has passed since the
// time given: the last forward progress for data in flight, or the last ACK for zero-window
// probes.
func (c *Conn) userTimedOut(now time.Time, since instant) bool {
	return c.userTimeout > 0 && since != 0 && c.layer.since(now, since) >= c.userTimeout
}

// SetUserTimeout sets how long data may stay unacknowledged, or wait behind a zero window with
// its probes unanswered, before the connection is aborted with ErrTimeout (RFC 5482's user
// timeout, Linux's TCP_USER_TIMEOUT); 0 leaves it to the retry counts (Config.Retries).
func (c *Conn) SetUserTimeout(d time.Duration) { c.userTimeout = max(d, 0) }

// UserTimeout returns the user timeout; 0 when the retry counts decide.
func (c *Conn) UserTimeout() time.Duration { return c.userTimeout }

// SetConnectTimeout gives up the handshake of an active open d from now, with ErrTimeout:
// FreeBSD's TCP_KEEPINIT, which restarts the timer when set during the handshake. Dial sets
// it from Config.ConnectTimeout. 0 leaves the handshake to the SYN retries
// (Config.SynRetries); once the connection is established it has no effect. RFC 1122
// 4.2.3.5 lets the application give up an open attempt sooner than the retries would.
func (c *Conn) SetConnectTimeout(d time.Duration) {
	c.connectTimeout = max(d, 0)
	if c.state != SynSent && c.state != SynReceived {
		return
	}
	if c.connectTimeout == 0 {
		c.stop(waitTimer)
		return
	}
	c.arm(waitTimer, c.layer.now().Add(c.connectTimeout))
}

// ConnectTimeout returns the connect timeout; 0 when the SYN retries decide.
func (c *Conn) ConnectTimeout() time.Duration { return c.connectTimeout }

// waitFired ends a wait that lasted too long: the handshake, or FIN-WAIT-2.
func (c *Conn) waitFired(time.Time) {
	switch c.state {
	case SynSent, SynReceived:
		c.connectTimedOut()
	case FinWait2:
		c.finWait2TimedOut()
	}
}

// connectTimedOut gives up a handshake past the connect timeout, as an abort (RFC 9293
// 3.10.5): from SYN-SENT without a word, from SYN-RECEIVED (a simultaneous open) with a RST,
// as FreeBSD's tcp_drop.
func (c *Conn) connectTimedOut() {
	c.layer.stats.ConnectTimeouts++
	if c.state == SynReceived {
		c.sendReset(wire.RST)
	}
	c.abort(ErrTimeout)
}

// armFinWait2 bounds FIN-WAIT-2 once nobody can read from the connection: our policy, as
// Linux's, is that a peer that acknowledged our FIN but never sends its own is reset after
// Config.FinTimeout. A half-closed connection (CloseWrite) still open for reading waits as
// long as the peer likes (RFC 9293 3.6).
func (c *Conn) armFinWait2(now time.Time) {
	if c.state == FinWait2 && c.appClosed && !c.armed(waitTimer) {
		c.arm(waitTimer, now.Add(c.layer.cfg.FinTimeout))
	}
}

// finWait2TimedOut resets a closed connection whose peer never sent its FIN.
func (c *Conn) finWait2TimedOut() {
	c.layer.stats.FinWait2Timeouts++
	c.sendReset(wire.RST)
	c.abort(ErrTimeout)
}
