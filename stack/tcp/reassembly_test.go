package tcp

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// checkRanges verifies the queue's invariants: ranges sorted, disjoint and not touching
// (neighbours merged), within maxRanges, and bytes equal to their total.
func checkRanges(t *testing.T, r *reassembly) {
	t.Helper()
	total := 0
	for i, x := range r.ranges {
		if !x.start.LessThan(x.end) {
			t.Fatalf("range %d empty or reversed: %v", i, x)
		}
		if i > 0 && !r.ranges[i-1].end.LessThan(x.start) {
			t.Fatalf("ranges %d and %d touch or overlap: %v %v", i-1, i, r.ranges[i-1], x)
		}
		total += x.len()
	}
	if total != r.bytes {
		t.Fatalf("bytes %d, ranges hold %d", r.bytes, total)
	}
	if len(r.ranges) > maxRanges {
		t.Fatalf("%d ranges, bound %d", len(r.ranges), maxRanges)
	}
}

// Random pieces of a stream, duplicated and overlapping, arrive in random order around a
// sequence number that wraps: what comes out in order is the stream, byte for byte.
func TestReassemblyRandomPieces(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 1))
		const size = 20000
		stream := make([]byte, size)
		for i := range stream {
			stream[i] = byte(rng.Uint32())
		}
		base := wire.Seq(^uint32(0) - size/2) // wraps in the middle
		var r reassembly
		var buf buffer
		next := base
		for next != base.Add(size) {
			off := rng.IntN(size)
			n := 1 + rng.IntN(min(1500, size-off))
			seq := base.Add(uint32(off))
			if seq.LessThanEq(next) { // in order, or partly old: trimmed as rcv.go does
				if end := seq.Add(uint32(n)); end.GreaterThan(next) {
					buf.Write(stream[next.Sub(base):end.Sub(base)])
					next = r.pull(end, &buf)
				}
			} else {
				r.insert(seq, stream[off:off+n])
			}
			checkRanges(t, &r)
		}
		got := make([]byte, size+1)
		if n := buf.Read(got); n != size || string(got[:n]) != string(stream) {
			t.Fatalf("seed %d: %d bytes out, differ from the stream", seed, n)
		}
		if r.bytes != 0 || len(r.ranges) != 0 || r.pages != nil {
			t.Fatalf("seed %d: left %d bytes in %d ranges, %d pages", seed, r.bytes, len(r.ranges), len(r.pages))
		}
	}
}

// A byte held already is reported once as a D-SACK block and not held twice.
func TestReassemblyDuplicate(t *testing.T) {
	var r reassembly
	r.insert(100, []byte("abcd"))
	dup, ok, _ := r.insert(98, []byte("xxabcdef"))
	if !ok || dup != (wire.SACKBlock{Left: 100, Right: 104}) {
		t.Fatalf("D-SACK %v %v, want 100-104", dup, ok)
	}
	if r.bytes != 8 || len(r.ranges) != 1 {
		t.Fatalf("%d bytes in %d ranges, want 8 in 1", r.bytes, len(r.ranges))
	}
	if b, ok := r.blockAt(101); !ok || b != (wire.SACKBlock{Left: 98, Right: 106}) {
		t.Fatalf("block at 101: %v %v", b, ok)
	}
	if _, ok := r.blockAt(106); ok {
		t.Fatal("a block at the end of the range")
	}
	// The first copy of a byte stands: "abcd" was held before "xxabcdef" repeated it.
	var buf buffer
	r.pull(98, &buf)
	if got := string(bytesOf(&buf)); got != "xxabcdef" {
		t.Fatalf("pulled %q", got)
	}
}

// One byte in two, a whole window of them: the queue keeps its bound, gives up the highest
// stretches first (the lowest are needed first), counts them, and what it kept still comes out
// right; below the bound everything is kept (the positive control).
func TestReassemblyBound(t *testing.T) {
	var r reassembly
	for i := range uint32(maxRanges) {
		if _, _, pruned := r.insert(wire.Seq(1000+2*i), []byte{byte(i)}); pruned {
			t.Fatalf("range %d pruned below the bound", i)
		}
	}
	checkRanges(t, &r)
	if len(r.ranges) != maxRanges {
		t.Fatalf("at the bound: %d ranges", len(r.ranges))
	}
	_, _, above := r.insert(wire.Seq(1000+2*maxRanges+10), []byte{1}) // above the highest: not taken
	_, _, below := r.insert(wire.Seq(997), []byte{2})                 // below it: the highest goes
	checkRanges(t, &r)
	if !above || !below || len(r.ranges) != maxRanges {
		t.Fatalf("%d ranges, pruned %v %v; want %d, true true", len(r.ranges), above, below, maxRanges)
	}
	if last := r.ranges[len(r.ranges)-1]; last.start != wire.Seq(1000+2*(maxRanges-2)) {
		t.Fatalf("highest range kept %v", last)
	}
	// Filling the holes brings the kept bytes out in order.
	var buf buffer
	next, end := wire.Seq(996), wire.Seq(1000+2*(maxRanges-2)+1)
	for next.LessThan(end) {
		buf.Write([]byte{0})
		next = r.pull(next.Add(1), &buf)
	}
	if want := int(end - 996); buf.Len() != want || r.bytes != 0 || len(r.pages) != 0 {
		t.Fatalf("%d bytes out (want %d), %d held, %d pages", buf.Len(), want, r.bytes, len(r.pages))
	}
}

// BenchmarkReassemblyWorstCase places one-byte segments with holes between them (no two
// merge) into a queue that already holds n of them, ascending (each at the far end) and
// descending (each at the front, the costliest place): the cost per segment stays flat as n
// grows. Past maxRanges the queue gives up its highest stretch (descending) or the segment
// (ascending), so n beyond the bound costs what it costs at the bound.
func BenchmarkReassemblyWorstCase(b *testing.B) {
	for _, n := range []int{100, 1000, maxRanges, 10000, 100000} {
		for _, dir := range []string{"ascending", "descending"} {
			b.Run(fmt.Sprintf("queued=%d/%s", n, dir), func(b *testing.B) {
				var r reassembly
				const base = 1 << 24
				for i := range n {
					r.insert(wire.Seq(base+2*i), []byte{1})
				}
				b.ResetTimer()
				for i := range b.N {
					seq := wire.Seq(base + 2*(n+i))
					if dir == "descending" {
						seq = wire.Seq(base - 2*(i+1))
					}
					r.insert(seq, []byte{1})
				}
			})
		}
	}
}
