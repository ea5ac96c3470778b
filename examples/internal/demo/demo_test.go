package demo

import (
	"bytes"
	"strings"
	"testing"
)

// Bad flags end with exit status 2 and a message naming the flag, before anything is touched
// (no TAP device, no namespace: this runs anywhere). The control: good flags get past the
// checks, to where the stack would start.
func TestBadFlagsExitTwo(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--fault", "loss=200%"}, "--fault"},
		{[]string{"--fault", "jitter=5ms"}, `unknown fault "jitter"`},
		{[]string{"--addr", "192.0.2.2/24"}, "must lie in 198.18.0.0/15"},
		{[]string{"stray"}, `unexpected argument "stray"`},
	} {
		var out, errOut bytes.Buffer
		serve := func(*Up) (string, func(), error) {
			t.Fatalf("%v: serve called despite bad flags", c.args)
			return "", nil, nil
		}
		if got := Main("demo", c.args, &out, &errOut, nil, serve); got != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", c.args, got, errOut.String())
		}
		if !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: stderr %q lacks %q", c.args, errOut.String(), c.want)
		}
	}
	var f Flags
	f.Addr, f.HostAddr, f.Fault = "198.18.0.2/24", "198.18.0.1/24", "loss=5%,dup=1%,reorder=5%,corrupt=0.5%,delay=5ms,seed=1"
	if _, _, _, err := f.Validate(); err != nil {
		t.Fatalf("good flags refused: %v", err)
	}
}
