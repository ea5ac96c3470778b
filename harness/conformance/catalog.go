// Package conformance is mtcp's conformance suite: one Ginkgo spec per case of the conformance
// catalog, each judged on the wire through the harness and recorded to its own pcapng capture.
//
// The specs live in ordinary (non-test) files, declared with `var _ = Describe(...)`, so that
// `go test ./harness/conformance` and the mtcp-test command run the very same specs. Catalog is
// the single source of each case's ID, RFC and title: specs take their text and labels from it,
// and `mtcp-test list` prints it without running anything.
package conformance

import (
	"fmt"
	"regexp"
	"strings"
)

// Case is one behaviour of the conformance catalog.
type Case struct {
	ID    string // "A1"
	RFC   string // where the behaviour is asked for, e.g. "RFC 1122 2.3.2.1"
	Area  string // "arp", "ipv4", "icmp", later "tcp"
	Title string // what the peer sees, in the present tense
}

// Text is the spec's text: the ID, then the title.
func (c Case) Text() string { return c.ID + " " + c.Title }

// Labels are the area and one label per RFC cited ("rfc826"), for --label-filter.
func (c Case) Labels() []string {
	labels := []string{c.Area}
	for _, m := range rfcNumber.FindAllStringSubmatch(c.RFC, -1) {
		l := "rfc" + m[1]
		if !contains(labels, l) {
			labels = append(labels, l)
		}
	}
	return labels
}

var rfcNumber = regexp.MustCompile(`RFC (\d+)`)

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Catalog lists every case the suite has a spec for, in catalog order.
var Catalog = []Case{
	{"A1", "RFC 826", "arp", "answers an ARP request for our address with a unicast reply (op 2, sha = our MAC)"},
	{"A2", "RFC 826", "arp", "ignores an ARP request for another address and caches nothing"},
	{"A3", "RFC 826", "arp", "caches the sender of a request for us, so replying to it needs no ARP"},
	{"A4", "RFC 826", "arp", "updates a known entry with a new MAC; a reply between other hosts adds nothing"},
	{"A5", "RFC 826", "arp", "drops ARP with bad hardware/protocol type or length, bad opcode, or truncated"},
	{"A6", "RFC 1122 2.3.2.2", "arp", "resolves an unknown destination by broadcast, queues the latest packets and sends them on the reply"},
	{"A7", "RFC 1122 2.3.2.1", "arp", "retries unanswered resolution at most once a second, gives up after 3, revalidates stale entries"},
	{"A8", "RFC 894", "arp", "ignores frames to a foreign unicast MAC and unknown EtherTypes"},
	{"I1", "RFC 1122 3.2.1.2", "ipv4", "silently discards a datagram with a bad header checksum"},
	{"I2", "RFC 1122 3.2.1.1", "ipv4", "discards a datagram whose version is not 4"},
	{"I3", "RFC 791 3.1", "ipv4", "discards IHL < 5 or an inconsistent total length, and ignores Ethernet padding"},
	{"I4", "RFC 1122 3.2.1.3, 4.2.3.10", "ipv4", "discards datagrams to other hosts or from broadcast/multicast sources, and a SYN to broadcast, without ICMP"},
	{"I5", "RFC 1122 3.2.1.7", "ipv4", "answers an echo that arrived with TTL 1, with its own default TTL"},
	{"I6", "RFC 1122 3.2.1.8", "ipv4", "skips unknown IP options and processes the payload"},
	{"I7", "RFC 1122 3.3.2, RFC 5722", "ipv4", "reassembles fragments in order, reversed or duplicated, once; drops overlapping fragments"},
	{"I8", "RFC 1122 3.3.2", "ipv4", "frees reassembly state at the timeout, with time exceeded code 1 if fragment 0 came"},
	{"I9", "RFC 1122 3.2.2.1", "ipv4", "answers an unknown protocol with ICMP protocol unreachable"},
	{"I10", "RFC 6864", "ipv4", "gives every datagram, with DF clear, a new IP ID"},
	{"C1", "RFC 792, RFC 1122 3.2.2.6", "icmp", "answers an echo request with the same id, seq and data, odd lengths too"},
	{"C2", "RFC 792, RFC 1122 3.2.2", "icmp", "drops ICMP with a bad checksum or an unknown type"},
	{"C3", "RFC 1122 3.2.2.6", "icmp", "ignores an echo request sent to a broadcast address"},
	{"C4", "RFC 1122 3.2.2", "icmp", "sends no ICMP error about an ICMP error, a broadcast or a non-first fragment"},
}

// Lookup returns the case with the given ID.
func Lookup(id string) (Case, bool) {
	for _, c := range Catalog {
		if c.ID == id {
			return c, true
		}
	}
	return Case{}, false
}

func mustLookup(id string) Case {
	c, ok := Lookup(id)
	if !ok {
		panic(fmt.Sprintf("conformance: case %q is not in the catalog", id))
	}
	return c
}

// IDOf returns the case ID a spec text starts with.
func IDOf(specText string) string {
	id, _, _ := strings.Cut(specText, " ")
	return id
}
