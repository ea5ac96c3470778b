package tcp

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"testing"
	"unsafe"
)

// A connection's memory is mostly its Conn: at 752 bytes (with the 8-byte header Go gives
// objects over 512 bytes with pointers) it takes the 768-byte size class, and an idle endpoint
// about 920 bytes in all (the bench's W4). A field that pushes it past 760 bytes costs every
// connection 128 bytes more (the 896-byte class): make the state it holds lazily allocated,
// as oooState, rack and cubicState are, or make room elsewhere.
func TestConnFitsItsSizeClass(t *testing.T) {
	if size := unsafe.Sizeof(Conn{}); size > 760 {
		t.Fatalf("Conn is %d bytes: over 760, it leaves the 768-byte size class", size)
	}
}

// keyedHash hashes one buffer on the stack; it must give what hashing its parts one by one
// gives (the ISNs and timestamp offsets of every connection depend on it).
func TestKeyedHashIsSHA256OfItsParts(t *testing.T) {
	l := New(Config{}.WithDefaults(), &fakeHost{}, [16]byte{7, 1, 2})
	for i, label := range []string{"", "timestamps", "a label longer than the buffer leaves room for, to be sure"} {
		tu := tupleOf(netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(i)}), uint16(80+i)), netip.MustParseAddrPort("198.18.1.9:40000"))
		h := sha256.New()
		h.Write(l.key[:])
		h.Write([]byte(label))
		h.Write(tu.localIP[:])
		h.Write(tu.remoteIP[:])
		h.Write([]byte{byte(tu.localPort >> 8), byte(tu.localPort), byte(tu.remotePort >> 8), byte(tu.remotePort)})
		want := binary.BigEndian.Uint32(h.Sum(nil))
		if got := l.keyedHash(label, tu); got != want {
			t.Errorf("label %q: %#x, want %#x", label, got, want)
		}
	}
}
