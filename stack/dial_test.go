package stack_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/mtcp-go/mtcp/stack"
	"github.com/mtcp-go/mtcp/stack/tcp"
)

// Dial takes what net.Dialer.DialContext takes: "tcp" or "tcp4" and an IPv4 address with a
// port, here in each spelling it accepts.
func TestDialAcceptsTCPOverIPv4(t *testing.T) {
	client, server := pair(t, tcp.Config{})
	ln, err := server.Listen(80)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, c := range []struct{ network, address string }{
		{"tcp", "198.18.0.2:80"},
		{"tcp4", "198.18.0.2:80"},
		{"tcp", "[::ffff:198.18.0.2]:80"}, // IPv4-mapped, as net.Dial takes it
		{"tcp4", "198.18.0.2:080"},
	} {
		accepted := goDo(func() (net.Conn, error) { return ln.Accept() })
		ctx, cancel := context.WithTimeout(context.Background(), hang)
		cc, err := client.Dial(ctx, c.network, c.address)
		cancel()
		if err != nil {
			t.Fatalf("Dial(%q, %q): %v", c.network, c.address, err)
		}
		sc, err := await(t, accepted)
		if err != nil {
			t.Fatal(err)
		}
		if got := cc.RemoteAddr().String(); got != "198.18.0.2:80" {
			t.Errorf("Dial(%q, %q): remote %s, want 198.18.0.2:80", c.network, c.address, got)
		}
		if _, ok := cc.(*stack.Conn); !ok {
			t.Errorf("Dial returned a %T, want a *stack.Conn", cc)
		}
		_ = cc.Close()
		_ = sc.Close()
	}
}

// What Dial cannot dial fails at once, before any packet, with a *net.OpError saying why:
// another network, a host name (the stack has no resolver), IPv6, a missing or bad port.
func TestDialRefusesWhatItCannotDial(t *testing.T) {
	client, _ := pair(t, tcp.Config{})
	for _, c := range []struct {
		network, address string
		want             string // in the error's text
	}{
		{"udp", "198.18.0.2:53", "dial udp: unsupported network: the stack dials tcp or tcp4 only"},
		{"tcp6", "198.18.0.2:80", "unsupported network"},
		{"ip4:icmp", "198.18.0.2", "unsupported network"},
		{"", "198.18.0.2:80", "unsupported network"},
		{"tcp", "example.com:80", "address example.com: not an IP address: the stack has no resolver, only IPv4 literals"},
		{"tcp", "localhost:80", "no resolver"},
		{"tcp", "[2001:db8::1]:80", "not an IPv4 address"},
		{"tcp", "[fe80::1%eth0]:80", "not an IPv4 address"},
		{"tcp", "198.18.0.2", "missing port in address"},
		{"tcp", ":80", "missing host"},
		{"tcp", "198.18.0.2:0", "invalid port"},
		{"tcp", "198.18.0.2:65536", "invalid port"},
		{"tcp", "198.18.0.2:http", "invalid port"},
	} {
		conn, err := client.Dial(context.Background(), c.network, c.address)
		if conn != nil || err == nil {
			t.Errorf("Dial(%q, %q) = %v, %v; want a nil net.Conn and an error", c.network, c.address, conn, err)
			continue
		}
		var op *net.OpError
		if !errors.As(err, &op) || op.Op != "dial" || op.Net != c.network {
			t.Errorf("Dial(%q, %q): %#v, want a *net.OpError for dial %s", c.network, c.address, err, c.network)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Dial(%q, %q): %q, want %q in it", c.network, c.address, err, c.want)
		}
		if isNet := strings.Contains(c.want, "network"); isNet != errors.Is(err, stack.ErrUnsupportedNetwork) {
			t.Errorf("Dial(%q, %q): errors.Is(err, ErrUnsupportedNetwork) = %v", c.network, c.address, !isNet)
		}
		var addrErr *net.AddrError
		if !strings.Contains(c.want, "network") && !errors.As(err, &addrErr) {
			t.Errorf("Dial(%q, %q): %v, want a *net.AddrError inside", c.network, c.address, err)
		}
	}
	if st := client.Stats(); st.Link.FramesOut != 0 {
		t.Errorf("%d frames sent for dials that could not start, want 0", st.Link.FramesOut)
	}
}

// Past the parsing, Dial fails as DialContext does, and its failure is a nil net.Conn, not a
// nil *Conn inside one: a refused port is ErrConnRefused, a closed stack net.ErrClosed.
func TestDialFailsAsDialContext(t *testing.T) {
	client, _ := pair(t, tcp.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	conn, err := client.Dial(ctx, "tcp", "198.18.0.2:81")
	if conn != nil || !errors.Is(err, stack.ErrConnRefused) {
		t.Fatalf("closed port: %v, %v; want a nil net.Conn and ErrConnRefused", conn, err)
	}
	var op *net.OpError
	if !errors.As(err, &op) || op.Addr == nil || op.Addr.String() != "198.18.0.2:81" {
		t.Errorf("closed port: %#v, want a *net.OpError naming 198.18.0.2:81", err)
	}
	_ = client.Close()
	if conn, err := client.Dial(ctx, "tcp", "198.18.0.2:80"); conn != nil || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("closed stack: %v, %v; want a nil net.Conn and net.ErrClosed", conn, err)
	}
}
