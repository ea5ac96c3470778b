package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/mtcp-go/mtcp/stack"
	"github.com/mtcp-go/mtcp/stack/link"
	"github.com/mtcp-go/mtcp/stack/link/pipe"
	"github.com/mtcp-go/mtcp/stack/tcp"
)

// netStack is what the workloads need from a stack: the same application code runs on both
// kinds through it, and sees only net.Conn and net.Listener.
type netStack interface {
	// Listen opens a listener on the stack's address and port.
	Listen(port uint16) (net.Listener, error)
	// Dial opens a connection to addr.
	Dial(ctx context.Context, addr netip.AddrPort) (net.Conn, error)
	// MAC is the stack's Ethernet address.
	MAC() net.HardwareAddr
	// Retransmits counts the TCP segments the stack sent again.
	Retransmits() uint64
	// RxDrops counts received frames the stack dropped before processing them: mtcp's receive
	// queue full (Stats.RxQueueDrops); gVisor takes each frame inline (channel.InjectInbound),
	// so it has none.
	RxDrops() uint64
	// Close stops the stack and releases its link.
	Close() error
}

// kind makes stacks of one implementation.
type kind struct {
	// name is "mtcp" or "gvisor", with a "*" when the stack runs off its defaults.
	name string
	// nonDefault says how the stack differs from its defaults; empty when it does not.
	nonDefault string
	// newStack makes a stack with address addr on ep.
	newStack func(ep link.Endpoint, addr netip.Prefix) (netStack, error)
}

// The bench's addresses: the client stack dials the server stack (or, in W3, the injector
// pings the one stack at serverAddr).
var (
	clientAddr   = netip.MustParsePrefix("198.18.0.1/24")
	serverAddr   = netip.MustParsePrefix("198.18.0.2/24")
	injectorAddr = netip.MustParsePrefix("198.18.0.3/24")
)

// mtu is the IP MTU of every link in the bench: Ethernet's.
const mtu = link.DefaultMTU

// mtcpKind returns mtcp at its defaults, or with a connection table of maxConns entries when
// maxConns > 0 (a non-default setting, labelled as such).
func mtcpKind(maxConns int) kind {
	k := kind{name: "mtcp"}
	cfg := tcp.Config{}
	if maxConns > 0 {
		cfg.MaxConnections = maxConns
		k.name = "mtcp*"
		k.nonDefault = fmt.Sprintf("tcp.Config.MaxConnections = %d (default %d)", maxConns, tcp.DefaultMaxConnections)
	}
	k.newStack = func(ep link.Endpoint, addr netip.Prefix) (netStack, error) {
		s, err := stack.New(stack.Config{Link: ep, Addr: addr, TCP: cfg})
		if err != nil {
			return nil, err
		}
		return mtcpStack{s}, nil
	}
	return k
}

// mtcpStack adapts a *stack.Stack to netStack.
type mtcpStack struct{ *stack.Stack }

func (s mtcpStack) Listen(port uint16) (net.Listener, error) { return s.Stack.Listen(port) }

func (s mtcpStack) Dial(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
	return s.DialContext(ctx, addr)
}

func (s mtcpStack) Retransmits() uint64 { return s.Stats().TCP.Retransmits }

func (s mtcpStack) RxDrops() uint64 { return s.Stats().RxQueueDrops }

// mtcpDefaults describes mtcp's TCP defaults for the header of the report.
func mtcpDefaults() string {
	c := tcp.Config{}.WithDefaults()
	return fmt.Sprintf("MaxConnections %d, MaxTimeWait %d, buffers %d/%d B, MSL %v (TIME-WAIT %v), RTOMin %v, "+
		"DelayedACK %v, congestion %v, SACK %v, RACK %v, timestamps %v, window scale %v, initial window %d, rx queue %d frames growing to %d",
		c.MaxConnections, c.MaxTimeWait, c.SendBuffer, c.ReceiveBuffer, c.MSL, 2*c.MSL, c.RTOMin,
		c.DelayedACK, c.Congestion, c.SACK, c.RACK, c.Timestamps, c.WindowScale, c.InitialWindow, stack.DefaultRxQueue, stack.DefaultRxQueueMax)
}

// pair is two stacks of one kind joined by a pipe: the client on end a, the server on end b.
type pair struct {
	client, server netStack
}

// newPair makes a client and a server stack of kind k on a pipe. wrap, if not nil, wraps the
// client's end of the pipe (the fault injector of W5), so both directions cross it.
func newPair(k kind, wrap func(link.Endpoint) (link.Endpoint, error)) (*pair, error) {
	a, b := pipe.New(mtu)
	var clientLink link.Endpoint = a
	if wrap != nil {
		var err error
		if clientLink, err = wrap(a); err != nil {
			return nil, err
		}
	}
	server, err := k.newStack(b, serverAddr)
	if err != nil {
		return nil, err
	}
	client, err := k.newStack(clientLink, clientAddr)
	if err != nil {
		_ = server.Close()
		return nil, err
	}
	return &pair{client: client, server: server}, nil
}

// Close stops both stacks.
func (p *pair) Close() {
	_ = p.client.Close()
	_ = p.server.Close()
}
