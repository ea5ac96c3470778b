// Package core is mtcp's deterministic protocol core: Ethernet demultiplexing, ARP, IPv4 and
// ICMP, and the hooks transports (TCP) plug into.
//
// The core is single-threaded and never reads a clock, sleeps, or starts a goroutine. Its owner
// hands it frames (HandleFrame) and the time (Advance), and asks when it next needs to run
// (NextDeadline); it sends through the link it was given. The same frames and times always
// give the same output, which is what makes every timer in the stack testable in virtual time.
// The owner serializes calls: the runtime in package stack holds a mutex, the harness runs
// everything on one goroutine.
package core

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/mtcp-go/mtcp/stack/arp"
	"github.com/mtcp-go/mtcp/stack/icmp"
	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/link"
	"github.com/mtcp-go/mtcp/stack/tcp"
	"github.com/mtcp-go/mtcp/stack/timer"
	"github.com/mtcp-go/mtcp/stack/wire"
)

// Config describes one stack instance. Zero values of the bounds take their defaults.
type Config struct {
	MAC        net.HardwareAddr      // the stack's Ethernet address: 6 bytes, unicast
	Interface  ipv4.Interface        // address/prefix and optional gateway
	MTU        int                   // largest IP datagram sent (default: the link's MTU)
	TTL        uint8                 // TTL of sent datagrams (default 64)
	ARP        arp.Config            // ARP cache bounds and timings
	Reassembly ipv4.ReassemblyConfig // fragment reassembly bounds
	TCP        tcp.Config            // TCP bounds and timers
	// Secret keys the IP identification generator (and, later, TCP initial sequence numbers).
	// Zero: a random secret from crypto/rand. Tests set it for reproducible captures.
	Secret [16]byte
}

// WithDefaults returns c with zero fields set to their defaults for a link of the given MTU.
func (c Config) WithDefaults(linkMTU int) Config {
	if c.MTU == 0 {
		c.MTU = linkMTU
	}
	if c.TTL == 0 {
		c.TTL = ipv4.DefaultTTL
	}
	c.ARP = c.ARP.WithDefaults()
	c.Reassembly = c.Reassembly.WithDefaults()
	c.TCP = c.TCP.WithDefaults()
	return c
}

// Validate reports the first problem with c, naming the field.
func (c Config) Validate(linkMTU int) error {
	if mac, ok := wire.MACFrom(c.MAC); !ok || mac.IsZero() || mac.IsMulticast() {
		return fmt.Errorf("MAC %v is not a unicast 6-byte Ethernet address", c.MAC)
	}
	if err := c.Interface.Validate(); err != nil {
		return err
	}
	if c.MTU < link.MinMTU || c.MTU > linkMTU {
		return fmt.Errorf("MTU %d out of range %d..%d (RFC 791 minimum .. the link's MTU)", c.MTU, link.MinMTU, linkMTU)
	}
	if err := c.ARP.Validate(); err != nil {
		return err
	}
	if err := c.TCP.Validate(); err != nil {
		return err
	}
	return c.Reassembly.Validate()
}

// Transport is a protocol above IPv4 (TCP) as the core sees it.
type Transport interface {
	// HandlePacket takes a datagram addressed to the stack (reassembled if it was fragmented).
	// broadcast tells that it was sent to a broadcast address, IP or link layer.
	HandlePacket(now time.Time, p wire.IPv4, broadcast bool)
	// HandleError takes an ICMP error about a datagram the transport sent, or a local
	// host-unreachable error when ARP resolution for it failed.
	HandleError(now time.Time, e icmp.Error)
}

// Core is one stack's protocol state. Use New; the zero value is not usable.
type Core struct {
	cfg        Config
	mac        wire.MAC // cfg.MAC
	link       link.Endpoint
	now        time.Time
	timers     timer.Heap
	arp        *arp.Table
	reasm      *ipv4.Reassembler
	ids        *ipv4.IDs
	transports [256]Transport
	tcp        *tcp.Layer
	stats      Stats
	tx         []byte // the frame being built: Ethernet + IPv4 header + payload
}

// Offsets in the transmit buffer.
const (
	ipOffset      = wire.EthernetHeaderLen
	payloadOffset = ipOffset + wire.IPv4MinHeaderLen
)

// New returns a core that sends through l. It does not attach to l: the owner delivers received
// frames with HandleFrame, passing the time.
func New(cfg Config, l link.Endpoint) (*Core, error) {
	if l == nil {
		return nil, errors.New("link is nil")
	}
	cfg = cfg.WithDefaults(l.MTU())
	if err := cfg.Validate(l.MTU()); err != nil {
		return nil, err
	}
	if cfg.Secret == ([16]byte{}) {
		if _, err := rand.Read(cfg.Secret[:]); err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
	}
	cfg.MAC = slices.Clone(cfg.MAC) // the caller's slice may change; the config in force does not
	mac, _ := wire.MACFrom(cfg.MAC)
	c := &Core{cfg: cfg, mac: mac, link: l, tx: make([]byte, wire.EthernetHeaderLen+cfg.MTU)}
	c.arp = arp.New(cfg.ARP, mac, cfg.Interface.Addr.Addr(), c, &c.timers, c.unreachable)
	c.reasm = ipv4.NewReassembler(cfg.Reassembly, &c.timers, c.reassemblyTimeout)
	c.ids = ipv4.NewIDs(cfg.Secret)
	c.tcp = tcp.New(cfg.TCP, c, cfg.Secret)
	c.transports[wire.ProtocolTCP] = c.tcp
	return c, nil
}

// Config returns the configuration in force, defaults filled in.
func (c *Core) Config() Config {
	cfg := c.cfg
	cfg.MAC = slices.Clone(cfg.MAC)
	return cfg
}

// Now returns the latest time the core was given.
func (c *Core) Now() time.Time { return c.now }

// RegisterTransport routes datagrams of protocol p to t. ICMP is the core's own.
func (c *Core) RegisterTransport(p wire.IPProtocol, t Transport) {
	if p != wire.ProtocolICMP {
		c.transports[p] = t
	}
}

// TCP returns the TCP layer: its Listen and Dial are the core's socket API.
func (c *Core) TCP() *tcp.Layer { return c.tcp }

// LocalAddr returns the stack's IPv4 address.
func (c *Core) LocalAddr() netip.Addr { return c.cfg.Interface.Addr.Addr() }

// MTU returns the largest IP datagram the stack sends.
func (c *Core) MTU() int { return c.cfg.MTU }

// Timers returns the core's timer heap, for transports to arm their timers in.
func (c *Core) Timers() *timer.Heap { return &c.timers }

// ARP returns the ARP table, for inspection.
func (c *Core) ARP() *arp.Table { return c.arp }

// Stats returns every counter of the core.
func (c *Core) Stats() Stats {
	s := c.stats
	s.ARP = c.arp.Stats()
	s.Reassembly = c.reasm.Stats()
	s.TCP = c.tcp.Stats()
	return s
}

// setNow moves the core's time forward; time never goes backwards.
func (c *Core) setNow(now time.Time) {
	if now.After(c.now) {
		c.now = now
	}
}

// Advance moves time to now and runs every timer due by then, in deadline order.
func (c *Core) Advance(now time.Time) {
	c.setNow(now)
	c.timers.Fire(c.now)
}

// NextDeadline returns when the core next needs Advance, if any timer is armed.
func (c *Core) NextDeadline() (time.Time, bool) { return c.timers.Next() }

// WriteFrame sends a finished frame on the link and counts it. It is how ARP and the IPv4
// output reach the link.
func (c *Core) WriteFrame(frame []byte) error {
	if err := c.link.WriteFrame(frame); err != nil {
		c.stats.Link.WriteErrors++
		return err
	}
	c.stats.Link.FramesOut++
	c.stats.Link.BytesOut += uint64(len(frame))
	return nil
}

// HandleFrame processes one received Ethernet frame at time now (after running the timers
// due by then). It does not keep frame.
func (c *Core) HandleFrame(now time.Time, frame []byte) {
	c.Advance(now)
	c.stats.Link.FramesIn++
	c.stats.Link.BytesIn += uint64(len(frame))
	eth, err := wire.ParseEthernet(frame)
	if err != nil {
		c.stats.Link.Malformed++
		return
	}
	// RFC 894: take frames to our address and to broadcast; anything else was not for us.
	if dst := eth.Destination(); dst != c.mac && !dst.IsBroadcast() {
		c.stats.Link.NotForUs++
		return
	}
	if eth.Source().IsMulticast() {
		c.stats.Link.BadSource++
		return
	}
	switch eth.EtherType() {
	case wire.EtherTypeARP:
		c.arp.Handle(c.now, eth)
	case wire.EtherTypeIPv4:
		c.handleIPv4(eth)
	default:
		c.stats.Link.UnknownEtherType++
	}
}
