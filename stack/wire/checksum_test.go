package wire_test

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"

	"github.com/mtcp-go/mtcp/stack/wire"
)

// naiveChecksum is RFC 1071 written out the slow way: add 16-bit big-endian words with
// end-around carry, pad an odd byte with zero, complement.
func naiveChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i < len(b); i += 2 {
		w := uint32(b[i]) << 8
		if i+1 < len(b) {
			w |= uint32(b[i+1])
		}
		sum += w
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// referenceSum is the implementation Sum replaced (two byte-swapped 32-bit loads per 8
// bytes), kept as the reference the faster one is checked against.
func referenceSum(b []byte, acc uint64) uint64 {
	for len(b) >= 8 {
		acc += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	if len(b) >= 4 {
		acc += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

// referenceFold is the Fold Sum was paired with: fold 16 bits at a time, complement.
func referenceFold(acc uint64) uint16 {
	for acc>>16 != 0 {
		acc = (acc & 0xffff) + acc>>16
	}
	return ^uint16(acc)
}

// reduceAcc maps a running sum to a small one that folds the same (congruent modulo 0xffff,
// zero only if it was zero), so that referenceSum cannot overflow from it.
func reduceAcc(acc uint64) uint64 {
	if acc == 0 {
		return 0
	}
	return (acc-1)%0xffff + 1
}

// checkSumAgainstReference compares Sum and Fold with the reference on b from acc, whole and
// split at the even offset split (only the last piece of a message may be odd).
func checkSumAgainstReference(t *testing.T, b []byte, acc uint64, split int) {
	t.Helper()
	want := referenceFold(referenceSum(b, reduceAcc(acc)))
	if got := wire.Fold(wire.Sum(b, acc)); got != want {
		t.Fatalf("Fold(Sum(%d bytes, %#x)) = %#04x, reference %#04x (%x)", len(b), acc, got, want, b)
	}
	if got := wire.Fold(acc); got != referenceFold(acc) {
		t.Fatalf("Fold(%#x) = %#04x, reference %#04x", acc, got, referenceFold(acc))
	}
	if split &^= 1; split <= len(b) {
		if got := wire.Fold(wire.Sum(b[split:], wire.Sum(b[:split], acc))); got != want {
			t.Fatalf("%d bytes from %#x split at %d: %#04x, reference %#04x", len(b), acc, split, got, want)
		}
	}
	if acc == 0 {
		if got, naive := wire.Checksum(b), naiveChecksum(b); got != naive {
			t.Fatalf("Checksum(%d bytes) = %#04x, naive %#04x", len(b), got, naive)
		}
	}
}

func TestSumAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1071, 2))
	accs := []uint64{0, 1, 0xffff, 0x1_0000, 0xffff_ffff, 1 << 32, 0xffff_ffff_ffff_fffe, 0xffff_ffff_ffff_ffff}
	buf := randomBytes(r, 2000+8)
	ones := bytes.Repeat([]byte{0xff}, 2000+8)
	zeros := make([]byte, 2000+8)
	for n := 0; n <= 2000; n++ {
		for off := range 8 { // every alignment of the start
			for _, b := range [][]byte{buf, ones, zeros} {
				acc := accs[(n+off)%len(accs)]
				if off == 0 {
					acc = 0
				}
				checkSumAgainstReference(t, b[off:off+n], acc, r.IntN(n+1))
			}
		}
		// Random contents and accumulators too, including ones a 64-bit sum would overflow.
		checkSumAgainstReference(t, randomBytes(r, n), r.Uint64(), r.IntN(n+1))
	}
}

// FuzzChecksum compares Sum (and Fold) with the reference on arbitrary bytes, start offsets,
// accumulators and split points. Run it with:
//
//	go test -run '^$' -fuzz '^FuzzChecksum$' -fuzztime 60s -parallel 2 ./stack/wire
func FuzzChecksum(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 1071))
	for _, n := range []int{0, 1, 2, 7, 8, 9, 20, 31, 32, 33, 63, 64, 65, 127, 1500, 1501, 2000} {
		f.Add(randomBytes(r, n), uint8(n%8), uint64(0), uint16(n/2))
		f.Add(bytes.Repeat([]byte{0xff}, n), uint8(1), ^uint64(0), uint16(n))
	}
	f.Fuzz(func(t *testing.T, b []byte, off uint8, acc uint64, split uint16) {
		if int(off) <= len(b) {
			b = b[off:]
		}
		checkSumAgainstReference(t, b, acc, int(split))
		checkSumAgainstReference(t, b, 0, int(split))
	})
}

func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestChecksumRFC1071Example(t *testing.T) {
	// RFC 1071 section 3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := ^wire.Fold(wire.Sum(b, 0)); got != 0xddf2 {
		t.Errorf("folded sum = %#04x, want 0xddf2", got)
	}
	if got := wire.Checksum(b); got != 0x220d {
		t.Errorf("Checksum = %#04x, want 0x220d", got)
	}
	// With the checksum appended, the message checks out.
	if got := wire.Checksum(append(b, 0x22, 0x0d)); got != 0 {
		t.Errorf("Checksum with the checksum appended = %#04x, want 0", got)
	}
	// The sum is the same in any byte order of the words' halves (RFC 1071 1.2.B), swapped.
	swapped := []byte{0x01, 0x00, 0x03, 0xf2, 0xf5, 0xf4, 0xf7, 0xf6}
	if got := ^wire.Fold(wire.Sum(swapped, 0)); got != 0xf2dd {
		t.Errorf("byte-swapped folded sum = %#04x, want 0xf2dd", got)
	}
}

func TestChecksumAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1071, 1))
	lengths := []int{1, 3, 7, 9, 1501, 65535}
	for n := range 70 {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		for range 20 {
			b := randomBytes(r, n)
			if got, want := wire.Checksum(b), naiveChecksum(b); got != want {
				t.Fatalf("Checksum of %d bytes = %#04x, naive %#04x (%x)", n, got, want, b)
			}
			if got, want := wire.Checksum(b), gopacket.FoldChecksum(gopacket.ComputeChecksum(b, 0)); got != want {
				t.Fatalf("Checksum of %d bytes = %#04x, gopacket %#04x", n, got, want)
			}
		}
	}
}

func TestChecksumOddLengths(t *testing.T) {
	// An odd trailing byte is the high byte of a word padded with zero.
	for _, tc := range []struct {
		in   []byte
		want uint16
	}{
		{[]byte{0x01}, ^uint16(0x0100)},
		{[]byte{0x00, 0x01, 0xf2}, ^uint16(0xf201)},
		{[]byte{0xff}, ^uint16(0xff00)},
		{[]byte{1, 2, 3, 4, 5, 6, 7}, ^uint16(0x0102 + 0x0304 + 0x0506 + 0x0700)},
		{[]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, ^uint16(0x0102 + 0x0304 + 0x0506 + 0x0708 + 0x0900)},
	} {
		if got := wire.Checksum(tc.in); got != tc.want || got != naiveChecksum(tc.in) {
			t.Errorf("Checksum(%x) = %#04x, want %#04x", tc.in, got, tc.want)
		}
	}
	b := bytes.Repeat([]byte{0x12, 0x34}, 751)[:1501]
	if got, want := wire.Checksum(b), naiveChecksum(b); got != want {
		t.Errorf("1501 bytes: %#04x, want %#04x", got, want)
	}
}

func TestChecksumEdgeCases(t *testing.T) {
	if got := wire.Checksum(nil); got != 0xffff {
		t.Errorf("Checksum(nil) = %#04x, want 0xffff", got)
	}
	if got := wire.Checksum([]byte{}); got != 0xffff {
		t.Errorf("Checksum(empty) = %#04x, want 0xffff", got)
	}
	if got := wire.Checksum(make([]byte, 100)); got != 0xffff {
		t.Errorf("Checksum(zeros) = %#04x, want 0xffff", got)
	}
	// All ones: every word is 0xffff, which is negative zero; the sum folds to 0xffff.
	for _, n := range []int{2, 4, 8, 10, 1500, 65536} {
		if got := wire.Checksum(bytes.Repeat([]byte{0xff}, n)); got != 0 {
			t.Errorf("Checksum(%d bytes of 0xff) = %#04x, want 0", n, got)
		}
	}
	for _, n := range []int{1, 3, 1501} {
		b := bytes.Repeat([]byte{0xff}, n)
		if got, want := wire.Checksum(b), naiveChecksum(b); got != want {
			t.Errorf("Checksum(%d bytes of 0xff) = %#04x, want %#04x", n, got, want)
		}
	}
	// Fold never leaves a carry behind, whatever the accumulator holds.
	for _, acc := range []uint64{0, 0xffff, 0x10000, 0x1fffe, 0xffffffff, 0xffff_ffff_ffff_ffff, 1 << 63} {
		want := uint16(0xffff)
		if r := acc % 0xffff; r != 0 {
			want = ^uint16(r)
		} else if acc != 0 {
			want = 0
		}
		if got := wire.Fold(acc); got != want {
			t.Errorf("Fold(%#x) = %#04x, want %#04x", acc, got, want)
		}
	}
}

func TestSumIsAssociativeAcrossEvenSplits(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 3))
	for _, n := range []int{0, 2, 7, 8, 9, 40, 63, 64, 1501} {
		b := randomBytes(r, n)
		want := wire.Checksum(b)
		for i := 0; i <= n; i += 2 {
			if got := wire.Fold(wire.Sum(b[i:], wire.Sum(b[:i], 0))); got != want {
				t.Fatalf("%d bytes split at %d: %#04x, want %#04x", n, i, got, want)
			}
			for j := i; j <= n; j += 2 {
				acc := wire.Sum(b[:i], 0)
				acc = wire.Sum(b[i:j], acc)
				acc = wire.Sum(b[j:], acc)
				if got := wire.Fold(acc); got != want {
					t.Fatalf("%d bytes split at %d and %d: %#04x, want %#04x", n, i, j, got, want)
				}
			}
		}
		// Starting from a non-zero accumulator is the same as prepending its words.
		if got := wire.Fold(wire.Sum(b, 0x1234)); got != wire.Checksum(append([]byte{0x12, 0x34}, b...)) {
			t.Errorf("%d bytes from 0x1234: %#04x", n, got)
		}
	}
}

func TestPseudoHeaderSum(t *testing.T) {
	for _, tc := range []struct {
		src, dst netip.Addr
		proto    wire.IPProtocol
		length   int
	}{
		{addrA, addrB, wire.ProtocolTCP, 40},
		{addrB, addrA, wire.ProtocolUDP, 8},
		{netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("255.255.255.255"), 255, 65535},
		{netip.IPv4Unspecified(), netip.IPv4Unspecified(), 0, 0},
		{netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("192.0.2.77"), wire.ProtocolTCP, 1480},
	} {
		s, d := tc.src.As4(), tc.dst.As4()
		ph := append(append(s[:], d[:]...), 0, byte(tc.proto), byte(tc.length>>8), byte(tc.length))
		if got, want := wire.Fold(wire.PseudoHeaderSum(tc.src, tc.dst, tc.proto, tc.length)), wire.Checksum(ph); got != want {
			t.Errorf("%+v: %#04x, want %#04x (pseudo-header %x)", tc, got, want, ph)
		}
		// Pseudo-header and segment checksummed together equal the sum over both.
		seg := []byte{1, 2, 3, 4, 5}
		if got, want := wire.Fold(wire.Sum(seg, wire.PseudoHeaderSum(tc.src, tc.dst, tc.proto, tc.length))), wire.Checksum(append(ph, seg...)); got != want {
			t.Errorf("%+v with a segment: %#04x, want %#04x", tc, got, want)
		}
	}
	// An IPv4-mapped IPv6 address counts as its IPv4 address; anything else as 0.0.0.0.
	mapped := netip.AddrFrom16(addrA.As16())
	if wire.PseudoHeaderSum(mapped, addrB, 6, 20) != wire.PseudoHeaderSum(addrA, addrB, 6, 20) {
		t.Error("IPv4-mapped source sums differently")
	}
	zero := netip.IPv4Unspecified()
	if wire.PseudoHeaderSum(netip.Addr{}, netip.IPv6Loopback(), 6, 20) != wire.PseudoHeaderSum(zero, zero, 6, 20) {
		t.Error("invalid and IPv6 addresses do not sum as 0.0.0.0")
	}
}

func TestChecksumAllocs(t *testing.T) {
	b := make([]byte, 1500)
	var c uint16
	if allocs := testing.AllocsPerRun(1000, func() { c += wire.Checksum(b) }); allocs != 0 {
		t.Errorf("Checksum: %v allocations per run, want 0", allocs)
	}
}

func BenchmarkChecksum1500(b *testing.B) {
	buf := randomBytes(rand.New(rand.NewPCG(1, 2)), 1500)
	b.SetBytes(int64(len(buf)))
	var c uint16
	for b.Loop() {
		c += wire.Checksum(buf)
	}
	_ = c
}

func BenchmarkChecksum64(b *testing.B) {
	buf := randomBytes(rand.New(rand.NewPCG(1, 2)), 64)
	b.SetBytes(int64(len(buf)))
	var c uint16
	for b.Loop() {
		c += wire.Checksum(buf)
	}
	_ = c
}

func BenchmarkChecksum20(b *testing.B) { // an IPv4 header
	buf := randomBytes(rand.New(rand.NewPCG(1, 2)), 20)
	b.SetBytes(int64(len(buf)))
	var c uint16
	for b.Loop() {
		c += wire.Checksum(buf)
	}
	_ = c
}
