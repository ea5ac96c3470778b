package harness_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	. "github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/stack/tcp"
)

func TestSmokeTCP(t *testing.T) {
	g := NewWithT(t)
	b := New(t)
	var ln *tcp.Listener
	b.Do(func() {
		var err error
		ln, err = b.TCP().Listen(80, 0)
		g.Expect(err).NotTo(HaveOccurred())
	})
	b.Inject(b.Peer().TCP(Segment{Flags: SYN, Seq: 1000, Win: 29200, MSS: 1460, WScale: 7}))
	synack := b.Next()
	t.Log(synack.Describe())
	g.Expect(synack).To(BeTCP(Flags(SYN|ACK), Ack(1001), HasMSS(1460)))
	iss := synack.TCP().Seq
	b.Inject(b.Peer().TCP(Segment{Flags: ACK, Seq: 1001, Ack: iss + 1, Win: 229}))
	c, err := ln.Accept()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.State()).To(Equal(tcp.Established))
	b.Inject(b.Peer().TCP(Segment{Flags: ACK | PSH, Seq: 1001, Ack: iss + 1, Win: 229, Data: []byte("hello")}))
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(buf[:n])).To(Equal("hello"))
	b.Do(func() { c.Write([]byte("echo: hello")) })
	d := b.Next()
	t.Log(d.Describe())
	g.Expect(d).To(BeTCP(Flags(ACK|PSH), Seq(iss+1), Ack(1006), Payload([]byte("echo: hello"))))
	b.Do(func() { c.Close() })
	fin := b.Next()
	t.Log(fin.Describe())
	g.Expect(fin).To(BeTCP(Flags(ACK|FIN), Seq(iss+12)))
	b.Inject(b.Peer().TCP(Segment{Flags: ACK | FIN, Seq: 1006, Ack: iss + 13, Win: 229}))
	g.Expect(b.Next()).To(BeTCP(Flags(ACK), Ack(1007)))
	g.Expect(c.State()).To(Equal(tcp.TimeWait))
	b.Advance(60 * time.Second)
	g.Expect(c.State()).To(Equal(tcp.Closed))
	// closed port
	b.Inject(b.Peer().TCP(Segment{Flags: SYN, Seq: 5000, Win: 29200, DstPort: 81}))
	g.Expect(b.Next()).To(BeTCP(Flags(RST|ACK), Seq(0), Ack(5001)))
	// retransmission of unacked data
	b.Inject(b.Peer().TCP(Segment{SrcPort: 40001, Flags: SYN, Seq: 1000, Win: 29200, MSS: 1460}))
	sa := b.Next()
	iss = sa.TCP().Seq
	b.Inject(b.Peer().TCP(Segment{SrcPort: 40001, Flags: ACK, Seq: 1001, Ack: iss + 1, Win: 29200}))
	c2, _ := ln.Accept()
	b.Do(func() { c2.Write([]byte("data")) })
	g.Expect(b.Next()).To(BeTCP(Payload([]byte("data"))))
	for i, want := range []time.Duration{1, 3, 7} {
		f := b.NextWithin(10 * time.Second)
		g.Expect(f).To(BeTCP(Payload([]byte("data"))), "retransmission %d", i)
		g.Expect(f.Offset - sa.Offset).To(Equal(want * time.Second))
	}
}
