package tcp

import (
	"slices"
	"sync"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// reassembly holds data that arrived out of order (RFC 9293 3.10.7.4, seventh step: "segments
// with higher beginning sequence numbers ... held for later processing"), and the peer's FIN
// when it came before the data in front of it.
//
// The bytes live in pages of 4 KiB keyed by sequence number, written once where they belong,
// so a byte is held once however often it arrives and nothing is copied again until it goes
// to the receive buffer. What is held is a sorted list of disjoint ranges, neighbours merged:
// one range per stretch between holes, found by binary search. The list is bounded by
// maxRanges: past it the highest ranges are given up (the peer sends them again; RFC 2018 8
// allows the receiver to discard what it SACKed), as Linux prunes its out-of-order queue from
// the far end. So a segment costs O(log n) to place, plus a move of at most maxRanges small
// entries, and the bytes held are bounded by the receive window.
type reassembly struct {
	ranges []seqRange
	pages  map[uint32]*[pageSize]byte // by sequence number >> pageShift
	bytes  int
	fin    bool     // a FIN arrived out of order
	finSeq wire.Seq // its sequence number: where the data ends
}

// pages are the reassembly pages no connection holds, for the next out-of-order data: under
// loss every hole holds up to a window of pages, and taking them anew each time would cost
// the allocation, the zeroing and the collector's work. A page is written before it is read,
// so a reused page needs no clearing; the pool lets go of pages nobody asked for.
var pages = sync.Pool{New: func() any { return new([pageSize]byte) }}

// recycle returns every page to the pool; r holds nothing after.
func (r *reassembly) recycle() {
	for _, p := range r.pages {
		pages.Put(p)
	}
	*r = reassembly{}
}

// seqRange is a stretch of held bytes, [start, end).
type seqRange struct{ start, end wire.Seq }

func (r seqRange) len() int { return int(r.end.Sub(r.start)) }

const (
	pageShift = 12
	pageSize  = 1 << pageShift
	// maxRanges bounds the stretches held between holes: a peer sending one byte in two
	// cannot make the list long.
	maxRanges = 1024
)

// search returns the index of the first range that ends at or after seq: every range before
// it lies wholly before seq, with a gap between.
func (r *reassembly) search(seq wire.Seq) int {
	i, _ := slices.BinarySearchFunc(r.ranges, seq, func(x seqRange, s wire.Seq) int {
		if x.end.LessThan(s) {
			return -1
		}
		return 1
	})
	return i
}

// insert holds data at seq, keeping only the bytes not held already. It returns the first
// stretch that was held already, for a D-SACK report (RFC 2883 4.1.2), and whether a stretch
// was given up (this one, or the highest) to stay within maxRanges.
func (r *reassembly) insert(seq wire.Seq, data []byte) (dup wire.SACKBlock, hasDup, pruned bool) {
	if r.fin { // nothing lies past the FIN
		if over := int(seq.Add(uint32(len(data))).Sub(r.finSeq)); over > 0 {
			data = data[:max(len(data)-over, 0)]
		}
	}
	if len(data) == 0 {
		return dup, false, false
	}
	end := seq.Add(uint32(len(data)))
	i := r.search(seq)
	// The ranges i..j-1 touch or overlap [seq, end): they merge with it into one.
	j := i
	for j < len(r.ranges) && r.ranges[j].start.LessThanEq(end) {
		j++
	}
	if i == j && len(r.ranges) >= maxRanges {
		// A new stretch and no room: the highest goes, unless the new one is the highest.
		if i == len(r.ranges) {
			return dup, false, true
		}
		r.dropLast()
		pruned = true
	}
	// Write the bytes in the gaps between the ranges it overlaps; note the first overlap.
	at := seq
	for k := i; k < j; k++ {
		x := r.ranges[k]
		if at.LessThan(x.start) {
			r.write(at, data[at.Sub(seq):x.start.Sub(seq)])
		}
		if lo, hi := seqMax(at, x.start), seqMin(end, x.end); lo.LessThan(hi) && !hasDup {
			dup, hasDup = wire.SACKBlock{Left: lo, Right: hi}, true
		}
		if x.end.GreaterThan(at) {
			at = x.end
		}
	}
	if at.LessThan(end) {
		r.write(at, data[at.Sub(seq):])
	}
	merged := seqRange{seq, end}
	if i < j {
		merged.start = seqMin(seq, r.ranges[i].start)
		merged.end = seqMax(end, r.ranges[j-1].end)
	}
	r.ranges = slices.Replace(r.ranges, i, j, merged)
	return dup, hasDup, pruned
}

// write copies data to its place in the pages and counts it held.
func (r *reassembly) write(seq wire.Seq, data []byte) {
	if r.pages == nil {
		r.pages = make(map[uint32]*[pageSize]byte)
	}
	r.bytes += len(data)
	for len(data) > 0 {
		key, off := uint32(seq)>>pageShift, uint32(seq)&(pageSize-1)
		p := r.pages[key]
		if p == nil {
			p = pages.Get().(*[pageSize]byte)
			r.pages[key] = p
		}
		n := copy(p[off:], data)
		seq, data = seq.Add(uint32(n)), data[n:]
	}
}

// read appends the held bytes [seq, end) to buf.
func (r *reassembly) read(seq, end wire.Seq, buf *buffer) {
	for seq.LessThan(end) {
		key, off := uint32(seq)>>pageShift, uint32(seq)&(pageSize-1)
		n := min(uint32(pageSize)-off, uint32(end.Sub(seq)))
		buf.Write(r.pages[key][off : off+n])
		seq = seq.Add(n)
	}
}

// free returns the pages that hold only bytes in [from, to) and nothing of the ranges left.
func (r *reassembly) free(from, to wire.Seq) {
	if !from.LessThan(to) {
		return
	}
	const keys = 1 << (32 - pageShift) // page keys wrap with the sequence numbers
	first := uint32(from) >> pageShift
	span := (uint32(to.Add(^uint32(0)))>>pageShift - first) % keys
	for k := range span + 1 {
		if key := (first + k) % keys; !r.pageInUse(key) {
			if p := r.pages[key]; p != nil {
				pages.Put(p)
				delete(r.pages, key)
			}
		}
	}
}

// pageInUse reports whether a range left holds bytes in page key.
func (r *reassembly) pageInUse(key uint32) bool {
	lo := wire.Seq(key << pageShift)
	hi := lo.Add(pageSize)
	i := r.search(lo)
	return i < len(r.ranges) && r.ranges[i].start.LessThan(hi) && r.ranges[i].end.GreaterThan(lo)
}

// dropLast gives up the highest range.
func (r *reassembly) dropLast() {
	x := r.ranges[len(r.ranges)-1]
	r.ranges = r.ranges[:len(r.ranges)-1]
	r.bytes -= x.len()
	r.free(x.start, x.end)
}

// pull moves the ranges that start at or before rcvNxt into buf, and returns the new RCV.NXT.
func (r *reassembly) pull(rcvNxt wire.Seq, buf *buffer) wire.Seq {
	n := 0
	for ; n < len(r.ranges) && r.ranges[n].start.LessThanEq(rcvNxt); n++ {
		x := r.ranges[n]
		r.bytes -= x.len()
		if x.end.GreaterThan(rcvNxt) {
			r.read(rcvNxt, x.end, buf)
			rcvNxt = x.end
		}
	}
	if n > 0 {
		from := r.ranges[0].start
		r.ranges = slices.Delete(r.ranges, 0, n)
		r.free(from, rcvNxt)
		if len(r.ranges) == 0 {
			r.ranges, r.pages = nil, nil
		}
	}
	return rcvNxt
}

// setFin notes a FIN that arrived before the data in front of it; data past it is dropped.
func (r *reassembly) setFin(seq wire.Seq) {
	if r.fin {
		return // the first FIN stands
	}
	r.fin, r.finSeq = true, seq
	for len(r.ranges) > 0 {
		last := &r.ranges[len(r.ranges)-1]
		switch {
		case last.end.LessThanEq(seq):
			return
		case last.start.GreaterThanEq(seq):
			r.dropLast()
		default:
			r.bytes -= int(last.end.Sub(seq))
			last.end = seq
			return
		}
	}
}

// blockAt returns the stretch of held data around seq, as a SACK block.
func (r *reassembly) blockAt(seq wire.Seq) (wire.SACKBlock, bool) {
	i := r.search(seq)
	if i == len(r.ranges) || seq.LessThan(r.ranges[i].start) || seq == r.ranges[i].end {
		return wire.SACKBlock{}, false
	}
	return wire.SACKBlock{Left: r.ranges[i].start, Right: r.ranges[i].end}, true
}

func seqMin(a, b wire.Seq) wire.Seq {
	if a.LessThan(b) {
		return a
	}
	return b
}

func seqMax(a, b wire.Seq) wire.Seq {
	if a.GreaterThan(b) {
		return a
	}
	return b
}
