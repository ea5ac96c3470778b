package core

import (
	"errors"
	"time"

	"github.com/mtcp-go/mtcp/stack/icmp"
	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/wire"
)

// handleIPv4 runs the receive checks of RFC 791 and RFC 1122 3.2.1 in order, reassembles
// fragments, and delivers the datagram.
func (c *Core) handleIPv4(eth wire.Ethernet) {
	c.stats.IPv4.PacketsIn++
	p, err := wire.ParseIPv4(eth.Payload())
	if err != nil {
		c.countParseError(err)
		return
	}
	if !p.ChecksumValid() { // RFC 1122 3.2.1.2: silently discard
		c.stats.IPv4.BadChecksum++
		return
	}
	ifc := c.cfg.Interface
	dst := p.Destination()
	broadcast := ifc.IsBroadcast(dst)
	if !ifc.IsLocal(dst) && !broadcast { // RFC 1122 3.2.1.3; no multicast groups are joined
		c.stats.IPv4.NotForUs++
		return
	}
	if !ifc.IsValidSource(p.Source()) { // RFC 1122 3.2.1.3: a source must name one host
		c.stats.IPv4.BadSource++
		return
	}
	linkBroadcast := eth.Destination().IsBroadcast()
	if linkBroadcast && !broadcast { // RFC 1122 3.3.6
		c.stats.IPv4.LinkBroadcast++
		return
	}
	// RFC 1122 3.2.1.8: options are skipped; Payload starts after them.
	if p.IsFragment() { // RFC 1122 3.3.2
		if p = c.reasm.Add(c.now, p); p == nil {
			return
		}
	}
	c.deliver(p, broadcast)
}

func (c *Core) countParseError(err error) {
	var we *wire.Error
	if !errors.As(err, &we) {
		c.stats.IPv4.Truncated++
		return
	}
	switch we.Field {
	case wire.FieldVersion:
		c.stats.IPv4.BadVersion++
	case wire.FieldIHL:
		c.stats.IPv4.BadHeaderLength++
	case wire.FieldTotalLength:
		c.stats.IPv4.BadTotalLength++
	default:
		c.stats.IPv4.Truncated++
	}
}

func (c *Core) deliver(p wire.IPv4, broadcast bool) {
	proto := p.Protocol()
	if proto == wire.ProtocolICMP {
		c.stats.IPv4.Delivered++
		c.handleICMP(p, broadcast)
		return
	}
	if t := c.transports[proto]; t != nil {
		c.stats.IPv4.Delivered++
		t.HandlePacket(c.now, p, broadcast)
		return
	}
	c.stats.IPv4.UnknownProtocol++
	// RFC 1122 3.2.2.1: protocol unreachable, where 3.2.2 allows an error at all.
	c.sendError(p, broadcast, wire.ICMPv4DestUnreach, wire.ICMPv4ProtocolUnreachable, 0)
}

func (c *Core) handleICMP(p wire.IPv4, broadcast bool) {
	m, err := wire.ParseICMPv4(p.Payload())
	if err != nil {
		c.stats.ICMP.Malformed++
		return
	}
	if !m.ChecksumValid() { // RFC 1122 3.2.2: silently discard
		c.stats.ICMP.BadChecksum++
		return
	}
	switch typ := m.Type(); {
	case typ == wire.ICMPv4Echo:
		if broadcast { // RFC 1122 3.2.2.6 allows ignoring it: our policy
			c.stats.ICMP.BroadcastEcho++
			return
		}
		c.stats.ICMP.EchoRequestsIn++
		c.echoReply(p, m)
	case typ == wire.ICMPv4EchoReply:
		c.stats.ICMP.EchoRepliesIn++
	case m.IsError():
		e, ok := icmp.ParseError(m)
		if !ok {
			c.stats.ICMP.Malformed++
			return
		}
		// RFC 1122 3.2.2: pass the error to the transport that sent the quoted datagram.
		t := c.transports[e.Protocol]
		if t == nil || !c.cfg.Interface.IsLocal(e.Src) {
			c.stats.ICMP.Unowned++
			return
		}
		c.stats.ICMP.ErrorsIn++
		t.HandleError(c.now, e)
	default: // RFC 1122 3.2.2: unknown types are silently discarded
		c.stats.ICMP.UnknownType++
	}
}

// echoReply answers an echo request from its source with the same id, seq and data
// (RFC 792, RFC 1122 3.2.2.6).
func (c *Core) echoReply(p wire.IPv4, req wire.ICMPv4) {
	buf := c.PayloadBuffer()
	if len(req) > len(buf) {
		buf = make([]byte, len(req)) // a reassembled request: the reply will be fragmented
	}
	n := icmp.EncodeEchoReply(buf, req)
	if c.SendIPv4(p.Source(), wire.ProtocolICMP, buf[:n], ipv4.SendOptions{}) == nil {
		c.stats.ICMP.EchoRepliesOut++
	}
}

// sendError sends an ICMP error about datagram p to its source, unless RFC 1122 3.2.2 forbids it.
func (c *Core) sendError(p wire.IPv4, linkBroadcast bool, typ, code uint8, rest uint32) {
	if !icmp.MayReportError(p, linkBroadcast, c.cfg.Interface) {
		c.stats.ICMP.ErrorSuppressed++
		return
	}
	buf := c.PayloadBuffer()
	n := icmp.EncodeError(buf, typ, code, rest, p)
	if c.SendIPv4(p.Source(), wire.ProtocolICMP, buf[:n], ipv4.SendOptions{}) == nil {
		c.stats.ICMP.ErrorsOut++
	}
}

// reassemblyTimeout sends time exceeded, code 1, quoting fragment 0 (RFC 1122 3.3.2, RFC 792).
func (c *Core) reassemblyTimeout(now time.Time, quote []byte) {
	c.setNow(now)
	// quote is a copy of fragment 0's header and first data bytes: a datagram that passed
	// ParseIPv4 when it arrived, so its header fields can be read; only its length is short.
	c.sendError(wire.IPv4(quote), false, wire.ICMPv4TimeExceeded, wire.ICMPv4ReassemblyExceeded, 0)
}

// unreachable tells the transport that sent frame that its next hop did not answer ARP.
func (c *Core) unreachable(now time.Time, frame []byte) {
	c.setNow(now)
	c.stats.IPv4.Unreachable++
	eth, err := wire.ParseEthernet(frame)
	if err != nil || eth.EtherType() != wire.EtherTypeIPv4 {
		return
	}
	p, err := wire.ParseIPv4(eth.Payload())
	if err != nil {
		return
	}
	t := c.transports[p.Protocol()]
	if t == nil {
		return
	}
	t.HandleError(now, icmp.Error{
		Type: wire.ICMPv4DestUnreach, Code: wire.ICMPv4HostUnreachable,
		Src: p.Source(), Dst: p.Destination(), Protocol: p.Protocol(),
		Transport: p.Payload(), Local: true,
	})
}
