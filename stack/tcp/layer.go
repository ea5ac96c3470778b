package tcp

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/mtcp-go/mtcp/stack/icmp"
	"github.com/mtcp-go/mtcp/stack/timer"
	"github.com/mtcp-go/mtcp/stack/wire"
)

// Config bounds and times the TCP layer. Zero values take the defaults.
type Config struct {
	MaxConnections  int           // connections in the table, any state (default 4096)
	Backlog         int           // established connections waiting for Accept, per listener (default 128)
	MaxHalfOpen     int           // SYN-RECEIVED connections, all listeners together (default 256)
	SendBuffer      int           // bytes per connection (default 256 KiB)
	ReceiveBuffer   int           // bytes per connection (default 256 KiB)
	MSL             time.Duration // maximum segment lifetime; TIME-WAIT lasts 2·MSL (default 30 s)
	RTOMin          time.Duration // RFC 6298 2.4 (default 1 s)
	RTOInitial      time.Duration // RFC 6298 2.1 (default 1 s)
	RTOMax          time.Duration // backoff cap (default 60 s)
	Retries         int           // retransmissions of data or FIN before ErrTimeout (default 8)
	SynRetries      int           // SYN retransmissions before ErrTimeout (default 5)
	SynAckRetries   int           // SYN-ACK retransmissions before the half-open connection is freed (default 5)
	DelayedACK      time.Duration // RFC 1122 4.2.3.2, at most 500 ms (default 200 ms)
	ChallengeACKs   int           // RFC 5961 7: challenge ACKs per second, all connections (default 100)
	KeepAliveIdle   time.Duration // idle time before the first keepalive probe (default 2 h, RFC 1122 4.2.3.6)
	KeepAliveProbes int           // unanswered probes before ErrTimeout (default 9)
}

// Defaults.
const (
	DefaultMaxConnections = 4096
	DefaultBacklog        = 128
	DefaultMaxHalfOpen    = 256
	DefaultBuffer         = 256 << 10
	DefaultMSL            = 30 * time.Second
	DefaultRetries        = 8
	DefaultSynRetries     = 5
	DefaultDelayedACK     = 200 * time.Millisecond
	DefaultChallengeACKs  = 100
)

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	set := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setD := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	set(&c.MaxConnections, DefaultMaxConnections)
	set(&c.Backlog, DefaultBacklog)
	set(&c.MaxHalfOpen, DefaultMaxHalfOpen)
	set(&c.SendBuffer, DefaultBuffer)
	set(&c.ReceiveBuffer, DefaultBuffer)
	setD(&c.MSL, DefaultMSL)
	setD(&c.RTOMin, time.Second)
	setD(&c.RTOInitial, time.Second)
	setD(&c.RTOMax, 60*time.Second)
	set(&c.Retries, DefaultRetries)
	set(&c.SynRetries, DefaultSynRetries)
	set(&c.SynAckRetries, DefaultSynRetries)
	setD(&c.DelayedACK, DefaultDelayedACK)
	set(&c.ChallengeACKs, DefaultChallengeACKs)
	setD(&c.KeepAliveIdle, 2*time.Hour)
	set(&c.KeepAliveProbes, 9)
	return c
}

// Validate reports the first field out of range.
func (c Config) Validate() error {
	switch {
	case c.MaxConnections < 1, c.Backlog < 1, c.MaxHalfOpen < 1:
		return fmt.Errorf("tcp: connection, backlog and half-open bounds must be >= 1 (got %d, %d, %d)", c.MaxConnections, c.Backlog, c.MaxHalfOpen)
	case c.SendBuffer < 1024 || c.ReceiveBuffer < 1024:
		return fmt.Errorf("tcp: send and receive buffers must be >= 1024 bytes (got %d, %d)", c.SendBuffer, c.ReceiveBuffer)
	case c.ReceiveBuffer > 1<<30:
		return fmt.Errorf("tcp: receive buffer %d > 1 GiB (RFC 7323 window scale limit)", c.ReceiveBuffer)
	case c.RTOMin <= 0 || c.RTOInitial < c.RTOMin || c.RTOMax < c.RTOInitial:
		return fmt.Errorf("tcp: want 0 < RTOMin <= RTOInitial <= RTOMax (got %v, %v, %v)", c.RTOMin, c.RTOInitial, c.RTOMax)
	case c.DelayedACK > 500*time.Millisecond:
		return fmt.Errorf("tcp: delayed ACK %v > 500 ms (RFC 1122 4.2.3.2)", c.DelayedACK)
	case c.MSL <= 0, c.Retries < 1, c.SynRetries < 1, c.SynAckRetries < 1, c.ChallengeACKs < 1, c.KeepAliveProbes < 1:
		return fmt.Errorf("tcp: MSL and retry counts must be positive")
	}
	return nil
}

// Stats counts segments and events.
type Stats struct {
	SegmentsIn        uint64
	SegmentsOut       uint64
	Retransmits       uint64 // segments sent again (RTO or fast retransmit)
	FastRetransmits   uint64
	Timeouts          uint64 // RTO expirations
	BadChecksum       uint64 // dropped: checksum wrong (RFC 9293 3.1)
	Malformed         uint64 // dropped: data offset or options malformed, or a port is 0
	Broadcast         uint64 // dropped: sent to a broadcast or multicast address
	NoACK             uint64 // dropped: no ACK bit in a synchronized state (RFC 9293 3.10.7.4)
	Unacceptable      uint64 // segments outside the receive window, answered with an ACK
	ResetsIn          uint64
	ResetsOut         uint64
	ChallengeACKs     uint64 // RFC 5961
	ChallengeLimited  uint64 // challenge ACKs not sent because of the rate limit
	ListenOverflow    uint64 // SYNs dropped: half-open table or accept queue full
	TableFull         uint64 // SYNs dropped or dials refused: connection table full
	OutOfOrder        uint64 // segments queued out of order
	ActiveOpens       uint64
	PassiveOpens      uint64
	Established       uint64
	ConnectionsClosed uint64
}

// Host is what the TCP layer needs of the core.
type Host interface {
	Now() time.Time
	Timers() *timer.Heap
	LocalAddr() netip.Addr
	MTU() int
	PayloadBuffer() []byte
	SendIPv4(dst netip.Addr, proto wire.IPProtocol, payload []byte) error
}

type fourTuple struct{ local, remote netip.AddrPort }

// Layer is the TCP of one stack.
type Layer struct {
	cfg       Config
	host      Host
	key       [16]byte
	conns     map[fourTuple]*Conn
	listeners map[uint16]*Listener
	halfOpen  int
	nextPort  uint16
	challenge struct {
		second time.Time
		sent   int
	}
	stats Stats
}

// New returns a TCP layer; cfg must have passed Validate after WithDefaults. secret keys the
// initial sequence numbers (RFC 6528) and the ephemeral port choice.
func New(cfg Config, host Host, secret [16]byte) *Layer {
	l := &Layer{cfg: cfg, host: host, key: secret, conns: make(map[fourTuple]*Conn), listeners: make(map[uint16]*Listener)}
	sum := sha256.Sum256(append([]byte("ports"), secret[:]...))
	l.nextPort = ephemeralFirst + binary.BigEndian.Uint16(sum[:])%(ephemeralLast-ephemeralFirst+1)
	return l
}

// Ephemeral ports (RFC 6335 6).
const (
	ephemeralFirst = 49152
	ephemeralLast  = 65535
)

// Stats returns the counters.
func (l *Layer) Stats() Stats { return l.stats }

// Config returns the configuration in force.
func (l *Layer) Config() Config { return l.cfg }

// Conns returns the number of connections in the table.
func (l *Layer) Conns() int { return len(l.conns) }

func (l *Layer) now() time.Time { return l.host.Now() }

// isn returns an initial sequence number for the tuple (RFC 6528 3): a 4 µs clock plus a keyed
// hash of the connection's addresses and ports, so ISNs are unpredictable from outside and
// successive incarnations of one tuple still move forward.
func (l *Layer) isn(t fourTuple) wire.Seq {
	h := sha256.New()
	h.Write(l.key[:])
	la, ra := t.local.Addr().As4(), t.remote.Addr().As4()
	var ports [4]byte
	binary.BigEndian.PutUint16(ports[0:], t.local.Port())
	binary.BigEndian.PutUint16(ports[2:], t.remote.Port())
	h.Write(la[:])
	h.Write(ra[:])
	h.Write(ports[:])
	var sum [32]byte
	f := binary.BigEndian.Uint32(h.Sum(sum[:0]))
	m := uint32(l.now().UnixNano() / 4000)
	return wire.Seq(m + f)
}

// mss returns the MSS the stack announces: the MTU less the IPv4 and TCP headers (RFC 6691).
func (l *Layer) mss() int { return l.host.MTU() - wire.IPv4MinHeaderLen - wire.TCPMinHeaderLen }

// allowChallenge applies the RFC 5961 7 rate limit: at most ChallengeACKs per second.
func (l *Layer) allowChallenge(now time.Time) bool {
	if now.Sub(l.challenge.second) >= time.Second {
		l.challenge.second, l.challenge.sent = now, 0
	}
	if l.challenge.sent >= l.cfg.ChallengeACKs {
		l.stats.ChallengeLimited++
		return false
	}
	l.challenge.sent++
	l.stats.ChallengeACKs++
	return true
}

// segment is a received segment, parsed once.
type segment struct {
	tuple    fourTuple // as the stack sees it: local is ours
	seq, ack wire.Seq
	flags    wire.TCPFlags
	wnd      uint16
	data     []byte
	tcp      wire.TCP
}

// seqLen is the segment's length in sequence space: data, plus one each for SYN and FIN.
func (s *segment) seqLen() uint32 {
	n := uint32(len(s.data))
	if s.flags&wire.SYN != 0 {
		n++
	}
	if s.flags&wire.FIN != 0 {
		n++
	}
	return n
}

func (s *segment) has(f wire.TCPFlags) bool { return s.flags&f != 0 }

// HandlePacket takes a datagram carrying TCP from the core.
func (l *Layer) HandlePacket(now time.Time, p wire.IPv4, broadcast bool) {
	l.stats.SegmentsIn++
	if broadcast { // RFC 1122 4.2.3.10: a SYN (or anything) to a broadcast address is dropped
		l.stats.Broadcast++
		return
	}
	t, err := wire.ParseTCP(p.Payload())
	if err != nil { // bad data offset or malformed options (RFC 9293 3.1)
		l.stats.Malformed++
		return
	}
	if !t.ChecksumValid(p.Source(), p.Destination()) { // RFC 9293 3.1: silently dropped
		l.stats.BadChecksum++
		return
	}
	if t.SourcePort() == 0 || t.DestinationPort() == 0 {
		l.stats.Malformed++
		return
	}
	s := segment{
		tuple: fourTuple{
			local:  netip.AddrPortFrom(p.Destination(), t.DestinationPort()),
			remote: netip.AddrPortFrom(p.Source(), t.SourcePort()),
		},
		seq: t.SeqNum(), ack: t.AckNum(), flags: t.Flags(), wnd: t.WindowSize(), data: t.Payload(), tcp: t,
	}
	if c := l.conns[s.tuple]; c != nil {
		c.segmentArrives(now, &s)
		return
	}
	if ln := l.listeners[s.tuple.local.Port()]; ln != nil {
		ln.segmentArrives(now, &s)
		return
	}
	l.closedArrives(&s)
}

// closedArrives answers a segment for which no connection exists (RFC 9293 3.10.7.1): an
// incoming RST is dropped; otherwise a RST goes back, with seq = SEG.ACK if the segment had an
// ACK, else seq 0 and ack = SEG.SEQ + SEG.LEN.
func (l *Layer) closedArrives(s *segment) {
	if s.has(wire.RST) {
		return
	}
	if s.has(wire.ACK) {
		l.sendReset(s.tuple, s.ack, 0, wire.RST)
		return
	}
	l.sendReset(s.tuple, 0, s.seq.Add(s.seqLen()), wire.RST|wire.ACK)
}

// sendReset sends a RST (or RST|ACK) that belongs to no connection.
func (l *Layer) sendReset(t fourTuple, seq, ack wire.Seq, flags wire.TCPFlags) {
	f := wire.TCPFields{SourcePort: t.local.Port(), DestinationPort: t.remote.Port(), SeqNum: seq, AckNum: ack, Flags: flags}
	l.stats.ResetsOut++
	l.send(t, &f, nil)
}

// send builds a segment in the core's payload buffer and sends it.
func (l *Layer) send(t fourTuple, f *wire.TCPFields, data []byte) {
	buf := l.host.PayloadBuffer()
	hl := f.HeaderLen()
	n := hl + copy(buf[hl:], data)
	f.Encode(buf[:n], t.local.Addr(), t.remote.Addr())
	l.stats.SegmentsOut++
	_ = l.host.SendIPv4(t.remote.Addr(), wire.ProtocolTCP, buf[:n])
}

// HandleError takes an ICMP error about a segment the stack sent (RFC 1122 4.2.3.9).
func (l *Layer) HandleError(now time.Time, e icmp.Error) {
	if len(e.Transport) < 8 {
		return
	}
	t := fourTuple{
		local:  netip.AddrPortFrom(e.Src, binary.BigEndian.Uint16(e.Transport[0:])),
		remote: netip.AddrPortFrom(e.Dst, binary.BigEndian.Uint16(e.Transport[2:])),
	}
	c := l.conns[t]
	if c == nil {
		return
	}
	c.icmpError(now, e, wire.Seq(binary.BigEndian.Uint32(e.Transport[4:])))
}

// remove takes c out of the table.
func (l *Layer) remove(c *Conn) {
	if l.conns[c.tuple] == c {
		delete(l.conns, c.tuple)
		l.stats.ConnectionsClosed++
	}
}

// ephemeralPort picks a free local port for a connection to remote (RFC 6056 algorithm 1's
// spirit: a keyed starting point, then sequential).
func (l *Layer) ephemeralPort(local netip.Addr, remote netip.AddrPort) (uint16, error) {
	for range ephemeralLast - ephemeralFirst + 1 {
		p := l.nextPort
		l.nextPort++
		if l.nextPort == 0 || l.nextPort < ephemeralFirst {
			l.nextPort = ephemeralFirst
		}
		if l.listeners[p] != nil {
			continue
		}
		if l.conns[fourTuple{netip.AddrPortFrom(local, p), remote}] == nil {
			return p, nil
		}
	}
	return 0, ErrNoPorts
}
