package replay

import (
	"sort"
	"time"

	"github.com/mtcp-go/mtcp/stack/clock"
)

// stopped reports whether stop is closed (a nil stop never is).
func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// interrupted ends a replay that Options.Stop interrupted after the records replayed so far,
// the last one at virtual time last: the report sums up what was judged until then; what the
// stack had yet to answer, and the records not read, are not judged.
func (e *engine) interrupted(last time.Time) {
	e.rep.Interrupted = true
	e.frame = 0
	e.rep.Elapsed = last.Sub(clock.Epoch)
	sort.SliceStable(e.rep.Differences, func(i, j int) bool { return e.rep.Differences[i].At < e.rep.Differences[j].At })
	for _, c := range e.order {
		e.rep.Conversations = append(e.rep.Conversations, c.summary())
	}
}
