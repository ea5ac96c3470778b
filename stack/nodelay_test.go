package stack_test

import (
	"sync/atomic"
	"testing"

	"github.com/mtcp-go/mtcp/stack"
	"github.com/mtcp-go/mtcp/stack/link"
	"github.com/mtcp-go/mtcp/stack/link/pipe"
)

// holdLink passes frames through, but drops every incoming frame while hold is set: the
// stack behind it hears nothing from its peer, ACKs included.
type holdLink struct {
	link.Endpoint
	hold atomic.Bool
}

func (h *holdLink) Attach(r link.Receiver) {
	if r == nil {
		h.Endpoint.Attach(nil)
		return
	}
	h.Endpoint.Attach(link.ReceiverFunc(func(f []byte) {
		if !h.hold.Load() {
			r.DeliverFrame(f)
		}
	}))
}

// A Conn does not delay small writes by default, as Go's own TCP connections do not: with
// the first unacknowledged (its ACK held back), a second small Write goes out at once.
// The control: with SetNoDelay(false), Nagle's algorithm holds the second back.
func TestSmallWritesGoOutAtOnceByDefault(t *testing.T) {
	a, b := pipe.New(1500)
	hl := &holdLink{Endpoint: a}
	client, err := stack.New(stack.Config{Link: hl, Addr: clientPrefix})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := stack.New(stack.Config{Link: b, Addr: serverPrefix})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	for _, c := range []struct {
		name    string
		nagle   bool
		sent    uint32
		notSent int
	}{{"default", false, 2, 0}, {"SetNoDelay(false)", true, 1, 1}} {
		hl.hold.Store(false)
		cc, _ := connected(t, client, server, 80)
		if c.nagle {
			if err := cc.SetNoDelay(false); err != nil {
				t.Fatal(err)
			}
		}
		hl.hold.Store(true)
		before := cc.Info().DataSegsOut
		mustWrite(t, cc, []byte("a"))
		mustWrite(t, cc, []byte("b"))
		info := cc.Info()
		if sent := info.DataSegsOut - before; sent != c.sent || info.NotSent != c.notSent {
			t.Errorf("%s: %d data segments sent, %d bytes held; want %d, %d", c.name, sent, info.NotSent, c.sent, c.notSent)
		}
		_ = cc.Close()
	}
}
