package core

import (
	"github.com/mtcp-go/mtcp/stack/arp"
	"github.com/mtcp-go/mtcp/stack/icmp"
	"github.com/mtcp-go/mtcp/stack/ipv4"
	"github.com/mtcp-go/mtcp/stack/tcp"
)

// Stats holds every counter of a core: what came in, what went out, and every reason a frame
// was dropped.
type Stats struct {
	Link       LinkStats
	ARP        arp.Stats
	IPv4       IPv4Stats
	Reassembly ipv4.ReassemblyStats
	ICMP       icmp.Stats
	TCP        tcp.Stats
}

// LinkStats counts Ethernet frames.
type LinkStats struct {
	FramesIn         uint64 // frames handed to the core
	BytesIn          uint64
	FramesOut        uint64 // frames the link accepted
	BytesOut         uint64
	WriteErrors      uint64 // frames the link refused
	Malformed        uint64 // dropped: shorter than an Ethernet header, or 802.3 length framing
	NotForUs         uint64 // dropped: destination neither our MAC nor broadcast (RFC 894)
	BadSource        uint64 // dropped: source MAC is a group address
	UnknownEtherType uint64 // dropped: neither ARP nor IPv4
}

// IPv4Stats counts IPv4 datagrams.
type IPv4Stats struct {
	PacketsIn       uint64 // datagrams received, before any check
	Delivered       uint64 // datagrams handed to ICMP or a transport
	PacketsOut      uint64 // datagrams sent (each fragment counted once)
	FragmentsOut    uint64 // fragments sent for datagrams larger than the MTU
	Truncated       uint64 // dropped: shorter than the 20-byte header (RFC 791 3.1)
	BadVersion      uint64 // dropped: version is not 4 (RFC 1122 3.2.1.1)
	BadHeaderLength uint64 // dropped: IHL < 5 or past the frame (RFC 791 3.1)
	BadTotalLength  uint64 // dropped: total length < IHL or past the frame (RFC 791 3.1)
	BadChecksum     uint64 // dropped: header checksum wrong (RFC 1122 3.2.1.2)
	NotForUs        uint64 // dropped: destination neither ours nor broadcast (RFC 1122 3.2.1.3)
	BadSource       uint64 // dropped: source broadcast, multicast, loopback, ours or 0.0.0.0 (RFC 1122 3.2.1.3)
	LinkBroadcast   uint64 // dropped: unicast IP destination in a link-layer broadcast (RFC 1122 3.3.6)
	UnknownProtocol uint64 // answered with protocol unreachable where allowed (RFC 1122 3.2.2.1)
	NoRoute         uint64 // not sent: destination off-link and no gateway
	Unreachable     uint64 // not sent: ARP resolution of the next hop failed
	TooBig          uint64 // not sent: larger than 65535 bytes, or than the MTU with DF set
}
