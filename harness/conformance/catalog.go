// Package conformance is mtcp's conformance suite: one Ginkgo spec per case of the conformance
// catalog, each judged on the wire through the harness and recorded to its own pcapng capture.
//
// The specs live in ordinary (non-test) files, declared with `var _ = Describe(...)`, so that
// `go test ./harness/conformance` and the mtcp-test command run the very same specs. Catalog is
// the single source of each case's ID, RFC and title: specs take their text and labels from it,
// and `mtcp-test list` prints it without running anything.
//
// The specs judge a target, not mtcp: they reach it only through the interfaces of package
// harness (frames, the socket API, sysctls, the connection table, counters), so that the same
// suite runs against mtcp (the default), the Linux kernel and gVisor's netstack (--target, and
// RegisterTarget for targets built elsewhere); `mtcp-test diff` compares their verdicts. A
// case that pins a policy of mtcp's rather than an RFC's requirement says so (Case.Policy).
package conformance

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Case is one behaviour of the conformance catalog.
type Case struct {
	ID    string // "A1"
	RFC   string // where the behaviour is asked for, e.g. "RFC 1122 2.3.2.1"
	Area  string // "arp", "ipv4", "icmp", "tcp"
	Title string // what the peer sees, in the present tense
}

// Policy says whose policy the case pins beyond what an RFC requires ("mtcp: a 1 s minimum
// RTO"), where another stack may rightly differ; "" for RFC behaviour (policies below).
func (c Case) Policy() string { return policies[c.ID] }

// Text is the spec's text: the ID, then the title.
func (c Case) Text() string { return c.ID + " " + c.Title }

// Labels are the area and one label per RFC cited ("rfc826"), for --label-filter.
func (c Case) Labels() []string {
	labels := []string{c.Area}
	for _, m := range rfcNumber.FindAllStringSubmatch(c.RFC, -1) {
		l := "rfc" + m[1]
		if !slices.Contains(labels, l) {
			labels = append(labels, l)
		}
	}
	return labels
}

var rfcNumber = regexp.MustCompile(`RFC (\d+)`)

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
	{"C5", "RFC 1122 4.2.3.9", "tcp", "refuses a connection in SYN-SENT on ICMP port or protocol unreachable"},
	{"C6", "RFC 5927 4.1", "tcp", "ignores an ICMP error quoting a sequence number that is not in flight"},
	{"C7", "RFC 1122 4.2.3.9", "tcp", "keeps an established connection through ICMP time exceeded (a soft error)"},
	{"H1", "RFC 9293 3.10.7.2", "tcp", "answers a SYN to a listening port with SYN|ACK, ack = ISN+1, MSS 1460, window 65535"},
	{"H2", "RFC 9293 3.10.7.1", "tcp", "answers a SYN to a closed port with RST|ACK, seq 0, ack = SEG.SEQ+SEG.LEN (the SYN counts 1)"},
	{"H3", "RFC 9293 3.10.7.1", "tcp", "answers an ACK to a closed port with RST, seq = SEG.ACK"},
	{"H4", "RFC 9293 3.10.7.1", "tcp", "sends nothing back for a RST to a closed or listening port"},
	{"H5", "RFC 9293 3.10.7.2", "tcp", "answers an ACK or a SYN|ACK to a listening port with RST, seq = SEG.ACK"},
	{"H6", "RFC 9293 3.10.7.3", "tcp", "answers a SYN|ACK with a bad ack in SYN-SENT with RST, seq = SEG.ACK, and stays in SYN-SENT"},
	{"H7", "RFC 9293 3.10.7.3", "tcp", "refuses the connection on a RST|ACK acking its SYN in SYN-SENT; ignores a RST without ACK"},
	{"H8", "RFC 9293 3.5", "tcp", "answers a SYN in SYN-SENT with SYN|ACK from the same ISN and reaches ESTABLISHED (simultaneous open)"},
	{"H9", "RFC 9293 3.10.7.4", "tcp", "goes back to LISTEN on a RST in a passive SYN-RECEIVED; refuses an active one"},
	{"H10", "RFC 9293 3.10.7.4", "tcp", "answers an unacceptable ACK in SYN-RECEIVED with RST, seq = SEG.ACK"},
	{"H11", "RFC 6298 5, RFC 1122 4.2.3.5", "tcp", "retransmits an unanswered SYN after 1, 2, 4, 8 and 16 s, then gives up"},
	{"H12", "RFC 9293 3.10.7.3", "tcp", "takes data and a FIN that arrive on the SYN-ACK in SYN-SENT"},
	{"N1", "RFC 6528 3", "tcp", "chooses initial sequence numbers that are not zero, not consecutive, not close together"},
	{"O1", "RFC 6691", "tcp", "announces MSS = MTU − 40 = 1460 in its SYN and SYN|ACK, and sends no larger segment to a peer with a larger MSS"},
	{"O2", "RFC 9293 3.7.1", "tcp", "sends segments of at most 536 bytes to a peer whose SYN had no MSS option"},
	{"O3", "RFC 9293 3.7.1", "tcp", "sends segments of at most 500 bytes to a peer that announced MSS 500"},
	{"O4", "RFC 9293 3.1", "tcp", "ignores an MSS option on a segment without SYN"},
	{"O5", "RFC 9293 3.1", "tcp", "skips unknown options; drops segments with malformed options and stays up"},
	{"O6", "RFC 7323 2.2-2.3", "tcp", "scales windows only after the SYNs, never a SYN's own window, and takes a shift of 15 as 14"},
	{"O7", "RFC 7323 2.2", "tcp", "neither offers nor applies window scaling when the peer's SYN has no window scale option"},
	{"O8", "RFC 7323 5.3", "tcp", "drops a segment whose TSval is older than TS.Recent (PAWS) and answers with an ACK; applies no PAWS without timestamps agreed"},
	{"TS1", "RFC 7323 3.2", "tcp", "offers timestamps in its SYN and uses them only when both SYNs carry them; Config.Timestamps Off neither offers nor answers"},
	{"TS2", "RFC 7323 3.2", "tcp", "sends a timestamp on every segment once agreed, RST too, and drops a non-RST segment without one (our policy)"},
	{"TS3", "RFC 7323 4.3", "tcp", "echoes the earliest unacknowledged TSval in a delayed ACK, and the last in-order one for out-of-order data"},
	{"TS4", "RFC 7323 4.1, appendix G", "tcp", "measures the RTT from the echoed timestamp on every ACK of new data, retransmissions too, weighted per window"},
	{"TS5", "RFC 7323 5.4, 7.1", "tcp", "draws TSval from a millisecond clock plus a per-connection offset"},
	{"TS6", "RFC 7323 5.5", "tcp", "stops trusting TS.Recent after 24 days without a segment and takes an older TSval"},
	{"TS7", "RFC 7323 5.3, RFC 9293 3.1", "tcp", "answers a flood of stale timestamps with at most one ACK per 500 ms; drops a timestamp option of the wrong length"},
	{"TS8", "RFC 7323 5.3, RFC 5961 5.2", "tcp", "leaves TS.Recent alone for a segment dropped for its ACK, so one forged far-ahead TSval cannot make PAWS drop the connection"},
	{"SK1", "RFC 2018 2", "tcp", "offers SACK-permitted in its SYN and reports SACK blocks only when both SYNs carried it; Config.SACK Off neither offers nor answers"},
	{"SK2", "RFC 2018 3, 4", "tcp", "reports the out-of-order data it holds in SACK blocks, the newest first, as many as fit beside the timestamp"},
	{"SK3", "RFC 2883 4", "tcp", "reports a duplicate segment once in a D-SACK block, followed by the block it lies in"},
	{"SK4", "RFC 6675 5", "tcp", "recovers two losses in one window from SACK alone: sends only the holes, as cwnd − pipe allows, and ends at the recovery point"},
	{"SK5", "RFC 2018 8", "tcp", "frees nothing the peer SACKed before the cumulative ACK covers it, and sends it again when the peer reneges"},
	{"SK6", "RFC 2018, RFC 6675, RFC 9293 3.1", "tcp", "ignores SACK blocks that are reversed or outside SND.UNA..SND.NXT, and drops a SACK option of a bad length"},
	{"RK1", "RFC 8985 6.2", "tcp", "marks a segment lost once a later one is SACKed and RACK.rtt + min_RTT/4 have passed, without three duplicate ACKs"},
	{"RK2", "RFC 8985 7", "tcp", "sends a tail loss probe 2·SRTT after the last ACK or data (+200 ms with one segment in flight, +4 ms with more) instead of waiting for the RTO"},
	{"EC1", "RFC 3168 6.1.1", "tcp", "answers an ECN-setup SYN with ECE (passive, the default) and never asks; asks when Config.ECN is On, not on a retransmitted SYN"},
	{"EC2", "RFC 3168 6.1.1, 6.1.4, 6.1.5", "tcp", "marks new data ECT(0), and never the SYN-ACK, a pure ACK, a retransmission or a window probe"},
	{"EC3", "RFC 3168 6.1.3", "tcp", "echoes a CE mark with ECE on every ACK, the first at once, until the peer's CWR"},
	{"EC4", "RFC 3168 6.1.2", "tcp", "halves the congestion window on ECE once per window of data and sets CWR on the next new data"},
	{"EC5", "RFC 3168 6.1.1", "tcp", "ignores ECE and CE on a connection that did not negotiate ECN"},
	{"PM1", "RFC 1191 3, 6.1", "tcp", "sets DF on its segments; a fragmentation-needed quoting one in flight lowers the MSS, never below 536, and sends the data again smaller"},
	{"PM2", "RFC 5927 4.1, 5.2; RFC 1191 6.3", "tcp", "ignores a fragmentation-needed that quotes no segment in flight, names an MTU not below the path's, or quotes a datagram that fitted"},
	{"D1", "RFC 9293", "tcp", "acknowledges in-order data and delivers it to the application"},
	{"D2", "RFC 5681 4.2, RFC 2018 4", "tcp", "answers an out-of-order segment at once with a duplicate ACK, carrying SACK blocks when SACK was agreed"},
	{"D3", "RFC 5681 4.2", "tcp", "acknowledges at once, cumulatively, the segment that fills a hole"},
	{"D4", "RFC 9293 3.10.7.4", "tcp", "delivers only the new bytes of overlapping segments"},
	{"D5", "RFC 9293 3.10.7.4", "tcp", "answers a segment outside the window with ACK <SND.NXT, RCV.NXT> and drops it; trims one straddling the right edge"},
	{"D6", "RFC 9293 3.10.7.4", "tcp", "answers a segment acking data not yet sent with an ACK and drops it"},
	{"D7", "RFC 1122 4.2.3.2", "tcp", "delays the ACK of a small segment 200 ms (at most 500 ms) and acknowledges every second full segment at once"},
	{"D8", "RFC 9293 3.8.6", "tcp", "never sends past the right edge of the peer's window"},
	{"D9", "RFC 9293 3.8.6.1, RFC 6429", "tcp", "probes a zero window with backoff for as long as the peer answers, and sends when it opens"},
	{"D10", "RFC 9293 3.8.6.2", "tcp", "advertises a zero window when the application stops reading, and a window update when it reads"},
	{"D11", "RFC 1122 4.2.3.3", "tcp", "opens a closed window only in steps of at least min(MSS, half the buffer)"},
	{"D12", "RFC 9293 3.10.7.4", "tcp", "holds a FIN that comes before the data in front of it, answers it at once as out-of-order data, and takes it once the gap fills"},
	{"D13", "RFC 9293 3.8.6.2.1", "tcp", "sends no small segment into a window under half the peer's largest while more data waits, until the override timeout"},
	{"R1", "RFC 6298 2.1, 5.1", "tcp", "retransmits unacknowledged data after an RTO of 1 s (our minimum RTO; Linux's is 200 ms)"},
	{"R2", "RFC 6298 5.5", "tcp", "doubles the RTO at each retransmission, caps it at 60 s, and gives up after 8"},
	{"R3", "RFC 6298 3", "tcp", "takes no RTT sample from a retransmitted segment and keeps the backed-off RTO (Karn)"},
	{"R4", "RFC 6298 5.3", "tcp", "restarts the retransmission timer when an ACK acknowledges part of the data in flight"},
	{"R5", "RFC 5681 3.2", "tcp", "retransmits at the third duplicate ACK and sets ssthresh = max(FlightSize/2, 2·SMSS)"},
	{"R6", "RFC 9293 3.6", "tcp", "retransmits its FIN until it is acknowledged"},
	{"T1", "RFC 9293 3.6", "tcp", "closes actively through FIN-WAIT-1, FIN-WAIT-2 and TIME-WAIT, and forgets the connection after 2·MSL = 60 s"},
	{"T2", "RFC 9293 3.6", "tcp", "acknowledges the peer's FIN, reports EOF, still sends, and closes through CLOSE-WAIT and LAST-ACK"},
	{"T3", "RFC 9293 3.6", "tcp", "goes through CLOSING to TIME-WAIT when both sides send FIN at once"},
	{"T4", "RFC 9293 3.10.7.4", "tcp", "acknowledges any acceptable FIN in TIME-WAIT, a repeated one or one at RCV.NXT, and restarts the 2·MSL timer"},
	{"T5", "RFC 1337", "tcp", "ignores a RST in TIME-WAIT (RFC 1337; Linux closes instead)"},
	{"T6", "RFC 6191, RFC 1122 4.2.2.13", "tcp", "takes a SYN in TIME-WAIT with SEG.SEQ > RCV.NXT as a new connection, answers an older one with a challenge ACK (our policy)"},
	{"T7", "RFC 1122 4.2.2.13", "tcp", "sends RST, not FIN, when closed with unread data or aborted"},
	{"T8", "RFC 9293 3.10.4", "tcp", "deletes the connection without a RST when closed in SYN-SENT; a late SYN-ACK draws the closed port's RST"},
	{"T9", "RFC 6191 2", "tcp", "opens a new connection for a SYN in TIME-WAIT with a newer TSval; keeps TIME-WAIT when the listener cannot take it"},
	{"T10", "RFC 9293 3.10.7.4, RFC 5961 4.2", "tcp", "acknowledges data, an old or a future segment in TIME-WAIT (at most one ACK per 500 ms, as Linux and FreeBSD), not the ACK of its FIN again; a SYN+FIN opens no new connection"},
	{"S1", "RFC 5961 3.2", "tcp", "resets the connection on a RST with seq = RCV.NXT in every synchronized state but TIME-WAIT"},
	{"S2", "RFC 5961 3.2", "tcp", "answers a RST in the window with seq ≠ RCV.NXT with a challenge ACK and stays up"},
	{"S3", "RFC 5961 3.2 (+Errata 4845)", "tcp", "drops a RST outside the window silently"},
	{"S4", "RFC 5961 4.2", "tcp", "answers a SYN in a synchronized state with a challenge ACK and stays up"},
	{"S5", "RFC 5961 5.2", "tcp", "drops a segment whose ACK is outside [SND.UNA − MAX.SND.WND, SND.NXT] and answers with an ACK"},
	{"S6", "RFC 5961 7", "tcp", "sends at most one challenge ACK per 500 ms per connection, and a budget per second drawn anew between 50 and 149 in all (CVE-2016-5696)"},
	{"B1", "RFC 9293 3.1", "tcp", "drops a segment with a bad TCP checksum silently"},
	{"B2", "RFC 9293 3.1", "tcp", "ignores the reserved bits of the segments it gets and sends them zero"},
	{"B3", "RFC 9293", "tcp", "drops a segment without ACK in a synchronized state, and one with a bad data offset"},
	{"B4", "RFC 9293", "tcp", "drops SYN+FIN to a listener silently (as Linux), resets it at a closed port, challenges it when synchronized"},
	{"B5", "RFC 6093", "tcp", "delivers urgent data in line: the byte stream stays intact"},
	{"HD1", "RFC 4987 3.6", "tcp", "answers SYNs past the half-open limit with SYN cookies, window scale and SACK-permitted in the TSval's low bits, and builds the connection from the cookie's ACK"},
	{"HD2", "RFC 4987 3.6, RFC 9293 3.10.7.2", "tcp", "answers an ACK whose cookie does not check, or is older than two minutes, with RST, seq = SEG.ACK, and opens nothing"},
	{"HD3", "RFC 4987 3.3, RFC 1122 2.3.2.1", "tcp", "frees a half-open connection once ARP finds no one at its SYN's source, long before the SYN-ACK retries end"},
	{"HD4", "RFC 9293 3.8.6.1, RFC 1122 4.2.2.17", "tcp", "probes a zero window for as long as the peer answers, and gives up with ErrTimeout after Config.Retries unanswered probes, in FIN-WAIT-1 too"},
	{"HD5", "RFC 9293 3.6", "tcp", "resets a closed connection after 60 s in FIN-WAIT-2 (FinTimeout, as Linux); a half-closed one waits and still reads"},
	{"HD6", "RFC 5482, RFC 6298 5", "tcp", "aborts a connection with ErrTimeout once its data has gone unacknowledged for the user timeout, not at the next backoff"},
	{"HD7", "RFC 6191, RFC 9293 3.10.7.4", "tcp", "keeps TIME-WAIT out of the connection table, and past MaxTimeWait evicts the oldest entry, whose tuple then draws the listener's RST"},
	{"U1", "runtime", "runtime", "serves 100 concurrent connections on one listener, each completing a request/response"},
	{"U2", "RFC 9293 3.6", "runtime", "half-close: after the peer's FIN, Read returns io.EOF while Write still works"},
	{"U3", "RFC 1122 4.2.2.13", "runtime", "Close sends a FIN, or a RST when received data is unread"},
	{"U4", "runtime", "runtime", "a read or write deadline in the past fails with os.ErrDeadlineExceeded"},
	{"U5", "runtime", "runtime", "DialContext cancelled during the handshake returns the context's error and deletes the connection without a RST (RFC 9293 3.10.5); a late SYN-ACK draws one"},
	{"U6", "RFC 9293 3.10.7.4", "runtime", "after the peer's reset, Read and Write fail with ErrConnReset and no goroutine leaks"},
	{"U7", "runtime", "runtime", "a 10 MiB Write completes across window updates and retransmissions, intact"},
	{"U8", "runtime", "runtime", "two pairs of stacks in one process share nothing"},
	{"U9", "runtime", "runtime", "bounded tables: a full connection table or backlog refuses new connections, established ones keep working"},
	{"U10", "RFC 6298 5, RFC 9293 3.10.7.2", "runtime", "an unanswered SYN-ACK is retransmitted with backoff, then the half-open connection is freed"},
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

// policies are the cases that pin a policy of mtcp's (or of the bench's mtcp configuration)
// beyond what the RFCs require: mtcp-test diff reports their differences apart. Each names
// the policy; the header of a script says the same with a "// Policy:" line.
var policies = map[string]string{
	"A6":  "mtcp — four packets queued per unresolved address, the oldest dropped (RFC 1122 2.3.2.2 asks for at least the latest; gVisor and Linux keep more)",
	"A7":  "mtcp — a stale ARP entry is polled at once (gVisor and Linux wait NUD's 5 s DELAY first)",
	"B4":  "mtcp — SYN+FIN to a listener dropped, as Linux (gVisor takes it as a SYN: RFC 9293 does not process FIN in LISTEN)",
	"B5":  "mtcp — 200 ms delayed ACK (gVisor ACKs each segment at once, Linux quick-ACKs the first ones)",
	"C3":  "mtcp — echo to a broadcast address ignored (RFC 1122 3.2.2.6 MAY; gVisor answers)",
	"C5":  "mtcp — ECONNREFUSED for ICMP protocol unreachable in SYN-SENT (gVisor and Linux report ENOPROTOOPT)",
	"C7":  "mtcp — soft ICMP errors not reported by SO_ERROR (RFC 9293 3.9.2.2 SHLD-25 leaves how; gVisor and Linux report them once); 1 s minimum RTO",
	"D1":  "mtcp — 200 ms delayed ACK, one ACK per second full segment (gVisor ACKs each segment at once)",
	"D5":  "mtcp — bytes past the advertised right edge dropped (gVisor and Linux keep what fits in their buffer; RFC 9293 3.10.7.4 describes trimming as what one could do)",
	"D9":  "mtcp — zero-window probe without data at SND.UNA-1, 1 s minimum RTO, 60 s RTO cap (gVisor: one junk byte, 200 ms, 120 s)",
	"EC5": "mtcp — 200 ms delayed ACK: the ACK of CE-marked data is not hurried (gVisor ACKs at once)",
	"H1":  "mtcp — SYN-ACK window 65535 unscaled (gVisor 29184, Linux 64240)",
	"O5":  "mtcp — segments with malformed options dropped (RFC 9293 3.1 MUST-7 leaves the handling; gVisor and Linux ignore the option)",
	"O6":  "mtcp — window scale 3 and SYN window 65535 for its 256 KiB buffer (gVisor 7 and 29184, Linux 10 and 64240)",
	"O7":  "mtcp — SYN-ACK window 65535 (gVisor 29184, Linux 64240)",
	"R1":  "mtcp — 1 s minimum RTO (RFC 6298 2.4; gVisor and Linux use 200 ms, as RFC 8961 allows)",
	"R2":  "mtcp — 1 s minimum RTO, 60 s RTO cap, 8 retransmissions (gVisor 200 ms, 120 s, 15)",
	"R4":  "mtcp — 1 s minimum RTO (gVisor and Linux 200 ms)",
	"R6":  "mtcp — 1 s minimum RTO; RST at the FIN-WAIT-2 timeout, as Linux (gVisor frees silently); data and FIN resent together after an RTO",
	"S1":  "mtcp — ECONNRESET after a RST in CLOSE-WAIT (gVisor and Linux report EPIPE)",
	"S3":  "mtcp — a 256 KiB window from the start (gVisor's grows from 29184 after the first read, so a RST just past the advertised edge is inside its window and draws a challenge ACK)",
	"S6":  "mtcp — challenge ACKs budgeted per second across connections (RFC 5961 7 leaves the limit; gVisor throttles per connection only, Linux has no global limit by default)",
	"T10": "mtcp — ACKs in TIME-WAIT at most one per 500 ms, as Linux (gVisor answers every segment)",
	"T7":  "mtcp — 200 ms delayed ACK: unread data is not ACKed before the RST (gVisor ACKs it at once)",
	"TS4": "mtcp — RFC 7323 appendix G weighting with FlightSize counted before the ACK (gVisor counts it after; the appendix is informative)",
	"TS5": "mtcp — TSval offset per connection (gVisor and Linux use one per address pair)",
	"U10": "mtcp — 5 SYN-ACK retransmissions (gVisor 6)",
}
