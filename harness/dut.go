package harness

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/mtcp-go/mtcp/stack/core"
	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/link"
	"github.com/mtcp-go/mtcp/stack/link/pipe"
	"github.com/mtcp-go/mtcp/stack/tcp"
	"github.com/mtcp-go/mtcp/stack/wire"
)

// DUT is the device under test as the bench sees it: frames in and out, and time. Specs never
// reach past it, so another target (the Linux kernel in a network namespace, another userspace
// stack) can take mtcp's place by implementing it.
type DUT interface {
	// Name names the target in reports ("mtcp").
	Name() string
	// MAC and Addr are the target's Ethernet address and IPv4 address with prefix.
	MAC() net.HardwareAddr
	Addr() netip.Prefix
	// SetOutput sets where the frames the target sends go. The target calls out on the
	// goroutine that called Deliver or Advance; out must not call back into the target.
	SetOutput(out func(frame []byte))
	// Deliver hands the target one frame at time now.
	Deliver(now time.Time, frame []byte)
	// Advance runs the target's timers due by now.
	Advance(now time.Time)
	// NextDeadline reports when the target next needs Advance, if ever.
	NextDeadline() (time.Time, bool)
}

// Defaults of the bench's network: the stack and its peer in 198.18.0.0/24, locally
// administered MACs.
var (
	DefaultStackAddr = netip.MustParsePrefix("198.18.0.2/24")
	DefaultStackMAC  = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
	DefaultPeerIP    = netip.MustParseAddr("198.18.0.1")
	DefaultPeerMAC   = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	DefaultGateway   = netip.MustParseAddr("198.18.0.254")
)

// MTCP is mtcp's deterministic core as a DUT, on one end of an in-process pipe.
type MTCP struct {
	core *core.Core
	near *pipe.End // the bench's end
	now  time.Time
	fds  map[int]*socket // the socket API's descriptors
}

var (
	_ DUT     = (*MTCP)(nil)
	_ Sockets = (*MTCP)(nil)
)

// DefaultMTCPConfig is the core configuration the bench uses unless told otherwise: the
// default addresses, the default gateway, and a fixed secret so that captures are reproducible.
// Its timers are RFC 6298's 1 s minimum RTO and RFC 1122's customary 200 ms delayed ACK, and its
// congestion response RFC 5681's halving, without quick ACKs, with RFC 8985's new-data probes: the values the suite's cases and scripts are written
// against. The stack's own defaults are Linux's 200 ms and 40 ms, and a decrease to 0.7.
func DefaultMTCPConfig() core.Config {
	mac, _ := wire.MACFrom(DefaultStackMAC)
	return core.Config{
		MAC:       mac,
		Interface: ipv4.Interface{Addr: DefaultStackAddr, Gateway: DefaultGateway},
		Secret:    [16]byte{'m', 't', 'c', 'p', '-', 'b', 'e', 'n', 'c', 'h'},
		TCP: tcp.Config{RTOMin: time.Second, RTOVarMin: time.Millisecond, DelayedACK: 200 * time.Millisecond, Congestion: tcp.CongestionReno,
			QuickACK: tcp.Off, TLPNewData: tcp.On},
	}
}

// NewMTCP starts a core with cfg on a pipe of MTU 1500.
func NewMTCP(cfg core.Config) (*MTCP, error) {
	far, near := pipe.New(link.DefaultMTU)
	c, err := core.New(cfg, far)
	if err != nil {
		return nil, fmt.Errorf("harness: %w", err)
	}
	m := &MTCP{core: c, near: near}
	far.Attach(link.ReceiverFunc(func(f []byte) { c.HandleFrame(m.now, f) }))
	return m, nil
}

// Core returns the core, for specs that read its counters.
func (m *MTCP) Core() *core.Core { return m.core }

// Name returns "mtcp".
func (m *MTCP) Name() string { return "mtcp" }

// MAC returns the core's MAC.
func (m *MTCP) MAC() net.HardwareAddr { return m.core.Config().MAC.HardwareAddr() }

// Addr returns the core's address and prefix.
func (m *MTCP) Addr() netip.Prefix { return m.core.Config().Interface.Addr }

// SetOutput attaches out to the bench's end of the pipe.
func (m *MTCP) SetOutput(out func(frame []byte)) { m.near.Attach(link.ReceiverFunc(out)) }

// Deliver writes frame into the pipe; the core handles it at now.
func (m *MTCP) Deliver(now time.Time, frame []byte) {
	m.now = now
	_ = m.near.WriteFrame(frame) // a frame of bad size is refused by the pipe, as a wire would drop it
}

// Advance runs the core's timers.
func (m *MTCP) Advance(now time.Time) {
	m.now = now
	m.core.Advance(now)
}

// NextDeadline returns the core's next deadline.
func (m *MTCP) NextDeadline() (time.Time, bool) { return m.core.NextDeadline() }
