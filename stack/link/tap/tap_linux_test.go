//go:build linux

package tap

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/internal/netns"
	"github.com/mtcp-go/mtcp/internal/netns/netnstest"
	"github.com/mtcp-go/mtcp/stack/link"
)

// childEnv, in the child process that TestLiveTAPAnswersARP runs under ip netns exec, names
// the namespace it runs in.
const childEnv = "MTCP_TAP_TEST_CHILD"

func TestOpenRefusesTheRootNamespace(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("parent-only test")
	}
	if name, err := netns.Current(); err == nil {
		t.Skipf("the test process runs inside namespace %q; this test needs the root namespace", name)
	}
	const name = "mtcprefuse0"
	for _, ns := range []string{"", "mtcp-no-such-namespace"} {
		ep, err := Open(Config{Name: name, NetNS: ns, HostAddr: netip.MustParsePrefix("198.18.0.1/24")})
		if err == nil {
			ep.Close()
			t.Fatalf("Open with NetNS %q succeeded in the root namespace", ns)
		}
		if !errors.Is(err, netns.ErrNotInNamespace) {
			t.Fatalf("Open with NetNS %q = %v, want ErrNotInNamespace", ns, err)
		}
	}
	if _, err := net.InterfaceByName(name); err == nil {
		t.Fatalf("device %s exists after a refused Open", name)
	}
}

func TestOpenRejectsBadConfigs(t *testing.T) {
	bad := map[string]Config{
		"no name":                     {},
		"name too long":               {Name: "a-name-far-too-long"},
		"MTU too small":               {Name: "t0", MTU: 67},
		"MTU too large":               {Name: "t0", MTU: 65536},
		"private address":             {Name: "t0", HostAddr: netip.MustParsePrefix("10.0.0.1/24")},
		"just above the test range":   {Name: "t0", HostAddr: netip.MustParsePrefix("198.20.0.1/24")},
		"prefix wider than the range": {Name: "t0", HostAddr: netip.MustParsePrefix("198.18.0.1/8")},
		"IPv6":                        {Name: "t0", HostAddr: netip.MustParsePrefix("2001:db8::1/64")},
		"IPv4-mapped IPv6":            {Name: "t0", HostAddr: netip.MustParsePrefix("::ffff:198.18.0.1/120")},
	}
	for what, cfg := range bad {
		ep, err := Open(cfg)
		if err == nil {
			ep.Close()
			t.Errorf("%s: Open succeeded", what)
			continue
		}
		if errors.Is(err, netns.ErrNotInNamespace) {
			t.Errorf("%s: Open = %v; the config should be refused before the namespace check", what, err)
		}
	}
	for _, ok := range []string{"198.18.0.1/24", "198.19.255.254/15", "198.18.7.1/32"} {
		cfg := Config{Name: "t0", HostAddr: netip.MustParsePrefix(ok)}
		if err := cfg.validate(); err != nil {
			t.Errorf("HostAddr %s refused: %v", ok, err)
		}
	}
}

// The test binary runs itself inside a fresh namespace, opens a TAP device there and asks the
// kernel, over ARP, for the device's address.
func TestLiveTAPAnswersARP(t *testing.T) {
	if ns := os.Getenv(childEnv); ns != "" {
		childARP(t, ns)
		return
	}
	ns := netnstest.New(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := ns.Exec(ctx, exe, "-test.run=^TestLiveTAPAnswersARP$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+ns.Name())
	out, err := cmd.CombinedOutput()
	t.Logf("child output:\n%s", out)
	if err != nil {
		t.Fatalf("child failed: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: TestLiveTAPAnswersARP") {
		t.Fatal("child did not run the test")
	}
}

func childARP(t *testing.T, ns string) {
	const name = "mtcptap0"
	hostAddr := netip.MustParsePrefix("198.18.0.1/24")
	ourMAC := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}
	ourIP := netip.MustParseAddr("198.18.0.2")

	ep, err := Open(Config{Name: name, NetNS: ns, HostAddr: hostAddr})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer ep.Close()

	ifc, err := net.InterfaceByName(name)
	if err != nil {
		t.Fatalf("device %s not found: %v", name, err)
	}
	if ifc.Flags&net.FlagUp == 0 || ifc.MTU != link.DefaultMTU {
		t.Errorf("device flags %v, MTU %d; want up and %d", ifc.Flags, ifc.MTU, link.DefaultMTU)
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range addrs {
		got = append(got, a.String())
	}
	if !slices.Equal(got, []string{hostAddr.String()}) {
		t.Errorf("device addresses %v, want only %v (no IPv6)", got, hostAddr)
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv6/conf/" + name + "/disable_ipv6"); err == nil && strings.TrimSpace(string(b)) != "1" {
		t.Errorf("disable_ipv6 = %q, want 1", b)
	}

	replies := make(chan *layers.ARP, 1)
	ep.Attach(link.ReceiverFunc(func(frame []byte) {
		p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
		arp, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP)
		if !ok || arp.Operation != layers.ARPReply || !bytes.Equal(arp.SourceProtAddress, hostAddr.Addr().AsSlice()) {
			return
		}
		select {
		case replies <- arp:
		default:
		}
	}))

	if err := ep.WriteFrame(arpRequest(t, ourMAC, ourIP, hostAddr.Addr())); err != nil {
		t.Fatalf("WriteFrame: %v", err)
	}
	select {
	case arp := <-replies:
		if !bytes.Equal(arp.SourceHwAddress, ifc.HardwareAddr) {
			t.Errorf("reply from MAC %v, want the device's %v", net.HardwareAddr(arp.SourceHwAddress), ifc.HardwareAddr)
		}
		if !bytes.Equal(arp.DstHwAddress, ourMAC) || !bytes.Equal(arp.DstProtAddress, ourIP.AsSlice()) {
			t.Errorf("reply addressed to %v/%v, want %v/%v",
				net.HardwareAddr(arp.DstHwAddress), net.IP(arp.DstProtAddress), ourMAC, ourIP)
		}
	case <-time.After(5 * time.Second): // live I/O with the kernel, not protocol timing
		t.Fatalf("no ARP reply within 5s; stats %+v, reader error %v", ep.Stats(), ep.Err())
	}

	if err := ep.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-ep.readerDone:
	default:
		t.Fatal("Close returned while the reader goroutine was still running")
	}
	if s := ep.Stats(); s.FramesOut != 1 || s.FramesIn == 0 || s.ReadErrors != 0 {
		t.Errorf("Stats() = %+v, want 1 frame out, some in, no read errors", s)
	}
	if err := ep.Err(); err != nil {
		t.Errorf("Err() = %v after a clean Close", err)
	}
	if err := ep.WriteFrame(make([]byte, 60)); !errors.Is(err, link.ErrClosed) {
		t.Errorf("WriteFrame after Close = %v, want ErrClosed", err)
	}
	if err := ep.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := net.InterfaceByName(name); err == nil {
		t.Errorf("device %s still exists after Close", name)
	}
}

// arpRequest builds, with gopacket, a broadcast who-has for target from mac/ip.
func arpRequest(t *testing.T, mac net.HardwareAddr, ip, target netip.Addr) []byte {
	t.Helper()
	eth := &layers.Ethernet{
		SrcMAC:       mac,
		DstMAC:       net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		EthernetType: layers.EthernetTypeARP,
	}
	arp := &layers.ARP{
		AddrType:          layers.LinkTypeEthernet,
		Protocol:          layers.EthernetTypeIPv4,
		HwAddressSize:     6,
		ProtAddressSize:   4,
		Operation:         layers.ARPRequest,
		SourceHwAddress:   mac,
		SourceProtAddress: ip.AsSlice(),
		DstHwAddress:      make([]byte, 6),
		DstProtAddress:    target.AsSlice(),
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, eth, arp); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
