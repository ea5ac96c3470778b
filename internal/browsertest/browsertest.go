//go:build linux

// Package browsertest renders HTML pages in headless Chromium for tests: the page's DOM after
// its script ran, the console messages it logged, and a screenshot checked to be a picture
// (and kept in $MTCP_ARTIFACTS when that is set, for CI to upload). Chromium is Debian's
// package, which ci/setup.sh installs; without it a test is skipped, and fails under CI=true.
package browsertest

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/internal/netns/netnstest"
)

// Browser is a headless Chromium with a profile of its own in a test's temporary folder.
type Browser struct {
	t        *testing.T
	chromium string
	dir      string
}

// New finds chromium (skipping the test without it, failing it under CI=true).
func New(t *testing.T) *Browser {
	return &Browser{t: t, chromium: netnstest.Tool(t, "chromium"), dir: t.TempDir()}
}

// Load opens page (a file) and returns its DOM once its script ran; every console message
// and uncaught error the page logged fails the test.
func (b *Browser) Load(page string) string {
	b.t.Helper()
	dom, logs := runChromium(b.t, b.chromium, b.dir, "--dump-dom", "--enable-logging=stderr", "--v=0", fileURL(page))
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, ":CONSOLE") || strings.Contains(line, "Uncaught") {
			b.t.Errorf("%s: console: %s", filepath.Base(page), line)
		}
	}
	return dom
}

// Screenshot renders page at 1200x900 into a PNG named name, checks that it shows a page with
// the failure red (#cf222e) somewhere when wantRed, copies it to $MTCP_ARTIFACTS when set, and
// returns its path.
func (b *Browser) Screenshot(page, name string, wantRed bool) string {
	b.t.Helper()
	shot := filepath.Join(b.dir, name)
	runChromium(b.t, b.chromium, b.dir, "--hide-scrollbars", "--screenshot="+shot, "--window-size=1200,900", fileURL(page))
	checkScreenshot(b.t, shot, wantRed)
	if a := os.Getenv("MTCP_ARTIFACTS"); a != "" {
		if err := os.MkdirAll(a, 0o755); err != nil {
			b.t.Fatal(err)
		}
		data, err := os.ReadFile(shot)
		if err != nil {
			b.t.Fatal(err)
		}
		kept := filepath.Join(a, name)
		if err := os.WriteFile(kept, data, 0o644); err != nil {
			b.t.Fatal(err)
		}
		b.t.Logf("screenshot: %s", kept)
	}
	return shot
}

func fileURL(page string) string {
	abs, err := filepath.Abs(page)
	if err != nil {
		abs = page
	}
	return "file://" + abs
}

// runChromium runs chromium headless with args, in a profile of its own under dir, and
// returns its stdout and stderr. It is stopped, with every process it started, after a minute.
func runChromium(t *testing.T, chromium, dir string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
		"--user-data-dir=" + filepath.Join(dir, "chromium-profile")}, args...)
	cmd := exec.CommandContext(ctx, chromium, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(os.Environ(), "HOME="+dir)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	// Chromium leaves helper processes of its own group behind at times: end them.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, lastLines(errOut.String(), 20))
	}
	return out.String(), errOut.String()
}

// checkScreenshot decodes the PNG and checks it shows a page: its size, many colours, and
// (wantRed) the red of a failure somewhere.
func checkScreenshot(t *testing.T, path string, wantRed bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() == 0 {
		t.Fatalf("empty screenshot %s", path)
	}
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 900 {
		t.Errorf("screenshot is %dx%d, want 1200x900", b.Dx(), b.Dy())
	}
	colours, red := countColours(img)
	if colours < 20 {
		t.Errorf("screenshot has %d colours: a blank page?", colours)
	}
	if wantRed && red == 0 {
		t.Error("no failure red in the screenshot")
	}
}

// countColours counts the distinct colours of an image and its pixels close to the failure
// red (#cf222e).
func countColours(img image.Image) (distinct, red int) {
	seen := map[color.RGBA]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			c := color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 0xff}
			seen[c] = true
			if near(c.R, 0xcf) && near(c.G, 0x22) && near(c.B, 0x2e) {
				red++
			}
		}
	}
	return len(seen), red
}

func near(a, b uint8) bool { return a+24 >= b && a <= b+24 }

var lineEnd = regexp.MustCompile(`\r?\n`)

func lastLines(s string, n int) string {
	lines := lineEnd.Split(strings.TrimSpace(s), -1)
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
