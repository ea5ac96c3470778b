package ipv4

import (
	"net/netip"
	"testing"
)

var ifc = Interface{Addr: netip.MustParsePrefix("198.18.0.2/24"), Gateway: netip.MustParseAddr("198.18.0.1")}

func TestBroadcastLocalAndSource(t *testing.T) {
	for addr, want := range map[string]bool{
		"255.255.255.255": true, "198.18.0.255": true, "198.18.0.2": false, "198.18.1.255": false, "198.19.255.255": false,
	} {
		if got := ifc.IsBroadcast(netip.MustParseAddr(addr)); got != want {
			t.Errorf("IsBroadcast(%s) = %v, want %v", addr, got, want)
		}
	}
	for addr, want := range map[string]bool{
		"198.18.0.1": true, "198.19.7.7": true, "0.0.0.0": false, "198.18.0.255": false,
		"224.0.0.1": false, "127.0.0.1": false, "198.18.0.2": false, "255.255.255.255": false,
	} {
		if got := ifc.IsValidSource(netip.MustParseAddr(addr)); got != want {
			t.Errorf("IsValidSource(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestNextHop(t *testing.T) {
	if nh, err := ifc.NextHop(netip.MustParseAddr("198.18.0.9")); err != nil || nh != netip.MustParseAddr("198.18.0.9") {
		t.Errorf("on-link: %v %v", nh, err)
	}
	if nh, err := ifc.NextHop(netip.MustParseAddr("198.19.0.9")); err != nil || nh != ifc.Gateway {
		t.Errorf("off-link: %v %v, want the gateway", nh, err)
	}
	noGW := Interface{Addr: ifc.Addr}
	if _, err := noGW.NextHop(netip.MustParseAddr("198.19.0.9")); err == nil {
		t.Error("off-link without gateway: no error")
	}
}

func TestValidate(t *testing.T) {
	bad := []Interface{
		{},
		{Addr: netip.MustParsePrefix("2001:db8::1/64")},
		{Addr: netip.MustParsePrefix("198.18.0.0/24")},
		{Addr: netip.MustParsePrefix("198.18.0.255/24")},
		{Addr: netip.MustParsePrefix("127.0.0.1/8")},
		{Addr: netip.MustParsePrefix("198.18.0.2/31")},
		{Addr: netip.MustParsePrefix("198.18.0.2/24"), Gateway: netip.MustParseAddr("198.18.0.2")},
		{Addr: netip.MustParsePrefix("198.18.0.2/24"), Gateway: netip.MustParseAddr("198.18.0.255")},
		{Addr: netip.MustParsePrefix("198.18.0.2/24"), Gateway: netip.MustParseAddr("198.19.0.1")},
	}
	for _, i := range bad {
		if err := i.Validate(); err == nil {
			t.Errorf("%+v accepted", i)
		}
	}
	if err := ifc.Validate(); err != nil {
		t.Errorf("good interface refused: %v", err)
	}
}

func TestIDsAreUniquePerDestinationAndKeyed(t *testing.T) {
	a, b := NewIDs([16]byte{1}), NewIDs([16]byte{2})
	dst := netip.MustParseAddr("198.18.0.1")
	seen := map[uint16]bool{}
	same := 0
	for range 65536 {
		id := a.Next(dst, 6)
		if seen[id] {
			t.Fatalf("ID %d repeated before the counter wrapped", id)
		}
		seen[id] = true
		if id == b.Next(dst, 6) {
			same++
		}
	}
	if same > 10 {
		t.Fatalf("two secrets gave the same ID %d times in 65536", same)
	}
	again := NewIDs([16]byte{1})
	if a2 := again.Next(dst, 6); !seen[a2] {
		t.Fatal("the same secret does not reproduce the sequence")
	}
}

// IsBroadcast is 32-bit arithmetic; it must agree with its definition in netip terms for every
// prefix length and for addresses on, next to and off the subnet.
func TestIsBroadcastAgreesWithPrefixContains(t *testing.T) {
	for bits := 0; bits <= 32; bits++ {
		ifc := Interface{Addr: netip.PrefixFrom(netip.MustParseAddr("198.18.37.130"), bits)}
		for _, v := range []uint32{0, 1, 0xc612257f, 0xc6122580, 0xc61225ff, 0xc6122582, 0xc613ffff, 0xc612ffff, 0xffffffff, 0xfffffffe, 0x7fffffff} {
			a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
			host := ^uint32(0) >> bits
			want := v == 0xffffffff || ifc.Addr.Contains(a) && v&host == host
			if got := ifc.IsBroadcast(a); got != want {
				t.Errorf("/%d IsBroadcast(%v) = %v, want %v", bits, a, got, want)
			}
		}
	}
	if (Interface{}).IsBroadcast(netip.MustParseAddr("198.18.0.255")) {
		t.Error("a zero Interface has a directed broadcast")
	}
}
