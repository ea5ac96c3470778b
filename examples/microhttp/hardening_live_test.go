package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/examples/internal/demotest"
	"github.com/mtcp-go/mtcp/internal/netns/netnstest"
)

// The live tests run in parallel, each in a network namespace of its own (with the same
// addresses, 198.18.0.1 and 198.18.0.2 on a TAP device mtcp0, in each), so that the one that
// waits a minute for the server's user timeout does not add its minute to the others. A test
// whose checks read the wall clock (answers within seconds during a flood, challenge ACKs
// counted per second, a refusal at once) takes liveLoad exclusively, so that no other of these
// tests loads the machine meanwhile; the others share it (their checks are byte counts and
// tallies). The waiting test takes neither: it sleeps.
var liveLoad sync.RWMutex

// exclusive runs the test in parallel with the waiting ones, alone among the others.
func exclusive(t *testing.T) {
	t.Parallel()
	liveLoad.Lock()
	t.Cleanup(liveLoad.Unlock)
}

// shared runs the test in parallel with the others but the exclusive ones.
func shared(t *testing.T) {
	t.Parallel()
	liveLoad.RLock()
	t.Cleanup(liveLoad.RUnlock)
}

// built is microhttp built once for the package's live tests (removed by TestMain).
var built struct {
	once     sync.Once
	dir, bin string
	err      error
}

// microhttpBin builds microhttp, once per test binary.
func microhttpBin(t testing.TB) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "microhttp-test-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "microhttp")
		if out, err := exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// startServer starts microhttp in a namespace of its own on 198.18.0.2, serving www, with the
// kernel's side of the TAP device at 198.18.0.1.
func startServer(t *testing.T, www string, extra ...string) (*netnstest.NS, *demotest.Running) {
	t.Helper()
	ns := netnstest.New(t)
	args := append([]string{"--tap", "mtcp0", "--addr", "198.18.0.2/24", "--host-addr", "198.18.0.1/24",
		"--port", "80", "--dir", www}, extra...)
	return ns, demotest.Start(t, ns, microhttpBin(t), args...)
}

func smallSite(t *testing.T) string {
	t.Helper()
	www := t.TempDir()
	if err := os.WriteFile(filepath.Join(www, "index.html"), []byte("<h1>mtcp</h1>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return www
}

// TestLiveSYNFlood floods microhttp with SYNs, 5,000 a second, in two ways, and a curl every
// second during each flood still gets its page:
//   - from random spoofed sources (hping3 --rand-source): they are off the link and the stack
//     has no route back, so each half-open connection is freed at once (unsendable);
//   - from one spoofed address on the link that nobody answers ARP for, from ever new ports:
//     the half-open connections wait for ARP, fill the listener's half-open table, and past it
//     the stack answers with SYN cookies and keeps nothing, so the curls' handshakes complete
//     from their cookies.
//
// The summary's counters are the positive control: the floods did reach the stack, and each
// defence did its part.
func TestLiveSYNFlood(t *testing.T) {
	curl, hping := netnstest.Tool(t, "curl"), netnstest.Tool(t, "hping3")
	netnstest.Long(t, "paces 20 requests a second apart through two floods: 25 s of real time")
	exclusive(t)
	ns, srv := startServer(t, smallSite(t))
	for _, flood := range [][]string{{"--rand-source"}, {"-a", "198.18.0.77"}} {
		cmd := ns.Exec(t.Context(), append(append([]string{hping, "-S", "-p", "80", "-i", "u200"}, flood...), "198.18.0.2")...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second) // the flood is under way first
		ok, tries := 0, 10
		for range tries {
			start := time.Now()
			out, err := ns.Exec(t.Context(), curl, "-sS", "--max-time", "2", "http://198.18.0.2/index.html").Output()
			if err == nil && strings.Contains(string(out), "mtcp") {
				ok++
			} else {
				t.Logf("curl during the flood %v: %v, %q", flood, err, out)
			}
			time.Sleep(time.Second - time.Since(start)%time.Second)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Logf("flood %v: %d of %d curls got the page", flood, ok, tries)
		if ok < tries-1 {
			t.Errorf("flood %v: only %d of %d curls got the page", flood, ok, tries)
		}
	}
	sum := srv.Stop()
	t.Logf("%s", sum)
	for _, want := range []string{"unsendable half-open freed", "SYN cookies sent", "valid cookie ACKs"} {
		if !strings.Contains(sum, want) {
			t.Errorf("no %q in the summary: %s", want, sum)
		}
	}
}

// TestLiveHTTP10Burst makes 20,000 HTTP/1.0 requests one after another as fast as the kernel's
// client goes, each on a connection the server closes first, so each leaves a TIME-WAIT entry
// behind: none is refused, although they are far more than the 4,096-connection table (TIME-WAIT
// lives in a table of its own).
func TestLiveHTTP10Burst(t *testing.T) {
	py := netnstest.Tool(t, "python3")
	shared(t)
	ns, srv := startServer(t, smallSite(t))
	script := filepath.Join(t.TempDir(), "burst.py")
	if err := os.WriteFile(script, []byte(http10Burst), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := ns.Exec(t.Context(), py, script, "20000").CombinedOutput()
	elapsed := time.Since(start)
	var ok, failed int
	if _, serr := fmt.Sscan(string(out), &ok, &failed); err != nil || serr != nil {
		t.Fatalf("burst: %v\n%s", err, out)
	}
	t.Logf("%d requests in %v (%.0f/s), %d failed; %s", ok, elapsed.Round(time.Millisecond), float64(ok)/elapsed.Seconds(), failed, srv.Stop())
	if ok != 20000 || failed != 0 {
		t.Fatalf("%d of 20000 requests answered, %d failed: %s", ok, failed, out)
	}
}

const http10Burst = `import http.client, sys
ok = failed = 0
for i in range(int(sys.argv[1])):
    try:
        c = http.client.HTTPConnection("198.18.0.2", 80, timeout=5)
        c._http_vsn, c._http_vsn_str = 10, "HTTP/1.0"
        c.request("GET", "/index.html")
        r = c.getresponse()
        r.read()
        c.close()
        ok += r.status == 200
    except Exception as e:
        failed += 1
        if failed < 5:
            print(repr(e), file=sys.stderr)
print(ok, failed)
`

// TestLiveVanishedZeroWindowPeers opens 600 connections that ask for a 1 MiB file and never
// read (a 4 KiB receive buffer: their windows close), then the client vanishes (its address
// goes, so the stack's zero-window probes go unanswered). Every one is given up within the
// server's 60 s user timeout, and their send buffers freed. (That a peer which answers its
// probes is kept however long its window stays shut is conformance case HD4, in virtual time.)
func TestLiveVanishedZeroWindowPeers(t *testing.T) {
	py := netnstest.Tool(t, "python3")
	netnstest.Long(t, "waits 75 s of real time for the server's 60 s user timeout")
	t.Parallel()
	www := smallSite(t)
	randomFile(t, filepath.Join(www, "big.bin"), 1<<20)
	ns, srv := startServer(t, www)
	script := filepath.Join(t.TempDir(), "stall.py")
	if err := os.WriteFile(script, []byte(stallPeers), 0o644); err != nil {
		t.Fatal(err)
	}
	stall := ns.Exec(t.Context(), py, script, "600")
	stdout := &lockedBuffer{} // written by the client's process while the test reads it
	stall.Stdout, stall.Stderr = stdout, stdout
	if err := stall.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stall.Process.Kill(); _ = stall.Wait() }()
	for i := 0; !strings.Contains(stdout.String(), "open"); i++ {
		if i > 300 {
			t.Fatalf("the 600 connections did not open: %s", stdout.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("client: %s", strings.TrimSpace(stdout.String()))
	time.Sleep(5 * time.Second) // windows shut, probes answered
	if out, err := ns.Run("ip", "addr", "del", "198.18.0.1/24", "dev", "mtcp0"); err != nil {
		t.Fatalf("ip addr del: %v\n%s", err, out)
	}
	time.Sleep(70 * time.Second) // the 60 s user timeout, and some
	sum := srv.Stop()
	t.Logf("%s", sum)
	given := -1
	if m := regexp.MustCompile(`(\d+) zero-window peers given up`).FindStringSubmatch(sum); m != nil {
		given, _ = strconv.Atoi(m[1])
	}
	if given != 600 {
		t.Fatalf("%d of the 600 vanished zero-window peers given up: %s", given, sum)
	}
}

const stallPeers = `import socket, sys, time
n = int(sys.argv[1])
socks = []
for i in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("198.18.0.2", 80))
    s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    socks.append(s)
print(len(socks), "open", flush=True)
time.sleep(3600)
`

// lockedBuffer is a strings.Builder that one goroutine may write while another reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
