package stack

import (
	"context"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/stack/link/pipe"
	"github.com/mtcp-go/mtcp/stack/tcp"
)

// A connection the server closed first sits in TIME-WAIT in the TCP core's compact table; the
// stack's registry lets go of it then, so the application dropping it frees it, rather than
// 2·MSL later. The control: an open connection stays registered.
func TestTimeWaitLeavesTheRegistry(t *testing.T) {
	a, b := pipe.New(1500)
	client, err := New(Config{Link: a, Addr: netip.MustParsePrefix("198.18.0.1/24")})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := New(Config{Link: b, Addr: netip.MustParsePrefix("198.18.0.2/24")})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	ln, err := server.Listen(80)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	registered := func() int {
		server.mu.Lock()
		defer server.mu.Unlock()
		return len(server.conns)
	}
	for i := range 20 {
		cc, err := client.DialContext(ctx, netip.MustParseAddrPort("198.18.0.2:80"))
		if err != nil {
			t.Fatal(err)
		}
		sc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if n := registered(); n != 1 {
			t.Fatalf("connection %d open: %d registered, want 1", i, n)
		}
		_ = sc.Close() // the server closes first: its end goes to TIME-WAIT
		if _, err := io.ReadAll(cc); err != nil {
			t.Fatal(err)
		}
		_ = cc.Close()
		for deadline := time.Now().Add(5 * time.Second); sc.(*Conn).Info().State != tcp.TimeWait; {
			if time.Now().After(deadline) {
				t.Fatalf("connection %d: server end %v, not TIME-WAIT", i, sc.(*Conn).Info().State)
			}
			time.Sleep(time.Millisecond)
		}
	}
	if n := registered(); n != 0 {
		t.Fatalf("%d connections in TIME-WAIT still registered", n)
	}
}
