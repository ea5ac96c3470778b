package mtcpdut

import (
	"testing"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/stack/clock"
)

// The bench's clock and mtcp's manual clock start at the same instant, so that captures from
// the bench and from tests of the stack itself line up.
func TestBenchStartsAtTheStacksEpoch(t *testing.T) {
	if !harness.DefaultStart().Equal(clock.Epoch) {
		t.Fatalf("harness.DefaultStart() %v, clock.Epoch %v", harness.DefaultStart(), clock.Epoch)
	}
}
