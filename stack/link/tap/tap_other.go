//go:build !linux

package tap

import (
	"errors"

	"github.com/mtcp-go/mtcp/stack/link"
)

// Endpoint is a TAP device; TAP devices are supported only on Linux.
type Endpoint struct{}

var _ link.Endpoint = (*Endpoint)(nil)

// Open fails: TAP devices are supported only on Linux.
func Open(cfg Config) (*Endpoint, error) {
	return nil, errors.New("tap: TAP devices are supported only on Linux")
}

// Name returns "".
func (*Endpoint) Name() string { return "" }

// MTU returns 0.
func (*Endpoint) MTU() int { return 0 }

// WriteFrame returns link.ErrClosed.
func (*Endpoint) WriteFrame([]byte) error { return link.ErrClosed }

// Attach does nothing.
func (*Endpoint) Attach(link.Receiver) {}

// Close returns nil.
func (*Endpoint) Close() error { return nil }

// Stats returns zero counters.
func (*Endpoint) Stats() Stats { return Stats{} }

// Err returns nil.
func (*Endpoint) Err() error { return nil }
