//go:build !linux

package linuxdut

import (
	"errors"

	"github.com/mtcp-go/mtcp/harness"
)

// errNeedsLinux is what New and Target.NewDUT return on another system: the target is the
// kernel of the machine it runs on, reached through a network namespace and a TAP device.
var errNeedsLinux = errors.New("linuxdut: the Linux kernel target needs Linux (network namespaces and TAP devices)")

// Target makes Linux DUTs; on this system it cannot.
type Target struct{}

// Name returns "linux".
func (Target) Name() string { return "linux" }

// NewDUT fails: the Linux kernel target needs Linux.
func (Target) NewDUT() (harness.DUT, error) { return nil, errNeedsLinux }

// DUT is the kernel of one namespace behind a TAP device; on this system there is none.
type DUT struct{}

// New fails: the Linux kernel target needs Linux.
func New() (*DUT, error) { return nil, errNeedsLinux }

// ReleaseAll does nothing: no DUT is ever made here.
func ReleaseAll() error { return nil }

// ReapOrphans finds nothing: no namespace is ever made here.
func ReapOrphans() ([]string, error) { return nil, nil }
