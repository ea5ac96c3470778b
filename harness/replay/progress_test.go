package replay

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// The bar shows only on replays that take more than half a second, and is cleared at the end.
func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	p := progressBar(&buf)
	p(4096, 1_000_000)
	if buf.Len() != 0 {
		t.Fatalf("a bar in the first half second: %q", buf.String())
	}
	p2 := progressBarAt(&buf, time.Now().Add(-time.Second))
	p2(500_000, 1_000_000)
	if !strings.Contains(buf.String(), "replaying [###############...............]  50% 500000/1000000 frames") {
		t.Fatalf("bar %q", buf.String())
	}
	p2(1_000_000, 1_000_000)
	if !strings.HasSuffix(buf.String(), "\r"+strings.Repeat(" ", 60)+"\r") {
		t.Fatalf("not cleared: %q", buf.String())
	}
}
