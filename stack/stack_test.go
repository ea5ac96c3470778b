package stack_test

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"go.uber.org/goleak"

	"github.com/mtcp-go/mtcp/stack"
	"github.com/mtcp-go/mtcp/stack/link"
	"github.com/mtcp-go/mtcp/stack/link/pipe"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var peerMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}

// host is the test's side of a pipe to a running stack; frames the stack sends arrive on out.
type host struct {
	end *pipe.End
	ip  netip.Addr
	out chan []byte
}

func newHost(t *testing.T, stackAddr string) (*stack.Stack, *host) {
	t.Helper()
	a, b := pipe.New(1500)
	h := &host{end: b, ip: netip.MustParsePrefix(stackAddr).Masked().Addr().Next(), out: make(chan []byte, 1024)}
	b.Attach(link.ReceiverFunc(func(f []byte) { h.out <- append([]byte(nil), f...) }))
	s, err := stack.New(stack.Config{Link: a, Addr: netip.MustParsePrefix(stackAddr)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, h
}

func serialize(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func (h *host) arpRequest(s *stack.Stack) []byte {
	return serialize(
		&layers.Ethernet{SrcMAC: peerMAC, DstMAC: net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPRequest, SourceHwAddress: peerMAC, SourceProtAddress: h.ip.AsSlice(),
			DstHwAddress: make([]byte, 6), DstProtAddress: s.Addr().Addr().AsSlice()})
}

func (h *host) echo(s *stack.Stack, seq uint16) []byte {
	return serialize(
		&layers.Ethernet{SrcMAC: peerMAC, DstMAC: s.MAC(), EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: h.ip.AsSlice(), DstIP: s.Addr().Addr().AsSlice()},
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 1, Seq: seq},
		gopacket.Payload("mtcp"))
}

// await returns the next frame the stack sent. The wait is for the driver goroutine to run,
// not protocol timing: the generous bound only turns a hang into a failure.
func (h *host) await(t *testing.T) gopacket.Packet {
	t.Helper()
	select {
	case f := <-h.out:
		return gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
	case <-time.After(10 * time.Second):
		t.Fatal("the stack sent nothing")
		return nil
	}
}

func TestStackAnswersARPAndEchoOnItsDriver(t *testing.T) {
	s, h := newHost(t, "198.18.0.2/24")
	if !bytes.Equal(s.MAC(), net.HardwareAddr{2, 0, 198, 18, 0, 2}) {
		t.Fatalf("default MAC %v, want 02:00 + the address", s.MAC())
	}
	if err := h.end.WriteFrame(h.arpRequest(s)); err != nil {
		t.Fatal(err)
	}
	if a, ok := h.await(t).Layer(layers.LayerTypeARP).(*layers.ARP); !ok || a.Operation != layers.ARPReply {
		t.Fatal("want an ARP reply")
	}
	if err := h.end.WriteFrame(h.echo(s, 9)); err != nil {
		t.Fatal(err)
	}
	ic, ok := h.await(t).Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if !ok || ic.TypeCode.Type() != layers.ICMPv4TypeEchoReply || ic.Seq != 9 || string(ic.Payload) != "mtcp" {
		t.Fatal("want the echo reply")
	}
	st := s.Stats()
	if st.Link.FramesIn != 2 || st.Link.FramesOut != 2 || st.ICMP.EchoRepliesOut != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestStacksInOneProcessShareNothing(t *testing.T) {
	const n = 200
	addrs := []string{"198.18.0.2/24", "198.18.1.2/24", "198.19.0.2/16"}
	var wg sync.WaitGroup
	stacks := make([]*stack.Stack, len(addrs))
	for i, addr := range addrs {
		s, h := newHost(t, addr)
		stacks[i] = s
		wg.Go(func() {
			_ = h.end.WriteFrame(h.arpRequest(s))
			for seq := range uint16(n) {
				_ = h.end.WriteFrame(h.echo(s, seq))
			}
			for range n + 1 {
				select {
				case f := <-h.out:
					p := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
					if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok && !ip.SrcIP.Equal(s.Addr().Addr().AsSlice()) {
						t.Errorf("stack %v answered from %v", s.Addr(), ip.SrcIP)
					}
				case <-time.After(10 * time.Second): // a hang, not protocol timing
					t.Errorf("stack %v: replies missing", s.Addr())
					return
				}
			}
		})
	}
	wg.Wait()
	// Each stack's counters hold its own traffic only. Closing first makes them final.
	for _, s := range stacks {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		st := s.Stats()
		if st.ICMP.EchoRepliesOut != n || st.ARP.RepliesOut != 1 || st.Link.FramesIn != n+1 {
			t.Errorf("stack %v: %d replies, %d ARP replies, %d frames in; want %d, 1, %d",
				s.Addr(), st.ICMP.EchoRepliesOut, st.ARP.RepliesOut, st.Link.FramesIn, n, n+1)
		}
	}
}

func TestFullReceiveQueueDropsAndCounts(t *testing.T) {
	a, b := pipe.New(1500)
	b.Attach(link.ReceiverFunc(func([]byte) {}))
	s, err := stack.New(stack.Config{Link: a, Addr: netip.MustParsePrefix("198.18.0.2/24"), RxQueue: 1, RxQueueMax: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := &host{ip: netip.MustParseAddr("198.18.0.1")}
	for range 1000 {
		s.DeliverFrame(h.echo(s, 1))
	}
	s.DeliverFrame(make([]byte, 2000))
	st := s.Stats()
	if st.RxQueueDrops == 0 || st.RxOversize != 1 {
		t.Fatalf("queue drops %d, oversize %d; want some, 1", st.RxQueueDrops, st.RxOversize)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	a, _ := pipe.New(1500)
	cases := map[string]stack.Config{
		"Link":    {Addr: netip.MustParsePrefix("198.18.0.2/24")},
		"Addr":    {Link: a},
		"IPv4":    {Link: a, Addr: netip.MustParsePrefix("2001:db8::1/64")},
		"MAC":     {Link: a, Addr: netip.MustParsePrefix("198.18.0.2/24"), MAC: net.HardwareAddr{1, 2, 3}},
		"unicast": {Link: a, Addr: netip.MustParsePrefix("198.18.0.2/24"), MAC: net.HardwareAddr{1, 0, 0, 0, 0, 1}},
		"RxQueue": {Link: a, Addr: netip.MustParsePrefix("198.18.0.2/24"), RxQueue: -1},
		"MTU":     {Link: a, Addr: netip.MustParsePrefix("198.18.0.2/24"), MTU: 20000},
		"gateway": {Link: a, Addr: netip.MustParsePrefix("198.18.0.2/24"), Gateway: netip.MustParseAddr("198.19.0.1")},
	}
	for want, cfg := range cases {
		_, err := stack.New(cfg)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config missing/bad %s: error %v", want, err)
		}
	}
}

func TestCloseIsIdempotentAndClosesTheLink(t *testing.T) {
	a, _ := pipe.New(1500)
	s, err := stack.New(stack.Config{Link: a, Addr: netip.MustParsePrefix("198.18.0.2/24")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.WriteFrame(make([]byte, 60)); err == nil {
		t.Fatal("link still open after Close")
	}
}
