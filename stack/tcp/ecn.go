package tcp

import "github.com/mtcp-go/mtcp/stack/wire"

// Explicit congestion notification (RFC 3168 6.1).

// ecnState is a connection's RFC 3168 state.
type ecnState struct {
	setupSent  bool // our SYN was an ECN-setup SYN (ECE and CWR set)
	echoCE     bool // a CE mark arrived: ECE on every ACK until the peer's CWR (6.1.3)
	cwrPending bool // the window came down for an ECE: CWR on the next new data (6.1.2)
}

// ecnSetupSYN reports whether a SYN is an ECN-setup SYN (RFC 3168 6.1.1: ECE and CWR set).
func ecnSetupSYN(s *segment) bool { return s.has(wire.ECE) && s.has(wire.CWR) }

// ecnSetupSYNACK reports whether a SYN-ACK is an ECN-setup SYN-ACK (RFC 3168 6.1.1: ECE set,
// CWR clear).
func ecnSetupSYNACK(s *segment) bool { return s.has(wire.ECE) && !s.has(wire.CWR) }

// ecnReceive is the data receiver's side (RFC 3168 6.1.3), for every acceptable segment of an
// ECN connection: CWR ends the echo, a CE mark (in the same segment too) starts it again. The
// first CE mark is acknowledged at once rather than after the delayed-ACK timer (our policy,
// as Linux): the sender's window may be small, and the news is about it.
func (c *Conn) ecnReceive(s *segment) {
	if s.has(wire.CWR) {
		c.ecn.echoCE = false
	}
	if s.ecn == wire.CE {
		c.layer.stats.CEReceived++
		if !c.ecn.echoCE {
			c.ackNow = true
		}
		c.ecn.echoCE = true
	}
}

// ecnEcho is the data sender's side (RFC 3168 6.1.2), for an ACK with ECE on a connection
// that negotiated ECN (elsewhere ECE means nothing): the window comes down as for a loss, once
// per window of data, and the next new data segment carries CWR.
func (c *Conn) ecnEcho() {
	if c.reduceWindow() {
		c.ecn.cwrPending = true
		c.layer.stats.ECNReductions++
	}
}
