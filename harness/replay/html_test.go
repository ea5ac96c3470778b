package replay_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// --html writes one self-contained page: the verdict, and the recorded capture's ladder beside
// the replay's, the differences marked on both; without -o, the replay's capture is written
// next to it, and the page links both captures. An output that cannot be written is refused
// before anything runs.
func TestHTMLReport(t *testing.T) {
	dir := t.TempDir()
	capture := filepath.Join("..", "..", "pcaps", "linux-http-small.pcapng")
	page := filepath.Join(dir, "replay.html")
	out, code := run("-q", "--compare", "window,options", "--html", page, capture)
	if code != 1 || lastLine(out) != "different: 2 differences" {
		t.Fatalf("exit %d, want 1 and 2 differences:\n%s", code, out)
	}
	raw, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	html := string(raw)
	if _, err := os.Stat(filepath.Join(dir, "replay.pcapng")); err != nil {
		t.Errorf("no replay capture beside the page: %v", err)
	}
	for _, want := range []string{`class="ladder"`, "recorded capture", `href="replay.pcapng"`, "linux-http-small.pcapng", "different: 2 differences"} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	failed := strings.Count(html, `class="a-failed"`) // the legend has one
	if m := regexp.MustCompile(`<(script|link|img)[^>]+(src|href)="[a-z]+://[^"]*"`).FindString(html); m != "" {
		t.Errorf("the page fetches %s", m)
	}
	// The same replay, equivalent without --compare: the page says so (the positive control
	// of the differences above).
	out, code = run("-q", "--html", page, capture)
	html = string(mustRead(t, page))
	if code != 0 || lastLine(out) != "equivalent" || strings.Contains(html, "different: ") {
		t.Errorf("without --compare: exit %d\n%s", code, out)
	}
	if n := strings.Count(html, `class="a-failed"`); failed < n+2 {
		t.Errorf("%d arrows marked failed with 2 differences, %d without: want the differences marked", failed, n)
	}
	for _, bad := range []string{filepath.Join(dir, "no-such-folder", "r.html"), dir} {
		if out, code := run("-q", "--html", bad, capture); code != 2 || !strings.HasPrefix(out, "mtcp-replay: --html ") {
			t.Errorf("--html %s: exit %d, want 2 and one line\n%s", bad, code, out)
		}
	}
}
