package stack

import (
	"context"
	"io"
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/stack/link/pipe"
	"github.com/mtcp-go/mtcp/stack/tcp"
)

// A connection the server closed first sits in TIME-WAIT in the TCP core's compact table;
// nothing of the stack holds it then, so the application dropping it frees it, rather than
// 2·MSL later. The control: an open connection the application dropped is still held (the TCP
// core's table holds it, with its hook), and is not freed.
func TestTimeWaitConnIsFreedWhenDropped(t *testing.T) {
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
	var freed atomic.Int32
	// open dials, accepts, and returns the client's end; the server's end is dropped with a
	// cleanup that counts it freed, after closing it first if closeFirst.
	open := func(closeFirst bool) net.Conn {
		cc, err := client.DialContext(ctx, netip.MustParseAddrPort("198.18.0.2:80"))
		if err != nil {
			t.Fatal(err)
		}
		sc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		runtime.AddCleanup(sc.(*Conn), func(*atomic.Int32) { freed.Add(1) }, &freed)
		if !closeFirst {
			return cc
		}
		_ = sc.Close() // the server closes first: its end goes to TIME-WAIT
		if _, err := io.ReadAll(cc); err != nil {
			t.Fatal(err)
		}
		_ = cc.Close()
		for deadline := time.Now().Add(5 * time.Second); sc.(*Conn).Info().State != tcp.TimeWait; {
			if time.Now().After(deadline) {
				t.Fatalf("server end %v, not TIME-WAIT", sc.(*Conn).Info().State)
			}
			time.Sleep(time.Millisecond)
		}
		return cc
	}
	waitFreed := func(want int32) int32 {
		for range 50 {
			runtime.GC()
			if freed.Load() >= want {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		return freed.Load()
	}
	open0 := open(false)
	defer open0.Close()
	if n := waitFreed(1); n != 0 {
		t.Fatalf("an open connection the application dropped was freed")
	}
	for range 20 {
		open(true)
	}
	if n := waitFreed(20); n != 20 {
		t.Fatalf("%d of 20 dropped connections in TIME-WAIT freed", n)
	}
	server.mu.Lock()
	tw := server.core.TCP().TimeWaits()
	server.mu.Unlock()
	if tw != 20 {
		t.Fatalf("%d connections in TIME-WAIT, want 20", tw)
	}
}
