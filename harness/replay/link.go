package replay

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"

	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/harness/replay/capture"
)

// The link types mtcp-replay reads (LINKTYPE_ values of the registry at
// https://www.tcpdump.org/linktypes.html). Records of all but Ethernet are turned into Ethernet
// frames (toEthernet) before the scan or the replay looks at them.
const (
	linkNull     = 0   // LINKTYPE_NULL: a 4-byte address family, in the capturing host's byte order
	linkEthernet = 1   // LINKTYPE_ETHERNET
	linkDLTRaw12 = 12  // DLT_RAW of most libpcaps, in files written before LINKTYPE_RAW (DLT_LOOP on OpenBSD)
	linkDLTRaw14 = 14  // DLT_RAW of OpenBSD and BSD/OS, in files written before LINKTYPE_RAW
	linkRaw      = 101 // LINKTYPE_RAW: IPv4 or IPv6, no link-layer header
	linkLoop     = 108 // LINKTYPE_LOOP: a 4-byte address family, big-endian
	linkSLL      = 113 // LINKTYPE_LINUX_SLL: Linux cooked capture (tcpdump -i any, libpcap before 1.10)
	linkIPv4     = 228 // LINKTYPE_IPV4: IPv4, no link-layer header
	linkSLL2     = 276 // LINKTYPE_LINUX_SLL2: Linux cooked capture v2 (tcpdump -i any, libpcap 1.10 on)
)

// readableLink reports whether mtcp-replay reads records of link type lt.
func readableLink(lt uint16) bool {
	switch lt {
	case linkNull, linkEthernet, linkDLTRaw12, linkDLTRaw14, linkRaw, linkLoop, linkSLL, linkIPv4, linkSLL2:
		return true
	}
	return false
}

// readableLinks names them, for messages.
const readableLinks = "LINKTYPE_ETHERNET (1), LINKTYPE_LINUX_SLL (113), LINKTYPE_LINUX_SLL2 (276), LINKTYPE_RAW (101), " +
	"LINKTYPE_IPV4 (228), DLT_RAW (12, 14), LINKTYPE_NULL (0) and LINKTYPE_LOOP (108)"

// linkTypeNames are the registered names (https://www.tcpdump.org/linktypes.html) of the link
// types a capture is likely to have; gopacket's LinkType.String knows only those it decodes,
// and calls NFLOG, say, "UnknownLinkType".
var linkTypeNames = map[uint16]string{
	0: "LINKTYPE_NULL", 1: "LINKTYPE_ETHERNET", 3: "LINKTYPE_AX25", 6: "LINKTYPE_IEEE802_5",
	7: "LINKTYPE_ARCNET_BSD", 8: "LINKTYPE_SLIP", 9: "LINKTYPE_PPP", 10: "LINKTYPE_FDDI",
	12: "DLT_RAW", 14: "DLT_RAW", // in files written before LINKTYPE_RAW (101)
	50: "LINKTYPE_PPP_HDLC", 51: "LINKTYPE_PPP_ETHER", 100: "LINKTYPE_ATM_RFC1483", 101: "LINKTYPE_RAW",
	104: "LINKTYPE_C_HDLC", 105: "LINKTYPE_IEEE802_11", 106: "LINKTYPE_ATM_CLIP", 107: "LINKTYPE_FRELAY",
	108: "LINKTYPE_LOOP", 109: "LINKTYPE_ENC", 113: "LINKTYPE_LINUX_SLL", 114: "LINKTYPE_LTALK",
	117: "LINKTYPE_PFLOG", 119: "LINKTYPE_IEEE802_11_PRISM", 122: "LINKTYPE_IP_OVER_FC",
	123: "LINKTYPE_SUNATM", 127: "LINKTYPE_IEEE802_11_RADIOTAP", 129: "LINKTYPE_ARCNET_LINUX",
	138: "LINKTYPE_APPLE_IP_OVER_IEEE1394", 143: "LINKTYPE_DOCSIS", 144: "LINKTYPE_LINUX_IRDA",
	163: "LINKTYPE_IEEE802_11_AVS", 166: "LINKTYPE_PPP_PPPD", 169: "LINKTYPE_GPRS_LLC",
	177: "LINKTYPE_LINUX_LAPD", 187: "LINKTYPE_BLUETOOTH_HCI_H4", 189: "LINKTYPE_USB_LINUX",
	192: "LINKTYPE_PPI", 195: "LINKTYPE_IEEE802_15_4_WITHFCS", 197: "LINKTYPE_ERF",
	201: "LINKTYPE_BLUETOOTH_HCI_H4_WITH_PHDR", 215: "LINKTYPE_IEEE802_15_4_NONASK_PHY",
	220: "LINKTYPE_USB_LINUX_MMAPPED", 226: "LINKTYPE_IPNET", 227: "LINKTYPE_CAN_SOCKETCAN",
	228: "LINKTYPE_IPV4", 229: "LINKTYPE_IPV6", 230: "LINKTYPE_IEEE802_15_4_NOFCS", 231: "LINKTYPE_DBUS",
	239: "LINKTYPE_NFLOG", 240: "LINKTYPE_NETANALYZER", 241: "LINKTYPE_NETANALYZER_TRANSPARENT",
	242: "LINKTYPE_IPOIB", 243: "LINKTYPE_MPEG_2_TS", 248: "LINKTYPE_SCTP", 249: "LINKTYPE_USBPCAP",
	251: "LINKTYPE_BLUETOOTH_LE_LL", 252: "LINKTYPE_WIRESHARK_UPPER_PDU", 253: "LINKTYPE_NETLINK",
	254: "LINKTYPE_BLUETOOTH_LINUX_MONITOR", 256: "LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR", 258: "LINKTYPE_PKTAP",
	259: "LINKTYPE_EPON", 264: "LINKTYPE_ISO_14443", 266: "LINKTYPE_USB_DARWIN", 270: "LINKTYPE_LORATAP",
	271: "LINKTYPE_VSOCK", 272: "LINKTYPE_NORDIC_BLE", 274: "LINKTYPE_ETHERNET_MPACKET",
	276: "LINKTYPE_LINUX_SLL2",
}

// linkTypeName is "LINKTYPE_NFLOG (239)", or "link type 4242" for a value not in the table.
func linkTypeName(lt uint16) string {
	switch name, ok := linkTypeNames[lt]; {
	case lt >= 147 && lt <= 162: // reserved for private use
		return fmt.Sprintf("LINKTYPE_USER%d (%d)", lt-147, lt)
	case !ok:
		return fmt.Sprintf("link type %d", lt)
	default:
		return fmt.Sprintf("%s (%d)", name, lt)
	}
}

// iface names a record's interface: "interface 2", or "interface 2 of section 1" in a pcapng
// file of several sections.
func iface(section, index int) string {
	if section > 0 {
		return fmt.Sprintf("interface %d of section %d", index, section)
	}
	return fmt.Sprintf("interface %d", index)
}

// leftOut is an interface of a link type mtcp-replay cannot read, with its record count.
type leftOut struct {
	section, index int
	linkType       uint16
	records        int
}

// maxLeftOut bounds the interfaces named in messages (a pcapng file may declare thousands).
const maxLeftOut = 64

// describeLeftOut lists the interfaces left out, in file order.
func describeLeftOut(m map[[2]int]*leftOut) string {
	l := make([]*leftOut, 0, len(m))
	for _, o := range m {
		l = append(l, o)
	}
	sort.Slice(l, func(i, j int) bool {
		if l[i].section != l[j].section {
			return l[i].section < l[j].section
		}
		return l[i].index < l[j].index
	})
	parts := make([]string, len(l))
	for i, o := range l {
		parts[i] = fmt.Sprintf("%s is %s, with %d records", iface(o.section, o.index), linkTypeName(o.linkType), o.records)
	}
	return strings.Join(parts, "; ")
}

// madeUpMAC is the MAC a host gets when the capture shows none (a Linux cooked capture, raw
// IP, loopback): 02:00 followed by its IPv4 address, locally administered and unicast, the
// same for the same address in both passes and in both directions, and the one pcaps/record.sh
// gives its hosts.
func madeUpMAC(a netip.Addr) [6]byte {
	if !a.Is4() {
		return [6]byte{0x02}
	}
	b := a.As4()
	return [6]byte{0x02, 0x00, b[0], b[1], b[2], b[3]}
}

// isMadeUp reports whether m is the MAC made up for a.
func isMadeUp(a netip.Addr, m net.HardwareAddr) bool {
	want := madeUpMAC(a)
	return string(m) == string(want[:])
}

// framer turns the records of the link types mtcp-replay reads into Ethernet frames. Its buffer
// is reused from record to record, as the capture reader's is.
type framer struct {
	buf []byte
	// macs, set once the scan is over, are the MACs it settled on: those the capture's
	// Ethernet frames show, which replace made-up ones (scan.learnMAC), so that in a pcapng
	// file with an Ethernet interface and, say, a Linux cooked one a host keeps one MAC, and
	// made-up ones for the addresses no Ethernet frame shows. During the scan it is nil, and
	// every address gets madeUpMAC.
	macs map[netip.Addr]net.HardwareAddr
}

func (f *framer) mac(a netip.Addr) [6]byte {
	if m, ok := f.macs[a]; ok && len(m) == 6 {
		return [6]byte(m)
	}
	return madeUpMAC(a)
}

var broadcastMAC = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// Linux packet types (the sll_pkttype of a cooked capture).
const (
	pktHost      = 0 // sent to the capturing host
	pktBroadcast = 1
	pktMulticast = 2
)

// noPktType stands for the packet type of link types that have none.
const noPktType = -1

// toEthernet turns rec into an Ethernet record in place: its Data becomes an Ethernet frame (in
// f's buffer, valid until the next call), CapLen and OrigLen grow or shrink by the difference
// between the headers, and LinkType becomes Ethernet. Ethernet records are left as they are.
// When the record cannot be turned into a frame, skip says why (for the report's count), and
// damage, if not empty, says what is wrong with it. A record of a link type mtcp-replay does
// not read is skipped with its interface and link type named.
func (f *framer) toEthernet(rec *capture.Record) (skip, damage string) {
	d := rec.Data
	switch rec.LinkType {
	case linkEthernet:
		return "", ""
	case linkSLL, linkSLL2:
		return f.cooked(rec, rec.LinkType == linkSLL2)
	case linkIPv4:
		f.ipv4(rec, d, noPktType)
		return "", ""
	case linkRaw, linkDLTRaw12, linkDLTRaw14:
		return f.raw(rec)
	case linkNull, linkLoop:
		if len(d) < 4 {
			return "shorter than a BSD loopback header", fmt.Sprintf("%d bytes, shorter than the 4-byte address family of %s", len(d), linkTypeName(rec.LinkType))
		}
		return f.loopback(rec, d[4:], binary.LittleEndian.Uint32(d), binary.BigEndian.Uint32(d))
	}
	return fmt.Sprintf("records of %s, left out: mtcp-replay does not read its link type %s", iface(rec.Section, rec.Interface), linkTypeName(rec.LinkType)), ""
}

// cooked reads a Linux cooked capture record (LINKTYPE_LINUX_SLL, or SLL2 with v2): IPv4 and
// ARP, by the protocol field. The header's link-layer address, the sender's, is not used: the
// receiver's is not in it, so frames towards a host would carry a MAC its own never show; both
// get the MACs the rest of the capture gives their addresses (made up when it has none). The
// packet type says which frames were broadcast or multicast.
func (f *framer) cooked(rec *capture.Record, v2 bool) (string, string) {
	d := rec.Data
	hl, name := 16, "LINKTYPE_LINUX_SLL"
	if v2 {
		hl, name = 20, "LINKTYPE_LINUX_SLL2"
	}
	if len(d) < hl {
		return "shorter than a Linux cooked capture header", fmt.Sprintf("%d bytes, shorter than the %d-byte %s header", len(d), hl, name)
	}
	var proto, hatype uint16
	var pkttype int
	if v2 {
		proto, hatype, pkttype = binary.BigEndian.Uint16(d[0:]), binary.BigEndian.Uint16(d[8:]), int(d[10])
	} else {
		pkttype, hatype, proto = int(binary.BigEndian.Uint16(d[0:])), binary.BigEndian.Uint16(d[2:]), binary.BigEndian.Uint16(d[14:])
	}
	switch hatype {
	case 770, 803, 824: // ARPHRD_FRAD, ARPHRD_IEEE80211_RADIOTAP, ARPHRD_NETLINK: the protocol field means something else
		return fmt.Sprintf("Linux cooked capture of a non-IP device (ARPHRD_ type %d)", hatype), ""
	}
	switch p := d[hl:]; {
	case proto == uint16(layers.EthernetTypeIPv4):
		f.ipv4(rec, p, pkttype)
	case proto == uint16(layers.EthernetTypeARP):
		f.arp(rec, p, pkttype)
	case proto >= 0x0600:
		return fmt.Sprintf("EtherType %s", layers.EthernetType(proto)), ""
	default: // 802.2 LLC (4), Novell 802.3 (1), CAN (0x000c), ...
		return fmt.Sprintf("Linux cooked capture protocol 0x%04x (not IPv4 or ARP)", proto), ""
	}
	return "", ""
}

// raw reads a raw IP record (LINKTYPE_RAW and the DLT_RAW values 12 and 14): IPv4 by the
// version field. Value 12 is DLT_LOOP in OpenBSD's files: a record that begins with the
// address family AF_INET instead is read as LINKTYPE_LOOP.
func (f *framer) raw(rec *capture.Record) (string, string) {
	d := rec.Data
	if len(d) == 0 {
		return "empty raw IP records", "0 bytes: an empty raw IP record"
	}
	switch v := d[0] >> 4; {
	case v == 4:
		f.ipv4(rec, d, noPktType)
	case v == 6:
		return "IPv6 (raw IP)", ""
	case rec.LinkType == linkDLTRaw12 && len(d) >= 4 && (binary.BigEndian.Uint32(d) == 2 || binary.LittleEndian.Uint32(d) == 2):
		return f.loopback(rec, d[4:], binary.LittleEndian.Uint32(d), binary.BigEndian.Uint32(d))
	default:
		return "raw IP records of neither version 4 nor 6", fmt.Sprintf("a raw IP record of version %d, neither IPv4 nor IPv6", v)
	}
	return "", ""
}

// loopback reads a BSD loopback record (LINKTYPE_NULL, LINKTYPE_LOOP) whose 4-byte address
// family is le or be as read in either byte order: NULL writes it in the capturing host's
// order, LOOP big-endian, and both are read in either (AF_INET is 2 everywhere). IPv4 only.
func (f *framer) loopback(rec *capture.Record, p []byte, le, be uint32) (string, string) {
	af := min(le, be) // the other order makes a value of 2^24 or more
	switch af {
	case 2: // AF_INET
		f.ipv4(rec, p, noPktType)
		return "", ""
	case 24, 28, 30: // AF_INET6 of NetBSD and OpenBSD; FreeBSD; Darwin
		return fmt.Sprintf("IPv6 (address family %d)", af), ""
	}
	return fmt.Sprintf("address family %d (not IPv4)", af), ""
}

// ipv4 makes rec the Ethernet frame of the IPv4 packet p: from the source's MAC, to the
// destination's, or to the broadcast or multicast MAC the destination address (or the cooked
// capture's packet type) says.
func (f *framer) ipv4(rec *capture.Record, p []byte, pkttype int) {
	var src, dst netip.Addr
	if len(p) >= 16 {
		src = netip.AddrFrom4([4]byte(p[12:16]))
	}
	if len(p) >= 20 {
		dst = netip.AddrFrom4([4]byte(p[16:20]))
	}
	var to [6]byte
	switch {
	case pkttype == pktBroadcast || dst == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		to = broadcastMAC
	case dst.IsMulticast():
		b := dst.As4() // RFC 1112 6.4: 01:00:5e and the address's low 23 bits
		to = [6]byte{0x01, 0x00, 0x5e, b[1] & 0x7f, b[2], b[3]}
	case pkttype == pktMulticast:
		to = broadcastMAC
	default:
		to = f.mac(dst)
	}
	f.emit(rec, layers.EthernetTypeIPv4, to, f.mac(src), p)
}

// arp makes rec the Ethernet frame of the ARP packet p. In an Ethernet/IPv4 ARP packet the
// sender's and (when set) the target's hardware addresses become the MACs of their protocol
// addresses, so that ARP and IPv4 agree; a request goes to the broadcast MAC unless the packet
// type says it was sent to the capturing host alone, a reply to its target.
func (f *framer) arp(rec *capture.Record, p []byte, pkttype int) {
	if len(p) < 28 || binary.BigEndian.Uint16(p[0:]) != 1 || binary.BigEndian.Uint16(p[2:]) != 0x0800 || p[4] != 6 || p[5] != 4 {
		f.emit(rec, layers.EthernetTypeARP, broadcastMAC, madeUpMAC(netip.Addr{}), p) // damaged or not Ethernet/IPv4: as captured
		return
	}
	sender, target := netip.AddrFrom4([4]byte(p[14:18])), netip.AddrFrom4([4]byte(p[24:28]))
	to, from := f.mac(target), f.mac(sender)
	if binary.BigEndian.Uint16(p[6:]) == uint16(layers.ARPRequest) && pkttype != pktHost {
		to = broadcastMAC
	}
	b := f.emit(rec, layers.EthernetTypeARP, to, from, p)
	a := b[14:]
	copy(a[8:14], from[:])
	if tha := a[18:24]; !allBytes(tha, 0) && !allBytes(tha, 0xff) {
		t := f.mac(target)
		copy(tha, t[:])
	}
}

func allBytes(b []byte, v byte) bool {
	for _, c := range b {
		if c != v {
			return false
		}
	}
	return true
}

// emit makes rec the Ethernet frame dst, src, et, payload, and returns it.
func (f *framer) emit(rec *capture.Record, et layers.EthernetType, dst, src [6]byte, payload []byte) []byte {
	n := 14 + len(payload)
	if cap(f.buf) < n {
		f.buf = make([]byte, n, max(n, 2048))
	}
	b := f.buf[:n]
	copy(b[0:6], dst[:])
	copy(b[6:12], src[:])
	binary.BigEndian.PutUint16(b[12:], uint16(et))
	copy(b[14:], payload)
	grow := n - len(rec.Data)
	rec.Data, rec.CapLen, rec.OrigLen, rec.LinkType = b, n, max(rec.OrigLen+grow, n), linkEthernet
	return b
}
