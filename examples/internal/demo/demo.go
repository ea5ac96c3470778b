// Package demo brings a stack up on a TAP device for the examples, with the flags they share:
// --tap, --addr, --host-addr, --pcap, --fault (and --netns, --mac). It keeps every example's main short
// and their behaviour alike: one line on stdout when ready, a clean shutdown on SIGINT or
// SIGTERM that flushes the capture, exit status 2 for bad flags.
//
// It refuses to run outside a network namespace made with `ip netns add`, and to use addresses
// outside 198.18.0.0/15 (the benchmarking range): the examples must never configure the
// machine's own network.
package demo

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

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
	fs.StringVar(&f.TAP, "tap", "mtcp0", "TAP device `name` (created if absent)")
	fs.StringVar(&f.Addr, "addr", "198.18.0.2/24", "the stack's IPv4 `address/prefix`")
	fs.StringVar(&f.HostAddr, "host-addr", "198.18.0.1/24", "`address/prefix` assigned to the TAP device on the host side")
	fs.StringVar(&f.PCAP, "pcap", "", "record every frame to this pcapng `file`")
	fs.StringVar(&f.NetNS, "netns", "", "refuse to run unless inside this `namespace` (default: any made by ip netns add)")
	fs.StringVar(&f.MAC, "mac", "", "the stack's Ethernet `address` (default 02:00 followed by the IPv4 address)")
	fs.StringVar(&f.Fault, "fault", "", "inject faults on the link, seeded so a run can be replayed: `SPEC` is "+fault.SpecHelp)
}

// benchNet is the only range the examples use (RFC 2544 benchmarking addresses).
var benchNet = netip.MustParsePrefix("198.18.0.0/15")

// Validate checks the flags without touching anything.
func (f *Flags) Validate() (addr, host netip.Prefix, mac net.HardwareAddr, err error) {
	if _, err := fault.ParseSpec(f.Fault); err != nil {
		return addr, host, nil, fmt.Errorf("--fault: %w", err)
	}
	if addr, err = netip.ParsePrefix(f.Addr); err != nil {
		return addr, host, nil, fmt.Errorf("--addr %q: want an IPv4 address with prefix, such as 198.18.0.2/24", f.Addr)
	}
	if host, err = netip.ParsePrefix(f.HostAddr); err != nil {
		return addr, host, nil, fmt.Errorf("--host-addr %q: want an IPv4 address with prefix, such as 198.18.0.1/24", f.HostAddr)
	}
	for name, p := range map[string]netip.Prefix{"--addr": addr, "--host-addr": host} {
		if !p.Addr().Is4() || !benchNet.Contains(p.Addr()) || p.Bits() < benchNet.Bits() {
			return addr, host, nil, fmt.Errorf("%s %v: must lie in %v (the benchmarking range; mtcp's examples never use other addresses)", name, p, benchNet)
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
	}
	return addr, host, mac, nil
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
// recorder, and starts a stack on it.
func Start(f Flags) (*Up, error) {
	addr, host, mac, err := f.Validate()
	if err != nil {
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
			dev.Close()
			return nil, err
		}
		comment := fmt.Sprintf("mtcp %v on %s, host side %v", addr, f.TAP, host)
		if up.Faults != nil {
			comment += "; faults injected: " + f.Fault
		}
		up.recorder, err = pcapng.New(ep, up.pcapFile, pcapng.Options{Clock: clock.System{}, InterfaceName: f.TAP,
			SectionComment: comment})
		if err != nil {
			up.pcapFile.Close()
			ep.Close()
			return nil, err
		}
		ep = up.recorder
	}
	if up.Stack, err = stack.New(stack.Config{Link: ep, Addr: addr, MAC: mac}); err != nil {
		ep.Close()
		up.closeFile()
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

// Summary describes what the stack did, for the line printed at shutdown.
func (up *Up) Summary() string {
	s := up.Stack.Stats()
	sum := fmt.Sprintf("%d frames in, %d out; %d ARP replies, %d echo replies; %d TCP connections",
		s.Link.FramesIn, s.Link.FramesOut, s.ARP.RepliesOut, s.ICMP.EchoRepliesOut, s.TCP.PassiveOpens+s.TCP.ActiveOpens)
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
		{s.RxQueueDrops, "frames dropped (receive queue full)"},
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

// Main runs an example: parse flags, start, call serve (which starts its servers on the stack
// and returns at once, with a hint for the ready line and a function that stops them), print
// the ready line, wait for SIGINT/SIGTERM, stop the servers, shut down. It returns the exit
// status: 0, 1 on failure, 2 for bad flags.
func Main(name string, args []string, stdout, stderr io.Writer, extra func(*flag.FlagSet), serve func(*Up) (hint string, stop func(), err error)) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f Flags
	f.Register(fs)
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", name, fs.Arg(0))
		return 2
	}
	if _, _, _, err := f.Validate(); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	up, err := Start(f)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	hint, stop, err := serve(up)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		up.Close()
		return 1
	}
	fmt.Fprintf(stdout, "%s: mtcp %v (%v) on %s, host side %s: ready; %s\n",
		name, up.Stack.Addr(), up.Stack.MAC(), f.TAP, f.HostAddr, hint)
	s := <-sig
	if stop != nil {
		stop()
	}
	summary := up.Summary()
	if err := up.Close(); err != nil {
		fmt.Fprintf(stderr, "%s: %v: shutting down: %v\n", name, s, err)
		return 1
	}
	fmt.Fprintf(stderr, "%s: %v: stopped: %s\n", name, s, summary)
	return 0
}
