package tcp

import (
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
