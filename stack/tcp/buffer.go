package tcp

// buffer is a byte queue: append at the back, consume from the front. It is a ring: the bytes
// queued start at head and may wrap around the end of the storage, so consuming from the front
// never moves the rest (a linear queue had to copy what was left to the front to make room,
// up to the whole buffer for a few bytes freed: a quarter of the CPU of 16 bulk connections).
// The storage grows on demand up to its owner's limit and is reused, so a steady stream does
// not allocate.
type buffer struct {
	b    []byte // storage: the queued bytes are b[head:] and then, wrapped, b[:...]
	head int32
	n    int32 // bytes queued; buffers are at most 1 GiB (Config.Validate, BufferSizes)
}

// Len returns the number of bytes queued.
func (q *buffer) Len() int { return int(q.n) }

// Peek returns the n queued bytes from off on, in two parts: the second is where they wrap
// (empty when they do not). They are valid until the next change.
func (q *buffer) Peek(off, n int) (a, b []byte) {
	if n == 0 {
		return nil, nil
	}
	start := int(q.head) + off
	if start >= len(q.b) {
		start -= len(q.b)
	}
	if end := start + n; end <= len(q.b) {
		return q.b[start:end], nil
	}
	return q.b[start:], q.b[:start+n-len(q.b)]
}

// Write appends p.
func (q *buffer) Write(p []byte) {
	if q.Len()+len(p) > len(q.b) {
		q.grow(q.Len() + len(p))
	}
	tail := int(q.head + q.n)
	if tail >= len(q.b) {
		tail -= len(q.b)
	}
	// Free space runs from tail to the end and then from 0 (tail at or after head), or from
	// tail to head (before it); there is room for p either way.
	c := copy(q.b[tail:], p)
	copy(q.b, p[c:])
	q.n += int32(len(p))
}

// grow makes room for need bytes at least, the queued bytes moved to the front in order.
func (q *buffer) grow(need int) {
	b := make([]byte, max(need, min(2*len(q.b), 1<<30), 1024))
	x, y := q.Peek(0, q.Len())
	copy(b[copy(b, x):], y)
	q.b, q.head = b, 0
}

// Discard drops n bytes from the front.
func (q *buffer) Discard(n int) {
	q.n -= int32(n)
	if q.n == 0 {
		q.head = 0
		return
	}
	q.head += int32(n)
	if int(q.head) >= len(q.b) {
		q.head -= int32(len(q.b))
	}
}

// Read moves up to len(p) bytes from the front into p.
func (q *buffer) Read(p []byte) int {
	n := q.copyTo(p)
	q.Discard(n)
	return n
}

// copyTo copies up to len(p) bytes from the front into p, consuming nothing.
func (q *buffer) copyTo(p []byte) int {
	a, b := q.Peek(0, min(len(p), q.Len()))
	n := copy(p, a)
	return n + copy(p[n:], b)
}

// Release frees the storage.
func (q *buffer) Release() { *q = buffer{} }
