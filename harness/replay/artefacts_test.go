package replay_test

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/replay"
	"github.com/mtcp-go/mtcp/internal/pcapngtest"
)

// The derived captures of pcaps/derived (written by pcaps/derive from the recordings beside
// them), each with one capture artefact: in each role, the exit status, the verdict, what was
// judged, and the line that reports the artefact once. The recordings themselves replay as
// "equivalent" with no artefact line (TestEveryCaptureReplays): the positive control.
func TestCaptureArtefacts(t *testing.T) {
	derived := func(name string) string { return pcapPath(filepath.Join("derived", name)) }
	for _, c := range []struct {
		file   string
		args   []string
		code   int
		judged string
		want   []string
	}{
		{"gap.pcapng", nil, 0, "724 of 724 host frames compared, 1 conversation, 1 capture artefact",
			[]string{"capture artefact: capture gap at frame 406: 1460 bytes of the host's stream not captured (198.18.1.1:56610 -> 198.18.1.2:8080), written by the application all the same, not compared"}},
		{"gap.pcapng", []string{"--client"}, 0, "116 of 117 host frames compared, 1 conversation, 1 capture artefact",
			[]string{"capture artefact: capture gap at frame 615: 1460 bytes of the peer's stream not captured (198.18.1.1:56610 -> 198.18.1.2:8080), acknowledged by the recorded host: injected as zeros"}},
		{"duplicates.pcapng", nil, 0, "7 of 7 host frames compared, 1 conversation, 1 capture artefact",
			[]string{"capture artefact: 10 duplicate frames, each a byte-for-byte repeat of the IPv4 datagram just before it within 1 ms", "first at frame 6: not replayed"}},
		{"duplicates.pcapng", []string{"--client"}, 0, "5 of 7 host frames compared, 1 conversation, 1 capture artefact", []string{"10 duplicate frames"}},
		{"time-backwards.pcapng", nil, 0, "7 of 7 host frames compared, 1 conversation, 1 capture artefact",
			[]string{"capture artefact: the capture's clock steps back at frame 10, by 1.999951 s: replayed as ordered runs, each following the one before"}},
		{"time-backwards.pcapng", []string{"--client"}, 0, "8 of 9 host frames compared, 1 conversation, 1 capture artefact", []string{"steps back at frame 10"}},
		{"cut-end.pcapng", nil, 0, "721 of 723 host frames compared, 1 conversation, 2 capture artefacts",
			[]string{"capture artefact: the capture ends before the peer acknowledges what the stack had sent: the recorded host's last 2 data segments (1855 bytes), which the stack could send only once acknowledged, not judged",
				"capture artefact: the capture ends at frame 838: 4 segments the stack sent after it, which nothing recorded answers, not judged"}},
		{"cut-end.pcapng", []string{"--client"}, 0, "114 of 115 host frames compared, 1 conversation", nil},
		{"midstream.pcapng", nil, 0, "327 of 327 host frames compared, 1 conversation",
			[]string{"it has the lower port of the first TCP conversation (198.18.1.2:8080, with 198.18.1.1:56610), which began before the capture: taken as its server",
				"tcp 198.18.1.1:56610 -> 198.18.1.2:8080 (stack as server): host 473435 bytes in 327 segments", "  began before the capture: joined at frame 15 (sequence numbers relative to it;"}},
		// Its first 14 frames are the client's pure ACKs: the replay joins at the server's
		// first answer, which tells them from keep-alives (TestKeepAliveJoin).
		{"midstream.pcapng", []string{"--client"}, 0, "63 of 77 host frames compared, 1 conversation, 1 capture artefact",
			[]string{"taken as its client", "capture artefact: capture gap at frame 59: 213160 bytes of the peer's stream not captured", "  began before the capture: joined at frame 15 ("}},
		{"loopback.pcapng", nil, 0, "5 of 5 host frames compared, 1 conversation",
			[]string{"a loopback capture, 127.0.0.1 at both ends, told apart by port", "tcp 198.18.0.1:56594 -> 198.18.0.2:8080 (stack as server)"}},
		{"loopback.pcapng", []string{"--client"}, 0, "5 of 5 host frames compared, 1 conversation", []string{"the stack plays 198.18.0.1 "}},
		{"tso.pcapng", nil, 0, "38 of 38 host frames compared, 1 conversation, 1 capture artefact",
			[]string{"capture artefact: 33 frames with IPv4 total length 0 (captured before TCP segmentation offload), first at frame 8: the length taken from the frame, split to the MTU",
				"host 1048675 bytes in 37 segments (0 retransmitted), stack 1048675 bytes in 723 segments"}},
		{"tso.pcapng", []string{"--client"}, 0, "116 of 117 host frames compared, 1 conversation, 1 capture artefact", []string{"33 frames with IPv4 total length 0"}},
		{"off-link.pcapng", nil, 0, "5 of 6 host frames compared, 1 conversation", []string{"tcp 198.19.77.1:56594 -> 198.18.1.2:8080 (stack as server)"}},
		{"off-link.pcapng", []string{"--client"}, 0, "5 of 5 host frames compared, 1 conversation", []string{"(stack as client, from its port "}},
		{"snap-syn-options.pcapng", nil, 0, "732 of 732 host frames compared, 1 conversation, 772 damaged frames",
			[]string{"damaged: frame 3: cut short by the snap length: 64 of 74 bytes captured: cut inside its TCP options: replayed from its fixed header with its whole options (mss,sackOK)\n",
				"damaged: ... and 672 more frames"}},
		{"snap-syn-options.pcapng", []string{"--client"}, 0, "41 of 42 host frames compared, 1 conversation, 772 damaged frames", nil},
	} {
		name := strings.Join(append(append([]string(nil), c.args...), c.file), " ")
		t.Run(name, func(t *testing.T) {
			text, code := run(append(append([]string{"-q"}, c.args...), derived(c.file))...)
			verdict := map[int]string{0: "equivalent"}[c.code]
			if code != c.code || lastLine(text) != verdict || !strings.Contains(text, "\njudged: "+c.judged+"\n") {
				t.Fatalf("want exit %d, %q, judged: %s; got exit %d:\n%s", c.code, verdict, c.judged, code, text)
			}
			wantLines(t, text, c.want...)
			if n := strings.Count(text, "capture artefact: "); n != strings.Count(c.judged, "capture artefact") && !strings.Contains(c.judged, "capture artefacts") {
				t.Errorf("%d artefact lines, judged says %q", n, c.judged)
			}
		})
	}
}

// A capture where nothing the recorded host sent can be compared ends "not comparable: WHY"
// and exits 3, in every role; --all too. The reason names what was skipped.
func TestNotComparable(t *testing.T) {
	one := filepath.Join("testdata", "one-sided.pcapng")
	multi := filepath.Join("capture", "testdata", "pcapng-multi-interface.pcapng")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{one}, "not comparable: a one-sided capture: it holds IPv4 packets sent to 198.18.1.2, none it sent (one direction of the link only)"},
		{[]string{multi}, "not comparable: none of the 3 frames the recorded host sent could be compared (skipped: 3 UDP (mtcp has no UDP), 3 UDP from the host (not compared))"},
		{[]string{"--client", multi}, "not comparable: with --client, the capture has no TCP conversation, so no client to play"},
		{[]string{"--all", multi}, "not comparable: no replay compared anything the recorded hosts sent"},
		{[]string{"--client", pcapPath("linux-ping.pcapng")}, "not comparable: with --client, the capture has no TCP conversation, so no client to play"},
	} {
		text, code := run(append([]string{"-q"}, c.args...)...)
		if code != 3 || lastLine(text) != c.want {
			t.Errorf("%v: exit %d (want 3), want last line %q:\n%s", c.args, code, c.want, text)
		}
	}
	// -o with nothing replayed: said, and no file.
	out := filepath.Join(t.TempDir(), "out.pcapng")
	if text, code := run("-q", "-o", out, one); code != 3 || !strings.Contains(text, "nothing was replayed, so "+out+" was not written") {
		t.Errorf("-o: exit %d:\n%s", code, text)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s written", out)
	}
}

// A one-sided capture holding only what the host sent: the stack is compared on what it can
// do with nothing to answer it. The client of linux-http-small, alone: its SYN is compared;
// its ACK, request and FIN answer a server the capture lacks, and are not. --all plays it
// too (no SYN-ACK: each role as Replay picks it).
func TestOneSided(t *testing.T) {
	one := filepath.Join("testdata", "one-sided.pcapng")
	text, code := run("-q", "--client", one)
	if code != 0 || lastLine(text) != "equivalent" || !strings.Contains(text, "judged: 1 of 6 host frames compared, 1 conversation, 2 capture artefacts\n") ||
		!strings.Contains(text, "4 segments of the host answering its peer, whose frames the one-sided capture lacks") ||
		!strings.Contains(text, "capture artefact: a one-sided capture: it holds IPv4 packets 198.18.1.1 sent, none sent to it (one direction of the link only)") {
		t.Errorf("--client: exit %d:\n%s", code, text)
	}
	text, code = run("-q", "--all", one)
	if code != 0 || lastLine(text) != "equivalent" || !strings.Contains(text, "judged: 2 replays, 1 of 6 host frames compared, 1 conversation\n") {
		t.Errorf("--all: exit %d:\n%s", code, text)
	}

	// The textbook retransmission capture, made here: a server's answer (linux-http-small's
	// frame 8) sent again and again into silence, with the classic backoff, nothing else. The
	// conversation began before it: joined at the first, compared on the bytes sent; the stack
	// sends them at 0, 1 and 3 s, and at 7 s, after the capture's end.
	lt, recs := readNg(t, pcapPath("linux-http-small.pcapng"))
	answer := recs[7]
	var again []ngRecord
	for _, at := range []time.Duration{0, 200 * time.Millisecond, 600 * time.Millisecond, 1400 * time.Millisecond, 3 * time.Second, 6200 * time.Millisecond} {
		again = append(again, ngRecord{answer.ci, answer.d})
		again[len(again)-1].ci.Timestamp = answer.ci.Timestamp.Add(at)
	}
	path := writeNg(t, "retransmissions.pcapng", lt, again)
	text, code = run("-q", path)
	if code != 0 || lastLine(text) != "equivalent" || !strings.Contains(text, "judged: 6 of 6 host frames compared, 1 conversation, 2 capture artefacts\n") ||
		!strings.Contains(text, "tcp 198.18.1.1:56594 -> 198.18.1.2:8080 (stack as server): host 1110 bytes in 6 segments (5 retransmitted), stack 740 bytes in 4 segments (2 retransmitted)") ||
		!strings.Contains(text, "  began before the capture: joined at frame 1 (") {
		t.Errorf("retransmissions: exit %d:\n%s", code, text)
	}
}

// --all replays each conversation with the stack in the server's place and in the client's:
// a verdict per conversation and role, one overall; conversations that began before the
// capture are joined in both.
func TestAll(t *testing.T) {
	text, code := run("-q", "--all", pcapPath("public/cooper-grill-dvwa.pcapng"))
	wantLines(t, text,
		"== the stack as server 192.168.111.154 ==\n", "== the stack as client 192.168.111.148 ==\n",
		"conversations:\n  192.168.111.148:39004 -> 192.168.111.154:80 (stack as server): equivalent\n",
		"  192.168.111.148:53796 -> 192.168.111.154:80 (stack as server): equivalent\n",
		"  192.168.111.148:53796 -> 192.168.111.154:80 (stack as client): equivalent\n",
		"  192.168.111.148:39004 -> 192.168.111.154:80 (stack as client): equivalent\n",
		"judged: 2 replays, 46 of 48 host frames compared, 8 conversations\n")
	if code != 0 || lastLine(text) != "equivalent" {
		t.Errorf("--all: exit %d:\n%s", code, text)
	}
	text, code = run("-q", "--all", pcapPath("public/web.pcap"))
	if code != 0 || lastLine(text) != "equivalent" || !strings.Contains(text, "judged: 2 replays, 24 of 24 host frames compared, 4 conversations\n") {
		t.Errorf("web.pcap --all: exit %d:\n%s", code, text)
	}
	// With -o, a capture per replay, named by role and host, each read back.
	out := filepath.Join(t.TempDir(), "web.pcapng")
	text, code = run("-q", "--all", "-o", out, pcapPath("public/web.pcap"))
	srv, cli := filepath.Join(filepath.Dir(out), "web.server-125.190.109.199.pcapng"), filepath.Join(filepath.Dir(out), "web.client-141.42.64.125.pcapng")
	if code != 0 || !strings.Contains(text, "output: "+srv+"\n") || !strings.Contains(text, "output: "+cli+"\n") {
		t.Errorf("--all -o: exit %d:\n%s", code, text)
	}
	checkOutput(t, srv)
	checkOutput(t, cli)
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s written: each replay has its own", out)
	}
	for _, bad := range [][]string{{"--all", "--client"}, {"--all", "--host", "1.2.3.4"}} {
		if text, code := run(append(bad, pcapPath("public/web.pcap"))...); code != 2 || !strings.Contains(text, "--all plays every host in both roles") {
			t.Errorf("%v: exit %d:\n%s", bad, code, text)
		}
	}
}

// A capture of the same exchange twice, one after the other (captures concatenated: the
// clock steps back, and the second SYN has the first one's ports and ISN): two conversations,
// each replayed from its SYN, not the second read as a retransmission of the first's. (The
// client closes first in linux-echo; where the server does, its stack is in TIME-WAIT when the
// second SYN comes, with the first one's ISN, and rightly does not take it.)
func TestSameExchangeTwice(t *testing.T) {
	lt, recs := readNg(t, pcapPath("linux-echo.pcapng"))
	twice := writeNg(t, "twice.pcapng", lt, append(recs, recs...))
	text, code := run("-q", twice)
	if code != 0 || lastLine(text) != "equivalent" || !strings.Contains(text, "judged: 14 of 14 host frames compared, 2 conversations, 1 capture artefact\n") ||
		strings.Count(text, "tcp 198.18.1.1:53324 -> 198.18.1.2:7 (stack as server): host 43 bytes in 6 segments (0 retransmitted)") != 2 ||
		!strings.Contains(text, "capture artefact: the capture's clock steps back at frame 17") {
		t.Errorf("exit %d:\n%s", code, text)
	}
}

// A conversation that began before the capture, whose first segment of the host is a
// keep-alive (cooper-grill-dvwa's port 39004: the client's ACK one below its next sequence
// number, and the server's answer acknowledging one more): the replay joins at the answer,
// with the host's next sequence number after the keep-alive, and its FIN matches the host's.
// In the server's place, the replay joins at the server's FIN: its pure ACK before it waited
// for an answer that never came.
func TestKeepAliveJoin(t *testing.T) {
	dvwa := pcapPath("public/cooper-grill-dvwa.pcapng")
	text, code := run("-q", "--client", dvwa)
	if code != 0 || lastLine(text) != "equivalent" ||
		!strings.Contains(text, "tcp 192.168.111.148:39004 -> 192.168.111.154:80 (stack as client, from its port 39004): host 0 bytes in 1 segment (0 retransmitted), stack 0 bytes in 2 segments (0 retransmitted), 0 differences\n") ||
		!strings.Contains(text, "  began before the capture: joined at frame 2, after a keep-alive of the host (") {
		t.Errorf("--client: exit %d:\n%s", code, text)
	}
	text, code = run("-q", dvwa)
	if code != 0 || lastLine(text) != "equivalent" || !strings.Contains(text, "  began before the capture: joined at frame 3 (") {
		t.Errorf("server: exit %d:\n%s", code, text)
	}
}

// handshake-reorder.pcap (Zeek's test trace) has the server's SYN-ACK before the client's
// SYN: as the client, the stack gets the SYN-ACK right after its own SYN, as the recorded
// client did, reported once; in the server's place it replays as it did before.
func TestReorderedHandshake(t *testing.T) {
	f := filepath.Join("capture", "testdata", "handshake-reorder.pcap")
	text, code := run("-q", "--client", f)
	if code != 0 || lastLine(text) != "equivalent" || !strings.Contains(text, "judged: 7 of 7 host frames compared, 1 conversation, 1 capture artefact\n") ||
		!strings.Contains(text, "capture artefact: 1 SYN-ACK of a peer captured before the host's SYN it answers, first at frame 1 (the SYN at frame 2): replayed right after the SYN\n") {
		t.Errorf("--client: exit %d:\n%s", code, text)
	}
	if text, code := run("-q", f); code != 0 || lastLine(text) != "equivalent" || strings.Contains(text, "capture artefact") {
		t.Errorf("server: exit %d:\n%s", code, text)
	}
}

// IEEE 802.3 frames with an LLC/SNAP header (Wireshark's snap-arp.pcapng: ARP of hardware
// type 6, IEEE 802) are read as the Ethernet II frames they carry, reported once: the stack,
// whose ARP is Ethernet's (RFC 826, hardware type 1), does not answer them as the recorded
// host did, which the verdict says.
func TestSNAPFrames(t *testing.T) {
	text, code := run("-q", filepath.Join("capture", "testdata", "snap-arp.pcapng"))
	wantLines(t, text,
		"the stack plays 10.0.0.2 (c2:3c:19:6c:00:01): it answered the first ARP request\n",
		"capture artefact: 4 frames in IEEE 802.3 LLC/SNAP encapsulation (RFC 1042), read as the Ethernet II frames they carry\n",
		"  frame 3 (0.031000 s): the recorded host answered, the stack did not\n    recorded host: arp reply 10.0.0.2 is-at c2:3c:19:6c:00:01\n",
		"judged: 2 of 2 host frames compared, 0 conversations, 1 capture artefact\n")
	if code != 1 || lastLine(text) != "different: 2 differences" {
		t.Errorf("exit %d:\n%s", code, text)
	}
}

// An interrupted --all leaves no capture: neither the one of the replay it stopped nor those
// of the replays before it, which were whole.
func TestAllInterruptedLeavesNoOutput(t *testing.T) {
	dir := t.TempDir()
	large := filepath.Join(t.TempDir(), "large.pcap")
	writeLargeCapture(t, large, 50_000)
	stop := make(chan struct{})
	last, stopped := 0, false
	opts := replay.Options{Output: filepath.Join(dir, "out.pcapng"), Stop: stop, Progress: func(done, _ int) {
		if done < last && !stopped { // the second replay has begun: the first one's capture is written
			entries, _ := os.ReadDir(dir)
			if len(entries) == 0 {
				t.Error("no capture of the first replay before the interruption")
			}
			close(stop)
			stopped = true
		}
		last = done
	}}
	a, err := replay.ReplayAll(large, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Interrupted || len(a.Roles) != 2 || !a.Roles[1].Report.Interrupted {
		t.Fatalf("interrupted %v, %d roles", a.Interrupted, len(a.Roles))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

// tcpdump's pptp.pcap has every frame of one host twice (seen on both sides of a bridge),
// some copies padded to 60 bytes where the first were 54: the same datagrams all the same,
// not replayed twice, in both roles. (Read by their frame lengths, only 3 of the 8 were
// found, and the stack as the client answered a repeated FIN after its close with a reset.)
func TestPaddedDuplicates(t *testing.T) {
	for _, args := range [][]string{{}, {"--client"}} {
		text, code := run(append(append([]string{"-q"}, args...), pcapPath("public/pptp.pcap"))...)
		if code != 0 || lastLine(text) != "equivalent" ||
			!strings.Contains(text, "capture artefact: 8 duplicate frames, each a byte-for-byte repeat of the IPv4 datagram just before it within 1 ms") {
			t.Errorf("%v: exit %d:\n%s", args, code, text)
		}
	}
}

// linux-http-small with the server's FIN lost on its way to the client: the client's FIN
// acknowledges all but it, and the server sends its FIN again after delay, which the client
// then acknowledges. The stack's own retransmission of its FIN may come before the recorded
// host's (its RTO is 200 ms, 400 ms, 800 ms) or after it: either way the first ones pair, and
// the replay is equivalent; those of the stack's beyond the recorded host's are differences.
func TestFINRetransmissionPairs(t *testing.T) {
	src := pcapPath("linux-http-small.pcapng")
	for _, delay := range []time.Duration{150 * time.Millisecond, 300 * time.Millisecond, 2 * time.Second} {
		t.Run(delay.String(), func(t *testing.T) {
			lt, in := readNg(t, src)
			fin, clientFin, last := in[9], in[10], in[11] // frames 10, 11, 12
			t10 := fin.ci.Timestamp
			out := append([]ngRecord(nil), in[:10]...)
			out = append(out,
				// The client's FIN, acknowledging all but the server's FIN.
				editTCP(clientFin, clientFin.ci.Timestamp, func(_, seg []byte) { binary.BigEndian.PutUint32(seg[8:], binary.BigEndian.Uint32(seg[8:])-1) }),
				// The server's FIN again, its next IP ID.
				editTCP(fin, t10.Add(delay), func(ip, _ []byte) { binary.BigEndian.PutUint16(ip[4:], binary.BigEndian.Uint16(ip[4:])+2) }),
				// The client's ACK of it: past its own FIN.
				editTCP(clientFin, t10.Add(delay+time.Millisecond), func(ip, seg []byte) {
					binary.BigEndian.PutUint16(ip[4:], binary.BigEndian.Uint16(ip[4:])+1)
					binary.BigEndian.PutUint32(seg[4:], binary.BigEndian.Uint32(seg[4:])+1)
					seg[13] = 0x10
				}),
				editTCP(last, t10.Add(delay+2*time.Millisecond), func(ip, _ []byte) { binary.BigEndian.PutUint16(ip[4:], binary.BigEndian.Uint16(ip[4:])+1) }))
			path := writeNg(t, "fin-lost.pcapng", lt, out)
			text, code := run("-q", "-o", filepath.Join(t.TempDir(), "out.pcapng"), path)
			if !strings.Contains(text, "host 185 bytes in 6 segments (1 retransmitted)") {
				t.Errorf("report:\n%s", text)
			}
			if delay < time.Second {
				if code != 0 || lastLine(text) != "equivalent" {
					t.Errorf("exit %d:\n%s", code, text)
				}
				return
			}
			// By 2 s the stack has sent its FIN again three times, the host once.
			extra := "the stack sent this, the recorded host did not\n    recorded host: nothing\n    stack:         F. 186:186(0) ack 90 "
			if code != 1 || lastLine(text) != "different: 2 differences" || !strings.Contains(text, "  no frame (0.600869 s) 198.18.1.1:56594 -> 198.18.1.2:8080: "+extra) ||
				!strings.Contains(text, "  no frame (1.400960 s) 198.18.1.1:56594 -> 198.18.1.2:8080: "+extra) {
				t.Errorf("exit %d:\n%s", code, text)
			}
		})
	}
}

// ngRecord is a record of a pcapng capture, for tests that build one from another.
type ngRecord struct {
	ci gopacket.CaptureInfo
	d  []byte
}

// readNg reads a pcapng capture's records (writeNg sets their lengths from their data).
func readNg(t *testing.T, path string) (layers.LinkType, []ngRecord) {
	t.Helper()
	c := pcapngtest.Read(t, path)
	recs := make([]ngRecord, len(c.Packets))
	for i, p := range c.Packets {
		recs[i] = ngRecord{gopacket.CaptureInfo{Timestamp: p.Time}, p.Data}
	}
	return c.LinkType, recs
}

// writeNg writes records as a pcapng capture in a folder of the test's, and returns its path.
func writeNg(t *testing.T, name string, lt layers.LinkType, recs []ngRecord) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, lt)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range recs {
		x.ci.CaptureLength, x.ci.Length = len(x.d), len(x.d)
		if err := w.WritePacket(x.ci, x.d); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// editTCP returns a copy of an Ethernet/IPv4/TCP record (a 20-byte IPv4 header), at at, with f
// applied to its IPv4 header and TCP segment, their checksums computed again.
func editTCP(x ngRecord, at time.Time, f func(ip, seg []byte)) ngRecord {
	d := append([]byte(nil), x.d...)
	ip, seg := d[14:34], d[34:]
	f(ip, seg)
	harness.SetIPv4Checksum(ip)
	harness.SetTCPChecksum(ip, seg)
	x.d, x.ci.Timestamp = d, at
	return x
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// A peer that never sends in the capture (a SYN into silence, as in a "no web access"
// trouble ticket) and is not the capture's first destination: the stack's ARP request for it
// is answered with the MAC the host's frames to it went to (a router's, off-link), so the
// stack dials and sends its SYN as the host did.
func TestSilentPeerIsResolved(t *testing.T) {
	lt, recs := readNg(t, filepath.Join("testdata", "one-sided.pcapng"))
	syn := recs[1] // the client's SYN to 198.18.1.2:8080
	first := editTCP(syn, syn.ci.Timestamp.Add(-time.Millisecond), func(ip, seg []byte) {
		copy(ip[16:20], []byte{198, 18, 1, 9}) // another destination first, then no more
		binary.BigEndian.PutUint16(seg[0:], binary.BigEndian.Uint16(seg[0:])+1)
	})
	path := writeNg(t, "silent.pcapng", lt, []ngRecord{first, syn})
	text, code := run("-q", "--client", path)
	if code != 0 || lastLine(text) != "equivalent" || !strings.Contains(text, "judged: 2 of 2 host frames compared, 2 conversations, 2 capture artefacts\n") ||
		strings.Contains(text, "the recorded host sent this, the stack did not") {
		t.Errorf("exit %d:\n%s", code, text)
	}
}

// After ARP spoofing (Practical Packet Analysis' arppoison capture), the client's frames to
// the server go to the man in the middle's MAC: the replay plays the server by its address,
// delivers them all the same and says so once. Made here from linux-http-small: the client's
// frames from its request on go to 02:00:00:00:00:99.
func TestFramesToAnotherMAC(t *testing.T) {
	lt, recs := readNg(t, pcapPath("linux-http-small.pcapng"))
	for i := 5; i < len(recs); i++ { // frame 6 on
		if bytes.Equal(recs[i].d[6:12], []byte{2, 0, 198, 18, 1, 1}) {
			recs[i].d = append([]byte(nil), recs[i].d...)
			copy(recs[i].d[:6], []byte{2, 0, 0, 0, 0, 0x99})
		}
	}
	text, code := run("-q", writeNg(t, "mitm.pcapng", lt, recs))
	if code != 0 || lastLine(text) != "equivalent" || !strings.Contains(text, "judged: 6 of 6 host frames compared, 1 conversation, 1 capture artefact\n") ||
		!strings.Contains(text, "capture artefact: 3 frames to 198.18.1.2 went to another MAC than the host's, first at frame 6 (02:00:00:00:00:99: a man in the middle, a second router?): delivered to the stack all the same\n") {
		t.Errorf("exit %d:\n%s", code, text)
	}
}

// A traceroute's probe to the host that a router answers with ICMP Time Exceeded never
// reached the host: it is not injected (the stack would answer it), and is reported once.
// Made here from linux-ping: before the first echo request, the same request with TTL 1 and
// its own IP ID, and a router's Time Exceeded quoting it. The positive control is the ping
// itself, still answered and compared.
func TestExpiredProbes(t *testing.T) {
	lt, recs := readNg(t, pcapPath("linux-ping.pcapng"))
	i := 0
	for recs[i].d[12] != 0x08 || recs[i].d[13] != 0x00 { // the first IPv4 frame: the client's echo request
		i++
	}
	req := recs[i]
	probe := append([]byte(nil), req.d...)
	ip := probe[14:34]
	ip[8] = 1                                                                  // TTL 1
	binary.BigEndian.PutUint16(ip[4:], binary.BigEndian.Uint16(ip[4:])+0x1000) // its own IP ID
	harness.SetIPv4Checksum(ip)
	router := net.IP{198, 18, 1, 254}
	quote := append(append([]byte(nil), ip...), probe[34:42]...)
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr(req.d[0:6]), DstMAC: net.HardwareAddr(req.d[6:12]), EthernetType: layers.EthernetTypeIPv4}
	ip4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: router, DstIP: net.IP(ip[12:16])}
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeTimeExceeded, 0)}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip4, icmp, gopacket.Payload(quote)); err != nil {
		t.Fatal(err)
	}
	at := req.ci // between the ARP reply before it and the request
	at.Timestamp = recs[i-1].ci.Timestamp.Add(time.Microsecond)
	exceeded := at
	exceeded.Timestamp = at.Timestamp.Add(time.Microsecond)
	out := append(append(append([]ngRecord(nil), recs[:i]...), ngRecord{at, probe}, ngRecord{exceeded, buf.Bytes()}), recs[i:]...)
	text, code := run("-q", writeNg(t, "traceroute.pcapng", lt, out))
	if code != 0 || lastLine(text) != "equivalent" || !strings.Contains(text, "judged: 4 of 4 host frames compared, 0 conversations, 1 capture artefact\n") ||
		!strings.Contains(text, "capture artefact: 1 frame to 198.18.1.2 that a router answered with ICMP Time Exceeded (a traceroute's probes), first at frame 3: they never reached it, and are not injected\n") {
		t.Errorf("exit %d:\n%s", code, text)
	}
}
