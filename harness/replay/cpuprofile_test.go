package replay_test

import (
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"
)

// --cpuprofile writes a CPU profile of the replay (go tool pprof reads it: "go test" has
// written one by the same runtime/pprof); a file it cannot create is bad usage, exit 2.
func TestCPUProfileFlag(t *testing.T) {
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		t.Skipf("a CPU profile is being written already (go test -cpuprofile): %v", err)
	}
	pprof.StopCPUProfile()
	dir := t.TempDir()
	prof := filepath.Join(dir, "cpu.prof")
	capture := filepath.Join("..", "..", "pcaps", "linux-http-large.pcapng")
	if out, code := run("-q", "--cpuprofile", prof, capture); code != 0 || lastLine(out) != "equivalent" {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if fi, err := os.Stat(prof); err != nil || fi.Size() == 0 {
		t.Fatalf("the profile: %v (%v)", fi, err)
	}
	out, code := run("-q", "--cpuprofile", filepath.Join(dir, "no", "such", "dir", "cpu.prof"), capture)
	if code != 2 || !strings.Contains(out, "--cpuprofile") {
		t.Errorf("a profile it cannot create: exit %d, want 2:\n%s", code, out)
	}
	if help, _ := run("--help"); !strings.Contains(help, "--cpuprofile FILE") {
		t.Errorf("--help does not show --cpuprofile:\n%s", help)
	}
}
