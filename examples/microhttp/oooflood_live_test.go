//go:build linux

package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/mtcp-go/mtcp/internal/netns"
	"github.com/mtcp-go/mtcp/internal/netns/netnstest"
)

// TestMain runs the out-of-order flooder, or the challenge-ACK attacker, when
// TestLiveOutOfOrderFlood or TestLiveChallengeACKSideChannel starts this binary again inside
// its namespace. Otherwise it runs the tests, liveParallel of the parallel ones at once unless
// -parallel says otherwise, and removes the microhttp they built.
func TestMain(m *testing.M) {
	if ns := os.Getenv("MTCP_CHALLENGE_NETNS"); ns != "" {
		if err := challengeAttack(ns); err != nil {
			fmt.Fprintln(os.Stderr, "attacker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if ns := os.Getenv("MTCP_OOO_FLOOD_NETNS"); ns != "" {
		if err := oooFlood(ns, oooFloodSegments); err != nil {
			fmt.Fprintln(os.Stderr, "flooder:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", strconv.Itoa(liveParallel))
	}
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

const oooFloodSegments = 400000

// liveParallel is how many parallel tests run at once by default: all the live tests, whatever
// the number of CPUs (-parallel defaults to GOMAXPROCS), since what they do to the machine is
// liveLoad's to limit; one of them mostly sleeps for a minute.
const liveParallel = 8

// TestLiveOutOfOrderFlood opens a connection to microhttp from the kernel and then, on the
// same four-tuple, sends 400,000 one-byte segments with a hole before each (so none can be
// delivered or merged; 60,000 places within the window, over and over), from a raw socket, as
// fast as it goes. Meanwhile another client asks
// for a page every 100 ms: every request is answered, and the stack's summary counts the
// out-of-order stretches it gave up to stay within its bound (the positive control: the flood
// reached the reassembly queue and filled it). The cost per segment at any queue length is
// BenchmarkReassemblyWorstCase's; here the request latencies are logged.
func TestLiveOutOfOrderFlood(t *testing.T) {
	curl := netnstest.Tool(t, "curl")
	exclusive(t)
	ns, srv := startServer(t, smallSite(t))
	flood := ns.Exec(t.Context(), os.Args[0])
	flood.Env = append(os.Environ(), "MTCP_OOO_FLOOD_NETNS="+ns.Name())
	out := &strings.Builder{}
	flood.Stdout, flood.Stderr = out, out
	if err := flood.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- flood.Wait() }()
	var lat []time.Duration
	failed := 0
	var ferr error
loop:
	for {
		select {
		case ferr = <-done:
			break loop
		case <-time.After(100 * time.Millisecond):
		}
		start := time.Now()
		body, err := ns.Exec(t.Context(), curl, "-sS", "--max-time", "5", "http://198.18.0.2/index.html").Output()
		if err != nil || !strings.Contains(string(body), "mtcp") {
			failed++
			t.Logf("request during the flood: %v, %q", err, body)
		} else {
			lat = append(lat, time.Since(start))
		}
	}
	if ferr != nil {
		t.Fatalf("flooder: %v\n%s", ferr, out)
	}
	sum := srv.Stop()
	slices.Sort(lat)
	if len(lat) == 0 {
		t.Fatalf("no request answered during the flood (%d failed); flooder: %s; %s", failed, out, sum)
	}
	t.Logf("flooder: %s", strings.TrimSpace(out.String()))
	t.Logf("%d requests during the flood, %d failed; latency p50 %v, max %v; %s",
		len(lat)+failed, failed, lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), sum)
	if failed > 0 {
		t.Errorf("%d requests failed during the flood", failed)
	}
	if !strings.Contains(sum, "out-of-order stretches pruned") {
		t.Errorf("the flood never reached the reassembly queue's bound: %s", sum)
	}
}

// oooFlood is the flooder: inside namespace ns it connects to 198.18.0.2:80 from the kernel,
// learns both initial sequence numbers and timestamps from the handshake on an AF_PACKET
// socket, and sends n one-byte segments at every other sequence number past the next one, over
// the first 120,000 bytes of the window again and again.
func oooFlood(ns string, n int) error {
	fd, ll, err := rawLink(ns, unix.Timeval{Sec: 5})
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	conn, err := net.Dial("tcp", "198.18.0.2:80")
	if err != nil {
		return err
	}
	defer conn.Close()
	lport := uint16(conn.LocalAddr().(*net.TCPAddr).Port)
	// The handshake, as the AF_PACKET socket saw it.
	var syn, synAck *layers.TCP
	var stackMAC, hostMAC net.HardwareAddr
	buf := make([]byte, 2048)
	for syn == nil || synAck == nil {
		k, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return fmt.Errorf("waiting for the handshake: %w", err)
		}
		p := gopacket.NewPacket(buf[:k], layers.LayerTypeEthernet, gopacket.Default)
		eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if eth == nil || tcp == nil {
			continue
		}
		switch {
		case tcp.SYN && !tcp.ACK && uint16(tcp.SrcPort) == lport:
			syn, hostMAC = tcp, eth.SrcMAC
		case tcp.SYN && tcp.ACK && uint16(tcp.DstPort) == lport:
			synAck, stackMAC = tcp, eth.SrcMAC
		}
	}
	tsval, tsecr := timestampOf(syn), timestampOf(synAck)
	eth := &layers.Ethernet{SrcMAC: hostMAC, DstMAC: stackMAC, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, Flags: layers.IPv4DontFragment,
		SrcIP: net.IPv4(198, 18, 0, 1), DstIP: net.IPv4(198, 18, 0, 2)}
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	frame := gopacket.NewSerializeBuffer()
	for i := range n {
		seg := &layers.TCP{SrcPort: layers.TCPPort(lport), DstPort: 80, Seq: syn.Seq + 2 + 2*uint32(i%60000), Ack: synAck.Seq + 1,
			ACK: true, Window: 502, Options: []layers.TCPOption{
				{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, tsval+1), tsecr)},
			}}
		if err := seg.SetNetworkLayerForChecksum(ip); err != nil {
			return err
		}
		if err := gopacket.SerializeLayers(frame, opts, eth, ip, seg, gopacket.Payload{'x'}); err != nil {
			return err
		}
		if err := unix.Sendto(fd, frame.Bytes(), 0, ll); err != nil {
			return fmt.Errorf("segment %d: %w", i, err)
		}
	}
	fmt.Printf("%d one-byte segments with holes sent on port %d\n", n, lport)
	return nil
}

// rawLink checks that it runs inside namespace ns and opens an AF_PACKET socket on its mtcp0,
// the kernel's side of microhttp's TAP device: every frame on it is read, with reads timing
// out after timeout, and frames written go to the stack.
func rawLink(ns string, timeout unix.Timeval) (int, *unix.SockaddrLinklayer, error) {
	if err := netns.Require(ns); err != nil {
		return 0, nil, err
	}
	ifi, err := net.InterfaceByName("mtcp0")
	if err != nil {
		return 0, nil, err
	}
	proto := uint16(unix.ETH_P_ALL)<<8 | uint16(unix.ETH_P_ALL)>>8 // in network byte order
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(proto))
	if err != nil {
		return 0, nil, err
	}
	ll := &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifi.Index}
	if err := unix.Bind(fd, ll); err != nil {
		unix.Close(fd)
		return 0, nil, err
	}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &timeout)
	return fd, ll, nil
}

// timestampOf is a SYN's TSval (zero without the option).
func timestampOf(t *layers.TCP) uint32 {
	for _, o := range t.Options {
		if o.OptionType == layers.TCPOptionKindTimestamps && len(o.OptionData) == 8 {
			return binary.BigEndian.Uint32(o.OptionData)
		}
	}
	return 0
}
