package replay_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/harness/replay"
)

// TestSignals runs the mtcp-replay binary with -o on a capture that takes it over a second,
// and interrupts it with SIGINT, then SIGTERM, once its first progress line shows the replay
// has begun: it exits 130 or 143, prints the report of the frames replayed until then with
// "interrupted at frame N of M" last, and leaves no file in the output's directory (neither
// the output nor its hidden temporary file, which did exist before the signal).
func TestSignals(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT or SIGTERM to send")
	}
	bin := filepath.Join(t.TempDir(), "mtcp-replay")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/mtcp-go/mtcp/cmd/mtcp-replay").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	large := filepath.Join(t.TempDir(), "large.pcap")
	writeLargeCapture(t, large, 500_000)

	for _, c := range []struct {
		sig  syscall.Signal
		name string
		exit int
	}{{syscall.SIGINT, "SIGINT", 130}, {syscall.SIGTERM, "SIGTERM", 143}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(bin, "-o", filepath.Join(dir, "replay.pcapng"), large)
			cmd.Env = append(os.Environ(), "MTCP_REPLAY_PROGRESS_EVERY=1ms")
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			stderrPipe, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			lines := make(chan string)
			var stderr bytes.Buffer
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(io.TeeReader(stderrPipe, &stderr))
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
			// The first progress line: the replay is under way.
			timeout := time.After(2 * time.Minute)
		progress:
			for {
				select {
				case l, ok := <-lines:
					if !ok {
						cmd.Wait()
						t.Fatalf("the replay ended before any progress line; stdout:\n%s", stdout.String())
					}
					if strings.HasPrefix(l, "replaying: ") {
						break progress
					}
					t.Errorf("stderr before the progress: %q", l)
				case <-timeout:
					t.Fatal("no progress line in 2 minutes")
				}
			}
			if tmp, _ := filepath.Glob(filepath.Join(dir, ".mtcp-replay-*.pcapng")); len(tmp) != 1 {
				t.Errorf("temporary files before the signal: %v, want one", tmp)
			}
			if err := cmd.Process.Signal(c.sig); err != nil {
				t.Fatal(err)
			}
			for range lines { // the rest of stderr, then wait
			}
			err = cmd.Wait()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != c.exit {
				t.Errorf("%s: %v, want exit status %d", c.name, err, c.exit)
			}

			out := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
			m := regexp.MustCompile(`^interrupted at frame (\d+) of (\d+)$`).FindStringSubmatch(out[len(out)-1])
			if m == nil {
				t.Fatalf("last line %q, want 'interrupted at frame N of M'; stdout:\n%s", out[len(out)-1], stdout.String())
			}
			n, _ := strconv.Atoi(m[1])
			total, _ := strconv.Atoi(m[2])
			if n < 4096 || n >= total {
				t.Errorf("interrupted at frame %d of %d: want one between the first progress (4096) and the last", n, total)
			}
			// The report so far precedes it.
			report := strings.Join(out[:len(out)-1], "\n")
			for _, want := range []string{"capture: " + large + " (pcap), " + m[2] + " records", "\nthe stack plays 198.18.0.2 ",
				"\nframes: ", "\ntcp 198.18.0.1:40000 -> 198.18.0.2:80 (stack as server): "} {
				if !strings.Contains(report, want) {
					t.Errorf("the report lacks %q:\n%s", want, stdout.String())
				}
			}
			if strings.Contains(report, "equivalent") || strings.Contains(report, "different: ") {
				t.Errorf("a verdict in an interrupted report:\n%s", stdout.String())
			}
			if !strings.Contains(stderr.String(), "mtcp-replay: "+c.name+": stopped, ") {
				t.Errorf("stderr:\n%s", stderr.String())
			}
			left, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range left {
				t.Errorf("left behind: %s", f.Name())
			}
		})
	}
}

// Options.Stop interrupts the replay before the next record: here it is closed at the first
// progress report (after record 4096). The report covers those records, Equivalent is false,
// the verdict says where it stopped, and no output is left.
func TestStop(t *testing.T) {
	dir := t.TempDir()
	capture := filepath.Join(dir, "c.pcap")
	writeLargeCapture(t, capture, 20_000)
	out := filepath.Join(dir, "out", "replay.pcapng")
	if err := os.Mkdir(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	rep, err := replay.Replay(capture, replay.Options{Output: out, Stop: stop, Progress: func(done, total int) {
		if done < total {
			select {
			case <-stop:
			default:
				close(stop)
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted || rep.Replayed != 4096 || rep.Equivalent() || rep.Verdict() != "interrupted at frame 4096 of "+strconv.Itoa(rep.Records) {
		t.Errorf("interrupted %v after %d records, equivalent %v, verdict %q", rep.Interrupted, rep.Replayed, rep.Equivalent(), rep.Verdict())
	}
	if rep.Compared == 0 || len(rep.Conversations) != 1 || len(rep.Differences) != 0 {
		t.Errorf("compared %d, %d conversations, differences %v", rep.Compared, len(rep.Conversations), rep.Differences)
	}
	var buf bytes.Buffer
	rep.Write(&buf)
	if !strings.HasSuffix(buf.String(), "\ninterrupted at frame 4096 of "+strconv.Itoa(rep.Records)+"\n") {
		t.Errorf("report:\n%s", buf.String())
	}
	if left, _ := os.ReadDir(filepath.Dir(out)); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}

	// Closed before the start: nothing is replayed.
	rep, err = replay.Replay(capture, replay.Options{Output: out, Stop: stop})
	if err != nil || !rep.Interrupted || rep.Replayed != 0 {
		t.Fatalf("stopped from the start: %v, %+v", err, rep)
	}
	if left, _ := os.ReadDir(filepath.Dir(out)); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}

	// Never closed: the whole capture.
	rep, err = replay.Replay(capture, replay.Options{Output: out, Stop: make(chan struct{})})
	if err != nil || rep.Interrupted || rep.Replayed != rep.Records || !rep.Equivalent() {
		t.Fatalf("not stopped: %v, %+v", err, rep)
	}
	if _, err := os.Stat(out); err != nil {
		t.Error(err)
	}
}
