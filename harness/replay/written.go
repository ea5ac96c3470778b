package replay

import (
	"bytes"
	"sort"
)

// writtenLog is what the application behind a conversation wrote, kept for comparing the
// stack's payloads with it (conv.checkPayload): the slices it wrote as they are, each the
// conversation's own copy of what the recorded host sent (conv.keep), not copied again into
// one buffer that grows by doubling as the stream goes (for a 1 MiB download that copied and
// cleared twice the download). Offsets are from its first byte still kept.
type writtenLog struct {
	chunks [][]byte
	starts []int64 // where each chunk begins, in bytes appended since the log began
	head   int64   // where offset 0 is: bytes appended and dropped since the log began
	end    int64   // bytes appended since the log began
}

// Len is the number of bytes kept.
func (w *writtenLog) Len() int { return int(w.end - w.head) }

// append adds p, which must not change from then on.
func (w *writtenLog) append(p []byte) {
	if len(p) == 0 {
		return
	}
	w.chunks = append(w.chunks, p)
	w.starts = append(w.starts, w.end)
	w.end += int64(len(p))
}

// drop forgets the first n bytes.
func (w *writtenLog) drop(n int) {
	w.head += int64(n)
	i := 0
	for i < len(w.chunks) && w.starts[i]+int64(len(w.chunks[i])) <= w.head {
		i++
	}
	if i > 0 {
		clear(w.chunks[:i])
		w.chunks, w.starts = w.chunks[i:], w.starts[i:]
	}
}

// reset forgets every byte.
func (w *writtenLog) reset() {
	w.head = w.end
	w.chunks, w.starts = nil, nil
}

// mismatch compares p with the bytes kept from offset off (0 <= off, off+len(p) <= Len) and
// returns the index of the first byte of p that differs, or -1.
func (w *writtenLog) mismatch(off int, p []byte) int {
	pos := w.head + int64(off)
	i := sort.Search(len(w.starts), func(i int) bool { return w.starts[i] > pos }) - 1
	done := 0
	for done < len(p) {
		c := w.chunks[i][pos-w.starts[i]:]
		n := min(len(c), len(p)-done)
		if !bytes.Equal(c[:n], p[done:done+n]) {
			k := 0
			for c[k] == p[done+k] {
				k++
			}
			return done + k
		}
		done += n
		pos += int64(n)
		i++
	}
	return -1
}

// bytes returns a copy of the bytes kept (for tests).
func (w *writtenLog) bytes() []byte {
	b := make([]byte, 0, w.Len())
	for i, c := range w.chunks {
		if skip := w.head - w.starts[i]; skip > 0 {
			c = c[skip:]
		}
		b = append(b, c...)
	}
	return b
}

// keep returns the conversation's own copy of p (a recorded payload, in a buffer the capture
// reader reuses), carved from a slab of its own: one allocation for many segments. The slabs
// grow with the stream (4 KiB, doubling to slabSize), so that a conversation pins little more
// than it holds, and are the conversation's alone, so that another's data never keeps them.
// Full-sized slabs of a conversation finished and judged are used again (freeSlabs).
func (c *conv) keep(p []byte) []byte {
	if len(p) > cap(c.slab)-len(c.slab) {
		size := min(max(2*cap(c.slab), 4<<10), slabSize)
		if len(p) > size {
			return append([]byte(nil), p...)
		}
		c.slab = nil
		if n := len(c.e.spareSlabs); size == slabSize && n > 0 {
			c.slab, c.e.spareSlabs = c.e.spareSlabs[n-1], c.e.spareSlabs[:n-1]
		} else {
			c.slab = make([]byte, 0, size)
		}
		if size == slabSize {
			c.slabs = append(c.slabs, c.slab)
		}
	}
	n := len(c.slab)
	c.slab = append(c.slab, p...)
	return c.slab[n : n+len(p) : n+len(p)]
}

// slabSize is the size of the slabs keep carves, once a conversation's stream has grown.
const slabSize = 64 << 10

// maxSpareSlabs bounds the slabs kept for use again: 4 MiB.
const maxSpareSlabs = 64

// freeSlabs gives the conversation's full-sized slabs back for use again, once it is finished
// and judged: nothing refers to them any more (its written log is reset, its writes done, and
// the stack copied what it was given). The application's writes are dropped with them.
func (c *conv) freeSlabs() {
	for _, s := range c.slabs {
		if len(c.e.spareSlabs) < maxSpareSlabs {
			c.e.spareSlabs = append(c.e.spareSlabs, s[:0])
		}
	}
	c.slabs, c.slab, c.writes = nil, nil, nil
}
