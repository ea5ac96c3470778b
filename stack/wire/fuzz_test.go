package wire_test

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// The checks below run on every successful parse, from the fuzz targets and from the
// fixed-seed random tests: every accessor is called (no accessor may panic after a
// successful parse) and the view's invariants and round trip are checked.

var sink any // keeps accessor results alive

func checkEthernet(t *testing.T, in []byte, e wire.Ethernet) {
	if len(e) < wire.EthernetHeaderLen || len(e) != len(in) {
		t.Fatalf("view is %d bytes of %d", len(e), len(in))
	}
	if e.EtherType() < 0x0600 {
		t.Fatalf("EtherType %v accepted", e.EtherType())
	}
	if len(e.Payload()) != len(e)-wire.EthernetHeaderLen {
		t.Fatalf("payload is %d bytes of %d", len(e.Payload()), len(e))
	}
	d, s := e.Destination(), e.Source()
	sink = []any{d.IsBroadcast(), d.IsMulticast(), d.IsZero(), d.String(), s.HardwareAddr(), e.EtherType().String()}
	f := e.Fields()
	b := make([]byte, wire.EthernetHeaderLen)
	f.Encode(b)
	if !bytes.Equal(b, e[:wire.EthernetHeaderLen]) {
		t.Fatalf("Fields %+v encode to %x, want %x", f, b, []byte(e[:wire.EthernetHeaderLen]))
	}
	c := wire.Ethernet(append([]byte(nil), e...))
	c.SetDestination(s)
	c.SetSource(d)
	if c.Destination() != s || c.Source() != d {
		t.Fatal("setters did not stick")
	}
}

func checkARP(t *testing.T, in []byte, a wire.ARP) {
	if len(a) != wire.ARPLen || &a[0] != &in[0] {
		t.Fatalf("view is %d bytes, want %d aliasing the input", len(a), wire.ARPLen)
	}
	if a.HardwareType() != 1 || a.ProtocolType() != wire.EtherTypeIPv4 || (a.Operation() != wire.ARPRequest && a.Operation() != wire.ARPReply) {
		t.Fatalf("accepted hardware type %d, protocol type %v, operation %d", a.HardwareType(), a.ProtocolType(), a.Operation())
	}
	sink = []any{a.SenderHardwareAddr(), a.SenderProtocolAddr(), a.TargetHardwareAddr(), a.TargetProtocolAddr()}
	f := a.Fields()
	b := make([]byte, wire.ARPLen)
	f.Encode(b)
	if !bytes.Equal(b, a) {
		t.Fatalf("Fields %+v encode to %x, want %x", f, b, []byte(a))
	}
}

func checkIPv4(t *testing.T, in []byte, p wire.IPv4) {
	hl := p.HeaderLen()
	if len(p) != int(p.TotalLength()) || len(p) > len(in) || hl < wire.IPv4MinHeaderLen || hl > wire.IPv4MaxHeaderLen || hl > len(p) {
		t.Fatalf("view %d bytes of %d, TotalLength %d, HeaderLen %d", len(p), len(in), p.TotalLength(), hl)
	}
	if p.Version() != 4 || len(p.Options()) != hl-wire.IPv4MinHeaderLen || len(p.Payload()) != len(p)-hl {
		t.Fatalf("Version %d, %d option bytes, %d payload bytes", p.Version(), len(p.Options()), len(p.Payload()))
	}
	sink = []any{p.TOS(), p.ID(), p.Flags(), p.DontFragment(), p.MoreFragments(), p.FragmentOffset(), p.IsFragment(),
		p.TTL(), p.Protocol().String(), p.Checksum(), p.Source(), p.Destination(), p.ChecksumValid()}
	// Fields encode to the same bytes, checksum aside, and parse back to the same values.
	f := p.Fields()
	b := make([]byte, len(p))
	copy(b[hl:], p.Payload())
	if f.HeaderLen() != hl {
		t.Fatalf("Fields.HeaderLen %d, view %d", f.HeaderLen(), hl)
	}
	f.Encode(b, len(p)-hl)
	q, err := wire.ParseIPv4(b)
	if err != nil {
		t.Fatalf("re-encoded %x does not parse: %v", b, err)
	}
	if !ipv4FieldsEqual(q.Fields(), f) || !q.ChecksumValid() {
		t.Fatalf("re-encoded fields %+v, want %+v (checksum valid %v)", q.Fields(), f, q.ChecksumValid())
	}
	copy(b[10:12], p[10:12])
	if !bytes.Equal(b, p) {
		t.Fatalf("re-encoded\n%x\nwant\n%x", b, []byte(p))
	}
	// The setters and UpdateChecksum work on any parsed view.
	c := wire.IPv4(append([]byte(nil), p...))
	c.SetTTL(p.TTL() + 1)
	c.SetID(p.ID() + 1)
	c.SetSource(p.Destination())
	c.SetDestination(p.Source())
	c.UpdateChecksum()
	if !c.ChecksumValid() {
		t.Fatal("checksum not valid after UpdateChecksum")
	}
}

func checkICMPv4(t *testing.T, in []byte, m wire.ICMPv4) {
	if len(m) != len(in) || len(m) < wire.ICMPv4HeaderLen || len(m.Payload()) != len(m)-wire.ICMPv4HeaderLen {
		t.Fatalf("view %d bytes of %d, payload %d", len(m), len(in), len(m.Payload()))
	}
	sink = []any{m.Type(), m.Code(), m.Checksum(), m.Ident(), m.Seq(), m.Pointer(), m.NextHopMTU(), m.IsError(), m.ChecksumValid()}
	f := m.Fields()
	b := append([]byte(nil), m...)
	f.Encode(b)
	q, err := wire.ParseICMPv4(b)
	if err != nil || q.Fields() != f || !q.ChecksumValid() {
		t.Fatalf("re-encoded %x: err %v, fields %+v, want %+v", b, err, q.Fields(), f)
	}
	copy(b[2:4], m[2:4])
	if !bytes.Equal(b, m) {
		t.Fatalf("re-encoded %x, want %x", b, []byte(m))
	}
}

func checkTCP(t *testing.T, in []byte, s wire.TCP) {
	hl := s.HeaderLen()
	if len(s) != len(in) || hl < wire.TCPMinHeaderLen || hl > wire.TCPMaxHeaderLen || hl > len(s) || hl != int(s.DataOffset())*4 {
		t.Fatalf("view %d bytes of %d, HeaderLen %d, DataOffset %d", len(s), len(in), hl, s.DataOffset())
	}
	if len(s.Options()) != hl-wire.TCPMinHeaderLen || len(s.Payload()) != len(s)-hl {
		t.Fatalf("%d option bytes, %d payload bytes", len(s.Options()), len(s.Payload()))
	}
	o := s.DecodeOptions()
	if o.NumSACKBlocks < 0 || o.NumSACKBlocks > len(o.SACKBlocks) {
		t.Fatalf("NumSACKBlocks %d", o.NumSACKBlocks)
	}
	sink = []any{s.SourcePort(), s.DestinationPort(), s.SeqNum(), s.AckNum(), s.Reserved(), s.Flags().String(),
		s.WindowSize(), s.Checksum(), s.UrgentPointer(), s.ChecksumValid(addrA, addrB)}

	// Fields encode, into a buffer of the same length, to the same bytes (checksum aside)
	// and parse back to equal values.
	f := s.Fields()
	if f.HeaderLen() != hl {
		t.Fatalf("Fields.HeaderLen %d, view %d", f.HeaderLen(), hl)
	}
	b := make([]byte, len(s))
	copy(b[hl:], s.Payload())
	f.Encode(b, addrA, addrB)
	r, err := wire.ParseTCP(b)
	if err != nil {
		t.Fatalf("re-encoded %x does not parse: %v", b, err)
	}
	if g := r.Fields(); !reflect.DeepEqual(g, f) || !r.ChecksumValid(addrA, addrB) {
		t.Fatalf("re-encoded fields\n%+v\nwant\n%+v\n(checksum valid %v)", g, f, r.ChecksumValid(addrA, addrB))
	}
	copy(b[16:18], s[16:18])
	if !bytes.Equal(b, s) {
		t.Fatalf("re-encoded\n%x\nwant\n%x", b, []byte(s))
	}

	// The decoded options, when they fit, encode to options that decode to the same values
	// (unknown options aside).
	if o.EncodedLen() <= wire.TCPMaxHeaderLen-wire.TCPMinHeaderLen {
		g := wire.TCPFields{Options: o}
		seg := make([]byte, g.HeaderLen())
		g.Encode(seg, addrA, addrB)
		q, err := wire.ParseTCP(seg)
		if err != nil {
			t.Fatalf("options %+v encode to %x, which does not parse: %v", o, seg, err)
		}
		want := o
		want.Unknown = 0
		if got := q.DecodeOptions(); got != want {
			t.Fatalf("options %+v encode and decode to %+v", want, got)
		}
	}
}

// Random inputs for the no-panic tests: mutated and truncated fixtures, and plain noise.

type mutator struct{ r *rand.Rand }

func (m mutator) mutate(seed []byte) []byte {
	b := append([]byte(nil), seed...)
	switch m.r.IntN(6) {
	case 0: // truncate
		return b[:m.r.IntN(len(b)+1)]
	case 1: // noise of any length
		return randomBytes(m.r, m.r.IntN(100))
	case 2: // extend with noise
		return append(b, randomBytes(m.r, m.r.IntN(40))...)
	}
	for range 1 + m.r.IntN(4) { // flip bytes or bits
		if len(b) == 0 {
			break
		}
		i := m.r.IntN(len(b))
		if m.r.IntN(2) == 0 {
			b[i] = byte(m.r.Uint32())
		} else {
			b[i] ^= 1 << m.r.IntN(8)
		}
	}
	if m.r.IntN(3) == 0 && len(b) > 0 {
		b = b[:m.r.IntN(len(b)+1)]
	}
	return b
}

// noPanicRuns is how many random inputs each no-panic test tries.
const noPanicRuns = 50000

func runNoPanic(t *testing.T, seeds [][]byte, try func(b []byte) bool) {
	m := mutator{rand.New(rand.NewPCG(0x5eed, uint64(len(seeds))))}
	ok := 0
	for i := range noPanicRuns {
		in := m.mutate(seeds[i%len(seeds)])
		if try(in) {
			ok++
		}
	}
	// The inputs must reach the accessors often enough for the test to mean something.
	if ok < noPanicRuns/20 {
		t.Errorf("only %d of %d random inputs parsed", ok, noPanicRuns)
	}
	t.Logf("%d of %d random inputs parsed", ok, noPanicRuns)
}

func frames(t testing.TB) [][]byte {
	return [][]byte{mustHex(t, fixtureARPRequest), mustHex(t, fixtureICMPEcho), mustHex(t, fixtureTCPSYN)}
}

func ipv4Seeds(t testing.TB) [][]byte {
	var s [][]byte
	for _, f := range frames(t)[1:] {
		s = append(s, f[wire.EthernetHeaderLen:])
	}
	opts := wire.IPv4Fields{TTL: 1, Protocol: wire.ProtocolUDP, Source: addrA, Destination: addrB, Options: []byte{0x94, 4, 0, 0, 7, 7, 4}}
	return append(s, encodeIPv4(opts, []byte("payload")), quotedUDP())
}

func icmpSeeds(t testing.TB) [][]byte {
	return [][]byte{
		mustHex(t, fixtureICMPEcho)[wire.EthernetHeaderLen+wire.IPv4MinHeaderLen:],
		encodeICMPv4(wire.ICMPv4Fields{Type: wire.ICMPv4DestUnreach, Code: wire.ICMPv4PortUnreachable}, quotedUDP()),
		encodeICMPv4(wire.ICMPv4Fields{Type: wire.ICMPv4ParamProblem, RestOfHeader: 12 << 24}, quotedUDP()),
	}
}

func tcpSeeds(t testing.TB) [][]byte {
	s := [][]byte{mustHex(t, fixtureTCPSYN)[wire.EthernetHeaderLen+wire.IPv4MinHeaderLen:]}
	for _, f := range []wire.TCPFields{
		{Flags: wire.ACK, Options: sack(tsOpt, block1, block2, block3)},
		{Flags: wire.ACK, Options: sack(wire.TCPOptions{MSS: 1}, block1, block2, block3, block4)},
		{Flags: wire.SYN, Options: synOpt},
		{Flags: wire.PSH | wire.ACK},
		{Flags: wire.SYN, RawOptions: []byte{30, 4, 1, 2, 34, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 0, 0xff}},
	} {
		s = append(s, encodeTCP(f, []byte("data"), addrA, addrB))
	}
	return s
}

func TestNoAccessorPanicsEthernet(t *testing.T) {
	runNoPanic(t, frames(t), func(b []byte) bool {
		e, err := wire.ParseEthernet(b)
		if err == nil {
			checkEthernet(t, b, e)
		}
		return err == nil
	})
}

func TestNoAccessorPanicsARP(t *testing.T) {
	seeds := [][]byte{mustHex(t, fixtureARPRequest)[wire.EthernetHeaderLen:], mustHex(t, fixtureARPRequest)[wire.EthernetHeaderLen:][:wire.ARPLen]}
	runNoPanic(t, seeds, func(b []byte) bool {
		a, err := wire.ParseARP(b)
		if err == nil {
			checkARP(t, b, a)
		}
		return err == nil
	})
}

func TestNoAccessorPanicsIPv4(t *testing.T) {
	runNoPanic(t, ipv4Seeds(t), func(b []byte) bool {
		p, err := wire.ParseIPv4(b)
		if err == nil {
			checkIPv4(t, b, p)
		}
		return err == nil
	})
}

func TestNoAccessorPanicsICMPv4(t *testing.T) {
	runNoPanic(t, icmpSeeds(t), func(b []byte) bool {
		m, err := wire.ParseICMPv4(b)
		if err == nil {
			checkICMPv4(t, b, m)
		}
		return err == nil
	})
}

func TestNoAccessorPanicsTCP(t *testing.T) {
	runNoPanic(t, tcpSeeds(t), func(b []byte) bool {
		s, err := wire.ParseTCP(b)
		if err == nil {
			checkTCP(t, b, s)
		}
		return err == nil
	})
}

// TestNoAccessorPanicsTCPOptions walks random option bytes behind a valid data offset, which
// plain mutation rarely reaches.
func TestNoAccessorPanicsTCPOptions(t *testing.T) {
	r := rand.New(rand.NewPCG(793, 9293))
	kinds := []byte{0, 1, 2, 3, 4, 5, 8, 30, 254}
	ok := 0
	for range noPanicRuns {
		n := 4 * r.IntN(11)
		b := make([]byte, wire.TCPMinHeaderLen+n+r.IntN(8))
		b[12] = byte(5+n/4) << 4
		for i := wire.TCPMinHeaderLen; i < wire.TCPMinHeaderLen+n; i++ {
			switch r.IntN(3) {
			case 0:
				b[i] = kinds[r.IntN(len(kinds))]
			case 1:
				b[i] = byte(r.IntN(12))
			default:
				b[i] = byte(r.Uint32())
			}
		}
		if s, err := wire.ParseTCP(b); err == nil {
			checkTCP(t, b, s)
			ok++
		}
	}
	if ok < noPanicRuns/20 {
		t.Errorf("only %d of %d random option areas parsed", ok, noPanicRuns)
	}
	t.Logf("%d of %d random option areas parsed", ok, noPanicRuns)
}

// Fuzz targets, one per parser. Run one with, for example:
//
//	go test -run '^$' -fuzz '^FuzzParseTCP$' -fuzztime 60s -parallel 2 ./stack/wire

func FuzzParseEthernet(f *testing.F) {
	for _, s := range frames(f) {
		f.Add(s)
	}
	f.Add(make([]byte, 14))
	f.Fuzz(func(t *testing.T, b []byte) {
		if e, err := wire.ParseEthernet(b); err == nil {
			checkEthernet(t, b, e)
		} else {
			checkError(t, err, "ethernet")
		}
	})
}

func FuzzParseARP(f *testing.F) {
	arp := mustHex(f, fixtureARPRequest)[wire.EthernetHeaderLen:]
	f.Add(arp)
	f.Add(arp[:wire.ARPLen])
	b := make([]byte, wire.ARPLen)
	(&wire.ARPFields{Operation: wire.ARPReply, SenderHardwareAddr: macB, SenderProtocolAddr: addrB, TargetHardwareAddr: macA, TargetProtocolAddr: addrA}).Encode(b)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		if a, err := wire.ParseARP(b); err == nil {
			checkARP(t, b, a)
		} else {
			checkError(t, err, "arp")
		}
	})
}

func FuzzParseIPv4(f *testing.F) {
	for _, s := range ipv4Seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := wire.ParseIPv4(b); err == nil {
			checkIPv4(t, b, p)
		} else {
			checkError(t, err, "ipv4")
		}
	})
}

func FuzzParseICMPv4(f *testing.F) {
	for _, s := range icmpSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := wire.ParseICMPv4(b); err == nil {
			checkICMPv4(t, b, m)
		} else {
			checkError(t, err, "icmpv4")
		}
	})
}

func FuzzParseTCP(f *testing.F) {
	for _, s := range tcpSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := wire.ParseTCP(b); err == nil {
			checkTCP(t, b, s)
		} else {
			checkError(t, err, "tcp")
		}
	})
}

// checkError checks that a parse error is a *wire.Error of the layer, naming a field.
func checkError(t *testing.T, err error, layer string) {
	we, ok := err.(*wire.Error)
	if !ok || we.Layer != layer || we.Field == "" || we.Reason == "" || err.Error() != layer+": "+string(we.Field)+" "+we.Reason {
		t.Fatalf("error %q (%T) is not a %s *wire.Error naming a field", err, err, layer)
	}
}
