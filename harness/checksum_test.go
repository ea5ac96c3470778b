package harness

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// The oracle's checksums agree with gopacket's, and a wrong one is seen as wrong.
func TestChecksums(t *testing.T) {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: []byte{198, 18, 0, 1}, DstIP: []byte{198, 18, 0, 2}}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 7, ACK: true, Ack: 9, Window: 100}
	_ = tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, tcp, gopacket.Payload("odd")); err != nil {
		t.Fatal(err)
	}
	pkt := buf.Bytes()
	hdr, seg := pkt[:20], pkt[20:]
	ipSum, tcpSum := binary.BigEndian.Uint16(hdr[10:]), binary.BigEndian.Uint16(seg[16:])
	if !TCPChecksumOK(hdr, seg) {
		t.Fatal("gopacket's TCP checksum is not seen as right")
	}
	SetIPv4Checksum(hdr)
	SetTCPChecksum(hdr, seg)
	if got := binary.BigEndian.Uint16(hdr[10:]); got != ipSum {
		t.Errorf("IPv4 checksum 0x%04x, gopacket's 0x%04x", got, ipSum)
	}
	if got := binary.BigEndian.Uint16(seg[16:]); got != tcpSum {
		t.Errorf("TCP checksum 0x%04x, gopacket's 0x%04x", got, tcpSum)
	}
	seg[len(seg)-1] ^= 1
	if TCPChecksumOK(hdr, seg) {
		t.Error("a changed payload byte goes unseen")
	}
	m := []byte{8, 0, 0xff, 0xff, 0, 1, 0, 2, 'x'}
	SetICMPChecksum(m)
	if onesSum(m, 0) != 0xffff {
		t.Errorf("ICMP checksum 0x%04x does not sum to 0xffff", binary.BigEndian.Uint16(m[2:]))
	}
}

// The oracle's UDP checksum agrees with gopacket's.
func TestUDPChecksum(t *testing.T) {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: []byte{198, 18, 0, 1}, DstIP: []byte{198, 18, 0, 2}}
	udp := &layers.UDP{SrcPort: 5353, DstPort: 53}
	_ = udp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, udp, gopacket.Payload("query")); err != nil {
		t.Fatal(err)
	}
	hdr, d := buf.Bytes()[:20], buf.Bytes()[20:]
	want := binary.BigEndian.Uint16(d[6:])
	d[6], d[7] = 0x12, 0x34
	SetUDPChecksum(hdr, d)
	if got := binary.BigEndian.Uint16(d[6:]); got != want || got == 0 {
		t.Errorf("UDP checksum 0x%04x, gopacket's 0x%04x", got, want)
	}
}

// onesSum adds eight bytes a step; it must give what adding 16-bit words one by one gives,
// for every length and alignment, odd lengths included, and whatever the sum carried in.
func TestOnesSumMatchesWordByWord(t *testing.T) {
	ref := func(b []byte, acc uint32) uint16 {
		for len(b) >= 2 {
			acc += uint32(b[0])<<8 | uint32(b[1])
			b = b[2:]
		}
		if len(b) == 1 {
			acc += uint32(b[0]) << 8
		}
		for acc>>16 != 0 {
			acc = acc&0xffff + acc>>16
		}
		return uint16(acc)
	}
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1600)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	ones := bytes.Repeat([]byte{0xff}, 65535)
	for n := range 200 {
		for _, acc := range []uint32{0, 0x1fffe, r.Uint32() >> 8} {
			b := buf[r.IntN(8):][:n]
			if got, want := onesSum(b, acc), ref(b, acc); got != want {
				t.Fatalf("%d bytes, acc %#x: %#04x, want %#04x", n, acc, got, want)
			}
		}
	}
	if got, want := onesSum(ones, 0x12345), ref(ones, 0x12345); got != want {
		t.Fatalf("64 KiB of 0xff: %#04x, want %#04x", got, want)
	}
}
