package replay

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mtcp-go/mtcp/internal/cli"
)

const usage = `mtcp-replay replays a capture against mtcp and reports where the stack differs from the host it replaces.

Usage:
  mtcp-replay [flags] CAPTURE

CAPTURE is a pcap (either byte order, micro- or nanosecond, gzipped or not) or pcapng file.

Flags:
  -o FILE               write the replay as pcapng: injected and stack frames, direction flags,
                        a comment on each saying which capture frame it corresponds to
  --host IP[:PORT]      the host the stack plays (default: the server of the first TCP
                        conversation); with PORT, only its conversations on that port
  --client              play the client of the first TCP conversation instead
  --compare LIST        also compare window, options (the kinds) of control segments
                        (comma-separated)
  --horizon DURATION    how long the stack may take to answer before it counts as a
                        difference (default 3s, virtual time)
  -q                    no progress bar

Exit status: 0 equivalent, 1 different, 2 bad input or usage. The last line of the report is
the verdict: "equivalent" or "different: N differences".
`

// Main is mtcp-replay.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mtcp-replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	var opts Options
	var host, compare string
	var quiet bool
	fs.StringVar(&opts.Output, "o", "", "output pcapng")
	fs.StringVar(&host, "host", "", "host to play")
	fs.BoolVar(&opts.Client, "client", false, "play the client")
	fs.StringVar(&compare, "compare", "", "window,options")
	fs.DurationVar(&opts.Horizon, "horizon", 3*time.Second, "answer horizon")
	fs.BoolVar(&quiet, "q", false, "no progress bar")
	// Flags may follow the capture: "mtcp-replay c.pcap -o out.pcapng".
	paths, err := cli.Parse(fs, args)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if len(paths) != 1 {
		fmt.Fprintf(stderr, "mtcp-replay: want one capture, got %d (see mtcp-replay --help)\n", len(paths))
		return 2
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
		default:
			fmt.Fprintf(stderr, "mtcp-replay: --compare takes window and options, not %q\n", c)
			return 2
		}
	}
	if !quiet && isTerminal(stderr) {
		opts.Progress = progressBar(stderr)
	}
	rep, err := Replay(paths[0], opts)
	if err != nil {
		fmt.Fprintf(stderr, "mtcp-replay: %v\n", err)
		return 2
	}
	if opts.Output != "" {
		fmt.Fprintf(stderr, "mtcp-replay: the replay is in %s\n", opts.Output)
	}
	rep.Write(stdout) // last: its last line is the verdict
	if !rep.Equivalent() {
		return 1
	}
	return 0
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

// progressBar draws a bar on w for replays that take more than half a second, and clears it
// at the end.
func progressBar(w io.Writer) func(done, total int) { return progressBarAt(w, time.Now()) }

// progressBarAt is progressBar for a replay that started at start.
func progressBarAt(w io.Writer, start time.Time) func(done, total int) {
	shown := false
	return func(done, total int) {
		if total == 0 {
			return
		}
		if done >= total {
			if shown {
				fmt.Fprintf(w, "\r%s\r", strings.Repeat(" ", 60))
			}
			return
		}
		if time.Since(start) < 500*time.Millisecond {
			return
		}
		shown = true
		const width = 30
		n := done * width / total
		fmt.Fprintf(w, "\rreplaying [%s%s] %3d%% %s/%s frames", strings.Repeat("#", n), strings.Repeat(".", width-n),
			done*100/total, strconv.Itoa(done), strconv.Itoa(total))
	}
}
