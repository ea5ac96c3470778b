package tcp

import (
	"net/netip"
	"time"

	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/wire"
)

// TIME-WAIT (RFC 9293 3.10.7.4, RFC 1337, RFC 6191) is kept apart from the connection table:
// a connection that enters it leaves the table and a compact record (about 50 bytes with its
// key) remembers what TIME-WAIT needs: the two sequence numbers, the window last advertised,
// the timestamps to echo and check, and when it ends. So a busy server's closed connections do
// not count against MaxConnections; MaxTimeWait bounds them instead, and when it is reached the
// oldest record goes first (Stats.TimeWaitEvicted), as Linux does past tcp_max_tw_buckets.

// twEntry is one connection in TIME-WAIT.
type twEntry struct {
	sndNxt, rcvNxt     wire.Seq
	tsOffset, tsRecent uint32
	ends, lastAck      int64  // Unix nanoseconds: end of 2·MSL; the last ACK sent, for the 500 ms limit
	wnd                uint16 // the window field last sent
	wscale             uint8  // our window scale
	tsOK               bool
}

// twRecord queues an entry for the end of its 2·MSL. Each entry has one record: a restart
// (the peer's FIN again) only moves the entry's end, and its record goes to the back of the
// queue when it reaches the front, so a peer repeating its FIN cannot grow the queue. (A
// restarted entry may so end a little after 2·MSL: never before.)
type twRecord struct {
	key  fourTuple
	e    *twEntry
	ends int64 // e.ends when the record was queued
}

// timeWait is the layer's table of TIME-WAIT entries.
type timeWait struct {
	entries map[fourTuple]*twEntry
	order   []twRecord // in the order the entries are due; order[head:] is live
	head    int
}

// TimeWaits returns the connections in TIME-WAIT.
func (l *Layer) TimeWaits() int { return len(l.tw.entries) }

// EachConn calls f for every connection the layer keeps state for, as netstat lists them:
// the connection table (SYN-RECEIVED included) and the TIME-WAIT entries, in no set order.
func (l *Layer) EachConn(f func(local, remote netip.AddrPort, s State)) {
	for t, c := range l.conns {
		f(t.local(), t.remote(), c.State())
	}
	for k := range l.tw.entries {
		f(k.local(), k.remote(), TimeWait)
	}
}

// enterTimeWait moves c to TIME-WAIT for 2·MSL (RFC 9293 3.10.7.4). The ACK the move owes
// the peer goes first; then the connection leaves the table for a TIME-WAIT entry.
func (c *Conn) enterTimeWait(now time.Time) {
	if c.ackNow {
		c.sendAck()
	}
	l := c.layer
	e := &twEntry{
		sndNxt: c.sndNxt, rcvNxt: c.rcvNxt, tsOffset: c.ts.offset, tsRecent: c.ts.recent,
		wnd: c.windowField(), wscale: c.rcvWScale, tsOK: c.tsOK,
	}
	c.release()
	c.setState(TimeWait)
	if l.conns[c.tuple] == c {
		delete(l.conns, c.tuple)
	}
	if len(l.tw.entries) >= l.cfg.MaxTimeWait {
		l.evictTimeWait()
	}
	k := c.tuple
	l.tw.entries[k] = e
	l.restartTimeWait(now, e)
	l.tw.order = append(l.tw.order, twRecord{k, e, e.ends})
	if !l.twTimer.Armed() {
		l.timers().Arm(&l.twTimer, time.Unix(0, e.ends))
	}
}

// restartTimeWait starts e's 2·MSL from now.
func (l *Layer) restartTimeWait(now time.Time, e *twEntry) {
	e.ends = now.Add(2 * l.cfg.MSL).UnixNano()
}

// timeWaitFired ends the entries whose 2·MSL is over.
func (l *Layer) timeWaitFired(now time.Time) {
	t := &l.tw
	for t.head < len(t.order) {
		r := t.order[t.head]
		switch {
		case t.entries[r.key] != r.e: // ended already
			t.head++
		case r.e.ends != r.ends: // restarted: to the back of the queue
			t.head++
			t.order = append(t.order, twRecord{r.key, r.e, r.e.ends})
		case r.ends > now.UnixNano():
			l.timers().Arm(&l.twTimer, time.Unix(0, r.ends))
			l.compactTimeWait()
			return
		default:
			t.head++
			l.endTimeWait(r.key, r.e)
		}
	}
	l.compactTimeWait()
}

// evictTimeWait ends the oldest entry to make room for a new one.
func (l *Layer) evictTimeWait() {
	t := &l.tw
	for t.head < len(t.order) {
		r := t.order[t.head]
		t.head++
		if t.entries[r.key] == r.e {
			l.stats.TimeWaitEvicted++
			l.endTimeWait(r.key, r.e)
			break
		}
	}
	l.compactTimeWait()
}

// compactTimeWait drops the records before head once they are most of the slice.
func (l *Layer) compactTimeWait() {
	t := &l.tw
	if t.head > 64 && t.head*2 > len(t.order) {
		t.order = append(t.order[:0], t.order[t.head:]...)
		t.head = 0
	}
	if len(t.entries) == 0 {
		t.order, t.head = t.order[:0], 0
		l.timers().Stop(&l.twTimer)
	}
}

// endTimeWait deletes an entry: the connection is CLOSED.
func (l *Layer) endTimeWait(k fourTuple, e *twEntry) {
	delete(l.tw.entries, k)
	l.stats.ConnectionsClosed++
}

// inTimeWait reports whether c, which entered TIME-WAIT, is there still: whether its entry,
// same tuple and same sequence numbers, is in the table. The entry does not point back to
// the connection (which the application may hold or drop, and which is freed as soon as it
// drops it): Conn.State asks here instead, and says CLOSED once the entry is gone.
func (l *Layer) inTimeWait(c *Conn) bool {
	e := l.tw.entries[c.tuple]
	return e != nil && e.sndNxt == c.sndNxt && e.rcvNxt == c.rcvNxt
}

// timeWaitArrives handles a segment for a connection in TIME-WAIT.
func (l *Layer) timeWaitArrives(now time.Time, k fourTuple, e *twEntry, s *segment) {
	// A SYN may open a new incarnation of the connection (RFC 1122 4.2.2.13, RFC 6191): when
	// both incarnations use timestamps, if its TSval is newer than TS.Recent; otherwise if its
	// sequence number is beyond RCV.NXT. TIME-WAIT ends only if the listener takes the new
	// connection; if it cannot (its accept queue is full), TIME-WAIT stays and the SYN is
	// dropped, as RFC 6191 2 says of a SYN it does not honour. A SYN that fails the test, or
	// carries a FIN the listener would drop (Config.SynFin), draws a challenge ACK (RFC 5961
	// 4.2), or with Config.SYNChallenge off a RST if it is in the window (RFC 793 3.9).
	synFin := s.flags&(wire.SYN|wire.FIN) == wire.SYN|wire.FIN
	if s.flags&(wire.SYN|wire.ACK|wire.RST) == wire.SYN && (!synFin || l.cfg.SynFin == SynFinAccept) {
		var newer bool
		if e.tsOK && s.opts.HasTimestamp && l.cfg.Timestamps == On {
			newer = int32(s.opts.TSVal-e.tsRecent) > 0
		} else {
			newer = s.seq.GreaterThan(e.rcvNxt)
		}
		if ln := l.listeners[k.localPort]; newer && ln != nil {
			if ln.admit() {
				l.stats.TimeWaitReused++
				l.endTimeWait(k, e)
				ln.synAdmitted(now, s)
			}
			return
		}
	}
	wnd := uint32(e.wnd) << e.wscale
	paws := e.tsOK && s.opts.HasTimestamp && int32(s.opts.TSVal-e.tsRecent) < 0 // RFC 7323 5.3 R1
	switch {
	case s.has(wire.RST): // RFC 1337: ignored
		l.stats.ResetsIn++
		return
	case s.has(wire.SYN) && l.cfg.SYNChallenge == Off && !paws && wnd > 0 && s.seq.InWindow(e.rcvNxt, wnd):
		l.timeWaitReset(k, e)
		return
	case s.has(wire.SYN): // a challenge ACK (RFC 5961 4.2), within both limits
		if e.ackedWithin(now) {
			l.stats.ChallengeLimited++
		} else if l.allowChallenge(now) {
			l.timeWaitAck(now, k, e)
		}
		return
	case !s.has(wire.ACK):
		l.stats.NoACK++
		return
	case e.tsOK && !s.opts.HasTimestamp && !l.cfg.TolerateMissingTimestamps:
		l.stats.NoTimestamp++
		return
	case paws:
		l.stats.PAWSRejects++
		l.timeWaitOOWAck(now, k, e)
		return
	}
	end := s.seq.Add(s.seqLen())
	inWindow := s.seq.InWindow(e.rcvNxt, max(wnd, 1))
	if e.tsOK && s.opts.HasTimestamp && s.seq.LessThanEq(e.rcvNxt) && (inWindow || end == e.rcvNxt) {
		e.tsRecent = s.opts.TSVal // RFC 7323 4.3: the newest acceptable timestamp is echoed
	}
	switch {
	case s.has(wire.FIN) && (end == e.rcvNxt || inWindow):
		// The peer's FIN again (its ACK of ours was lost, or our ACK of its FIN was), or any
		// acceptable FIN: acknowledged, and 2·MSL starts again (RFC 9293 3.10.7.4, eighth step).
		l.timeWaitAck(now, k, e)
		l.restartTimeWait(now, e)
	case len(s.data) > 0 || s.seq != e.rcvNxt || s.has(wire.FIN) || s.ack.GreaterThan(e.sndNxt):
		// Data, an old or a future sequence number, or an ACK of what we never sent means the
		// peer has not seen our ACK of its FIN. Our policy, as Linux and FreeBSD: an ACK, at
		// most one per 500 ms (RFC 9293 would ACK only the unacceptable ones).
		l.timeWaitOOWAck(now, k, e)
	}
	// A bare ACK at RCV.NXT is the ACK of our FIN again: nothing to say.
}

// ackedWithin reports whether the entry sent an ACK less than oowInterval ago: its limit on
// ACKs for bad segments and on challenge ACKs, as a connection's (Conn.oowAck, challengeAck).
func (e *twEntry) ackedWithin(now time.Time) bool {
	return e.lastAck != 0 && now.UnixNano()-e.lastAck < int64(oowInterval)
}

// timeWaitOOWAck sends the entry's ACK unless one went in the last 500 ms.
func (l *Layer) timeWaitOOWAck(now time.Time, k fourTuple, e *twEntry) {
	if e.ackedWithin(now) {
		l.stats.OutOfWindowACKs++
		return
	}
	l.timeWaitAck(now, k, e)
}

// timeWaitReset ends the entry with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>: RFC 793 3.9's
// answer to a SYN in the window (Config.SYNChallenge off).
func (l *Layer) timeWaitReset(k fourTuple, e *twEntry) {
	f := wire.TCPFields{
		SourcePort: k.localPort, DestinationPort: k.remotePort,
		SeqNum: e.sndNxt, AckNum: e.rcvNxt, Flags: wire.RST | wire.ACK,
	}
	if e.tsOK {
		f.Options.HasTimestamp, f.Options.TSVal, f.Options.TSEcr = true, uint32(l.now().UnixMilli())+e.tsOffset, e.tsRecent
	}
	l.stats.ResetsOut++
	l.send(k, &f, nil, ipv4.SendOptions{DontFragment: l.cfg.PMTUD == On})
	l.endTimeWait(k, e)
}

// timeWaitAck sends <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> with the window last advertised.
func (l *Layer) timeWaitAck(now time.Time, k fourTuple, e *twEntry) {
	e.lastAck = now.UnixNano()
	f := wire.TCPFields{
		SourcePort: k.localPort, DestinationPort: k.remotePort,
		SeqNum: e.sndNxt, AckNum: e.rcvNxt, Flags: wire.ACK, WindowSize: e.wnd,
	}
	if e.tsOK {
		f.Options.HasTimestamp, f.Options.TSVal, f.Options.TSEcr = true, uint32(now.UnixMilli())+e.tsOffset, e.tsRecent
	}
	l.send(k, &f, nil, ipv4.SendOptions{DontFragment: l.cfg.PMTUD == On})
}
