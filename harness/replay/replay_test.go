package replay_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mtcp-go/mtcp/harness/replay"
	"github.com/mtcp-go/mtcp/internal/netns/netnstest"
	"github.com/mtcp-go/mtcp/internal/pcapngtest"
	"github.com/mtcp-go/mtcp/stack/tcp"
)

// The captures a replay is expected not to reproduce, and why. Every other capture of pcaps/
// must replay as "equivalent".
var expectedToDiffer = map[string]string{
	// The recorded server never answered the client's first SYN (lost before the capture
	// point; the client sent it again 3 s later); the stack answers at once, then once more.
	"pop3.pcap": "SYN-ACK",
}

// captures lists the replayable captures of pcaps/.
func captures(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join("..", "..", "pcaps"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("pcaps/ holds %d captures", len(files))
	}
	return files
}

// run runs mtcp-replay's Main and returns its output and exit status.
func run(args ...string) (string, int) {
	var out bytes.Buffer
	code := replay.Main(args, &out, &out)
	return out.String(), code
}

// wantLines reports each of wants that text lacks, with text.
func wantLines(t *testing.T, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("report lacks %q:\n%s", w, text)
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestEveryCaptureReplays(t *testing.T) {
	for _, f := range captures(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.pcapng")
			text, code := run("-o", out, f)
			why, differs := expectedToDiffer[filepath.Base(f)]
			switch {
			case differs && (code != 1 || !strings.HasPrefix(lastLine(text), "different: ") || !strings.Contains(text, why)):
				t.Fatalf("want exit 1, a difference mentioning %q; got exit %d:\n%s", why, code, text)
			case !differs && (code != 0 || lastLine(text) != "equivalent"):
				t.Fatalf("want exit 0 and 'equivalent'; got exit %d:\n%s", code, text)
			}
			checkOutput(t, out)
		})
	}
}

// checkOutput reads the replay's pcapng back: every frame, injected or the stack's, has a
// direction and a comment, and the section comment carries the verdict.
func checkOutput(t *testing.T, path string) {
	t.Helper()
	c := pcapngtest.Read(t, path)
	if !strings.Contains(c.Comment, "verdict: ") {
		t.Errorf("section comment %q", c.Comment)
	}
	for i, p := range c.Packets {
		if p.Direction() == pcapgo.NgEpbFlagDirectionUnknown {
			t.Errorf("frame %d has no direction", i+1)
		}
		if len(p.Comments) == 0 {
			t.Errorf("frame %d has no comment", i+1)
		}
	}
}

func TestOutputReadsInTshark(t *testing.T) {
	netnstest.Tool(t, "tshark") // before the replay: without tshark, skip (fail under CI=true)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	if _, code := run("-o", out, filepath.Join("..", "..", "pcaps", "public", "get.pcap")); code != 0 {
		t.Fatalf("exit %d", code)
	}
	text := pcapngtest.Tshark(t, out, "-T", "fields", "-e", "frame.comment")
	for _, want := range []string{"capture frame 1", "corresponds to capture frame 2"} {
		if !strings.Contains(text, want) {
			t.Errorf("tshark shows no comment %q:\n%s", want, text)
		}
	}
}

// Broken files: exit 2 and a message naming the problem, with the record and the offset.
func TestBrokenFiles(t *testing.T) {
	data := filepath.Join("capture", "testdata")
	get, err := os.ReadFile(filepath.Join(data, "get.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(cut, get[:len(get)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	noEth := filepath.Join(dir, "user0.pcap")
	if err := os.WriteFile(noEth, withLinkType(get, 147), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ file, want string }{
		{filepath.Join(data, "pcap-invalid-version-1.pcap"), "unsupported pcap version 1.4"},
		{filepath.Join(data, "shb-option-too-long.pcapng"), "runs past the end of the block"},
		{cut, "record 14 at byte 6253: record cut off"},
		{noEth, "no interface of a link type mtcp-replay reads: interface 0 is LINKTYPE_USER0 (147), with 14 records"},
		{filepath.Join(dir, "missing.pcap"), "no such file"},
	} {
		text, code := run(c.file)
		if code != 2 || !strings.Contains(text, c.want) {
			t.Errorf("%s: exit %d (want 2), output lacks %q:\n%s", filepath.Base(c.file), code, c.want, text)
		}
	}
}

// withLinkType rewrites a classic pcap's link type.
func withLinkType(pcap []byte, lt uint32) []byte {
	b := append([]byte(nil), pcap...)
	binary.LittleEndian.PutUint32(b[20:], lt)
	return b
}

// Damaged frames do not stop the replay: they are named in the report and counted on the
// "judged:" line. A capture whose every frame is damaged is not comparable (exit 3), in both
// roles; --strict-input makes any damage bad input (exit 2). The captures whose every frame
// is damaged are not in pcaps/, whose captures all compare something: they are the capture
// package's test data.
func TestDamagedFrames(t *testing.T) {
	testdata := func(name string) string { return filepath.Join("capture", "testdata", name) }
	for _, c := range []struct {
		file, want, judged string
		code               int
	}{
		{testdata("trunc-hdr.pcap"), "damaged: frame 1: 8 bytes, shorter than an Ethernet header", "judged: 0 of 0 host frames compared, 0 conversations, 1 damaged frame", 3},
		{testdata("ipv4-truncated-broken-header.pcap"), "damaged: frame 1: IPv4", "judged: 0 of 0 host frames compared, 0 conversations, 1 damaged frame", 3},
		{testdata("mptcp-dss-oobr.pcap"), "damaged: frame 1: TCP option kind 30 at byte 36: MPTCP DSS length 3", "judged: 0 of 0 host frames compared, 0 conversations, 1 damaged frame", 3},
		// The client's SYN cut inside its options (a timestamp option of length 8 after it):
		// replayed from its fixed header with the options that are whole.
		{pcapPath("public/truncated-header.pcap"), "damaged: frame 1: cut short by the snap length: 68 of 74 bytes captured: cut inside its TCP options: replayed from its fixed header with its whole options (mss,sackOK)\n",
			"judged: 14 of 14 host frames compared, 1 conversation, 12 damaged frames", 0},
	} {
		text, code := run("-q", c.file)
		if code != c.code || !strings.Contains(text, c.want) || !strings.Contains(text, c.judged+"\n") {
			t.Errorf("%s: exit %d (want %d), output lacks %q or %q:\n%s", c.file, code, c.code, c.want, c.judged, text)
		}
		if c.code == 3 && lastLine(text) != "not comparable: every frame of the capture is damaged (1 damaged frame)" {
			t.Errorf("%s: verdict %q", c.file, lastLine(text))
		}
		text, code = run("-q", "--strict-input", c.file)
		if code != 2 || lastLine(text) != "bad input: "+map[bool]string{true: "1 damaged frame", false: "12 damaged frames"}[c.code == 3]+" (--strict-input)" {
			t.Errorf("%s --strict-input: exit %d (want 2):\n%s", c.file, code, text)
		}
	}
	// The positive control of --strict-input: a capture without damage is not bad input.
	if text, code := run("-q", "--strict-input", pcapPath("public/get.pcap")); code != 0 || lastLine(text) != "equivalent" {
		t.Errorf("get.pcap --strict-input: exit %d:\n%s", code, text)
	}
}

// A capture edited so that the recorded server answers wrongly is reported as different at
// that frame.
func TestWrongServerAnswer(t *testing.T) {
	get, err := os.ReadFile(filepath.Join("..", "..", "pcaps", "public", "get.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	// Record 2 is the server's SYN-ACK: make it acknowledge one byte too many.
	off := 24 + 16 + binary.LittleEndian.Uint32(get[24+8:]) // past the file header and record 1
	rec2 := get[off+16:]
	ack := 14 + 20 + 8
	binary.BigEndian.PutUint32(rec2[ack:], binary.BigEndian.Uint32(rec2[ack:])+1)
	edited := filepath.Join(t.TempDir(), "edited.pcap")
	if err := os.WriteFile(edited, get, 0o644); err != nil {
		t.Fatal(err)
	}
	text, code := run(edited)
	if code != 1 || !strings.Contains(text, "frame 2 (") || !strings.Contains(text, "S. 0:0(0) ack 2") {
		t.Fatalf("want exit 1 and a difference at frame 2 (the SYN-ACK with ack 2); got exit %d:\n%s", code, text)
	}
}

func TestRoles(t *testing.T) {
	get := filepath.Join("..", "..", "pcaps", "public", "get.pcap")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{get}, "the stack plays 192.150.187.43"},
		{[]string{"--client", get}, "the stack plays 141.142.228.5"},
		{[]string{"--host", "141.142.228.5", get}, "given with --host"},
		{[]string{"--host", "192.150.187.43:80", get}, "(stack as server)"},
	} {
		text, code := run(c.args...)
		if code != 0 || !strings.Contains(text, c.want) {
			t.Errorf("mtcp-replay %v: exit %d, output lacks %q:\n%s", c.args, code, c.want, text)
		}
	}
}

func TestUsage(t *testing.T) {
	get := filepath.Join("..", "..", "pcaps", "public", "get.pcap")
	for _, args := range [][]string{{}, {"--no-such-flag", get}, {"--host", "not-an-ip", get}, {"--compare", "colour", get}, {get, get}} {
		if _, code := run(args...); code != 2 {
			t.Errorf("mtcp-replay %v: exit %d, want 2", args, code)
		}
	}
	// --compare window shows Linux's window, which is not mtcp's.
	text, code := run("--compare", "window,options", filepath.Join("..", "..", "pcaps", "linux-http-small.pcapng"))
	if code != 1 || !strings.Contains(text, "window 65535, recorded 64240") {
		t.Errorf("--compare window: exit %d:\n%s", code, text)
	}
}

// Review fixes: checksums kept as captured still replay (rewritten fields get a new sum), and
// -o never overwrites the capture.
func TestKeepChecksumsAndOutputGuard(t *testing.T) {
	small := filepath.Join("..", "..", "pcaps", "linux-http-small.pcapng")
	rep, err := replay.Replay(small, replay.Options{KeepChecksums: true})
	if err != nil || !rep.Equivalent() {
		t.Fatalf("KeepChecksums: %v, %v", err, rep.Differences)
	}
	dir := t.TempDir()
	cp := filepath.Join(dir, "cp.pcapng")
	data, _ := os.ReadFile(small)
	if err := os.WriteFile(cp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if text, code := run("-o", cp, cp); code != 2 || !strings.Contains(text, "is the capture itself") {
		t.Fatalf("-o onto the capture: exit %d:\n%s", code, text)
	}
	if after, _ := os.ReadFile(cp); !bytes.Equal(after, data) {
		t.Fatal("the capture was overwritten")
	}
}

// rewrite copies a classic pcap through f, frame by frame (n counts from 1); f may change
// the record's timestamp too. The copy has nanosecond timestamps.
func rewrite(t *testing.T, in, out string, f func(n int, ci *gopacket.CaptureInfo, d []byte) []byte) {
	t.Helper()
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	_ = w.WriteFileHeader(65535, r.LinkType())
	for n := 1; ; n++ {
		d, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		d = f(n, &ci, append([]byte(nil), d...))
		ci.CaptureLength, ci.Length = len(d), len(d)+ci.Length-ci.CaptureLength
		_ = w.WritePacket(ci, d)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Captures as they come from the field: VLAN tags, anonymised MACs.
func TestFieldCaptures(t *testing.T) {
	get := filepath.Join("..", "..", "pcaps", "public", "get.pcap")
	dir := t.TempDir()
	tagged := filepath.Join(dir, "vlan.pcap")
	rewrite(t, get, tagged, func(_ int, _ *gopacket.CaptureInfo, f []byte) []byte {
		return append(append(append([]byte(nil), f[:12]...), 0x81, 0x00, 0x00, 0x07), f[12:]...)
	})
	if text, code := run(tagged); code != 0 || !strings.Contains(text, "replayed without their 802.1Q tags") {
		t.Errorf("VLAN-tagged: exit %d:\n%s", code, text)
	}
	zero := filepath.Join(dir, "zero.pcap")
	rewrite(t, get, zero, func(_ int, _ *gopacket.CaptureInfo, f []byte) []byte {
		clear(f[:12]) // both MACs of every frame
		return f
	})
	if text, code := run(zero); code != 0 || !strings.Contains(text, "cannot be a stack's, so the stack uses 02:00:c0:96:bb:2b") {
		t.Errorf("zero MACs: exit %d:\n%s", code, text)
	}
	// --client with no SYN-ACK: the host that sent the first SYN.
	if text, code := run("--client", filepath.Join("..", "..", "pcaps", "linux-closed-port.pcapng")); code != 0 || !strings.Contains(text, "it sent the first SYN") {
		t.Errorf("--client on a refused connection: exit %d:\n%s", code, text)
	}
}

// TestLinuxDefaultsReplay: the captures of Linux with its defaults (timestamps, SACK, window
// scale), clean and through 5 % loss each way, replay as equivalent with the option kinds of
// their control segments compared; the stack speaks the extensions the recorded server spoke,
// and in the lossy one it recovers with no more retransmissions than Linux made.
func TestLinuxDefaultsReplay(t *testing.T) {
	for _, name := range []string{"linux-http-modern.pcapng", "linux-http-lossy.pcapng"} {
		t.Run(name, func(t *testing.T) {
			text, code := run("-q", "--compare", "options", filepath.Join("..", "..", "pcaps", name))
			if code != 0 || lastLine(text) != "equivalent" {
				t.Fatalf("want exit 0 and 'equivalent'; got exit %d:\n%s", code, text)
			}
			if !strings.Contains(text, "timestamps on, SACK on") {
				t.Errorf("the stack did not take the recorded server's extensions:\n%s", text)
			}
		})
	}
	// The same replay with the stack's timestamps forced off is no longer equivalent: the
	// comparison of option kinds is real.
	rep, err := replay.Replay(filepath.Join("..", "..", "pcaps", "linux-http-modern.pcapng"), replay.Options{CompareOptions: true, TCP: &tcp.Config{Timestamps: tcp.Off}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rep.Write(&buf)
	if rep.Equivalent() || !strings.Contains(buf.String(), "options <mss 1460,nop,nop,sackOK,nop,wscale 3>, recorded <mss 1460,sackOK,TS,nop,wscale ") {
		t.Errorf("with timestamps off:\n%s", buf.String())
	}
}

// A held ACK goes back to the stack later than recorded, after newer segments of the peer:
// it must carry the peer's sequence number and TSval as they are then, or the stack takes it
// for an old duplicate (RFC 7323 5.3), or for one before its window, and drops it, and the
// transfer stalls. Here the client's FIN, which the replay gives the stack while ACKs of the
// lossy download's last bytes are still held, has a TSval 100 s ahead of the rest.
func TestHeldACKsTakeThePeersNewestTimestamp(t *testing.T) {
	in := filepath.Join("..", "..", "pcaps", "linux-http-lossy.pcapng")
	out := filepath.Join(t.TempDir(), "jump.pcapng")
	jumped, fin := 0, false
	rewriteCapture(t, in, out, func(d []byte) {
		// From the client's (198.18.1.1's) FIN on, its TSvals jump 100 s ahead.
		if len(d) <= 34+20 || binary.BigEndian.Uint16(d[12:]) != 0x0800 || d[23] != 6 || !bytes.Equal(d[26:30], []byte{198, 18, 1, 1}) {
			return
		}
		seg := d[14+int(d[14]&0x0f)*4:]
		if fin = fin || seg[13]&0x01 != 0; !fin {
			return
		}
		opts := seg[20 : int(seg[12]>>4)*4]
		for i := 0; i+1 < len(opts); {
			if opts[i] <= 1 {
				i++
				continue
			}
			if opts[i] == 8 && opts[i+1] == 10 && i+10 <= len(opts) {
				binary.BigEndian.PutUint32(opts[i+2:], binary.BigEndian.Uint32(opts[i+2:])+100000)
				jumped++
			}
			i += max(int(opts[i+1]), 2)
		}
	})
	if jumped == 0 {
		t.Fatal("no FIN with a timestamp from the client")
	}
	text, code := run("-q", "--compare", "options", out)
	if code != 0 || lastLine(text) != "equivalent" {
		t.Fatalf("want exit 0 and 'equivalent'; got exit %d:\n%s", code, text)
	}
}

// rewriteCapture copies the pcapng src to dst, each packet through edit (in place, on a copy).
func rewriteCapture(t *testing.T, src, dst string, edit func(d []byte)) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, r.LinkType())
	if err != nil {
		t.Fatal(err)
	}
	for {
		d, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		d = append([]byte(nil), d...)
		edit(d)
		if err := w.WritePacket(ci, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
