package report

import (
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Replay is the outcome of mtcp-replay: one capture, replayed once (the stack in one host's
// place) or, with --all, once per host and role.
type Replay struct {
	Title string // "mtcp-replay of pcaps/linux-http-small.pcapng"
	// Capture is the capture replayed, on disk (pcap or pcapng, gzipped or not): read to draw
	// what the recorded host sent. CaptureLink is its href from the page ("" for no link).
	Capture, CaptureLink string
	Runs                 []ReplayRun
	// MaxFrames bounds the rows drawn per run from the start (0: DefaultMaxFrames); those
	// around the first difference are drawn as well.
	MaxFrames int
}

// ReplayRun is one replay of the capture: replay.Report and the output capture it wrote.
type ReplayRun struct {
	// Name says which replay it is: "the stack as 198.18.1.2, server".
	Name string
	// Host is the recorded host the stack played (Report.Host), and HostMAC its MAC
	// (Report.HostMAC): the capture's frames from and to it are the recorded side of the
	// drawing. An invalid Host (nothing was replayed) draws no ladder.
	Host    netip.Addr
	HostMAC net.HardwareAddr
	// Verdict is Report.Verdict(): "equivalent", "different: 2 differences", "not comparable:
	// ...". Coverage is Report.Coverage().
	Verdict, Coverage string
	// Output is the replay's output capture (Options.Output; for --all, Role.Output) on disk:
	// the injected frames and the stack's, with their comments. "" draws the recorded side
	// only. OutputLink is its href from the page.
	Output, OutputLink string
	Conversations      []Conversation
	// Differences are Report.Differences; MoreDifferences is Report.MoreDifferences.
	Differences     []Difference
	MoreDifferences int
	// Notes are shown as they are, one a line: Report.Why, the artefacts, damaged frames,
	// conversations not replayed, records skipped.
	Notes []string
}

// Conversation is a TCP conversation replayed (replay.ConvSummary).
type Conversation struct {
	Name                        string // "198.18.1.1:56594 -> 198.18.1.2:8080"
	Role                        string // "server" or "client": what the stack was
	HostBytes, StackBytes       int64
	HostSegments, StackSegments int
	Differences                 int
}

// Difference is where the stack differed from the recorded host (replay.Difference).
type Difference struct {
	Frame           int           // the capture's record number; 0: none
	At              time.Duration // from the capture's first record
	Conv            string
	Recorded, Stack string // in packetdrill notation; "" for nothing
	What            string
}

// WriteReplay writes the replay's report as one self-contained HTML page: per run its
// verdict, conversations and differences, and a ladder of the recorded capture (the peer
// and the recorded host) beside one of the replay (the peer's frames injected and the
// stack's answers), on the capture's clock, so that a reader sees where the stack went
// another way. Unreadable captures are said in the page; WriteReplay returns only w's error.
func WriteReplay(w io.Writer, r Replay) error {
	maxFrames := cmp.Or(r.MaxFrames, DefaultMaxFrames)
	page := replayPage{Title: cmp.Or(r.Title, "replay report"), Capture: r.Capture, CaptureLink: r.CaptureLink, Legend: legend()}
	anchors := reservedAnchors()
	for i, run := range r.Runs {
		v := runView{Name: cmp.Or(run.Name, fmt.Sprintf("replay %d", i+1)), Verdict: run.Verdict, Coverage: run.Coverage,
			Output: run.Output, OutputLink: run.OutputLink, Notes: run.Notes, More: run.MoreDifferences}
		v.Anchor = anchor(v.Name, anchors)
		v.Class = outcomeClass(run.Verdict)
		for _, c := range run.Conversations {
			cv := convView{Conversation: c, Verdict: "equivalent", Class: "passed"}
			if c.Differences > 0 {
				cv.Verdict, cv.Class = plural(c.Differences, "difference"), "failed"
			}
			v.Conversations = append(v.Conversations, cv)
		}
		for _, d := range run.Differences {
			dv := diffView{Difference: d, At: fmt.Sprintf("+%.6f", d.At.Seconds())}
			if d.Recorded != "" || d.Stack != "" { // else the difference is about no segment: What says it all
				dv.Recorded, dv.Stack = cmp.Or(d.Recorded, "nothing"), cmp.Or(d.Stack, "nothing")
			}
			v.Differences = append(v.Differences, dv)
		}
		if run.Host.IsValid() {
			l, summary, err := replayLadder(r, run, maxFrames)
			v.Summary = summary
			if err != nil {
				v.Summary = strings.TrimPrefix(summary+"; ", "; ") + err.Error()
			}
			if l != nil {
				l.title = "ladder diagram of " + v.Name
				v.Ladder = l.svg()
			}
		} else {
			v.Summary = "nothing was replayed"
		}
		page.Runs = append(page.Runs, v)
	}
	return pageTemplate.ExecuteTemplate(w, "replay", page)
}

type replayPage struct {
	Title, Capture, CaptureLink string
	Runs                        []runView
	Legend                      template.HTML
}

type runView struct {
	Anchor, Name, Verdict, Class, Coverage string
	Output, OutputLink                     string
	Conversations                          []convView
	Differences                            []diffView
	More                                   int
	Notes                                  []string
	Ladder                                 template.HTML
	Summary                                string
}

type convView struct {
	Conversation
	Verdict, Class string
}

type diffView struct {
	Difference
	At, Recorded, Stack string
}

// outcomeClass is the CSS class of a replay's verdict.
func outcomeClass(verdict string) string {
	switch {
	case verdict == "equivalent":
		return "passed"
	case strings.HasPrefix(verdict, "different"):
		return "failed"
	}
	return "skipped"
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// source is a capture read frame by frame.
type source interface {
	next() (*frame, error)
}

// peekable is a source with one frame of lookahead; a read error ends it and is kept.
type peekable struct {
	src  source
	head *frame
	err  error
	done bool
}

func (p *peekable) peek() *frame {
	if p.head == nil && !p.done && p.src != nil {
		f, err := p.src.next()
		if err != nil {
			p.done = true
			if !errors.Is(err, io.EOF) {
				p.err = err
			}
			return nil
		}
		p.head = f
	}
	return p.head
}

func (p *peekable) take() *frame {
	f := p.peek()
	p.head = nil
	return f
}

// replayLadder merges the recorded capture (the host's frames and those to it) with the
// replay's output into rows on the capture's clock: a frame the replay injected from the
// capture shares its row with the recorded frame it copies, and the stack's frames take
// rows of their own, so that the recorded host's answer and the stack's sit one above the
// other.
func replayLadder(r Replay, run ReplayRun, maxFrames int) (*ladder, string, error) {
	var errs []error
	rec := &peekable{}
	var recReader *recordedReader
	if r.Capture != "" {
		var injected map[int]bool
		if run.Output != "" {
			injected, _ = injectedRecords(run.Output) // an unreadable output is said below
		}
		rr, err := openRecorded(r.Capture, run.Host, run.HostMAC, injected)
		if err != nil {
			errs = append(errs, fmt.Errorf("recorded capture: %w", err))
		} else {
			defer rr.Close()
			recReader, rec.src = rr, rr
		}
	}
	out := &peekable{}
	if run.Output != "" {
		o, err := openOwn(run.Output)
		if err != nil {
			errs = append(errs, fmt.Errorf("output capture: %w", err))
		} else {
			defer o.Close()
			out.src = o
		}
	}
	if rec.src == nil && out.src == nil {
		return nil, "", errors.Join(errs...)
	}
	differs := map[int]string{}
	for _, d := range run.Differences {
		if d.Frame > 0 && differs[d.Frame] == "" {
			differs[d.Frame] = d.What
		}
	}
	twoSided := rec.src != nil && out.src != nil
	cells := func(recorded, replayed *frame) []*frame {
		switch {
		case twoSided:
			return []*frame{recorded, replayed}
		case rec.src != nil:
			return []*frame{recorded}
		}
		return []*frame{replayed}
	}
	pk := newPicker(maxFrames, around)
	peers, outPeers := newTally(), newTally()
	var nRec, nOut int
	var first time.Time
	for {
		a, b := rec.peek(), out.peek()
		if a == nil && b == nil {
			break
		}
		var rw *row
		switch {
		case a != nil && b != nil && b.tag == a.num:
			rw = &row{at: a.at, cells: cells(rec.take(), out.take())}
		case a != nil && (b == nil || b.tag > a.num || !b.at.Before(a.at)):
			rw = &row{at: a.at, cells: cells(rec.take(), nil)}
		default:
			rw = &row{at: b.at, cells: cells(nil, out.take())}
		}
		if first.IsZero() {
			first = rw.at
		}
		interesting := false
		for i, c := range rw.cells {
			if c == nil {
				continue
			}
			if i == 0 && rec.src != nil {
				nRec++
				if c.toRight {
					peers.add(c.src)
				}
				if what, ok := differs[c.num]; ok {
					c.verdict = verdict{class: failed, why: what}
				}
			} else {
				nOut++
				if c.toRight {
					outPeers.add(c.src)
				}
			}
			if c.verdict.class == failed {
				interesting = true
			}
		}
		pk.add(rw, interesting)
	}
	for _, p := range []*peekable{rec, out} {
		if p.err != nil {
			errs = append(errs, p.err)
		}
	}
	start := first
	if recReader != nil && recReader.started {
		start = recReader.start
	}
	host := run.Host.String()
	var pairs []ladderPair
	if rec.src != nil {
		pairs = append(pairs, ladderPair{caption: "recorded capture", left: lifeline{"peer", peers.best()}, right: lifeline{"recorded host", host}})
	}
	if out.src != nil {
		pairs = append(pairs, ladderPair{caption: "replay", left: lifeline{"peer", outPeers.best()}, right: lifeline{"stack", host}})
	}
	l := &ladder{pairs: pairs, items: pk.done(), start: start, notes: func(rw *row) []note {
		var ns []note
		for i, c := range rw.cells {
			if c == nil {
				continue
			}
			if i == 0 && rec.src != nil {
				if c.verdict.class == failed {
					ns = append(ns, note{class: "n-failed strong", text: fmt.Sprintf("✗ capture #%d: %s", c.num, c.verdict.why), wrap: true})
				}
				continue
			}
			skip := ""
			if c.tag > 0 && twoSided {
				skip = fmt.Sprintf("capture frame %d", c.tag) // the row says it
			}
			ns = append(ns, frameNotes(c, skip)...)
		}
		return ns
	}}
	summary := ""
	if rec.src != nil {
		summary = fmt.Sprintf("recorded: %s of or to %s", plural(nRec, "frame"), host)
		if recReader.skipped > 0 {
			summary += fmt.Sprintf(" (%d between other hosts not drawn)", recReader.skipped)
		}
	}
	if out.src != nil {
		if summary != "" {
			summary += "; "
		}
		summary += "replay: " + plural(nOut, "frame")
	}
	if drawn, total := countRows(l.items), pk.total; drawn < total {
		summary += fmt.Sprintf("; %d of %d rows drawn", drawn, total)
	}
	return l, summary, errors.Join(errs...)
}
