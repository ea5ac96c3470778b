//go:build linux

package report

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtcp-go/mtcp/internal/browsertest"
)

// The reports as a browser shows them: chromium (Debian's package; ci/setup.sh installs it)
// renders each page headless, with one failing case or a replay that differs, and the test
// checks that the page loads without a console message (its script ran: the filter's count
// is filled in) and that the screenshot is a real picture. The screenshots are copied to
// $MTCP_ARTIFACTS when it is set, for CI to keep. Without chromium the test is skipped, and
// fails under CI=true.
func TestBrowserRendersTheReports(t *testing.T) {
	browser := browsertest.New(t)
	dir := t.TempDir()
	s := testSuite(t, dir)
	r := testReplay(t, dir)
	for _, tc := range []struct {
		name  string
		write func(io.Writer) error
		dom   string // what the DOM holds once the page's script ran
	}{
		{"suite", func(w io.Writer) error { return WriteSuite(w, s) }, `<span id="shown">4 shown</span>`},
		{"replay", func(w io.Writer) error { return WriteReplay(w, r) }, `class="ladder"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := filepath.Join(dir, tc.name+".html")
			var b bytes.Buffer
			if err := tc.write(&b); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if dom := browser.Load(page); !strings.Contains(dom, tc.dom) {
				t.Errorf("the page did not load as it should: no %s in its DOM", tc.dom)
			}
			browser.Screenshot(page, "report-"+tc.name+".png", true)
		})
	}
}
