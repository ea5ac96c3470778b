package replay

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// BenchmarkDecode takes apart a data segment with timestamps, as the replay does every frame
// of the capture and of the stack (ns per frame; no allocation).
func BenchmarkDecode(b *testing.B) {
	buf := gopacket.NewSerializeBuffer()
	eth := &layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 1}, DstMAC: []byte{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: []byte{198, 18, 0, 1}, DstIP: []byte{198, 18, 0, 2}}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 1, Ack: 2, Window: 65535, ACK: true, PSH: true,
		Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindTimestamps, OptionData: make([]byte, 8)}}}
	_ = tcp.SetNetworkLayerForChecksum(ip)
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(make([]byte, 100))); err != nil {
		b.Fatal(err)
	}
	f := buf.Bytes()
	d := newDecoded()
	b.ReportAllocs()
	for b.Loop() {
		d.decode(f)
	}
	if !d.hasTCP || len(d.tcp.Payload) != 100 || len(d.tcp.Options) != 3 {
		b.Fatalf("decoded: TCP %v, %d bytes, %d options", d.hasTCP, len(d.tcp.Payload), len(d.tcp.Options))
	}
}
