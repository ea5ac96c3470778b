package core

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/stack/arp"
	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/wire"
)

func expectARP(t *testing.T, b *bench, op uint16, dstMAC net.HardwareAddr) *layers.ARP {
	t.Helper()
	p := b.next()
	eth := layer[*layers.Ethernet](t, p)
	a := layer[*layers.ARP](t, p)
	if a.Operation != op || !bytes.Equal(eth.DstMAC, dstMAC) || !bytes.Equal(eth.SrcMAC, stackMAC) {
		t.Fatalf("want ARP op %d to %v from %v, got op %d to %v from %v", op, dstMAC, stackMAC, a.Operation, eth.DstMAC, eth.SrcMAC)
	}
	if !bytes.Equal(a.SourceHwAddress, stackMAC) || !bytes.Equal(a.SourceProtAddress, stackIP.AsSlice()) {
		t.Fatalf("ARP sender %v/%v, want %v/%v", net.IP(a.SourceProtAddress), net.HardwareAddr(a.SourceHwAddress), stackIP, stackMAC)
	}
	return a
}

func TestA1RequestForOurAddressGetsUnicastReply(t *testing.T) {
	b := newBench(t)
	b.inject(arpFrame(layers.ARPRequest, peerMAC, peerIP, nil, stackIP, bcastMAC))
	a := expectARP(t, b, layers.ARPReply, peerMAC)
	if !bytes.Equal(a.DstHwAddress, peerMAC) || !bytes.Equal(a.DstProtAddress, peerIP.AsSlice()) {
		t.Fatalf("reply target %v/%v, want the requester %v/%v", net.IP(a.DstProtAddress), net.HardwareAddr(a.DstHwAddress), peerIP, peerMAC)
	}
	b.expectNothingFor(5 * time.Second)
}

func TestA1ProbeFromZeroAddressIsAnsweredNotCached(t *testing.T) {
	b := newBench(t)
	zero := [4]byte{}
	b.inject(arpFrame(layers.ARPRequest, peerMAC, netipFrom4(zero), nil, stackIP, bcastMAC))
	expectARP(t, b, layers.ARPReply, peerMAC)
	if n := b.core.ARP().Len(); n != 0 {
		t.Fatalf("a probe from 0.0.0.0 left %d cache entries", n)
	}
}

func TestA2RequestForAnotherAddressIsIgnoredAndNotCached(t *testing.T) {
	b := newBench(t)
	b.inject(arpFrame(layers.ARPRequest, peerMAC, peerIP, nil, otherIP, bcastMAC))
	b.expectNothingFor(5 * time.Second)
	if _, ok := b.core.ARP().Lookup(peerIP); ok {
		t.Fatal("the sender of a request for another host was cached")
	}
}

func TestA3RequestFromNewHostIsCachedSoSendingNeedsNoARP(t *testing.T) {
	b := newBench(t)
	b.learnPeer()
	if mac, ok := b.core.ARP().Lookup(peerIP); !ok || mac != wire.MAC(peerMAC) {
		t.Fatalf("peer not cached after its request (got %v %v)", mac, ok)
	}
	b.inject(ipFrame(icmpProto(), echoRequest(7, 1, []byte("x"))...))
	p := b.next()
	if layer[*layers.ICMPv4](t, p).TypeCode.Type() != layers.ICMPv4TypeEchoReply {
		t.Fatalf("want an echo reply straight away, got:\n%s", p.Dump())
	}
	b.expectNothing()
}

func TestA4MergeUpdatesKnownEntryWithNewMAC(t *testing.T) {
	b := newBench(t)
	b.learnPeer()
	// A reply not addressed to us still updates an entry we hold (RFC 826 merge).
	b.inject(arpFrame(layers.ARPReply, otherMAC, peerIP, otherMAC, otherIP, bcastMAC))
	if mac, _ := b.core.ARP().Lookup(peerIP); mac != wire.MAC(otherMAC) {
		t.Fatalf("entry holds %v after a merge, want %v", mac, net.HardwareAddr(otherMAC))
	}
	b.expectNothing()
}

func TestA4UnknownHostNotForUsIsNotAdded(t *testing.T) {
	b := newBench(t)
	b.inject(arpFrame(layers.ARPReply, otherMAC, otherIP, peerMAC, peerIP, bcastMAC))
	if b.core.ARP().Len() != 0 {
		t.Fatal("a reply between two other hosts added a cache entry")
	}
}

func TestA5MalformedARPIsDropped(t *testing.T) {
	good := arpFrame(layers.ARPRequest, peerMAC, peerIP, nil, stackIP, bcastMAC)
	cases := map[string]func([]byte) []byte{
		"hardware type 6":          func(f []byte) []byte { f[15] = 6; return f },
		"protocol type IPv6":       func(f []byte) []byte { f[16], f[17] = 0x86, 0xdd; return f },
		"hardware length 8":        func(f []byte) []byte { f[18] = 8; return f },
		"protocol length 16":       func(f []byte) []byte { f[19] = 16; return f },
		"operation 9":              func(f []byte) []byte { f[21] = 9; return f },
		"truncated at 27":          func(f []byte) []byte { return f[:14+27] },
		"only the Ethernet header": func(f []byte) []byte { return f[:14] },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			b := newBench(t)
			b.inject(mutate(append([]byte(nil), good...)))
			b.expectNothingFor(time.Second)
			if s := b.core.Stats().ARP; s.Malformed != 1 || b.core.ARP().Len() != 0 {
				t.Fatalf("malformed counter %d, %d entries; want 1 and 0", s.Malformed, b.core.ARP().Len())
			}
		})
	}
	t.Run("padded 60-byte frame is fine", func(t *testing.T) {
		b := newBench(t)
		if len(good) != 60 {
			t.Fatalf("fixture is %d bytes, want 60", len(good))
		}
		b.inject(good)
		expectARP(t, b, layers.ARPReply, peerMAC)
	})
}

func TestA6UnresolvedDestinationQueuesLatestAndSendsOnReply(t *testing.T) {
	b := newBench(t)
	// An echo request from a host the stack has not resolved: the reply must wait for ARP.
	for seq := uint16(1); seq <= 6; seq++ {
		b.inject(ipFrame(icmpProto(), echoRequest(9, seq, []byte{byte(seq)})...))
	}
	a := expectARP(t, b, layers.ARPRequest, bcastMAC)
	if !bytes.Equal(a.DstProtAddress, peerIP.AsSlice()) {
		t.Fatalf("request for %v, want %v", net.IP(a.DstProtAddress), peerIP)
	}
	b.expectNothing() // one request, however many frames wait
	b.inject(arpFrame(layers.ARPReply, peerMAC, peerIP, stackMAC, stackIP, stackMAC))
	// Queue bound 4: the two oldest were dropped, the latest four go out in order.
	for seq := uint16(3); seq <= 6; seq++ {
		p := b.next()
		if eth := layer[*layers.Ethernet](t, p); !bytes.Equal(eth.DstMAC, peerMAC) {
			t.Fatalf("queued frame sent to %v, want %v", eth.DstMAC, net.HardwareAddr(peerMAC))
		}
		if got := layer[*layers.ICMPv4](t, p).Seq; got != seq {
			t.Fatalf("queued reply seq %d, want %d", got, seq)
		}
	}
	b.expectNothingFor(10 * time.Second)
	if s := b.core.Stats().ARP; s.PendingDropped != 2 || s.Resolved != 1 {
		t.Fatalf("pending dropped %d, resolved %d; want 2, 1", s.PendingDropped, s.Resolved)
	}
}

func TestA7UnansweredResolutionRetriesOncePerSecondThenFails(t *testing.T) {
	b := newBench(t)
	b.inject(ipFrame(&layers.IPv4{Protocol: layers.IPProtocolTCP}, &layers.TCP{SrcPort: 1000, DstPort: 80, SYN: true}))
	if len(b.trans.packets) != 1 {
		t.Fatal("transport did not get the segment")
	}
	// The transport answers; its datagram waits for ARP.
	if err := b.core.SendIPv4(peerIP, wire.ProtocolTCP, []byte("0123456789abcdefghij"), ipv4.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	start := b.now
	for i := range arp.DefaultMaxRetries {
		expectARP(t, b, layers.ARPRequest, bcastMAC)
		b.expectNothingFor(time.Second - time.Millisecond) // never faster than 1/s
		if i < arp.DefaultMaxRetries-1 {
			b.advance(time.Millisecond)
		}
	}
	if len(b.trans.errors) != 0 {
		t.Fatal("failure reported before the last retry ran out")
	}
	b.advance(time.Millisecond)
	if got := b.now.Sub(start); got != 3*time.Second {
		t.Fatalf("gave up after %v, want 3s", got)
	}
	if len(b.trans.errors) != 1 {
		t.Fatalf("transport got %d errors, want 1 host-unreachable", len(b.trans.errors))
	}
	e := b.trans.errors[0]
	if !e.Local || e.Type != wire.ICMPv4DestUnreach || e.Code != wire.ICMPv4HostUnreachable || e.Dst != peerIP {
		t.Fatalf("error %+v, want local host unreachable for %v", e, peerIP)
	}
	b.expectNothingFor(time.Minute)
	if s := b.core.Stats().ARP; s.Failed != 1 || s.RequestsOut != 3 || b.core.ARP().Len() != 0 {
		t.Fatalf("stats %+v, %d entries; want 1 failure, 3 requests, empty cache", s, b.core.ARP().Len())
	}
}

func TestA7StaleEntryIsRevalidatedByUnicastPoll(t *testing.T) {
	b := newBench(t)
	b.learnPeer()
	b.advance(arp.DefaultLifetime)
	b.inject(ipFrame(icmpProto(), echoRequest(1, 1, nil)...))
	// The stale entry is still used for the reply, and a unicast request revalidates it.
	if got := layer[*layers.ICMPv4](t, b.next()); got.TypeCode.Type() != layers.ICMPv4TypeEchoReply {
		t.Fatal("want the echo reply first")
	}
	expectARP(t, b, layers.ARPRequest, peerMAC)
	b.inject(arpFrame(layers.ARPReply, peerMAC, peerIP, stackMAC, stackIP, stackMAC))
	b.expectNothingFor(10 * time.Second)
	if _, ok := b.core.ARP().Lookup(peerIP); !ok {
		t.Fatal("revalidated entry lost")
	}
}

func TestA7StaleEntryWithoutAnswerIsRemoved(t *testing.T) {
	b := newBench(t)
	b.learnPeer()
	b.advance(arp.DefaultLifetime)
	b.inject(ipFrame(icmpProto(), echoRequest(1, 1, nil)...))
	b.next() // the reply, still sent to the cached MAC
	for range arp.DefaultMaxRetries {
		expectARP(t, b, layers.ARPRequest, peerMAC)
		b.advance(time.Second)
	}
	b.expectNothing()
	if _, ok := b.core.ARP().Lookup(peerIP); ok || b.core.Stats().ARP.Expired != 1 {
		t.Fatal("an entry that failed revalidation is still cached")
	}
}

// Send keeps the entry it used last, to skip the map lookup per frame; an entry removed from the
// cache (here by failed revalidation) must not be used again through it.
func TestA7RemovedEntryIsNotUsedByTheNextSend(t *testing.T) {
	b := newBench(t)
	b.learnPeer()
	b.advance(arp.DefaultLifetime)
	echo := serialize(t, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 1, Seq: 1})
	if err := b.core.SendIPv4(peerIP, wire.ProtocolICMP, echo, ipv4.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if eth := layer[*layers.Ethernet](t, b.next()); !bytes.Equal(eth.DstMAC, peerMAC) {
		t.Fatalf("first send went to %v, want the cached %v", eth.DstMAC, peerMAC)
	}
	for range arp.DefaultMaxRetries {
		expectARP(t, b, layers.ARPRequest, peerMAC)
		b.advance(time.Second)
	}
	if err := b.core.SendIPv4(peerIP, wire.ProtocolICMP, echo, ipv4.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	// Positive control above: the same call was sent straight to the peer's MAC.
	expectARP(t, b, layers.ARPRequest, bcastMAC)
	b.expectNothing()
}

func TestA8ForeignUnicastAndUnknownEtherTypeAreIgnored(t *testing.T) {
	b := newBench(t)
	f := ipFrame(icmpProto(), echoRequest(1, 1, nil)...)
	copy(f[0:6], otherMAC) // for another host's MAC
	b.inject(f)
	g := ipFrame(icmpProto(), echoRequest(1, 1, nil)...)
	g[12], g[13] = 0x88, 0xb5 // IEEE local experimental EtherType
	b.inject(g)
	b.expectNothingFor(5 * time.Second)
	s := b.core.Stats().Link
	if s.NotForUs != 1 || s.UnknownEtherType != 1 {
		t.Fatalf("link stats %+v; want NotForUs 1, UnknownEtherType 1", s)
	}
}

func TestARPCacheIsBounded(t *testing.T) {
	b := newBench(t, func(c *Config) { c.ARP.CacheSize = 2 })
	hosts := []byte{10, 11, 12}
	for _, h := range hosts {
		mac := net.HardwareAddr{2, 0, 0, 0, 1, h}
		ip := netipFrom4([4]byte{198, 18, 0, h})
		b.inject(arpFrame(layers.ARPRequest, mac, ip, nil, stackIP, bcastMAC))
		b.next()
		b.advance(time.Second)
	}
	if n := b.core.ARP().Len(); n != 2 {
		t.Fatalf("%d entries, want 2", n)
	}
	if _, ok := b.core.ARP().Lookup(netipFrom4([4]byte{198, 18, 0, 10})); ok {
		t.Fatal("the oldest entry was not the one evicted")
	}
	// A cache full of unresolved entries refuses new resolutions.
	full := newBench(t, func(c *Config) { c.ARP.CacheSize = 1 })
	if err := full.core.SendIPv4(peerIP, wire.ProtocolTCP, []byte("a"), ipv4.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := full.core.SendIPv4(otherIP, wire.ProtocolTCP, []byte("b"), ipv4.SendOptions{}); err != arp.ErrTableFull {
		t.Fatalf("err %v, want ErrTableFull", err)
	}
}
