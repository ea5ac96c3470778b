//go:build linux

package replay_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkReplayVsTshark compares the mtcp-replay command with `tshark -q -z conv,tcp` (a
// pass over the capture that, like the replay, follows every TCP conversation) on the same
// captures, as separate processes on the same machine:
//
//	go test -run '^$' -bench ReplayVsTshark -benchtime 1x ./harness/replay
//
// bulk is 1,048 sequential HTTP/1.1 downloads of 1 MiB (1,148,608 frames, 1.2 GB; see
// writeBulkCapture), small one conversation of 100-byte segments (999,999 frames, 139 MB; see
// writeLargeCapture). Each iteration runs the built mtcp-replay binary (-q) and tshark once,
// checks that both exit 0 and that the replay's verdict is "equivalent", and reports, per
// iteration: mtcp-wall-s and tshark-wall-s, their CPU time (user and system, from the
// children's rusage) mtcp-cpu-s and tshark-cpu-s, wall-ratio and cpu-ratio (tshark's over
// mtcp-replay's: 3 is three times as fast), frames/s (the replay's, of wall time), and each
// one's peak RSS in MB. ns/op is mtcp-replay's wall time alone. Without tshark the benchmark is
// skipped, saying so, but fails when CI=true. MTCP_BENCH_CAPTURE_DIR=dir keeps the captures
// there (written once, reused by later runs, and open to other tools); by default they go to a
// temporary directory. A benchmark, not a test: nothing here holds the ratios to a threshold.
func BenchmarkReplayVsTshark(b *testing.B) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatalf("tshark is needed (ci/setup.sh installs it): %v", err)
		}
		b.Skipf("tshark not found, nothing to compare with (apt-get install tshark; set CI=true to make this a failure): %v", err)
	}
	dir := os.Getenv("MTCP_BENCH_CAPTURE_DIR")
	if dir == "" {
		dir = b.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	bin := buildReplay(b)
	for _, shape := range []struct {
		name  string
		write func(tb testing.TB, path string)
	}{
		{"bulk", func(tb testing.TB, path string) { writeBulkCapture(tb, path, 1048) }},
		{"small", func(tb testing.TB, path string) { writeLargeCapture(tb, path, 1_000_000) }},
	} {
		b.Run(shape.name, func(b *testing.B) {
			path := filepath.Join(dir, shape.name+".pcap")
			if _, err := os.Stat(path); err != nil {
				// Written beside it, then renamed: a capture cut short by an interrupted run is
				// never taken for a whole one.
				tmp := path + ".part"
				shape.write(b, tmp)
				if err := os.Rename(tmp, path); err != nil {
					b.Fatal(err)
				}
			}
			var m, t childRun
			var frames int
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				tr := runChild(b, tshark, "-q", "-z", "conv,tcp", "-r", path)
				if !strings.Contains(tr.stdout, "TCP Conversations") {
					b.Fatalf("tshark -q -z conv,tcp -r %s printed no conversation table:\n%s", path, tr.stdout)
				}
				b.StartTimer()
				mr := runChild(b, bin, "-q", path)
				lines := strings.Split(strings.TrimSpace(mr.stdout), "\n")
				if v := lines[len(lines)-1]; v != "equivalent" {
					b.Fatalf("mtcp-replay %s: verdict %q, not equivalent:\n%s", path, v, mr.stdout)
				}
				frames = recordsOf(b, mr.stdout)
				m.add(mr)
				t.add(tr)
			}
			n := float64(b.N)
			b.ReportMetric(m.wall.Seconds()/n, "mtcp-wall-s")
			b.ReportMetric(t.wall.Seconds()/n, "tshark-wall-s")
			b.ReportMetric(m.cpu.Seconds()/n, "mtcp-cpu-s")
			b.ReportMetric(t.cpu.Seconds()/n, "tshark-cpu-s")
			b.ReportMetric(t.wall.Seconds()/m.wall.Seconds(), "wall-ratio")
			b.ReportMetric(t.cpu.Seconds()/m.cpu.Seconds(), "cpu-ratio")
			b.ReportMetric(float64(frames)*n/m.wall.Seconds(), "frames/s")
			b.ReportMetric(float64(m.maxRSS)/(1<<20), "mtcp-maxrss-MB")
			b.ReportMetric(float64(t.maxRSS)/(1<<20), "tshark-maxrss-MB")
		})
	}
}

// childRun is what a child process took: wall time, CPU time (user and system), peak RSS in
// bytes; summed over runs by add (the peak, the highest).
type childRun struct {
	wall, cpu time.Duration
	maxRSS    int64
	stdout    string
}

func (r *childRun) add(o childRun) {
	r.wall += o.wall
	r.cpu += o.cpu
	r.maxRSS = max(r.maxRSS, o.maxRSS)
}

// runChild runs a command to its end, and fails unless it exits 0.
func runChild(tb testing.TB, name string, args ...string) childRun {
	tb.Helper()
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		tb.Fatalf("%s %s: %v (it must exit 0)\n%s%s", name, strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	ps := cmd.ProcessState
	r := childRun{wall: wall, cpu: ps.UserTime() + ps.SystemTime(), stdout: stdout.String()}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = int64(ru.Maxrss) << 10 // kilobytes on Linux
	}
	return r
}

// buildReplay builds the mtcp-replay command into a directory of the benchmark's (go's build
// cache makes it quick after the first time).
func buildReplay(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "mtcp-replay")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/mtcp-go/mtcp/cmd/mtcp-replay").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var recordsLine = regexp.MustCompile(`(?m)^capture: .*, (\d+) records`)

// recordsOf reads the number of records from a report's first line ("capture: PATH (pcap),
// 1148608 records, 1.291 s").
func recordsOf(tb testing.TB, report string) int {
	tb.Helper()
	m := recordsLine.FindStringSubmatch(report)
	if m == nil {
		tb.Fatalf("no record count in the report:\n%s", report)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
