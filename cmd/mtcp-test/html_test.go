package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// mtcp-test run --html with a failing and a passing script: exit 1, one self-contained page,
// one ladder diagram per case, the failing arrow marked with what was expected instead, a
// link to each capture; html_linux_test.go opens it in a browser.
func TestHTMLReport(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	writeScripts(t, dir, map[string]string{
		"s/pass.pkt": synToListen,
		"s/fail.pkt": strings.Replace(synToListen, "ack 1 win 65535", "ack 1 win 5840", 1),
	})
	out, code := run(t, bin, dir, "run", "s", "-o", "caps", "--html", "report.html")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	page := readPage(t, filepath.Join(dir, "report.html"))
	if n := strings.Count(page, `class="ladder"`); n != 2 {
		t.Errorf("%d ladder diagrams, want one per case (2)", n)
	}
	if n := strings.Count(page, `class="a-failed"`); n < 1 {
		t.Error("no failing arrow")
	}
	for _, want := range []string{"line 7: expected instead: 0.000000 &gt; S. 0:0(0) ack 1 win 5840", `href="caps/s-fail.pcapng"`, `href="caps/s-pass.pcapng"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if !strings.Contains(out, "html: "+filepath.Join(dir, "report.html")) {
		t.Errorf("the output does not say where the report is:\n%s", out)
	}
}

// readPage reads an HTML report and checks that it fetches nothing: no script, style sheet,
// image or frame from anywhere but the page itself.
func readPage(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(raw)
	if m := remote.FindString(page); m != "" {
		t.Errorf("%s fetches %s", filepath.Base(path), m)
	}
	return page
}

var remote = regexp.MustCompile(`<(script|link|img|iframe|object|embed)[^>]+(src|href)="[a-z]+://[^"]*"`)
