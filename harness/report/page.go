package report

import (
	"fmt"
	"html/template"
	"strings"
)

type suitePage struct {
	Title, Target, Started string
	Counts                 []count
	Total                  int
	Areas, RFCs            []string
	Rows, Failed, Others   []*caseView
	// FailedLinks are the failed cases linked at the top; FailedMore those folded behind them.
	FailedLinks, FailedMore []*caseView
	Legend                  template.HTML
}

// failedLinksShown is how many failed cases the top of the page links before it folds the rest.
const failedLinksShown = 12

type count struct {
	Class, Name string
	N           int
}

// legend draws one arrow of each kind, with its name: colour, line and mark differ, so that
// the kinds tell apart without colour too.
func legend() template.HTML {
	kinds := []struct {
		c    class
		name string
	}{
		{held, "✓ expectation held"},
		{failed, "✗ failed: expected instead …"},
		{damaged, "⚠ injected damage"},
		{bench, "· the bench's own ARP"},
		{neutral, "not judged"},
	}
	var b svgBuf
	x := 4.0
	for _, k := range kinds {
		b.f(`<g class="a-%s"><line x1="%.1f" y1="13" x2="%.1f" y2="13"/><polygon points="%.1f,13 %.1f,8.5 %.1f,17.5"/></g>`,
			k.c.name(), x, x+38, x+46, x+37, x+37)
		b.f(`<text class="note n-%s" x="%.1f" y="17">%s</text>`, k.c.name(), x+54, esc(k.name))
		x += 54 + float64(len([]rune(k.name)))*charW + 26
	}
	return template.HTML(fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" class="legend" width="%.0f" height="26" viewBox="0 0 %.0f 26" role="img" aria-label="legend">%s</svg>`, x, x, b.String()))
}

// style is the page's CSS: the ladder's classes (arrows a-*, notes n-*) and the page's.
const style = `
:root { --fg:#1f2328; --muted:#656d76; --line:#d0d7de; --bg:#ffffff; --soft:#f6f8fa;
  --held:#1a7f37; --failed:#cf222e; --damaged:#b35900; --bench:#8c959f; --neutral:#57606a;
  --mono: ui-monospace, "DejaVu Sans Mono", "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
header.top { padding: 14px 16px 10px; border-bottom: 1px solid var(--line); background: var(--soft); }
header.top h1 { margin: 0 0 4px; font-size: 20px; }
.meta { color: var(--muted); }
main { padding: 8px 16px 40px; }
a { color: #0969da; }
code, pre, .mono { font-family: var(--mono); }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; font-weight: 600; border: 1px solid; white-space: nowrap; }
.badge.passed { color: var(--held); border-color: var(--held); background: #dafbe1; }
.badge.failed { color: #fff; border-color: var(--failed); background: var(--failed); }
.badge.skipped, .badge.notrun { color: var(--muted); border-color: var(--line); background: #fff; }
.counts .badge { margin-right: 6px; }
.failures { margin: 8px 0; padding: 8px 12px; border-left: 4px solid var(--failed); background: #ffebe9; }
.failures a { margin-right: 10px; font-family: var(--mono); font-weight: 600; color: var(--failed); }
.filters { display: flex; flex-wrap: wrap; gap: 14px; align-items: center; margin: 12px 0; padding: 8px 12px; border: 1px solid var(--line); border-radius: 6px; }
.filters label { color: var(--muted); }
.filters select, .filters input { font: inherit; padding: 2px 4px; }
#shown { margin-left: auto; color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); position: sticky; top: 0; }
td.id { font-family: var(--mono); max-width: 20em; overflow-wrap: anywhere; }
table.verdicts td.title { min-width: 22em; }
table.verdicts td.rfc { min-width: 9em; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.failed td { background: #ffebe9; }
tr.failed td.id a { color: var(--failed); font-weight: 700; }
section.case, section.run { margin: 22px 0; padding: 10px 10px; border: 1px solid var(--line); border-radius: 8px; }
section.case.failed, section.run.failed { border-color: var(--failed); border-left-width: 6px; }
section h2 { margin: 0 0 6px; font-size: 16px; }
h2.all { font-size: 16px; margin: 18px 0 6px; }
section h2 .id { font-family: var(--mono); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 6px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
pre.failure { margin: 8px 0; padding: 8px 10px; border-left: 4px solid var(--failed); background: #ffebe9; white-space: pre-wrap; word-break: break-word; }
details > summary { cursor: pointer; color: var(--muted); margin: 4px 0; }
pre.comment { margin: 4px 0; padding: 6px 8px; background: var(--soft); white-space: pre-wrap; font-size: 12px; }
.scroll { overflow-x: auto; }
.legendbox { margin: 6px 0 0; }
svg.ladder, svg.legend { display: block; font-family: var(--mono); font-size: 11px; }
svg .label { fill: var(--fg); }
svg .label.opts { fill: var(--muted); font-size: 10px; }
svg .num, svg .time-head { fill: var(--muted); font-size: 10px; }
svg .time { fill: var(--fg); font-size: 10.5px; }
svg .time.same { fill: #b0b7be; }
svg .caption { font-weight: 700; font-size: 12px; fill: var(--fg); font-family: system-ui, "DejaVu Sans", sans-serif; }
svg rect.head { fill: var(--soft); stroke: var(--line); }
svg .head-name { font-weight: 700; font-size: 11.5px; fill: var(--fg); }
svg .head-addr { font-size: 10px; fill: var(--muted); }
svg line.life { stroke: #8c959f; stroke-width: 1.2; }
svg line.life.skipped { stroke-dasharray: 2 4; }
svg path.cut { fill: none; stroke: #8c959f; stroke-width: 1.2; }
svg rect.band { fill: #f6f8fa; stroke: #d0d7de; stroke-dasharray: 4 3; }
svg .band-text { fill: var(--muted); font-style: italic; }
svg rect.row-failed { fill: #ffebe9; fill-opacity: .8; stroke: #ff8182; }
svg rect.row-damaged { fill: #fff8c5; fill-opacity: .8; stroke: none; }
svg g.a-held line { stroke: var(--held); stroke-width: 1.8; }
svg g.a-held polygon { fill: var(--held); }
svg g.a-failed line { stroke: var(--failed); stroke-width: 3; }
svg g.a-failed polygon { fill: var(--failed); }
svg g.a-failed .label { fill: var(--failed); font-weight: 700; }
svg g.a-damaged line { stroke: var(--damaged); stroke-width: 2; stroke-dasharray: 7 4; }
svg g.a-damaged polygon { fill: var(--damaged); }
svg g.a-damaged .label { fill: var(--damaged); }
svg g.a-bench line { stroke: var(--bench); stroke-width: 1.4; stroke-dasharray: 2 3; }
svg g.a-bench polygon { fill: var(--bench); }
svg g.a-bench .label { fill: var(--muted); }
svg g.a-neutral line { stroke: var(--neutral); stroke-width: 1.2; }
svg g.a-neutral polygon { fill: var(--neutral); }
svg .note { fill: var(--muted); }
svg .note.strong { font-weight: 700; }
svg .n-held { fill: var(--held); }
svg .n-failed { fill: var(--failed); }
svg .n-damaged { fill: var(--damaged); }
svg .n-bench { fill: var(--bench); }
svg .n-neutral { fill: var(--neutral); }
[hidden] { display: none !important; }
@media print { .filters { display: none; } details { display: block; } }
`

// script filters the table and the sections by area, RFC and verdict: elements carry
// data-area, data-rfcs ("|RFC 826|RFC 1122|") and data-verdict. Without it everything shows.
const script = `
(function () {
  var form = document.getElementById("filters");
  if (!form) return;
  function apply() {
    var area = form.area.value, rfc = form.rfc.value, verdict = form.verdict.value, n = 0;
    document.querySelectorAll("[data-verdict]").forEach(function (el) {
      var ok = (!area || el.dataset.area === area) &&
        (!rfc || el.dataset.rfcs.indexOf("|" + rfc + "|") >= 0) &&
        (!verdict || el.dataset.verdict === verdict);
      el.hidden = !ok;
      if (ok && el.tagName === "TR") n++;
    });
    document.getElementById("shown").textContent = n + " shown";
  }
  form.addEventListener("change", apply);
  form.addEventListener("reset", function () { setTimeout(apply, 0); });
  apply();
})();
`

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"css": func() template.CSS { return template.CSS(style) },
	"js":  func() template.JS { return template.JS(script) },
	"firstLine": func(s string) string {
		first, _, _ := strings.Cut(s, "\n")
		return first
	},
}).Parse(`
{{define "head"}}<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.}}</title>
<style>{{css}}</style>
</head>{{end}}

{{define "suite"}}{{template "head" .Title}}
<body>
<header class="top">
<h1>{{.Title}}</h1>
<div class="meta">{{if .Target}}target <b>{{.Target}}</b> · {{end}}{{if .Started}}started {{.Started}} · {{end}}{{.Total}} {{if eq .Total 1}}case{{else}}cases{{end}}</div>
<div class="counts">{{range .Counts}}<span class="badge {{.Class}}">{{.N}} {{.Name}}</span>{{end}}</div>
<div class="legendbox">{{.Legend}}</div>
</header>
<main>
{{if .Failed}}<div class="failures"><b>Failed:</b> {{range .FailedLinks}}<a href="#{{.Anchor}}">{{.ID}}</a>{{end}}{{if .FailedMore}}<details><summary>and {{len .FailedMore}} more</summary>{{range .FailedMore}}<a href="#{{.Anchor}}">{{.ID}}</a>{{end}}</details>{{end}}</div>{{end}}
<form id="filters" class="filters" onsubmit="return false">
<label>area <select name="area"><option value="">all</option>{{range .Areas}}<option>{{.}}</option>{{end}}</select></label>
<label>RFC <select name="rfc"><option value="">all</option>{{range .RFCs}}<option>{{.}}</option>{{end}}</select></label>
<label>verdict <select name="verdict"><option value="">all</option><option value="failed">failed</option><option value="passed">passed</option><option value="skipped">skipped</option><option value="notrun">not run</option></select></label>
<button type="reset">show all</button>
<span id="shown"></span>
</form>
{{range .Failed}}{{template "case" .}}{{end}}
<h2 class="all">all cases</h2>
<table class="verdicts">
<thead><tr><th>ID</th><th>title</th><th>area</th><th>RFC</th><th>verdict</th><th>duration</th><th>capture</th></tr></thead>
<tbody>
{{range .Rows}}<tr class="{{.Class}}" data-area="{{.Area}}" data-rfcs="{{.RFCKeys}}" data-verdict="{{.Class}}">
<td class="id"><a href="#{{.Anchor}}">{{.ID}}</a></td><td class="title">{{.Title}}</td><td>{{.Area}}</td><td class="rfc">{{.RFC}}</td><td><span class="badge {{.Class}}">{{.Verdict}}</span></td><td class="num">{{.Duration}}</td><td>{{if .Link}}<a href="{{.Link}}">pcapng</a>{{end}}</td>
</tr>
{{end}}</tbody>
</table>
{{range .Others}}{{template "case" .}}{{end}}
</main>
<script>{{js}}</script>
</body>
</html>
{{end}}

{{define "case"}}
<section class="case {{.Class}}" id="{{.Anchor}}" data-area="{{.Area}}" data-rfcs="{{.RFCKeys}}" data-verdict="{{.Class}}">
<h2><a class="id" href="#{{.Anchor}}">{{.ID}}</a> {{.Title}} <span class="badge {{.Class}}">{{.Verdict}}</span></h2>
<dl class="facts">{{if .Area}}<dt>area</dt><dd>{{.Area}}</dd>{{end}}{{if .RFC}}<dt>RFC</dt><dd>{{.RFC}}</dd>{{end}}{{if .Duration}}<dt>duration</dt><dd>{{.Duration}}</dd>{{end}}{{if .Location}}<dt>where</dt><dd class="mono">{{.Location}}</dd>{{end}}<dt>capture</dt><dd>{{if .Link}}<a href="{{.Link}}">{{.Link}}</a> · {{end}}{{.Summary}}</dd></dl>
{{if .Failure}}<pre class="failure">{{.Failure}}</pre>{{end}}
{{if .Ladder}}<details{{if eq .Class "failed"}} open{{end}}><summary>ladder diagram</summary><div class="scroll">{{.Ladder}}</div></details>{{end}}
{{if .CaptureComment}}<details><summary>capture comment</summary><pre class="comment">{{.CaptureComment}}</pre></details>{{end}}
</section>
{{end}}

{{define "replay"}}{{template "head" .Title}}
<body>
<header class="top">
<h1>{{.Title}}</h1>
<div class="meta">capture {{if .CaptureLink}}<a href="{{.CaptureLink}}">{{.Capture}}</a>{{else}}{{.Capture}}{{end}}</div>
<div class="counts">{{range .Runs}}<a href="#{{.Anchor}}"><span class="badge {{.Class}}">{{.Name}}: {{firstLine .Verdict}}</span></a> {{end}}</div>
<div class="legendbox">{{.Legend}}</div>
</header>
<main>
{{range .Runs}}
<section class="run {{.Class}}" id="{{.Anchor}}">
<h2>{{.Name}} <span class="badge {{.Class}}">{{.Verdict}}</span></h2>
<dl class="facts">{{if .Coverage}}<dt>judged</dt><dd>{{.Coverage}}</dd>{{end}}<dt>output</dt><dd>{{if .OutputLink}}<a href="{{.OutputLink}}">{{.OutputLink}}</a> · {{end}}{{.Summary}}</dd></dl>
{{if .Notes}}<details><summary>notes ({{len .Notes}})</summary><pre class="comment">{{range .Notes}}{{.}}
{{end}}</pre></details>{{end}}
{{if .Conversations}}<table>
<thead><tr><th>TCP conversation</th><th>stack as</th><th>recorded host</th><th>stack</th><th>verdict</th></tr></thead>
<tbody>{{range .Conversations}}<tr class="{{.Class}}"><td class="id">{{.Name}}</td><td>{{.Role}}</td><td class="num">{{.HostBytes}} bytes in {{.HostSegments}} segments</td><td class="num">{{.StackBytes}} bytes in {{.StackSegments}} segments</td><td><span class="badge {{.Class}}">{{.Verdict}}</span></td></tr>
{{end}}</tbody></table>{{end}}
{{if .Differences}}<h3>differences</h3>
<table>
<thead><tr><th>capture frame</th><th>time</th><th>what</th><th>recorded host</th><th>stack</th></tr></thead>
<tbody>{{range .Differences}}<tr class="failed"><td class="num">{{if .Frame}}#{{.Frame}}{{end}}</td><td class="num mono">{{.At}}</td><td>{{if .Conv}}<span class="mono">{{.Conv}}</span>: {{end}}{{.What}}</td><td class="mono">{{.Recorded}}</td><td class="mono">{{.Stack}}</td></tr>
{{end}}</tbody></table>{{if .More}}<p>… and {{.More}} more differences (all are in the output capture's comments).</p>{{end}}{{end}}
{{if .Ladder}}<details open><summary>ladder diagrams: the recorded capture beside the replay, on the capture's clock</summary><div class="scroll">{{.Ladder}}</div></details>{{end}}
</section>
{{end}}
</main>
</body>
</html>
{{end}}
`))
