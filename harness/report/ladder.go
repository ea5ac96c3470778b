package report

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A ladder diagram: lifelines side by side (one pair per ladder: the peer on the left, the
// stack or the recorded host on the right), time flowing down, one horizontal arrow per frame
// (the link delivers at once). Rows are spaced to scale within a run of frames; an idle gap
// much longer than the usual (more than ten times the median gap, or a second) is drawn as a
// break labelled with its length, and the frames left out (beyond the first maxFrames, away
// from the first failure) as a band saying how many.

// row is one line of the drawing: at most one frame per ladder.
type row struct {
	at    time.Time
	cells []*frame // one per ladder; nil where that ladder has nothing at this line
}

// item is a row, or a band of rows not drawn.
type item struct {
	row     *row
	omitted int       // rows not drawn here
	from    time.Time // omitted: the first one's time
	to      time.Time // omitted: the last one's
}

// picker keeps the rows to draw, as they come: the first `first`, then the `around` before
// and after the first interesting one (a failure), and counts the others. Its memory is
// bounded by first and around, whatever the capture's length.
type picker struct {
	first, around int
	items         []item
	kept          int
	ring          []*row // the last rows not kept, while no interesting row has come
	dropped       item   // the rows dropped since the last kept
	focus         bool   // an interesting row has come
	after         int    // rows still to keep after it
	total         int
}

func newPicker(first, around int) *picker { return &picker{first: first, around: around} }

func (p *picker) add(r *row, interesting bool) {
	p.total++
	switch {
	case interesting && !p.focus:
		p.focus, p.after = true, p.around
		for _, q := range p.ring {
			p.keep(q)
		}
		p.ring = nil
		p.keep(r)
	case p.kept < p.first:
		p.keep(r)
		if p.focus {
			p.after--
		}
	case p.after > 0:
		p.keep(r)
		p.after--
	case !p.focus:
		p.ring = append(p.ring, r)
		if len(p.ring) > p.around {
			p.drop(p.ring[0])
			p.ring = p.ring[1:]
		}
	default:
		p.drop(r)
	}
}

func (p *picker) drop(r *row) {
	if p.dropped.omitted == 0 {
		p.dropped.from = r.at
	}
	p.dropped.omitted++
	p.dropped.to = r.at
}

func (p *picker) keep(r *row) {
	if p.dropped.omitted > 0 {
		p.items = append(p.items, p.dropped)
		p.dropped = item{}
	}
	p.items = append(p.items, item{row: r})
	p.kept++
}

// done returns what to draw.
func (p *picker) done() []item {
	for _, r := range p.ring {
		p.drop(r)
	}
	p.ring = nil
	if p.dropped.omitted > 0 {
		p.items = append(p.items, p.dropped)
		p.dropped = item{}
	}
	return p.items
}

// lifeline names one vertical line of the drawing.
type lifeline struct{ name, addr string }

// ladderPair is one ladder: a caption (for side-by-side ladders) and its two lifelines.
type ladderPair struct {
	caption     string
	left, right lifeline
}

// note is one line of text beside a row.
type note struct {
	class string // CSS class: n-failed, n-held, ...
	text  string
	wrap  bool // wrapped over several lines rather than cut
}

// endNote is a failure that no frame shows (nothing came when something was expected):
// drawn after the last row.
type endNote struct {
	at    string // its time, if the message gave one
	lines []string
}

// ladder is everything one drawing needs.
type ladder struct {
	title string // for the SVG's aria-label
	pairs []ladderPair
	items []item
	start time.Time // time zero: offsets are from it
	end   *endNote
	notes func(r *row) []note
}

// Geometry, in pixels.
const (
	charW      = 6.6 // the width of a character of the 11px monospace font
	addrCharW  = 6.0 // of the 10px one of the lifelines' addresses
	lineH      = 14  // a line of notes
	rowH       = 26  // a row with a one-line label
	headH      = 58  // the lifelines' titles
	bandH      = 30  // an idle break or a band of frames left out
	maxExtra   = 100 // the most space a gap below the break threshold takes
	timeX      = 6
	firstLine  = 150 // the first lifeline's x
	notesGap   = 16
	maxWrapped = 6 // lines of a wrapped note
)

type geometry struct {
	span       float64 // between the two lifelines of a pair
	gutter     float64 // between two pairs
	box        float64 // the width of a lifeline's title
	notesChars int
}

func (l *ladder) geometry() geometry {
	if len(l.pairs) > 1 {
		return geometry{span: 290, gutter: 100, box: 98, notesChars: 39}
	}
	return geometry{span: 500, box: 150, notesChars: 58}
}

func (l *ladder) lifelineX(g geometry, pair int, right bool) float64 {
	x := firstLine + float64(pair)*(g.span+g.gutter)
	if right {
		x += g.span
	}
	return x
}

// gapScale is how gaps are drawn: gaps above threshold are breaks; those below take
// pxPerSec, at most maxExtra.
func gapScale(items []item) (threshold time.Duration, pxPerSec float64) {
	var gaps []time.Duration
	var prev *row
	for _, it := range items {
		if it.row == nil {
			prev = nil
			continue
		}
		if prev != nil {
			if d := it.row.at.Sub(prev.at); d > 0 {
				gaps = append(gaps, d)
			}
		}
		prev = it.row
	}
	threshold = time.Second
	if len(gaps) > 0 {
		slices.Sort(gaps)
		m := gaps[len(gaps)/2]
		if len(gaps)%2 == 0 {
			m = (gaps[len(gaps)/2-1] + m) / 2
		}
		if 10*m < threshold {
			threshold = max(10*m, time.Millisecond)
		}
	}
	return threshold, maxExtra / threshold.Seconds()
}

// svg draws the ladder.
func (l *ladder) svg() template.HTML {
	g := l.geometry()
	threshold, pxPerSec := gapScale(l.items)
	width := l.lifelineX(g, len(l.pairs)-1, true) + notesGap + float64(g.notesChars)*charW + 8
	var body svgBuf
	type band struct {
		y0, y1  float64
		omitted bool
	}
	var bands []band
	y := float64(headH + 6)
	var prev *row
	lastTime := ""
	for _, it := range l.items {
		if it.row == nil {
			body.omitted(l, g, y, it, width)
			bands = append(bands, band{y, y + bandH, true})
			y += bandH
			prev = nil
			continue
		}
		r := it.row
		if prev != nil {
			gap := r.at.Sub(prev.at)
			switch {
			case gap > threshold:
				body.idle(l, g, y, gap, width)
				bands = append(bands, band{y, y + bandH, false})
				y += bandH
			case gap > 0:
				y += min(maxExtra, gap.Seconds()*pxPerSec)
			}
		}
		h := l.drawRow(&body, g, y, r, &lastTime, width)
		y += h
		prev = r
	}
	if l.end != nil {
		y += 4
		y += body.endNote(l, y, width)
	}
	y += 10
	// Lifelines, interrupted by the idle breaks and dashed through the bands left out.
	var lines svgBuf
	for p := range l.pairs {
		for _, right := range []bool{false, true} {
			x := l.lifelineX(g, p, right)
			from := float64(headH)
			for _, b := range bands {
				lines.f(`<line class="life" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, x, from, x, b.y0)
				if b.omitted {
					lines.f(`<line class="life skipped" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, x, b.y0, x, b.y1)
				} else {
					lines.f(`<path class="cut" d="M%.1f %.1fl-6 4l12 4l-6 4 M%.1f %.1fl-6 4l12 4l-6 4"/>`, x, b.y0, x, b.y1-12)
				}
				from = b.y1
			}
			lines.f(`<line class="life" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, x, from, x, y)
		}
	}
	var head svgBuf
	for p, pair := range l.pairs {
		lx, rx := l.lifelineX(g, p, false), l.lifelineX(g, p, true)
		if pair.caption != "" {
			head.f(`<text class="caption" x="%.1f" y="12" text-anchor="middle">%s</text>`, (lx+rx)/2, esc(pair.caption))
		}
		for _, ll := range []struct {
			x float64
			l lifeline
		}{{lx, pair.left}, {rx, pair.right}} {
			head.f(`<rect class="head" x="%.1f" y="20" width="%.0f" height="34" rx="4"/>`, ll.x-g.box/2, g.box)
			head.f(`<text class="head-name" x="%.1f" y="34" text-anchor="middle">%s</text>`, ll.x, esc(cut(ll.l.name, int((g.box-4)/charW))))
			head.f(`<text class="head-addr" x="%.1f" y="48" text-anchor="middle">%s</text>`, ll.x, esc(cut(ll.l.addr, int((g.box-4)/addrCharW))))
		}
	}
	head.f(`<text class="time-head" x="%d" y="48">time</text>`, timeX)
	var out strings.Builder
	fmt.Fprintf(&out, `<svg xmlns="http://www.w3.org/2000/svg" class="ladder" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`,
		width, y, width, y, esc(l.title))
	out.WriteString(head.String())
	out.WriteString(lines.String())
	out.WriteString(body.String())
	out.WriteString(`</svg>`)
	return template.HTML(out.String())
}

// drawRow draws one row at y and returns its height.
func (l *ladder) drawRow(b *svgBuf, g geometry, y float64, r *row, lastTime *string, width float64) float64 {
	notes := l.notes(r)
	lines := 0
	maxChars := g.notesChars - 2
	for _, n := range notes {
		if n.wrap {
			lines += min(maxWrapped, len(wrap(n.text, maxChars)))
		} else {
			lines++
		}
	}
	h := float64(rowH)
	// A label too long for its arrow puts its options on a second line under the arrow.
	labelChars := int((g.span - 20) / charW)
	texts := make([][2]string, len(r.cells))
	for i, c := range r.cells {
		if c == nil {
			continue
		}
		text := c.lb.render(c.lab)
		texts[i][0] = text
		if j := strings.Index(text, " <"); len([]rune(text)) > labelChars && j > 0 {
			texts[i] = [2]string{text[:j], text[j+1:]}
		}
	}
	for _, t := range texts {
		if t[1] != "" {
			h += 12
			break
		}
	}
	h = max(h, float64(8+lineH*lines))
	worst := neutral
	for _, c := range r.cells {
		if c != nil && c.verdict.class > worst {
			worst = c.verdict.class
		}
	}
	if worst == failed {
		b.f(`<rect class="row-failed" x="2" y="%.1f" width="%.1f" height="%.1f" rx="3"/>`, y-2, width-4, h)
	} else if worst == damaged {
		b.f(`<rect class="row-damaged" x="2" y="%.1f" width="%.1f" height="%.1f" rx="3"/>`, y-2, width-4, h)
	}
	t := fmt.Sprintf("+%.6f", r.at.Sub(l.start).Seconds())
	tc := "time"
	if t == *lastTime {
		tc = "time same"
	}
	*lastTime = t
	b.f(`<text class="%s" x="%d" y="%.1f">%s</text>`, tc, timeX, y+14, esc(t))
	for p, c := range r.cells {
		if c == nil {
			continue
		}
		lx, rx := l.lifelineX(g, p, false), l.lifelineX(g, p, true)
		main, opts := texts[p][0], texts[p][1]
		b.f(`<g class="a-%s"><title>%s</title>`, c.verdict.class.name(), esc(tooltip(c, c.lb.render(c.lab), l.start)))
		b.f(`<text class="num" x="%.1f" y="%.1f" text-anchor="end">#%d</text>`, lx-10, y+18, c.num)
		b.f(`<text class="label" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, (lx+rx)/2, y+11, esc(cut(main, labelChars)))
		ay := y + 17
		x1, x2, dir := lx+2, rx-3, 1.0
		if !c.toRight {
			x1, x2, dir = rx-2, lx+3, -1.0
		}
		b.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, x1, ay, x2-dir*7, ay)
		b.f(`<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f"/>`, x2, ay, x2-dir*9, ay-4.5, x2-dir*9, ay+4.5)
		if opts != "" {
			b.f(`<text class="label opts" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, (lx+rx)/2, ay+12, esc(cut(opts, labelChars)))
		}
		b.f(`</g>`)
	}
	nx := l.lifelineX(g, len(l.pairs)-1, true) + notesGap
	ny := y + 12
	for _, n := range notes {
		// A note that begins with two spaces continues the one before: indented, as its
		// wrapped lines are (SVG text drops leading spaces).
		text, first := n.text, 0.0
		if rest, ok := strings.CutPrefix(text, "  "); ok {
			text, first = rest, 2*charW
		}
		texts := []string{cut(text, maxChars)}
		if n.wrap {
			texts = wrap(text, maxChars)
			if len(texts) > maxWrapped {
				texts = append(texts[:maxWrapped-1], cut(strings.Join(texts[maxWrapped-1:], " "), maxChars))
			}
		}
		for i, s := range texts {
			indent := first
			if i > 0 {
				indent = 2 * charW
			}
			b.f(`<text class="note %s" x="%.1f" y="%.1f">%s</text>`, n.class, nx+indent, ny, esc(s))
			ny += lineH
		}
	}
	return h
}

// tooltip is what a pointer over an arrow shows: the frame, its time, its full label and
// every comment.
func tooltip(c *frame, label string, start time.Time) string {
	dir := "to the right"
	if !c.toRight {
		dir = "to the left"
	}
	s := fmt.Sprintf("frame %d (%s, +%.6f s)\n%s", c.num, dir, c.at.Sub(start).Seconds(), label)
	for _, cm := range c.comments {
		s += "\n" + cm
	}
	if c.verdict.class == damaged && c.verdict.why != "" {
		s += "\ndamage: " + c.verdict.why
	}
	return s
}

func (b *svgBuf) idle(l *ladder, g geometry, y float64, gap time.Duration, width float64) {
	b.f(`<rect class="band idle" x="%.1f" y="%.1f" width="%.1f" height="%d"/>`, float64(firstLine-40), y+2, width-firstLine+32, bandH-4)
	for p := range l.pairs {
		lx, rx := l.lifelineX(g, p, false), l.lifelineX(g, p, true)
		b.f(`<text class="band-text" x="%.1f" y="%.1f" text-anchor="middle">⋯ %s idle ⋯</text>`, (lx+rx)/2, y+bandH/2+4, esc(duration(gap)))
	}
}

func (b *svgBuf) omitted(l *ladder, g geometry, y float64, it item, width float64) {
	b.f(`<rect class="band skipped" x="%.1f" y="%.1f" width="%.1f" height="%d"/>`, float64(firstLine-40), y+2, width-firstLine+32, bandH-4)
	what := fmt.Sprintf("⋯ %d frames not drawn", it.omitted)
	if it.omitted == 1 {
		what = "⋯ 1 frame not drawn"
	}
	if d := it.to.Sub(it.from); d > 0 {
		what += fmt.Sprintf(" (+%.6f … +%.6f s)", it.from.Sub(l.start).Seconds(), it.to.Sub(l.start).Seconds())
	}
	b.f(`<text class="band-text" x="%.1f" y="%.1f">%s ⋯</text>`, float64(firstLine+12), y+bandH/2+4, esc(what))
}

// endNote draws the failure no frame shows; it returns its height.
func (b *svgBuf) endNote(l *ladder, y, width float64) float64 {
	chars := int((width - firstLine - 20) / charW)
	var lines []string
	for _, s := range l.end.lines {
		lines = append(lines, wrap(s, chars)...)
	}
	if len(lines) > 3*maxWrapped {
		lines = append(lines[:3*maxWrapped-1], "…")
	}
	h := float64(10 + lineH*len(lines))
	b.f(`<g class="a-failed"><rect class="row-failed" x="2" y="%.1f" width="%.1f" height="%.1f" rx="3"/>`, y, width-4, h)
	if l.end.at != "" {
		b.f(`<text class="time" x="%d" y="%.1f">%s</text>`, timeX, y+14, esc(l.end.at))
	}
	for i, s := range lines {
		cls := "note n-failed"
		if i == 0 {
			cls += " strong"
		}
		b.f(`<text class="%s" x="%d" y="%.1f">%s</text>`, cls, firstLine-40, y+14+float64(i*lineH), esc(s))
	}
	b.f(`</g>`)
	return h
}

// svgBuf builds SVG text; every string in it went through esc.
type svgBuf struct{ strings.Builder }

func (b *svgBuf) f(format string, args ...any) { fmt.Fprintf(b, format, args...) }

// esc escapes text for XML (and so for HTML): the five special characters, and the control
// characters XML 1.0 does not allow, as U+FFFD.
func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&#34;")
		case '\'':
			b.WriteString("&#39;")
		case '\t', '\n', '\r':
			b.WriteRune(r)
		default:
			if r < 0x20 || r == 0xfffe || r == 0xffff {
				r = '\ufffd'
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// cut shortens s to n characters, ending it with "…" when it was longer.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n || n < 2 {
		return s
	}
	return string(r[:n-1]) + "…"
}

// wrap breaks s into lines of at most n characters, at spaces where it can.
func wrap(s string, n int) []string {
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		r := []rune(strings.TrimRight(para, " "))
		for len(r) > n {
			i := n
			for i > n/2 && r[i] != ' ' {
				i--
			}
			if r[i] != ' ' {
				i = n
			}
			lines = append(lines, string(r[:i]))
			r = []rune(strings.TrimLeft(string(r[i:]), " "))
		}
		lines = append(lines, string(r))
	}
	return lines
}

// duration writes a duration for people, to three significant digits: "60 s", "4.75 s",
// "957 µs", "7.13 ms".
func duration(d time.Duration) string {
	unit, v := "s", d.Seconds()
	switch {
	case d == 0:
		return "0 s"
	case d >= time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	case d >= time.Second:
	case d >= time.Millisecond:
		unit, v = "ms", float64(d)/float64(time.Millisecond)
	case d >= time.Microsecond:
		unit, v = "µs", float64(d)/float64(time.Microsecond)
	default:
		return fmt.Sprintf("%d ns", d.Nanoseconds())
	}
	s := strconv.FormatFloat(v, 'f', max(0, 2-int(math.Floor(math.Log10(v)))), 64)
	if strings.Contains(s, ".") {
		s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
	}
	return s + " " + unit
}
