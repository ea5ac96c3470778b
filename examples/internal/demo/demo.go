// Package demo brings a stack up on a TAP device for the examples, with the flags they share:
// --tap, --addr, --host-addr, --pcap, --fault (and --netns, --mac). It keeps every example's main short
// and their behaviour alike: --help that says what the program does, every flag checked before
// anything is created (a refused run leaves no device and no file behind), one line on stderr
// and exit status 2 for a bad flag, one line on stdout when ready, a clean shutdown on SIGINT or
// SIGTERM that flushes the capture and prints a summary of the stack's counters.
//
// It refuses to run outside a network namespace made with `ip netns add`, and to use addresses
// outside 198.18.0.0/15 (the benchmarking range): the examples must never configure the
// machine's own network. TAP devices exist only on Linux: elsewhere the examples build, answer
// --help and check their flags, then say that they cannot run there.
package demo

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/mtcp-go/mtcp/stack"
	"github.com/mtcp-go/mtcp/stack/clock"
	"github.com/mtcp-go/mtcp/stack/link"
	"github.com/mtcp-go/mtcp/stack/link/fault"
	"github.com/mtcp-go/mtcp/stack/link/pcapng"
	"github.com/mtcp-go/mtcp/stack/link/tap"
)

// Flags are the options every TAP example takes.
type Flags struct {
	TAP      string // --tap: device name, created if absent
	Addr     string // --addr: the stack's address and prefix
	HostAddr string // --host-addr: the address given to the TAP device on the host side
	PCAP     string // --pcap: record every frame to this pcapng file
	NetNS    string // --netns: the namespace the process must be in (default: any named one)
	MAC      string // --mac: the stack's MAC (default 02:00 + its address)
	Fault    string // --fault: faults to inject on the link, both ways (fault.ParseSpec)
}

// Register adds the flags to fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.TAP, "tap", "mtcp0", "TAP device `name`, created if absent")
	fs.StringVar(&f.Addr, "addr", "198.18.0.2/24", "the stack's IPv4 `address/prefix`")
	fs.StringVar(&f.HostAddr, "host-addr", "198.18.0.1/24", "`address/prefix` assigned to the TAP device on the host side")
	fs.StringVar(&f.PCAP, "pcap", "", "record every frame to this pcapng `file`")
	fs.StringVar(&f.NetNS, "netns", "", "refuse to run unless inside this `namespace` (default: any made by ip netns add)")
	fs.StringVar(&f.MAC, "mac", "", "the stack's Ethernet `address` (default 02:00 followed by the IPv4 address)")
	fs.StringVar(&f.Fault, "fault", "", "inject faults on the link, seeded so a run can be replayed: `SPEC` is "+fault.SpecHelp)
}

// benchNet is the only range the examples use (RFC 2544 benchmarking addresses).
var benchNet = netip.MustParsePrefix("198.18.0.0/15")

// maxDeviceName is the longest name Linux gives a network device (IFNAMSIZ minus the NUL).
const maxDeviceName = 15

// Validate checks the flags without touching anything: no device, no file, no namespace.
func (f *Flags) Validate() (addr, host netip.Prefix, mac net.HardwareAddr, err error) {
	if err := checkDeviceName(f.TAP); err != nil {
		return addr, host, nil, err
	}
	if _, err := fault.ParseSpec(f.Fault); err != nil {
		return addr, host, nil, fmt.Errorf("--fault: %w", err)
	}
	if addr, err = netip.ParsePrefix(f.Addr); err != nil {
		return addr, host, nil, fmt.Errorf("--addr %q: want an IPv4 address with prefix, such as 198.18.0.2/24", f.Addr)
	}
	if host, err = netip.ParsePrefix(f.HostAddr); err != nil {
		return addr, host, nil, fmt.Errorf("--host-addr %q: want an IPv4 address with prefix, such as 198.18.0.1/24", f.HostAddr)
	}
	for _, c := range []struct {
		name string
		p    netip.Prefix
	}{{"--addr", addr}, {"--host-addr", host}} {
		if !c.p.Addr().Is4() || !benchNet.Contains(c.p.Addr()) || c.p.Bits() < benchNet.Bits() {
			return addr, host, nil, fmt.Errorf("%s %v: must lie in %v (the benchmarking range; mtcp's examples never use other addresses)", c.name, c.p, benchNet)
		}
		if c.p.Bits() <= 30 && (c.p.Addr() == c.p.Masked().Addr() || c.p.Addr() == lastAddr(c.p)) {
			return addr, host, nil, fmt.Errorf("%s %v: the subnet's own address or its broadcast address; pick a host address", c.name, c.p)
		}
	}
	if addr.Masked() != host.Masked() {
		return addr, host, nil, fmt.Errorf("--addr %v and --host-addr %v are not on the same subnet", addr, host)
	}
	if addr.Addr() == host.Addr() {
		return addr, host, nil, fmt.Errorf("--addr and --host-addr are both %v", addr.Addr())
	}
	if f.MAC != "" {
		if mac, err = net.ParseMAC(f.MAC); err != nil || len(mac) != 6 {
			return addr, host, nil, fmt.Errorf("--mac %q: want an Ethernet address such as 02:00:00:00:00:02", f.MAC)
		}
		if mac[0]&1 != 0 {
			return addr, host, nil, fmt.Errorf("--mac %v: a group (multicast) address; want a unicast one such as 02:00:00:00:00:02", mac)
		}
	}
	if f.NetNS != "" && (f.NetNS == "." || f.NetNS == ".." || strings.ContainsAny(f.NetNS, "/\x00")) {
		return addr, host, nil, fmt.Errorf("--netns %q: want the name of an entry in /run/netns, as made by ip netns add NAME", f.NetNS)
	}
	if err := checkOutputFile("--pcap", f.PCAP); err != nil {
		return addr, host, nil, err
	}
	return addr, host, mac, nil
}

// checkDeviceName applies Linux's rules for a network device's name (dev_valid_name).
func checkDeviceName(name string) error {
	switch {
	case name == "":
		return errors.New("--tap: a device name is required, such as mtcp0")
	case len(name) > maxDeviceName:
		return fmt.Errorf("--tap %q: longer than %d bytes", name, maxDeviceName)
	case name == "." || name == ".." || strings.ContainsAny(name, "/: \t\n\r\v\f\x00"):
		return fmt.Errorf("--tap %q: a device name cannot be . or .., nor contain /, : or spaces", name)
	}
	return nil
}

// checkOutputFile checks, without creating anything, that path ("" for none) can be created:
// its folder exists, and it is not itself a folder.
func checkOutputFile(flagName, path string) error {
	if path == "" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s %q is a folder; want a file name", flagName, path)
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s %q: folder %q does not exist", flagName, path, dir)
	}
	return nil
}

// lastAddr returns the last address of p, its broadcast address.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := ^uint32(0) >> p.Bits()
	for i := range 4 {
		a[i] |= byte(host >> (24 - 8*i))
	}
	return netip.AddrFrom4(a)
}

// Up is a stack running on a TAP device.
type Up struct {
	Stack    *stack.Stack
	TAP      *tap.Endpoint
	Faults   *fault.Injector // nil without --fault
	recorder *pcapng.Recorder
	pcapFile *os.File
}

// Start opens the TAP device (inside the namespace only), optionally wraps it in a pcapng
// recorder, and starts a stack on it. The capture file is created only once the device is
// open, and removed again if the stack then fails to start: a refused run leaves nothing.
func Start(f Flags) (*Up, error) {
	addr, host, mac, err := f.Validate()
	if err != nil {
		return nil, err
	}
	if err := tapAvailable(); err != nil {
		return nil, err
	}
	dev, err := tap.Open(tap.Config{Name: f.TAP, NetNS: f.NetNS, HostAddr: host})
	if err != nil {
		return nil, err
	}
	up := &Up{TAP: dev}
	var ep link.Endpoint = dev
	if f.Fault != "" {
		// The faults sit between the device and the recorder: the capture shows what the
		// stack sent, and what reached it.
		cfg, err := fault.ParseSpec(f.Fault)
		if err != nil {
			dev.Close()
			return nil, fmt.Errorf("--fault: %w", err)
		}
		cfg.Scheduler = clock.System{}
		if up.Faults, err = fault.New(dev, cfg); err != nil {
			dev.Close()
			return nil, err
		}
		ep = up.Faults
	}
	if f.PCAP != "" {
		if up.pcapFile, err = os.Create(f.PCAP); err != nil {
			ep.Close()
			return nil, err
		}
		comment := fmt.Sprintf("mtcp %v on %s, host side %v", addr, f.TAP, host)
		if up.Faults != nil {
			comment += "; faults injected: " + f.Fault
		}
		up.recorder, err = pcapng.New(ep, up.pcapFile, pcapng.Options{Clock: clock.System{}, InterfaceName: f.TAP,
			SectionComment: comment})
		if err != nil {
			ep.Close()
			up.removeFile()
			return nil, err
		}
		ep = up.recorder
	}
	if up.Stack, err = stack.New(stack.Config{Link: ep, Addr: addr, MAC: mac}); err != nil {
		ep.Close()
		up.removeFile()
		return nil, err
	}
	return up, nil
}

func (up *Up) closeFile() error {
	if up.pcapFile == nil {
		return nil
	}
	return up.pcapFile.Close()
}

// removeFile closes and deletes the capture file, for a run that did not start.
func (up *Up) removeFile() {
	if up.pcapFile == nil {
		return
	}
	up.pcapFile.Close()
	os.Remove(up.pcapFile.Name())
	up.pcapFile = nil
}

// Close stops the stack, flushes the capture and removes the TAP device.
func (up *Up) Close() error {
	err := up.Stack.Close() // closes the recorder (flushing it) and the device
	if up.recorder != nil {
		if rerr := up.recorder.Err(); rerr != nil && err == nil {
			err = fmt.Errorf("pcapng: %w", rerr)
		}
	}
	return errors.Join(err, up.closeFile())
}

// abort stops a stack whose servers failed to start, and deletes its capture: the run was
// refused, so it leaves nothing behind.
func (up *Up) abort() {
	_ = up.Stack.Close()
	up.removeFile()
}

// Summary describes what the stack did, for the line printed at shutdown: sections separated
// by "; ", the defences' counts at the end of the TCP section as ", N what" (live tests read
// them back).
func (up *Up) Summary() string {
	s := up.Stack.Stats()
	sum := fmt.Sprintf("%d frames in, %d out", s.Link.FramesIn, s.Link.FramesOut)
	// Frames lost before the core saw them, always shown: a zero is worth knowing too.
	sum += fmt.Sprintf("; receive queue: %d dropped (full), %d oversize", s.RxQueueDrops, s.RxOversize)
	if up.TAP != nil {
		if d := up.TAP.Stats().Dropped; d > 0 {
			sum += fmt.Sprintf(", %d dropped by the TAP reader", d)
		}
	}
	sum += fmt.Sprintf("; %d ARP replies, %d echo replies; %d TCP connections",
		s.ARP.RepliesOut, s.ICMP.EchoRepliesOut, s.TCP.PassiveOpens+s.TCP.ActiveOpens)
	sum += fmt.Sprintf("; TCP: %d retransmissions, %d timeouts", s.TCP.Retransmits, s.TCP.Timeouts)
	// What the defences did, when they did anything.
	t := s.TCP
	for _, c := range []struct {
		n    uint64
		what string
	}{
		{t.SynCookiesSent, "SYN cookies sent"}, {t.SynCookiesValid, "valid cookie ACKs"}, {t.SynCookiesFailed, "bad cookie ACKs"},
		{t.HalfOpenUnsendable, "unsendable half-open freed"}, {t.ListenOverflow, "SYNs dropped (accept queue full)"},
		{t.TableFull, "SYNs dropped (table full)"}, {t.TimeWaitEvicted, "TIME-WAIT evicted"},
		{t.PersistTimeouts, "zero-window peers given up"}, {t.UserTimeouts, "user timeouts"},
		{t.FinWait2Timeouts, "FIN-WAIT-2 timeouts"}, {t.ChallengeLimited, "challenge ACKs withheld"},
		{t.OutOfOrderPruned, "out-of-order stretches pruned"},
	} {
		if c.n > 0 {
			sum += fmt.Sprintf(", %d %s", c.n, c.what)
		}
	}
	if up.Faults != nil {
		fs := up.Faults.Stats()
		sum += fmt.Sprintf("; faults: in %v, out %v", fs.Inbound, fs.Outbound)
	}
	if up.recorder != nil {
		r := up.recorder.Stats()
		sum += fmt.Sprintf("; %d frames recorded", r.Recorded)
		if r.WriteErrors > 0 {
			sum += fmt.Sprintf(" (%d write errors)", r.WriteErrors)
		}
	}
	return sum
}
