package report

import (
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testSuite is a run of three cases, with their captures in dir: a spec that failed, a
// script that failed, one that passed, and a skipped one without a capture.
func testSuite(t testing.TB, dir string) Suite {
	t.Helper()
	page := filepath.Join(dir, "report.html")
	failing, script, passing := failingCase(t, dir), scriptCase(t, dir), passingCase(t, dir)
	return Suite{
		Title: "mtcp conformance", Target: "mtcp", Started: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC),
		Cases: []Case{
			{ID: "A1", Title: "answers an ARP request for our address", Area: "arp", RFCs: []string{"RFC 826"}, Verdict: Passed,
				Capture: passing, Link: RelLink(page, passing), Duration: 2 * time.Millisecond},
			{ID: "T9", Title: "closes <gracefully> & \"quietly\"", Area: "tcp", RFCs: []string{"RFC 9293 3.6", "RFC 1122 4.2.2.13"}, Verdict: Failed,
				Failure: "at +5.020000s: expected a pure ACK\n  got FIN|ACK", Location: "harness/conformance/tcp_close.go:42",
				Capture: failing, Link: RelLink(page, failing), Duration: 3 * time.Millisecond},
			{ID: "tcp/handshake/fail.pkt", Title: "script fail.pkt", Area: "tcp/handshake", Verdict: Failed,
				Failure: "fail.pkt:5: at 0.000000 s: the stack's packet differs: win 65535, want 5840", Capture: script, Link: RelLink(page, script)},
			{ID: "U10", Title: "needs another target", Area: "runtime", Verdict: Skipped, Failure: "mtcp runtime only"},
		},
	}
}

func writeSuite(t testing.TB, s Suite) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteSuite(&b, s); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// ladderOf returns the SVG of the section with the given anchor.
func ladderOf(t *testing.T, page, anchor string) string {
	t.Helper()
	i := strings.Index(page, `id="`+anchor+`"`)
	if i < 0 {
		t.Fatalf("no section #%s", anchor)
	}
	rest := page[i:]
	if end := strings.Index(rest, "</section>"); end >= 0 {
		rest = rest[:end]
	}
	svgs := svgFragments(rest)
	if len(svgs) != 1 {
		t.Fatalf("section #%s has %d SVGs, want 1", anchor, len(svgs))
	}
	return svgs[0]
}

// textOf is the text of an SVG, unescaped, its elements' texts joined by spaces (so that a
// note wrapped over several lines reads as written).
func textOf(t *testing.T, svg string) string { return strings.Join(svgText(t, svg), " ") }

func TestSuiteDrawsALadderPerCase(t *testing.T) {
	page := writeSuite(t, testSuite(t, t.TempDir()))
	ladders := regexp.MustCompile(`<svg [^>]*class="ladder"`).FindAllString(page, -1)
	if len(ladders) != 3 { // the skipped case has no capture
		t.Errorf("%d ladders, want 3 (one per case with a capture)", len(ladders))
	}
	if n := strings.Count(page, "<svg"); n != 4 { // and the legend
		t.Errorf("%d <svg elements, want 4", n)
	}
	for _, svg := range svgFragments(page) {
		svgText(t, svg) // well-formed XML
	}
	for _, id := range []string{"A1", "T9", "tcp-handshake-fail.pkt", "U10"} {
		if !strings.Contains(page, `id="`+id+`"`) || !strings.Contains(page, `href="#`+id+`"`) {
			t.Errorf("no anchor #%s linked from the table", id)
		}
	}
}

func TestSuiteMarksTheFailingFrame(t *testing.T) {
	page := writeSuite(t, testSuite(t, t.TempDir()))
	svg := ladderOf(t, page, "T9")
	failing := regexp.MustCompile(`(?s)<g class="a-failed">.*?</g>`).FindAllString(svg, -1)
	if len(failing) != 1 {
		t.Fatalf("%d failing arrows, want 1:\n%s", len(failing), svg)
	}
	if text := textOf(t, failing[0]); !strings.Contains(text, "F. 1:1(0) ack 1001 win 64535") {
		t.Errorf("the failing arrow is not the FIN:\n%s", text)
	}
	text := textOf(t, svg)
	for _, want := range []string{
		"✗ expected instead: TCP segment with flags ACK, ack 2001",
		"flags: want ACK, got FIN|ACK",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q beside the failing frame:\n%s", want, text)
		}
	}
	// A script's failure says the same, in the same words.
	if text := textOf(t, ladderOf(t, page, "tcp-handshake-fail.pkt")); !strings.Contains(text, "✗ line 5: expected instead: 0.000000 > S. 0:0(0) ack 1 win 5840 <mss 1460>") ||
		!strings.Contains(text, "win 65535, want 5840") {
		t.Errorf("the script's failure is not shown as expected instead:\n%s", text)
	}
	// The failed cases come first and are listed at the top.
	if a1, t9 := strings.Index(page, `<section class="case passed" id="A1"`), strings.Index(page, `<section class="case failed" id="T9"`); t9 < 0 || a1 < t9 {
		t.Errorf("the failed case's section (at %d) is not before the passed one's (at %d)", t9, a1)
	}
}

func TestSuiteMarksDamageHeldAndBench(t *testing.T) {
	svg := ladderOf(t, writeSuite(t, testSuite(t, t.TempDir())), "T9")
	for class, want := range map[string]string{
		"a-damaged": "P. 1001:1008(7) ack 1 win 65535",
		"a-held":    "S. 0:0(0) ack 1 win 65535",
		"a-bench":   "ARP who-has 198.18.0.1 tell 198.18.0.2",
		"a-neutral": "S 0:0(0) win 65535 <mss 1460>",
	} {
		groups := regexp.MustCompile(`(?s)<g class="`+class+`">.*?</g>`).FindAllString(svg, -1)
		found := false
		for _, g := range groups {
			found = found || strings.Contains(textOf(t, g), want)
		}
		if !found {
			t.Errorf("no %s arrow labelled %q", class, want)
		}
	}
	if text := textOf(t, svg); !strings.Contains(text, "⚠ damaged: TCP checksum inverted") {
		t.Errorf("the damage is not named:\n%s", text)
	}
	if !strings.Contains(svg, `stroke-dasharray`) && !strings.Contains(style, "g.a-damaged line { stroke: var(--damaged); stroke-width: 2; stroke-dasharray") {
		t.Error("damage is not drawn dashed")
	}
}

func TestSuiteBreaksLongIdleGaps(t *testing.T) {
	text := textOf(t, ladderOf(t, writeSuite(t, testSuite(t, t.TempDir())), "T9"))
	if !strings.Contains(text, "⋯ 5 s idle ⋯") {
		t.Errorf("no break for the 5 s gap:\n%s", text)
	}
	if strings.Count(text, "idle") != 1 {
		t.Errorf("want one break (the 10 ms gaps are drawn to scale):\n%s", text)
	}
}

func TestSuiteLabelsInPacketdrillNotation(t *testing.T) {
	text := textOf(t, ladderOf(t, writeSuite(t, testSuite(t, t.TempDir())), "T9"))
	for _, want := range []string{
		"S 0:0(0) win 65535 <mss 1460>",
		"S. 0:0(0) ack 1 win 65535",
		"<mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>",
		". 1:1001(1000) ack 1 win 65535",
		"F. 1:1(0) ack 1001 win 64535",
		"R 1001:1001(0) win 0",
		"ARP who-has 198.18.0.1 tell 198.18.0.2",
		"ICMP echo request id 1 seq 1 (3 bytes)",
		"+5.020000",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no label %q:\n%s", want, text)
		}
	}
}

func TestSuitePageIsSelfContained(t *testing.T) {
	page := writeSuite(t, testSuite(t, t.TempDir()))
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*(https?:)?//`).FindString(page); m != "" {
		t.Errorf("the page fetches from the network: %s", m)
	}
	if m := regexp.MustCompile(`(?i)<(link|img|iframe|object|embed)\b|@import|url\(`).FindString(page); m != "" {
		t.Errorf("the page loads something: %s", m)
	}
	// Text from a case is escaped, in the table and in the drawing.
	if strings.Contains(page, "<gracefully>") || !strings.Contains(page, "closes &lt;gracefully&gt; &amp; &#34;quietly&#34;") {
		t.Error("a case's title is not escaped")
	}
	// Links to captures are relative to the page.
	if !strings.Contains(page, `href="T9-closes.pcapng"`) {
		t.Error("no relative link to the failing case's capture")
	}
	// Filters: areas, RFC numbers and verdicts.
	for _, want := range []string{`<option>arp</option>`, `<option>RFC 826</option>`, `<option>RFC 1122</option>`, `<option>RFC 9293</option>`,
		`data-rfcs="|RFC 9293|RFC 1122|"`, `data-verdict="failed"`} {
		if !strings.Contains(page, want) {
			t.Errorf("no %s", want)
		}
	}
}

func TestSuiteWithoutAFailingFrameShowsTheFailureAtTheEnd(t *testing.T) {
	dir := t.TempDir()
	s := testSuite(t, dir)
	s.Cases = s.Cases[:1]
	s.Cases[0].Verdict = Failed
	s.Cases[0].Failure = "at +1.000000s: expected a frame from the stack within 1s, it sent nothing"
	text := textOf(t, ladderOf(t, writeSuite(t, s), "A1"))
	if !strings.Contains(text, "✗ at +1.000000s: expected a frame from the stack within 1s, it sent nothing") || !strings.Contains(text, "+1.000000") {
		t.Errorf("the failure is not drawn after the frames:\n%s", text)
	}
}

func TestSuiteDrawsLongCapturesInPart(t *testing.T) {
	dir := t.TempDir()
	var frames []pkt
	for i := range 1000 {
		p := pkt{at: time.Duration(i) * time.Millisecond, inbound: i%2 == 0,
			data: tcpFrame(t, seg{fromStack: i%2 == 1, flags: ".", seq: 1000 + uint32(i), ack: 5000, win: 100}), comments: []string{fmt.Sprintf("frame %d", i+1)}}
		if i == 699 {
			p.comments = []string{"expected instead: TCP segment with ack 6000 (ack: want 6000, got 5000)"}
		}
		frames = append(frames, p)
	}
	path := writeCapture(t, dir, "long", "long", frames)
	page := writeSuite(t, Suite{MaxFrames: 50, Cases: []Case{{ID: "L1", Verdict: Failed, Capture: path}}})
	svg := ladderOf(t, page, "L1")
	text := textOf(t, svg)
	arrows := strings.Count(svg, "<line x1=")
	if want := 50 + 2*around + 1; arrows != want {
		t.Errorf("%d arrows drawn, want %d", arrows, want)
	}
	for _, want := range []string{"⋯ 637 frames not drawn", "⋯ 288 frames not drawn", "expected instead: TCP segment with ack 6000"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q:\n%s", want, text)
		}
	}
	if !strings.Contains(svg, ">#700<") {
		t.Error("the failing frame #700 is not drawn")
	}
	if !strings.Contains(page, "1000 frames over 999 ms, 75 drawn") {
		t.Error("the summary does not say how many frames were drawn")
	}
}

func TestSuiteReportsAnUnreadableCapture(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pcapng")
	if err := os.WriteFile(bad, []byte("not a capture"), 0o644); err != nil {
		t.Fatal(err)
	}
	page := writeSuite(t, Suite{Cases: []Case{{ID: "X1", Verdict: Passed, Capture: bad}, {ID: "X2", Verdict: Passed, Capture: filepath.Join(dir, "missing.pcapng")}}})
	if strings.Count(page, "capture unreadable: ") != 2 {
		t.Error("unreadable captures are not reported in their sections")
	}
}

func TestSuiteIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	s := testSuite(t, dir)
	if a, b := writeSuite(t, s), writeSuite(t, s); a != b {
		t.Error("two reports of the same suite differ")
	}
}

// The page for the test suite, byte for byte (go test ./harness/report -update rewrites it).
func TestSuiteGolden(t *testing.T) {
	wd, _ := os.Getwd()
	t.Chdir(t.TempDir()) // relative paths: the page does not name the temporary folder
	golden(t, filepath.Join(wd, "testdata", "suite.golden.html"), writeSuite(t, testSuite(t, ".")))
}

// golden compares got with the file at path, or with -update writes it there.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./harness/report -update writes it)", err)
	}
	if got != string(want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Errorf("the page differs from %s at byte %d: got %q, want %q (-update rewrites it)", path, i,
			cut(got[i:], 80), cut(string(want[i:]), 80))
	}
}

// testReplay is a replay of a handshake and a FIN: the capture the recorded host's, the
// output with the stack's SYN-ACK differing in its window.
func testReplay(t testing.TB, dir string) Replay {
	t.Helper()
	recorded := writeCapture(t, dir, "recorded", "", []pkt{
		{0, true, arpFrame(t, false, layers.ARPRequest), nil},
		{15 * time.Microsecond, false, arpFrame(t, true, layers.ARPReply), nil},
		{21 * time.Microsecond, true, tcpFrame(t, seg{flags: "S", seq: 100, win: 64240, opts: []layers.TCPOption{mss(1460)}}), nil},
		{33 * time.Microsecond, false, tcpFrame(t, seg{fromStack: true, flags: "S.", seq: 900, ack: 101, win: 64240, opts: []layers.TCPOption{mss(1460)}}), nil},
		{45 * time.Microsecond, true, tcpFrame(t, seg{flags: ".", seq: 101, ack: 901, win: 502}), nil},
		{2 * time.Second, true, tcpFrame(t, seg{flags: "F.", seq: 101, ack: 901, win: 502}), nil},
		{2*time.Second + 40*time.Microsecond, false, tcpFrame(t, seg{fromStack: true, flags: "F.", seq: 901, ack: 102, win: 502}), nil},
		{2*time.Second + 60*time.Microsecond, true, tcpFrame(t, seg{flags: ".", seq: 102, ack: 902, win: 502}), nil},
		// Between other hosts: not drawn.
		{2*time.Second + 70*time.Microsecond, true, tcpFrame(t, seg{flags: ".", seq: 1, ack: 1, win: 1, srcIP: []byte{198, 18, 0, 7}, dstIP: []byte{198, 18, 0, 8}}), nil},
	})
	output := writeCapture(t, dir, "replay", "mtcp-replay of recorded.pcapng", []pkt{
		{0, true, arpFrame(t, false, layers.ARPRequest), []string{"capture frame 1"}},
		{0, false, arpFrame(t, true, layers.ARPReply), []string{"corresponds to capture frame 2"}},
		{21 * time.Microsecond, true, tcpFrame(t, seg{flags: "S", seq: 100, win: 64240, opts: []layers.TCPOption{mss(1460)}}), []string{"capture frame 3"}},
		{21 * time.Microsecond, false, tcpFrame(t, seg{fromStack: true, flags: "S.", seq: 7000, ack: 101, win: 65535, opts: []layers.TCPOption{mss(1460)}}),
			[]string{"corresponds to capture frame 4", "DIFFERENT: window 65535, recorded 64240 (a SYN's window is not scaled) (recorded: S. 0:0(0) ack 1 win 64240 <mss 1460>)"}},
		{45 * time.Microsecond, true, tcpFrame(t, seg{flags: ".", seq: 101, ack: 7001, win: 502}), []string{"capture frame 5"}},
		{2 * time.Second, true, tcpFrame(t, seg{flags: "F.", seq: 101, ack: 7001, win: 502, badChecksum: true}), []string{"capture frame 6", "damaged: injected as captured"}},
		{2*time.Second + 10*time.Microsecond, false, tcpFrame(t, seg{fromStack: true, flags: "F.", seq: 7001, ack: 102, win: 502}), []string{"corresponds to capture frame 7"}},
		{2*time.Second + 60*time.Microsecond, true, tcpFrame(t, seg{flags: ".", seq: 102, ack: 7002, win: 502}), []string{"capture frame 8"}},
	})
	page := filepath.Join(dir, "replay.html")
	return Replay{
		Title: "mtcp-replay of recorded.pcapng", Capture: recorded, CaptureLink: RelLink(page, recorded),
		Runs: []ReplayRun{{
			Name: "the stack as 198.18.0.2, server", Host: netip.MustParseAddr("198.18.0.2"), HostMAC: stackMAC,
			Verdict: "different: 1 difference", Coverage: "4 of 4 host frames compared, 1 conversation",
			Output: output, OutputLink: RelLink(page, output),
			Conversations: []Conversation{{Name: "198.18.0.1:40000 -> 198.18.0.2:80", Role: "server", Differences: 1}},
			Differences: []Difference{{Frame: 4, At: 33 * time.Microsecond, Conv: "198.18.0.1:40000 -> 198.18.0.2:80",
				Recorded: "S. 0:0(0) ack 1 win 64240 <mss 1460>", Stack: "S. 0:0(0) ack 1 win 65535 <mss 1460>",
				What: "window 65535, recorded 64240 (a SYN's window is not scaled)"}},
			Notes: []string{"the stack plays 198.18.0.2: it is the server of the first TCP conversation"},
		}},
	}
}

func writeReplay(t testing.TB, r Replay) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteReplay(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestReplayDrawsTheRecordedHostBesideTheStack(t *testing.T) {
	page := writeReplay(t, testReplay(t, t.TempDir()))
	svgs := svgFragments(page)
	if len(svgs) != 2 { // the legend and the ladder
		t.Fatalf("%d SVGs, want 2", len(svgs))
	}
	svg := svgs[1]
	text := textOf(t, svg)
	for _, want := range []string{
		"recorded capture", "replay", "recorded host", "stack",
		"S. 0:0(0) ack 1 win 64240 <mss 1460>", // the recorded host's SYN-ACK
		"S. 0:0(0) ack 1 win 65535 <mss 1460>", // the stack's
		"✗ capture #4: window 65535, recorded 64240",
		"✗ expected instead: the recorded host's S. 0:0(0) ack 1 win 64240 <mss 1460>",
		"✓ corresponds to capture frame 2",
		"⚠ damaged: injected as captured",
		"⋯ 2 s idle ⋯",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q:\n%s", want, text)
		}
	}
	// Both SYN-ACKs are failing arrows: the recorded one the difference is about, and the stack's.
	if n := strings.Count(svg, `<g class="a-failed">`); n != 2 {
		t.Errorf("%d failing arrows, want 2", n)
	}
	// An injected frame shares its row with the capture's frame it copies: capture #3 and
	// replay #3 are drawn at the same height.
	y := func(num string, nth int) string {
		m := regexp.MustCompile(`<text class="num" x="[0-9.]+" y="([0-9.]+)" text-anchor="end">`+num+`</text>`).FindAllStringSubmatch(svg, -1)
		if len(m) <= nth {
			t.Fatalf("no %dth %s", nth+1, num)
		}
		return m[nth][1]
	}
	if a, b := y("#3", 0), y("#3", 1); a != b {
		t.Errorf("capture #3 at y=%s, its injected copy at y=%s", a, b)
	}
	if !strings.Contains(page, "(1 between other hosts not drawn)") {
		t.Error("the frames between other hosts are not counted")
	}
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*(https?:)?//`).FindString(page); m != "" {
		t.Errorf("the page fetches from the network: %s", m)
	}
	for _, want := range []string{`href="recorded.pcapng"`, `href="replay.pcapng"`, "window 65535, recorded 64240 (a SYN&#39;s window is not scaled)"} {
		if !strings.Contains(page, want) {
			t.Errorf("no %s", want)
		}
	}
}

func TestReplayWithOneCaptureOnly(t *testing.T) {
	dir := t.TempDir()
	r := testReplay(t, dir)
	r.Runs[0].Output = ""
	svgs := svgFragments(writeReplay(t, r))
	if text := textOf(t, svgs[len(svgs)-1]); !strings.Contains(text, "recorded capture") || strings.Contains(text, "stack") {
		t.Errorf("without an output, the recorded side alone is drawn:\n%s", text)
	}
	r = testReplay(t, dir)
	r.Capture = filepath.Join(dir, "missing.pcap")
	page := writeReplay(t, r)
	if svgs := svgFragments(page); !strings.Contains(textOf(t, svgs[len(svgs)-1]), "stack") || !strings.Contains(page, "recorded capture: open") {
		t.Error("without the recorded capture, the replay alone is drawn and the error said")
	}
}

func TestReplayGolden(t *testing.T) {
	wd, _ := os.Getwd()
	t.Chdir(t.TempDir())
	golden(t, filepath.Join(wd, "testdata", "replay.golden.html"), writeReplay(t, testReplay(t, ".")))
}

func TestRelLink(t *testing.T) {
	for _, tc := range []struct{ page, target, want string }{
		{"out/report.html", "out/A1 x.pcapng", "A1%20x.pcapng"},
		{"report.html", "out/caps/A1.pcapng", "out/caps/A1.pcapng"},
		{"html/report.html", "caps/a:b.pcapng", "../caps/a%3Ab.pcapng"},
	} {
		if got := RelLink(tc.page, tc.target); got != tc.want {
			t.Errorf("RelLink(%q, %q) = %q, want %q", tc.page, tc.target, got, tc.want)
		}
	}
}

// In a loopback capture both ends have one address: the replay's output tells the frames to
// the recorded host (those it injected) from the host's own.
func TestReplayOfALoopbackCapture(t *testing.T) {
	dir := t.TempDir()
	lo := []byte{127, 0, 0, 1}
	recorded := writeCapture(t, dir, "loopback", "", []pkt{
		{0, true, tcpFrame(t, seg{flags: "S", seq: 100, win: 64240, srcIP: lo, dstIP: lo, sport: 40000, dport: 8080}), nil},
		{12 * time.Microsecond, false, tcpFrame(t, seg{flags: "S.", seq: 900, ack: 101, win: 64240, srcIP: lo, dstIP: lo, sport: 8080, dport: 40000}), nil},
	})
	output := writeCapture(t, dir, "out", "", []pkt{
		{0, true, tcpFrame(t, seg{flags: "S", seq: 100, win: 64240, sport: 40000, dport: 8080}), []string{"capture frame 1"}},
		{0, false, tcpFrame(t, seg{fromStack: true, flags: "S.", seq: 5, ack: 101, win: 64240, sport: 8080, dport: 40000}), []string{"corresponds to capture frame 2"}},
	})
	page := writeReplay(t, Replay{Capture: recorded, Runs: []ReplayRun{{Host: netip.MustParseAddr("198.18.0.2"), Verdict: "equivalent", Output: output}}})
	if !strings.Contains(page, "recorded: 2 frames of or to 198.18.0.2;") {
		t.Error("the loopback capture's frames are not drawn")
	}
	svgs := svgFragments(page)
	svg := svgs[len(svgs)-1]
	// The recorded SYN goes right (to the host), its SYN-ACK left.
	if !regexp.MustCompile(`>S 0:0\(0\) win 64240</text><line x1="152.0"`).MatchString(svg) ||
		!regexp.MustCompile(`>S\. 0:0\(0\) ack 1 win 64240</text><line x1="438.0"`).MatchString(svg) {
		t.Errorf("the loopback frames are not drawn each its way:\n%s", svg)
	}
}

// A run with many failures links the first ones at the top and folds the rest behind a
// "more" (a public suite fails by the dozen); a few are all linked (the positive control).
func TestSuiteFoldsALongListOfFailures(t *testing.T) {
	for _, c := range []struct{ failed, folded int }{{15, 3}, {failedLinksShown, 0}} {
		var s Suite
		for i := range c.failed {
			s.Cases = append(s.Cases, Case{ID: fmt.Sprintf("F%d", i), Verdict: Failed, Failure: "broke"})
		}
		page := writeSuite(t, s)
		top := page[strings.Index(page, `<div class="failures">`):]
		top = top[:strings.Index(top, "</div>")]
		more := fmt.Sprintf("<summary>and %d more</summary>", c.folded)
		if got := strings.Count(top, "<a href="); got != c.failed || (c.folded > 0) != strings.Contains(top, more) {
			t.Errorf("%d failures: %d linked at the top, folded %q: %v", c.failed, got, more, strings.Contains(top, "<details>"))
		}
	}
}
