package core

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/stack/icmp"
	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/wire"
)

// echoFrame is an echo request from the peer, ready to inject.
func echoFrame(seq uint16, data []byte) []byte {
	return ipFrame(icmpProto(), echoRequest(0x4d54, seq, data)...)
}

// expectEchoReply takes the next frame and checks it is the reply to echo (seq, data).
func expectEchoReply(t *testing.T, b *bench, seq uint16, data []byte) (*layers.IPv4, *layers.ICMPv4) {
	t.Helper()
	p := b.next()
	ip := layer[*layers.IPv4](t, p)
	ic := layer[*layers.ICMPv4](t, p)
	if ic.TypeCode.Type() != layers.ICMPv4TypeEchoReply || ic.Id != 0x4d54 || ic.Seq != seq {
		t.Fatalf("want echo reply id 0x4d54 seq %d, got:\n%s", seq, p.Dump())
	}
	if !bytes.Equal(ic.Payload, data) {
		t.Fatalf("reply data %q, want %q", ic.Payload, data)
	}
	if net.IP(ip.SrcIP).String() != stackIP.String() || net.IP(ip.DstIP).String() != peerIP.String() {
		t.Fatalf("reply %v -> %v, want %v -> %v", ip.SrcIP, ip.DstIP, stackIP, peerIP)
	}
	verifyIPv4Checksum(t, ip)
	if onesSum(ip.Payload) != 0xffff {
		t.Fatalf("ICMP checksum 0x%04x is wrong", ic.Checksum)
	}
	return ip, ic
}

// ipHeaderAt returns the IPv4 header bytes inside an injected frame, for corrupting.
func ipHeaderAt(f []byte) []byte { return f[14:34] }

func fixIPChecksum(h []byte) {
	h[10], h[11] = 0, 0
	binary.BigEndian.PutUint16(h[10:], ^onesSum(h))
}

func TestI1BadHeaderChecksumIsSilentlyDiscarded(t *testing.T) {
	b := newBench(t)
	b.learnPeer()
	f := echoFrame(1, []byte("abc"))
	ipHeaderAt(f)[10] ^= 0x01
	b.inject(f)
	b.expectNothingFor(5 * time.Second)
	if b.core.Stats().IPv4.BadChecksum != 1 {
		t.Fatal("bad checksum not counted")
	}
}

func TestI2VersionOtherThan4IsDiscarded(t *testing.T) {
	b := newBench(t)
	b.learnPeer()
	f := echoFrame(1, nil)
	h := ipHeaderAt(f)
	h[0] = 6<<4 | 5
	fixIPChecksum(h)
	b.inject(f)
	b.expectNothingFor(5 * time.Second)
	if b.core.Stats().IPv4.BadVersion != 1 {
		t.Fatal("bad version not counted")
	}
}

func TestI3BadHeaderOrTotalLengthIsDiscarded(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(f []byte) []byte
		count  func(s IPv4Stats) uint64
	}{
		{"IHL 4", func(f []byte) []byte { h := ipHeaderAt(f); h[0] = 0x44; fixIPChecksum(h); return f },
			func(s IPv4Stats) uint64 { return s.BadHeaderLength }},
		{"IHL past the frame", func(f []byte) []byte { f = f[:14+24]; f[14] = 0x4f; return f },
			func(s IPv4Stats) uint64 { return s.BadHeaderLength }},
		{"total length past the frame", func(f []byte) []byte {
			h := ipHeaderAt(f)
			binary.BigEndian.PutUint16(h[2:], uint16(len(f)-14+1))
			fixIPChecksum(h)
			return f
		}, func(s IPv4Stats) uint64 { return s.BadTotalLength }},
		{"total length below the header", func(f []byte) []byte {
			h := ipHeaderAt(f)
			binary.BigEndian.PutUint16(h[2:], 19)
			fixIPChecksum(h)
			return f
		}, func(s IPv4Stats) uint64 { return s.BadTotalLength }},
		{"shorter than 20 bytes", func(f []byte) []byte { return f[:14+19] },
			func(s IPv4Stats) uint64 { return s.Truncated }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBench(t)
			b.learnPeer()
			b.inject(c.mutate(echoFrame(1, []byte("payload"))))
			b.expectNothingFor(5 * time.Second)
			if n := c.count(b.core.Stats().IPv4); n != 1 {
				t.Fatalf("counter %d, want 1 (stats %+v)", n, b.core.Stats().IPv4)
			}
		})
	}
	t.Run("Ethernet padding is ignored", func(t *testing.T) {
		b := newBench(t)
		b.learnPeer()
		f := echoFrame(1, []byte("hi")) // 14+20+8+2 = 44 bytes: padded to 60 on the wire
		b.inject(pad60(f))
		expectEchoReply(t, b, 1, []byte("hi"))
	})
}

func TestI4DatagramsNotForUsOrFromBadSourcesAreDiscardedWithoutICMP(t *testing.T) {
	cases := []struct {
		name     string
		src, dst string
		linkDst  net.HardwareAddr
		counter  func(s IPv4Stats) uint64
	}{
		{"unicast to another host", "198.18.0.1", "198.18.0.3", nil, func(s IPv4Stats) uint64 { return s.NotForUs }},
		{"multicast destination", "198.18.0.1", "224.0.0.1", nil, func(s IPv4Stats) uint64 { return s.NotForUs }},
		{"source is the subnet broadcast", "198.18.0.255", "198.18.0.2", nil, func(s IPv4Stats) uint64 { return s.BadSource }},
		{"source is the limited broadcast", "255.255.255.255", "198.18.0.2", nil, func(s IPv4Stats) uint64 { return s.BadSource }},
		{"source is multicast", "224.0.0.5", "198.18.0.2", nil, func(s IPv4Stats) uint64 { return s.BadSource }},
		{"source is loopback", "127.0.0.1", "198.18.0.2", nil, func(s IPv4Stats) uint64 { return s.BadSource }},
		{"unicast IP in a link broadcast", "198.18.0.1", "198.18.0.2", bcastMAC, func(s IPv4Stats) uint64 { return s.LinkBroadcast }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBench(t)
			b.learnPeer()
			// An unknown protocol would draw a protocol-unreachable if the datagram were taken.
			f := ipFrame(&layers.IPv4{Protocol: 253, SrcIP: net.ParseIP(c.src).To4(), DstIP: net.ParseIP(c.dst).To4()}, gopacket.Payload("12345678"))
			if c.linkDst != nil {
				copy(f[0:6], c.linkDst)
			}
			b.inject(f)
			b.expectNothingFor(5 * time.Second)
			if n := c.counter(b.core.Stats().IPv4); n != 1 {
				t.Fatalf("counter %d, want 1 (stats %+v)", n, b.core.Stats().IPv4)
			}
		})
	}
	t.Run("SYN to broadcast reaches TCP marked broadcast, no ICMP", func(t *testing.T) {
		b := newBench(t)
		b.learnPeer()
		var gotBroadcast bool
		b.core.RegisterTransport(wire.ProtocolTCP, transportFunc(func(p wire.IPv4, bc bool) { gotBroadcast = bc }))
		f := ipFrame(&layers.IPv4{Protocol: layers.IPProtocolTCP, DstIP: subnetBC.AsSlice()}, &layers.TCP{SrcPort: 1, DstPort: 80, SYN: true})
		copy(f[0:6], bcastMAC)
		b.inject(f)
		b.expectNothingFor(5 * time.Second)
		if !gotBroadcast {
			t.Fatal("TCP was not told the SYN was a broadcast")
		}
		// Without a transport, the protocol-unreachable it would draw is suppressed.
		b.core.RegisterTransport(wire.ProtocolTCP, nil)
		b.inject(f)
		b.expectNothingFor(5 * time.Second)
		if b.core.Stats().ICMP.ErrorSuppressed != 1 {
			t.Fatal("suppressed error not counted")
		}
	})
}

type transportFunc func(p wire.IPv4, broadcast bool)

func (f transportFunc) HandlePacket(_ time.Time, p wire.IPv4, bc bool) { f(p, bc) }
func (transportFunc) HandleError(time.Time, icmp.Error)                {}

func TestI5TTL1EchoIsAnsweredWithDefaultTTL(t *testing.T) {
	b := newBench(t)
	b.learnPeer()
	b.inject(ipFrame(&layers.IPv4{Protocol: layers.IPProtocolICMPv4, TTL: 1}, echoRequest(0x4d54, 5, []byte("ttl"))...))
	ip, _ := expectEchoReply(t, b, 5, []byte("ttl"))
	if ip.TTL != ipv4.DefaultTTL {
		t.Fatalf("reply TTL %d, want %d", ip.TTL, ipv4.DefaultTTL)
	}
}

func TestI6UnknownOptionsAreSkipped(t *testing.T) {
	b := newBench(t)
	b.learnPeer()
	ip := &layers.IPv4{Protocol: layers.IPProtocolICMPv4, Options: []layers.IPv4Option{
		{OptionType: 0x9e, OptionLength: 6, OptionData: []byte{1, 2, 3, 4}}, // unknown, copied class
		{OptionType: 1}, {OptionType: 1}, // NOP NOP
	}}
	f := ipFrame(ip, echoRequest(0x4d54, 6, []byte("opts"))...)
	if f[14]&0x0f != 7 {
		t.Fatalf("fixture IHL %d, want 7", f[14]&0x0f)
	}
	b.inject(f)
	expectEchoReply(t, b, 6, []byte("opts"))
}

// fragments splits an echo request carrying data into IPv4 fragments of the given data sizes
// (multiples of 8 but the last).
func fragments(t *testing.T, id uint16, seq uint16, data []byte, sizes ...int) [][]byte {
	t.Helper()
	msg := serialize(t, echoRequest(0x4d54, seq, data)...)
	var out [][]byte
	off := 0
	for i, n := range sizes {
		if i == len(sizes)-1 {
			n = len(msg) - off
		}
		ip := &layers.IPv4{Protocol: layers.IPProtocolICMPv4, Id: id, FragOffset: uint16(off / 8)}
		if off+n < len(msg) {
			ip.Flags = layers.IPv4MoreFragments
		}
		out = append(out, ipFrame(ip, gopacket.Payload(msg[off:off+n])))
		off += n
	}
	return out
}

func TestI7FragmentsAreReassembledOnce(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 40) // 640 bytes + 8 header
	orders := map[string][]int{
		"in order":    {0, 1, 2},
		"reversed":    {2, 1, 0},
		"duplicated":  {0, 0, 1, 2, 1},
		"interleaved": {1, 2, 0},
	}
	for name, order := range orders {
		t.Run(name, func(t *testing.T) {
			b := newBench(t)
			b.learnPeer()
			fr := fragments(t, 77, 1, data, 256, 256, 0)
			for _, i := range order {
				b.inject(fr[i])
			}
			expectEchoReply(t, b, 1, data)
			b.expectNothingFor(2 * ipv4.DefaultReassemblyTimeout)
			s := b.core.Stats().Reassembly
			if s.Reassembled != 1 || b.core.reasm.Pending() != 0 || b.core.reasm.Bytes() != 0 {
				t.Fatalf("reassembled %d, %d pending, %d bytes held; want 1, 0, 0", s.Reassembled, b.core.reasm.Pending(), b.core.reasm.Bytes())
			}
		})
	}
	t.Run("overlapping fragments drop the datagram", func(t *testing.T) {
		b := newBench(t)
		b.learnPeer()
		fr := fragments(t, 78, 1, data, 256, 256, 0)
		// A fragment covering bytes 128..383 overlaps both neighbours with other extents.
		evil := ipFrame(&layers.IPv4{Protocol: layers.IPProtocolICMPv4, Id: 78, FragOffset: 128 / 8, Flags: layers.IPv4MoreFragments},
			gopacket.Payload(bytes.Repeat([]byte{'X'}, 256)))
		b.inject(fr[0])
		b.inject(evil)
		b.inject(fr[1])
		b.inject(fr[2])
		b.expectNothingFor(2 * ipv4.DefaultReassemblyTimeout)
		s := b.core.Stats().Reassembly
		if s.Reassembled != 0 || s.Overlaps == 0 || b.core.reasm.Bytes() != 0 || b.core.reasm.Pending() != 0 {
			t.Fatalf("stats %+v, %d bytes held; want no datagram, overlaps counted, state freed", s, b.core.reasm.Bytes())
		}
	})
	t.Run("memory bound evicts the oldest datagram", func(t *testing.T) {
		b := newBench(t, func(c *Config) { c.Reassembly.MaxBytes = 1024 })
		b.learnPeer()
		for id := uint16(1); id <= 5; id++ {
			b.inject(fragments(t, id, 1, data, 256, 256, 0)[0])
			b.advance(time.Millisecond)
		}
		if held := b.core.reasm.Bytes(); held > 1024 {
			t.Fatalf("holding %d bytes, bound 1024", held)
		}
		if b.core.Stats().Reassembly.Evicted == 0 {
			t.Fatal("no eviction counted")
		}
	})
}

func TestI8ReassemblyTimeoutFreesStateAndSendsTimeExceeded(t *testing.T) {
	data := bytes.Repeat([]byte("z"), 600)
	t.Run("fragment 0 seen: time exceeded code 1", func(t *testing.T) {
		b := newBench(t)
		b.learnPeer()
		fr := fragments(t, 90, 1, data, 256, 256, 0)
		b.inject(fr[0])
		b.inject(fr[2])
		b.expectNothingFor(ipv4.DefaultReassemblyTimeout - time.Millisecond)
		b.advance(time.Millisecond)
		p := b.next()
		ic := layer[*layers.ICMPv4](t, p)
		if ic.TypeCode != layers.CreateICMPv4TypeCode(layers.ICMPv4TypeTimeExceeded, 1) {
			t.Fatalf("want time exceeded code 1, got:\n%s", p.Dump())
		}
		quoted := ic.Payload
		if len(quoted) != 20+8 || !bytes.Equal(quoted[:20], fr[0][14:34]) {
			t.Fatalf("quote %x, want fragment 0's header and 8 bytes", quoted)
		}
		if b.core.reasm.Pending() != 0 || b.core.reasm.Bytes() != 0 {
			t.Fatal("state not freed")
		}
	})
	t.Run("no fragment 0: freed silently", func(t *testing.T) {
		b := newBench(t)
		b.learnPeer()
		fr := fragments(t, 91, 1, data, 256, 256, 0)
		b.inject(fr[1])
		b.expectNothingFor(2 * ipv4.DefaultReassemblyTimeout)
		if b.core.reasm.Pending() != 0 || b.core.Stats().Reassembly.TimedOut != 1 {
			t.Fatal("state not freed by the timeout")
		}
	})
}

func TestI9UnknownProtocolDrawsProtocolUnreachable(t *testing.T) {
	b := newBench(t)
	b.learnPeer()
	f := ipFrame(&layers.IPv4{Protocol: 253}, gopacket.Payload("0123456789abcdef"))
	b.inject(f)
	p := b.next()
	ic := layer[*layers.ICMPv4](t, p)
	if ic.TypeCode != layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodeProtocol) {
		t.Fatalf("want protocol unreachable, got:\n%s", p.Dump())
	}
	if !bytes.Equal(ic.Payload[:28], f[14:14+28]) {
		t.Fatalf("quote %x does not start with the datagram's header and 8 bytes", ic.Payload)
	}
	verifyIPv4Checksum(t, layer[*layers.IPv4](t, p))
	if onesSum(layer[*layers.IPv4](t, p).Payload) != 0xffff {
		t.Fatal("ICMP checksum wrong")
	}
	b.expectNothing()
}

func TestI10EachDatagramGetsANewIDWithDFClear(t *testing.T) {
	b := newBench(t)
	b.learnPeer()
	ids := map[uint16]bool{}
	for seq := uint16(1); seq <= 50; seq++ {
		b.inject(echoFrame(seq, []byte("same")))
		ip, _ := expectEchoReply(t, b, seq, []byte("same"))
		if ip.Flags&layers.IPv4DontFragment != 0 {
			t.Fatal("DF set")
		}
		if ids[ip.Id] {
			t.Fatalf("IP ID %d repeated within 50 datagrams to one destination", ip.Id)
		}
		ids[ip.Id] = true
	}
}

func TestOversizedReplyIsFragmented(t *testing.T) {
	b := newBench(t)
	b.learnPeer()
	data := bytes.Repeat([]byte("0123456789"), 300) // 3000 bytes: the reply needs 3 fragments
	for _, f := range fragments(t, 5, 1, data, 1480, 1480, 0) {
		b.inject(f)
	}
	var msg []byte
	for i := 0; ; i++ {
		ip := layer[*layers.IPv4](t, b.next())
		verifyIPv4Checksum(t, ip)
		if int(ip.FragOffset)*8 != len(msg) || ip.Length > 1500 {
			t.Fatalf("fragment %d at offset %d, length %d", i, ip.FragOffset*8, ip.Length)
		}
		msg = append(msg, ip.Payload...)
		if ip.Flags&layers.IPv4MoreFragments == 0 {
			break
		}
	}
	if onesSum(msg) != 0xffff || !bytes.Equal(msg[8:], data) || msg[0] != 0 {
		t.Fatal("reassembled reply is not the echo reply")
	}
}

// A datagram with DF set that does not fit the MTU is refused, not fragmented (RFC 791, RFC
// 1191); the same datagram without DF goes in fragments, and with DF one that fits goes whole,
// with DF and the ECN field as asked.
func TestDontFragmentRefusesOversizedDatagram(t *testing.T) {
	b := newBench(t)
	b.learnPeer()
	big := make([]byte, 1481) // one byte over 1500 - 20
	big[12] = 5 << 4          // a TCP header's data offset, so that the segment decodes
	if err := b.core.SendIPv4(peerIP, wire.ProtocolTCP, big, ipv4.SendOptions{DontFragment: true}); err != ipv4.ErrTooBig {
		t.Fatalf("DF and %d bytes: err %v, want ipv4.ErrTooBig", len(big), err)
	}
	b.expectNothing()
	if n := b.core.Stats().IPv4.TooBig; n != 1 {
		t.Fatalf("TooBig %d, want 1", n)
	}
	if err := b.core.SendIPv4(peerIP, wire.ProtocolTCP, big, ipv4.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if ip := layer[*layers.IPv4](t, b.next()); ip.Flags&layers.IPv4MoreFragments == 0 {
		t.Fatal("without DF the datagram did not go in fragments")
	}
	b.next() // the second fragment
	if err := b.core.SendIPv4(peerIP, wire.ProtocolTCP, big[:1480], ipv4.SendOptions{DontFragment: true, ECN: wire.ECT0}); err != nil {
		t.Fatal(err)
	}
	ip := layer[*layers.IPv4](t, b.next())
	if ip.Flags != layers.IPv4DontFragment || ip.Length != 1500 || wire.ECN(ip.TOS&3) != wire.ECT0 {
		t.Fatalf("flags %v, length %d, ECN %v; want DF, 1500, ECT(0)", ip.Flags, ip.Length, wire.ECN(ip.TOS&3))
	}
}

// An atomic datagram (DF set, not a fragment) needs no unique ID (RFC 6864 4.1): it goes with
// ID 0. Datagrams with DF clear still get a fresh ID each, the same on all of one datagram's
// fragments.
func TestAtomicDatagramsHaveIDZero(t *testing.T) {
	b := newBench(t)
	b.learnPeer()
	seg := make([]byte, 20)
	seg[12] = 5 << 4 // a TCP header's data offset, so that the segment decodes
	for range 3 {
		if err := b.core.SendIPv4(peerIP, wire.ProtocolTCP, seg, ipv4.SendOptions{DontFragment: true}); err != nil {
			t.Fatal(err)
		}
		if ip := layer[*layers.IPv4](t, b.next()); ip.Flags != layers.IPv4DontFragment || ip.Id != 0 {
			t.Fatalf("DF set: flags %v, ID %#04x; want DF, 0", ip.Flags, ip.Id)
		}
	}
	ids := map[uint16]bool{}
	for range 3 {
		if err := b.core.SendIPv4(peerIP, wire.ProtocolTCP, seg, ipv4.SendOptions{}); err != nil {
			t.Fatal(err)
		}
		ip := layer[*layers.IPv4](t, b.next())
		if ip.Flags != 0 || ids[ip.Id] {
			t.Fatalf("DF clear: flags %v, ID %#04x (seen %v)", ip.Flags, ip.Id, ids)
		}
		ids[ip.Id] = true
	}
	big := make([]byte, 1481)
	big[12] = 5 << 4
	if err := b.core.SendIPv4(peerIP, wire.ProtocolTCP, big, ipv4.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	first, second := layer[*layers.IPv4](t, b.next()), layer[*layers.IPv4](t, b.next())
	if first.Id != second.Id || ids[first.Id] {
		t.Fatalf("fragments with IDs %#04x and %#04x (earlier %v)", first.Id, second.Id, ids)
	}
}
