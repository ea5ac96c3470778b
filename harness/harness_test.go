package harness_test

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/mtcpdut"
	"github.com/mtcp-go/mtcp/internal/pcapngtest"
)

// fakeT records the bench's failures instead of stopping the test, so the failure paths can
// be asserted. Fatalf panics like a real one would stop the spec; catch recovers it.
type fakeT struct{ failures []string }

type fatal struct{}

func (t *fakeT) Helper() {}
func (t *fakeT) Fatalf(format string, args ...any) {
	t.failures = append(t.failures, fmt.Sprintf(format, args...))
	panic(fatal{})
}

func catch(f func()) (failed bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(fatal); !ok {
				panic(r)
			}
			failed = true
		}
	}()
	f()
	return false
}

// scripted is a DUT that sends given frames at given times after each delivery or advance.
type scripted struct {
	out      func([]byte)
	now      time.Time
	schedule []timed
}

type timed struct {
	at    time.Time
	frame []byte
}

func (s *scripted) Name() string                        { return "scripted" }
func (s *scripted) MAC() net.HardwareAddr               { return DefaultStackMAC }
func (s *scripted) Addr() netip.Prefix                  { return DefaultStackAddr }
func (s *scripted) SetOutput(out func([]byte))          { s.out = out }
func (s *scripted) Deliver(now time.Time, frame []byte) { s.Advance(now) }
func (s *scripted) Advance(now time.Time) {
	s.now = now
	for len(s.schedule) > 0 && !s.schedule[0].at.After(now) {
		f := s.schedule[0].frame
		s.schedule = s.schedule[1:]
		s.out(f)
	}
}
func (s *scripted) NextDeadline() (time.Time, bool) {
	if len(s.schedule) == 0 {
		return time.Time{}, false
	}
	return s.schedule[0].at, true
}

// echoReplyBytes is a well-formed echo reply from the stack to the peer, built by gopacket.
func echoReplyBytes() []byte {
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		&layers.Ethernet{SrcMAC: DefaultStackMAC, DstMAC: DefaultPeerMAC, EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: DefaultStackAddr.Addr().AsSlice(), DstIP: DefaultPeerIP.AsSlice()},
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoReply, 0), Id: 7, Seq: 9},
		gopacket.Payload("data"))
	if err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func TestAWrongExpectationFailsWithTheDecodedFrame(t *testing.T) {
	g := NewWithT(t)
	ft := &fakeT{}
	b := New(ft, newMTCP(t))
	b.Inject(b.Peer().Echo(7, 9, []byte("data")))
	f := b.Next()
	m := BeARPReply(SenderIP(b.StackIP()))
	ok, err := m.Match(f)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ok).To(BeFalse())
	msg := m.FailureMessage(f)
	for _, want := range []string{
		"Expected ARP reply with sender IP 198.18.0.2", "it is not an ARP reply",
		"198.18.0.2 → 198.18.0.1 ICMP EchoReply id=0x0007, seq=9", // the one-line summary
		"Internet Protocol Version 4", "TTL 64", "Internet Control Message Protocol, type 0 code 0",
	} {
		g.Expect(msg).To(ContainSubstring(want))
	}
	g.Expect(f.Comments()).To(ContainElement(ContainSubstring("expected instead: ARP reply")))

	// A field mismatch names the field, what was wanted and what came.
	m = BeICMPEchoReply(ICMPSeq(10), TTL(BeNumerically(">", 100)))
	ok, _ = m.Match(f)
	g.Expect(ok).To(BeFalse())
	g.Expect(m.FailureMessage(f)).To(And(ContainSubstring("ICMP seq: want 10, got 9"), ContainSubstring("TTL: want > 100, got 64")))

	// The same frame meets the right expectation, and says so in its comments.
	g.Expect(f).To(BeICMPEchoReply(ICMPID(7), ICMPSeq(9), EchoData([]byte("data")), TTL(64)))
	g.Expect(f.Comments()).To(ContainElement(HavePrefix("met: ICMP echo reply with ICMP id 7")))
	g.Expect(ft.failures).To(BeEmpty())
}

func TestTheOracleRejectsBadChecksums(t *testing.T) {
	g := NewWithT(t)
	good := echoReplyBytes()
	for name, corrupt := range map[string]func([]byte){
		"IPv4 header": func(b []byte) { b[24] ^= 0x40 },
		"ICMP":        func(b []byte) { b[36] ^= 0x01 },
	} {
		bad := append([]byte(nil), good...)
		corrupt(bad)
		ft := &fakeT{}
		d := &scripted{schedule: []timed{{at: DefaultStart(), frame: bad}}}
		g.Expect(catch(func() { New(ft, d) })).To(BeTrue(), name)
		g.Expect(ft.failures).To(ConsistOf(And(ContainSubstring("bad checksum"), ContainSubstring(name+" checksum"))), name)
	}
	ft := &fakeT{}
	d := &scripted{schedule: []timed{{at: DefaultStart(), frame: good}}}
	b := New(ft, d)
	g.Expect(b.Next()).To(BeICMPEchoReply())
}

func TestTimeIsVirtualAndExact(t *testing.T) {
	g := NewWithT(t)
	t0 := DefaultStart()
	d := &scripted{schedule: []timed{{t0.Add(1500 * time.Millisecond), echoReplyBytes()}, {t0.Add(time.Hour), echoReplyBytes()}}}
	ft := &fakeT{}
	b := New(ft, d)
	wall := time.Now()
	// Nothing yet: Next fails at once.
	g.Expect(catch(func() { b.Next() })).To(BeTrue())
	g.Expect(ft.failures[0]).To(ContainSubstring("expected a frame from the stack, it sent nothing"))
	// NextWithin stops the clock at the frame's own time.
	f := b.NextWithin(10 * time.Second)
	g.Expect(f.Offset).To(Equal(1500 * time.Millisecond))
	g.Expect(b.Elapsed()).To(Equal(1500 * time.Millisecond))
	// ExpectNothingFor fails on the frame an hour later, naming its time.
	g.Expect(catch(func() { b.ExpectNothingFor(2 * time.Hour) })).To(BeTrue())
	g.Expect(ft.failures[1]).To(ContainSubstring("at +3600.000000s it sent"))
	g.Expect(time.Since(wall)).To(BeNumerically("<", time.Second), "two virtual hours took real time")
}

func TestTheCaptureHasDirectionsCommentsAndVirtualTimestamps(t *testing.T) {
	g := NewWithT(t)
	b := New(t, newMTCP(t))
	b.Advance(2 * time.Second)
	b.Inject(b.Peer().Echo(1, 1, []byte("x")))
	g.Expect(b.Next()).To(BeICMPEchoReply(ICMPSeq(1)))
	path := filepath.Join(t.TempDir(), "sub", "spec.pcapng")
	g.Expect(b.WriteCapture(path, "X1 demo\nverdict: passed")).To(Succeed())

	c := pcapngtest.Read(t, path)
	g.Expect(c.Comment).To(Equal("X1 demo\nverdict: passed"))
	var dirs []pcapgo.NgEpbFlag
	var comments []string
	for _, p := range c.Packets {
		g.Expect(p.Time).To(Equal(DefaultStart().Add(2 * time.Second)))
		g.Expect(p.Flags).NotTo(BeNil())
		dirs = append(dirs, p.Direction())
		comments = append(comments, strings.Join(p.Comments, " / "))
	}
	// The echo, the stack's ARP request for the peer, the bench's answer, the reply.
	g.Expect(dirs).To(Equal([]pcapgo.NgEpbFlag{pcapgo.NgEpbFlagDirectionInbound, pcapgo.NgEpbFlagDirectionOutbound,
		pcapgo.NgEpbFlagDirectionInbound, pcapgo.NgEpbFlagDirectionOutbound}))
	g.Expect(comments[0]).To(HavePrefix("injected: ICMP echo request"))
	g.Expect(comments[1]).To(ContainSubstring("answered by the bench"))
	g.Expect(comments[3]).To(HavePrefix("met: ICMP echo reply"))
}

func TestTCPFieldsMutateTCPAndTryNextWithin(t *testing.T) {
	g := NewWithT(t)
	b := New(t, newMTCP(t))
	// Reserved bits set after serialization, the checksum recomputed: a valid segment.
	b.Inject(b.Peer().TCP(Segment{DstPort: 81, Flags: SYN, Seq: 1, Win: 100, MSS: 1460, WScale: 7, Data: []byte("abc")}).
		MutateTCP("reserved bits 0101", func(seg []byte) { seg[12] |= 0x05 }))
	in := b.Frames()[0]
	g.Expect(in.ChecksumErrors()).To(BeEmpty())
	g.Expect(in).To(BeTCP(Flags(SYN), HasMSS(1460), HasWScale(7), PayloadLen(3), ReservedBits(5),
		WithoutOption(layers.TCPOptionKindTimestamps)))
	g.Expect(in).To(BeTCP(Flags(BeElementOf(SYN, SYN|ACK))))
	m := BeTCP(WithoutOption(layers.TCPOptionKindWindowScale), PayloadLen(BeNumerically("<", 3)))
	ok, _ := m.Match(in)
	g.Expect(ok).To(BeFalse())
	g.Expect(m.FailureMessage(in)).To(And(ContainSubstring("WindowScale option: want absent, got present"),
		ContainSubstring("payload length: want < 3, got 3")))
	// Or, And and Not read as what they combine.
	m = BeTCP(Flags(Or(Equal(SYN|ACK), Equal(SYN|ACK|ECE))), PayloadLen(And(BeNumerically(">", 3), Not(Equal(7)))))
	ok, _ = m.Match(in)
	g.Expect(ok).To(BeFalse())
	g.Expect(m.FailureMessage(in)).To(And(ContainSubstring("flags: want (SYN|ACK or SYN|ACK|ECE), got SYN"),
		ContainSubstring("payload length: want (> 3 and not 7), got 3")))
	// A frame already sent is taken without moving time; then nothing comes for 3 s.
	g.Expect(b.TryNextWithin(0)).To(BeTCP(Flags(RST|ACK), Ack(5)))
	start := b.Elapsed()
	g.Expect(b.TryNextWithin(3 * time.Second)).To(BeNil())
	g.Expect(b.Elapsed() - start).To(Equal(3 * time.Second))
}

// newMTCP is a fresh mtcp core at the bench's defaults.
func newMTCP(t *testing.T) DUT {
	t.Helper()
	d, err := mtcpdut.Target{}.NewDUT()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
