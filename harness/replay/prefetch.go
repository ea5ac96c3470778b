package replay

import (
	"sync"

	"github.com/mtcp-go/mtcp/harness/replay/capture"
)

// recordReader is where a pass over the capture takes its records from: a capture.Reader, or
// a prefetcher in front of one. A record and its slices are valid until the next call to Next.
type recordReader interface {
	Next() (*capture.Record, error)
}

// The batches a prefetcher passes on: up to prefetchRecords records, or prefetchBytes of their
// data, whichever comes first; prefetchDepth of them ready at most.
const (
	prefetchRecords = 2048
	prefetchBytes   = 512 << 10
	prefetchDepth   = 4
)

// prefetcher reads a capture in a goroutine of its own, a few batches of records ahead of the
// pass that takes them (Next), so that reading and parsing the file (system calls, copying,
// record headers) run on another core than the replay. The records come in the capture's
// order, and the reader's error (io.EOF at the end) after the last record read before it, as
// from the reader itself. Close stops the goroutine; it must be called.
type prefetcher struct {
	ready chan *recordBatch // filled batches, in order
	free  chan *recordBatch // batches the pass is done with, to fill again
	quit  chan struct{}
	wg    sync.WaitGroup
	cur   *recordBatch
	i     int   // the next record of cur
	err   error // once the reader's error was returned
}

// recordBatch is records copied out of the capture.Reader (whose record and data are valid
// only until its next call), their data in one buffer, with the error that ended the reading
// if it did.
type recordBatch struct {
	recs []capture.Record
	data []byte
	err  error
}

// prefetch starts reading r in a goroutine of its own.
func prefetch(r *capture.Reader) *prefetcher {
	p := &prefetcher{ready: make(chan *recordBatch, prefetchDepth), free: make(chan *recordBatch, prefetchDepth+2), quit: make(chan struct{})}
	p.wg.Add(1)
	go p.fill(r)
	return p
}

// fill reads r into batches until its error (io.EOF at the end) or Close.
func (p *prefetcher) fill(r *capture.Reader) {
	defer p.wg.Done()
	for {
		var b *recordBatch
		select {
		case b = <-p.free:
		default:
			// The data never outgrows this: a batch ends once prefetchBytes are in it, and a
			// record holds capture.MaxCapLen bytes at most. Its records' Data stay put.
			b = &recordBatch{data: make([]byte, 0, prefetchBytes+capture.MaxCapLen)}
		}
		b.recs, b.data, b.err = b.recs[:0], b.data[:0], nil
		for len(b.recs) < prefetchRecords && len(b.data) < prefetchBytes {
			rec, err := r.Next()
			if err != nil {
				b.err = err
				break
			}
			n := len(b.data)
			b.data = append(b.data, rec.Data...)
			b.recs = append(b.recs, *rec)
			c := &b.recs[len(b.recs)-1]
			c.Data = b.data[n:len(b.data):len(b.data)]
			if rec.Comments != nil {
				c.Comments = append([]string(nil), rec.Comments...)
			}
		}
		select {
		case p.ready <- b:
		case <-p.quit:
			return
		}
		if b.err != nil {
			return
		}
	}
}

// Next returns the next record, valid until the next call, or the reader's error.
func (p *prefetcher) Next() (*capture.Record, error) {
	for p.cur == nil || p.i == len(p.cur.recs) {
		if p.err != nil {
			return nil, p.err
		}
		if p.cur != nil {
			if p.cur.err != nil {
				p.err = p.cur.err
				return nil, p.err
			}
			select {
			case p.free <- p.cur:
			default:
			}
		}
		p.cur, p.i = <-p.ready, 0
	}
	p.i++
	return &p.cur.recs[p.i-1], nil
}

// Close stops the reading goroutine, and returns once it has.
func (p *prefetcher) Close() {
	close(p.quit)
	p.wg.Wait()
}
