package gvisor

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// The sysctls the gvisor target maps: Linux's names (ip-sysctl.rst), and the FreeBSD names of
// the same settings, onto gVisor's stack-wide options (Stack.SetTransportProtocolOption and
// SetNetworkProtocolOption). gVisor keeps the keepalive times per endpoint only; their sysctls
// set what every socket made or accepted afterwards starts with, which is what Linux's do. A
// setting gVisor cannot change but whose value is what gVisor does anyway (tcp_timestamps=1: it
// always offers timestamps) is accepted, any other value of it refused with the reason; a few
// settings the suite asks for that gVisor has no counterpart of are refused with the reason.
// Every other name is ErrNotMapped.

// ErrNotMapped is the reason for a sysctl the gvisor target has no setting for.
var ErrNotMapped = errors.New("not a setting the gvisor target maps")

// Sysctl applies one assignment to the stack, as a sysctl changes a kernel's: endpoints made
// from then on take it (gVisor reads most of these options when it creates an endpoint).
func (d *DUT) Sysctl(name, value string) error {
	if d.closed {
		return errors.New("the stack is closed")
	}
	defer d.step()
	set, ok := sysctls[name]
	if !ok {
		return ErrNotMapped
	}
	return set(d, strings.TrimSpace(value))
}

// Sysctls returns the names Sysctl knows (those it refuses with a reason too), sorted.
func Sysctls() []string { return slices.Sorted(maps.Keys(sysctls)) }

// sockDefaults are the keepalive settings new sockets start with; zero keeps gVisor's.
type sockDefaults struct {
	keepIdle, keepIntvl time.Duration
	keepCnt             int
}

func (s sockDefaults) apply(ep tcpip.Endpoint) {
	if s.keepIdle > 0 {
		o := tcpip.KeepaliveIdleOption(s.keepIdle)
		_ = ep.SetSockOpt(&o)
	}
	if s.keepIntvl > 0 {
		o := tcpip.KeepaliveIntervalOption(s.keepIntvl)
		_ = ep.SetSockOpt(&o)
	}
	if s.keepCnt > 0 {
		_ = ep.SetSockOptInt(tcpip.KeepaliveCountOption, s.keepCnt)
	}
}

type setter func(d *DUT, v string) error

// The option makers of the table.
func sackOpt(b bool) tcpip.SettableTransportProtocolOption { return ptr(tcpip.TCPSACKEnabled(b)) }
func moderateOpt(b bool) tcpip.SettableTransportProtocolOption {
	return ptr(tcpip.TCPModerateReceiveBufferOption(b))
}
func finTimeoutOpt(d time.Duration) tcpip.SettableTransportProtocolOption {
	return ptr(tcpip.TCPLingerTimeoutOption(d))
}
func minRTOOpt(d time.Duration) tcpip.SettableTransportProtocolOption {
	return ptr(tcpip.TCPMinRTOOption(d))
}
func maxRTOOpt(d time.Duration) tcpip.SettableTransportProtocolOption {
	return ptr(tcpip.TCPMaxRTOOption(d))
}
func retriesOpt(n int) tcpip.SettableTransportProtocolOption {
	return ptr(tcpip.TCPMaxRetriesOption(n))
}
func twReuseOpt(n int) tcpip.SettableTransportProtocolOption {
	return ptr(tcpip.TCPTimeWaitReuseOption(n))
}
func keepIdle(s *sockDefaults) *time.Duration  { return &s.keepIdle }
func keepIntvl(s *sockDefaults) *time.Duration { return &s.keepIntvl }

func ptr[T any](v T) *T { return &v }

const noDelayedACK = "gVisor acknowledges at once: it has no delayed-ACK timer"

var sysctls = map[string]setter{
	// Linux.
	"net.ipv4.tcp_sack":               boolOpt(sackOpt),
	"net.ipv4.tcp_moderate_rcvbuf":    boolOpt(moderateOpt),
	"net.ipv4.tcp_rmem":               bufferTriple(false),
	"net.ipv4.tcp_wmem":               bufferTriple(true),
	"net.ipv4.tcp_congestion_control": congestion,
	"net.ipv4.tcp_recovery":           recovery,
	"net.ipv4.tcp_syncookies":         synCookies,
	"net.ipv4.tcp_fin_timeout":        timeOpt(time.Second, finTimeoutOpt),
	"net.ipv4.tcp_rto_min_us":         timeOpt(time.Microsecond, minRTOOpt),
	"net.ipv4.tcp_rto_max_ms":         timeOpt(time.Millisecond, maxRTOOpt),
	"net.ipv4.tcp_retries2":           countOpt(0, 1<<31, retriesOpt),
	"net.ipv4.tcp_syn_retries":        refuse("gVisor's active open keeps its own SYN retransmission count: its handshake never reads the option"),
	"net.ipv4.tcp_tw_reuse":           countOpt(0, 2, twReuseOpt),
	"net.ipv4.tcp_keepalive_time":     keepalive(time.Second, keepIdle, maxKeepIdle),
	"net.ipv4.tcp_keepalive_intvl":    keepalive(time.Second, keepIntvl, maxKeepIntvl),
	"net.ipv4.tcp_keepalive_probes":   keepCount,
	"net.ipv4.ip_default_ttl":         defaultTTL,
	"net.ipv4.tcp_timestamps":         fixed("1", "gVisor always offers and accepts timestamps (RFC 7323), with a random offset per connection"),
	"net.ipv4.tcp_window_scaling":     fixed("1", "gVisor always offers and accepts window scaling (RFC 7323)"),
	"net.ipv4.tcp_ecn":                fixed("0", "gVisor's TCP does not negotiate ECN"),
	"TCP_INIT_CWND":                   fixed("10", "gVisor's initial window is 10 segments (tcp.InitialCwnd), not settable"),
	"net.ipv4.tcp_max_syn_backlog":    refuse("gVisor bounds half-open connections by the listen backlog: it has no SYN backlog of its own"),
	"net.ipv4.tcp_max_tw_buckets":     refuse("gVisor keeps no limit on connections in TIME-WAIT"),
	"net.ipv4.ip_no_pmtu_disc":        refuse("gVisor has no stack-wide path MTU discovery setting: IP_MTU_DISCOVER is per socket, and accepted connections do not inherit it"),
	"TCP_DELACK_MIN":                  refuse(noDelayedACK),
	// FreeBSD (tcp(4); times in milliseconds).
	"net.inet.tcp.sack.enable":        boolOpt(sackOpt),
	"net.inet.tcp.cc.algorithm":       congestion,
	"net.inet.tcp.recvspace":          bufferDefault(false),
	"net.inet.tcp.sendspace":          bufferDefault(true),
	"net.inet.tcp.rexmit_min":         timeOpt(time.Millisecond, minRTOOpt),
	"net.inet.tcp.keepidle":           keepalive(time.Millisecond, keepIdle, maxKeepIdle*1000),
	"net.inet.tcp.keepintvl":          keepalive(time.Millisecond, keepIntvl, maxKeepIntvl*1000),
	"net.inet.tcp.keepcnt":            keepCount,
	"net.inet.tcp.msl":                msl,
	"net.inet.tcp.rfc1323":            fixed("1", "gVisor always offers and accepts window scaling and timestamps (RFC 7323)"),
	"net.inet.tcp.ecn.enable":         fixed("0", "gVisor's TCP does not negotiate ECN"),
	"net.inet.tcp.delacktime":         refuse(noDelayedACK),
	"net.inet.tcp.hostcache.purgenow": func(*DUT, string) error { return nil }, // gVisor keeps no host cache
}

func parseInt(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", v)
	}
	return n, nil
}

// setTCP sets a TCP protocol option, turning gVisor's refusal into an error.
func (d *DUT) setTCP(o tcpip.SettableTransportProtocolOption) error {
	if err := d.stack.SetTransportProtocolOption(tcp.ProtocolNumber, o); err != nil {
		return fmt.Errorf("gVisor refuses it: %s", err)
	}
	return nil
}

func boolOpt(make func(bool) tcpip.SettableTransportProtocolOption) setter {
	return func(d *DUT, v string) error {
		switch v {
		case "0":
			return d.setTCP(make(false))
		case "1":
			return d.setTCP(make(true))
		}
		return fmt.Errorf("%q is not 0 or 1", v)
	}
}

// timeOpt sets a time option given in units of unit.
func timeOpt(unit time.Duration, make func(time.Duration) tcpip.SettableTransportProtocolOption) setter {
	return func(d *DUT, v string) error {
		n, err := parseInt(v)
		switch {
		case err != nil:
			return err
		case n < 0:
			return fmt.Errorf("%d is negative", n)
		}
		return d.setTCP(make(time.Duration(n) * unit))
	}
}

func countOpt(lo, hi int, make func(int) tcpip.SettableTransportProtocolOption) setter {
	return func(d *DUT, v string) error {
		n, err := parseInt(v)
		switch {
		case err != nil:
			return err
		case n < lo || n > hi:
			return fmt.Errorf("%d is out of range (%d to %d)", n, lo, hi)
		}
		return d.setTCP(make(n))
	}
}

// bufferTriple reads Linux's "min default max" into gVisor's buffer-size range.
func bufferTriple(send bool) setter {
	return func(d *DUT, v string) error {
		f := strings.Fields(v)
		if len(f) != 3 {
			return fmt.Errorf("%q is not three numbers (min default max)", v)
		}
		var n [3]int
		for i := range f {
			var err error
			if n[i], err = parseInt(f[i]); err != nil {
				return err
			}
		}
		return d.setBuffers(send, n[0], n[1], n[2])
	}
}

// bufferDefault sets a new socket's buffer size (FreeBSD's recvspace and sendspace), widening
// the range to hold it.
func bufferDefault(send bool) setter {
	return func(d *DUT, v string) error {
		n, err := parseInt(v)
		if err != nil {
			return err
		}
		lo, _, hi, err := d.buffers(send)
		if err != nil {
			return err
		}
		return d.setBuffers(send, min(lo, n), n, max(hi, n))
	}
}

func (d *DUT) buffers(send bool) (lo, def, hi int, err error) {
	if send {
		var o tcpip.TCPSendBufferSizeRangeOption
		if terr := d.stack.TransportProtocolOption(tcp.ProtocolNumber, &o); terr != nil {
			return 0, 0, 0, fmt.Errorf("reading the send buffer range: %s", terr)
		}
		return o.Min, o.Default, o.Max, nil
	}
	var o tcpip.TCPReceiveBufferSizeRangeOption
	if terr := d.stack.TransportProtocolOption(tcp.ProtocolNumber, &o); terr != nil {
		return 0, 0, 0, fmt.Errorf("reading the receive buffer range: %s", terr)
	}
	return o.Min, o.Default, o.Max, nil
}

func (d *DUT) setBuffers(send bool, lo, def, hi int) error {
	if lo <= 0 || def < lo || def > hi {
		return fmt.Errorf("%d %d %d is not min ≤ default ≤ max with min > 0", lo, def, hi)
	}
	if send {
		return d.setTCP(&tcpip.TCPSendBufferSizeRangeOption{Min: lo, Default: def, Max: hi})
	}
	return d.setTCP(&tcpip.TCPReceiveBufferSizeRangeOption{Min: lo, Default: def, Max: hi})
}

// congestion selects gVisor's congestion control: reno (FreeBSD's newreno) or cubic.
func congestion(d *DUT, v string) error {
	if v == "newreno" {
		v = "reno"
	}
	if v != "reno" && v != "cubic" {
		return fmt.Errorf("%q is not one of gVisor's congestion controls (reno, cubic)", v)
	}
	o := tcpip.CongestionControlOption(v)
	return d.setTCP(&o)
}

// recovery reads Linux's tcp_recovery bits, which are gVisor's TCPRecovery flags (1 RACK loss
// detection, 2 static reordering window, 4 no DupThresh).
func recovery(d *DUT, v string) error {
	n, err := parseInt(v)
	switch {
	case err != nil:
		return err
	case n < 0 || n > 7:
		return fmt.Errorf("%d is not a combination of 1, 2 and 4", n)
	}
	o := tcpip.TCPRecovery(n)
	return d.setTCP(&o)
}

// synCookies: Linux's 1 (cookies when the queue overflows) is gVisor's behaviour, 2 (always)
// is its TCPAlwaysUseSynCookies; gVisor cannot turn them off.
func synCookies(d *DUT, v string) error {
	var o tcpip.TCPAlwaysUseSynCookies
	switch v {
	case "1":
	case "2":
		o = true
	case "0":
		return errors.New("only 1 and 2 are supported: gVisor always answers a SYN to a full listen queue with a SYN cookie")
	default:
		return fmt.Errorf("%q is not 0, 1 or 2", v)
	}
	return d.setTCP(&o)
}

// keepalive sets a keepalive time new sockets start with, given in units of unit.
func keepalive(unit time.Duration, field func(*sockDefaults) *time.Duration, most int) setter {
	return func(d *DUT, v string) error {
		n, err := parseInt(v)
		switch {
		case err != nil:
			return err
		case n < 1 || n > most:
			return fmt.Errorf("%d is out of range (1 to %d)", n, most)
		}
		*field(&d.sockDefaults) = time.Duration(n) * unit
		return nil
	}
}

func keepCount(d *DUT, v string) error {
	n, err := parseInt(v)
	switch {
	case err != nil:
		return err
	case n < 1 || n > maxKeepCnt:
		return fmt.Errorf("%d is out of range (1 to %d)", n, maxKeepCnt)
	}
	d.sockDefaults.keepCnt = n
	return nil
}

func defaultTTL(d *DUT, v string) error {
	n, err := parseInt(v)
	switch {
	case err != nil:
		return err
	case n < 1 || n > 255:
		return fmt.Errorf("%d is out of range (1 to 255)", n)
	}
	o := tcpip.DefaultTTLOption(n)
	if terr := d.stack.SetNetworkProtocolOption(ipv4.ProtocolNumber, &o); terr != nil {
		return fmt.Errorf("gVisor refuses it: %s", terr)
	}
	return nil
}

// msl sets TIME-WAIT to twice FreeBSD's MSL (milliseconds).
func msl(d *DUT, v string) error {
	n, err := parseInt(v)
	switch {
	case err != nil:
		return err
	case n <= 0:
		return fmt.Errorf("%d is not a positive time", n)
	}
	o := tcpip.TCPTimeWaitTimeoutOption(2 * time.Duration(n) * time.Millisecond)
	return d.setTCP(&o)
}

// fixed accepts the one value gVisor's behaviour matches.
func fixed(value, why string) setter {
	return func(_ *DUT, v string) error {
		if v != value {
			return fmt.Errorf("only %s is supported: %s", value, why)
		}
		return nil
	}
}

// refuse refuses every value, saying why.
func refuse(why string) setter {
	return func(*DUT, string) error { return errors.New(why) }
}
