package wire

// Seq is a TCP sequence number. Comparisons are modulo 2³² (RFC 9293 3.4): a is before b when
// the signed distance from b to a is negative. Never compare raw uint32 sequence numbers with <.
type Seq uint32

// Add returns s advanced by n.
func (s Seq) Add(n uint32) Seq { return s + Seq(n) }

// Sub returns the signed distance from o to s (s - o), valid while |distance| < 2³¹.
func (s Seq) Sub(o Seq) int32 { return int32(s - o) }

// LessThan reports whether s comes before o.
func (s Seq) LessThan(o Seq) bool { return int32(s-o) < 0 }

// LessThanEq reports whether s comes before o or equals it.
func (s Seq) LessThanEq(o Seq) bool { return int32(s-o) <= 0 }

// GreaterThan reports whether s comes after o.
func (s Seq) GreaterThan(o Seq) bool { return int32(s-o) > 0 }

// GreaterThanEq reports whether s comes after o or equals it.
func (s Seq) GreaterThanEq(o Seq) bool { return int32(s-o) >= 0 }

// InRange reports whether first <= s < end, modulo 2³².
func (s Seq) InRange(first, end Seq) bool { return uint32(s-first) < uint32(end-first) }

// InWindow reports whether s lies in the size bytes starting at first: first <= s < first+size.
func (s Seq) InWindow(first Seq, size uint32) bool { return uint32(s-first) < size }
