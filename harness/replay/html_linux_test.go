package replay_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtcp-go/mtcp/internal/browsertest"
)

// The report of a replay that differs, as a browser shows it: the page loads without a
// console message and the screenshot (kept in $MTCP_ARTIFACTS) shows the differences' red.
func TestHTMLReportInABrowser(t *testing.T) {
	browser := browsertest.New(t)
	page := filepath.Join(t.TempDir(), "replay.html")
	if out, code := run("-q", "--compare", "window,options", "--html", page, filepath.Join("..", "..", "pcaps", "linux-http-small.pcapng")); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	if dom := browser.Load(page); !strings.Contains(dom, `class="ladder"`) {
		t.Error("no ladder in the page's DOM")
	}
	browser.Screenshot(page, "mtcp-replay-report.png", true)
}
