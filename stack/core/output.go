package core

import (
	"fmt"
	"net/netip"

	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/wire"
)

// PayloadBuffer returns the part of the transmit buffer where the payload of the next
// unfragmented datagram goes (MTU - 20 bytes). A transport that builds its segment there and
// passes it to SendIPv4 is sent without a copy. The buffer is reused by the next send.
func (c *Core) PayloadBuffer() []byte { return c.tx[payloadOffset:] }

// SendIPv4 sends payload to dst as one datagram of protocol proto, with a fresh identification
// if DF is clear (RFC 6864; ID 0 if it is set), the configured TTL, and DF and the ECN field as
// opts say. A payload larger than the MTU allows is sent in fragments, or refused with
// ipv4.ErrTooBig when DF is set. A datagram whose next hop is not yet resolved waits for ARP;
// if resolution fails, the transport that owns proto is told through HandleError.
func (c *Core) SendIPv4(dst netip.Addr, proto wire.IPProtocol, payload []byte, opts ipv4.SendOptions) error {
	nextHop, err := c.cfg.Interface.NextHop(dst)
	if err != nil {
		c.stats.IPv4.NoRoute++
		return err
	}
	if len(payload) > 0xffff-wire.IPv4MinHeaderLen {
		c.stats.IPv4.TooBig++
		return fmt.Errorf("ipv4: payload of %d bytes exceeds 65515", len(payload))
	}
	ip := wire.IPv4Fields{
		TTL: c.cfg.TTL, Protocol: proto, TOS: uint8(opts.ECN & 3),
		Source: c.cfg.Interface.Addr.Addr(), Destination: dst,
	}
	if opts.DontFragment {
		// An atomic datagram (DF set, and so never a fragment: one too big is refused below)
		// is never reassembled, and RFC 6864 4.1 lets its ID be anything: it is 0, which costs
		// nothing per packet and tells an observer nothing (no counter to sample, RFC 7739).
		ip.Flags = wire.IPv4DontFragment
	} else {
		ip.ID = c.ids.Next(dst, uint8(proto))
	}
	maxData := c.cfg.MTU - wire.IPv4MinHeaderLen
	if len(payload) <= maxData {
		return c.emit(nextHop, &ip, payload)
	}
	if opts.DontFragment {
		c.stats.IPv4.TooBig++
		return ipv4.ErrTooBig
	}
	// RFC 791 2.3: every fragment but the last carries a multiple of 8 data bytes.
	step := maxData &^ 7
	for off := 0; off < len(payload); off += step {
		end := min(off+step, len(payload))
		ip.FragmentOffset, ip.Flags = off, 0
		if end < len(payload) {
			ip.Flags = wire.IPv4MoreFragments
		}
		c.stats.IPv4.FragmentsOut++
		if err := c.emit(nextHop, &ip, payload[off:end]); err != nil {
			return err
		}
	}
	return nil
}

// emit frames one datagram (or fragment) and hands it to ARP, or straight to the link for a
// broadcast destination.
func (c *Core) emit(nextHop netip.Addr, ip *wire.IPv4Fields, data []byte) error {
	frame := c.tx[:payloadOffset+len(data)]
	if len(data) > 0 && &data[0] != &frame[payloadOffset] { // not built in place (PayloadBuffer)
		copy(frame[payloadOffset:], data)
	}
	ip.Encode(frame[ipOffset:], len(data))
	eth := wire.EthernetFields{Source: c.mac, EtherType: wire.EtherTypeIPv4}
	c.stats.IPv4.PacketsOut++
	if c.cfg.Interface.IsBroadcast(ip.Destination) {
		eth.Destination = wire.BroadcastMAC
		eth.Encode(frame)
		return c.WriteFrame(frame)
	}
	eth.Encode(frame)
	return c.arp.Send(c.now, nextHop, frame)
}
