//go:build linux

package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mtcp-go/mtcp/examples/internal/demotest"
	"github.com/mtcp-go/mtcp/internal/netns"
	"github.com/mtcp-go/mtcp/internal/netns/netnstest"
)

// The files of BenchmarkLiveHTTP, random bytes written to a temporary folder that both servers
// serve.
var liveHTTPFiles = []struct {
	name string
	size int
}{
	{"1KiB", 1 << 10},
	{"64KiB", 64 << 10},
	{"1MiB", 1 << 20},
}

// liveHTTPModes are BenchmarkLiveHTTP's ways of connecting: every worker keeps one connection
// open for all its requests, or opens a new one for each (the server closes it after the
// answer).
var liveHTTPModes = []string{"keepalive", "new-conn"}

const (
	liveHTTPWorkers  = 8               // concurrent clients, each one request at a time
	liveHTTPDuration = 2 * time.Second // one measurement, per stack
	liveHTTPTimeout  = 15 * time.Second

	// The helper processes BenchmarkLiveHTTP starts (this test binary again, inside one of its
	// namespaces) learn their role and their namespace from these variables.
	liveHTTPRoleEnv  = "MTCP_LIVE_HTTP_ROLE"
	liveHTTPNetNSEnv = "MTCP_LIVE_HTTP_NETNS"
)

// BenchmarkLiveHTTP measures requests per second and MB/s (10^6 bytes of response bodies a
// second) for a 1 KiB, a 64 KiB and a 1 MiB file of random bytes, served by microhttp (Go's
// net/http on mtcp, on a TAP device) and by the Linux kernel: the same net/http server with
// microhttp's own handler and timeouts, on kernel sockets in a namespace of its own, joined by
// a veth pair (with the kernel's default offloads) to the client's namespace. So the two
// differ in the TCP/IP stack under net/http, not in the HTTP server. The client is net/http
// too, this test binary started again inside the client's namespace (for mtcp, the namespace
// of microhttp's TAP device, whose host side is the kernel's): 8 workers, each one request at
// a time for 2 s, either over one kept-alive connection per worker (keepalive) or over a new
// connection for every request (new-conn). Every body is checked, length and SHA-256; a wrong
// byte, a failed request or a status other than 200 fails the benchmark. Everything runs on
// the same machine: the client, the server and, for mtcp, the stack share its CPUs.
//
// Each iteration runs the client once against each server, one after the other (mtcp first in
// the odd iterations, Linux in the even ones); every sub-benchmark (file × mode) starts both
// servers afresh. It reports the medians over the iterations of mtcp-req/s, linux-req/s,
// mtcp-MB/s, linux-MB/s and of each iteration's ratio mtcp/linux (of req/s, the same for MB/s),
// and logs each run's latencies, what the stack counted (retransmissions…), the TAP device's
// drops, and the kernels' TCP counters (retransmissions, delayed ACKs, D-SACKs for spurious
// retransmissions received). The kernel runs its default congestion control (logged), or on the
// server's sockets the one MTCP_LINUX_CC names. The veth pair keeps the kernel's offloads, so
// the kernel passes 64 KiB segments where mtcp writes one frame at a time to its TAP device;
// MTCP_VETH_OFFLOAD=off turns TSO, GSO and GRO off on both ends. Run it as root (it skips
// otherwise, or fails when CI=true):
//
//	go test -run '^$' -bench LiveHTTP -benchtime 1x ./examples/microhttp
//	go test -run '^$' -bench 'LiveHTTP/1MiB' -benchtime 3x ./examples/microhttp
//	MTCP_VETH_OFFLOAD=off go test -run '^$' -bench LiveHTTP -benchtime 1x ./examples/microhttp
func BenchmarkLiveHTTP(b *testing.B) {
	ip := netnstest.Tool(b, "ip")
	// The namespaces, made first so that a run without root skips (or fails) before the build.
	mtcpNS, cliNS, srvNS := netnstest.New(b), netnstest.New(b), netnstest.New(b)
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	www := b.TempDir()
	sums := make(map[string][32]byte)
	for _, f := range liveHTTPFiles {
		_, sums[f.name] = randomFile(b, filepath.Join(www, f.name+".bin"), f.size)
	}
	bin := microhttpBin(b)

	// The kernel's side: a veth pair from the server's namespace (198.18.4.1) to the client's
	// (198.18.4.2), made and configured by this binary started again inside each namespace,
	// which first checks that it is in that namespace (see liveHTTPRole).
	liveHTTPRun(b, exe, srvNS, ip, "link", "add", "srv0", "type", "veth", "peer", "name", "cli0", "netns", cliNS.Name())
	for _, end := range []struct {
		ns        *netnstest.NS
		dev, addr string
	}{{srvNS, "srv0", "198.18.4.1/24"}, {cliNS, "cli0", "198.18.4.2/24"}} {
		liveHTTPRun(b, exe, end.ns, ip, "addr", "add", end.addr, "dev", end.dev)
		liveHTTPRun(b, exe, end.ns, ip, "link", "set", end.dev, "up")
	}
	// MTCP_VETH_OFFLOAD=off: MTU-sized frames on the veth pair, as on the TAP device, so that
	// neither stack hands the other 64 KiB segments (TSO, GSO) or merges them (GRO).
	if os.Getenv("MTCP_VETH_OFFLOAD") == "off" {
		ethtool := netnstest.Tool(b, "ethtool")
		liveHTTPRun(b, exe, srvNS, ethtool, "-K", "srv0", "tso", "off", "gso", "off", "gro", "off")
		liveHTTPRun(b, exe, cliNS, ethtool, "-K", "cli0", "tso", "off", "gso", "off", "gro", "off")
	}
	// The kernel's settings, logged in every sub-benchmark (a parent's log is not shown).
	cc := strings.TrimSpace(liveHTTPRun(b, exe, srvNS, "cat", "/proc/sys/net/ipv4/tcp_congestion_control"))
	settings := fmt.Sprintf("linux congestion control: %s by default; the server's sockets: %s", cc, cmp.Or(os.Getenv("MTCP_LINUX_CC"), "the default"))
	if ethtool, err := exec.LookPath("ethtool"); err == nil {
		var on []string
		for line := range strings.Lines(liveHTTPRun(b, exe, srvNS, ethtool, "-k", "srv0")) {
			for _, o := range []string{"tcp-segmentation-offload", "generic-segmentation-offload", "generic-receive-offload"} {
				if strings.HasPrefix(line, o+":") {
					on = append(on, strings.TrimSpace(line))
				}
			}
		}
		settings += "; veth srv0: " + strings.Join(on, ", ")
	}

	for _, f := range liveHTTPFiles {
		b.Run(f.name, func(b *testing.B) {
			for _, mode := range liveHTTPModes {
				b.Run(mode, func(b *testing.B) {
					path := "/" + f.name + ".bin"
					mtcpBefore, cliBefore, srvBefore := liveHTTPCounters(b, exe, mtcpNS), liveHTTPCounters(b, exe, cliNS), liveHTTPCounters(b, exe, srvNS)
					srv := demotest.Start(b, mtcpNS, bin, "--netns", mtcpNS.Name(), "--tap", "mtcp0",
						"--addr", "198.18.0.2/24", "--host-addr", "198.18.0.1/24", "--port", "80", "--dir", www)
					kernel := demotest.StartEnv(b, srvNS, []string{liveHTTPRoleEnv + "=server", liveHTTPNetNSEnv + "=" + srvNS.Name()},
						exe, "-addr", "198.18.4.1:80", "-dir", www, "-cc", os.Getenv("MTCP_LINUX_CC"))
					var onMTCP, onLinux []liveHTTPResult
					var ratios []float64
					for i := range b.N {
						var m, l liveHTTPResult
						mtcpRun := func() { m = liveHTTPClient(b, exe, mtcpNS, "http://198.18.0.2"+path, f.size, sums[f.name], mode) }
						linuxRun := func() { l = liveHTTPClient(b, exe, cliNS, "http://198.18.4.1"+path, f.size, sums[f.name], mode) }
						if i%2 == 0 {
							mtcpRun()
							linuxRun()
						} else {
							linuxRun()
							mtcpRun()
						}
						onMTCP, onLinux = append(onMTCP, m), append(onLinux, l)
						ratios = append(ratios, m.rate()/l.rate())
					}
					// Four lines each time: go test shows only the first ten lines of a
					// benchmark's log, over all the times it runs the function.
					tapStats := liveHTTPTAPStats(b, exe, ip, mtcpNS, "mtcp0")
					b.Logf("mtcp: %s\n%s; TAP device: %s; the client's kernel: %s", liveHTTPRuns(onMTCP), srv.Stop(), tapStats,
						liveHTTPDelta(mtcpBefore, liveHTTPCounters(b, exe, mtcpNS), liveHTTPClientCounters))
					b.Logf("linux: %s\nserver %s; %s; the server's kernel: %s; the client's kernel: %s", liveHTTPRuns(onLinux), kernel.Stop(), settings,
						liveHTTPDelta(srvBefore, liveHTTPCounters(b, exe, srvNS), liveHTTPServerCounters),
						liveHTTPDelta(cliBefore, liveHTTPCounters(b, exe, cliNS), liveHTTPClientCounters))
					b.ReportMetric(0, "ns/op") // the time of fixed-length runs: not a figure
					b.ReportMetric(liveHTTPMedian(onMTCP, liveHTTPResult.rate), "mtcp-req/s")
					b.ReportMetric(liveHTTPMedian(onLinux, liveHTTPResult.rate), "linux-req/s")
					b.ReportMetric(median(ratios), "mtcp/linux")
					b.ReportMetric(liveHTTPMedian(onMTCP, liveHTTPResult.mbps), "mtcp-MB/s")
					b.ReportMetric(liveHTTPMedian(onLinux, liveHTTPResult.mbps), "linux-MB/s")
				})
			}
		})
	}
}

// liveHTTPResult is what one run of the client measured, as it prints it (JSON).
type liveHTTPResult struct {
	Requests int64   // answered, every body checked
	Bytes    int64   // of the bodies
	Seconds  float64 // from the first request to the last answer
	Conns    int64   // connections opened
	// Latencies of the requests, in milliseconds.
	P50, P99, Max float64
}

func (r liveHTTPResult) rate() float64 { return float64(r.Requests) / r.Seconds }
func (r liveHTTPResult) mbps() float64 { return float64(r.Bytes) / r.Seconds / 1e6 }

func (r liveHTTPResult) String() string {
	return fmt.Sprintf("%.0f req/s, %.1f MB/s (%d requests, %d connections, %.2f s; latency p50 %.2f, p99 %.2f, max %.1f ms)",
		r.rate(), r.mbps(), r.Requests, r.Conns, r.Seconds, r.P50, r.P99, r.Max)
}

// liveHTTPRuns lists the runs' results.
func liveHTTPRuns(rs []liveHTTPResult) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, "; ")
}

func liveHTTPMedian(rs []liveHTTPResult, f func(liveHTTPResult) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return median(v)
}

// liveHTTPRun runs args (a program and its arguments) inside ns through this binary, which
// checks first that it is in ns; it returns the output and fails the benchmark on an error.
func liveHTTPRun(b *testing.B, exe string, ns *netnstest.NS, args ...string) string {
	b.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), 30*time.Second)
	defer cancel()
	cmd := ns.Exec(ctx, append([]string{exe}, args...)...)
	cmd.Env = append(os.Environ(), liveHTTPRoleEnv+"=run", liveHTTPNetNSEnv+"="+ns.Name())
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("%s in %s: %v\n%s", strings.Join(args, " "), ns.Name(), err, out)
	}
	return string(out)
}

// The kernel's TCP counters BenchmarkLiveHTTP logs: for a client, the segments it retransmitted,
// the delayed ACKs it sent, the segments that arrived out of order (a hole before them) and the
// duplicates it reported with D-SACK (a retransmission of what had arrived: spurious), the
// resets; for the kernel's server, its retransmissions and tail loss probes.
var (
	liveHTTPClientCounters = []string{"RetransSegs", "DelayedACKs", "TCPOFOQueue", "TCPDSACKOldSent", "TCPDSACKOfoSent", "EstabResets", "OutRsts", "InErrs"}
	liveHTTPServerCounters = []string{"RetransSegs", "TCPLossProbes", "TCPFastRetrans", "TCPDSACKRecv", "EstabResets", "OutRsts"}
)

// liveHTTPCounters reads the kernel's TCP counters in ns: Tcp (/proc/net/snmp) and TcpExt
// (/proc/net/netstat), each a line of names and a line of values.
func liveHTTPCounters(b *testing.B, exe string, ns *netnstest.NS) map[string]int64 {
	b.Helper()
	m := make(map[string]int64)
	names := make(map[string][]string)
	for line := range strings.Lines(liveHTTPRun(b, exe, ns, "cat", "/proc/net/snmp", "/proc/net/netstat")) {
		f := strings.Fields(line)
		if len(f) == 0 || (f[0] != "Tcp:" && f[0] != "TcpExt:") {
			continue
		}
		if names[f[0]] == nil {
			names[f[0]] = f[1:]
			continue
		}
		for i, v := range f[1:] {
			if i < len(names[f[0]]) {
				var n int64
				if _, err := fmt.Sscan(v, &n); err == nil {
					m[names[f[0]][i]] = n
				}
			}
		}
		names[f[0]] = nil
	}
	return m
}

// liveHTTPDelta says how much each of the counters named grew from before to after.
func liveHTTPDelta(before, after map[string]int64, names []string) string {
	var s []string
	for _, n := range names {
		s = append(s, fmt.Sprintf("%s %d", n, after[n]-before[n]))
	}
	return strings.Join(s, ", ")
}

// liveHTTPTAPStats says what the kernel counted on the TAP device dev in ns: frames and drops
// each way, as the kernel sees them (rx: from the stack, tx: to it).
func liveHTTPTAPStats(b *testing.B, exe, ip string, ns *netnstest.NS, dev string) string {
	b.Helper()
	var links []struct {
		Stats64 struct {
			RX, TX struct{ Packets, Errors, Dropped int64 }
		}
	}
	out := liveHTTPRun(b, exe, ns, ip, "-j", "-s", "link", "show", "dev", dev)
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		b.Fatalf("ip -j -s link show dev %s: %v: %q", dev, err, out)
	}
	s := links[0].Stats64
	return fmt.Sprintf("from the stack %d frames, %d errors, %d dropped; to the stack %d frames, %d errors, %d dropped",
		s.RX.Packets, s.RX.Errors, s.RX.Dropped, s.TX.Packets, s.TX.Errors, s.TX.Dropped)
}

// liveHTTPClient runs the client inside ns for liveHTTPDuration against url, whose body must
// be size bytes with SHA-256 sum, and returns what it measured.
func liveHTTPClient(b *testing.B, exe string, ns *netnstest.NS, url string, size int, sum [32]byte, mode string) liveHTTPResult {
	b.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), liveHTTPDuration+2*liveHTTPTimeout+30*time.Second)
	defer cancel()
	cmd := ns.Exec(ctx, exe, "-url", url, "-size", fmt.Sprint(size), "-sha256", hex.EncodeToString(sum[:]),
		"-mode", mode, "-workers", fmt.Sprint(liveHTTPWorkers), "-duration", liveHTTPDuration.String())
	cmd.Env = append(os.Environ(), liveHTTPRoleEnv+"=client", liveHTTPNetNSEnv+"="+ns.Name())
	stderr := &strings.Builder{}
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("client, %s %s: %v\n%s", mode, url, err, stderr)
	}
	var r liveHTTPResult
	if err := json.Unmarshal(out, &r); err != nil || r.Requests == 0 {
		b.Fatalf("client, %s %s: answer %q: %v\n%s", mode, url, out, err, stderr)
	}
	return r
}

// init runs a helper of BenchmarkLiveHTTP, when the benchmark starts this test binary again
// inside one of its namespaces, and exits: "run" runs a command, "server" is the kernel's HTTP
// server, "client" the client. Each first checks that the process is inside the namespace
// named by liveHTTPNetNSEnv (/proc/self/ns/net against /run/netns/NAME, see package netns).
// It is an init function because TestMain (oooflood_live_test.go) dispatches to its own
// helpers only.
func init() {
	role := os.Getenv(liveHTTPRoleEnv)
	if role == "" {
		return
	}
	if err := liveHTTPRole(role, os.Getenv(liveHTTPNetNSEnv), os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", role, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func liveHTTPRole(role, ns string, args []string) error {
	if ns == "" {
		return fmt.Errorf("%s is not set", liveHTTPNetNSEnv)
	}
	if err := netns.Require(ns); err != nil {
		return err
	}
	switch role {
	case "run":
		if len(args) == 0 {
			return errors.New("no command")
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		return cmd.Run()
	case "server":
		return liveHTTPServe(args)
	case "client":
		return liveHTTPLoad(args)
	}
	return fmt.Errorf("unknown role %q", role)
}

// liveHTTPAddr checks that s, a host:port, is in 198.18.0.0/15, the only addresses the live
// tests use.
func liveHTTPAddr(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return ap, err
	}
	if !netip.MustParsePrefix("198.18.0.0/15").Contains(ap.Addr()) {
		return ap, fmt.Errorf("%v is not in 198.18.0.0/15", ap.Addr())
	}
	return ap, nil
}

// liveHTTPServe is the kernel's server: net/http with microhttp's handler and timeouts on a
// kernel socket, until SIGTERM; then it prints how many requests it answered.
func liveHTTPServe(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	addr := fs.String("addr", "", "address to listen on")
	dir := fs.String("dir", "", "folder to serve")
	cc := fs.String("cc", "", "congestion control of the sockets (default: the kernel's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ap, err := liveHTTPAddr(*addr)
	if err != nil {
		return err
	}
	lc := net.ListenConfig{}
	if *cc != "" {
		lc.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, *cc)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	ln, err := lc.Listen(context.Background(), "tcp4", ap.String())
	if err != nil {
		return err
	}
	var requests, conns atomic.Int64
	h := handler(*dir)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			h.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		},
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	fmt.Printf("kernel server on %v: ready\n", ap)
	select {
	case err := <-done:
		return err
	case <-sig:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "stopped: %d requests on %d connections\n", requests.Load(), conns.Load())
	return nil
}

// liveHTTPLoad is the client: workers fetch the URL for the duration, checking every body, and
// it prints a liveHTTPResult. The first failure ends the run with an error.
func liveHTTPLoad(args []string) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	url := fs.String("url", "", "what to fetch: http://ADDR/PATH")
	size := fs.Int64("size", 0, "the body's length")
	sumHex := fs.String("sha256", "", "the body's SHA-256, in hex")
	mode := fs.String("mode", "keepalive", "keepalive or new-conn")
	workers := fs.Int("workers", 8, "concurrent requests")
	duration := fs.Duration("duration", 2*time.Second, "how long to send requests")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, _ := strings.Cut(strings.TrimPrefix(*url, "http://"), "/")
	target, err := liveHTTPAddr(host + ":80")
	if err != nil || !strings.HasPrefix(*url, "http://") {
		return fmt.Errorf("-url %q: want http://ADDR/PATH, ADDR in 198.18.0.0/15 (%v)", *url, err)
	}
	want, err := hex.DecodeString(*sumHex)
	if err != nil || len(want) != sha256.Size {
		return fmt.Errorf("-sha256 %q: want 64 hex digits", *sumHex)
	}
	if *mode != "keepalive" && *mode != "new-conn" {
		return fmt.Errorf("-mode %q: want keepalive or new-conn", *mode)
	}

	var conns atomic.Int64
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	client := &http.Client{
		Timeout: liveHTTPTimeout,
		Transport: &http.Transport{
			Proxy: nil, // never a proxy from the environment: only the server's address
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if addr != target.String() {
					return nil, fmt.Errorf("refusing to dial %s: only %v", addr, target)
				}
				conns.Add(1)
				return dialer.DialContext(ctx, "tcp4", addr)
			},
			DisableKeepAlives:   *mode == "new-conn",
			DisableCompression:  true,
			MaxIdleConnsPerHost: *workers,
		},
	}
	// get fetches the URL once and checks the answer.
	get := func() error {
		resp, err := client.Get(*url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		h := sha256.New()
		n, err := io.Copy(h, resp.Body)
		switch {
		case err != nil:
			return fmt.Errorf("reading the body after %d bytes: %w", n, err)
		case resp.StatusCode != http.StatusOK:
			return fmt.Errorf("status %s", resp.Status)
		case n != *size:
			return fmt.Errorf("body of %d bytes, want %d", n, *size)
		case !slices.Equal(h.Sum(nil), want):
			return fmt.Errorf("body's SHA-256 %x, want %x", h.Sum(nil), want)
		}
		return nil
	}
	// One request first, until the server answers (at most 10 s), not measured.
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		err := get()
		if err == nil {
			break
		}
		if time.Since(start) > 10*time.Second {
			return fmt.Errorf("no answer from %s: %w", *url, err)
		}
	}
	client.CloseIdleConnections()
	conns.Store(0)

	var (
		mu        sync.Mutex
		latencies []time.Duration
		firstErr  error
		bytes     atomic.Int64
		wg        sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	deadline := start.Add(*duration)
	for range *workers {
		wg.Go(func() {
			var mine []time.Duration
			for ctx.Err() == nil && time.Now().Before(deadline) {
				t := time.Now()
				if err := get(); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("request %d of this worker, %.3f s into the run, after %v: %w",
							len(mine)+1, time.Since(start).Seconds(), time.Since(t).Round(time.Millisecond), err)
					}
					mu.Unlock()
					cancel()
					return
				}
				mine = append(mine, time.Since(t))
				bytes.Add(*size)
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return firstErr
	}
	if len(latencies) == 0 {
		return errors.New("no request was answered")
	}
	slices.Sort(latencies)
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return json.NewEncoder(os.Stdout).Encode(liveHTTPResult{
		Requests: int64(len(latencies)),
		Bytes:    bytes.Load(),
		Seconds:  elapsed.Seconds(),
		Conns:    conns.Load(),
		P50:      ms(latencies[len(latencies)/2]),
		P99:      ms(latencies[len(latencies)*99/100]),
		Max:      ms(latencies[len(latencies)-1]),
	})
}
