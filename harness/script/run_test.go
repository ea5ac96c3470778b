package script

import (
	"testing"
)

// runSrc parses and runs a script given as text.
func runSrc(t *testing.T, src string, cfg Config) *Result {
	t.Helper()
	s, err := Parse("test.pkt", []byte(src), nil)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	res, err := Run(s, cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res
}

const passiveOpen = `
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 65535 <mss 1460>
+0  > S. 0:0(0) ack 1 win 65535 <mss 1460>
+.1 < . 1:1(0) ack 1 win 65535
+0  accept(3, ..., ...) = 4
+0  write(4, ..., 100) = 100
+0  > P. 1:101(100) ack 1 win 65535
+.1 < . 1:1(0) ack 101 win 65535
+0  close(4) = 0
+0  > F. 101:101(0) ack 1 win 65535
+.1 < F. 1:1(0) ack 102 win 65535
+0  > . 102:102(0) ack 2 win 65534
`

func TestRunPassiveOpen(t *testing.T) {
	res := runSrc(t, passiveOpen, Config{})
	if !res.Passed() {
		t.Fatalf("%v", res.Failure)
	}
}
