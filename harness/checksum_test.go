package harness

import (
	"encoding/binary"
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
