// Command mtcp-replay replays a Wireshark capture against mtcp: the stack takes the place of
// one host, the frames the others sent it are injected in virtual time (a 30-minute capture
// replays in seconds), and what the stack sends is compared with what the recorded host sent.
//
//	mtcp-replay capture.pcapng                  the stack plays the server of the first TCP conversation
//	mtcp-replay --client capture.pcap           ... its client
//	mtcp-replay --host 10.0.0.1:80 c.pcapng     a given host (and port)
//	mtcp-replay -o replay.pcapng c.pcap         the replay's own capture, commented frame by frame
//	mtcp-replay --compare window,options c.pcap compare those too (also rst-ack)
//	mtcp-replay --absolute c.pcap               sequence numbers as sent, not relative
//	mtcp-replay --cpuprofile cpu.prof c.pcap    where the replay's time goes (go tool pprof cpu.prof)
//
// The report lists the differences (capture frame, what the recorded host sent, what the
// stack sent), with sequence numbers relative to each side's ISN unless --absolute; its last
// line is the verdict, "equivalent" or "different: N differences".
// Progress goes to stderr: a bar on a terminal, otherwise a line every 5 s (-q: neither).
// SIGINT or SIGTERM stops the replay at the next record, leaves no -o file, and prints the
// report so far, its last line "interrupted at frame N of M"; a second signal stops at once.
// Exit status: 0 equivalent, 1 different, 2 bad input or usage, 130 interrupted by SIGINT,
// 143 by SIGTERM.
package main

import (
	"os"

	"github.com/mtcp-go/mtcp/harness/replay"
)

func main() {
	os.Exit(replay.Main(os.Args[1:], os.Stdout, os.Stderr))
}
