package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtcp-go/mtcp/internal/browsertest"
)

// The report of a run with one failing script, as a browser shows it: it loads without a
// console message, its filter script ran, and the screenshot (kept in $MTCP_ARTIFACTS) shows
// the failure's red.
func TestHTMLReportInABrowser(t *testing.T) {
	browser := browsertest.New(t)
	bin := build(t)
	dir := t.TempDir()
	writeScripts(t, dir, map[string]string{"fail.pkt": strings.Replace(synToListen, "ack 1 win 65535", "ack 1 win 5840", 1)})
	if out, code := run(t, bin, dir, "run", "fail.pkt", "--html", "report.html"); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	page := filepath.Join(dir, "report.html")
	if dom := browser.Load(page); !strings.Contains(dom, `<span id="shown">1 shown</span>`) {
		t.Error("the page's filter script did not run")
	}
	browser.Screenshot(page, "mtcp-test-run-report.png", true)
}
