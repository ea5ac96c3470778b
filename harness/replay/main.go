package replay

import (
	"flag"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mtcp-go/mtcp/internal/cli"
)

const usage = `mtcp-replay replays a capture against mtcp and reports where the stack differs from the host it replaces.

Usage:
  mtcp-replay [flags] CAPTURE

CAPTURE is a pcap (either byte order, micro- or nanosecond, gzipped or not) or pcapng file.

Flags:
  -o FILE               write the replay as pcapng: injected and stack frames, direction flags,
                        a comment on each saying which capture frame it corresponds to (or why
                        none does); timestamps on the capture's clock, the injected frames'
                        as captured, so that it lines up with the capture in Wireshark
  --host IP[:PORT]      the host the stack plays (default: the server of the first TCP
                        conversation; of one that began before the capture, the end with
                        the lower port); with PORT, only its conversations on that port
  --all                 replay every TCP conversation twice, the stack in the server's place and
                        in the client's (a replay per host and role), with a verdict per
                        conversation and one overall, last; with -o FILE, each replay
                        writes its own: -o out.pcapng writes out.server-IP.pcapng and
                        out.client-IP.pcapng, one per host and role
  --client              play the client side: the client of the first TCP conversation (or
                        the --host), in the conversations it began only
  --compare LIST        also compare, comma-separated:
                          window   the window of control segments, scaled by the shift each
                                   side negotiated (but in SYNs, never scaled)
                          options  the kinds of options of control segments
                          rst-ack  a reset's ACK bit (by default RST and RST+ACK with the same
                                   sequence number are the same)
  --absolute            show sequence numbers as sent (default: relative to each side's ISN,
                        as Wireshark does: the recorded host's and its peer's ISN in the
                        capture, the stack's own)
  --horizon DURATION    how long the stack may take to answer before it counts as a
                        difference (default 3s, virtual time)
  --strict-input        damaged frames (cut short, malformed) are bad input: verdict "bad input:
                        N damaged frames", exit 2 (by default they are reported, injected as
                        captured or skipped, and counted on the "judged:" line)
  --html FILE           write a self-contained HTML report: the verdict, the conversations,
                        the differences, and ladder diagrams of the recorded host's frames and
                        the stack's side by side (without -o, the replay's pcapng is written
                        next to it, FILE with .pcapng for .html)
  --cpuprofile FILE     write a CPU profile of the replay to FILE (go tool pprof reads it)
  -q                    no progress on stderr (by default a bar on a terminal, otherwise a
                        line every 5 s: "replaying: 42% (266240/632771 frames), 12 s left")

Examples:
  mtcp-replay pcaps/linux-http-small.pcapng
  mtcp-replay --all -o out.pcapng --html report.html capture.pcap
  mtcp-replay --host 198.18.0.2:80 --compare window,options capture.pcapng

The last line of the report is the verdict: "equivalent", "different: N differences" or "not
comparable: WHY" (nothing the recorded host sent could be compared); the line before it says
what the verdict rests on: "judged: 612 of 640 host frames compared, 3 conversations" (and the
damaged frames and capture artefacts, each listed above it).
SIGINT or SIGTERM stops the replay at the next record: no output file is left (-o), and the
report of the frames replayed until then is printed, its last line "interrupted at frame N of
M"; a second signal stops at once, with no report.

Exit status: 0 equivalent, 1 different, 2 bad input or usage, 3 not comparable, 130
interrupted by SIGINT, 143 interrupted by SIGTERM.
`

// progressEveryEnv, set to a duration, overrides the 5 s between progress lines (for tests).
const progressEveryEnv = "MTCP_REPLAY_PROGRESS_EVERY"

// Main is mtcp-replay.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mtcp-replay", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are one line of ours, the help goes to stdout
	fs.Usage = func() {}
	var opts Options
	var host, compare, htmlFile string
	fs.StringVar(&htmlFile, "html", "", "HTML report")
	var quiet bool
	fs.BoolVar(&opts.Absolute, "absolute", false, "absolute sequence numbers")
	fs.StringVar(&opts.Output, "o", "", "output pcapng")
	fs.StringVar(&host, "host", "", "host to play")
	fs.BoolVar(&opts.Client, "client", false, "play the client")
	fs.StringVar(&compare, "compare", "", "window,options,rst-ack")
	fs.DurationVar(&opts.Horizon, "horizon", 3*time.Second, "answer horizon")
	fs.BoolVar(&quiet, "q", false, "no progress")
	fs.BoolVar(&opts.StrictInput, "strict-input", false, "damaged frames are bad input")
	var all bool
	fs.BoolVar(&all, "all", false, "every conversation in both roles")
	var cpuProfile string
	fs.StringVar(&cpuProfile, "cpuprofile", "", "CPU profile")
	// Flags may follow the capture: "mtcp-replay c.pcap -o out.pcapng".
	paths, err := cli.Parse(fs, args)
	switch {
	case err == flag.ErrHelp:
		fmt.Fprint(stdout, usage)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "mtcp-replay: %v (see mtcp-replay --help)\n", err)
		return 2
	}
	if len(paths) != 1 {
		fmt.Fprintf(stderr, "mtcp-replay: want one capture, got %d (see mtcp-replay --help)\n", len(paths))
		return 2
	}
	if htmlFile != "" {
		if opts.Output == "" { // the stack's frames are drawn from the replay's capture
			opts.Output = strings.TrimSuffix(htmlFile, ".html") + ".pcapng"
		}
		if err := cli.CheckFile(htmlFile); err != nil {
			fmt.Fprintf(stderr, "mtcp-replay: --html %s: %v\n", htmlFile, err)
			return 2
		}
		if a, b := mustStat(htmlFile), mustStat(paths[0]); a != nil && b != nil && os.SameFile(a, b) {
			fmt.Fprintf(stderr, "mtcp-replay: --html %s is the capture itself\n", htmlFile)
			return 2
		}
	}
	if opts.Horizon <= 0 {
		fmt.Fprintf(stderr, "mtcp-replay: --horizon %v: want a positive duration\n", opts.Horizon)
		return 2
	}
	if opts.Output != "" {
		if a, b := mustStat(opts.Output), mustStat(paths[0]); a != nil && b != nil && os.SameFile(a, b) {
			fmt.Fprintf(stderr, "mtcp-replay: -o %s is the capture itself\n", opts.Output)
			return 2
		}
	}
	if all && (host != "" || opts.Client) {
		fmt.Fprintln(stderr, "mtcp-replay: --all plays every host in both roles: it takes no --host or --client")
		return 2
	}
	if host != "" {
		if ap, err := netip.ParseAddrPort(host); err == nil && ap.Addr().Is4() {
			opts.Host, opts.HostPort = ap.Addr(), ap.Port()
		} else if a, err := netip.ParseAddr(host); err == nil && a.Is4() {
			opts.Host = a
		} else {
			fmt.Fprintf(stderr, "mtcp-replay: --host %q is not an IPv4 address or address:port\n", host)
			return 2
		}
	}
	for _, c := range strings.Split(compare, ",") {
		switch strings.TrimSpace(c) {
		case "":
		case "window":
			opts.CompareWindow = true
		case "options":
			opts.CompareOptions = true
		case "rst-ack":
			opts.CompareRSTACK = true
		default:
			fmt.Fprintf(stderr, "mtcp-replay: --compare takes window, options and rst-ack, not %q\n", c)
			return 2
		}
	}
	if cpuProfile != "" {
		stop, err := startCPUProfile(cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "mtcp-replay: --cpuprofile %s: %v\n", cpuProfile, err)
			return 2
		}
		defer stop()
	}
	var prog *progress
	if !quiet {
		every := 5 * time.Second
		if d, err := time.ParseDuration(os.Getenv(progressEveryEnv)); err == nil && d > 0 {
			every = d
		}
		prog = newProgress(stderr, isTerminal(stderr), every, time.Now)
		opts.Progress = prog.update
	}

	// SIGINT and SIGTERM close stop, which the replay looks at before each record; a second
	// one returns at once, once the output files are removed.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	stop := make(chan struct{})
	opts.Stop = stop
	type result struct {
		rep *Report
		all *AllReport
		err error
	}
	done := make(chan result, 1)
	go func() {
		if all {
			a, err := ReplayAll(paths[0], opts)
			done <- result{all: a, err: err}
			return
		}
		rep, err := Replay(paths[0], opts)
		done <- result{rep: rep, err: err}
	}()
	var sig os.Signal // the first signal
	var res result
wait:
	for {
		select {
		case res = <-done:
			break wait
		case s := <-sigs:
			if sig == nil {
				sig = s
				close(stop)
				continue
			}
			removeOutputs()
			if prog != nil && prog.terminal {
				fmt.Fprintln(stderr) // past the bar, which the replay may still be drawing
			}
			fmt.Fprintf(stderr, "mtcp-replay: %s again: stopped at once\n", signalName(s))
			return signalStatus(s)
		}
	}
	prog.finish()
	rep, err := res.rep, res.err
	if err != nil {
		fmt.Fprintf(stderr, "mtcp-replay: %v\n", err)
		if sig != nil {
			return signalStatus(sig)
		}
		return 2
	}
	if a := res.all; a != nil {
		if sig != nil {
			a.Interrupted = true
			a.removeOutputs()
			fmt.Fprintf(stderr, "mtcp-replay: %s: stopped\n", signalName(sig))
		}
		a.Write(stdout)
		if htmlFile != "" && !reportHTML(stderr, htmlFile, writeHTML(htmlFile, paths[0], nil, "", a)) {
			return 2
		}
		if o := a.Outcome(); o != Interrupted {
			return int(o)
		}
		return signalStatus(sig)
	}
	if sig != nil && !rep.Interrupted {
		// The signal came as the output was being written, after the replay's last look at
		// stop: interrupted all the same, with no output left.
		rep.Interrupted = true
		if opts.Output != "" {
			os.Remove(opts.Output)
		}
	}
	switch {
	case rep.Interrupted:
		fmt.Fprintf(stderr, "mtcp-replay: %s: stopped", signalName(sig))
		if opts.Output != "" {
			fmt.Fprintf(stderr, ", %s not written", opts.Output)
		}
		fmt.Fprintln(stderr)
	case opts.Output != "" && !rep.Host.IsValid() && rep.NotComparable != "":
		fmt.Fprintf(stderr, "mtcp-replay: nothing was replayed, so %s was not written\n", opts.Output)
	case opts.Output != "":
		fmt.Fprintf(stderr, "mtcp-replay: the replay is in %s\n", opts.Output)
	}
	if htmlFile != "" && !reportHTML(stderr, htmlFile, writeHTML(htmlFile, paths[0], rep, opts.Output, nil)) {
		return 2
	}
	rep.Write(stdout) // last: its last line is the verdict, or says where it was interrupted
	if o := rep.Outcome(); o != Interrupted {
		return int(o)
	}
	return signalStatus(sig)
}

// startCPUProfile starts writing a CPU profile to path; stop ends it and closes the file.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// reportHTML says where the HTML report is, or why it could not be written.
func reportHTML(stderr io.Writer, path string, err error) bool {
	if err != nil {
		fmt.Fprintf(stderr, "mtcp-replay: writing the HTML report: %v\n", err)
		return false
	}
	fmt.Fprintf(stderr, "mtcp-replay: the HTML report is in %s\n", path)
	return true
}

// signalStatus is the exit status of a command interrupted by s: 128 and its number, as a
// shell reports a command that s killed (130 for SIGINT, 143 for SIGTERM).
func signalStatus(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 130
}

func signalName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return fmt.Sprint(s)
}

func mustStat(p string) os.FileInfo {
	fi, err := os.Stat(p)
	if err != nil {
		return nil
	}
	return fi
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress shows how far the replay is on stderr. On a terminal it draws a bar, for replays
// that take more than half a second, and clears it at the end; elsewhere (a log, a pipe) it
// prints a line now and then:
//
//	replaying: 42% (266240/632771 frames), 12 s left
//
// one when every has passed since the start, then one every every; the time left is
// estimated from the pace since the first update (at 4096 frames), and left out until there
// is one.
type progress struct {
	w        io.Writer
	terminal bool
	every    time.Duration
	now      func() time.Time
	start    time.Time
	shown    bool // the bar is drawn

	next      time.Time // when the next line is due
	first     bool      // firstAt and firstDone are set
	firstAt   time.Time
	firstDone int
}

func newProgress(w io.Writer, terminal bool, every time.Duration, now func() time.Time) *progress {
	start := now()
	return &progress{w: w, terminal: terminal, every: every, now: now, start: start, next: start.Add(every)}
}

// update is Options.Progress.
func (p *progress) update(done, total int) {
	if total == 0 {
		return
	}
	if p.terminal {
		p.bar(done, total)
		return
	}
	if done >= total {
		return
	}
	t := p.now()
	if !p.first {
		p.first, p.firstAt, p.firstDone = true, t, done
	}
	if t.Before(p.next) {
		return
	}
	p.next = t.Add(p.every)
	line := fmt.Sprintf("replaying: %d%% (%d/%d frames)", done*100/total, done, total)
	if elapsed := t.Sub(p.firstAt); elapsed > 0 && done > p.firstDone {
		left := time.Duration(float64(elapsed) * float64(total-done) / float64(done-p.firstDone))
		line += ", " + approx(left) + " left"
	}
	fmt.Fprintln(p.w, line)
}

// approx renders a time left: "12 s", "3 min 5 s", "2 h 10 min", rounded up.
func approx(d time.Duration) string {
	s := int64(math.Ceil(d.Seconds()))
	switch {
	case s < 60:
		return fmt.Sprintf("%d s", s)
	case s < 3600:
		return fmt.Sprintf("%d min %d s", s/60, s%60)
	}
	m := (s + 59) / 60
	return fmt.Sprintf("%d h %d min", m/60, m%60)
}

func (p *progress) bar(done, total int) {
	if done >= total {
		p.finish()
		return
	}
	if p.now().Sub(p.start) < 500*time.Millisecond {
		return
	}
	p.shown = true
	const width = 30
	n := done * width / total
	fmt.Fprintf(p.w, "\rreplaying [%s%s] %3d%% %s/%s frames", strings.Repeat("#", n), strings.Repeat(".", width-n),
		done*100/total, strconv.Itoa(done), strconv.Itoa(total))
}

// finish clears the bar, if it is drawn. A nil progress does nothing.
func (p *progress) finish() {
	if p != nil && p.shown {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 60))
		p.shown = false
	}
}

// progressBar is the progress of a terminal: a bar.
func progressBar(w io.Writer) func(done, total int) { return progressBarAt(w, time.Now()) }

// progressBarAt is progressBar for a replay that started at start.
func progressBarAt(w io.Writer, start time.Time) func(done, total int) {
	p := newProgress(w, true, 0, time.Now)
	p.start = start
	return p.update
}
