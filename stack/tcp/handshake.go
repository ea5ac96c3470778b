package tcp

import (
	"errors"
	"time"

	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/wire"
)

// The three-way handshake in both directions (RFC 9293 3.5), and the options the two SYNs
// agree on: MSS (RFC 9293 3.7.1), window scale and timestamps (RFC 7323), SACK (RFC 2018) and
// ECN (RFC 3168 6.1.1).

// synArrives opens a connection in SYN-RECEIVED for a SYN to the listener (RFC 9293
// 3.10.7.2). The SYN's own data is not taken: it is not acknowledged, so the peer sends it
// again.
func (ln *Listener) synArrives(now time.Time, s *segment) *Conn {
	l := ln.layer
	c := l.newConn(s.tuple, SynReceived, ln.bufs)
	c.listener = ln
	c.noOpt, c.userMSS = ln.noOpt, ln.userMSS
	c.counts.segsIn = 1 // the SYN
	ln.halfOpen++
	l.stats.PassiveOpens++
	c.irs, c.rcvNxt = s.seq, s.seq.Add(1)
	c.negotiate(now, s)
	// RFC 3168 6.1.1: an ECN-setup SYN is answered with an ECN-setup SYN-ACK unless ECN is
	// off (passive: answer, never ask).
	c.ecnOK = l.cfg.ECN != ECNOff && ecnSetupSYN(s)
	c.sndWnd = uint32(s.wnd) // a SYN's window is never scaled (RFC 7323 2.2)
	c.sndWl1, c.sndWl2 = s.seq, s.ack
	c.maxSndWnd = c.sndWnd
	c.sendSyn(now)
	return c
}

// unsendable frees a half-open passive connection whose SYN-ACK cannot be sent: no route to
// the peer, or no ARP answer for it. Its SYN was most likely spoofed; keeping it through the
// SYN-ACK retries would only hold a half-open slot for a minute.
func (c *Conn) unsendable() {
	c.layer.stats.HalfOpenUnsendable++
	c.abort(ErrHostUnreach)
}

// negotiate takes the options of the peer's SYN or SYN-ACK. Each extension is used only when
// both SYNs carry it: ours carries every one the configuration allows (none with TCP_NOOPT),
// and a SYN-ACK answers only what the SYN offered. The peer's MSS counts either way: it says
// what the peer can take, and asks nothing of us.
func (c *Conn) negotiate(now time.Time, s *segment) {
	o := &s.opts
	cfg := &c.layer.cfg
	mss := 536 // RFC 9293 3.7.1: without the option
	if o.MSS != 0 {
		mss = int(o.MSS)
	}
	c.peerMSS = max(mss, 64)
	offer := !c.noOpt
	c.wsOK = offer && cfg.WindowScale == On && o.HasWindowScale
	if c.wsOK {
		c.sndWScale = min(o.WindowScale, wire.MaxWindowScale) // RFC 7323 2.3: larger shifts count as 14
	} else {
		c.sndWScale, c.rcvWScale = 0, 0 // RFC 7323 2.2: scaling only when both SYNs carry the option
	}
	c.tsOK = offer && cfg.Timestamps == On && o.HasTimestamp // RFC 7323 3.2
	if c.tsOK {
		c.ts.recent, c.ts.recentAge = o.TSVal, c.layer.instant(now)
	}
	c.sackOK = offer && cfg.SACK == On && o.SACKPermitted // RFC 2018 2
	c.initCongestion()
}

// sendSyn sends (or resends) our SYN or SYN-ACK. A SYN offers everything the configuration
// allows; a SYN-ACK answers what the peer's SYN offered. The options are in Linux's layout
// (wire.TCPOptions.Encode). With TCP_NOOPT there are none, not even the MSS (as FreeBSD's
// tcp_output under TF_NOOPT): the peer assumes 536 (RFC 9293 3.7.1).
func (c *Conn) sendSyn(now time.Time) {
	cfg := &c.layer.cfg
	f := wire.TCPFields{
		SourcePort: c.tuple.localPort, DestinationPort: c.tuple.remotePort,
		SeqNum: c.iss, Flags: wire.SYN,
		WindowSize: c.synWindow(), // never scaled in a SYN (RFC 7323 2.2)
	}
	o := &f.Options
	if !c.noOpt {
		o.MSS = uint16(c.advMSS())
	}
	if c.state == SynReceived { // a SYN-ACK: passive, or our answer in a simultaneous open
		f.Flags |= wire.ACK
		f.AckNum = c.rcvNxt
		o.HasWindowScale, o.WindowScale = c.wsOK, c.rcvWScale
		if c.tsOK {
			o.HasTimestamp, o.TSVal, o.TSEcr = true, c.tsAt(now), c.ts.recent
		}
		o.SACKPermitted = c.sackOK
		if c.ecnOK {
			f.Flags |= wire.ECE // RFC 3168 6.1.1: ECE set, CWR clear
		}
		c.ts.lastAckSent = c.rcvNxt
	} else {
		if !c.noOpt {
			o.HasWindowScale, o.WindowScale = cfg.WindowScale == On, c.rcvWScale
			if cfg.Timestamps == On {
				o.HasTimestamp, o.TSVal = true, c.tsAt(now)
			}
			o.SACKPermitted = cfg.SACK == On
		}
		// RFC 3168 6.1.1: ECE and CWR ask for ECN. A retransmitted SYN goes without them
		// (6.1.1.1): a middlebox may have dropped the first for its flags.
		if cfg.ECN == ECNOn && c.rtt.backoffs == 0 {
			f.Flags |= wire.ECE | wire.CWR
			c.ecn.setupSent = true
		}
	}
	c.sndNxt = c.iss.Add(1)
	c.rcvAdv = c.rcvNxt.Add(uint32(f.WindowSize))
	c.counts.segsOut++
	err := c.layer.send(c.tuple, &f, nil, ipv4.SendOptions{DontFragment: cfg.PMTUD == On})
	if errors.Is(err, ipv4.ErrNoRoute) && c.state == SynReceived && c.listener != nil {
		c.unsendable()
		return
	}
	c.armRTO(now)
	if c.rtt.backoffs == 0 && !c.rtt.timing {
		c.rtt.timing, c.rtt.timedSeq, c.rtt.timedAt = true, c.iss, c.layer.instant(now)
	}
}

// synWindow is the window of our SYN or SYN-ACK: the receive buffer, as far as the unscaled
// field says.
func (c *Conn) synWindow() uint16 { return uint16(min(c.rcvBufSize, 0xffff)) }

// ackedSyn runs when our SYN (or SYN-ACK) is acknowledged: the handshake's RTT sample, from
// the timestamp echoed (RFC 7323 4.1) or, without timestamps, unless the SYN was sent again
// (Karn), and a fresh RTO.
func (c *Conn) ackedSyn(now time.Time, s *segment) {
	c.stop(rtxTimer)
	if r, ok := c.tsRTT(now, s); ok {
		c.rttSample(r, 1)
	} else if c.rtt.timing && c.rtt.backoffs == 0 {
		c.rttSample(c.layer.since(now, c.rtt.timedAt), 1)
	}
	c.rtt.timing, c.rtt.backoffs = false, 0
}

// synSentArrives handles a segment in SYN-SENT (RFC 9293 3.10.7.3).
func (c *Conn) synSentArrives(now time.Time, s *segment) {
	if c.layer.cfg.SynFin == SynFinDrop && s.flags&(wire.SYN|wire.FIN) == wire.SYN|wire.FIN {
		return
	}
	ackOK := false
	if s.has(wire.ACK) {
		// First, the ACK: it must acknowledge our SYN and nothing more.
		if s.ack.LessThanEq(c.iss) || s.ack.GreaterThan(c.sndNxt) {
			if !s.has(wire.RST) {
				c.layer.sendReset(c.tuple, s.ack, 0, wire.RST) // <SEQ=SEG.ACK><CTL=RST>, stay in SYN-SENT
			}
			return
		}
		ackOK = true
	}
	if s.has(wire.RST) {
		c.layer.stats.ResetsIn++
		if ackOK { // the peer refused
			c.abort(ErrConnRefused)
		}
		return // a RST without an ACK is dropped
	}
	if !s.has(wire.SYN) {
		return
	}
	c.irs, c.rcvNxt = s.seq, s.seq.Add(1)
	c.negotiate(now, s)
	if !ackOK {
		// Simultaneous open (RFC 9293 3.5, figure 7): our SYN-ACK, with the same ISS, into
		// SYN-RECEIVED. Both sides sent a SYN: ECN holds if both asked for it.
		c.ecnOK = c.ecn.setupSent && ecnSetupSYN(s)
		c.sndWnd = uint32(s.wnd)
		c.sndWl1, c.sndWl2 = s.seq, s.ack
		c.setState(SynReceived)
		c.stop(rtxTimer)
		c.rtt.backoffs = 0
		c.sendSyn(now)
		return
	}
	c.ecnOK = c.ecn.setupSent && ecnSetupSYNACK(s) // RFC 3168 6.1.1
	c.counts.bytesAcked += uint64(s.ack.Sub(c.sndUna))
	c.sndUna = s.ack
	c.ackedSyn(now, s)
	c.sndWnd = uint32(s.wnd) // the SYN-ACK's window is not scaled (RFC 7323 2.2)
	c.sndWl1, c.sndWl2 = s.seq, s.ack
	c.maxSndWnd = c.sndWnd
	c.setState(Established)
	// Our SYN offered its window from the peer's ISN on: data on the SYN-ACK may use it.
	c.rcvAdv = c.rcvNxt.Add(uint32(c.synWindow()))
	c.ackNow = true
	// RFC 9293 3.10.7.3: "continue processing at the sixth step below where the URG bit is
	// checked": data and a FIN on the SYN-ACK are taken, not dropped.
	s.flags &^= wire.SYN
	s.seq = s.seq.Add(1)
	c.trim(s)
	c.receiveText(now, s)
	c.output(now)
}
