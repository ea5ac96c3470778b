package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	gstack "gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	gtcp "gvisor.dev/gvisor/pkg/tcpip/transport/tcp"

	"github.com/mtcp-go/mtcp/stack/link"
)

// gvisorQueue is how many outbound frames gVisor's channel endpoint holds before the pump
// goroutine moves them to the link; a full queue drops frames (gVisor counts them).
const gvisorQueue = 16384

const gvisorNIC = 1

// gvisorKind returns gVisor's netstack as a runsc-like stack builds it: IPv4, ARP, ICMP and
// TCP from tcp.NewProtocol, every option at its default.
func gvisorKind() kind {
	return kind{name: "gvisor", newStack: newGvisor}
}

// gvisorStack is a gVisor stack whose NIC is an Ethernet channel endpoint bridged to a
// link.Endpoint: a frame the link delivers is copied into a packet buffer and injected; a
// packet the stack sends is read from the channel by a pump goroutine, flattened into a byte
// slice and written to the link. So a gVisor stack sits on a pipe, or on a fault injector, as
// an mtcp stack does.
type gvisorStack struct {
	s    *gstack.Stack
	ch   *channel.Endpoint
	ep   link.Endpoint
	mac  net.HardwareAddr
	addr netip.Prefix

	stop      context.CancelFunc
	pumpDone  chan struct{}
	closeOnce sync.Once
}

var _ link.Receiver = (*gvisorStack)(nil)

func newGvisor(ep link.Endpoint, addr netip.Prefix) (netStack, error) {
	s := gstack.New(gstack.Options{
		NetworkProtocols:   []gstack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []gstack.TransportProtocolFactory{gtcp.NewProtocol, icmp.NewProtocol4},
	})
	a := addr.Addr().As4()
	mac := net.HardwareAddr{0x02, 0x00, a[0], a[1], a[2], a[3]}
	ch := channel.New(gvisorQueue, uint32(ep.MTU()+header.EthernetMinimumSize), tcpip.LinkAddress(mac))
	if err := s.CreateNIC(gvisorNIC, ethernet.New(ch)); err != nil {
		s.Close()
		return nil, fmt.Errorf("gvisor: creating the NIC: %v", err)
	}
	local := tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(a), PrefixLen: addr.Bits()}
	if err := s.AddProtocolAddress(gvisorNIC, tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: local}, gstack.AddressProperties{}); err != nil {
		s.Close()
		return nil, fmt.Errorf("gvisor: adding %v: %v", addr, err)
	}
	s.SetRouteTable([]tcpip.Route{{Destination: local.Subnet(), NIC: gvisorNIC}})
	ctx, stop := context.WithCancel(context.Background())
	g := &gvisorStack{s: s, ch: ch, ep: ep, mac: mac, addr: addr, stop: stop, pumpDone: make(chan struct{})}
	ep.Attach(g)
	go g.pump(ctx)
	return g, nil
}

// DeliverFrame copies a frame from the link into a packet buffer and hands it to the NIC.
func (g *gvisorStack) DeliverFrame(frame []byte) {
	pkt := gstack.NewPacketBuffer(gstack.PacketBufferOptions{Payload: buffer.MakeWithData(append([]byte(nil), frame...))})
	g.ch.InjectInbound(0, pkt) // link/ethernet reads the EtherType from the frame
	pkt.DecRef()
}

// ConcurrentDelivery marks the stack as a link.ConcurrentReceiver, as mtcp's stack is: the
// NIC takes frames from several goroutines at once (gVisor's own fdbased link has one per
// queue), so the pipe hands them over without serializing, as it does to mtcp.
func (g *gvisorStack) ConcurrentDelivery() {}

// pump moves the frames the stack sends from the channel to the link until Close.
func (g *gvisorStack) pump(ctx context.Context) {
	defer close(g.pumpDone)
	for {
		pkt := g.ch.ReadContext(ctx)
		if pkt == nil {
			return
		}
		v := pkt.ToView()
		_ = g.ep.WriteFrame(v.AsSlice())
		v.Release()
		pkt.DecRef()
	}
}

func (g *gvisorStack) full(port uint16) tcpip.FullAddress {
	return tcpip.FullAddress{NIC: gvisorNIC, Addr: tcpip.AddrFrom4(g.addr.Addr().As4()), Port: port}
}

func (g *gvisorStack) Listen(port uint16) (net.Listener, error) {
	return gonet.ListenTCP(g.s, g.full(port), ipv4.ProtocolNumber)
}

func (g *gvisorStack) Dial(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
	return gonet.DialContextTCP(ctx, g.s, tcpip.FullAddress{NIC: gvisorNIC, Addr: tcpip.AddrFrom4(addr.Addr().As4()), Port: addr.Port()}, ipv4.ProtocolNumber)
}

func (g *gvisorStack) MAC() net.HardwareAddr { return g.mac }

func (g *gvisorStack) Retransmits() uint64 { return g.s.Stats().TCP.Retransmits.Value() }

func (g *gvisorStack) RxDrops() uint64 { return 0 }

// Close aborts the stack's endpoints, waits for its goroutines and closes the link.
func (g *gvisorStack) Close() error {
	g.closeOnce.Do(func() {
		g.s.Close()
		g.s.Wait()
		g.stop()
		<-g.pumpDone
		g.ch.Close()
		_ = g.ep.Close()
	})
	return nil
}

// gvisorDefaults describes the TCP options of a fresh gVisor stack, read back from the stack,
// for the header of the report.
func gvisorDefaults() string {
	s := gstack.New(gstack.Options{
		NetworkProtocols:   []gstack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []gstack.TransportProtocolFactory{gtcp.NewProtocol},
	})
	defer func() { s.Close(); s.Wait() }()
	var (
		sack     tcpip.TCPSACKEnabled
		cc       tcpip.CongestionControlOption
		rec      tcpip.TCPRecovery
		snd      tcpip.TCPSendBufferSizeRangeOption
		rcv      tcpip.TCPReceiveBufferSizeRangeOption
		mod      tcpip.TCPModerateReceiveBufferOption
		delay    tcpip.TCPDelayEnabled
		minRTO   tcpip.TCPMinRTOOption
		maxRTO   tcpip.TCPMaxRTOOption
		timeWait tcpip.TCPTimeWaitTimeoutOption
		reuse    tcpip.TCPTimeWaitReuseOption
	)
	for _, o := range []tcpip.GettableTransportProtocolOption{&sack, &cc, &rec, &snd, &rcv, &mod, &delay, &minRTO, &maxRTO, &timeWait, &reuse} {
		_ = s.TransportProtocolOption(gtcp.ProtocolNumber, o)
	}
	return fmt.Sprintf("congestion %s, SACK %v, recovery %#x (RACK=%#x), send buffer %d/%d/%d B, receive buffer %d/%d/%d B, "+
		"moderate receive buffer %v, Nagle (TCPDelayEnabled) %v, min RTO %v, max RTO %v, TIME-WAIT %v, TIME-WAIT reuse %d, "+
		"TCP processors %d (GOMAXPROCS), channel queue %d frames",
		string(cc), bool(sack), int(rec), int(tcpip.TCPRACKLossDetection), snd.Min, snd.Default, snd.Max, rcv.Min, rcv.Default, rcv.Max,
		bool(mod), bool(delay), time.Duration(minRTO), time.Duration(maxRTO), time.Duration(timeWait), int(reuse), runtime.GOMAXPROCS(0), gvisorQueue)
}
