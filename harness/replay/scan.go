package replay

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/harness/replay/capture"
)

// maxMACs bounds the address-to-MAC table the scan keeps (the stack's ARP requests are
// answered from it): flat memory for captures of any size.
const maxMACs = 1 << 16

// scan is what the first pass over the capture learns: which host the stack plays, its MAC,
// the ports it listens on, the MACs of the others, and how many records there are.
type scan struct {
	format    string
	records   int
	ethernet  int                 // records on interfaces it reads (Ethernet, or turned into Ethernet frames)
	leftOut   map[[2]int]*leftOut // interfaces of link types it cannot read, by section and index
	frames    *framer             // turns records into Ethernet frames, in both passes
	start     time.Time           // the first record's time: virtual time 0
	host      netip.Addr          // the host the stack plays
	hostMAC   net.HardwareAddr    // its MAC, from the first frame it sent
	stackAddr netip.Addr          // the stack's own address and MAC: the host's, unless it cannot have them
	stackMAC  net.HardwareAddr
	why       string          // how the host was chosen
	listen    map[uint16]bool // ports the host answered a SYN from (it was the server)
	macs      map[netip.Addr]net.HardwareAddr
	syns      map[netip.Addr]*synOptions // what each host's SYNs and SYN-ACKs offered
	loopback  netip.Addr                 // the address both ends of a loopback capture have (see unloop)
	// The addresses IPv4 packets came from and went to: a host with only one of the two is
	// in a one-sided capture.
	sent, received map[netip.Addr]bool
	oneSided       bool                // the host sent IPv4 packets, and none was sent to it
	madeUp         bool                // no IPv4 host: the stack plays the receiver of the first frame
	dstOnly        map[netip.Addr]bool // addresses whose MAC only frames to them showed (learnDstMAC)
	expired        map[datagramID]bool // datagrams a router answered with Time Exceeded (noteExpired)
	// The last address and MAC learnMAC took: the next frame is most likely the same.
	lastAddr netip.Addr
	lastMAC  [6]byte
}

// synOptions counts the TCP extensions a host's SYNs and SYN-ACKs carried, so that the stack
// can be configured as the recorded host was: a stack that answers timestamps the recorded
// host never spoke would make every later comparison differ for that alone.
type synOptions struct {
	timestamps, sack      int
	ecnAsked, ecnAnswered int // ECN-setup SYNs (ECE and CWR) and SYN-ACKs (ECE alone), RFC 3168 6.1.1
	peerAskedECN          int // SYN-ACKs answering a SYN that asked for ECN: they show the policy
}

// notComparable is a capture that reads well but where nothing can be compared: no host to
// play, or a host that sends nothing. Replay returns it as a report, not as an error.
type notComparable struct{ why string }

func (n *notComparable) Error() string { return "not comparable: " + n.why }

// errNoHost is returned when nothing in the capture says which host to play.
var errNoHost = &notComparable{"no host to play: the capture has no TCP handshake, ARP reply, echo reply or unicast frame; name one with --host IP"}

// scanCapture reads the whole capture once. opts.Host, if set, is the host to play; else the
// server of the first TCP handshake (its client with opts.Client), else the host that answered
// the first ARP request or echo request.
func scanCapture(open func() (io.ReadCloser, error), opts Options) (*scan, error) {
	f, err := open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := capture.Open(f)
	if err != nil {
		return nil, err
	}
	s := &scan{format: r.Format(), leftOut: map[[2]int]*leftOut{}, frames: &framer{}, listen: map[uint16]bool{}, macs: map[netip.Addr]net.HardwareAddr{},
		syns: map[netip.Addr]*synOptions{}, sent: map[netip.Addr]bool{}, received: map[netip.Addr]bool{}, dstOnly: map[netip.Addr]bool{},
		expired: map[datagramID]bool{}}
	askedECN := map[[2]netip.AddrPort]bool{} // SYNs that asked for ECN, by (client, server)
	s.host = opts.Host
	if s.host.IsValid() {
		s.why = "given with --host"
	}
	var fallback, firstDst, firstSYN netip.Addr
	var firstSYNPort uint16
	var firstTCP [2]netip.AddrPort // the first TCP segment's source and destination
	var lastSrc, lastDst netip.Addr
	var fallbackWhy string
	var firstMAC net.HardwareAddr
	d := newDecoded()
	pr := prefetch(r) // reading on a core of its own
	defer pr.Close()
	for {
		rec, err := pr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		s.records++
		if s.records == 1 {
			s.start = rec.Time
		}
		if !readableLink(rec.LinkType) {
			k := [2]int{rec.Section, rec.Interface}
			if o := s.leftOut[k]; o != nil {
				o.records++
			} else if len(s.leftOut) < maxLeftOut {
				s.leftOut[k] = &leftOut{section: rec.Section, index: rec.Interface, linkType: rec.LinkType, records: 1}
			}
			continue
		}
		s.ethernet++
		if skip, _ := s.frames.toEthernet(rec); skip != "" {
			continue
		}
		if firstMAC == nil && len(rec.Data) >= 6 && rec.Data[0]&1 == 0 {
			firstMAC = append(net.HardwareAddr(nil), rec.Data[:6]...)
		}
		data, _, _ := untag(rec.Data)
		if rec.CapLen < rec.OrigLen {
			if full, _ := fillSnapped(data); full != nil {
				data = full // a SYN cut inside its options still shows the host's extensions
			}
		}
		d.decode(data)
		switch {
		case d.hasARP:
			sender, _ := netip.AddrFromSlice(d.arp.SourceProtAddress)
			s.learnMAC(sender, d.arp.SourceHwAddress)
			if !fallback.IsValid() && d.arp.Operation == layers.ARPReply && sender.Is4() {
				fallback, fallbackWhy = sender, "it answered the first ARP request"
			}
		case d.hasIP:
			src := d.srcIP()
			s.learnMAC(src, d.eth.SrcMAC)
			if src != lastSrc && len(s.sent) < maxMACs { // most frames repeat the last pair
				s.sent[src], lastSrc = true, src
			}
			if dst := d.dstIP(); dst != lastDst { // most frames repeat the last pair
				lastDst = dst
				if len(s.received) < maxMACs {
					s.received[dst] = true
				}
				if dst.Is4() && !dst.IsMulticast() && dst != netip.AddrFrom4([4]byte{255, 255, 255, 255}) && d.eth.DstMAC[0]&1 == 0 {
					if !firstDst.IsValid() {
						firstDst = dst
					}
					// The MAC frames to it went to: its own, or the router's for an off-link
					// host, which the stack's ARP requests for it are answered with. One its
					// own frames show comes first.
					s.learnDstMAC(dst, d.eth.DstMAC)
				}
			}
			if d.hasICMP && d.icmp.TypeCode.Type() == layers.ICMPv4TypeTimeExceeded {
				s.noteExpired(d.icmp.Payload)
			}
			if d.hasICMP && !fallback.IsValid() && d.icmp.TypeCode.Type() == layers.ICMPv4TypeEchoReply {
				fallback, fallbackWhy = src, "it answered the first echo request"
			}
			if d.hasTCP && d.tcp.SYN {
				s.noteSYN(src, &d.tcp, askedECN, netip.AddrPortFrom(src, uint16(d.tcp.SrcPort)), netip.AddrPortFrom(d.dstIP(), uint16(d.tcp.DstPort)))
			}
			if d.hasTCP && !firstTCP[0].IsValid() {
				firstTCP = [2]netip.AddrPort{netip.AddrPortFrom(src, uint16(d.tcp.SrcPort)), netip.AddrPortFrom(d.dstIP(), uint16(d.tcp.DstPort))}
			}
			if d.hasTCP && d.tcp.SYN && !d.tcp.ACK && !firstSYN.IsValid() {
				firstSYN, firstSYNPort = src, uint16(d.tcp.SrcPort)
			}
			if !d.hasTCP || !d.tcp.SYN || !d.tcp.ACK {
				break
			}
			// A SYN-ACK: its sender is the server of a conversation.
			if src == d.dstIP() && !s.loopback.IsValid() {
				s.loopback = src // a loopback capture: see unloop
			}
			if !s.host.IsValid() {
				s.host = src
				s.why = fmt.Sprintf("it is the server of the first TCP conversation (%v:%d answered %v:%d)", src, d.tcp.SrcPort, d.dstIP(), d.tcp.DstPort)
				if opts.Client {
					s.host = d.dstIP()
					s.why = fmt.Sprintf("it is the client of the first TCP conversation (%v:%d, answered by %v:%d)", s.host, d.tcp.DstPort, src, d.tcp.SrcPort)
				}
			}
			if src == s.host {
				s.listen[uint16(d.tcp.SrcPort)] = true
			}
		}
	}
	if s.ethernet == 0 {
		if s.records == 0 {
			return s, &notComparable{"the capture holds no packet record"}
		}
		return nil, fmt.Errorf("no interface of a link type mtcp-replay reads: %s (it reads %s)", describeLeftOut(s.leftOut), readableLinks)
	}
	// The replay's frames take the MACs the scan settled on (see framer.macs).
	s.frames.macs = s.macs
	if !s.host.IsValid() {
		switch {
		case opts.Client && firstSYN.IsValid():
			s.host = firstSYN
			s.why = fmt.Sprintf("it sent the first SYN (%v:%d; no SYN-ACK in the capture)", firstSYN, firstSYNPort)
		case firstTCP[0].IsValid() && firstTCP[0].Addr() != firstTCP[1].Addr():
			// A conversation that began before the capture: its server is taken to be the end
			// with the lower port, as Wireshark guesses, its client the other.
			srv, cli := firstTCP[0], firstTCP[1]
			if srv.Port() > cli.Port() {
				srv, cli = cli, srv
			}
			s.host, s.why = srv.Addr(), fmt.Sprintf("it has the lower port of the first TCP conversation (%v, with %v), which began before the capture: taken as its server", srv, cli)
			if opts.Client {
				s.host, s.why = cli.Addr(), fmt.Sprintf("it has the higher port of the first TCP conversation (%v, with %v), which began before the capture: taken as its client", cli, srv)
			}
		case opts.Client:
			return s, &notComparable{"with --client, the capture has no TCP conversation, so no client to play"}
		case fallback.IsValid():
			s.host, s.why = fallback, fallbackWhy
		case firstDst.IsValid():
			s.host, s.why = firstDst, "it is the destination of the first IPv4 packet (no TCP handshake, ARP reply or echo reply to go by)"
		case firstMAC != nil:
			// Nothing but damaged or non-IPv4 frames: the stack takes the first frame's
			// receiver, with an address of the benchmarking range.
			s.host, s.why = netip.MustParseAddr("198.18.0.2"), fmt.Sprintf("no IPv4 host in the capture: the stack is the receiver of the first frame (%v), at an address of its own", firstMAC)
			s.madeUp = true
			s.macs[s.host] = firstMAC
		default:
			return s, errNoHost
		}
	}
	if s.loopback.IsValid() && s.host == s.loopback {
		end, other := loopServer, loopClient
		if opts.Client {
			end, other = loopClient, loopServer
		}
		for _, a := range []netip.Addr{end, other} {
			m := madeUpMAC(a)
			s.macs[a] = m[:]
		}
		s.syns[end] = s.syns[s.loopback]
		s.why += fmt.Sprintf("; a loopback capture, %v at both ends, told apart by port: the end that answered the SYNs is %v here, the other %v", s.loopback, loopServer, loopClient)
		s.host = end
	}
	switch h := s.host; {
	case s.loopback.IsValid() && h == s.loopback, len(s.sent) >= maxMACs || len(s.received) >= maxMACs:
	case !s.sent[h] && s.received[h]:
		return s, &notComparable{fmt.Sprintf("a one-sided capture: it holds IPv4 packets sent to %v, none it sent (one direction of the link only)", h)}
	case s.sent[h] && !s.received[h]:
		// What the host sent alone: the stack is compared on that (the application writes
		// what the host sent; nothing answers the stack).
		s.oneSided = true
	}
	s.hostMAC = s.macs[s.host]
	if s.hostMAC == nil {
		return s, &notComparable{fmt.Sprintf("the capture holds no frame %v sent (a one-sided capture: only what was sent to it); its MAC is unknown", s.host)}
	}
	s.stackAddr, s.stackMAC = s.host, s.hostMAC
	switch a := s.host; {
	case a.IsLoopback() || a.IsUnspecified() || a.IsMulticast() || a.As4()[0] == 0:
		// A loopback capture, say: the stack cannot have this address. It takes one and a MAC
		// of its own; what was sent to the host is still injected, and the stack drops it as
		// not its own.
		s.stackAddr, s.stackMAC = netip.MustParseAddr("198.18.0.2"), net.HardwareAddr{2, 0, 0, 0, 0, 2}
		s.why += fmt.Sprintf("; %v cannot be a stack's own address, so the stack is %v (%v) and drops what the capture sent to %v", s.host, s.stackAddr, s.stackMAC, s.host)
	case s.hostMAC[0]&1 != 0 || bytes.Equal(s.hostMAC, make([]byte, 6)):
		// An anonymised capture, say: a MAC no stack can have. The stack takes one of its own,
		// and frames to the host's MAC are delivered to it.
		b := a.As4()
		s.stackMAC = net.HardwareAddr{0x02, 0x00, b[0], b[1], b[2], b[3]}
		s.why += fmt.Sprintf("; its MAC %v cannot be a stack's, so the stack uses %v", s.hostMAC, s.stackMAC)
	}
	return s, nil
}

// noteSYN counts what a SYN or SYN-ACK from src offered.
func (s *scan) noteSYN(src netip.Addr, t *layers.TCP, askedECN map[[2]netip.AddrPort]bool, from, to netip.AddrPort) {
	o := s.syns[src]
	if o == nil {
		if len(s.syns) >= maxMACs {
			return
		}
		o = &synOptions{}
		s.syns[src] = o
	}
	for _, opt := range t.Options {
		switch opt.OptionType {
		case layers.TCPOptionKindTimestamps:
			o.timestamps++
		case layers.TCPOptionKindSACKPermitted:
			o.sack++
		}
	}
	switch {
	case !t.ACK && t.ECE && t.CWR:
		o.ecnAsked++
		if len(askedECN) < maxMACs {
			askedECN[[2]netip.AddrPort{from, to}] = true
		}
	case t.ACK && askedECN[[2]netip.AddrPort{to, from}]:
		o.peerAskedECN++
		if t.ECE && !t.CWR {
			o.ecnAnswered++
		}
	}
}

// learnDstMAC learns the MAC of a destination, unless its own frames showed one.
func (s *scan) learnDstMAC(a netip.Addr, mac net.HardwareAddr) {
	if _, ok := s.macs[a]; ok {
		return
	}
	s.learnMAC(a, mac)
	if _, ok := s.macs[a]; ok && len(s.dstOnly) < maxMACs {
		s.dstOnly[a] = true
	}
}

func (s *scan) learnMAC(a netip.Addr, mac net.HardwareAddr) {
	if !a.Is4() || a.IsUnspecified() || len(mac) != 6 || mac[0]&1 != 0 {
		return
	}
	if a == s.lastAddr && [6]byte(mac) == s.lastMAC {
		return // most frames repeat the last sender
	}
	s.lastAddr, s.lastMAC = a, [6]byte(mac)
	// A MAC the capture shows replaces the one made up for a record of another link type, and
	// the one frames to the address went to (learnDstMAC) once its own frames show one.
	old, ok := s.macs[a]
	if ok && s.dstOnly[a] {
		delete(s.dstOnly, a) // its own frame: this MAC, whatever frames to it went to
		ok = bytes.Equal(mac, old)
	}
	if (!ok && len(s.macs) < maxMACs) || (ok && isMadeUp(a, old) && !bytes.Equal(mac, old)) {
		s.macs[a] = append(net.HardwareAddr(nil), mac...)
	}
}

// datagramID identifies an IPv4 datagram as an ICMP error quotes it: its addresses, protocol
// and identification.
type datagramID struct {
	src, dst [4]byte
	proto    byte
	id       uint16
}

// datagramOf identifies the IPv4 datagram whose header ip begins with.
func datagramOf(ip []byte) datagramID {
	return datagramID{src: [4]byte(ip[12:16]), dst: [4]byte(ip[16:20]), proto: ip[9], id: binary.BigEndian.Uint16(ip[4:6])}
}

// noteExpired notes the datagram an ICMP Time Exceeded quotes (RFC 792: its IPv4 header and
// 8 bytes): it expired on the way, a traceroute's probe, and never reached its destination.
func (s *scan) noteExpired(quoted []byte) {
	if len(quoted) >= 20 && quoted[0]>>4 == 4 && len(s.expired) < maxMACs {
		s.expired[datagramOf(quoted)] = true
	}
}
