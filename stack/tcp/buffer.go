package tcp

// buffer is a byte queue: append at the back, consume from the front. It grows on demand up to
// its owner's limit and reuses its storage, so a steady stream does not allocate.
type buffer struct {
	b    []byte
	head int
}

// Len returns the number of bytes queued.
func (q *buffer) Len() int { return len(q.b) - q.head }

// Bytes returns the queued bytes (valid until the next change).
func (q *buffer) Bytes() []byte { return q.b[q.head:] }

// Write appends p.
func (q *buffer) Write(p []byte) {
	if q.head > 0 && len(q.b)+len(p) > cap(q.b) {
		n := copy(q.b, q.b[q.head:])
		q.b, q.head = q.b[:n], 0
	}
	q.b = append(q.b, p...)
}

// Discard drops n bytes from the front.
func (q *buffer) Discard(n int) {
	q.head += n
	if q.head == len(q.b) {
		q.b, q.head = q.b[:0], 0
	}
}

// Read moves up to len(p) bytes from the front into p.
func (q *buffer) Read(p []byte) int {
	n := copy(p, q.b[q.head:])
	q.Discard(n)
	return n
}

// Release frees the storage.
func (q *buffer) Release() { q.b, q.head = nil, 0 }
