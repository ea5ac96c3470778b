package demotest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mtcp-go/mtcp/examples/internal/demo"
)

// BadFlag is a command line an example refuses, and what its one line on stderr contains.
type BadFlag struct {
	Args []string
	Want string
}

// CheckRefused runs p in-process with guard and then each bad command line: each must exit 2
// with one line on stderr, "NAME: …" containing Want, and nothing on stdout; after, if set,
// runs after each (to check that nothing was made). Runs anywhere, without root: the guard
// (a --netns that does not exist) stops a run that gets past its checks by mistake.
func CheckRefused(t *testing.T, p demo.Program, guard []string, cases []BadFlag, after func(args []string)) {
	t.Helper()
	for _, c := range cases {
		var out, errOut bytes.Buffer
		args := append(append([]string(nil), guard...), c.Args...)
		if got := demo.Main(p, args, &out, &errOut); got != demo.ExitUsage {
			t.Errorf("%q: exit %d, want %d (stderr %q)", c.Args, got, demo.ExitUsage, errOut.String())
		}
		if msg := errOut.String(); !strings.HasPrefix(msg, p.Name+": ") || !strings.Contains(msg, c.Want) || strings.Count(msg, "\n") != 1 || out.Len() != 0 {
			t.Errorf("%q: stderr %q, stdout %q; want one line on stderr containing %q", c.Args, msg, out.String(), c.Want)
		}
		if after != nil {
			after(c.Args)
		}
	}
}

// CheckHelp runs p with arg (--help or -h): exit 0, and every want in the text on stdout.
func CheckHelp(t *testing.T, p demo.Program, arg string, wants ...string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if got := demo.Main(p, []string{arg}, &out, &errOut); got != demo.ExitOK {
		t.Errorf("%s: exit %d, want %d", arg, got, demo.ExitOK)
	}
	for _, want := range wants {
		if !strings.Contains(out.String(), want) {
			t.Errorf("%s lacks %q:\n%s", arg, want, out.String())
		}
	}
}
