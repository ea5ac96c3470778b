//go:build !linux

package linuxdut

import (
	"errors"

	"github.com/mtcp-go/mtcp/harness"
)

// Target makes Linux DUTs; on this system it cannot.
type Target struct{}

// Name returns "linux".
func (Target) Name() string { return "linux" }

// NewDUT fails: the linux target runs the kernel of the machine it runs on, which must be
// Linux.
func (Target) NewDUT() (harness.DUT, error) {
	return nil, errors.New("linuxdut: the linux target needs Linux (a network namespace and a TAP device)")
}

// ReleaseAll does nothing: no DUT is ever made here.
func ReleaseAll() error { return nil }
