package wire_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mtcp-go/mtcp/stack/wire"
)

func TestSeqAcrossTheWrap(t *testing.T) {
	const maxSeq wire.Seq = 0xffffffff
	if !maxSeq.LessThan(0) || !wire.Seq(0).GreaterThan(maxSeq) {
		t.Error("0xffffffff is not before 0")
	}
	if maxSeq.GreaterThan(0) || wire.Seq(0).LessThan(maxSeq) {
		t.Error("0xffffffff is after 0")
	}
	if !maxSeq.LessThanEq(0) || !wire.Seq(0).GreaterThanEq(maxSeq) {
		t.Error("LessThanEq / GreaterThanEq disagree across the wrap")
	}
	if !wire.Seq(0xfffffff0).LessThan(0x10) || wire.Seq(0x10).LessThan(0xfffffff0) {
		t.Error("0xfffffff0 is not before 0x10")
	}
	if got := maxSeq.Add(1); got != 0 {
		t.Errorf("0xffffffff + 1 = %#x, want 0", uint32(got))
	}
	if got := wire.Seq(0xfffffff0).Add(0x20); got != 0x10 {
		t.Errorf("0xfffffff0 + 0x20 = %#x, want 0x10", uint32(got))
	}
	if got := wire.Seq(5).Add(math.MaxUint32); got != 4 {
		t.Errorf("5 + 0xffffffff = %#x, want 4", uint32(got))
	}
	for _, tc := range []struct {
		s, o wire.Seq
		want int32
	}{
		{0, maxSeq, 1},
		{maxSeq, 0, -1},
		{5, 0xfffffffb, 10},
		{0xfffffffb, 5, -10},
		{1000, 1000, 0},
		{0x7fffffff, 0, math.MaxInt32},
		{0, 0x7fffffff, -math.MaxInt32},
		{0x80000000, 0, math.MinInt32}, // exactly 2³¹ apart: the distance is ambiguous (RFC 1982 3.2)
		{0, 0x80000000, math.MinInt32},
	} {
		if got := tc.s.Sub(tc.o); got != tc.want {
			t.Errorf("%#x - %#x = %d, want %d", uint32(tc.s), uint32(tc.o), got, tc.want)
		}
	}
}

func TestSeqComparisonsOnEqual(t *testing.T) {
	for _, s := range []wire.Seq{0, 1, 0x7fffffff, 0x80000000, 0xffffffff} {
		if s.LessThan(s) || s.GreaterThan(s) || !s.LessThanEq(s) || !s.GreaterThanEq(s) {
			t.Errorf("%#x compared with itself", uint32(s))
		}
	}
}

func TestSeqInRange(t *testing.T) {
	for _, tc := range []struct {
		s, first, end wire.Seq
		want          bool
	}{
		{5, 5, 10, true},
		{9, 5, 10, true},
		{10, 5, 10, false}, // end is excluded
		{4, 5, 10, false},
		{0xfffffff0, 0xfffffff0, 0x10, true}, // spanning the wrap
		{0xffffffff, 0xfffffff0, 0x10, true},
		{0, 0xfffffff0, 0x10, true},
		{0xf, 0xfffffff0, 0x10, true},
		{0x10, 0xfffffff0, 0x10, false},
		{0xffffffef, 0xfffffff0, 0x10, false},
		{0x80000000, 0xfffffff0, 0x10, false},
		{7, 7, 7, false}, // empty range
		{0, 0, 0, false},
		{0xffffffff, 0, 0xffffffff, false}, // the largest range excludes its end
		{0xfffffffe, 0, 0xffffffff, true},
	} {
		if got := tc.s.InRange(tc.first, tc.end); got != tc.want {
			t.Errorf("%#x in [%#x, %#x) = %v, want %v", uint32(tc.s), uint32(tc.first), uint32(tc.end), got, tc.want)
		}
	}
}

func TestSeqInWindow(t *testing.T) {
	for _, tc := range []struct {
		s, first wire.Seq
		size     uint32
		want     bool
	}{
		{100, 100, 1, true},
		{101, 100, 1, false},
		{99, 100, 1, false},
		{0xfffffffe, 0xfffffffe, 4, true}, // spanning the wrap
		{0xffffffff, 0xfffffffe, 4, true},
		{0, 0xfffffffe, 4, true},
		{1, 0xfffffffe, 4, true},
		{2, 0xfffffffe, 4, false},
		{0xfffffffd, 0xfffffffe, 4, false},
		{0, 0, math.MaxUint32, true},
		{0xfffffffe, 0, math.MaxUint32, true},
		{0xffffffff, 0, math.MaxUint32, false},
	} {
		if got := tc.s.InWindow(tc.first, tc.size); got != tc.want {
			t.Errorf("%#x in %d bytes from %#x = %v, want %v", uint32(tc.s), tc.size, uint32(tc.first), got, tc.want)
		}
	}
	// A window of size 0 contains nothing, not even its start (RFC 9293 3.10.7.4 treats a zero
	// receive window separately).
	for _, s := range []wire.Seq{0, 1, 0x7fffffff, 0x80000000, 0xffffffff} {
		for _, first := range []wire.Seq{0, s, s - 1, s + 1, 0xffffffff} {
			if s.InWindow(first, 0) {
				t.Errorf("%#x is in the empty window at %#x", uint32(s), uint32(first))
			}
		}
	}
}

func TestSeqProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(9293, 32))
	interesting := []uint32{0, 1, 0x7ffffffe, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff}
	pick := func() wire.Seq {
		if r.IntN(4) == 0 {
			return wire.Seq(interesting[r.IntN(len(interesting))] + uint32(r.IntN(3)) - 1)
		}
		return wire.Seq(r.Uint32())
	}
	for range 200000 {
		a, b := pick(), pick()
		d := a.Sub(b)
		// LessThan and the others agree with the sign of Sub.
		if a.LessThan(b) != (d < 0) || a.LessThanEq(b) != (d <= 0) || a.GreaterThan(b) != (d > 0) || a.GreaterThanEq(b) != (d >= 0) {
			t.Fatalf("%#x vs %#x: comparisons disagree with Sub = %d", uint32(a), uint32(b), d)
		}
		// Sub undoes Add.
		if b.Add(uint32(d)) != a || a.Add(uint32(-d)) != b && d != math.MinInt32 {
			t.Fatalf("%#x, %#x: Add and Sub disagree (Sub = %d)", uint32(a), uint32(b), d)
		}
		if d == math.MinInt32 {
			continue // exactly 2³¹ apart: neither is before the other (RFC 1982 3.2)
		}
		// Antisymmetry, and exactly one of <, ==, > holds.
		if a.LessThan(b) && b.LessThan(a) {
			t.Fatalf("%#x < %#x and %#x < %#x", uint32(a), uint32(b), uint32(b), uint32(a))
		}
		n := 0
		for _, c := range []bool{a.LessThan(b), a == b, a.GreaterThan(b)} {
			if c {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%#x vs %#x: %d of <, ==, > hold", uint32(a), uint32(b), n)
		}
		if b.Sub(a) != -d {
			t.Fatalf("%#x - %#x = %d but %#x - %#x = %d", uint32(a), uint32(b), d, uint32(b), uint32(a), b.Sub(a))
		}
		// InWindow agrees with InRange and with the comparisons for windows under 2³¹.
		size := r.Uint32() >> 1
		in := a.InWindow(b, size)
		if in != a.InRange(b, b.Add(size)) {
			t.Fatalf("%#x in %d from %#x: InWindow %v, InRange %v", uint32(a), size, uint32(b), in, !in)
		}
		if in != (a.GreaterThanEq(b) && a.LessThan(b.Add(size))) {
			t.Fatalf("%#x in %d from %#x: InWindow %v disagrees with the comparisons", uint32(a), size, uint32(b), in)
		}
	}
}
