package core_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/stack/tcp"
)

// Sequential dials to one destination, the client closing first, as many as the ephemeral
// range holds and one more, in virtual time: each leaves a TIME-WAIT on the client for 2·MSL
// (20 minutes here, so none ends). The last dial finds every port taken and takes over the
// oldest TIME-WAIT, which used timestamps and is more than a second old (Linux's
// tcp_tw_reuse), and its connection works. Without timestamps there is nothing to tell the
// incarnations apart by, so the same dial fails with ErrNoPorts (the control).
func TestSequentialDialsReuseTimeWait(t *testing.T) {
	for _, c := range []struct {
		timestamps tcp.Switch
		want       error
	}{{tcp.On, nil}, {tcp.Off, tcp.ErrNoPorts}} {
		w := newWire2(t, nil, tcp.Config{MSL: 10 * time.Minute, Timestamps: c.timestamps})
		ln, err := w.cores[1].TCP().Listen(9, 0)
		if err != nil {
			t.Fatal(err)
		}
		dial := func() (*tcp.Conn, error) {
			cl, err := w.cores[0].TCP().Dial(netip.MustParseAddrPort("198.18.0.2:9"))
			if err != nil {
				return nil, err
			}
			for cl.State() != tcp.Established {
				if cl.Err() != nil {
					return nil, cl.Err()
				}
				if !w.step(w.now.Add(time.Minute)) {
					t.Fatalf("dial stalled in %v", cl.State())
				}
			}
			return cl, nil
		}
		const ports = 60999 - 32768 + 1 // Linux's ip_local_port_range, the stack's
		for i := range ports {
			cl, err := dial()
			if err != nil {
				t.Fatalf("timestamps %v: dial %d: %v", c.timestamps, i+1, err)
			}
			srv, err := ln.Accept()
			for errors.Is(err, tcp.ErrWouldBlock) && w.step(w.now.Add(time.Minute)) {
				srv, err = ln.Accept() // the handshake's last ACK was on its way
			}
			if err != nil {
				t.Fatalf("dial %d: accept: %v", i+1, err)
			}
			cl.Close() // the client closes first: TIME-WAIT is the client's
			for srv.State() != tcp.CloseWait {
				w.step(w.now.Add(time.Minute))
			}
			srv.Close()
			for cl.State() != tcp.TimeWait || srv.State() != tcp.Closed {
				if !w.step(w.now.Add(time.Minute)) {
					t.Fatalf("dial %d: close stalled: client %v, server %v", i+1, cl.State(), srv.State())
				}
			}
		}
		if n := w.cores[0].TCP().TimeWaits(); n != ports {
			t.Fatalf("%d TIME-WAITs on the client, want one per port (%d)", n, ports)
		}
		cl, err := dial()
		if !errors.Is(err, c.want) {
			t.Fatalf("timestamps %v: the dial past the range: %v, want %v", c.timestamps, err, c.want)
		}
		reused := w.cores[0].TCP().Stats().TimeWaitDialReused
		if c.want == nil && (reused != 1 || cl.State() != tcp.Established) {
			t.Errorf("timestamps on: %d TIME-WAITs taken over, connection %v", reused, cl.State())
		}
		if c.want != nil && reused != 0 {
			t.Errorf("timestamps off: %d TIME-WAITs taken over", reused)
		}
	}
}
