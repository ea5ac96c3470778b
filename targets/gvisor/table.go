package gvisor

import (
	"cmp"
	"net/netip"
	"reflect"
	"slices"
	"strings"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"

	"github.com/mtcp-go/mtcp/harness"
)

// Conns lists the stack's TCP endpoints as `ss -tan` would: every endpoint registered with the
// stack's demultiplexer in a TCP state — listeners (remote 0.0.0.0:0), connections in
// SYN-RECEIVED (gVisor registers a full endpoint for each), and TIME-WAIT, which gVisor keeps on
// the closed endpoint until its timer ends. gVisor's internal states are left out: an endpoint
// made or bound but not connected (not in ss either), one connecting before its SYN is sent
// (SYN-SENT here), and one closed or failed. Rows are sorted by local then remote address.
func (d *DUT) Conns() []harness.Conn {
	if d.closed {
		return nil
	}
	defer d.settle() // reading an endpoint takes its lock, whose release may wake the processor
	var out []harness.Conn
	for _, te := range d.stack.RegisteredEndpoints() {
		e, ok := te.(*tcp.Endpoint)
		if !ok {
			continue
		}
		st, ok := linuxState(e.EndpointState())
		if !ok {
			continue
		}
		info, ok := e.Info().(*stack.TransportEndpointInfo)
		if !ok {
			continue
		}
		id := info.ID
		c := harness.Conn{Local: addrPort(id.LocalAddress, id.LocalPort), Remote: addrPort(id.RemoteAddress, id.RemotePort), State: st}
		if st == harness.TCPListen {
			c.Remote = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b harness.Conn) int {
		return cmp.Or(a.Local.Compare(b.Local), a.Remote.Compare(b.Remote))
	})
	return slices.Compact(out) // an endpoint bound for several protocols is listed once
}

func addrPort(a tcpip.Address, port uint16) netip.AddrPort {
	ip, _ := netip.AddrFromSlice(a.AsSlice())
	if !ip.IsValid() {
		ip = netip.IPv4Unspecified()
	}
	return netip.AddrPortFrom(ip.Unmap(), port)
}

// linuxState maps gVisor's endpoint state onto Linux's numbering, which gVisor's protocol states
// share (transport/tcp/endpoint.go); false for its internal states, except that connecting
// before the SYN is out reads as SYN-SENT.
func linuxState(s tcp.EndpointState) (harness.TCPState, bool) {
	switch s {
	case tcp.StateConnecting:
		return harness.TCPSynSent, true
	case tcp.StateEstablished, tcp.StateSynSent, tcp.StateSynRecv, tcp.StateFinWait1, tcp.StateFinWait2,
		tcp.StateTimeWait, tcp.StateCloseWait, tcp.StateLastAck, tcp.StateListen, tcp.StateClosing:
		return harness.TCPState(s), true
	}
	return 0, false
}

// Drops returns the frames the stack received and discarded as malformed, damaged or not its
// own, from gVisor's counters (stack.Stack.Stats) and the NIC's address filter: IPv4 packets
// malformed (bad header, checksum, length) or with a bad source or destination address, ARP
// packets malformed, asking for another address or of an unknown opcode, ICMP messages
// invalid, TCP segments malformed or with a bad checksum, and frames of an unknown EtherType
// or IP protocol.
func (d *DUT) Drops() uint64 {
	if d.closed {
		return 0
	}
	s := d.stack.Stats()
	n := d.linkDrops
	for _, c := range []*tcpip.StatCounter{
		s.IP.MalformedPacketsReceived, s.IP.MalformedFragmentsReceived,
		s.IP.InvalidDestinationAddressesReceived, s.IP.InvalidSourceAddressesReceived,
		s.ARP.MalformedPacketsReceived, s.ARP.RequestsReceivedUnknownTargetAddress,
		s.ICMP.V4.PacketsReceived.Invalid,
		s.TCP.InvalidSegmentsReceived, s.TCP.ChecksumErrors,
		s.NICs.MalformedL4RcvdPackets,
	} {
		n += c.Value()
	}
	// ARP messages neither request nor reply (an unknown opcode) gVisor ignores without a
	// counter of their own: what is left of the ARP packets received once the others are told.
	a := s.ARP
	told := a.DisabledPacketsReceived.Value() + a.MalformedPacketsReceived.Value() + a.RequestsReceived.Value() + a.RepliesReceived.Value()
	if got := a.PacketsReceived.Value(); got > told {
		n += got - told
	}
	for _, m := range []*tcpip.IntegralStatCounterMap{s.NICs.UnknownL3ProtocolRcvdPacketCounts, s.NICs.UnknownL4ProtocolRcvdPacketCounts} {
		for _, k := range m.Keys() {
			if c, ok := m.Get(k); ok {
				n += c.Value()
			}
		}
	}
	return n
}

// linuxCounters are gVisor's TCP counters that count what a Linux nstat counter of that name
// counts.
var linuxCounters = map[string]func(s tcpip.Stats) *tcpip.StatCounter{
	"TcpActiveOpens":             func(s tcpip.Stats) *tcpip.StatCounter { return s.TCP.ActiveConnectionOpenings },
	"TcpPassiveOpens":            func(s tcpip.Stats) *tcpip.StatCounter { return s.TCP.PassiveConnectionOpenings },
	"TcpAttemptFails":            func(s tcpip.Stats) *tcpip.StatCounter { return s.TCP.FailedConnectionAttempts },
	"TcpEstabResets":             func(s tcpip.Stats) *tcpip.StatCounter { return s.TCP.EstablishedResets },
	"TcpCurrEstab":               func(s tcpip.Stats) *tcpip.StatCounter { return s.TCP.CurrentEstablished },
	"TcpRetransSegs":             func(s tcpip.Stats) *tcpip.StatCounter { return s.TCP.Retransmits },
	"TcpOutRsts":                 func(s tcpip.Stats) *tcpip.StatCounter { return s.TCP.ResetsSent },
	"TcpInCsumErrors":            func(s tcpip.Stats) *tcpip.StatCounter { return s.TCP.ChecksumErrors },
	"TcpExtSyncookiesSent":       func(s tcpip.Stats) *tcpip.StatCounter { return s.TCP.ListenOverflowSynCookieSent },
	"TcpExtSyncookiesRecv":       func(s tcpip.Stats) *tcpip.StatCounter { return s.TCP.ListenOverflowSynCookieRcvd },
	"TcpExtSyncookiesFailed":     func(s tcpip.Stats) *tcpip.StatCounter { return s.TCP.ListenOverflowInvalidSynCookieRcvd },
	"TcpExtTCPTimeouts":          func(s tcpip.Stats) *tcpip.StatCounter { return s.TCP.Timeouts },
	"TcpExtTCPSackRecovery":      func(s tcpip.Stats) *tcpip.StatCounter { return s.TCP.SACKRecovery },
	"TcpExtTCPRenoRecovery":      func(s tcpip.Stats) *tcpip.StatCounter { return s.TCP.FastRecovery },
	"TcpExtTCPLossProbeRecovery": func(s tcpip.Stats) *tcpip.StatCounter { return s.TCP.TLPRecovery },
	"TcpExtTCPSpuriousRTOs":      func(s tcpip.Stats) *tcpip.StatCounter { return s.TCP.SpuriousRTORecovery },
	"TcpExtTCPDSACKRecvSegs":     func(s tcpip.Stats) *tcpip.StatCounter { return s.TCP.SegmentsAckedWithDSACK },
	"TcpExtTCPFastRetrans":       func(s tcpip.Stats) *tcpip.StatCounter { return s.TCP.FastRetransmit },
	"TcpExtTCPSlowStartRetrans":  func(s tcpip.Stats) *tcpip.StatCounter { return s.TCP.SlowStartRetransmits },
}

// Counter returns a counter by its Linux nstat name (linuxCounters), or any of gVisor's TCP
// counters as "gvisor.tcp.<Field>" (tcpip.TCPStats), IP counters as "gvisor.ip.<Field>"
// (tcpip.IPStats) and ARP counters as "gvisor.arp.<Field>" (tcpip.ARPStats).
func (d *DUT) Counter(name string) (uint64, bool) {
	if d.closed {
		return 0, false
	}
	s := d.stack.Stats()
	if f, ok := linuxCounters[name]; ok {
		return f(s).Value(), true
	}
	for prefix, group := range map[string]any{"gvisor.tcp.": s.TCP, "gvisor.ip.": s.IP, "gvisor.arp.": s.ARP} {
		field, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		v := reflect.ValueOf(group).FieldByName(field)
		if !v.IsValid() || !v.CanInterface() {
			return 0, false
		}
		if c, ok := v.Interface().(*tcpip.StatCounter); ok && c != nil {
			return c.Value(), true
		}
		return 0, false
	}
	return 0, false
}
