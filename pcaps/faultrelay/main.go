//go:build linux

package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/mtcp-go/mtcp/internal/netns"
	"github.com/mtcp-go/mtcp/stack/clock"
	"github.com/mtcp-go/mtcp/stack/link"
	"github.com/mtcp-go/mtcp/stack/link/fault"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("faultrelay", flag.ContinueOnError)
	a := fs.String("a", "", "one `interface`")
	b := fs.String("b", "", "the other `interface`")
	spec := fs.String("fault", "", "faults on frames both ways: `SPEC` is "+fault.SpecHelp)
	ns := fs.String("netns", "", "refuse to run unless inside this `namespace`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := fault.ParseSpec(*spec)
	if err != nil {
		fmt.Fprintf(os.Stderr, "faultrelay: --fault: %v\n", err)
		return 2
	}
	if *a == "" || *b == "" || *a == *b || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "faultrelay: want --a IF --b IF, two different interfaces, and --fault SPEC")
		return 2
	}
	if err := netns.Require(*ns); err != nil {
		fmt.Fprintf(os.Stderr, "faultrelay: %v\n", err)
		return 2
	}
	ea, err := openPacket(*a)
	if err != nil {
		fmt.Fprintf(os.Stderr, "faultrelay: %v\n", err)
		return 1
	}
	eb, err := openPacket(*b)
	if err != nil {
		ea.Close()
		fmt.Fprintf(os.Stderr, "faultrelay: %v\n", err)
		return 1
	}
	// One injector wrapped around b: what arrives on a goes out on b through its outbound
	// faults (dir=out), what arrives on b goes out on a through its inbound ones (dir=in).
	// Each direction has its own seeded stream.
	cfg.Scheduler = clock.System{}
	inj, err := fault.New(eb, cfg)
	if err != nil {
		ea.Close()
		eb.Close()
		fmt.Fprintf(os.Stderr, "faultrelay: %v\n", err)
		return 1
	}
	inj.Attach(link.ReceiverFunc(func(frame []byte) { _ = ea.WriteFrame(frame) }))
	var wg sync.WaitGroup
	wg.Go(func() { ea.pump(func(frame []byte) { _ = inj.WriteFrame(frame) }) })
	wg.Go(func() { eb.pump(eb.receiver.DeliverFrame) })
	fmt.Printf("faultrelay: %s <-> %s with %s: ready\n", *a, *b, *spec)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	inj.Close() // closes b, and drops the delayed frames that fall due from now on
	ea.Close()
	wg.Wait()
	st := inj.Stats()
	fmt.Printf("faultrelay: %s -> %s: %v; %s -> %s: %v\n", *a, *b, st.Outbound, *b, *a, st.Inbound)
	return 0
}

// packetEnd is an interface read and written whole frames at a time through an AF_PACKET
// socket: a link.Endpoint for the injector to wrap.
type packetEnd struct {
	name     string
	fd       int
	ifindex  int
	mtu      int
	receiver link.Receiver // set by Attach before pump starts
	closed   chan struct{}
	once     sync.Once
}

var _ link.Endpoint = (*packetEnd)(nil)

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func openPacket(name string) (*packetEnd, error) {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, fmt.Errorf("%s: AF_PACKET socket: %w", name, err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifc.Index}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: bind: %w", name, err)
	}
	// Every frame on the link, whoever it is for: the relay is the wire.
	mreq := unix.PacketMreq{Ifindex: int32(ifc.Index), Type: unix.PACKET_MR_PROMISC}
	if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: promiscuous mode: %w", name, err)
	}
	// Reads time out now and then, so that pump sees Close.
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 200000})
	return &packetEnd{name: name, fd: fd, ifindex: ifc.Index, mtu: ifc.MTU, closed: make(chan struct{})}, nil
}

func (p *packetEnd) MTU() int { return p.mtu }

// WriteFrame sends one frame out of the interface.
func (p *packetEnd) WriteFrame(frame []byte) error {
	if err := link.CheckFrameSize(len(frame), p.mtu); err != nil {
		return err
	}
	return unix.Sendto(p.fd, frame, 0, &unix.SockaddrLinklayer{Ifindex: p.ifindex, Halen: 6})
}

// Attach sets the receiver pump hands the interface's frames to; it is called before pump
// starts.
func (p *packetEnd) Attach(r link.Receiver) { p.receiver = r }

// Close stops pump, which then closes the socket.
func (p *packetEnd) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

// pump reads the frames that arrive on the interface (not those the relay sent on it) and
// hands them to out, until Close. out must not keep the frame.
func (p *packetEnd) pump(out func(frame []byte)) {
	defer unix.Close(p.fd)
	buf := make([]byte, p.mtu+link.EthernetHeaderLen+4)
	for {
		select {
		case <-p.closed:
			return
		default:
		}
		n, from, err := unix.Recvfrom(p.fd, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			fmt.Fprintf(os.Stderr, "faultrelay: %s: %v\n", p.name, err)
			return
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue // what the relay itself sent out of this interface
		}
		if n > p.mtu+link.EthernetHeaderLen {
			continue // larger than the link takes (offloads left on): not relayed
		}
		out(buf[:n])
	}
}
