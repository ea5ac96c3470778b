//go:build linux

package linuxdut

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/mtcp-go/mtcp/harness"
)

// builtins are the settings of `--platform linux` (harness/script's table) that no sysctl sets:
// constants compiled into the kernel. The kernel takes them at these values only.
var builtins = map[string]string{
	"TCP_INIT_CWND":       "10", // include/net/tcp.h
	"TCP_DELACK_MIN":      "40", // include/net/tcp.h: HZ/25, in ms
	"timestamps optional": "1",  // tcp_input.c: a segment without a timestamp is not dropped
}

// sysctlName is a Linux sysctl name: dot-separated words of lower-case letters, digits, '_'
// and '-'.
var sysctlName = regexp.MustCompile(`^[a-z0-9_-]+(\.[a-z0-9_-]+)+$`)

// Sysctl writes /proc/sys/<name with dots as slashes> from inside the namespace. Only the
// namespace's own settings can be set (net.ipv4.tcp_*, net.ipv4.conf.*, net.core.somaxconn, …):
// a name outside net.*, or one the namespace does not have (a global setting such as
// net.ipv4.tcp_mem, which exists in the root namespace only), is refused with the reason, as
// are FreeBSD's names (net.inet.*). Deleting the namespace after the case undoes every
// assignment.
func (d *state) Sysctl(name, value string) error {
	if v, ok := builtins[name]; ok {
		if strings.TrimSpace(value) == v {
			return nil
		}
		return fmt.Errorf("%s is %s, compiled into Linux: no sysctl changes it", name, v)
	}
	switch {
	case strings.HasPrefix(name, "net.inet.") || strings.HasPrefix(name, "net.inet6.") || strings.HasPrefix(name, "kern."):
		return fmt.Errorf("%s is FreeBSD's: Linux has no such sysctl", name)
	case !sysctlName.MatchString(name):
		return fmt.Errorf("%q is not a Linux sysctl name", name)
	case !strings.HasPrefix(name, "net."):
		return fmt.Errorf("%s is not per network namespace: setting it would change the host; refused", name)
	}
	path := "/proc/sys/" + strings.ReplaceAll(name, ".", "/")
	var current []byte
	err := d.thread.do(func() error {
		err := writeProc(path, value)
		if err != nil {
			current, _ = os.ReadFile(path)
		}
		return err
	})
	switch {
	case err == nil:
		return nil
	case current != nil && slices.Equal(strings.Fields(string(current)), strings.Fields(value)):
		return nil // already so: the kernel refuses to set a value it already has in some cases
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: no such sysctl in the DUT's namespace: either Linux has none by this name or it is global to the host, not per network namespace", name)
	case errors.Is(err, unix.EINVAL):
		return fmt.Errorf("%s=%s: the kernel refuses the value (invalid or out of range)", name, value)
	case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EBUSY):
		return fmt.Errorf("%s=%s: the kernel has no such choice (%v)", name, value, err)
	case errors.Is(err, fs.ErrPermission) && name == "net.ipv4.tcp_congestion_control":
		return fmt.Errorf("%s=%s: a network namespace other than the root one may choose only the algorithms the host allows (its net.ipv4.tcp_allowed_congestion_control) (%v)", name, value, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s=%s: the kernel refuses it in a network namespace other than the root one (%v)", name, value, err)
	}
	return fmt.Errorf("%s=%s: %w", name, value, err)
}

// Conns lists the namespace's TCP connections from /proc/net/tcp (read from inside the
// namespace), every row but the listening sockets: SYN-RECEIVED and TIME-WAIT included. It
// returns nil if the table cannot be read.
func (d *state) Conns() []harness.Conn {
	var table []byte
	if err := d.thread.do(func() error {
		var err error
		table, err = os.ReadFile("/proc/thread-self/net/tcp")
		return err
	}); err != nil {
		return nil
	}
	return parseTCPTable(table)
}

// parseTCPTable reads /proc/net/tcp's rows: "sl local_address rem_address st ...", addresses
// as the hex of the in-memory (network order) 32-bit word and the port, the state in hex in
// Linux's numbering (01 ESTABLISHED … 0A LISTEN), as harness.TCPState's.
func parseTCPTable(table []byte) []harness.Conn {
	var out []harness.Conn
	sc := bufio.NewScanner(bytes.NewReader(table))
	for first := true; sc.Scan(); first = false {
		f := strings.Fields(sc.Text())
		if first || len(f) < 4 {
			continue
		}
		local, ok1 := parseHexAddrPort(f[1])
		remote, ok2 := parseHexAddrPort(f[2])
		st, err := strconv.ParseUint(f[3], 16, 8)
		if !ok1 || !ok2 || err != nil || harness.TCPState(st) == harness.TCPListen {
			continue
		}
		out = append(out, harness.Conn{Local: local, Remote: remote, State: harness.TCPState(st)})
	}
	return out
}

// parseHexAddrPort reads "0200A8C6:1F90": the address as the kernel printed the 32-bit word
// that holds it in network order (%08X of a native-endian load), then the port.
func parseHexAddrPort(s string) (netip.AddrPort, bool) {
	a, p, ok := strings.Cut(s, ":")
	if !ok || len(a) != 8 {
		return netip.AddrPort{}, false
	}
	w, err1 := strconv.ParseUint(a, 16, 32)
	port, err2 := strconv.ParseUint(p, 16, 16)
	if err1 != nil || err2 != nil {
		return netip.AddrPort{}, false
	}
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], uint32(w))
	return netip.AddrPortFrom(netip.AddrFrom4(b), uint16(port)), true
}

// dropCounters are the kernel's counters (/proc/net/snmp and /proc/net/netstat, by their
// nstat names) of input it discarded as invalid, which Drops sums. Each event is counted once:
// IpInHdrErrors includes IP header checksum failures (IpExtInCsumErrors), TcpInErrs includes
// TcpInCsumErrors, IcmpInErrors includes IcmpInCsumErrors, so the Csum counters are left out.
// Left out too: IpInUnknownProtos (answered with an ICMP protocol unreachable, not silently
// dropped), and the TcpExt counters of segments that are unacceptable but answered (PAWS,
// out-of-window segments that draw a duplicate ACK, challenge ACKs) or dropped for want of
// resources rather than for being invalid (ListenDrops, TCPBacklogDrop, TCPRcvQDrop, ...).
var dropCounters = []string{
	"IpInHdrErrors",                                                         // bad version, header length, total length or header checksum
	"IpInAddrErrors",                                                        // destination not local and no forwarding; martian destination
	"IpInDiscards",                                                          // discarded in IP input (a length the frame cannot hold, memory)
	"IpExtInTruncatedPkts",                                                  // the frame is shorter than the IP total length
	"IpExtInNoRoutes",                                                       // no route for the destination
	"IcmpInErrors",                                                          // bad ICMP checksum or length
	"TcpInErrs",                                                             // bad TCP checksum, data offset below 5, segment shorter than its header
	"TcpExtOutOfWindowIcmps",                                                // ICMP errors about a sequence number outside the window
	"TcpExtIPReversePathFilter",                                             // reverse-path filter: a source that route does not lead back to
	"TcpExtTSEcrRejected",                                                   // a timestamp echo the kernel never sent
	"TcpExtTCPMD5NotFound", "TcpExtTCPMD5Unexpected", "TcpExtTCPMD5Failure", // RFC 2385 authentication
	"TcpExtTCPAORequired", "TcpExtTCPAOBad", "TcpExtTCPAOKeyNotFound", "TcpExtTCPAODroppedIcmps", // RFC 5925
}

// Drops returns the frames the kernel discarded as invalid: the sum of the dropCounters and of
// the TAP device's receive drops (rx_errors, rx_dropped, rx_nohandler — an unknown EtherType —
// and rx_otherhost_dropped — an IP datagram for another MAC). It returns 0 after Release.
func (d *state) Drops() uint64 {
	var snmp, netstat []byte
	var link []uint64
	if err := d.thread.do(func() error {
		var err error
		if snmp, err = os.ReadFile("/proc/thread-self/net/snmp"); err != nil {
			return err
		}
		if netstat, err = os.ReadFile("/proc/thread-self/net/netstat"); err != nil {
			return err
		}
		link, err = linkStats(d.index)
		return err
	}); err != nil {
		return 0
	}
	c := parseCounters(snmp)
	for k, v := range parseCounters(netstat) {
		c[k] = v
	}
	var sum uint64
	for _, name := range dropCounters {
		sum += c[name]
	}
	// struct rtnl_link_stats64: rx_errors 4, rx_dropped 6, rx_nohandler 23,
	// rx_otherhost_dropped 24 (Linux 5.19 and later).
	for _, i := range []int{4, 6, 23, 24} {
		if i < len(link) {
			sum += link[i]
		}
	}
	return sum
}

// Counter returns one of the kernel's counters by its nstat name (TcpExtPAWSEstab, IpInHdrErrors,
// ...), read from /proc/net/snmp and /proc/net/netstat inside the namespace.
func (d *state) Counter(name string) (uint64, bool) {
	var snmp, netstat []byte
	if err := d.thread.do(func() error {
		var err error
		if snmp, err = os.ReadFile("/proc/thread-self/net/snmp"); err != nil {
			return err
		}
		netstat, err = os.ReadFile("/proc/thread-self/net/netstat")
		return err
	}); err != nil {
		return 0, false
	}
	c := parseCounters(snmp)
	for k, v := range parseCounters(netstat) {
		c[k] = v
	}
	v, ok := c[name]
	return v, ok
}

// parseCounters reads /proc/net/snmp or /proc/net/netstat: pairs of lines "Tcp: Name1 Name2 …"
// and "Tcp: 1 2 …", into nstat's names (TcpInErrs, TcpExtPAWSEstab).
func parseCounters(text []byte) map[string]uint64 {
	m := map[string]uint64{}
	lines := strings.Split(string(text), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) == 0 || len(names) != len(values) || names[0] != values[0] {
			continue
		}
		prefix := strings.TrimSuffix(names[0], ":")
		for j := 1; j < len(names); j++ {
			if v, err := strconv.ParseInt(values[j], 10, 64); err == nil && v >= 0 {
				m[prefix+names[j]] = uint64(v)
			}
		}
	}
	return m
}

// linkStats returns the device's struct rtnl_link_stats64 (IFLA_STATS64 of an rtnetlink
// dump of the calling thread's namespace), as many fields as the kernel has.
func linkStats(index int) ([]uint64, error) {
	rib, err := syscall.NetlinkRIB(unix.RTM_GETLINK, unix.AF_UNSPEC)
	if err != nil {
		return nil, err
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		return nil, err
	}
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Type != unix.RTM_NEWLINK || len(m.Data) < unix.SizeofIfInfomsg {
			continue
		}
		if int(int32(binary.NativeEndian.Uint32(m.Data[4:]))) != index {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(m)
		if err != nil {
			return nil, err
		}
		for _, a := range attrs {
			if a.Attr.Type != unix.IFLA_STATS64 {
				continue
			}
			out := make([]uint64, len(a.Value)/8)
			for j := range out {
				out[j] = binary.NativeEndian.Uint64(a.Value[8*j:])
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("no statistics for interface %d", index)
}
