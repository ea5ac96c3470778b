// Package mtcpdut is mtcp as a device under test: its deterministic core on one end of an
// in-process pipe, behind the target-neutral interfaces of package harness (DUT, Sockets,
// Tunable, ConnTable, DropCounter). Package harness knows nothing of the stack; this package
// is the one place where the bench meets it.
package mtcpdut

import (
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"time"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/stack/core"
	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/link"
	"github.com/mtcp-go/mtcp/stack/link/pipe"
	"github.com/mtcp-go/mtcp/stack/tcp"
)

// MTCP is mtcp's deterministic core as a DUT, on one end of an in-process pipe.
type MTCP struct {
	core *core.Core
	near *pipe.End // the bench's end
	now  time.Time
	fds  map[int]*socket // the socket API's descriptors
}

var (
	_ harness.DUT         = (*MTCP)(nil)
	_ harness.Sockets     = (*MTCP)(nil)
	_ harness.Tunable     = (*MTCP)(nil)
	_ harness.ConnTable   = (*MTCP)(nil)
	_ harness.DropCounter = (*MTCP)(nil)
	_ harness.Counters    = (*MTCP)(nil)
)

// Target makes mtcp DUTs with a configuration: DefaultConfig unless Config says otherwise.
type Target struct {
	// Config returns the core configuration of each new DUT; nil means DefaultConfig.
	Config func() core.Config
}

// Name returns "mtcp".
func (Target) Name() string { return "mtcp" }

// NewDUT makes a fresh core.
func (t Target) NewDUT() (harness.DUT, error) {
	cfg := DefaultConfig()
	if t.Config != nil {
		cfg = t.Config()
	}
	return New(cfg)
}

// DefaultConfig is the core configuration the bench uses unless told otherwise: the bench's
// default addresses and gateway, and a fixed secret so that captures are reproducible. Its
// timers are RFC 6298's 1 s minimum RTO and RFC 1122's customary 200 ms delayed ACK, and its
// congestion response RFC 5681's halving, without quick ACKs, with RFC 8985's new-data probes:
// the values the suite's cases and scripts are written against. The stack's own defaults are
// Linux's 200 ms and 40 ms, and a decrease to 0.7.
func DefaultConfig() core.Config {
	return core.Config{
		MAC:       harness.DefaultStackMAC,
		Interface: ipv4.Interface{Addr: harness.DefaultStackAddr, Gateway: harness.DefaultGateway},
		Secret:    [16]byte{'m', 't', 'c', 'p', '-', 'b', 'e', 'n', 'c', 'h'},
		TCP: tcp.Config{RTOMin: time.Second, RTOVarMin: time.Millisecond, DelayedACK: 200 * time.Millisecond, Congestion: tcp.CongestionReno,
			QuickACK: tcp.Off, TLPNewData: tcp.On},
	}
}

// New starts a core with cfg on a pipe of MTU 1500.
func New(cfg core.Config) (*MTCP, error) {
	far, near := pipe.New(link.DefaultMTU)
	c, err := core.New(cfg, far)
	if err != nil {
		return nil, fmt.Errorf("mtcp: %w", err)
	}
	m := &MTCP{core: c, near: near}
	far.Attach(link.ReceiverFunc(func(f []byte) { c.HandleFrame(m.now, f) }))
	return m, nil
}

// Core returns the core, for mtcp's own tests of its internals.
func (m *MTCP) Core() *core.Core { return m.core }

// Name returns "mtcp".
func (m *MTCP) Name() string { return "mtcp" }

// MAC returns the core's MAC.
func (m *MTCP) MAC() net.HardwareAddr { return m.core.Config().MAC }

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

// Conns lists the TCP layer's connections, TIME-WAIT entries included.
func (m *MTCP) Conns() []harness.Conn {
	var out []harness.Conn
	m.core.TCP().EachConn(func(local, remote netip.AddrPort, s tcp.State) {
		out = append(out, harness.Conn{Local: local, Remote: remote, State: linuxState(s)})
	})
	return out
}

// Drops returns the frames the core discarded as malformed, damaged or not its own, at any
// layer: the sum of the core's drop counters.
func (m *MTCP) Drops() uint64 {
	s := m.core.Stats()
	l, ip, t := s.Link, s.IPv4, s.TCP
	return l.Malformed + l.NotForUs + l.BadSource + l.UnknownEtherType +
		ip.Truncated + ip.BadVersion + ip.BadHeaderLength + ip.BadTotalLength + ip.BadChecksum + ip.NotForUs + ip.BadSource + ip.LinkBroadcast +
		s.ARP.Malformed + s.ICMP.Malformed + s.ICMP.BadChecksum + s.ICMP.UnknownType +
		t.BadChecksum + t.Malformed + t.Broadcast + t.NoACK
}

// linuxCounters are the TCP counters mtcp keeps under Linux's nstat name, where both count
// the same event.
var linuxCounters = map[string]string{
	"TcpExtSyncookiesSent":   "SynCookiesSent",
	"TcpExtSyncookiesRecv":   "SynCookiesValid",
	"TcpExtSyncookiesFailed": "SynCookiesFailed",
	"TcpExtTCPLossProbes":    "TailLossProbes",
	"TcpExtTCPSACKDiscard":   "BadSACKBlocks",
	"TcpExtPAWSEstab":        "PAWSRejects",
}

// Counter returns a TCP counter: by its Linux nstat name (linuxCounters), or any field of
// tcp.Stats as "mtcp.tcp.<Field>".
func (m *MTCP) Counter(name string) (uint64, bool) {
	field, ok := linuxCounters[name]
	if !ok {
		field, ok = strings.CutPrefix(name, "mtcp.tcp.")
	}
	if !ok {
		return 0, false
	}
	v := reflect.ValueOf(m.core.TCP().Stats()).FieldByName(field)
	if !v.IsValid() || v.Kind() != reflect.Uint64 {
		return 0, false
	}
	return v.Uint(), true
}
