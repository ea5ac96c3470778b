package replay

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"github.com/mtcp-go/mtcp/harness/replay/capture"
)

// FuzzToEthernet: whatever a record of a link type mtcp-replay reads holds, toEthernet returns
// an Ethernet record whose lengths agree and whose payload is the record's after its header, or
// says why not; it never panics.
func FuzzToEthernet(f *testing.F) {
	ip := []byte{0x45, 0, 0, 20, 0, 0, 0x40, 0, 64, 6, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2}
	arp := []byte{0, 1, 8, 0, 6, 4, 0, 2, 1, 2, 3, 4, 5, 6, 198, 18, 0, 2, 7, 8, 9, 10, 11, 12, 198, 18, 0, 1}
	for _, lt := range []uint16{linkNull, linkDLTRaw12, linkDLTRaw14, linkRaw, linkLoop, linkSLL, linkIPv4, linkSLL2, 147} {
		f.Add(lt, ip, 0)
		f.Add(lt, append([]byte{2, 0, 0, 0}, ip...), 4)
		f.Add(lt, append(append(make([]byte, 14), 8, 0), ip...), 0)
		f.Add(lt, append(append(make([]byte, 14), 8, 6), arp...), 0)
		f.Add(lt, append([]byte{8, 6, 0, 0, 0, 0, 0, 2, 0, 1, 1, 6}, append(make([]byte, 8), arp...)...), 0)
	}
	f.Fuzz(func(t *testing.T, lt uint16, data []byte, cut int) {
		rec := &capture.Record{LinkType: lt, Data: append([]byte(nil), data...), CapLen: len(data), OrigLen: len(data) + max(cut, 0)%100}
		orig := rec.OrigLen - rec.CapLen
		fr := &framer{macs: map[netip.Addr]net.HardwareAddr{netip.MustParseAddr("198.18.0.2"): {0x52, 0x54, 0, 0, 0, 2}}}
		skip, damage := fr.toEthernet(rec)
		if skip != "" {
			if rec.LinkType != lt || !bytes.Equal(rec.Data, data) {
				t.Fatalf("a skipped record was changed")
			}
			return
		}
		if damage != "" {
			t.Fatalf("damage %q without a skip", damage)
		}
		if lt == linkEthernet {
			if !bytes.Equal(rec.Data, data) {
				t.Fatalf("an Ethernet record was changed")
			}
			return
		}
		if !readableLink(lt) {
			t.Fatalf("link type %d was read", lt)
		}
		if rec.LinkType != linkEthernet || rec.CapLen != len(rec.Data) || rec.CapLen < 14 || rec.OrigLen-rec.CapLen != orig {
			t.Fatalf("link type %d, caplen %d, %d bytes, origlen %d", rec.LinkType, rec.CapLen, len(rec.Data), rec.OrigLen)
		}
		p := rec.Data[14:]
		if len(p) <= len(data) {
			q := data[len(data)-len(p):]
			if rec.Data[12] == 8 && rec.Data[13] == 6 && len(p) >= 28 { // ARP: only the hardware addresses change
				q = append([]byte(nil), q...)
				copy(q[8:14], p[8:14])
				copy(q[18:24], p[18:24])
			}
			if !bytes.Equal(p, q) {
				t.Fatalf("the payload is not the record's")
			}
		} else {
			t.Fatalf("the payload is longer than the record")
		}
		if rec.Data[6]&1 != 0 {
			t.Fatalf("multicast source MAC %x", rec.Data[6:12])
		}
		// Turning it again changes nothing.
		again := append([]byte(nil), rec.Data...)
		if s, _ := fr.toEthernet(rec); s != "" || !bytes.Equal(rec.Data, again) {
			t.Fatalf("not idempotent")
		}
	})
}

func TestMadeUpMACAndNames(t *testing.T) {
	m := madeUpMAC(netip.MustParseAddr("198.18.1.2"))
	if got := net.HardwareAddr(m[:]).String(); got != "02:00:c6:12:01:02" {
		t.Errorf("madeUpMAC: %s", got)
	}
	for lt, want := range map[uint16]string{239: "LINKTYPE_NFLOG (239)", 147: "LINKTYPE_USER0 (147)", 162: "LINKTYPE_USER15 (162)",
		276: "LINKTYPE_LINUX_SLL2 (276)", 12: "DLT_RAW (12)", 999: "link type 999"} {
		if got := linkTypeName(lt); got != want {
			t.Errorf("linkTypeName(%d) = %q, want %q", lt, got, want)
		}
	}
}
