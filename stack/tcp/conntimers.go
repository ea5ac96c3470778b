package tcp

import (
	"math/bits"
	"time"

	"github.com/mtcp-go/mtcp/stack/timer"
)

// timerKind names one of a connection's timers.
type timerKind uint8

const (
	rtxTimer     timerKind = iota // retransmission (RFC 6298)
	delackTimer                   // delayed ACK (RFC 1122 4.2.3.2)
	persistTimer                  // zero-window probe (RFC 9293 3.8.6.1)
	keepTimer                     // keepalive (RFC 1122 4.2.3.6)
	probeTimer                    // RACK-TLP's probe timeout (RFC 8985 7)
	reoTimer                      // RACK's reordering window (RFC 8985 6.2)
	// waitTimer bounds how long the connection may wait in a state: the handshake of an
	// active open (the connect timeout), FIN-WAIT-2 after Close (Config.FinTimeout).
	waitTimer
	numTimers
)

// timerFuncs are what each timer runs when it fires; now is its deadline.
var timerFuncs = [numTimers]func(*Conn, time.Time){
	rtxTimer:     (*Conn).rtxFired,
	delackTimer:  (*Conn).delackFired,
	persistTimer: (*Conn).persistFired,
	keepTimer:    (*Conn).keepFired,
	probeTimer:   (*Conn).probeFired,
	reoTimer:     (*Conn).reorderFired,
	waitTimer:    (*Conn).waitFired,
}

// connTimers are a connection's timers. They share one entry of the core's timer heap, armed
// no later than the earliest of them: a connection costs the heap one entry and one closure,
// not one per timer, and a timer moved later (the retransmission timer, at every ACK) costs
// no heap operation; the entry fires early, finds nothing due and re-arms for what is. Timers
// due at the same instant fire in the order they were armed, as the heap's own timers do.
type connTimers struct {
	entry timer.Timer
	due   [numTimers]instant
	seq   [numTimers]uint32 // arming order, for timers due at the same instant
	next  uint32            // the next arming's seq
	armed uint8             // bit k: timer k is armed
}

// arm (re-)arms timer k for at.
func (c *Conn) arm(k timerKind, at time.Time) {
	t := &c.tm
	t.due[k], t.seq[k] = c.layer.instantOf(at), t.next
	t.next++
	t.armed |= 1 << k
	if !t.entry.Armed() || c.timers().Before(&t.entry, at) {
		c.timers().Arm(&t.entry, at)
	}
}

// stop disarms timer k.
func (c *Conn) stop(k timerKind) {
	t := &c.tm
	t.armed &^= 1 << k
	if t.armed == 0 {
		c.timers().Stop(&t.entry)
	}
}

// stopTimers disarms every timer of the connection.
func (c *Conn) stopTimers() {
	c.tm.armed = 0
	c.timers().Stop(&c.tm.entry)
}

// armed reports whether timer k is armed.
func (c *Conn) armed(k timerKind) bool { return c.tm.armed&(1<<k) != 0 }

// deadline returns when an armed timer k fires.
func (c *Conn) deadline(k timerKind) time.Time { return c.layer.timeAt(c.tm.due[k]) }

// earliest returns the armed timer that fires first (ties: the one armed first); t.armed is
// not 0.
func (t *connTimers) earliest() timerKind {
	best := timerKind(bits.TrailingZeros8(t.armed))
	for k := best + 1; k < numTimers; k++ {
		if t.armed&(1<<k) == 0 {
			continue
		}
		if t.due[k] < t.due[best] || t.due[k] == t.due[best] && int32(t.seq[k]-t.seq[best]) < 0 {
			best = k
		}
	}
	return best
}

// timersFired is the heap entry's function: it runs, in order, the timers due by now (the
// entry's deadline), including any they arm for now, then re-arms the entry for the next.
func (c *Conn) timersFired(now time.Time) {
	t := &c.tm
	limit := c.layer.instant(now)
	for t.armed != 0 {
		k := t.earliest()
		if t.due[k] > limit {
			break
		}
		t.armed &^= 1 << k
		timerFuncs[k](c, c.layer.timeAt(t.due[k]))
	}
	if t.armed == 0 {
		c.timers().Stop(&t.entry)
		return
	}
	if at := c.layer.timeAt(t.due[t.earliest()]); !t.entry.Armed() || !at.Equal(c.timers().Deadline(&t.entry)) {
		c.timers().Arm(&t.entry, at)
	}
}

// instant is a time kept by a connection: nanoseconds after the layer's epoch, in 8 bytes
// where a time.Time takes 24, on the clock's monotonic reading when it has one. The epoch is a
// second before the layer's first reading of the clock, so that 0 can mean never.
type instant int64

// instant returns t as an instant. The last conversion is kept: the calls for one segment
// (its timers, its transmission times, its RTT) mostly convert the same now, and time.Time's
// Sub, monotonic or not, costs more than comparing three words.
func (l *Layer) instant(t time.Time) instant {
	if t == l.lastTime {
		return l.lastInstant
	}
	if l.epoch.IsZero() {
		l.epoch = l.now().Add(-time.Second)
	}
	i := instant(t.Sub(l.epoch))
	l.lastTime, l.lastInstant = t, i
	return i
}

// timeAt is instant's inverse; the zero time for never.
func (l *Layer) timeAt(i instant) time.Time {
	if i == 0 {
		return time.Time{}
	}
	return l.epoch.Add(time.Duration(i))
}

// instantOf returns a deadline as an instant. Unlike instant, it leaves the kept conversion
// alone: that is now's, which the calls around an arming convert again.
func (l *Layer) instantOf(t time.Time) instant {
	if l.epoch.IsZero() {
		l.epoch = l.now().Add(-time.Second)
	}
	return instant(t.Sub(l.epoch))
}

// since returns how long before now i was.
func (l *Layer) since(now time.Time, i instant) time.Duration {
	return time.Duration(l.instant(now) - i)
}
