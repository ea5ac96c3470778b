// Command echo is MicroTCP's echo server on mtcp: every chunk a client sends comes back
// prefixed with "echo: ". It brings the stack up on a TAP device, as root on Linux, inside a
// network namespace:
//
//	ip netns add mtcp && ip netns exec mtcp go run ./examples/echo
//	ip netns exec mtcp socat - TCP:198.18.0.2:7     (type a line, get "echo: " + the line)
//
// Flags: --tap NAME, --addr 198.18.0.2/24, --host-addr 198.18.0.1/24, --pcap FILE, --port N
// (default 7), --fault SPEC (seeded faults on the link, e.g. loss=5%,seed=1), --netns NAME,
// --mac ADDR; --help lists them. SIGINT or SIGTERM stops it cleanly and prints what the stack
// did. Exit status: 0 after a signal, 1 when it cannot start, 2 for a bad flag (refused before
// any device or file is created).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"

	"github.com/mtcp-go/mtcp/examples/internal/demo"
)

func main() {
	os.Exit(demo.Main(program(), os.Args[1:], os.Stdout, os.Stderr))
}

func program() demo.Program {
	var port demo.Port
	return demo.Program{
		Name:    "echo",
		Summary: `serves TCP echo on the mtcp userspace TCP/IP stack: every chunk a client sends comes back prefixed with "echo: "`,
		Example: "ip netns add mtcp && ip netns exec mtcp go run ./examples/echo --port 7\n" +
			"ip netns exec mtcp socat - TCP:198.18.0.2:7     # from a second shell: type a line",
		Flags: func(fs *flag.FlagSet) { demo.PortVar(fs, &port, "port", 7, "TCP `port` to serve on") },
		Serve: func(up *demo.Up) (string, func(), error) {
			ln, err := up.Stack.Listen(uint16(port))
			if err != nil {
				return "", nil, err
			}
			var wg sync.WaitGroup
			wg.Go(func() { serve(ln, &wg) })
			stop := func() {
				ln.Close()
				wg.Wait()
			}
			return fmt.Sprintf("echo on port %d; try: socat - TCP:%v:%d", port, up.Stack.Addr().Addr(), port), stop, nil
		},
	}
}

// serve accepts until the listener closes; each connection gets its own goroutine.
func serve(ln net.Listener, wg *sync.WaitGroup) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				log.Printf("echo: accept: %v", err)
			}
			return
		}
		wg.Go(func() { echo(c) })
	}
}

// echo answers every chunk read with "echo: " and the chunk, until the client closes.
func echo(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(append([]byte("echo: "), buf[:n]...)); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				log.Printf("echo: %v: %v", c.RemoteAddr(), err)
			}
			return
		}
	}
}
