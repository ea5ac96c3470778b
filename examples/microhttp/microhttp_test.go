package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/examples/internal/demotest"
	"github.com/mtcp-go/mtcp/internal/netns/netnstest"
	"github.com/mtcp-go/mtcp/internal/pcapngtest"
)

// TestLiveMicroHTTP serves files on a TAP device in a namespace made for the test to the
// kernel's curl: a 1 MiB file byte-exact, 20 requests in parallel, a closed port refused at
// once; then tshark's expert analysis of the capture finds nothing malformed.
func TestLiveMicroHTTP(t *testing.T) {
	curl := netnstest.Tool(t, "curl")
	netnstest.Tool(t, "tshark") // before the run: without tshark, skip (fail under CI=true)
	exclusive(t)
	ns := netnstest.New(t)
	www := t.TempDir()
	_, sum := randomFile(t, filepath.Join(www, "big.bin"), 1<<20)
	if err := os.WriteFile(filepath.Join(www, "index.html"), []byte("<h1>mtcp</h1>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pcap := filepath.Join(t.TempDir(), "http.pcapng")
	srv := demotest.Start(t, ns, microhttpBin(t), "--tap", "mtcp0", "--addr", "198.18.0.2/24", "--host-addr", "198.18.0.1/24",
		"--port", "80", "--dir", www, "--pcap", pcap)
	t.Logf("microhttp: %s", srv.Ready)

	out, err := ns.Exec(t.Context(), curl, "-sS", "--max-time", "30", "http://198.18.0.2/big.bin").Output()
	got := sha256.Sum256(out)
	if err != nil || got != sum {
		t.Fatalf("1 MiB download: %v, %d bytes, sha256 %s, want %s", err, len(out), hex.EncodeToString(got[:8]), hex.EncodeToString(sum[:8]))
	}

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			out, err := ns.Exec(t.Context(), curl, "-sS", "--max-time", "30", "http://198.18.0.2/index.html").Output()
			if err != nil || !strings.Contains(string(out), "mtcp") {
				errs <- fmt.Errorf("request %d: %v, body %q", i, err, out)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// A closed port is refused at once: curl's "couldn't connect" (exit 7) well before any
	// timeout, because the stack answers the SYN with RST|ACK (checked in the capture below).
	start := time.Now()
	cmd := ns.Exec(t.Context(), curl, "-sS", "--max-time", "5", "http://198.18.0.2:81/")
	out, err = cmd.CombinedOutput()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 7 || time.Since(start) > 2*time.Second {
		t.Fatalf("closed port: %v after %v: %q; want curl exit 7 at once", err, time.Since(start), out)
	}
	t.Logf("shutdown: %s", srv.Stop())

	if expert := pcapngtest.Tshark(t, pcap, "-q", "-z", "expert"); strings.Contains(expert, "Malformed") {
		t.Fatalf("tshark expert analysis:\n%s", expert)
	}
	if rst := pcapngtest.Tshark(t, pcap, "-Y", "tcp.srcport == 81 && tcp.flags.reset == 1 && tcp.flags.ack == 1"); strings.TrimSpace(rst) == "" {
		t.Fatal("no RST|ACK from port 81 in the capture")
	}
	if malformed := pcapngtest.Tshark(t, pcap, "-Y", "_ws.malformed"); strings.TrimSpace(malformed) != "" {
		t.Fatalf("malformed frames:\n%s", malformed)
	}
}

// TestLiveMicroHTTPUnderLoss downloads 16 MiB from microhttp and uploads 4 MiB to it with
// the kernel's curl while the seeded fault injector drops 5 % of the frames in each direction
// (--fault loss=5%,seed=1; this kernel may have no netem): both arrive byte-exact, and the
// capture shows timestamps and SACK blocks in both directions, so both ends negotiated them
// and used them to recover.
func TestLiveMicroHTTPUnderLoss(t *testing.T) {
	curl := netnstest.Tool(t, "curl")
	netnstest.Tool(t, "tshark") // before the run: without tshark, skip (fail under CI=true)
	shared(t)
	ns := netnstest.New(t)
	www := t.TempDir()
	big, sum := randomFile(t, filepath.Join(www, "big.bin"), 16<<20)
	up := big[:4<<20]
	upSum := sha256.Sum256(up)
	upFile := filepath.Join(t.TempDir(), "up.bin")
	if err := os.WriteFile(upFile, up, 0o644); err != nil {
		t.Fatal(err)
	}
	pcap := filepath.Join(t.TempDir(), "lossy.pcapng")
	srv := demotest.Start(t, ns, microhttpBin(t), "--tap", "mtcp0", "--addr", "198.18.0.2/24", "--host-addr", "198.18.0.1/24",
		"--port", "80", "--dir", www, "--pcap", pcap, "--fault", "loss=5%,seed=1")

	out, err := ns.Exec(t.Context(), curl, "-sS", "--max-time", "300", "http://198.18.0.2/big.bin").Output()
	if got := sha256.Sum256(out); err != nil || got != sum {
		t.Fatalf("16 MiB download under loss: %v, %d bytes, sha256 %s, want %s", err, len(out), hex.EncodeToString(got[:8]), hex.EncodeToString(sum[:8]))
	}
	out, err = ns.Exec(t.Context(), curl, "-sS", "--max-time", "300", "--data-binary", "@"+upFile, "http://198.18.0.2/upload").Output()
	if want := fmt.Sprintf("%d %x\n", len(up), upSum); err != nil || string(out) != want {
		t.Fatalf("4 MiB upload under loss: %v, answer %q, want %q", err, out, want)
	}
	t.Logf("shutdown: %s", srv.Stop())

	// One tshark pass (the capture has tens of thousands of frames) for the four counts, each
	// the number of frames its display filter would show: a frame from (to) the stack's address
	// with the option's field.
	rows := pcapngtest.TsharkFields(t, []string{pcap}, "ip.src", "ip.dst", "tcp.options.timestamp.tsval", "tcp.options.sack_le")[0]
	const stack = "198.18.0.2"
	for _, c := range []struct {
		what, filter string
		addr, field  int // the row's columns: ip.src or ip.dst, the option's field
		atLeast      int
	}{
		{"timestamps from the stack", "ip.src==198.18.0.2 && tcp.options.timestamp.tsval", 0, 2, 1000},
		{"timestamps to the stack", "ip.dst==198.18.0.2 && tcp.options.timestamp.tsval", 1, 2, 1000},
		{"SACK blocks from the stack", "ip.src==198.18.0.2 && tcp.options.sack_le", 0, 3, 1},
		{"SACK blocks to the stack", "ip.dst==198.18.0.2 && tcp.options.sack_le", 1, 3, 1},
	} {
		n := 0
		for _, r := range rows {
			if slices.Contains(strings.Split(r[c.addr], ","), stack) && r[c.field] != "" {
				n++
			}
		}
		if n < c.atLeast {
			t.Errorf("%s: %d segments, want at least %d (%s)", c.what, n, c.atLeast, c.filter)
		} else {
			t.Logf("%s: %d segments", c.what, n)
		}
	}
}

// randomFile writes n random bytes to path and returns them and their SHA-256.
func randomFile(t testing.TB, path string, n int) ([]byte, [32]byte) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b, sha256.Sum256(b)
}
