package demo

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtcp-go/mtcp/stack"
	"github.com/mtcp-go/mtcp/stack/link/pipe"
)

// testProgram is a Program whose Serve fails the test: nothing here may get that far.
func testProgram(t *testing.T) (Program, *Port) {
	var port Port
	return Program{
		Name:    "demo",
		Summary: "does nothing, for tests",
		Example: "demo --port 7\n",
		Flags:   func(fs *flag.FlagSet) { PortVar(fs, &port, "port", 7, "TCP `port` to serve on") },
		Serve: func(*Up) (string, func(), error) {
			t.Fatal("serve called")
			return "", nil, nil
		},
	}, &port
}

// Bad flags end with exit status 2 and one line naming the flag, before anything is touched
// (no TAP device, no namespace, no file: this runs anywhere). The control: good flags get past
// the checks, to where the stack would start.
func TestBadFlagsExitTwo(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "out.pcapng")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--fault", "loss=200%"}, "--fault"},
		{[]string{"--fault", "jitter=5ms"}, `unknown fault "jitter"`},
		{[]string{"--addr", "192.0.2.2/24"}, "must lie in 198.18.0.0/15"},
		{[]string{"--addr", "198.18.0.2"}, `--addr "198.18.0.2": want an IPv4 address with prefix`},
		{[]string{"--addr", "198.18.0.255/24"}, "broadcast address"},
		{[]string{"--host-addr", "198.18.1.1/24"}, "not on the same subnet"},
		{[]string{"--mac", "02:00"}, `--mac "02:00"`},
		{[]string{"--mac", "03:00:00:00:00:01"}, "group (multicast) address"},
		{[]string{"--tap", "a-name-far-too-long"}, "longer than 15 bytes"},
		{[]string{"--tap", "tap:0"}, "cannot be . or .., nor contain"},
		{[]string{"--tap", ""}, "a device name is required"},
		{[]string{"--netns", "../x"}, `--netns "../x"`},
		{[]string{"--pcap", filepath.Join(dir, "missing", "x.pcapng")}, "does not exist"},
		{[]string{"--pcap", dir}, "is a folder"},
		{[]string{"--port", "99999"}, "want a TCP port from 1 to 65535"},
		{[]string{"--port", "0"}, "want a TCP port from 1 to 65535"},
		{[]string{"--port", "-1"}, "want a TCP port from 1 to 65535"},
		{[]string{"--port"}, "flag needs an argument"},
		{[]string{"--no-such-flag"}, "flag provided but not defined"},
		{[]string{"stray"}, `unexpected argument "stray"`},
	} {
		var out, errOut bytes.Buffer
		p, _ := testProgram(t)
		args := append([]string{"--pcap", pcap}, c.args...) // a refused run creates no capture
		if got := Main(p, args, &out, &errOut); got != ExitUsage {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", c.args, got, errOut.String())
		}
		msg := errOut.String()
		if !strings.Contains(msg, c.want) || !strings.HasPrefix(msg, "demo: ") || strings.Count(msg, "\n") != 1 {
			t.Errorf("%q: stderr %q, want one line starting %q containing %q", c.args, msg, "demo: ", c.want)
		}
		if out.Len() > 0 {
			t.Errorf("%q: stdout %q, want nothing", c.args, out.String())
		}
		if _, err := os.Stat(pcap); err == nil {
			t.Fatalf("%q: a refused run left %s behind", c.args, pcap)
		}
	}
	var f Flags
	f.TAP, f.Addr, f.HostAddr, f.Fault = "mtcp0", "198.18.0.2/24", "198.18.0.1/24", "loss=5%,dup=1%,reorder=5%,corrupt=0.5%,delay=5ms,seed=1"
	f.PCAP, f.MAC, f.NetNS = pcap, "02:00:00:00:00:02", "mtcp"
	if _, _, _, err := f.Validate(); err != nil {
		t.Fatalf("good flags refused: %v", err)
	}
}

// A program's own check runs before anything is created, and its failure is a bad flag.
func TestProgramCheckExitsTwo(t *testing.T) {
	p, _ := testProgram(t)
	p.Check = func() error { return os.ErrNotExist }
	var out, errOut bytes.Buffer
	if got := Main(p, nil, &out, &errOut); got != ExitUsage || errOut.String() != "demo: file does not exist\n" {
		t.Fatalf("exit %d, stderr %q; want 2 and the check's error", got, errOut.String())
	}
}

// --help and -h say what the program does, how to call it, every flag and an example, on
// stdout, and exit 0.
func TestHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "-help"} {
		var out, errOut bytes.Buffer
		p, _ := testProgram(t)
		if got := Main(p, []string{arg}, &out, &errOut); got != ExitOK {
			t.Errorf("%s: exit %d, want 0", arg, got)
		}
		help := out.String()
		for _, want := range []string{
			"demo does nothing, for tests.\n", "Linux only", "Usage: demo [flags]",
			"--tap name", "--addr address/prefix", "--host-addr", "--pcap file", "--netns", "--mac", "--fault SPEC",
			"--port port\n      TCP port to serve on (default 7)",
			"Example, as root:\n  demo --port 7\n", "Exit status: 0",
		} {
			if !strings.Contains(help, want) {
				t.Errorf("%s: help lacks %q:\n%s", arg, want, help)
			}
		}
		if errOut.Len() > 0 {
			t.Errorf("%s: stderr %q, want nothing", arg, errOut.String())
		}
	}
}

func TestPortFlag(t *testing.T) {
	p, port := testProgram(t)
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	p.Flags(fs)
	if *port != 7 {
		t.Fatalf("default %d, want 7", *port)
	}
	for _, s := range []string{"1", "65535", "8080"} {
		if err := fs.Set("port", s); err != nil || (*port).String() != s {
			t.Errorf("--port %s: %v, got %d", s, err, *port)
		}
	}
}

// The exit summary always says how many received frames the stack dropped before its core saw
// them, zero included.
func TestSummaryCountsReceiveQueueDrops(t *testing.T) {
	a, _ := pipe.New(1500)
	s, err := stack.New(stack.Config{Link: a, Addr: netip.MustParsePrefix("198.18.0.2/24")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	up := &Up{Stack: s}
	if sum := up.Summary(); !strings.Contains(sum, "; receive queue: 0 dropped (full), 0 oversize") {
		t.Fatalf("summary %q lacks the receive queue's drops", sum)
	}
	s.DeliverFrame(make([]byte, 4000)) // longer than the link's MTU + 14: dropped on arrival
	if sum := up.Summary(); !strings.Contains(sum, "; receive queue: 0 dropped (full), 1 oversize") {
		t.Fatalf("summary %q: want 1 oversize frame", sum)
	}
}
