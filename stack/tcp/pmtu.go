package tcp

import (
	"time"

	"github.com/mtcp-go/mtcp/stack/icmp"
	"github.com/mtcp-go/mtcp/stack/wire"
)

// ICMP errors about the connection's segments (RFC 1122 4.2.3.9, RFC 5927), and path MTU
// discovery (RFC 1191).

// minPMTU is the smallest path MTU the stack believes: RFC 1122 3.3.3's 576-byte datagram
// every host takes, so no forged message can shrink segments below 536 bytes of data.
const minPMTU = 576

// plateaus are RFC 1191 7's MTU plateaus, for a fragmentation-needed message from a router
// too old to say the next-hop MTU.
var plateaus = [...]int{65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68}

// icmpError takes an ICMP error quoting one of our segments (RFC 1122 4.2.3.9, RFC 5927).
func (c *Conn) icmpError(now time.Time, e icmp.Error, seq wire.Seq) {
	// RFC 5927 4.1: only errors quoting a sequence number in flight (SND.UNA up to SND.NXT)
	// are believed; an off-path attacker has to guess one.
	if !e.Local && !(c.sndUna.LessThanEq(seq) && seq.LessThan(c.sndNxt)) {
		c.layer.stats.ICMPIgnored++
		return
	}
	if e.Type == wire.ICMPv4DestUnreach && e.Code == wire.ICMPv4FragmentationNeeded && !e.Local {
		c.fragmentationNeeded(now, e)
		return
	}
	err := ErrHostUnreach
	if e.Type == wire.ICMPv4DestUnreach && (e.Code == wire.ICMPv4ProtocolUnreachable || e.Code == wire.ICMPv4PortUnreachable) {
		err = ErrConnRefused
	}
	if c.state == SynReceived && c.listener != nil && e.Local {
		c.unsendable() // ARP found no one at the SYN's source address
		return
	}
	// Hard errors abort a connection still opening (RFC 1122 4.2.3.9); everything else is soft.
	if c.state == SynSent && err == ErrConnRefused {
		c.abort(err)
		return
	}
	if c.state == SynSent && e.Local {
		c.abort(ErrHostUnreach)
		return
	}
	c.softErr = err
}

// fragmentationNeeded is RFC 1191 6.1: a router could not forward a segment with DF set. The
// connection's path MTU comes down to the next-hop MTU the message names (or, from an old
// router that names none, to the plateau below the quoted datagram's size), never below
// minPMTU and never up; the segments in flight that no longer fit are sent again, smaller.
// It is not a congestion signal: the window stays (as Linux's tcp_simple_retransmit).
func (c *Conn) fragmentationNeeded(now time.Time, e icmp.Error) {
	if c.layer.cfg.PMTUD != On { // the stack did not set DF: no router should have said this
		c.layer.stats.ICMPIgnored++
		return
	}
	mtu := int(e.RestOfHeader & 0xffff)
	if mtu == 0 {
		for _, p := range plateaus {
			if p < e.TotalLength {
				mtu = p
				break
			}
		}
	}
	// A message naming an MTU the quoted datagram fitted in is not about a datagram that was
	// too big (RFC 5927 5.2: a forgery's tell); one that would raise the MTU is ignored
	// (RFC 1191 6.3: only decreases come from this message).
	if mtu >= c.pmtu || e.TotalLength != 0 && e.TotalLength <= mtu {
		c.layer.stats.ICMPIgnored++
		return
	}
	// Never below the 576-byte floor, nor above what the interface itself takes (an interface
	// MTU under 576 leaves the path MTU where it was).
	if next := min(max(mtu, minPMTU), c.layer.host.MTU()); next < c.pmtu {
		c.pmtu = next
	} else {
		c.layer.stats.ICMPIgnored++
		return
	}
	c.layer.stats.PMTUDecreases++
	if !c.state.synchronized() {
		return
	}
	limit := c.smss()
	for i := range c.sent.len() {
		if s := c.sent.at(i); !s.is(segSacked) && s.dataLen() > limit {
			c.sent.setFlag(i, segLost)
			c.sent.clearFlag(i, segRxtInFlight)
		}
	}
	c.output(now) // they left pipe, so the window has room for them again
}
