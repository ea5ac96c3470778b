package tcp

import (
	"slices"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// reassembly holds data that arrived out of order (RFC 9293 3.10.7.4, seventh step: "segments
// with higher beginning sequence numbers ... held for later processing"), and the peer's FIN
// when it came before the data in front of it. The pieces are sorted and never overlap, so a
// byte is held once however often it arrives; finding where a segment goes is a binary search.
type reassembly struct {
	segs   []oooSeg
	bytes  int
	fin    bool     // a FIN arrived out of order
	finSeq wire.Seq // its sequence number: where the data ends
}

type oooSeg struct {
	seq  wire.Seq
	data []byte
}

func (o *oooSeg) end() wire.Seq { return o.seq.Add(uint32(len(o.data))) }

// insert holds data at seq, keeping only the bytes not held already. It returns the first
// stretch that was held already, for a D-SACK report (RFC 2883 4.1.2).
func (r *reassembly) insert(seq wire.Seq, data []byte) (dup wire.SACKBlock, hasDup bool) {
	if r.fin { // nothing lies past the FIN
		if over := int(seq.Add(uint32(len(data))).Sub(r.finSeq)); over > 0 {
			data = data[:max(len(data)-over, 0)]
		}
	}
	if len(data) == 0 {
		return dup, false
	}
	end := seq.Add(uint32(len(data)))
	// The first piece that ends after seq: everything before it lies wholly before the data.
	i, _ := slices.BinarySearchFunc(r.segs, seq, func(o oooSeg, s wire.Seq) int {
		if o.end().LessThanEq(s) {
			return -1
		}
		return 1
	})
	j := i
	var merged []oooSeg
	for ; j < len(r.segs) && r.segs[j].seq.LessThan(end) && len(data) > 0; j++ {
		o := &r.segs[j]
		if seq.LessThan(o.seq) { // a gap before o: take the bytes that fill it
			n := int(o.seq.Sub(seq))
			merged = append(merged, oooSeg{seq, append([]byte(nil), data[:n]...)})
			r.bytes += n
			seq, data = o.seq, data[n:]
		}
		// The bytes that o holds already.
		n := min(int(o.end().Sub(seq)), len(data))
		if n > 0 && !hasDup {
			dup, hasDup = wire.SACKBlock{Left: seq, Right: seq.Add(uint32(n))}, true
		}
		seq, data = seq.Add(uint32(n)), data[n:]
		merged = append(merged, *o)
	}
	if len(data) > 0 {
		merged = append(merged, oooSeg{seq, append([]byte(nil), data...)})
		r.bytes += len(data)
	}
	r.segs = slices.Replace(r.segs, i, j, merged...)
	return dup, hasDup
}

// pull moves the pieces that start at or before rcvNxt into buf, and returns the new RCV.NXT.
func (r *reassembly) pull(rcvNxt wire.Seq, buf *buffer) wire.Seq {
	n := 0
	for ; n < len(r.segs) && r.segs[n].seq.LessThanEq(rcvNxt); n++ {
		o := &r.segs[n]
		r.bytes -= len(o.data)
		if skip := int(rcvNxt.Sub(o.seq)); skip < len(o.data) {
			buf.Write(o.data[skip:])
			rcvNxt = o.end()
		}
	}
	if n > 0 {
		r.segs = slices.Delete(r.segs, 0, n)
		if len(r.segs) == 0 {
			r.segs = nil
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
	for len(r.segs) > 0 {
		last := &r.segs[len(r.segs)-1]
		switch over := int(last.end().Sub(seq)); {
		case over <= 0:
			return
		case over >= len(last.data):
			r.bytes -= len(last.data)
			r.segs = r.segs[:len(r.segs)-1]
		default:
			r.bytes -= over
			last.data = last.data[:len(last.data)-over]
			return
		}
	}
}

// blockAt returns the contiguous stretch of held data around seq, as a SACK block.
func (r *reassembly) blockAt(seq wire.Seq) (wire.SACKBlock, bool) {
	i, _ := slices.BinarySearchFunc(r.segs, seq, func(o oooSeg, s wire.Seq) int {
		if o.end().LessThanEq(s) {
			return -1
		}
		return 1
	})
	if i == len(r.segs) || seq.LessThan(r.segs[i].seq) {
		return wire.SACKBlock{}, false
	}
	lo, hi := i, i
	for lo > 0 && r.segs[lo-1].end() == r.segs[lo].seq {
		lo--
	}
	for hi+1 < len(r.segs) && r.segs[hi].end() == r.segs[hi+1].seq {
		hi++
	}
	return wire.SACKBlock{Left: r.segs[lo].seq, Right: r.segs[hi].end()}, true
}

// release drops everything.
func (r *reassembly) release() { *r = reassembly{} }
