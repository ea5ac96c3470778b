package script

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// needPython skips without python3, except in CI, where its absence is a failure.
func needPython(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 is needed (ci/setup.sh installs it): %v", err)
		}
		t.Skipf("python3 not found: %v", err)
	}
}

// The connection of passiveOpen, with Python blocks at three moments.
const pythonBlocks = `
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  %{ assert tcpi_state == TCP_LISTEN, tcpi_state }%
+0  < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>
+0  > S. 0:0(0) ack 1 <...>
+.1 < . 1:1(0) ack 1 win 65535 <nop,nop,TS val 2 ecr 100>
+0  accept(3, ..., ...) = 4
+0  %{
    assert tcpi_state == TCP_ESTABLISHED, tcpi_state
    assert tcpi_options & TCPI_OPT_SACK, tcpi_options
    assert tcpi_snd_cwnd == 3, tcpi_snd_cwnd  # RFC 3390: 4380 bytes of 1448
}%
+0  write(4, ..., 2896) = 2896
+0  > . 1:1449(1448) ack 1 <...>
+0  > P. 1449:2897(1448) ack 1 <...>
+0  %{ assert tcpi_unacked == 2, tcpi_unacked }%
`

func TestPythonBlocks(t *testing.T) {
	needPython(t)
	res := mustPass(t, pythonBlocks, Config{Lenient: true})
	if len(res.Skipped) != 0 {
		t.Errorf("skipped: %v", res.Skipped)
	}
	// Each assertion can fail, at its own line, with Python's message.
	mustFail(t, strings.Replace(pythonBlocks, "TCP_LISTEN", "TCP_CLOSE", 1), Config{Lenient: true}, 5, "AssertionError: 10")
	mustFail(t, strings.Replace(pythonBlocks, "== 3,", "== 10,", 1), Config{Lenient: true}, 10, "AssertionError: 3")
	mustFail(t, strings.Replace(pythonBlocks, "== 2,", "== 3,", 1), Config{Lenient: true}, 18, "AssertionError: 2")
	// A syntax error, found before any block runs, is the failure of the block it is in.
	mustFail(t, strings.Replace(pythonBlocks, "assert tcpi_state == TCP_LISTEN, tcpi_state", "assert (", 1), Config{Lenient: true}, 5, "SyntaxError")
	mustFail(t, strings.Replace(pythonBlocks, "assert tcpi_options & TCPI_OPT_SACK, tcpi_options", "assert (", 1), Config{Lenient: true}, 10, "SyntaxError")
	// A field mtcp does not report is a failure that names it, not a pass.
	mustFail(t, strings.Replace(pythonBlocks, "tcpi_unacked == 2, tcpi_unacked", "tcpi_busy_time > 0", 1), Config{Lenient: true}, 18, "tcpi_busy_time")
}

// Without python3 the blocks are reported as skipped: the script's other lines still judge.
func TestPythonBlocksWithoutPython(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	res := mustPass(t, pythonBlocks, Config{Lenient: true})
	if len(res.Skipped) != 3 || !strings.HasPrefix(res.Skipped[0].String(), "line 5: code line not run: python3 not found") {
		t.Errorf("skipped: %v", res.Skipped)
	}
}

func TestDedent(t *testing.T) {
	for in, want := range map[string]string{
		"\n    a = 1\n    if a:\n        b = 2\n": "\na = 1\nif a:\n    b = 2\n",
		" if True:\n    b = 2":                    "if True:\n    b = 2",
		" assert x ":                              "assert x ",
	} {
		if got := dedent(in); got != want {
			t.Errorf("dedent(%q) = %q, want %q", in, got, want)
		}
	}
}
