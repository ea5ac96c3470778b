// Command ping brings the mtcp stack up on a TAP device so that ping and arping on the host
// side get their answers from it: ARP and ICMP echo, nothing else.
//
// Run it as root on Linux, inside a network namespace (it refuses otherwise):
//
//	ip netns add mtcp && ip netns exec mtcp go run ./examples/ping --pcap ping.pcapng
//	ip netns exec mtcp ping -c 3 198.18.0.2
//
// Flags: --tap NAME (created if absent, default mtcp0), --addr 198.18.0.2/24 (the stack),
// --host-addr 198.18.0.1/24 (the TAP device's address on the host side), --pcap FILE (record
// every frame as pcapng), --fault SPEC (seeded faults on the link, e.g. loss=5%,seed=1),
// --netns NAME, --mac ADDR; --help lists them. SIGINT or SIGTERM stops it cleanly and prints
// what the stack did. Exit status: 0 after a signal, 1 when it cannot start, 2 for a bad flag
// (refused before any device or file is created).
package main

import (
	"os"

	"github.com/mtcp-go/mtcp/examples/internal/demo"
)

func main() {
	os.Exit(demo.Main(program(), os.Args[1:], os.Stdout, os.Stderr))
}

func program() demo.Program {
	return demo.Program{
		Name:    "ping",
		Summary: "answers ping and arping from the mtcp userspace TCP/IP stack: ARP and ICMP echo, nothing else",
		Example: "ip netns add mtcp && ip netns exec mtcp go run ./examples/ping --pcap ping.pcapng\n" +
			"ip netns exec mtcp ping -c 3 198.18.0.2     # from a second shell",
		Serve: func(up *demo.Up) (string, func(), error) {
			return "try: ping " + up.Stack.Addr().Addr().String(), nil, nil
		},
	}
}
