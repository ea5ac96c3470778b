//go:build unix

package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// An interrupted run (Ctrl-C) says so and exits 130, which is neither a failure (1) nor bad
// usage (2); what ran is still reported.
func TestMTCPTestInterrupted(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "-o", "caps", "--junit", "j.xml")
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// Interrupt once the first specs have passed.
	var out bytes.Buffer
	r := bufio.NewReader(io.TeeReader(stdout, &out))
	for dots := 0; dots < 3; {
		b, err := r.ReadByte()
		if err != nil {
			t.Fatalf("the run ended before it could be interrupted: %v\n%s", err, out.String())
		}
		if b == '.' {
			dots++
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { io.Copy(io.Discard, r); done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("still running 2 minutes after the interrupt\n%s", out.String())
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130\n%s\n%s", err, out.String(), stderr.String())
	}
	last := lastLine(out.String())
	if !strings.HasPrefix(last, "interrupted: ") || !strings.Contains(last, " not run") {
		t.Errorf("last line %q, want it to say interrupted and how many did not run", last)
	}
	if _, err := os.Stat(filepath.Join(dir, "j.xml")); err != nil {
		t.Errorf("no JUnit report of what ran: %v", err)
	}
}
