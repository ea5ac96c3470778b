package tcp

import (
	"time"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// Timestamps (RFC 7323 3-5): the TSval clock, TS.Recent and the PAWS test.

// timestamps is a connection's RFC 7323 state.
type timestamps struct {
	offset      uint32   // added to the clock: keyed per connection (RFC 7323 7.1)
	recent      uint32   // TS.Recent: the TSval to echo (RFC 7323 4.3)
	recentAge   instant  // when TS.Recent was last set (RFC 7323 5.5)
	lastAckSent wire.Seq // Last.ACK.sent: the ACK field of the last segment sent (RFC 7323 4.3)
}

// pawsIdle is RFC 7323 5.5's limit: a TS.Recent older than 24 days is no longer trusted, since
// the peer's clock (at 1 ms a tick at most) may have wrapped half its range since.
const pawsIdle = 24 * 24 * time.Hour

// tsAt is the TSval for time t: a millisecond clock (RFC 7323 5.4 asks for 1 ms to 1 s a tick)
// plus the connection's offset, so the value says nothing of the host's uptime and differs
// between connections (RFC 7323 7.1, keyed like the ISN of RFC 6528).
func (c *Conn) tsAt(t time.Time) uint32 { return uint32(t.UnixMilli()) + c.ts.offset }

// tsRecentValid reports whether TS.Recent may still be used at now (RFC 7323 5.5).
func (c *Conn) tsRecentValid(now time.Time) bool {
	return c.ts.recentAge != 0 && c.layer.since(now, c.ts.recentAge) <= pawsIdle
}

// pawsRejects is RFC 7323 5.3 R1: on a connection with timestamps, a non-RST segment whose
// TSval is older than TS.Recent is an old duplicate, to be acknowledged and dropped.
func (c *Conn) pawsRejects(now time.Time, s *segment) bool {
	if !c.tsOK || !s.opts.HasTimestamp || s.has(wire.RST) || !c.tsRecentValid(now) {
		return false
	}
	return int32(s.opts.TSVal-c.ts.recent) < 0
}

// updateTSRecent is RFC 7323 4.3 (2) and 5.3 R3, for a segment that passed the acceptability
// test and starts at segSeq (before trimming): TS.Recent takes SEG.TSval when it is not older
// and the segment starts at or before Last.ACK.sent. So a delayed ACK echoes the earliest
// unacknowledged segment's TSval, and out-of-order segments do not move TS.Recent: the
// segment that fills the hole does.
func (c *Conn) updateTSRecent(now time.Time, s *segment, segSeq wire.Seq) {
	if !c.tsOK || !s.opts.HasTimestamp {
		return
	}
	newer := int32(s.opts.TSVal-c.ts.recent) >= 0 || !c.tsRecentValid(now)
	if newer && segSeq.LessThanEq(c.ts.lastAckSent) {
		c.ts.recent, c.ts.recentAge = s.opts.TSVal, c.layer.instant(now)
	}
}

// tsRTT is RFC 7323 4.1's RTTM: the time since the TSval an ACK echoes. It reports false for
// an echo of 0 (none), or one that is not a plausible TSval of ours: in the future, or older
// than the longest RTO.
func (c *Conn) tsRTT(now time.Time, s *segment) (time.Duration, bool) {
	if !c.tsOK || !s.opts.HasTimestamp || s.opts.TSEcr == 0 {
		return 0, false
	}
	ms := int32(c.tsAt(now) - s.opts.TSEcr)
	d := time.Duration(ms) * time.Millisecond
	if ms < 0 || d > c.layer.cfg.RTOMax {
		return 0, false
	}
	return d, true
}
