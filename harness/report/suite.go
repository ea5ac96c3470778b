package report

import (
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mtcp-go/mtcp/harness"
)

// DefaultMaxFrames is how many frames a ladder draws from the start of a capture when
// Suite.MaxFrames or Replay.MaxFrames is 0; the frames around the first failure are drawn too.
const DefaultMaxFrames = 200

// around is how many frames are drawn on each side of the first failure beyond MaxFrames.
const around = 12

// Verdicts of a Case.
const (
	Passed  = "passed"
	Failed  = "failed"
	Skipped = "skipped"
	NotRun  = "not run"
)

// Case is one case of a conformance run: a Go spec or a scenario script.
type Case struct {
	// ID names the case and is its anchor in the page (#A7): a catalog ID ("A7"), or for a
	// script its path ("tcp/handshake/H1-syn-to-listen.pkt"). Characters other than letters,
	// digits, '.', '_' and '-' become '-' in the anchor; a repeated ID gets "-2", "-3".
	ID    string
	Title string
	// Area is the catalog's area ("arp", "tcp") or a script's folder.
	Area string
	// RFCs are the references as the catalog writes them ("RFC 1122 2.3.2.1", "RFC 792, RFC
	// 1122 3.2.2.6"); the RFC filter offers the RFC numbers found in them.
	RFCs []string
	// Verdict is Passed, Failed, Skipped or NotRun; another text is shown as written and
	// filed under failed if it contains "fail", under not run otherwise.
	Verdict string
	// Failure is the failure message (or the reason for a skip), shown as written; Location is
	// where the failure was raised ("harness/conformance/arp.go:42").
	Failure, Location string
	// Capture is the case's pcapng on disk, read to draw its ladder; "" when it has none.
	Capture string
	// Link is the capture's href, relative to the page (see RelLink); "" for no link.
	Link string
	// Duration is how long the case took (wall clock).
	Duration time.Duration
}

// Suite is a conformance run.
type Suite struct {
	Title  string // "mtcp conformance"
	Target string // the stack under test: "mtcp", "linux"
	// Started is when the run started, shown in the page (the zero Time: not shown).
	Started time.Time
	Cases   []Case
	// MaxFrames bounds the frames drawn per case from the start of its capture (0:
	// DefaultMaxFrames); those around the first failing frame are drawn as well.
	MaxFrames int
}

// WriteSuite writes the suite's report as one self-contained HTML page: the failed cases
// first, each with its ladder diagram drawn from its capture, then a verdict table of every
// case and the sections of the others (their ladders folded); table and sections filter by
// area, RFC and verdict. A capture that cannot be read is reported in its case's section,
// not as an error: WriteSuite returns only w's error. The page is the same for the same
// suite and captures (no clock, no map order).
func WriteSuite(w io.Writer, s Suite) error {
	maxFrames := cmp.Or(s.MaxFrames, DefaultMaxFrames)
	page := suitePage{Title: cmp.Or(s.Title, "conformance report"), Target: s.Target}
	if !s.Started.IsZero() {
		page.Started = s.Started.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	anchors := reservedAnchors()
	areas, rfcs := map[string]bool{}, map[string]bool{}
	counts := map[string]int{}
	var views []*caseView
	for _, c := range s.Cases {
		v := &caseView{ID: c.ID, Title: c.Title, Area: c.Area, RFC: strings.Join(c.RFCs, "; "),
			Verdict: cmp.Or(c.Verdict, NotRun), Failure: strings.TrimRight(c.Failure, "\n"), Location: c.Location, Link: c.Link}
		v.Anchor = anchor(c.ID, anchors)
		v.Class = verdictClass(v.Verdict)
		if c.Duration > 0 {
			v.Duration = duration(c.Duration)
		}
		keys := rfcKeys(c.RFCs)
		v.RFCKeys = "|" + strings.Join(keys, "|") + "|"
		for _, k := range keys {
			rfcs[k] = true
		}
		if c.Area != "" {
			areas[c.Area] = true
		}
		counts[v.Class]++
		v.drawCase(c, maxFrames)
		views = append(views, v)
	}
	page.Rows = views
	for _, v := range views {
		if v.Class == "failed" {
			page.Failed = append(page.Failed, v)
		} else {
			page.Others = append(page.Others, v)
		}
	}
	page.FailedLinks, page.FailedMore = page.Failed, nil
	if len(page.Failed) > failedLinksShown {
		page.FailedLinks, page.FailedMore = page.Failed[:failedLinksShown], page.Failed[failedLinksShown:]
	}
	slices.SortStableFunc(page.Others, func(a, b *caseView) int {
		return cmp.Compare(sectionRank(a.Class), sectionRank(b.Class))
	})
	for _, k := range []string{"failed", "passed", "skipped", "notrun"} {
		if n := counts[k]; n > 0 {
			page.Counts = append(page.Counts, count{Class: k, Name: verdictName(k), N: n})
		}
	}
	page.Total = len(views)
	page.Areas = sortedKeys(areas, strings.Compare)
	page.RFCs = sortedKeys(rfcs, compareRFC)
	page.Legend = legend()
	return pageTemplate.ExecuteTemplate(w, "suite", page)
}

// caseView is a case as the page shows it.
type caseView struct {
	Anchor, ID, Title, Area, RFC, RFCKeys string
	Verdict, Class, Duration, Link        string
	Failure, Location                     string
	// Ladder is the drawing; Summary says what it shows, or why there is none.
	Ladder         template.HTML
	Summary        string
	CaptureComment string
}

// drawCase reads the case's capture and draws its ladder.
func (v *caseView) drawCase(c Case, maxFrames int) {
	if c.Capture == "" {
		v.Summary = "no capture"
		return
	}
	l, summary, comment, err := suiteLadder(c, maxFrames)
	v.CaptureComment = comment
	if err != nil {
		v.Summary = "capture unreadable: " + err.Error()
		if l == nil {
			return
		}
	} else {
		v.Summary = summary
	}
	l.title = "ladder diagram of " + c.ID
	v.Ladder = l.svg()
}

// suiteLadder reads a case's capture into a ladder: the peer on the left, the stack on the
// right. The error, if any, comes with what could be read before it.
func suiteLadder(c Case, maxFrames int) (*ladder, string, string, error) {
	o, err := openOwn(c.Capture)
	if err != nil {
		return nil, "", "", err
	}
	defer o.Close()
	pk := newPicker(maxFrames, around)
	var first, last time.Time
	var n, failures int
	left, right := newTally(), newTally()
	for {
		f, ferr := o.next()
		if ferr != nil {
			if !errors.Is(ferr, io.EOF) {
				err = ferr
			}
			break
		}
		if n == 0 {
			first = f.at
		}
		n++
		last = f.at
		if f.toRight {
			left.add(f.src)
		} else {
			right.add(f.src)
		}
		if f.verdict.class == failed {
			failures++
		}
		pk.add(&row{at: f.at, cells: []*frame{f}}, f.verdict.class == failed)
	}
	start := first
	if d := harness.DefaultStart(); !first.IsZero() && !first.Before(d) && first.Sub(d) < 24*time.Hour {
		start = d // a bench's capture: offsets as the bench and its failure messages give them
	}
	l := &ladder{
		pairs: []ladderPair{{left: lifeline{"peer (harness)", left.best()}, right: lifeline{"stack under test", right.best()}}},
		items: pk.done(),
		start: start,
		notes: func(r *row) []note { return frameNotes(r.cells[0], "") },
	}
	if failures == 0 && verdictClass(c.Verdict) == "failed" {
		l.end = failureNote(c.Failure)
	}
	var summary string
	switch {
	case n == 0:
		summary = "no frames"
	case n == 1:
		summary = "1 frame"
	default:
		summary = fmt.Sprintf("%d frames over %s", n, duration(last.Sub(first)))
	}
	if drawn := countRows(l.items); drawn < n {
		summary += fmt.Sprintf(", %d drawn", drawn)
	}
	return l, summary, o.comment, err
}

func countRows(items []item) int {
	n := 0
	for _, it := range items {
		if it.row != nil {
			n++
		}
	}
	return n
}

// failureNote is a failure message drawn after the last frame, when no frame shows it.
func failureNote(msg string) *endNote {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return &endNote{lines: []string{"✗ failed (no failing frame in the capture)"}}
	}
	e := &endNote{}
	if m := failureTime.FindStringSubmatch(msg); m != nil {
		e.at = "+" + m[1]
	}
	lines := strings.Split(msg, "\n")
	e.lines = append(e.lines, "✗ "+strings.TrimSpace(lines[0]))
	for _, s := range lines[1:] {
		if s = strings.TrimSpace(s); s != "" {
			// A script's "expected: ..." says what was expected instead.
			if rest, ok := strings.CutPrefix(s, "expected:"); ok {
				s = "expected instead:" + rest
			}
			e.lines = append(e.lines, s)
		}
	}
	return e
}

// failureTime finds the time in a failure message: "at +1.000000s" (a spec), "at 0.000000
// s" (a script).
var failureTime = regexp.MustCompile(`\bat \+?(\d+\.\d+) ?s\b`)

// frameNotes are the lines beside a frame: what was expected instead of it, its damage, and
// its comments, each marked by what it says (✓ held, ✗ failed, ⚠ damage). skip is a comment
// left out (one the drawing already shows).
func frameNotes(c *frame, skip string) []note {
	var ns []note
	damageShown := false
	for _, cm := range c.comments {
		if cm == skip {
			continue
		}
		v := judge([]string{cm}, c.toRight)
		switch v.class {
		case failed:
			if v.expected != "" {
				ns = append(ns, note{class: "n-failed strong", text: "✗ " + v.line + "expected instead: " + v.expected, wrap: true})
			}
			if v.why != "" {
				prefix := "  "
				if v.expected == "" {
					prefix = "✗ "
				}
				ns = append(ns, note{class: "n-failed", text: prefix + v.why, wrap: true})
			}
		case damaged:
			ns = append(ns, note{class: "n-damaged strong", text: "⚠ damaged: " + v.why, wrap: true})
			damageShown = true
		case held:
			ns = append(ns, note{class: "n-held", text: "✓ " + cm})
		case bench:
			ns = append(ns, note{class: "n-bench", text: "· " + cm})
		default:
			ns = append(ns, note{class: "n-neutral", text: strings.TrimPrefix(cm, "injected: ")})
		}
	}
	if c.verdict.class == damaged && !damageShown {
		ns = append([]note{{class: "n-damaged strong", text: "⚠ damaged: " + c.verdict.why, wrap: true}}, ns...)
	}
	return ns
}

// tally counts the addresses frames come from, to name a lifeline.
type tally struct {
	n     map[netip.Addr]int
	order []netip.Addr
}

func newTally() *tally { return &tally{n: map[netip.Addr]int{}} }

func (t *tally) add(a netip.Addr) {
	if !a.IsValid() || a.IsUnspecified() {
		return
	}
	if t.n[a] == 0 {
		t.order = append(t.order, a)
	}
	t.n[a]++
}

// best is the address most frames came from (the first seen on a tie), "" for none.
func (t *tally) best() string {
	var best netip.Addr
	for _, a := range t.order {
		if !best.IsValid() || t.n[a] > t.n[best] {
			best = a
		}
	}
	if !best.IsValid() {
		return ""
	}
	return best.String()
}

// reservedAnchors are the ids the page uses itself, which no case may take.
func reservedAnchors() map[string]int { return map[string]int{"filters": 1, "shown": 1} }

var unsafeAnchor = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// anchor makes id a unique fragment for the page.
func anchor(id string, seen map[string]int) string {
	a := strings.Trim(unsafeAnchor.ReplaceAllString(id, "-"), "-")
	if a == "" {
		a = "case"
	}
	seen[a]++
	if n := seen[a]; n > 1 {
		a += "-" + strconv.Itoa(n)
		seen[a]++
	}
	return a
}

var rfcNumberRE = regexp.MustCompile(`RFC ?(\d+)`)

// rfcKeys are the RFC numbers cited, "RFC 1122", each once, in order.
func rfcKeys(refs []string) []string {
	var keys []string
	for _, r := range refs {
		for _, m := range rfcNumberRE.FindAllStringSubmatch(r, -1) {
			if k := "RFC " + m[1]; !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

func compareRFC(a, b string) int {
	na, _ := strconv.Atoi(strings.TrimPrefix(a, "RFC "))
	nb, _ := strconv.Atoi(strings.TrimPrefix(b, "RFC "))
	return cmp.Or(cmp.Compare(na, nb), strings.Compare(a, b))
}

func sortedKeys(m map[string]bool, cmpf func(a, b string) int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmpf)
	return keys
}

// verdictClass is a verdict's CSS class and filter value: passed, failed, skipped, notrun.
func verdictClass(v string) string {
	switch l := strings.ToLower(strings.TrimSpace(v)); {
	case l == Passed:
		return "passed"
	case strings.Contains(l, "fail"):
		return "failed"
	case strings.HasPrefix(l, "skip") || l == "pending":
		return "skipped"
	}
	return "notrun"
}

func verdictName(class string) string {
	if class == "notrun" {
		return NotRun
	}
	return class
}

func sectionRank(class string) int {
	return map[string]int{"failed": 0, "passed": 1, "skipped": 2, "notrun": 3}[class]
}

// RelLink is the href of the file at target for a page written at page: relative to the
// page's folder when it can be, with forward slashes, each path segment escaped. Both paths
// may be relative to the current directory.
func RelLink(page, target string) string {
	dir := filepath.Dir(page)
	rel, err := filepath.Rel(mustAbs(dir), mustAbs(target))
	if err != nil {
		rel = mustAbs(target)
	}
	parts := strings.Split(filepath.ToSlash(rel), "/")
	for i, p := range parts {
		parts[i] = pathEscape(p)
	}
	return strings.Join(parts, "/")
}

func mustAbs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// pathEscape escapes a path segment for an href (url.PathEscape, but keeping ':' out of the
// first segment's way: "a:b" would read as a scheme).
func pathEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-._~!$&'()*+,;=@", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// WriteFile writes a page to path with write (WriteSuite or WriteReplay, bound to its input):
// the file is created, or emptied, and closed; an error names the path.
func WriteFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
