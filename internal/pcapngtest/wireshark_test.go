package pcapngtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/internal/netns/netnstest"
	"github.com/mtcp-go/mtcp/stack/link/pcapng"
)

// writeCapture writes a capture with mtcp's writer whose packets carry comments[i] each (none
// for an empty string) and returns its path.
func writeCapture(t *testing.T, dir, name string, comments ...string) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapng.NewWriter(&buf, "bench0", name)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, c := range comments {
		f := pcapng.Frame{Time: t0.Add(time.Duration(i) * time.Millisecond), Direction: pcapng.Outbound, Data: make([]byte, 60)}
		if c != "" {
			f.Comments = []string{c}
		}
		if err := w.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".pcapng")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// recorder is a testing.TB that keeps the errors of a helper under test instead of failing
// the test; a Fatal ends the helper's goroutine (call it through recorder.run).
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatal(args ...any)   { r.Fatalf("%s", fmt.Sprint(args...)) }
func (r *recorder) Logf(string, ...any) {}

// run calls f with r on a goroutine of its own and returns the errors it reported.
func (r *recorder) run(f func(testing.TB)) string {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return strings.Join(r.errs, "\n")
}

// One tshark pass over many captures gives each capture its own rows, in order, the same as a
// tshark per capture; a capture without packets has none; capinfos accepts them all.
func TestTsharkFieldsMerged(t *testing.T) {
	dir := t.TempDir()
	want := [][]string{{"a1", "", "a3"}, {}, {"b1"}, {"c1", "c2\nsecond line"}}
	var files []string
	for i, comments := range want {
		files = append(files, writeCapture(t, dir, fmt.Sprintf("cap%d", i), comments...))
	}
	rows := TsharkFields(t, files, "frame.comment", "frame.len")
	if len(rows) != len(want) {
		t.Fatalf("%d captures' rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		var got []string
		for j, r := range rows[i] {
			got = append(got, r[0])
			if r[1] != "60" {
				t.Errorf("capture %d row %d: frame.len %q, want 60", i, j, r[1])
			}
		}
		wantEsc := make([]string, len(w))
		for j, c := range w {
			wantEsc[j] = strings.ReplaceAll(c, "\n", `\n`)
		}
		if len(got) != len(wantEsc) || (len(got) > 0 && !reflect.DeepEqual(got, wantEsc)) {
			t.Errorf("capture %d: comments %q, want %q", i, got, wantEsc)
		}
		if rows[i] == nil {
			t.Errorf("capture %d: nil rows for a capture that reads", i)
		}
	}
	// The same as a tshark per capture.
	args := []string{"-T", "fields", "-e", "frame.comment", "-e", "frame.len"}
	each, errs := tsharkEach(netnstest.Tool(t, "tshark"), files, args, 2)
	if !reflect.DeepEqual(each, rows) || errors.Join(errs...) != nil {
		t.Errorf("a tshark per capture: %q, %v; one pass: %q", each, errors.Join(errs...), rows)
	}
	Capinfos(t, files)
	if out := Tshark(t, files[0], "-T", "fields", "-e", "frame.comment"); out != "a1\n\na3\n" {
		t.Errorf("Tshark: %q", out)
	}
}

// A capture cut short among good ones fails the test, and the error names it, both in tshark's
// reading and in capinfos'; the good captures still get their rows.
func TestWiresharkNamesTheBrokenCapture(t *testing.T) {
	dir := t.TempDir()
	good1 := writeCapture(t, dir, "good1", "x", "y")
	bad := writeCapture(t, dir, "bad", "p", "q", "r")
	good2 := writeCapture(t, dir, "good2", "z")
	data, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, data[:len(data)-30], 0o644); err != nil {
		t.Fatal(err)
	}
	files := []string{good1, bad, good2}

	var rows [][][]string
	rec := &recorder{TB: t}
	errs := rec.run(func(tb testing.TB) { rows = TsharkFields(tb, files, "frame.comment") })
	if !strings.Contains(errs, "bad.pcapng") || strings.Contains(errs, "good") {
		t.Errorf("TsharkFields' errors do not name the broken capture alone: %q", errs)
	}
	if len(rows) != 3 || len(rows[0]) != 2 || rows[1] != nil || len(rows[2]) != 1 {
		t.Errorf("rows %q: want two, nil, one", rows)
	}

	rec = &recorder{TB: t}
	errs = rec.run(func(tb testing.TB) { Capinfos(tb, files) })
	if !strings.Contains(errs, "capinfos bad.pcapng") || strings.Contains(errs, "good") {
		t.Errorf("Capinfos' errors do not name the broken capture alone: %q", errs)
	}

	rec = &recorder{TB: t}
	errs = rec.run(func(tb testing.TB) { Tshark(tb, bad) })
	if !strings.Contains(errs, "tshark -r bad.pcapng") {
		t.Errorf("Tshark on the broken capture: %q", errs)
	}
}

// The interfaces of a capture, as mergecap numbers them.
func TestInterfaces(t *testing.T) {
	dir := t.TempDir()
	p := writeCapture(t, dir, "one", "a")
	if n, err := interfaces(p); n != 1 || err != nil {
		t.Errorf("mtcp's capture: %d interfaces, %v", n, err)
	}
	data, _ := os.ReadFile(p)
	twice := filepath.Join(dir, "twice.pcapng")
	if err := os.WriteFile(twice, append(append([]byte(nil), data...), data...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := interfaces(twice); err == nil || !strings.Contains(err.Error(), "more than one section") {
		t.Errorf("two sections: %v", err)
	}
	if n, err := interfaces(filepath.Join("..", "..", "harness", "replay", "capture", "testdata", "get.pcap")); n != 1 || err != nil {
		t.Errorf("a pcap file: %d interfaces, %v", n, err)
	}
	cut := filepath.Join(dir, "cut.pcapng")
	if err := os.WriteFile(cut, data[:len(data)-5], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := interfaces(cut); err == nil {
		t.Error("a truncated capture counted")
	}
}
