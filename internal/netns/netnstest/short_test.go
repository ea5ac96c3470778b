package netnstest

import "testing"

// -short cuts the long live checks short, except under CI=true.
func TestShort(t *testing.T) {
	t.Setenv("CI", "")
	if Short() != testing.Short() {
		t.Errorf("Short() = %v with -short %v and CI unset", Short(), testing.Short())
	}
	t.Setenv("CI", "true")
	if Short() {
		t.Error("Short() with CI=true")
	}
}
