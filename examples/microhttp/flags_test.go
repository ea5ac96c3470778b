package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtcp-go/mtcp/examples/internal/demotest"
)

// flagTestNetNS is a --netns guard for the in-process runs below: should one get past its flag
// checks by mistake, the TAP link would refuse to open outside a namespace that does not exist.
var flagTestNetNS = []string{"--netns", "mtcp-absent-namespace"}

// Every bad flag of microhttp is one line on stderr and exit status 2, before anything is
// created: no capture file, no device. Runs anywhere, without root.
func TestBadFlagsExitTwoAndWriteNothing(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "http.pcapng")
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "www")
	demotest.CheckRefused(t, program(), append([]string{"--pcap", pcap}, flagTestNetNS...), []demotest.BadFlag{
		{Args: []string{"--dir", missing}, Want: `--dir "` + missing + `": no such folder`},
		{Args: []string{"--dir", file}, Want: "is a file, not a folder"},
		{Args: []string{"--port", "99999"}, Want: "want a TCP port from 1 to 65535"},
		{Args: []string{"--port", "0"}, Want: "want a TCP port from 1 to 65535"},
		{Args: []string{"--addr", "198.18.0.2/33"}, Want: "--addr"},
		{Args: []string{"www"}, Want: `unexpected argument "www"`},
	}, func(args []string) {
		if _, err := os.Stat(pcap); err == nil {
			t.Fatalf("%q: a refused run left %s behind", args, pcap)
		}
	})
}

// --help says what microhttp does, its flags (its own too) and a command line that works as
// written: without --dir, the built-in page.
func TestHelpSaysWhatMicrohttpDoes(t *testing.T) {
	demotest.CheckHelp(t, program(), "--help",
		"microhttp serves a built-in page, or the files of --dir, over HTTP",
		"Usage: microhttp [flags]", "--port port", "(default 80)", "--dir DIR", "--pcap file",
		"ip netns exec mtcp go run ./examples/microhttp --pcap http.pcapng", "Exit status")
}

// The built program's exit status is what the process ends with (go run would turn any
// failure into 1): 2 for a bad flag, with nothing written, and 0 for --help.
func TestBuiltProgramExitStatus(t *testing.T) {
	bin := demotest.Build(t)
	dir := t.TempDir()
	pcap := filepath.Join(dir, "http.pcapng")
	for _, args := range [][]string{
		{"--port", "99999", "--pcap", pcap},
		{"--dir", filepath.Join(dir, "www"), "--pcap", pcap},
	} {
		stdout, stderr, code := demotest.Refused(t, bin, args...)
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and one line on stderr", args, code, stdout, stderr)
		}
		if _, err := os.Stat(pcap); err == nil {
			t.Fatalf("%q: a refused run left %s behind", args, pcap)
		}
	}
	stdout, stderr, code := demotest.Refused(t, bin, "--help")
	if code != 0 || !strings.Contains(stdout, "Usage: microhttp") || stderr != "" {
		t.Errorf("--help: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
