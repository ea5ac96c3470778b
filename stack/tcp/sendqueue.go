package tcp

import (
	"github.com/mtcp-go/mtcp/stack/wire"
)

// txSeg is one segment sent and not yet acknowledged: its place in sequence space, when it
// was last sent, and what the scoreboard knows of it (RFC 6675 2, RFC 8985 5.2).
type txSeg struct {
	xmit  instant // the last transmission (RFC 8985: Segment.xmit_ts)
	seq   wire.Seq
	len   uint32 // sequence space: the data, plus one for a FIN
	order uint32 // the last transmission's number in the connection's order of sending
	fin   bool
	flags txFlags
}

type txFlags uint8

const (
	segSacked        txFlags = 1 << iota // the peer SACKed it (RFC 2018)
	segLost                              // thought lost: to be sent again (RFC 6675 IsLost, RFC 8985)
	segRetransmitted                     // sent more than once (RFC 8985: Segment.retransmitted)
	segRxtInFlight                       // a retransmission of it is in the network (counts in pipe)
)

// end is the sequence number after the segment.
func (s *txSeg) end() wire.Seq { return s.seq.Add(s.len) }

// dataLen is the number of data bytes (the FIN takes no byte of the send buffer).
func (s *txSeg) dataLen() int {
	if s.fin {
		return int(s.len) - 1
	}
	return int(s.len)
}

func (s *txSeg) is(f txFlags) bool { return s.flags&f != 0 }

// sendQueue holds one txSeg per segment in flight, from SND.UNA to SND.NXT without gaps, in
// sequence order. It keeps the byte counts RFC 6675's pipe needs as flags change, so that no
// decision on the per-segment path walks the queue. Its storage is reused: a steady stream does
// not allocate.
type sendQueue struct {
	segs   []txSeg
	head   int
	sacked uint32 // bytes of SACKed segments
	lost   uint32 // bytes of segments thought lost and not SACKed
	rxt    uint32 // bytes of segments with a retransmission in flight, not SACKed
	resend uint32 // bytes of segments thought lost, not SACKed, with no retransmission in flight
	nSack  int32  // SACKed segments (RFC 8985: RACK.segs_sacked)
	sends  uint32 // transmissions so far: the next one's order is sends+1
}

// len returns the number of segments in flight.
func (q *sendQueue) len() int { return len(q.segs) - q.head }

// at returns the i-th segment from SND.UNA.
func (q *sendQueue) at(i int) *txSeg { return &q.segs[q.head+i] }

// last returns the segment sent last in sequence (nil when the queue is empty).
func (q *sendQueue) last() *txSeg {
	if q.len() == 0 {
		return nil
	}
	return &q.segs[len(q.segs)-1]
}

// push appends a segment sent for the first time.
func (q *sendQueue) push(s txSeg) {
	if q.head > 0 && len(q.segs) == cap(q.segs) {
		n := copy(q.segs, q.segs[q.head:])
		q.segs, q.head = q.segs[:n], 0
	}
	if q.segs == nil {
		q.segs = make([]txSeg, 0, 8) // not 1, 2, 4: a short exchange allocates once
	}
	q.segs = append(q.segs, s)
}

// find returns the index of the segment holding seq, or -1.
func (q *sendQueue) find(seq wire.Seq) int {
	lo, hi := 0, q.len()
	for lo < hi {
		m := (lo + hi) / 2
		if q.at(m).end().LessThanEq(seq) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < q.len() && q.at(lo).seq.LessThanEq(seq) {
		return lo
	}
	return -1
}

// setFlag and clearFlag change a segment's flags and keep the counts right.
func (q *sendQueue) setFlag(i int, f txFlags) {
	s := q.at(i)
	if s.flags&f == f {
		return
	}
	q.uncount(s)
	s.flags |= f
	q.count(s)
}

func (q *sendQueue) clearFlag(i int, f txFlags) {
	s := q.at(i)
	if s.flags&f == 0 {
		return
	}
	q.uncount(s)
	s.flags &^= f
	q.count(s)
}

// sack marks segment i SACKed: it is neither lost nor in flight any more.
func (q *sendQueue) sack(i int) {
	s := q.at(i)
	q.uncount(s)
	s.flags = s.flags&^(segLost|segRxtInFlight) | segSacked
	q.count(s)
}

func (q *sendQueue) count(s *txSeg) {
	switch {
	case s.is(segSacked):
		q.sacked += s.len
		q.nSack++
	default:
		if s.is(segLost) {
			q.lost += s.len
			if !s.is(segRxtInFlight) {
				q.resend += s.len
			}
		}
		if s.is(segRxtInFlight) {
			q.rxt += s.len
		}
	}
}

func (q *sendQueue) uncount(s *txSeg) {
	switch {
	case s.is(segSacked):
		q.sacked -= s.len
		q.nSack--
	default:
		if s.is(segLost) {
			q.lost -= s.len
			if !s.is(segRxtInFlight) {
				q.resend -= s.len
			}
		}
		if s.is(segRxtInFlight) {
			q.rxt -= s.len
		}
	}
}

// popFront removes the first segment (acknowledged).
func (q *sendQueue) popFront() {
	q.uncount(q.at(0))
	q.head++
	if q.head == len(q.segs) {
		q.segs, q.head = q.segs[:0], 0
	}
}

// trimFront cuts the first n bytes of sequence space from the first segment (a cumulative ACK
// that ends inside it).
func (q *sendQueue) trimFront(n uint32) {
	s := q.at(0)
	q.uncount(s)
	s.seq, s.len = s.seq.Add(n), s.len-n
	q.count(s)
}

// split cuts segment i in two after n bytes of data, both halves keeping its flags and time:
// a retransmission must fit a smaller MSS (RFC 1191).
func (q *sendQueue) split(i int, n uint32) {
	s := *q.at(i)
	q.uncount(q.at(i))
	first, second := s, s
	first.len, first.fin = n, false
	second.seq, second.len = s.seq.Add(n), s.len-n
	idx := q.head + i
	q.segs = append(q.segs, txSeg{})
	copy(q.segs[idx+2:], q.segs[idx+1:])
	q.segs[idx], q.segs[idx+1] = first, second
	q.count(q.at(i))
	q.count(q.at(i + 1))
}

// mergeNext joins segment i+1 into segment i: two small segments go again as one (as
// Linux's tcp_retrans_try_collapse). Both must have the same flags.
func (q *sendQueue) mergeNext(i int) {
	a, b := q.at(i), q.at(i+1)
	q.uncount(a)
	q.uncount(b)
	a.len += b.len
	a.fin = b.fin
	idx := q.head + i + 1
	q.segs = append(q.segs[:idx], q.segs[idx+1:]...)
	q.count(q.at(i))
}

// clearSacks forgets every SACK mark (RFC 2018 8, after a retransmission timeout).
func (q *sendQueue) clearSacks() {
	for i := range q.len() {
		q.clearFlag(i, segSacked)
	}
}

// release drops everything, storage included.
func (q *sendQueue) release() { *q = sendQueue{} }
