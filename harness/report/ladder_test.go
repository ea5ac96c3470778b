package report

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// picked runs a picker over n rows, those in interesting marked, and writes what it keeps:
// row numbers, and [k] for k rows left out.
func picked(first, around, n int, interesting ...int) string {
	p := newPicker(first, around)
	start := time.Unix(0, 0)
	for i := range n {
		p.add(&row{at: start.Add(time.Duration(i) * time.Second)}, slices.Contains(interesting, i))
	}
	var out []string
	for _, it := range p.done() {
		if it.row == nil {
			out = append(out, fmt.Sprintf("[%d]", it.omitted))
			continue
		}
		out = append(out, fmt.Sprint(int(it.row.at.Sub(start)/time.Second)))
	}
	return strings.Join(out, " ")
}

func TestPickerKeepsTheStartAndTheFirstFailure(t *testing.T) {
	for _, tc := range []struct {
		first, around, n int
		interesting      []int
		want             string
	}{
		{3, 2, 3, nil, "0 1 2"},
		{3, 2, 10, nil, "0 1 2 [7]"},
		{3, 2, 10, []int{6}, "0 1 2 [1] 4 5 6 7 8 [1]"},
		{3, 2, 10, []int{6, 9}, "0 1 2 [1] 4 5 6 7 8 [1]"}, // only the first failure's neighbourhood
		{3, 2, 10, []int{1}, "0 1 2 3 [6]"},
		{3, 2, 10, []int{4}, "0 1 2 3 4 5 6 [3]"},
		{3, 2, 6, []int{5}, "0 1 2 3 4 5"},
	} {
		if got := picked(tc.first, tc.around, tc.n, tc.interesting...); got != tc.want {
			t.Errorf("first %d, around %d, %d rows, interesting %v: %q, want %q", tc.first, tc.around, tc.n, tc.interesting, got, tc.want)
		}
	}
}

func TestGapScaleBreaksLongGaps(t *testing.T) {
	at := func(secs ...float64) []item {
		var items []item
		for _, s := range secs {
			items = append(items, item{row: &row{at: time.Unix(0, 0).Add(time.Duration(s * float64(time.Second)))}})
		}
		return items
	}
	for _, tc := range []struct {
		items []item
		want  time.Duration
	}{
		{at(0, 0, 0), time.Second},                       // no gaps: a second
		{at(0, 1, 2, 62, 122), time.Second},              // median 1 s: a second
		{at(0, 0.01, 0.02, 0.5), 100 * time.Millisecond}, // median 10 ms: ten times that
		{at(0, 0.00001, 0.00002), time.Millisecond},      // never under a millisecond
	} {
		if got, _ := gapScale(tc.items); got != tc.want {
			t.Errorf("threshold %v, want %v", got, tc.want)
		}
	}
}

func TestVerdictClass(t *testing.T) {
	for v, want := range map[string]string{
		"passed": "passed", "failed": "failed", "FAILED: x": "failed", "skipped": "skipped", "pending": "skipped",
		"not run": "notrun", "": "notrun", "not run to its end: limit": "notrun",
	} {
		if got := verdictClass(v); got != want {
			t.Errorf("verdictClass(%q) = %q, want %q", v, got, want)
		}
	}
}

func TestWrapAndCut(t *testing.T) {
	if got := wrap("expected instead: 0.000000 > S. 0:0(0) ack 1 win 5840", 20); strings.Join(got, "|") != "expected instead:|0.000000 > S. 0:0(0)|ack 1 win 5840" {
		t.Errorf("wrap: %q", got)
	}
	if got := cut("ARP reply 198.18.0.2 is-at 02:00:00:00:00:02", 12); got != "ARP reply 1…" {
		t.Errorf("cut: %q", got)
	}
	if got := esc("a<b>&\"'\x01"); got != "a&lt;b&gt;&amp;&#34;&#39;\ufffd" {
		t.Errorf("esc: %q", got)
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0 s", 60 * time.Second: "60 s", 4748956 * time.Microsecond: "4.75 s", 122 * time.Second: "122 s",
		957011 * time.Nanosecond: "957 µs", 7130 * time.Microsecond: "7.13 ms", 999 * time.Millisecond: "999 ms",
		1500 * time.Millisecond: "1.5 s", 12 * time.Nanosecond: "12 ns", 2 * time.Hour: "2.0 h",
	} {
		if got := duration(d); got != want {
			t.Errorf("duration(%v) = %q, want %q", d, got, want)
		}
	}
}
