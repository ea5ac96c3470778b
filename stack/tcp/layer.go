package tcp

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/mtcp-go/mtcp/stack/icmp"
	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/timer"
	"github.com/mtcp-go/mtcp/stack/wire"
)

// Switch turns an optional behaviour on or off. The zero value, Default, takes the behaviour's
// default (on, for every Switch in Config but TLPNewData and FINWithACK).
type Switch uint8

// The values of a Switch.
const (
	Default Switch = iota
	On
	Off
)

func (s Switch) String() string {
	switch s {
	case Default:
		return "default"
	case On:
		return "on"
	case Off:
		return "off"
	}
	return fmt.Sprintf("Switch(%d)", uint8(s))
}

// ECNMode is the stack's ECN policy (RFC 3168). The zero value, ECNDefault, is ECNPassive.
type ECNMode uint8

// The ECN policies.
const (
	ECNDefault ECNMode = iota
	ECNOff             // never negotiate ECN
	ECNPassive         // answer an ECN-setup SYN, never send one (Linux's default)
	ECNOn              // send ECN-setup SYNs and answer them
)

func (m ECNMode) String() string {
	switch m {
	case ECNDefault:
		return "default"
	case ECNOff:
		return "off"
	case ECNPassive:
		return "passive"
	case ECNOn:
		return "on"
	}
	return fmt.Sprintf("ECNMode(%d)", uint8(m))
}

// CongestionMode is how a loss changes the congestion window. The zero value,
// CongestionDefault, is CongestionCUBIC.
type CongestionMode uint8

// The congestion responses.
const (
	CongestionDefault CongestionMode = iota
	// CongestionReno halves the window on a loss and adds one segment per round trip (RFC
	// 5681).
	CongestionReno
	// CongestionCUBIC is RFC 9438, Linux's default: the window comes down to 0.7 of the
	// flight on a loss and grows back along a cubic function of the time since, never slower
	// than a Reno-friendly AIMD.
	CongestionCUBIC
)

func (m CongestionMode) String() string {
	switch m {
	case CongestionDefault:
		return "default"
	case CongestionReno:
		return "reno"
	case CongestionCUBIC:
		return "cubic"
	}
	return fmt.Sprintf("CongestionMode(%d)", uint8(m))
}

// SynFinMode is what a segment with both SYN and FIN does where a SYN could open a connection:
// in LISTEN, in SYN-SENT and in TIME-WAIT. RFC 9293 takes it as a SYN (its FIN, like its data,
// waits until the peer sends it again); stacks often drop it, since no stack sends one and
// scanners probe with it. The zero value, SynFinDefault, is SynFinListenDrop.
type SynFinMode uint8

// The SYN+FIN policies.
const (
	SynFinDefault SynFinMode = iota
	// SynFinListenDrop drops it in LISTEN, and so never opens a new incarnation from
	// TIME-WAIT with it; in SYN-SENT it is a SYN (simultaneous open). As Linux.
	SynFinListenDrop
	// SynFinAccept takes it as a SYN everywhere (RFC 9293 3.10.7.2), as FreeBSD's default,
	// net.inet.tcp.drop_synfin=0.
	SynFinAccept
	// SynFinDrop drops it silently in LISTEN and SYN-SENT, where it could open a
	// connection, as FreeBSD's net.inet.tcp.drop_synfin=1 (tcp_input, tcp_do_segment); in
	// TIME-WAIT it is a SYN the stack does not take (challenged, or reset with SYNChallenge
	// off), as the STANDARD branches of FreeBSD's tcp-testsuite expect (FreeBSD's own
	// tcp_twcheck drops it there too).
	SynFinDrop
)

func (m SynFinMode) String() string {
	switch m {
	case SynFinDefault:
		return "default"
	case SynFinListenDrop:
		return "listen-drop"
	case SynFinAccept:
		return "accept"
	case SynFinDrop:
		return "drop"
	}
	return fmt.Sprintf("SynFinMode(%d)", uint8(m))
}

// Config bounds and times the TCP layer and chooses its extensions. Zero values take the
// defaults.
type Config struct {
	MaxConnections     int           // connections in the table, any state but TIME-WAIT (default 65536)
	Backlog            int           // established connections waiting for Accept, per listener (default 4096, Linux's somaxconn)
	MaxHalfOpen        int           // SYN-RECEIVED connections per listener, before SYN cookies (default 256)
	SendBuffer         int           // bytes per connection (default 256 KiB, at most 1 GiB)
	ReceiveBuffer      int           // bytes per connection (default 256 KiB)
	MSL                time.Duration // maximum segment lifetime; TIME-WAIT lasts 2·MSL (default 30 s)
	RTOMin             time.Duration // RFC 6298 2.4's floor, lowered as RFC 8961 allows and Linux does (default 200 ms)
	RTOVarMin          time.Duration // the least the RTO's variance term counts for: RTO >= SRTT + RTOVarMin, as Linux's tcp_rto_min (default 200 ms)
	RTOInitial         time.Duration // RFC 6298 2.1 (default 1 s)
	RTOMax             time.Duration // backoff cap (default 60 s)
	Retries            int           // retransmissions of data or FIN before ErrTimeout (default 8)
	SynRetries         int           // SYN retransmissions before ErrTimeout (default 5)
	SynAckRetries      int           // SYN-ACK retransmissions before the half-open connection is freed (default 5)
	InitialWindow      int           // the congestion window after the handshake, in segments: RFC 6928's 10 as Linux and FreeBSD (default 0: RFC 5681 3.1's 2 to 4)
	DelayedACK         time.Duration // RFC 1122 4.2.3.2, at most 500 ms (default 40 ms, Linux's TCP_DELACK_MIN)
	DelayedACKSegments int           // an ACK for at least every n-th data segment, full-sized or not: FreeBSD's delayed ACK holds one segment, 2 (default 0: every second full-sized one, RFC 5681 4.2)
	ChallengeACKs      int           // RFC 5961 7: challenge ACKs per second, all connections, on average: each second's budget is drawn between half and 1.5 times this (default 100)
	MaxTimeWait        int           // connections in TIME-WAIT, kept apart from MaxConnections; the oldest goes past it (default 65536)
	KeepAliveIdle      time.Duration // idle time before the first keepalive probe (default 2 h, RFC 1122 4.2.3.6)
	KeepAliveProbes    int           // unanswered probes before ErrTimeout (default 9)
	KeepAliveInterval  time.Duration // between keepalive probes left unanswered, RFC 1122 4.2.3.6 (default KeepAliveIdle; Linux's tcp_keepalive_intvl and FreeBSD's keepintvl are 75 s)
	ConnectTimeout     time.Duration // an active open not established by then fails with ErrTimeout (RFC 1122 4.2.3.5 lets it give up early), as FreeBSD's TCP_KEEPINIT (default none: SynRetries bound it)
	FinTimeout         time.Duration // FIN-WAIT-2 after Close before the connection is reset (default 60 s, Linux's tcp_fin_timeout)

	Timestamps   Switch         // RFC 7323 timestamps: RTTM and PAWS (default on)
	WindowScale  Switch         // RFC 7323 2 window scale, apart from Timestamps (default on; off is Linux's tcp_window_scaling=0, FreeBSD's rfc1323=0 with Timestamps off)
	SACK         Switch         // RFC 2018 selective acknowledgments, RFC 2883 D-SACK, RFC 6675 recovery (default on)
	RACK         Switch         // RFC 8985 RACK-TLP loss detection on connections with SACK (default on)
	ECN          ECNMode        // RFC 3168 explicit congestion notification (default ECNPassive)
	Congestion   CongestionMode // the response to a loss (default CongestionCUBIC)
	PMTUD        Switch         // RFC 1191 path MTU discovery: DF on every segment (default on)
	SynCookies   Switch         // RFC 4987 3.6 SYN cookies once a listener's half-open connections reach MaxHalfOpen (default on)
	QuickACK     Switch         // after out-of-order data, acknowledge the next segments one by one, as Linux (default on)
	TLPNewData   Switch         // a tail loss probe sends new data when there is some (RFC 8985 7.3), not the last segment again (default off)
	FINWithACK   Switch         // an ACK sent while our FIN is unacknowledged carries the FIN again, as BSD's tcp_output (tcp_outflags; default off)
	RSTChallenge Switch         // RFC 5961 3.2: a RST in the window but not at RCV.NXT draws a challenge ACK; off, it resets, as RFC 9293 alone and FreeBSD's insecure_rst=1 (default on)
	SYNChallenge Switch         // RFC 5961 4.2: a SYN in a synchronized state draws a challenge ACK; off, one in the window resets (RST,ACK), as RFC 793 3.9 and FreeBSD's insecure_syn=1 (default on)
	SynFin       SynFinMode     // a SYN+FIN in LISTEN and SYN-SENT, a SYN to RFC 9293 3.10.7.2 (default SynFinListenDrop: dropped in LISTEN only, as Linux)
	// TolerateMissingTimestamps accepts non-RST segments without a timestamp on a connection
	// that negotiated timestamps; by default they are dropped (RFC 7323 3.2 SHOULD).
	TolerateMissingTimestamps bool
}

// Defaults.
const (
	DefaultMaxConnections = 65536
	DefaultBacklog        = 4096
	DefaultMaxHalfOpen    = 256
	DefaultBuffer         = 256 << 10
	DefaultMSL            = 30 * time.Second
	DefaultRetries        = 8
	DefaultSynRetries     = 5
	DefaultRTOMin         = 200 * time.Millisecond
	DefaultDelayedACK     = 40 * time.Millisecond
	DefaultChallengeACKs  = 100
	DefaultMaxTimeWait    = 65536
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
	setD(&c.RTOMin, DefaultRTOMin)
	setD(&c.RTOVarMin, DefaultRTOMin)
	setD(&c.RTOInitial, time.Second)
	setD(&c.RTOMax, 60*time.Second)
	set(&c.Retries, DefaultRetries)
	set(&c.SynRetries, DefaultSynRetries)
	set(&c.SynAckRetries, DefaultSynRetries)
	setD(&c.DelayedACK, DefaultDelayedACK)
	set(&c.ChallengeACKs, DefaultChallengeACKs)
	set(&c.MaxTimeWait, DefaultMaxTimeWait)
	setD(&c.KeepAliveIdle, 2*time.Hour)
	setD(&c.KeepAliveInterval, c.KeepAliveIdle)
	setD(&c.FinTimeout, 60*time.Second)
	set(&c.KeepAliveProbes, 9)
	for _, s := range []*Switch{&c.Timestamps, &c.WindowScale, &c.SACK, &c.RACK, &c.PMTUD, &c.SynCookies, &c.QuickACK, &c.RSTChallenge, &c.SYNChallenge} {
		if *s == Default {
			*s = On
		}
	}
	for _, s := range []*Switch{&c.TLPNewData, &c.FINWithACK} {
		if *s == Default {
			*s = Off
		}
	}
	if c.ECN == ECNDefault {
		c.ECN = ECNPassive
	}
	if c.Congestion == CongestionDefault {
		c.Congestion = CongestionCUBIC
	}
	if c.SynFin == SynFinDefault {
		c.SynFin = SynFinListenDrop
	}
	return c
}

// Validate reports the first field out of range, by name.
func (c Config) Validate() error {
	positive := []struct {
		name string
		v    int
	}{
		{"MaxConnections", c.MaxConnections}, {"Backlog", c.Backlog}, {"MaxHalfOpen", c.MaxHalfOpen},
		{"Retries", c.Retries}, {"SynRetries", c.SynRetries}, {"SynAckRetries", c.SynAckRetries},
		{"ChallengeACKs", c.ChallengeACKs}, {"KeepAliveProbes", c.KeepAliveProbes}, {"MaxTimeWait", c.MaxTimeWait},
	}
	for _, p := range positive {
		if p.v < 1 {
			return fmt.Errorf("tcp: %s %d < 1", p.name, p.v)
		}
	}
	if c.InitialWindow < 0 {
		return fmt.Errorf("tcp: InitialWindow %d < 0", c.InitialWindow)
	}
	if c.DelayedACKSegments < 0 {
		return fmt.Errorf("tcp: DelayedACKSegments %d < 0", c.DelayedACKSegments)
	}
	switch {
	case c.SendBuffer < MinBuffer:
		return fmt.Errorf("tcp: SendBuffer %d < %d bytes", c.SendBuffer, MinBuffer)
	case c.ReceiveBuffer < MinBuffer:
		return fmt.Errorf("tcp: ReceiveBuffer %d < %d bytes", c.ReceiveBuffer, MinBuffer)
	case c.ReceiveBuffer > 1<<30:
		return fmt.Errorf("tcp: ReceiveBuffer %d > 1 GiB (RFC 7323 window scale limit)", c.ReceiveBuffer)
	case c.SendBuffer > 1<<30:
		return fmt.Errorf("tcp: SendBuffer %d > 1 GiB", c.SendBuffer)
	case c.MSL <= 0:
		return fmt.Errorf("tcp: MSL %v <= 0", c.MSL)
	case c.RTOMin <= 0:
		return fmt.Errorf("tcp: RTOMin %v <= 0", c.RTOMin)
	case c.RTOVarMin < 0:
		return fmt.Errorf("tcp: RTOVarMin %v < 0", c.RTOVarMin)
	case c.RTOInitial < c.RTOMin:
		return fmt.Errorf("tcp: RTOInitial %v < RTOMin %v", c.RTOInitial, c.RTOMin)
	case c.RTOMax < c.RTOInitial:
		return fmt.Errorf("tcp: RTOMax %v < RTOInitial %v", c.RTOMax, c.RTOInitial)
	case c.DelayedACK < 0 || c.DelayedACK > 500*time.Millisecond:
		return fmt.Errorf("tcp: DelayedACK %v outside 0..500 ms (RFC 1122 4.2.3.2)", c.DelayedACK)
	case c.KeepAliveIdle <= 0:
		return fmt.Errorf("tcp: KeepAliveIdle %v <= 0", c.KeepAliveIdle)
	case c.KeepAliveInterval <= 0:
		return fmt.Errorf("tcp: KeepAliveInterval %v <= 0", c.KeepAliveInterval)
	case c.ConnectTimeout < 0:
		return fmt.Errorf("tcp: ConnectTimeout %v < 0", c.ConnectTimeout)
	case c.FinTimeout <= 0:
		return fmt.Errorf("tcp: FinTimeout %v <= 0", c.FinTimeout)
	}
	for _, s := range []struct {
		name string
		v    Switch
	}{{"Timestamps", c.Timestamps}, {"WindowScale", c.WindowScale}, {"SACK", c.SACK}, {"RACK", c.RACK}, {"PMTUD", c.PMTUD}, {"SynCookies", c.SynCookies},
		{"QuickACK", c.QuickACK}, {"TLPNewData", c.TLPNewData}, {"RSTChallenge", c.RSTChallenge}, {"SYNChallenge", c.SYNChallenge}} {
		if s.v > Off {
			return fmt.Errorf("tcp: %s %v is not Default, On or Off", s.name, s.v)
		}
	}
	if c.Congestion > CongestionCUBIC {
		return fmt.Errorf("tcp: Congestion %v is not CongestionDefault, CongestionReno or CongestionCUBIC", c.Congestion)
	}
	if c.ECN > ECNOn {
		return fmt.Errorf("tcp: ECN %v is not ECNDefault, ECNOff, ECNPassive or ECNOn", c.ECN)
	}
	if c.SynFin > SynFinDrop {
		return fmt.Errorf("tcp: SynFin %v is not SynFinDefault, SynFinListenDrop, SynFinAccept or SynFinDrop", c.SynFin)
	}
	return nil
}

// Stats counts segments and events.
type Stats struct {
	SegmentsIn         uint64
	SegmentsOut        uint64
	Retransmits        uint64 // segments sent again (RTO, fast retransmit, recovery, tail loss probe)
	FastRetransmits    uint64 // loss recoveries begun without a timeout (RFC 5681 3.2, RFC 6675 5)
	Timeouts           uint64 // RTO expirations
	PersistTimeouts    uint64 // connections given up: zero-window probes unanswered (Retries, or the user timeout)
	UserTimeouts       uint64 // connections given up: data unacknowledged past the user timeout (RFC 5482)
	FinWait2Timeouts   uint64 // closed connections reset after FinTimeout in FIN-WAIT-2
	ConnectTimeouts    uint64 // active opens given up: not established within the connect timeout (TCP_KEEPINIT)
	BadChecksum        uint64 // dropped: checksum wrong (RFC 9293 3.1)
	Malformed          uint64 // dropped: data offset or options malformed, or a port is 0
	Broadcast          uint64 // dropped: sent to a broadcast or multicast address
	NoACK              uint64 // dropped: no ACK bit in a synchronized state (RFC 9293 3.10.7.4)
	Unacceptable       uint64 // segments outside the receive window, answered with an ACK
	ResetsIn           uint64
	ResetsOut          uint64
	ChallengeACKs      uint64 // RFC 5961
	ChallengeLimited   uint64 // challenge ACKs not sent because of the rate limit
	HalfOpenUnsendable uint64 // half-open connections freed at once: their SYN-ACK had no route, or no ARP answer
	ListenOverflow     uint64 // SYNs (or cookie ACKs) dropped: accept queue full, or half-open table full with SYN cookies off
	SynCookiesSent     uint64 // SYN-ACKs sent with a SYN cookie (RFC 4987 3.6)
	SynCookiesValid    uint64 // ACKs that returned a valid cookie
	SynCookiesFailed   uint64 // ACKs to a listener that had sent cookies, whose cookie did not check (answered with RST)
	TableFull          uint64 // SYNs dropped or dials refused: connection table full
	OutOfOrder         uint64 // segments queued out of order
	OutOfOrderPruned   uint64 // out-of-order stretches given up (or not taken) to keep the queue within its bound
	ActiveOpens        uint64
	PassiveOpens       uint64
	Joins              uint64 // connections joined already established, mid-stream (Join): neither active nor passive opens
	Established        uint64
	ConnectionsClosed  uint64
	TimeWaitEvicted    uint64 // TIME-WAIT entries ended early to make room (MaxTimeWait reached)
	TimeWaitReused     uint64 // TIME-WAIT entries ended by a new incarnation's SYN (RFC 6191)
	TimeWaitDialReused uint64 // TIME-WAIT entries whose port a dial took over, every other being taken (ephemeralPort)

	PAWSRejects     uint64 // dropped: timestamp older than TS.Recent (RFC 7323 5)
	NoTimestamp     uint64 // dropped: no timestamp on a connection that negotiated them (RFC 7323 3.2)
	OutOfWindowACKs uint64 // ACKs for unacceptable segments not sent because of the per-connection limit
	SACKBlocksIn    uint64 // SACK blocks taken into the scoreboard
	BadSACKBlocks   uint64 // SACK blocks ignored: reversed, or outside SND.UNA..SND.NXT (RFC 2018, RFC 6675)
	DSACKsIn        uint64 // duplicate-SACK reports received (RFC 2883)
	DSACKsOut       uint64 // duplicate-SACK reports sent (RFC 2883)
	RACKLosses      uint64 // segments marked lost by RACK's time test (RFC 8985 6.2)
	TailLossProbes  uint64 // tail loss probes sent (RFC 8985 7)
	ECNReductions   uint64 // congestion window reductions for ECE (RFC 3168 6.1.2)
	CEReceived      uint64 // segments that arrived marked CE (RFC 3168 6.1.3)
	PMTUDecreases   uint64 // MSS lowered by a valid fragmentation-needed (RFC 1191)
	ICMPIgnored     uint64 // ICMP errors not believed: no connection or no segment in flight quoted (RFC 5927 4.1), or a fragmentation-needed that cannot be right (RFC 1191 6.3, RFC 5927 5.2)
}

// Host is what the TCP layer needs of the core.
type Host interface {
	Now() time.Time
	Timers() *timer.Heap
	LocalAddr() netip.Addr
	MTU() int
	PayloadBuffer() []byte
	SendIPv4(dst netip.Addr, proto wire.IPProtocol, payload []byte, opts ipv4.SendOptions) error
}

// fourTuple is a connection's addresses and ports (IPv4 only) in 12 bytes: the key of the
// connection table and of the TIME-WAIT table.
type fourTuple struct {
	localIP, remoteIP     [4]byte
	localPort, remotePort uint16
}

// tupleOf returns the four-tuple of two IPv4 addresses and ports.
func tupleOf(local, remote netip.AddrPort) fourTuple {
	return fourTuple{local.Addr().As4(), remote.Addr().As4(), local.Port(), remote.Port()}
}

func (t fourTuple) local() netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4(t.localIP), t.localPort)
}

func (t fourTuple) remote() netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4(t.remoteIP), t.remotePort)
}

// Layer is the TCP of one stack.
type Layer struct {
	cfg       Config
	host      Host
	key       [16]byte
	conns     map[fourTuple]*Conn
	listeners map[uint16]*Listener
	tw        timeWait
	twTimer   timer.Timer
	epoch     time.Time // the connections' instants count from here
	// lastTime and lastInstant are the last conversion to an instant (Layer.instant).
	lastTime    time.Time
	lastInstant instant
	nextPort    uint16
	challenge   struct {
		second       time.Time
		sent, budget int
		rng          *rand.ChaCha8 // keyed by the secret: the budget is unpredictable from outside
	}
	stats Stats
}

// New returns a TCP layer; cfg must have passed Validate after WithDefaults. secret keys the
// initial sequence numbers (RFC 6528), the timestamp offsets (RFC 7323 7.1) and the ephemeral
// port choice.
func New(cfg Config, host Host, secret [16]byte) *Layer {
	l := &Layer{cfg: cfg, host: host, key: secret, conns: make(map[fourTuple]*Conn), listeners: make(map[uint16]*Listener)}
	l.challenge.rng = rand.NewChaCha8(sha256.Sum256(append([]byte("challenge"), secret[:]...)))
	l.tw.entries = make(map[fourTuple]*twEntry)
	l.twTimer.Init(l.timeWaitFired)
	sum := sha256.Sum256(append([]byte("ports"), secret[:]...))
	l.nextPort = ephemeralFirst + binary.BigEndian.Uint16(sum[:])%(ephemeralLast-ephemeralFirst+1)
	return l
}

// Ephemeral ports: Linux's ip_local_port_range (28,232 ports), wider than RFC 6335 6's
// dynamic range (16,384), so that as many sequential dials to one destination as Linux allows
// fit in while their TIME-WAITs last (a dial also reuses a TIME-WAIT, see ephemeralPort).
const (
	ephemeralFirst = 32768
	ephemeralLast  = 60999
)

// timeWaitReuseAfter is how long after its last segment a TIME-WAIT with timestamps may give
// its port to a new dial: Linux's tcp_tw_reuse rule.
const timeWaitReuseAfter = time.Second

// Stats returns the counters.
func (l *Layer) Stats() Stats { return l.stats }

// AbortAll aborts every connection in the table, as Abort does each (a RST where the peer has
// a connection to reset): the stack's Close.
func (l *Layer) AbortAll() {
	for _, c := range l.conns {
		c.Abort()
	}
}

// Config returns the configuration in force.
func (l *Layer) Config() Config { return l.cfg }

// SetConfig changes the configuration in force, as a sysctl changes a kernel's: connections
// opened from now on take the new buffer sizes, timers and options; connections already open
// follow the new switches (RFC 5961's checks, SYN+FIN, challenge ACK budget) from their next
// segment. cfg goes through WithDefaults and must pass Validate.
func (l *Layer) SetConfig(cfg Config) error {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	l.cfg = cfg
	return nil
}

// Conns returns the number of connections in the table.
func (l *Layer) Conns() int { return len(l.conns) }

func (l *Layer) now() time.Time { return l.host.Now() }

func (l *Layer) timers() *timer.Heap { return l.host.Timers() }

// keyedHash is SHA-256 over the layer's secret, a label that keeps the uses apart, and the
// connection's addresses and ports: RFC 6528 3's F() and RFC 7323 7.1's timestamp offset.
func (l *Layer) keyedHash(label string, t fourTuple) uint32 {
	var buf [64]byte
	b := append(buf[:0], l.key[:]...)
	b = append(b, label...)
	b = append(b, t.localIP[:]...)
	b = append(b, t.remoteIP[:]...)
	b = binary.BigEndian.AppendUint16(b, t.localPort)
	b = binary.BigEndian.AppendUint16(b, t.remotePort)
	sum := sha256.Sum256(b)
	return binary.BigEndian.Uint32(sum[:])
}

// isn returns an initial sequence number for the tuple (RFC 6528 3): a 4 µs clock plus a keyed
// hash of the connection's addresses and ports, so ISNs are unpredictable from outside and
// successive incarnations of one tuple still move forward.
func (l *Layer) isn(t fourTuple) wire.Seq {
	m := uint32(l.now().UnixNano() / 4000)
	return wire.Seq(m + l.keyedHash("", t))
}

// mss returns the MSS the stack announces: the MTU less the IPv4 and TCP headers (RFC 6691).
func (l *Layer) mss() int { return l.host.MTU() - wire.IPv4MinHeaderLen - wire.TCPMinHeaderLen }

// allowChallenge applies the layer's RFC 5961 7 rate limit. A fixed count per second is a side
// channel (CVE-2016-5696): an off-path attacker who exhausts it and counts the challenge ACKs
// left learns whether its guess made another connection send one. So, as Linux since 4.7, the
// budget of each second is drawn anew between half and one and a half times ChallengeACKs,
// from a generator keyed by the layer's secret, and each connection sends at most one
// challenge ACK per 500 ms of its own (Conn.challengeAck).
func (l *Layer) allowChallenge(now time.Time) bool {
	ch := &l.challenge
	if now.Sub(ch.second) >= time.Second {
		n := l.cfg.ChallengeACKs
		ch.second, ch.sent = now, 0
		ch.budget = (n+1)/2 + int(ch.rng.Uint64()%uint64(n))
	}
	if ch.sent >= ch.budget {
		l.stats.ChallengeLimited++
		return false
	}
	ch.sent++
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
	opts     wire.TCPOptions
	ecn      wire.ECN // the IP header's ECN field (RFC 3168 5)
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
	if err != nil { // a data offset past the segment, or an option whose length is impossible:
		// our policy is to drop the segment (RFC 9293 3.1 MUST-7 leaves the handling open and
		// suggests a reset; Linux and FreeBSD stop reading the options and take the rest)
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
			localIP: p.Destination().As4(), remoteIP: p.Source().As4(),
			localPort: t.DestinationPort(), remotePort: t.SourcePort(),
		},
		seq: t.SeqNum(), ack: t.AckNum(), flags: t.Flags(), wnd: t.WindowSize(), data: t.Payload(),
		opts: t.DecodeOptions(), ecn: p.ECN(),
	}
	if c := l.conns[s.tuple]; c != nil {
		c.segmentArrives(now, &s)
		return
	}
	if len(l.tw.entries) > 0 {
		k := s.tuple
		if e := l.tw.entries[k]; e != nil {
			l.timeWaitArrives(now, k, e, &s)
			return
		}
	}
	if ln := l.listeners[s.tuple.localPort]; ln != nil {
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
	f := wire.TCPFields{SourcePort: t.localPort, DestinationPort: t.remotePort, SeqNum: seq, AckNum: ack, Flags: flags}
	l.stats.ResetsOut++
	_ = l.send(t, &f, nil, ipv4.SendOptions{DontFragment: l.cfg.PMTUD == On})
}

// send builds a segment in the core's payload buffer and sends it. The error says why the
// datagram could not even be queued (no route); a segment lost later is retransmitted.
func (l *Layer) send(t fourTuple, f *wire.TCPFields, data []byte, opts ipv4.SendOptions) error {
	return l.sendParts(t, f, data, nil, opts)
}

// sendParts is send with the data in two parts, the second following the first (the send
// buffer's bytes where they wrap).
func (l *Layer) sendParts(t fourTuple, f *wire.TCPFields, data, more []byte, opts ipv4.SendOptions) error {
	buf := l.host.PayloadBuffer()
	// On a link whose MTU leaves less room than the longest header (an MTU under 80), SACK
	// blocks go first: the segment is still right without them.
	hl := f.HeaderLen()
	for hl > len(buf) && f.Options.NumSACKBlocks > 0 {
		f.Options.NumSACKBlocks--
		hl = f.HeaderLen()
	}
	if hl > len(buf) {
		return ipv4.ErrTooBig
	}
	n := hl + copy(buf[hl:], data)
	n += copy(buf[n:], more)
	f.Encode(buf[:n], t.local().Addr(), t.remote().Addr())
	l.stats.SegmentsOut++
	return l.host.SendIPv4(t.remote().Addr(), wire.ProtocolTCP, buf[:n], opts)
}

// HandleError takes an ICMP error about a segment the stack sent (RFC 1122 4.2.3.9).
func (l *Layer) HandleError(now time.Time, e icmp.Error) {
	if len(e.Transport) < 8 {
		return
	}
	t := fourTuple{
		localIP: e.Src.As4(), remoteIP: e.Dst.As4(),
		localPort: binary.BigEndian.Uint16(e.Transport[0:]), remotePort: binary.BigEndian.Uint16(e.Transport[2:]),
	}
	c := l.conns[t]
	if c == nil {
		l.stats.ICMPIgnored++
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

// ephemeralPort picks a free local port for a connection to remote: a keyed starting point,
// then the next free port in turn (in the spirit of RFC 6056 3.3.1's simple hash-based
// selection, with one starting point for all destinations). When every port to remote is
// taken, a port held only by a TIME-WAIT of ours is taken over, as Linux's tcp_tw_reuse does:
// if that connection used timestamps and its last segment is at least a second old, the new
// incarnation's TSval (the same offset for the same ports, a clock gone on) is newer than
// anything of the old one, so the peer's PAWS (RFC 7323 5) and RFC 6191 tell them apart.
func (l *Layer) ephemeralPort(local netip.Addr, remote netip.AddrPort) (uint16, error) {
	var reuse fourTuple
	var reusable *twEntry
	now := l.now().UnixNano()
	for range ephemeralLast - ephemeralFirst + 1 {
		p := l.nextPort
		l.nextPort++
		if l.nextPort > ephemeralLast || l.nextPort < ephemeralFirst {
			l.nextPort = ephemeralFirst
		}
		if l.listeners[p] != nil {
			continue
		}
		t := tupleOf(netip.AddrPortFrom(local, p), remote)
		if l.conns[t] != nil {
			continue
		}
		e := l.tw.entries[t]
		if e == nil {
			return p, nil
		}
		if reusable == nil && l.dialMayReuse(e, now) {
			reuse, reusable = t, e
		}
	}
	if reusable != nil {
		l.endTimeWait(reuse, reusable)
		l.stats.TimeWaitDialReused++
		return reuse.localPort, nil
	}
	return 0, ErrNoPorts
}

// dialMayReuse tells whether a TIME-WAIT entry may give its port to a new dial (ephemeralPort).
func (l *Layer) dialMayReuse(e *twEntry, now int64) bool {
	last := e.ends - int64(2*l.cfg.MSL) // when it entered TIME-WAIT, or last restarted it
	return e.tsOK && l.cfg.Timestamps == On && now-last >= int64(timeWaitReuseAfter)
}
