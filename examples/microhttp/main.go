// Command microhttp serves a page and static files over HTTP with Go's net/http on mtcp, and
// takes uploads: a POST's body is read and answered with its length and SHA-256. It brings
// the stack up on a TAP device, as root on Linux, inside a network namespace:
//
//	ip netns add mtcp && ip netns exec mtcp go run ./examples/microhttp
//	ip netns exec mtcp curl http://198.18.0.2/
//	ip netns exec mtcp curl --data-binary @big.bin http://198.18.0.2/upload
//
// Flags: --tap NAME, --addr 198.18.0.2/24, --host-addr 198.18.0.1/24, --pcap FILE, --port N
// (default 80), --dir DIR (files to serve; without it a built-in page), --fault SPEC (seeded
// faults on the link, both ways: loss=5%,dup=1%,reorder=5%,corrupt=0.5%,delay=5ms,seed=1),
// --netns NAME, --mac ADDR; --help lists them. SIGINT or SIGTERM stops it cleanly: requests in
// progress finish first, then it prints what the stack did. Exit status: 0 after a signal, 1
// when it cannot start, 2 for a bad flag such as a --dir that does not exist (refused before
// any device or file is created).
//
// Server timeouts: 10 s to send a request's header, 60 s idle between requests, and a
// 60 s TCP user timeout (RFC 5482) on every connection, so a client that vanishes
// mid-transfer, or leaves a zero window shut, is let go.
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/mtcp-go/mtcp/examples/internal/demo"
)

const page = `<!doctype html>
<title>mtcp</title>
<h1>mtcp</h1>
<p>This page came over mtcp, a userspace TCP/IP stack in Go.</p>
`

func main() {
	os.Exit(demo.Main(program(), os.Args[1:], os.Stdout, os.Stderr))
}

func program() demo.Program {
	var port demo.Port
	var dir string
	return demo.Program{
		Name: "microhttp",
		Summary: "serves a built-in page, or the files of --dir, over HTTP (Go's net/http) on the mtcp " +
			"userspace TCP/IP stack; a POST is answered with its body's length and SHA-256",
		Example: "ip netns add mtcp && ip netns exec mtcp go run ./examples/microhttp --pcap http.pcapng\n" +
			"ip netns exec mtcp curl http://198.18.0.2/     # from a second shell",
		Flags: func(fs *flag.FlagSet) {
			demo.PortVar(fs, &port, "port", 80, "TCP `port` to serve on")
			fs.StringVar(&dir, "dir", "", "serve the files in the folder `DIR` (default: a built-in page)")
		},
		Check: func() error { return checkDir(dir) },
		Serve: func(up *demo.Up) (string, func(), error) {
			ln, err := up.Stack.Listen(uint16(port))
			if err != nil {
				return "", nil, err
			}
			srv := &http.Server{
				Handler: handler(dir),
				// A client that never finishes its request, or keeps an idle connection,
				// is let go; one whose peer vanished mid-transfer (nothing acknowledged,
				// or a zero window nobody reopens, for a minute) is aborted by TCP.
				ReadHeaderTimeout: 10 * time.Second,
				IdleTimeout:       60 * time.Second,
				ConnState: func(c net.Conn, s http.ConnState) {
					if u, ok := c.(interface{ SetUserTimeout(time.Duration) error }); ok && s == http.StateNew {
						_ = u.SetUserTimeout(time.Minute)
					}
				},
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					log.Printf("microhttp: %v", err)
				}
			}()
			stop := func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(ctx)
				<-done
			}
			what := "the built-in page"
			if dir != "" {
				what = "the files of " + dir
			}
			return fmt.Sprintf("serving %s at http://%v:%d/", what, up.Stack.Addr().Addr(), port), stop, nil
		},
	}
}

// checkDir checks --dir: empty (the built-in page), or a folder that exists.
func checkDir(dir string) error {
	if dir == "" {
		return nil
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("--dir %q: no such folder (leave --dir out to serve the built-in page)", dir)
	case err != nil:
		return fmt.Errorf("--dir %q: %v", dir, errors.Unwrap(err))
	case !fi.IsDir():
		return fmt.Errorf("--dir %q is a file, not a folder", dir)
	}
	return nil
}

// handler serves the built-in page, or the files under dir: a directory's index.html, else the
// file itself. Unlike http.FileServer it does not redirect /index.html to /. A POST to any
// path is an upload: the body is read and thrown away, and the answer is its length and
// SHA-256 (`curl --data-binary @FILE` checks a transfer to the stack).
func handler(dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			h := sha256.New()
			n, err := io.Copy(h, r.Body)
			if err != nil {
				http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
				return
			}
			fmt.Fprintf(w, "%d %x\n", n, h.Sum(nil))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if dir == "" {
			if r.URL.Path != "/" && r.URL.Path != "/index.html" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			http.ServeContent(w, r, "index.html", time.Time{}, strings.NewReader(page))
			return
		}
		name := filepath.Join(dir, filepath.FromSlash(path.Clean("/"+r.URL.Path)))
		f, err := os.Open(name)
		if err == nil {
			if fi, serr := f.Stat(); serr == nil && fi.IsDir() {
				f.Close()
				name = filepath.Join(name, "index.html")
				f, err = os.Open(name)
			}
		}
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil || fi.IsDir() {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, fi.Name(), fi.ModTime(), f)
	})
}
