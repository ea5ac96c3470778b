// Package tap is a link over a Linux TAP device: the stack's Ethernet frames go to the kernel
// as if from a real network card, so the kernel (ping, curl, nc) can talk to the stack.
//
// Safety rules of this project, enforced by Open: a TAP device is created only inside a network
// namespace made with `ip netns add` (checked with netns.Require before anything is created),
// the only address ever given to the device is one in 198.18.0.0/15 (RFC 2544 benchmarking
// space), and IPv6 is disabled on the device. Configuration is done with ioctls, not by running
// `ip`.
//
// The Endpoint's reader goroutine is the one goroutine in the link tree: it turns blocking reads
// into deliveries. This package must not parse, answer or alter frames.
package tap

import (
	"fmt"
	"net/netip"
	"sync/atomic"

	"github.com/mtcp-go/mtcp/stack/link"
)

// Config describes the TAP device to create.
type Config struct {
	// Name is the device name (required, at most 15 bytes).
	Name string
	// MTU is the device MTU; 0 means link.DefaultMTU.
	MTU int
	// NetNS is the /run/netns name of the namespace the process must be in; empty accepts any
	// named namespace, never the root one.
	NetNS string
	// HostAddr, if valid, is the IPv4 address and prefix given to the device on the kernel's
	// side. It must lie in 198.18.0.0/15, prefix included.
	HostAddr netip.Prefix
}

// Stats counts the frames that went through an Endpoint.
type Stats struct {
	// FramesIn counts frames read from the device and delivered to the receiver.
	FramesIn uint64
	// FramesOut counts frames written to the device.
	FramesOut uint64
	// ReadErrors counts failed reads; the reader stops at the first one not caused by Close.
	ReadErrors uint64
	// WriteErrors counts failed writes.
	WriteErrors uint64
	// Dropped counts frames read while no receiver was attached, and frames longer than
	// MTU+14 bytes (a VLAN-tagged frame, say).
	Dropped uint64
}

// maxNameLen is IFNAMSIZ minus the terminating NUL.
const maxNameLen = 15

// testNet is the only range a device address may come from (RFC 2544 benchmarking).
var testNet = netip.MustParsePrefix("198.18.0.0/15")

// validate checks cfg and fills in defaults.
func (cfg *Config) validate() error {
	if cfg.Name == "" {
		return fmt.Errorf("tap: Config.Name is required")
	}
	if len(cfg.Name) > maxNameLen {
		return fmt.Errorf("tap: device name %q longer than %d bytes", cfg.Name, maxNameLen)
	}
	if cfg.MTU == 0 {
		cfg.MTU = link.DefaultMTU
	}
	if cfg.MTU < link.MinMTU || cfg.MTU > link.MaxMTU {
		return fmt.Errorf("tap: MTU %d outside %d..%d", cfg.MTU, link.MinMTU, link.MaxMTU)
	}
	if cfg.HostAddr.IsValid() {
		addr := cfg.HostAddr.Addr()
		if !addr.Is4() {
			return fmt.Errorf("tap: HostAddr %v is not IPv4", cfg.HostAddr)
		}
		if !testNet.Contains(addr) || cfg.HostAddr.Bits() < testNet.Bits() {
			return fmt.Errorf("tap: HostAddr %v is outside %v: devices get only benchmarking addresses (project safety rule)",
				cfg.HostAddr, testNet)
		}
	}
	return nil
}

// counters are the atomic counters behind Stats.
type counters struct {
	framesIn, framesOut, readErrors, writeErrors, dropped atomic.Uint64
}

func (c *counters) stats() Stats {
	return Stats{
		FramesIn:    c.framesIn.Load(),
		FramesOut:   c.framesOut.Load(),
		ReadErrors:  c.readErrors.Load(),
		WriteErrors: c.writeErrors.Load(),
		Dropped:     c.dropped.Load(),
	}
}
