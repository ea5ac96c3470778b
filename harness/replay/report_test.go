package replay_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mtcp-go/mtcp/harness/replay"
	"github.com/mtcp-go/mtcp/internal/pcapngtest"
)

// Tests of the report's clarity (issue 13, point 8): relative sequence numbers, the role as
// played, a comment on every frame of -o and the capture's timestamps there, scaled windows,
// resets with and without ACK.

func pcapPath(name string) string { return filepath.Join("..", "..", "pcaps", name) }

// differencesOf returns the report's lines from "differences" on, the verdict left out.
func differencesOf(text string) []string {
	_, after, ok := strings.Cut(text, "\ndifferences")
	if !ok {
		return nil
	}
	lines := strings.Split(strings.TrimSpace(after), "\n")
	return lines[1 : len(lines)-1]
}

var numberRE = regexp.MustCompile(`\d+`)

// largeNumbers returns the numbers of at least 2^24 in lines: in relative numbering there are
// none in these small captures, while their ISNs (and the stack's) are all larger.
func largeNumbers(lines []string) []string {
	var big []string
	for _, l := range lines {
		for _, n := range numberRE.FindAllString(l, -1) {
			if v, _ := strconv.ParseUint(n, 10, 64); v >= 1<<24 {
				big = append(big, fmt.Sprintf("%s in %q", n, l))
			}
		}
	}
	return big
}

// truncated-header.pcap with the client's SYN cut inside its TCP fixed header (it is cut
// inside its options in the capture, and replayed from the options that are whole): the
// peer's ISN never reaches the replay and the stack never answers. Its report used to read
// "S. 0:0(0) ack 0" and "the stack did not acknowledge 0 (it acknowledged 0)": the peer's
// numbers now count from the first ack of them (as Wireshark does without a SYN), the message
// says why the stack's acks cannot be compared, and no relative line carries an absolute
// number.
func TestRelativeSequenceNumbers(t *testing.T) {
	data, err := os.ReadFile(pcapPath("public/truncated-header.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	// Record 1 (after the 24-byte file header): keep 40 of its bytes, 6 of its TCP header.
	caplen := binary.LittleEndian.Uint32(data[24+8:])
	cut := append(append([]byte(nil), data[:24+16+40]...), data[24+16+int(caplen):]...)
	binary.LittleEndian.PutUint32(cut[24+8:], 40)
	f := filepath.Join(t.TempDir(), "syn-cut.pcap")
	if err := os.WriteFile(f, cut, 0o644); err != nil {
		t.Fatal(err)
	}
	text, code := run("-q", f)
	if code != 1 || !strings.HasPrefix(lastLine(text), "different: ") {
		t.Fatalf("exit %d:\n%s", code, text)
	}
	wantLines(t, text,
		"differences (sequence numbers relative to each side's ISN",
		"recorded host: S. 0:0(0) ack 1 win 57344 <mss 1460>",
		"the stack did not send 1:85 (it sent nothing in this conversation)",
		"the stack did not acknowledge 25 (no SYN of the peer was replayed, so the stack's acks cannot be compared",
		"the peer's sequence numbers count from the first ack of them seen")
	for _, bad := range []string{") ack 0 win", "acknowledge 0 ", "acknowledged 0)", "sent up to 1)"} {
		if strings.Contains(text, bad) {
			t.Errorf("report has %q:\n%s", bad, text)
		}
	}
	if big := largeNumbers(differencesOf(text)); len(big) > 0 {
		t.Errorf("absolute numbers among relative ones: %v", big)
	}
	// --absolute: every number as sent, and said so.
	text, code = run("-q", "--absolute", f)
	if code != 1 || !strings.Contains(text, "differences (sequence numbers as sent):") ||
		!strings.Contains(text, "recorded host: S. 1090081362:1090081362(0) ack 1041724895 win 57344") ||
		!strings.Contains(text, "the stack did not acknowledge 1041724919 (") ||
		strings.Contains(text, "count from the first") {
		t.Errorf("--absolute: exit %d:\n%s", code, text)
	}

	// A conversation with every ISN known: the recorded host's numbers and the stack's line
	// up in relative numbering, and in absolute numbering each keeps its own.
	small := pcapPath("linux-http-small.pcapng")
	text, _ = run("-q", "--compare", "window", small)
	if !strings.Contains(text, "recorded host: F. 186:186(0) ack 89 win 63") || !strings.Contains(text, "stack:         F. 186:186(0) ack 89 ") {
		t.Errorf("relative:\n%s", text)
	}
	if big := largeNumbers(differencesOf(text)); len(big) > 0 {
		t.Errorf("absolute numbers among relative ones: %v", big)
	}
	text, _ = run("-q", "--absolute", "--compare", "window", small)
	if !strings.Contains(text, "recorded host: F. 1251074155:1251074155(0) ack 3581197244 win 63") || !regexp.MustCompile(`stack: +F\. (\d+):(\d+)\(0\) ack 3581197244 `).MatchString(text) {
		t.Errorf("--absolute:\n%s", text)
	}
}

// --client plays the client side: with --host naming a host that only answered, nothing of
// it is played as a server, and the report says why (not comparable: exit 3); the role
// printed is the role played.
func TestRoleAsPlayed(t *testing.T) {
	get := pcapPath("public/get.pcap")
	text, code := run("-q", "--client", "--host", "192.150.187.43", get)
	if code != 3 || strings.Contains(text, "as server") || !strings.Contains(text, "1 conversations the host answered (--client plays those it began)") ||
		!strings.Contains(text, "with --client, only the conversations it began") ||
		lastLine(text) != "not comparable: with --client, 192.150.187.43 began no TCP conversation in the capture" {
		t.Errorf("--client --host SERVER: exit %d:\n%s", code, text)
	}
	text, code = run("-q", "--client", get)
	if code != 0 || strings.Contains(text, "as server") || !regexp.MustCompile(`tcp 141\.142\.228\.5:59856 -> 192\.150\.187\.43:80 \(stack as client, from its port \d+\): `).MatchString(text) {
		t.Errorf("--client: exit %d:\n%s", code, text)
	}
	text, code = run("-q", "--host", "141.142.228.5", get) // the client, named: its conversation is the one it began
	if code != 0 || strings.Contains(text, "as server") || !strings.Contains(text, "(stack as client, from its port ") {
		t.Errorf("--host CLIENT: exit %d:\n%s", code, text)
	}
	text, code = run("-q", get)
	if code != 0 || strings.Contains(text, "as client") || !strings.Contains(text, "(stack as server): ") {
		t.Errorf("the server: exit %d:\n%s", code, text)
	}
}

// The retransmissions difference used to show "stack: nothing": it names the stack's first
// retransmission beyond the recorded host's. (This replay differs by one retransmission of
// the stack's today; the unit test TestMessagesDoNotContradict holds the wording whatever
// the stack does.)
func TestRetransmissionsDifferenceShowsTheStack(t *testing.T) {
	text, _ := run("-q", "--client", pcapPath("linux-zero-window.pcapng"))
	lines := strings.Split(text, "\n")
	seen := false
	for i, l := range lines {
		if !strings.Contains(l, "retransmitted") || !strings.Contains(l, "the recorded host") || i+2 >= len(lines) {
			continue
		}
		seen = true
		if !strings.HasPrefix(strings.TrimSpace(lines[i+2]), "stack:") || strings.Contains(lines[i+2], "nothing") || !strings.Contains(lines[i+2], "the first beyond the recorded host's: ") {
			t.Errorf("retransmissions difference:\n%s\n%s\n%s", l, lines[i+1], lines[i+2])
		}
	}
	if !seen {
		t.Logf("no retransmissions difference to look at:\n%s", text)
	}
}

// readOutput returns the frames of a -o capture: time, inbound, comments.
type outFrame struct {
	at       time.Time
	inbound  bool
	comments []string
}

func readOutput(t *testing.T, path string) []outFrame {
	t.Helper()
	var fs []outFrame
	for _, p := range pcapngtest.Read(t, path).Packets {
		fs = append(fs, outFrame{at: p.Time, inbound: p.Direction() == pcapgo.NgEpbFlagDirectionInbound, comments: p.Comments})
	}
	return fs
}

// recordTimes returns the timestamps of a classic pcap's records.
func recordTimes(t *testing.T, path string) []time.Time {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var ts []time.Time
	for {
		_, ci, err := r.ReadPacketData()
		if err != nil {
			return ts
		}
		ts = append(ts, ci.Timestamp)
	}
}

// captureFrameRE is the comment of a record injected as captured (not of an ACK the replay
// gives back later, "capture frame N, its ack replayed ...").
var captureFrameRE = regexp.MustCompile(`^capture frame (\d+)( \(payload .*\))?$`)

// The -o capture keeps the capture's timestamps: an injected record has its own, even where
// the capture's clock steps back, and the stack's frames are on the same clock, between the
// capture's first record and its last plus the horizon. Every frame carries a comment.
func TestOutputTimestampsAndComments(t *testing.T) {
	dir := t.TempDir()
	// get.pcap with record 10 (the client's ACK) stamped 30 ms before record 9.
	in := filepath.Join(dir, "stepped.pcap")
	var prev time.Time
	rewrite(t, pcapPath("public/get.pcap"), in, func(n int, ci *gopacket.CaptureInfo, d []byte) []byte {
		if n == 10 {
			ci.Timestamp = prev.Add(-30 * time.Millisecond)
		}
		prev = ci.Timestamp
		return d
	})

	for _, c := range []string{pcapPath("public/get.pcap"), in} {
		out := filepath.Join(dir, "out.pcapng")
		if text, code := run("-q", "-o", out, c); code != 0 {
			t.Fatalf("%s: exit %d:\n%s", c, code, text)
		}
		times := recordTimes(t, c)
		first, last := times[0], times[len(times)-1]
		matched := 0
		for i, f := range readOutput(t, out) {
			if len(f.comments) == 0 {
				t.Errorf("%s: output frame %d has no comment", c, i+1)
				continue
			}
			if f.inbound {
				if m := captureFrameRE.FindStringSubmatch(f.comments[0]); m != nil {
					n, _ := strconv.Atoi(m[1])
					if !f.at.Equal(times[n-1]) {
						t.Errorf("%s: output frame %d (%s) at %v, the capture's record at %v", c, i+1, f.comments[0], f.at, times[n-1])
					}
					matched++
				}
				continue
			}
			if f.at.Before(first) || f.at.After(last.Add(3*time.Second)) {
				t.Errorf("%s: the stack's frame %d at %v, outside the capture's %v .. %v (+3 s)", c, i+1, f.at, first, last)
			}
		}
		if matched < 7 {
			t.Errorf("%s: %d injected records found in the output, want 7", c, matched)
		}
	}
}

// --compare window compares windows scaled by each side's negotiated shift and shows it; a
// SYN's window, never scaled, as it is.
func TestCompareWindowScaled(t *testing.T) {
	text, code := run("-q", "--compare", "window", pcapPath("linux-http-small.pcapng"))
	if code != 1 || !strings.Contains(text, "recorded 64240 (a SYN's window is not scaled)") ||
		!regexp.MustCompile(`: window \d+ \(\d+ << scale \d+\), recorded 64512 \(63 << scale 10\)\n`).MatchString(text) {
		t.Errorf("exit %d:\n%s", code, text)
	}
}

// linux-closed-port.pcapng with the recorded host's reset stripped of its ACK bit: the stack's
// RST+ACK of the same sequence number is the same by default, and one difference (not two
// unmatched resets) with --compare rst-ack.
func TestResetWithAndWithoutACK(t *testing.T) {
	in := filepath.Join(t.TempDir(), "rst.pcapng")
	edited := false
	rewriteCapture(t, pcapPath("linux-closed-port.pcapng"), in, func(d []byte) {
		if len(d) >= 54 && d[23] == 6 && d[47] == 0x14 { // the host's RST+ACK
			d[47] = 0x04
			edited = true
		}
	})
	if !edited {
		t.Fatal("no RST+ACK in the capture")
	}
	if text, code := run("-q", in); code != 0 || lastLine(text) != "equivalent" {
		t.Errorf("RST against RST+ACK, by default: exit %d:\n%s", code, text)
	}
	text, code := run("-q", "--compare", "rst-ack", in)
	if code != 1 || lastLine(text) != "different: 1 difference" || !strings.Contains(text, "the stack's reset carries an ACK, the recorded host's does not") ||
		!strings.Contains(text, "recorded host: R 1:1(0) win 0") || !strings.Contains(text, "stack:         R. 1:1(0) ack 1 win 0") {
		t.Errorf("--compare rst-ack: exit %d:\n%s", code, text)
	}
	if text, code := run("-q", "--compare", "rst-ack", pcapPath("linux-closed-port.pcapng")); code != 0 {
		t.Errorf("the same resets with --compare rst-ack: exit %d:\n%s", code, text)
	}
}

// The conversation lines name the role played: a server, a client from its own port, or
// segments the stack sent outside every conversation of the capture; counts agree in number.
func TestReportConversationLines(t *testing.T) {
	rep := &replay.Report{Capture: "c.pcap", Format: "pcap", Records: 3, Conversations: []*replay.ConvSummary{
		{Name: "198.18.1.1:40000 -> 198.18.1.2:80", Role: "server", HostSegments: 1, StackSegments: 1},
		{Name: "198.18.1.2:40001 -> 198.18.1.1:80", Role: "client", StackPort: 61883, HostSegments: 2, StackSegments: 2, Differences: 1},
		{Name: "198.18.1.2:9 <-> 198.18.1.1:5000", Role: "", StackSegments: 1, Differences: 1},
	}, Differences: []replay.Difference{{Frame: 2, What: "x", Recorded: "R 1:1(0) win 0"}, {What: "the stack cannot dial: no route"}}}
	var buf bytes.Buffer
	rep.Write(&buf)
	text := buf.String()
	wantLines(t, text,
		"tcp 198.18.1.1:40000 -> 198.18.1.2:80 (stack as server): host 0 bytes in 1 segment (0 retransmitted), stack 0 bytes in 1 segment (0 retransmitted), 0 differences\n",
		"tcp 198.18.1.2:40001 -> 198.18.1.1:80 (stack as client, from its port 61883): host 0 bytes in 2 segments (0 retransmitted), stack 0 bytes in 2 segments (0 retransmitted), 1 difference\n",
		"tcp 198.18.1.2:9 <-> 198.18.1.1:5000 (no conversation of the capture: segments the stack sent there): ",
		"  frame 2 (0.000000 s): x\n    recorded host: R 1:1(0) win 0\n    stack:         nothing\n",
		"  no frame (0.000000 s): the stack cannot dial: no route\njudged: 0 of 0 host frames compared, 2 conversations\ndifferent: 2 differences\n")
}

// The new flags parse; --compare names what it takes.
func TestNewFlags(t *testing.T) {
	get := pcapPath("public/get.pcap")
	for _, args := range [][]string{{"--absolute", get}, {"--compare", "rst-ack", get}, {"--compare", "options,rst-ack", get}} {
		if text, code := run(append([]string{"-q"}, args...)...); code != 0 || lastLine(text) != "equivalent" {
			t.Errorf("mtcp-replay %v: exit %d:\n%s", args, code, text)
		}
	}
	if text, code := run("--compare", "rst", get); code != 2 || !strings.Contains(text, "--compare takes window, options and rst-ack") {
		t.Errorf("--compare rst: exit %d:\n%s", code, text)
	}
	if text, _ := run("--help"); !strings.Contains(text, "--absolute") || !strings.Contains(text, "rst-ack") {
		t.Errorf("usage:\n%s", text)
	}
}
