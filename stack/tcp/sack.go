package tcp

import (
	"time"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// The receiving side of SACK (RFC 2018 4, RFC 2883).

// oooState is what a connection keeps once data arrives out of order or twice: the
// reassembly queue and the SACK blocks to report. It is made for the first such segment: most
// connections never need it.
type oooState struct {
	q      reassembly
	report sackReport
}

// outOfOrder returns the connection's oooState, made if it has none.
func (c *Conn) outOfOrder() *oooState {
	if c.ooo == nil {
		c.ooo = new(oooState)
	}
	return c.ooo
}

// oooBytes is how much data is held out of order.
func (c *Conn) oooBytes() int {
	if c.ooo == nil {
		return 0
	}
	return c.ooo.q.bytes
}

// sackReport is what this end reports in its SACK options: the blocks of out-of-order data it
// holds, the one that changed last first, and a duplicate block to report once.
type sackReport struct {
	blocks   [4]wire.SACKBlock // most recently changed first (RFC 2018 4)
	n        int
	dsack    wire.SACKBlock // RFC 2883: a duplicate segment, reported in the next ACK only
	hasDSACK bool
}

// noteOutOfOrder records that data arrived at seq, out of order: the block holding it goes
// first in the next SACK option, the others follow in the order they were last reported
// (RFC 2018 4: "the first SACK block MUST specify the contiguous block of data containing the
// segment which triggered this ACK").
func (c *Conn) noteOutOfOrder(seq wire.Seq) {
	if !c.sackOK {
		return
	}
	o := c.outOfOrder()
	b, ok := o.q.blockAt(seq)
	if !ok {
		return
	}
	o.report.promote(b)
}

// promote puts b first, dropping the blocks it covers.
func (r *sackReport) promote(b wire.SACKBlock) {
	out := [4]wire.SACKBlock{b}
	n := 1
	for _, old := range r.blocks[:r.n] {
		if n < len(out) && !(b.Left.LessThanEq(old.Left) && old.Right.LessThanEq(b.Right)) {
			out[n] = old
			n++
		}
	}
	r.blocks, r.n = out, n
}

// noteDuplicate records that the bytes [left, right) arrived again, for a D-SACK block in the
// next ACK (RFC 2883 4). When they lie in a block of out-of-order data, that block follows the
// D-SACK block (RFC 2883 4: the second block says which block the duplicate belongs to).
func (c *Conn) noteDuplicate(left, right wire.Seq) {
	if !c.sackOK || !left.LessThan(right) {
		return
	}
	o := c.outOfOrder()
	o.report.dsack, o.report.hasDSACK = wire.SACKBlock{Left: left, Right: right}, true
	if b, ok := o.q.blockAt(left); ok {
		o.report.promote(b)
	}
	c.ackNow = true // the sender learns at once that it sent something twice
}

// sackBlocks returns the blocks for the next segment: the D-SACK block, then the blocks of
// data held out of order, refreshed (a block that grew is reported whole, one delivered in
// order is dropped), as many as fit beside the other options (RFC 2018 3).
func (c *Conn) sackBlocks() (blocks [4]wire.SACKBlock, n int) {
	if !c.sackOK || c.ooo == nil {
		return blocks, 0
	}
	room := 4
	if c.tsOK {
		room = 3 // 40 bytes of options: 12 of timestamps, 2 + 8 per block
	}
	r := &c.ooo.report
	if r.hasDSACK {
		blocks[0], n = r.dsack, 1
	}
	kept := 0
	for _, b := range r.blocks[:r.n] {
		cur, ok := c.ooo.q.blockAt(b.Left)
		if !ok || cur.Right.LessThanEq(c.rcvNxt) {
			continue
		}
		dup := false
		for _, k := range r.blocks[:kept] {
			if k == cur {
				dup = true
			}
		}
		if dup {
			continue
		}
		r.blocks[kept] = cur
		kept++
	}
	r.n = kept
	for _, b := range r.blocks[:r.n] {
		if n == room {
			break
		}
		blocks[n] = b
		n++
	}
	return blocks, n
}

// sackOptionLen is how many option bytes the next segment's SACK blocks take (RFC 6691: the
// data shrinks by as much).
func (c *Conn) sackOptionLen() int {
	if !c.sackOK || c.ooo == nil || (c.ooo.report.n == 0 && !c.ooo.report.hasDSACK) {
		return 0
	}
	_, n := c.sackBlocks()
	if n == 0 {
		return 0
	}
	return 4 + 8*n
}

// dataRoom is how much data the next segment takes: SMSS less its SACK blocks, and at least a
// byte (on a link too small for both, the blocks give way when the segment is built).
func (c *Conn) dataRoom() int { return max(c.smss()-c.sackOptionLen(), 1) }

// The sending side of SACK: the scoreboard (RFC 6675 4's Update()).

// takeSACK applies the SACK blocks of an arriving ACK to the scoreboard, after the cumulative
// ACK. Blocks that are reversed, or reach outside SND.UNA..SND.NXT, are ignored (RFC 2018 says
// nothing of them; believing them could only corrupt the scoreboard). A first block below the
// cumulative ACK, or inside the second block, is a D-SACK (RFC 2883 4): it marks nothing. It
// reports whether new data was SACKed and whether a D-SACK came.
func (c *Conn) takeSACK(now time.Time, s *segment) (newlySacked, dsack bool) {
	o := &s.opts
	for k, b := range o.SACKBlocks[:o.NumSACKBlocks] {
		if !b.Left.LessThan(b.Right) {
			c.layer.stats.BadSACKBlocks++
			continue
		}
		if k == 0 && (b.Right.LessThanEq(s.ack) ||
			o.NumSACKBlocks > 1 && o.SACKBlocks[1].Left.LessThanEq(b.Left) && b.Right.LessThanEq(o.SACKBlocks[1].Right)) {
			dsack = true
			c.layer.stats.DSACKsIn++
			c.rackState().sawDSACK(b)
			continue
		}
		if b.Left.LessThan(c.sndUna) || b.Right.GreaterThan(c.sndNxt) {
			c.layer.stats.BadSACKBlocks++
			continue
		}
		c.layer.stats.SACKBlocksIn++
		// The segments wholly inside the block. A block that covers part of a segment leaves
		// it unmarked: the segment is sent again whole if it is lost.
		i := c.sent.find(b.Left)
		if i < 0 {
			continue
		}
		if c.sent.at(i).seq != b.Left {
			i++
		}
		for ; i < c.sent.len() && c.sent.at(i).end().LessThanEq(b.Right); i++ {
			if c.sent.at(i).is(segSacked) {
				continue
			}
			c.sent.sack(i)
			c.counts.delivered++
			c.rackDelivered(now, c.sent.at(i), s)
			newlySacked = true
		}
	}
	return newlySacked, dsack
}

// markLostBySACK is RFC 6675 4's IsLost() for every segment, used when RACK is off: a segment
// is lost when DupThresh segments, or more than (DupThresh-1)·SMSS bytes, above it were
// SACKed. It walks down from the highest segment, counting what was SACKed above.
func (c *Conn) markLostBySACK() {
	var bytes uint32
	segs := 0
	smss := uint32(c.smss())
	for i := c.sent.len() - 1; i >= 0; i-- {
		s := c.sent.at(i)
		switch {
		case s.is(segSacked):
			bytes += s.len
			segs++
		case segs >= dupThresh || bytes > (dupThresh-1)*smss:
			if !s.is(segLost) && !s.is(segRetransmitted) {
				c.sent.setFlag(i, segLost)
			}
		}
	}
}
