package script

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Python blocks (%{ ... }%) run as packetdrill runs them (its code.c): each block, when its
// line comes, records the TCP_INFO of the socket under test (the last one made by socket or
// accept); after the last line, one Python program binds each block's tcpi_* values and runs
// the blocks in order. An assertion that fails, or any other exception, fails the script at
// the block's line. Without python3 the blocks are reported as skipped, never passed.

// codeBlock is a Python block with the TCP_INFO it saw.
type codeBlock struct {
	line int
	code string
	info map[string]int64
}

// pythonTimeout bounds the Python program of one script (real time: it is a separate process).
const pythonTimeout = 30 * time.Second

// tcpiConstants are the names packetdrill binds for tcpi_state, tcpi_ca_state and
// tcpi_options values (Linux's numbers).
var tcpiConstants = []struct {
	name  string
	value int64
}{
	{"TCP_ESTABLISHED", 1}, {"TCP_SYN_SENT", 2}, {"TCP_SYN_RECV", 3}, {"TCP_FIN_WAIT1", 4},
	{"TCP_FIN_WAIT2", 5}, {"TCP_TIME_WAIT", 6}, {"TCP_CLOSE", 7}, {"TCP_CLOSE_WAIT", 8},
	{"TCP_LAST_ACK", 9}, {"TCP_LISTEN", 10}, {"TCP_CLOSING", 11},
	{"TCP_CA_Open", 0}, {"TCP_CA_Disorder", 1}, {"TCP_CA_CWR", 2}, {"TCP_CA_Recovery", 3}, {"TCP_CA_Loss", 4},
	// The FreeBSD fork's names for the states, with the same (Linux's) numbers as tcpi_state.
	{"TCPI_CLOSED", 7}, {"TCPI_LISTEN", 10}, {"TCPI_SYN_SENT", 2}, {"TCPI_SYN_RECEIVED", 3},
	{"TCPI_ESTABLISHED", 1}, {"TCPI_CLOSE_WAIT", 8}, {"TCPI_FIN_WAIT_1", 4}, {"TCPI_CLOSING", 11},
	{"TCPI_LAST_ACK", 9}, {"TCPI_FIN_WAIT_2", 5}, {"TCPI_TIME_WAIT", 6},
	{"TCPI_OPT_TIMESTAMPS", 1}, {"TCPI_OPT_SACK", 2}, {"TCPI_OPT_WSCALE", 4}, {"TCPI_OPT_ECN", 8},
	{"TCPI_OPT_ECN_SEEN", 16}, {"TCPI_OPT_SYN_DATA", 32},
}

// codeEvent records a Python block with the TCP_INFO of the socket under test.
func (r *runner) codeEvent(e *Event) {
	b := codeBlock{line: e.Line, code: e.Code}
	if r.socks != nil && r.testFD >= 0 {
		r.b.Do(func() { b.info, _ = r.socks.TCPInfo(r.testFD) })
	}
	r.code = append(r.code, b)
}

// pythonProgram is the program of a script's blocks, as packetdrill writes it: a hook that
// names the script's file and line on an exception, then per block its tcpi_* values and its
// code. starts holds the program line each block's code starts at, to name the block of an
// error Python finds before the hook runs (a syntax error).
func pythonProgram(file string, blocks []codeBlock) (prog string, starts []int) {
	var w strings.Builder
	w.WriteString("import sys\nimport traceback\n" +
		"def excepthook(etype, value, tb):\n" +
		"  sys.stderr.write(\"%s:%d: error in Python code\\n\" % (_file, _line))\n" +
		"  traceback.print_exception(etype, value, tb)\n\n" +
		"sys.excepthook = excepthook\n\n")
	for _, c := range tcpiConstants {
		fmt.Fprintf(&w, "%s = %d\n", c.name, c.value)
	}
	w.WriteString("\n")
	for _, b := range blocks {
		names := make([]string, 0, len(b.info))
		for k := range b.info {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			fmt.Fprintf(&w, "%s = %d\n", k, b.info[k])
		}
		fmt.Fprintf(&w, "_file = %s\n_line = %d\n", strconv.Quote(file), b.line)
		starts = append(starts, strings.Count(w.String(), "\n")+1)
		fmt.Fprintf(&w, "%s\n\n", dedent(b.code))
	}
	return w.String(), starts
}

// dedent removes indentation Python would refuse: the first line's (the text right after
// "%{"), and, when the code starts on the next line, the indentation common to its lines.
// A block whose first line holds code stays as packetdrill hands it to Python.
func dedent(code string) string {
	lines := strings.Split(code, "\n")
	lines[0] = strings.TrimLeft(lines[0], " \t")
	if lines[0] != "" {
		return strings.Join(lines, "\n")
	}
	prefix, first := "", true
	for _, l := range lines[1:] {
		if strings.TrimSpace(l) == "" {
			continue
		}
		ind := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if first {
			prefix, first = ind, false
		}
		for !strings.HasPrefix(ind, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	for i := 1; i < len(lines); i++ {
		lines[i] = strings.TrimPrefix(lines[i], prefix)
	}
	return strings.Join(lines, "\n")
}

// errorLine is the line the exception hook names; programLine a line of the program itself.
var (
	errorLine   = regexp.MustCompile(`:(\d+): error in Python code`)
	programLine = regexp.MustCompile(`code\.py", line (\d+)`)
)

// failedBlock is the script line of the block an error came from: the one the exception hook
// names, or the block holding the last program line Python names.
func failedBlock(out []byte, blocks []codeBlock, starts []int) int {
	if m := errorLine.FindSubmatch(out); m != nil {
		line, _ := strconv.Atoi(string(m[1]))
		return line
	}
	line := blocks[len(blocks)-1].line
	if all := programLine.FindAllSubmatch(out, -1); len(all) > 0 {
		n, _ := strconv.Atoi(string(all[len(all)-1][1]))
		for i, start := range starts {
			if n >= start {
				line = blocks[i].line
			}
		}
	}
	return line
}

// runCode runs the script's Python blocks after its last line; a failure is the script's.
func (r *runner) runCode() {
	if len(r.code) == 0 {
		return
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		for _, b := range r.code {
			r.res.Skipped = append(r.res.Skipped, Skip{Line: b.line, What: "code", Text: "python3 not found: %{" + strings.TrimSpace(b.code) + "}%"})
		}
		return
	}
	dir, err := os.MkdirTemp("", "mtcp-script-")
	if err != nil {
		r.fail("python blocks: %v", err)
	}
	defer os.RemoveAll(dir)
	prog := filepath.Join(dir, "code.py")
	text, starts := pythonProgram(r.s.File, r.code)
	if err := os.WriteFile(prog, []byte(text), 0o600); err != nil {
		r.fail("python blocks: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), pythonTimeout)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, py, prog)
	cmd.Stdout, cmd.Stderr, cmd.Dir = &out, &out, dir
	cmd.WaitDelay = time.Second // a process the block started may hold the output open
	if err := cmd.Run(); err != nil {
		line := failedBlock(out.Bytes(), r.code, starts)
		for i := range r.s.Events {
			if r.s.Events[i].Line == line {
				r.ev = &r.s.Events[i]
			}
		}
		r.failWith("the Python block passes", lastLines(out.String(), 4),
			"the Python block failed (%v): %s", err, lastLines(out.String(), 1))
	}
}

// lastLines returns the last n non-empty lines of s, joined by " | ".
func lastLines(s string, n int) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if strings.TrimSpace(l) != "" {
			keep = append(keep, strings.TrimSpace(l))
		}
	}
	return strings.Join(keep[max(len(keep)-n, 0):], " | ")
}
