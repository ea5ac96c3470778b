package netnstest

import (
	"os"
	"testing"
)

// Short reports whether the long live checks may be cut short: `go test -short`, unless CI is
// "true". A plain `go test ./...` runs every check in full, and so does .ci/run (CI=true) even
// with -short; -short is for a quick local run.
func Short() bool {
	return testing.Short() && os.Getenv("CI") != "true"
}

// Long marks a live test that takes long in real time (it waits for a real kernel's or a real
// server's timers, which run on the wall clock): with -short it is skipped, saying why, unless
// CI is "true" (see Short).
func Long(t testing.TB, why string) {
	t.Helper()
	if Short() {
		t.Skipf("netnstest: -short: %s (go test without -short runs it, and so does CI=true)", why)
	}
}
