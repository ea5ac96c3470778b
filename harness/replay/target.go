package replay

import (
	"fmt"
	"net/netip"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/mtcpdut"
	"github.com/mtcp-go/mtcp/stack/core"
	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/tcp"
)

// The engine drives the stack through harness.DUT, harness.Sockets and Joiner (see the
// package documentation, "The stack"); mtcpTarget is mtcp behind them, and newStack the one
// place that configures it.

// Joiner is a target that takes over a TCP connection established before it heard of it: a
// conversation the capture shows without its handshake. Join makes the connection ESTABLISHED
// in the state j gives, sending nothing, and returns a descriptor of the target's Sockets for
// it, connected, as Accept's are.
type Joiner interface {
	Join(j JoinState) (fd int, err error)
}

// JoinState is what a capture shows of a connection established before it began, and what the
// replay assumes for what it cannot show (see join.go).
type JoinState struct {
	Local  uint16         // the local port, of the target's address
	Remote netip.AddrPort // the peer
	SndNxt uint32         // the next sequence number the target sends (nothing of its own in flight)
	RcvNxt uint32         // the next sequence number expected from the peer
	SndWnd uint32         // the peer's window in bytes, scaled
	MSS    int            // the MSS the peer announced
	// SndShift and RcvShift are the window scale shifts (RFC 7323 2): the peer's window field
	// is shifted left by SndShift, the target's right by RcvShift; -1 both: no window scaling.
	SndShift, RcvShift int
	Timestamps         bool   // RFC 7323 timestamps in use
	TSRecent           uint32 // the peer's last TSval
	SACK               bool   // SACK permitted both ways (RFC 2018)
	ReceiveBuffer      int    // bytes; 0 keeps the target's default
}

// newStack starts mtcp in the recorded host's place: its address and MAC, and its TCP
// extensions as the host's SYNs show them (or Options.TCP); like says so, for the report.
func newStack(sc *scan, opts Options) (mtcpTarget, string, error) {
	cfg := core.Config{
		MAC: sc.stackMAC,
		// Every address is on the link: the stack asks for each peer by ARP, and the replay
		// answers with the MAC the capture shows for it (a router's, for a distant host).
		Interface: ipv4.Interface{Addr: netip.PrefixFrom(sc.stackAddr, 0)},
		Secret:    [16]byte{'m', 't', 'c', 'p', '-', 'r', 'e', 'p', 'l', 'a', 'y'},
	}
	var like string
	cfg.TCP, like = tcpConfigLike(sc.syns[sc.host])
	if opts.TCP != nil {
		cfg.TCP, like = *opts.TCP, "; the stack's TCP as configured"
	}
	stack, err := newMTCP(cfg)
	if err != nil {
		return mtcpTarget{}, "", fmt.Errorf("the stack cannot take %v's place: %w", sc.host, err)
	}
	return stack, like, nil
}

// tcpConfigLike configures the stack's TCP extensions as the recorded host's SYNs and SYN-ACKs
// show it was configured: timestamps (RFC 7323), SACK (RFC 2018) and ECN (RFC 3168) on when it
// offered or answered them, off when it never did. It also says so, for the report. A host
// that sent no SYN leaves the defaults.
func tcpConfigLike(o *synOptions) (tcp.Config, string) {
	var c tcp.Config
	if o == nil {
		return c, ""
	}
	onOff := func(n int) tcp.Switch {
		if n > 0 {
			return tcp.On
		}
		return tcp.Off
	}
	c.Timestamps, c.SACK = onOff(o.timestamps), onOff(o.sack)
	switch {
	case o.ecnAsked > 0:
		c.ECN = tcp.ECNOn
	case o.ecnAnswered > 0:
		c.ECN = tcp.ECNPassive
	case o.peerAskedECN > 0:
		c.ECN = tcp.ECNOff
	}
	ecn := "as by default"
	if c.ECN != tcp.ECNDefault {
		ecn = c.ECN.String()
	}
	return c, fmt.Sprintf("; the stack's TCP as its SYNs show: timestamps %v, SACK %v, ECN %s", c.Timestamps, c.SACK, ecn)
}

// mtcpTarget is mtcp as the replay drives it: mtcpdut's DUT and Sockets, and its Join.
type mtcpTarget struct{ *mtcpdut.MTCP }

var (
	_ harness.DUT     = mtcpTarget{}
	_ harness.Sockets = mtcpTarget{}
	_ Joiner          = mtcpTarget{}
)

// newMTCP starts mtcp with cfg.
func newMTCP(cfg core.Config) (mtcpTarget, error) {
	m, err := mtcpdut.New(cfg)
	return mtcpTarget{m}, err
}

// Join makes the connection with mtcp's mid-stream join (tcp.Layer.Join).
func (t mtcpTarget) Join(j JoinState) (int, error) {
	return t.MTCP.Join(tcp.JoinState{
		Local: j.Local, Remote: j.Remote, SndNxt: j.SndNxt, RcvNxt: j.RcvNxt, SndWnd: j.SndWnd, MSS: j.MSS,
		SndShift: j.SndShift, RcvShift: j.RcvShift, Timestamps: j.Timestamps, TSRecent: j.TSRecent, SACK: j.SACK,
		Buffers: tcp.BufferSizes{Receive: j.ReceiveBuffer},
	})
}
