package replay

import (
	"bytes"
	"os"
	"path/filepath"
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

// Off a terminal, a line every so often (here 5 s, on an injected clock): the first once 5 s
// have passed since the start, the next 5 s after the last one, none at the end; the time
// left comes from the pace since the first update, and is left out until there is one.
func TestProgressLines(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newProgress(&buf, false, 5*time.Second, func() time.Time { return now })
	step := func(d time.Duration, done int, want string) {
		t.Helper()
		now = now.Add(d)
		buf.Reset()
		p.update(done, 632771)
		if buf.String() != want {
			t.Errorf("at %d frames: %q, want %q", done, buf.String(), want)
		}
	}
	step(6*time.Second, 4096, "replaying: 0% (4096/632771 frames)\n") // the scan took 6 s: no pace yet
	step(time.Second, 8192, "")
	step(3*time.Second, 12288, "")
	step(time.Second, 266240, "replaying: 42% (266240/632771 frames), 7 s left\n") // 262144 frames in 5 s: 6.99 s for the 366531 left
	step(4*time.Second, 400000, "")
	step(2*time.Second, 500000, "replaying: 79% (500000/632771 frames), 3 s left\n")
	step(20*time.Second, 632771, "") // done: the verdict follows on stdout
	p.finish()
	if buf.Len() != 0 {
		t.Errorf("finish wrote %q", buf.String())
	}

	// Nothing in the first 5 s; and nothing for an empty capture.
	now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	buf.Reset()
	p = newProgress(&buf, false, 5*time.Second, func() time.Time { return now })
	p.update(0, 0)
	for i := 1; i <= 4; i++ {
		now = now.Add(time.Second)
		p.update(i*4096, 1_000_000)
	}
	if buf.Len() != 0 {
		t.Errorf("a line in the first 5 s: %q", buf.String())
	}
	now = now.Add(time.Second)
	p.update(5*4096, 1_000_000)
	if want := "replaying: 2% (20480/1000000 frames), 4 min 0 s left\n"; buf.String() != want {
		t.Errorf("%q, want %q", buf.String(), want)
	}
}

func TestApprox(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0 s", 300 * time.Millisecond: "1 s", 12 * time.Second: "12 s", 59*time.Second + time.Millisecond: "1 min 0 s",
		185 * time.Second: "3 min 5 s", time.Hour: "1 h 0 min", 2*time.Hour + 9*time.Minute + time.Second: "2 h 10 min",
	} {
		if got := approx(d); got != want {
			t.Errorf("approx(%v) = %q, want %q", d, got, want)
		}
	}
}

// The files of a set being written are removed when it is shut, and no more are created.
func TestFileSet(t *testing.T) {
	dir := t.TempDir()
	s := newFileSet()
	done, err := s.create(func() (*os.File, error) { return os.Create(filepath.Join(dir, "done")) })
	if err != nil {
		t.Fatal(err)
	}
	done.Close()
	s.forget(done.Name())
	tmp, err := s.create(func() (*os.File, error) { return os.CreateTemp(dir, ".tmp-*") })
	if err != nil {
		t.Fatal(err)
	}
	defer tmp.Close()
	s.shut()
	if _, err := s.create(func() (*os.File, error) { return os.Create(filepath.Join(dir, "late")) }); err == nil {
		t.Error("a file created once the set was shut")
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 1 || left[0].Name() != "done" {
		t.Errorf("left: %v, want only the completed file", left)
	}
}
