package mtcpdut

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mtcp-go/mtcp/stack/core"
	"github.com/mtcp-go/mtcp/stack/tcp"
)

// mtcp's policy by sysctl names: a script's `sysctl -w net.inet.tcp.sack.enable=1` (FreeBSD)
// or `sysctl -q net.ipv4.tcp_sack=1` (Linux), and the platform defaults the script runner
// applies, map onto the TCP configuration through the table below; scenarios/README.md lists
// it for script writers.

// ErrNotMapped is the reason for a sysctl mtcp has no setting for.
var ErrNotMapped = errors.New("not a setting mtcp maps")

// Sysctl applies one assignment to the running core's TCP configuration, as a sysctl changes
// a kernel's: connections opened from then on take it.
func (m *MTCP) Sysctl(name, value string) error {
	layer := m.core.TCP()
	cfg := core.Config{TCP: layer.Config()}
	if err := ApplySysctl(&cfg, name, value); err != nil {
		return err
	}
	return layer.SetConfig(cfg.TCP)
}

// ApplySysctl applies one assignment to cfg: a sysctl of the table, or a platform constant
// (TCP_INIT_CWND, ...) that only the runner's platform defaults set.
func ApplySysctl(cfg *core.Config, name, value string) error {
	s := lookup(sysctls, name)
	if s == nil {
		s = lookup(constants, name)
	}
	if s == nil {
		return ErrNotMapped
	}
	return s.apply(cfg, value)
}

// sysctl is a setting the runner understands: how a value maps onto the stack's configuration.
type sysctl struct {
	name  string
	apply func(c *core.Config, v string) error
}

// sysctls is every sysctl the runner understands.
var sysctls = []sysctl{
	// FreeBSD (tcp(4); times in milliseconds).
	{"net.inet.tcp.recvspace", bytesTo(func(c *tcp.Config) *int { return &c.ReceiveBuffer })},
	{"net.inet.tcp.sendspace", bytesTo(func(c *tcp.Config) *int { return &c.SendBuffer })},
	{"kern.ipc.maxsockbuf", maxBuffer},
	{"net.inet.tcp.sack.enable", switchTo(func(c *tcp.Config) *tcp.Switch { return &c.SACK })},
	{"net.inet.tcp.rfc1323", rfc1323},
	{"net.inet.tcp.ecn.enable", ecnMode},
	{"net.inet.tcp.rexmit_initial", msTo(func(c *tcp.Config) *time.Duration { return &c.RTOInitial })},
	{"net.inet.tcp.rexmit_min", msTo(func(c *tcp.Config) *time.Duration { return &c.RTOMin })},
	{"net.inet.tcp.rexmit_slop", msTo(func(c *tcp.Config) *time.Duration { return &c.RTOVarMin })},
	{"net.inet.tcp.delacktime", msTo(func(c *tcp.Config) *time.Duration { return &c.DelayedACK })},
	{"net.inet.tcp.msl", msTo(func(c *tcp.Config) *time.Duration { return &c.MSL })},
	{"net.inet.tcp.keepidle", msTo(func(c *tcp.Config) *time.Duration { return &c.KeepAliveIdle })},
	{"net.inet.tcp.keepintvl", msTo(func(c *tcp.Config) *time.Duration { return &c.KeepAliveInterval })},
	{"net.inet.tcp.keepinit", msTo(func(c *tcp.Config) *time.Duration { return &c.ConnectTimeout })},
	{"net.inet.tcp.keepcnt", countTo(func(c *tcp.Config) *int { return &c.KeepAliveProbes })},
	{"net.inet.tcp.insecure_rst", switchTo(func(c *tcp.Config) *tcp.Switch { return &c.RSTChallenge }, tcp.On, tcp.Off)},
	{"net.inet.tcp.insecure_syn", switchTo(func(c *tcp.Config) *tcp.Switch { return &c.SYNChallenge }, tcp.On, tcp.Off)},
	{"net.inet.tcp.drop_synfin", dropSynFin},
	{"net.inet.tcp.cc.algorithm", congestion},
	{"net.inet.tcp.initcwnd_segments", countTo(func(c *tcp.Config) *int { return &c.InitialWindow })},
	{"net.inet.tcp.blackhole", only("0", "a RST for every segment to a closed port, as mtcp does")},
	{"net.inet.tcp.hostcache.purgenow", ignore}, // mtcp keeps no host cache
	// Linux (ip-sysctl.rst; times in seconds unless the name says otherwise).
	{"net.ipv4.tcp_rmem", tripleTo(func(c *tcp.Config) *int { return &c.ReceiveBuffer })},
	{"net.ipv4.tcp_wmem", tripleTo(func(c *tcp.Config) *int { return &c.SendBuffer })},
	{"net.ipv4.tcp_sack", switchTo(func(c *tcp.Config) *tcp.Switch { return &c.SACK })},
	{"net.ipv4.tcp_timestamps", switchTo(func(c *tcp.Config) *tcp.Switch { return &c.Timestamps })},
	{"net.ipv4.tcp_ecn", ecnMode},
	{"net.ipv4.tcp_rto_min_us", usTo(func(c *tcp.Config) *time.Duration { return &c.RTOMin })},
	{"net.ipv4.tcp_syn_retries", countTo(func(c *tcp.Config) *int { return &c.SynRetries })},
	{"net.ipv4.tcp_synack_retries", countTo(func(c *tcp.Config) *int { return &c.SynAckRetries })},
	{"net.ipv4.tcp_retries2", countTo(func(c *tcp.Config) *int { return &c.Retries })},
	{"net.ipv4.tcp_fin_timeout", secondsTo(func(c *tcp.Config) *time.Duration { return &c.FinTimeout })},
	{"net.ipv4.tcp_keepalive_time", secondsTo(func(c *tcp.Config) *time.Duration { return &c.KeepAliveIdle })},
	{"net.ipv4.tcp_keepalive_intvl", secondsTo(func(c *tcp.Config) *time.Duration { return &c.KeepAliveInterval })},
	{"net.ipv4.tcp_keepalive_probes", countTo(func(c *tcp.Config) *int { return &c.KeepAliveProbes })},
	{"net.ipv4.tcp_window_scaling", switchTo(func(c *tcp.Config) *tcp.Switch { return &c.WindowScale })},
	{"net.ipv4.tcp_congestion_control", congestion},
	{"net.ipv4.tcp_syncookies", switchTo(func(c *tcp.Config) *tcp.Switch { return &c.SynCookies })},
	{"net.ipv4.tcp_recovery", rackBit},
	{"net.ipv4.tcp_max_syn_backlog", countTo(func(c *tcp.Config) *int { return &c.MaxHalfOpen })},
	{"net.ipv4.tcp_max_tw_buckets", countTo(func(c *tcp.Config) *int { return &c.MaxTimeWait })},
	{"net.ipv4.ip_no_pmtu_disc", switchTo(func(c *tcp.Config) *tcp.Switch { return &c.PMTUD }, tcp.On, tcp.Off)},
	// mtcp's own, for what no platform's sysctl sets.
	{"mtcp.max_connections", countTo(func(c *tcp.Config) *int { return &c.MaxConnections })},
	{"mtcp.tlp_new_data", switchTo(func(c *tcp.Config) *tcp.Switch { return &c.TLPNewData })},
}

// constants are the settings of a platform no sysctl changes, which only its defaults set
// (Linux's include/net/tcp.h, FreeBSD's tcp_input.c).
var constants = []sysctl{
	{"TCP_INIT_CWND", countTo(func(c *tcp.Config) *int { return &c.InitialWindow })},
	{"TCP_DELACK_MIN", msTo(func(c *tcp.Config) *time.Duration { return &c.DelayedACK })},
	{"delayed ACK segments", countTo(func(c *tcp.Config) *int { return &c.DelayedACKSegments })},
	{"FIN with every ACK", switchTo(func(c *tcp.Config) *tcp.Switch { return &c.FINWithACK })},
	{"timestamps optional", func(c *core.Config, v string) error {
		c.TCP.TolerateMissingTimestamps = strings.TrimSpace(v) == "1"
		return nil
	}},
}

func lookup(table []sysctl, name string) *sysctl {
	for i := range table {
		if table[i].name == name {
			return &table[i]
		}
	}
	return nil
}

func lookupSysctl(name string) *sysctl { return lookup(sysctls, name) }

func parseInt(v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", v)
	}
	return n, nil
}

func bytesTo(field func(*tcp.Config) *int) func(*core.Config, string) error {
	return func(c *core.Config, v string) error {
		n, err := parseInt(v)
		switch {
		case err != nil:
			return err
		case n < tcp.MinBuffer || n > 1<<30:
			return fmt.Errorf("%d bytes is out of the stack's range (%d to 2^30)", n, tcp.MinBuffer)
		}
		*field(&c.TCP) = n
		return nil
	}
}

// tripleTo reads Linux's "min default max" buffer triple: the default is a new socket's size.
func tripleTo(field func(*tcp.Config) *int) func(*core.Config, string) error {
	set := bytesTo(field)
	return func(c *core.Config, v string) error {
		f := strings.Fields(v)
		if len(f) != 3 {
			return fmt.Errorf("%q is not three numbers (min default max)", v)
		}
		return set(c, f[1])
	}
}

// maxBuffer caps both buffer sizes.
func maxBuffer(c *core.Config, v string) error {
	n, err := parseInt(v)
	if err != nil {
		return err
	}
	for _, b := range []*int{&c.TCP.ReceiveBuffer, &c.TCP.SendBuffer} {
		*b = min(cmp.Or(*b, tcp.DefaultBuffer), max(n, tcp.MinBuffer))
	}
	return nil
}

// switchTo sets a Switch: off for 0, on for 1 (and 2: Linux's tcp_syncookies=2, always, and
// tcp_timestamps=2, no random offset, are on too). Given two values, they are what 0 and 1
// set instead (insecure_rst=1 turns a protection off).
func switchTo(field func(*tcp.Config) *tcp.Switch, zeroOne ...tcp.Switch) func(*core.Config, string) error {
	zero, one := tcp.Off, tcp.On
	if len(zeroOne) == 2 {
		zero, one = zeroOne[0], zeroOne[1]
	}
	return func(c *core.Config, v string) error {
		switch strings.TrimSpace(v) {
		case "0":
			*field(&c.TCP) = zero
		case "1", "2":
			*field(&c.TCP) = one
		default:
			return fmt.Errorf("%q is not 0, 1 or 2", v)
		}
		return nil
	}
}

// rfc1323 reads FreeBSD's rfc1323: 0 neither option of RFC 7323, 1 both, 2 window scaling
// only, 3 timestamps only (tcp(4)).
func rfc1323(c *core.Config, v string) error {
	set, ok := map[string][2]tcp.Switch{ // window scale, timestamps
		"0": {tcp.Off, tcp.Off}, "1": {tcp.On, tcp.On}, "2": {tcp.On, tcp.Off}, "3": {tcp.Off, tcp.On},
	}[strings.TrimSpace(v)]
	if !ok {
		return fmt.Errorf("%q is not 0, 1, 2 or 3", v)
	}
	c.TCP.WindowScale, c.TCP.Timestamps = set[0], set[1]
	return nil
}

// positive reads a positive integer setting: a time or a count (what).
func positive(v, what string) (int, error) {
	n, err := parseInt(v)
	switch {
	case err != nil:
		return 0, err
	case n <= 0:
		return 0, fmt.Errorf("%d is not a positive %s", n, what)
	}
	return n, nil
}

func durationTo(unit time.Duration, field func(*tcp.Config) *time.Duration) func(*core.Config, string) error {
	return func(c *core.Config, v string) error {
		n, err := positive(v, "time")
		if err == nil {
			*field(&c.TCP) = time.Duration(n) * unit
		}
		return err
	}
}

func msTo(f func(*tcp.Config) *time.Duration) func(*core.Config, string) error {
	return durationTo(time.Millisecond, f)
}
func usTo(f func(*tcp.Config) *time.Duration) func(*core.Config, string) error {
	return durationTo(time.Microsecond, f)
}
func secondsTo(f func(*tcp.Config) *time.Duration) func(*core.Config, string) error {
	return durationTo(time.Second, f)
}

func countTo(field func(*tcp.Config) *int) func(*core.Config, string) error {
	return func(c *core.Config, v string) error {
		n, err := positive(v, "count")
		if err == nil {
			*field(&c.TCP) = n
		}
		return err
	}
}

// oneOf sets a field to what the setting's value names, among values.
func oneOf[T any](field func(*tcp.Config) *T, values map[string]T) func(*core.Config, string) error {
	return func(c *core.Config, v string) error {
		x, ok := values[strings.TrimSpace(v)]
		if !ok {
			return fmt.Errorf("%q is not one of %s", v, strings.Join(slices.Sorted(maps.Keys(values)), ", "))
		}
		*field(&c.TCP) = x
		return nil
	}
}

// The settings with named values: FreeBSD's ecn.enable and Linux's tcp_ecn alike (0 off, 1
// ask and answer, 2 answer only), FreeBSD's drop_synfin (1 drops a SYN with FIN where it
// could open a connection, 0 takes it as a SYN), and the congestion control.
var (
	ecnMode = oneOf(func(c *tcp.Config) *tcp.ECNMode { return &c.ECN },
		map[string]tcp.ECNMode{"0": tcp.ECNOff, "1": tcp.ECNOn, "2": tcp.ECNPassive})
	dropSynFin = oneOf(func(c *tcp.Config) *tcp.SynFinMode { return &c.SynFin },
		map[string]tcp.SynFinMode{"0": tcp.SynFinAccept, "1": tcp.SynFinDrop})
	congestion = oneOf(func(c *tcp.Config) *tcp.CongestionMode { return &c.Congestion },
		map[string]tcp.CongestionMode{"newreno": tcp.CongestionReno, "reno": tcp.CongestionReno, "cubic": tcp.CongestionCUBIC})
)

// rackBit reads Linux's tcp_recovery bit mask: bit 0 is RACK loss detection.
func rackBit(c *core.Config, v string) error {
	n, err := parseInt(v)
	if err != nil {
		return err
	}
	c.TCP.RACK = tcp.Off
	if n&1 != 0 {
		c.TCP.RACK = tcp.On
	}
	return nil
}

// only accepts the one value the stack's behaviour matches.
func only(value, why string) func(*core.Config, string) error {
	return func(_ *core.Config, v string) error {
		if strings.TrimSpace(v) != value {
			return fmt.Errorf("only %s is supported: %s", value, why)
		}
		return nil
	}
}

func ignore(*core.Config, string) error { return nil }
