package tcp

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// bytesOf returns a copy of everything q holds.
func bytesOf(q *buffer) []byte {
	p := make([]byte, q.Len())
	q.copyTo(p)
	return p
}

// The ring gives what a plain byte queue gives, whatever the mix of writes, reads, discards
// and peeks, across wraps and growth.
func TestBufferActsAsAQueue(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for round := range 200 {
		var q buffer
		var ref []byte
		next := byte(0)
		for step := range 400 {
			switch op := r.IntN(4); {
			case op == 0 || q.Len() == 0:
				p := make([]byte, r.IntN(3000))
				for i := range p {
					p[i], next = next, next+1
				}
				q.Write(p)
				ref = append(ref, p...)
			case op == 1:
				p := make([]byte, r.IntN(q.Len()+10))
				n := q.Read(p)
				if want := min(len(p), len(ref)); n != want || !bytes.Equal(p[:n], ref[:n]) {
					t.Fatalf("round %d step %d: Read %d bytes, want %d, or different bytes", round, step, n, want)
				}
				ref = ref[n:]
			case op == 2:
				n := r.IntN(q.Len() + 1)
				q.Discard(n)
				ref = ref[n:]
			default:
				off := r.IntN(q.Len())
				n := r.IntN(q.Len() - off + 1)
				a, b := q.Peek(off, n)
				if got := append(append([]byte(nil), a...), b...); !bytes.Equal(got, ref[off:off+n]) {
					t.Fatalf("round %d step %d: Peek(%d, %d) differs", round, step, off, n)
				}
			}
			if q.Len() != len(ref) || !bytes.Equal(bytesOf(&q), ref) {
				t.Fatalf("round %d step %d: holds %d bytes, want %d, or different bytes", round, step, q.Len(), len(ref))
			}
		}
	}
}

// A steady stream through a ring that has room allocates nothing.
func TestBufferSteadyStreamDoesNotAllocate(t *testing.T) {
	var q buffer
	chunk, out := make([]byte, 1448), make([]byte, 1000)
	q.Write(make([]byte, 64<<10))
	q.Discard(q.Len())
	allocs := testing.AllocsPerRun(1000, func() {
		q.Write(chunk)
		for q.Len() > 0 {
			q.Read(out)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per write and read, want 0", allocs)
	}
}
