package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/examples/internal/demotest"
	"github.com/mtcp-go/mtcp/internal/netns/netnstest"
)

// twoWayImpairments are the links of BenchmarkLiveTwoWayLoss, each applied to every frame in
// both directions.
var twoWayImpairments = []struct{ name, spec string }{
	{"loss5", "loss=5%"},
	{"loss5-dup1-reorder5", "loss=5%,dup=1%,reorder=5%"},
	{"corrupt0.5", "corrupt=0.5%"},
	{"delay50ms-loss2", "delay=50ms,loss=2%"},
}

// BenchmarkLiveTwoWayLoss measures, through the same seeded impairment in both directions, a
// 16 MiB download and a 4 MiB upload by the kernel's curl: from microhttp on mtcp (--fault on
// its TAP link), and from a Python HTTP server on the Linux kernel, whose namespace is joined to
// the client's through pcaps/faultrelay (the same fault package, between two veth pairs in a
// relay namespace). Every byte is checked both ways. Each iteration is one run of each, with
// seed = the iteration's number; it reports the medians over the iterations, in seconds for
// download and upload together, and their ratio. The kernel runs its default congestion
// control (logged), or on the server's side the one MTCP_LINUX_CC names. Run it as root:
//
//	go test -run '^$' -bench LiveTwoWayLoss -benchtime 3x ./examples/microhttp
//	MTCP_LINUX_CC=cubic go test -run '^$' -bench LiveTwoWayLoss -benchtime 3x ./examples/microhttp
func BenchmarkLiveTwoWayLoss(b *testing.B) {
	for _, tool := range []string{"curl", "python3", "ethtool"} {
		netnstest.Tool(b, tool)
	}
	dir := b.TempDir()
	www := filepath.Join(dir, "www")
	if err := os.Mkdir(www, 0o755); err != nil {
		b.Fatal(err)
	}
	big, sum := randomFile(b, filepath.Join(www, "big.bin"), 16<<20)
	upFile := filepath.Join(dir, "up.bin")
	if err := os.WriteFile(upFile, big[:4<<20], 0o644); err != nil {
		b.Fatal(err)
	}
	upWant := fmt.Sprintf("%d %x\n", 4<<20, sha256.Sum256(big[:4<<20]))
	server := filepath.Join(dir, "server.py")
	if err := os.WriteFile(server, []byte(pyServer), 0o644); err != nil {
		b.Fatal(err)
	}
	microhttp := demotest.Build(b)
	relay := filepath.Join(dir, "faultrelay")
	if out, err := exec.Command("go", "build", "-o", relay, "github.com/mtcp-go/mtcp/pcaps/faultrelay").CombinedOutput(); err != nil {
		b.Fatalf("go build faultrelay: %v\n%s", err, out)
	}

	// fetch downloads and uploads from the client namespace and returns the time both took.
	fetch := func(b *testing.B, client *netnstest.NS, host string) time.Duration {
		start := time.Now()
		out, err := client.Exec(b.Context(), "curl", "-sS", "--max-time", "300", "http://"+host+"/big.bin").Output()
		if got := sha256.Sum256(out); err != nil || got != sum {
			b.Fatalf("16 MiB download from %s: %v, %d bytes", host, err, len(out))
		}
		out, err = client.Exec(b.Context(), "curl", "-sS", "--max-time", "300", "-H", "Expect:",
			"--data-binary", "@"+upFile, "http://"+host+"/upload").Output()
		if err != nil || string(out) != upWant {
			b.Fatalf("4 MiB upload to %s: %v, answer %q, want %q", host, err, out, upWant)
		}
		return time.Since(start)
	}

	for _, imp := range twoWayImpairments {
		b.Run(imp.name, func(b *testing.B) {
			var onMTCP, onLinux []float64
			for i := range b.N {
				spec := fmt.Sprintf("%s,seed=%d", imp.spec, i+1)

				ns := netnstest.New(b)
				srv := demotest.Start(b, ns, microhttp, "--tap", "mtcp0", "--addr", "198.18.0.2/24",
					"--host-addr", "198.18.0.1/24", "--port", "80", "--dir", www, "--fault", spec)
				onMTCP = append(onMTCP, fetch(b, ns, "198.18.0.2").Seconds())
				b.Logf("mtcp, %s: %.2f s; %s", spec, onMTCP[i], srv.Stop())

				cli, srvNS := linuxPair(b, relay, spec)
				py := srvNS.Exec(b.Context(), "python3", server, www, os.Getenv("MTCP_LINUX_CC"))
				if err := py.Start(); err != nil {
					b.Fatal(err)
				}
				waitHTTP(b, cli, "198.18.3.1")
				onLinux = append(onLinux, fetch(b, cli, "198.18.3.1").Seconds())
				b.Logf("linux, %s: %.2f s", spec, onLinux[i])
				_ = py.Process.Kill()
				_ = py.Wait()
			}
			m, l := median(onMTCP), median(onLinux)
			b.ReportMetric(m, "mtcp-s")
			b.ReportMetric(l, "linux-s")
			b.ReportMetric(m/l, "mtcp/linux")
		})
	}
}

// linuxPair makes a client and a server namespace (198.18.3.2 and 198.18.3.1), each joined by
// a veth pair to a relay namespace where faultrelay passes the frames between them with the
// faults of spec. Every device is made inside a namespace of the benchmark's own, never in
// the root namespace; the namespaces (and with them the devices) go when the benchmark ends.
func linuxPair(b *testing.B, relay, spec string) (cli, srv *netnstest.NS) {
	b.Helper()
	cli, srv, rly := netnstest.New(b), netnstest.New(b), netnstest.New(b)
	run := func(ns *netnstest.NS, args ...string) {
		b.Helper()
		if out, err := ns.Run(args...); err != nil {
			b.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, end := range []struct {
		ns        *netnstest.NS
		near, far string
		addr      string
	}{{cli, "rly-cli", "cli0", "198.18.3.2/24"}, {srv, "rly-srv", "srv0", "198.18.3.1/24"}} {
		run(rly, "ip", "link", "add", end.near, "type", "veth", "peer", "name", end.far, "netns", end.ns.Name())
		// MTU-sized frames for the relay, which reads and writes whole frames: no TSO, GSO or GRO.
		run(rly, "ethtool", "-K", end.near, "tx", "off", "tso", "off", "gso", "off", "gro", "off")
		run(end.ns, "ethtool", "-K", end.far, "tx", "off", "tso", "off", "gso", "off", "gro", "off")
		run(end.ns, "ip", "addr", "add", end.addr, "dev", end.far)
		run(end.ns, "ip", "link", "set", end.far, "up")
		run(rly, "ip", "link", "set", end.near, "up")
	}
	// The kernel's default congestion control (BBR on some machines, which does not take
	// random loss for congestion); MTCP_LINUX_CC sets another on the server's sockets, the
	// sender of the download (a namespace other than the first may not change the default).
	if cc, err := srv.Run("sysctl", "-n", "net.ipv4.tcp_congestion_control"); err == nil {
		b.Logf("linux congestion control: %s by default; the server's sockets: %s", strings.TrimSpace(cc), cmp.Or(os.Getenv("MTCP_LINUX_CC"), "the default"))
	}
	log := &strings.Builder{}
	cmd := rly.Exec(context.Background(), relay, // not b.Context(): that ends before the cleanup that reads its summary
		"--netns", rly.Name(), "--a", "rly-cli", "--b", "rly-srv", "--fault", spec)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		lines := strings.Split(strings.TrimSpace(log.String()), "\n")
		b.Logf("faultrelay: %s", lines[len(lines)-1])
	})
	return cli, srv
}

// waitHTTP waits until the server at host answers.
func waitHTTP(b *testing.B, cli *netnstest.NS, host string) {
	b.Helper()
	for range 100 {
		if err := cli.Exec(b.Context(), "curl", "-s", "-o", "/dev/null", "--max-time", "1", "http://"+host+"/").Run(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatalf("no HTTP server at %s", host)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// pyServer serves the files of the directory it is given on 198.18.3.1:80, and answers a POST
// with the body's length and SHA-256, as microhttp does; a second argument names the congestion
// control of its sockets.
const pyServer = `import hashlib, http.server, os, socket, sys
os.chdir(sys.argv[1])
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        left, h = int(self.headers["Content-Length"]), hashlib.sha256()
        n = left
        while left:
            d = self.rfile.read(min(left, 1 << 16))
            if not d: break
            h.update(d); left -= len(d)
        body = ("%d %s\n" % (n, h.hexdigest())).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
class S(http.server.ThreadingHTTPServer):
    def server_bind(self):
        if len(sys.argv) > 2 and sys.argv[2]:
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, sys.argv[2].encode())
        super().server_bind()
S(("198.18.3.1", 80), H).serve_forever()
`
