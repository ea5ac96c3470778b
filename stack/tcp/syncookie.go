package tcp

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/wire"
)

// SYN cookies (RFC 4987 3.6): when a listener's half-open queue is full, a SYN is answered
// with a SYN-ACK whose initial sequence number encodes what the connection needs, and no state
// is kept. The ACK that completes the handshake carries the cookie back (SEG.ACK - 1) and the
// connection is built from it. The layout is Linux's (net/ipv4/syncookies.c):
//
//	ISN = H1(tuple) + SEG.SEQ + (count << 24) + ((H2(tuple, count) + mssIndex) & 0xffffff)
//
// where count is the minute of the clock, so a cookie is good for two minutes, and mssIndex
// picks the peer's MSS from a table of four. Window scale, SACK-permitted and ECN do not fit:
// when the SYN carried timestamps they travel in the low six bits of our TSval, which the peer
// echoes; without timestamps the SYN-ACK offers none of them, as Linux does.

// cookieMSS is Linux's table of the MSS values a cookie can say.
var cookieMSS = [...]uint16{536, 1300, 1440, 1460}

const (
	cookieBits   = 24
	cookieMask   = 1<<cookieBits - 1
	cookiePeriod = 60 * time.Second // count's unit
	cookieMaxAge = 2                // periods a cookie stays valid
	// The low bits of a cookie TSval: the peer's window scale (0xf for none), SACK-permitted, ECN.
	cookieTSBits    = 6
	cookieTSMask    = 1<<cookieTSBits - 1
	cookieNoWScale  = 0xf
	cookieTSSACK    = 1 << 4
	cookieTSECN     = 1 << 5
	cookieListenAge = 2 * cookieMaxAge * cookiePeriod // ACKs are checked as cookies this long after the last one sent
)

// cookieHash is one of the two keyed hashes of the cookie (RFC 4987 3.6 asks for a secret
// the attacker cannot learn): SHA-256 over the layer's secret, which hash, the period count
// (H2 only) and the four-tuple.
func (l *Layer) cookieHash(which byte, count uint32, t fourTuple) uint32 {
	var b [16 + 1 + 4 + 12]byte
	copy(b[:], l.key[:])
	b[16] = which
	binary.BigEndian.PutUint32(b[17:], count)
	la, ra := t.localIP, t.remoteIP
	copy(b[21:], la[:])
	copy(b[25:], ra[:])
	binary.BigEndian.PutUint16(b[29:], t.localPort)
	binary.BigEndian.PutUint16(b[31:], t.remotePort)
	sum := sha256.Sum256(b[:])
	return binary.BigEndian.Uint32(sum[:])
}

func cookieCount(now time.Time) uint32 { return uint32(now.Unix() / int64(cookiePeriod/time.Second)) }

// makeCookie returns the initial sequence number that encodes mssIndex for the peer's SYN
// sequence number synSeq.
func (l *Layer) makeCookie(now time.Time, t fourTuple, synSeq wire.Seq, mssIndex int) wire.Seq {
	count := cookieCount(now)
	v := l.cookieHash(1, 0, t) + uint32(synSeq) + count<<cookieBits +
		(l.cookieHash(2, count, t)+uint32(mssIndex))&cookieMask
	return wire.Seq(v)
}

// checkCookie reverses makeCookie: the MSS index a cookie says, if it is ours and recent.
func (l *Layer) checkCookie(now time.Time, t fourTuple, cookie, synSeq wire.Seq) (int, bool) {
	v := uint32(cookie) - l.cookieHash(1, 0, t) - uint32(synSeq)
	count := cookieCount(now)
	age := (count - v>>cookieBits) & (^uint32(0) >> cookieBits)
	if age >= cookieMaxAge {
		return 0, false
	}
	idx := (v - l.cookieHash(2, count-age, t)) & cookieMask
	if idx >= uint32(len(cookieMSS)) {
		return 0, false
	}
	return int(idx), true
}

// cookieTSval is the TSval of a cookie SYN-ACK: the connection's clock with the low bits
// replaced by the options, never ahead of the clock (Linux's cookie_init_timestamp).
func cookieTSval(clock uint32, opts uint32) uint32 {
	ts := clock&^cookieTSMask | opts
	if int32(ts-clock) > 0 {
		ts -= 1 << cookieTSBits
	}
	return ts
}

// sendCookie answers a SYN with a cookie SYN-ACK and keeps nothing.
func (ln *Listener) sendCookie(now time.Time, s *segment) {
	l := ln.layer
	cfg := &l.cfg
	o := &s.opts
	peerMSS := uint16(536)
	if o.MSS != 0 {
		peerMSS = o.MSS
	}
	idx := 0
	for i, m := range cookieMSS {
		if m <= peerMSS {
			idx = i
		}
	}
	rcvBuf := cfg.ReceiveBuffer
	if ln.bufs.Receive > 0 {
		rcvBuf = ln.bufs.Receive
	}
	f := wire.TCPFields{
		SourcePort: s.tuple.localPort, DestinationPort: s.tuple.remotePort,
		SeqNum: l.makeCookie(now, s.tuple, s.seq, idx), AckNum: s.seq.Add(1), Flags: wire.SYN | wire.ACK,
		WindowSize: uint16(min(rcvBuf, 0xffff)),
	}
	if !ln.noOpt {
		f.Options.MSS = uint16(capMSS(l.mss(), ln.userMSS))
	}
	if cfg.Timestamps == On && o.HasTimestamp && !ln.noOpt {
		bits := uint32(cookieNoWScale)
		if o.HasWindowScale && cfg.WindowScale == On {
			bits = uint32(min(o.WindowScale, wire.MaxWindowScale))
			f.Options.HasWindowScale, f.Options.WindowScale = true, windowScaleFor(rcvBuf)
		}
		if cfg.SACK == On && o.SACKPermitted {
			bits |= cookieTSSACK
			f.Options.SACKPermitted = true
		}
		if cfg.ECN != ECNOff && ecnSetupSYN(s) {
			bits |= cookieTSECN
			f.Flags |= wire.ECE
		}
		clock := uint32(now.UnixMilli()) + l.keyedHash("timestamps", s.tuple)
		f.Options.HasTimestamp, f.Options.TSVal, f.Options.TSEcr = true, cookieTSval(clock, bits), o.TSVal
	}
	ln.cookieSentAt = now
	l.stats.SynCookiesSent++
	l.send(s.tuple, &f, nil, ipv4.SendOptions{DontFragment: cfg.PMTUD == On})
}

// cookieAck builds the connection an ACK to the listener completes, if the ACK carries one of
// our cookies, and reports whether it did (or dropped the ACK for want of room). ACKs are
// checked only while cookies were sent recently, as Linux does, so an ACK flood at a listener
// that sent none costs no hashing and cannot guess one.
func (ln *Listener) cookieAck(now time.Time, s *segment) bool {
	l := ln.layer
	if l.cfg.SynCookies != On || ln.cookieSentAt.IsZero() || now.Sub(ln.cookieSentAt) > cookieListenAge ||
		s.has(wire.SYN|wire.RST) {
		return false
	}
	idx, ok := l.checkCookie(now, s.tuple, s.ack.Add(^uint32(0)), s.seq.Add(^uint32(0)))
	if !ok {
		l.stats.SynCookiesFailed++
		return false
	}
	// What the cookie's timestamp says; an ACK without the echo had none of it.
	var wsOK, sackOK, ecnOK, tsOK bool
	var wscale uint8
	if o := &s.opts; l.cfg.Timestamps == On && o.HasTimestamp && o.TSEcr != 0 && !ln.noOpt {
		bits := o.TSEcr & cookieTSMask
		if w := bits & 0xf; w != cookieNoWScale && l.cfg.WindowScale == On {
			if w > wire.MaxWindowScale {
				l.stats.SynCookiesFailed++
				return false
			}
			wsOK, wscale = true, uint8(w)
		}
		tsOK = true
		sackOK = bits&cookieTSSACK != 0 && l.cfg.SACK == On
		ecnOK = bits&cookieTSECN != 0 && l.cfg.ECN != ECNOff
	}
	l.stats.SynCookiesValid++
	if !ln.admit() {
		return true
	}
	c := l.newConn(s.tuple, SynReceived, ln.bufs)
	c.listener = ln
	c.noOpt, c.userMSS = ln.noOpt, ln.userMSS
	ln.halfOpen++ // for the moment it takes to complete below
	l.stats.PassiveOpens++
	c.irs, c.rcvNxt = s.seq.Add(^uint32(0)), s.seq
	c.iss = s.ack.Add(^uint32(0))
	c.sndUna, c.sndNxt, c.cc.recover = c.iss, s.ack, c.iss
	c.sndBufSeq = s.ack
	c.peerMSS = int(cookieMSS[idx])
	c.wsOK, c.sndWScale = wsOK, wscale
	if !wsOK {
		c.rcvWScale = 0
	}
	c.tsOK, c.sackOK, c.ecnOK = tsOK, sackOK, ecnOK
	if tsOK {
		c.ts.recent, c.ts.recentAge = s.opts.TSVal, c.layer.instant(now)
	}
	c.ts.lastAckSent = c.rcvNxt
	c.rcvAdv = c.rcvNxt.Add(uint32(c.synWindow()))
	c.initCongestion()
	c.segmentArrives(now, s)
	if c.state == SynReceived { // not completed after all: nothing would ever time it out
		c.abort(ErrConnAborted)
		return true
	}
	// The handshake gave no RTT sample: the TSval the ACK echoes was rounded down for the
	// options it carries, so the time since it overstates the round trip by up to 63 ms.
	c.rtt = rttState{rto: l.cfg.RTOInitial}
	return true
}

// windowScaleFor is the window scale that lets the 16-bit window field say a receive buffer
// of buf bytes (RFC 7323 2.2).
func windowScaleFor(buf int) uint8 {
	var s uint8
	for (buf>>s) > 0xffff && s < wire.MaxWindowScale {
		s++
	}
	return s
}
