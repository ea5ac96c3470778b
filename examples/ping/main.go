// Command ping brings the mtcp stack up on a TAP device so that ping and arping on the host
// side get their answers from it: ARP and ICMP echo, nothing else.
//
// Run it inside a network namespace (it refuses otherwise):
//
//	ip netns add mtcp && ip netns exec mtcp go run ./examples/ping --pcap ping.pcapng
//	ip netns exec mtcp ping -c 3 198.18.0.2
//
// Flags: --tap NAME (created if absent, default mtcp0), --addr 198.18.0.2/24 (the stack),
// --host-addr 198.18.0.1/24 (the TAP device's address on the host side), --pcap FILE (record
// every frame as pcapng), --fault SPEC (seeded faults on the link, e.g. loss=5%,seed=1),
// --netns NAME, --mac ADDR. SIGINT or SIGTERM stops it cleanly.
package main

import (
	"os"

	"github.com/mtcp-go/mtcp/examples/internal/demo"
)

func main() {
	os.Exit(demo.Main("ping", os.Args[1:], os.Stdout, os.Stderr, nil, func(up *demo.Up) (string, func(), error) {
		return "try: ping " + up.Stack.Addr().Addr().String(), nil, nil
	}))
}
