package replay

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/linuxabi"
	"github.com/mtcp-go/mtcp/harness/mtcpdut"
	"github.com/mtcp-go/mtcp/harness/replay/capture"
	"github.com/mtcp-go/mtcp/stack/clock"
)

// A joined connection is a descriptor of mtcp's Sockets like an accepted one: it writes, reads
// (EAGAIN when nothing came), shuts down writing with a FIN, tells its window scales through
// tcp_info, polls, and closing it frees its number; bind, listen and connect fail, as on any
// connected socket.
func TestJoinedDescriptor(t *testing.T) {
	cfg := mtcpdut.DefaultConfig()
	cfg.Interface.Gateway = netip.Addr{}
	stack, err := newMTCP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var sent []*layers.TCP
	stack.SetOutput(func(f []byte) {
		p := gopacket.NewPacket(append([]byte(nil), f...), layers.LayerTypeEthernet, gopacket.Default)
		if tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
			sent = append(sent, tcp)
		}
	})
	now := clock.Epoch
	stack.Advance(now)
	// The peer's MAC, so that the stack's segments go out without ARP.
	peer := netip.AddrPortFrom(harness.DefaultPeerIP, 40000)
	stack.Deliver(now, (&frameBuilder{buf: gopacket.NewSerializeBuffer()}).arpReply(harness.DefaultPeerMAC, peer.Addr(), harness.DefaultStackMAC, harness.DefaultStackAddr.Addr()))

	fd, err := stack.Join(JoinState{Local: 80, Remote: peer, SndNxt: 1000, RcvNxt: 5000, SndWnd: 0xffff << 14, MSS: 1460,
		SndShift: 14, RcvShift: 7, ReceiveBuffer: 0xffff << 7})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := stack.Read(fd, make([]byte, 10)); n != -1 || !errors.Is(err, linuxabi.EAGAIN) {
		t.Errorf("read with nothing received: %d, %v; want -1, EAGAIN", n, err)
	}
	if n, err := stack.Write(fd, []byte("hello")); n != 5 || err != nil {
		t.Fatalf("write: %d, %v", n, err)
	}
	if err := stack.Shutdown(fd, linuxabi.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 || sent[0].Seq != 1000 || string(sent[0].Payload) != "hello" || !sent[1].FIN || sent[1].Seq != 1005 || sent[1].Ack != 5000 {
		t.Fatalf("sent %d segments, want the data at 1000 and a FIN at 1005 ack 5000", len(sent))
	}
	info, err := stack.TCPInfo(fd)
	if err != nil || harness.TCPState(info["tcpi_state"]) != harness.TCPFinWait1 || info["tcpi_options"]&tcpiOptWScale == 0 || info["tcpi_snd_wscale"] != 14 || info["tcpi_rcv_wscale"] != 7 {
		t.Errorf("tcp_info %v, %v; want FIN-WAIT-1, window scales 14 and 7", info, err)
	}
	for name, err := range map[string]error{
		"bind":    stack.Bind(fd, 81),
		"listen":  stack.Listen(fd, 1),
		"connect": stack.Connect(fd, peer),
	} {
		if err == nil {
			t.Errorf("%s on a joined descriptor succeeded", name)
		}
	}
	if ev, err := stack.Poll(fd); err != nil || ev&linuxabi.POLLOUT == 0 {
		t.Errorf("poll on a joined descriptor: %#x, %v; want POLLOUT", ev, err)
	}
	if err := stack.SetSockOpt(fd, linuxabi.SOL_SOCKET, linuxabi.SO_LINGER, 0); err != nil {
		t.Fatal(err)
	}
	if err := stack.Close(fd); err != nil {
		t.Fatal(err)
	}
	if last := sent[len(sent)-1]; !last.RST {
		t.Errorf("close with SO_LINGER 0 sent %+v, want a reset", last)
	}
	if next, _ := stack.Socket(); next != fd {
		t.Errorf("the next socket is %d, want the joined one's number again, %d", next, fd)
	}
	if _, err := stack.Write(fd+1, []byte("x")); !errors.Is(err, linuxabi.EBADF) {
		t.Errorf("write on no descriptor: %v, want EBADF", err)
	}
}

// noJoin is mtcp without Joiner.
type noJoin struct {
	harness.DUT
	harness.Sockets
}

// A target without Joiner replays the rest and skips the conversations that began before the
// capture, saying why.
func TestTargetWithoutJoiner(t *testing.T) {
	path := filepath.Join("..", "..", "pcaps", "derived", "midstream.pcapng")
	open := func() (io.ReadCloser, error) { return os.Open(path) }
	opts := Options{Horizon: 3e9}
	sc, err := scanCapture(open, opts)
	if err != nil {
		t.Fatal(err)
	}
	stack, like, err := newStack(sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	e, err := newEngineOn(noJoin{stack, stack}, sc, opts, like)
	if err != nil {
		t.Fatal(err)
	}
	f, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := capture.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.run(r); err != nil {
		t.Fatal(err)
	}
	rep := e.rep
	if len(rep.NotReplayed) == 0 || !strings.Contains(rep.NotReplayed[0].Why, "the stack cannot join it: the target cannot take a connection over mid-stream") {
		t.Errorf("not replayed: %+v; want the conversation that began before the capture, not joined", rep.NotReplayed)
	}
	if rep.Compared != 0 || rep.Skipped["conversations that began before the capture"] != 1 {
		t.Errorf("%d host frames compared, skipped %v; want none compared, the conversation skipped", rep.Compared, rep.Skipped)
	}
}

// The replay's ARP reply is the 42 bytes of an Ethernet ARP reply, unpadded: ip is at mac,
// told to the stack.
func TestARPReplyBuilt(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0, 0xc6, 0x12, 0, 1}
	got := newFrameBuilder().arpReply(mac, netip.MustParseAddr("198.18.0.1"), harness.DefaultStackMAC, netip.MustParseAddr("198.18.0.2"))
	want := []byte{
		2, 0, 0, 0, 0, 2, 2, 0, 0xc6, 0x12, 0, 1, 0x08, 0x06, // Ethernet: to the stack, from mac, ARP
		0, 1, 0x08, 0x00, 6, 4, 0, 2, // Ethernet, IPv4, reply
		2, 0, 0xc6, 0x12, 0, 1, 198, 18, 0, 1, // sender: mac, 198.18.0.1
		2, 0, 0, 0, 0, 2, 198, 18, 0, 2, // target: the stack
	}
	if !bytes.Equal(got, want) {
		t.Errorf("ARP reply\n%x, want\n%x", got, want)
	}
}
