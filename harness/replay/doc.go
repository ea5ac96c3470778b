// Package replay replays a Wireshark capture against mtcp and reports where the stack differs
// from the host it replaces. It is the engine of the mtcp-replay command.
//
// The capture is read twice, as a stream (memory does not grow with the number of frames;
// each TCP conversation keeps a small state, and the bytes written until it is judged): a
// first pass picks the host the stack plays, learns its address and MAC and the ports it
// answered SYNs on, and the MACs of the others; the second replays. Capture records are read by
// the package capture, which reports a broken file with its record number and byte offset, in
// a goroutine of their own a few batches ahead of each pass (prefetch.go), so that reading the
// file takes another core than the replay.
//
// # Link types
//
// Records of Ethernet interfaces (LINKTYPE_ETHERNET) are replayed as captured (IEEE 802.3
// frames with an LLC/SNAP header, RFC 1042, as the Ethernet II frames they carry). Records
// of the link types of captures without Ethernet headers are turned into Ethernet frames
// before anything else looks at them, in both passes:
//
//   - Linux cooked captures, LINKTYPE_LINUX_SLL and LINKTYPE_LINUX_SLL2 (what tcpdump -i any
//     writes): IPv4 and ARP, by the protocol field; the packet type marks broadcast and
//     multicast frames. Other protocols (IPv6, LLC, ...) are skipped and counted.
//   - Raw IP, LINKTYPE_RAW and LINKTYPE_IPV4 (and DLT_RAW as old files give it, 12 and 14):
//     IPv4, by the version field; IPv6 is skipped and counted.
//   - BSD loopback, LINKTYPE_NULL (the address family in the capturing host's byte order) and
//     LINKTYPE_LOOP (big-endian): AF_INET, read in either byte order; other families are
//     skipped and counted.
//
// These frames carry made-up MACs: 02:00 followed by the IPv4 address (198.18.1.2 gets
// 02:00:c6:12:01:02, as in pcaps/record.sh), locally administered and the same for an address
// in every frame, ARP's hardware address fields included, so that the frames, the stack's MAC
// and the replay's ARP answers agree. A cooked capture's link-layer address is not used: it is
// the sender's alone, and frames towards a host would carry a MAC its own frames never show. An
// address that an Ethernet interface of the same capture shows with a MAC keeps that MAC on
// every interface. A record too short for its header, or a raw record of neither IP version,
// is named as damaged. Interfaces of any other link type are left out: the report counts their
// records by interface, with the link type's registered name
// (https://www.tcpdump.org/linktypes.html), and a capture with nothing else is refused.
//
// # Roles
//
// The stack plays the server of the first TCP conversation (the side that answered a SYN), or
// its client with Options.Client, or the host given; without a TCP handshake, the host that
// answered the first ARP or echo request, else the destination of the first IPv4 packet. It
// takes that host's IPv4 address and MAC. In each TCP conversation of the host it is the server
// where the host answered the SYN (it listens on those ports) and the client where the host
// sent it (it dials, at the instant the host did, and its ephemeral port replaces the host's
// in the peer's segments). Options.Client plays the client side only, of the host given too:
// the conversations the host answered are skipped and counted, and the stack listens on no
// port, so that every conversation replayed has the stack as the client the report names.
//
// # The stack
//
// The engine drives the stack through the target-neutral interfaces of package harness, as the
// bench does: frames and virtual time through harness.DUT (harness.RunDeadlines takes it from
// deadline to deadline), the applications behind it through harness.Sockets (listen, accept,
// connect, read, write, shutdown, close on descriptors, errno results). What the socket API
// cannot say, a connection taken over in the middle of its life, is Joiner, which mtcp offers
// from its TCP layer's mid-stream join (target.go); a target without it skips the
// conversations that began before the capture. harness.Sockets names no descriptor's ends: a
// connection accepted is the one the segment just injected completed (the replay accepts
// after each segment it injects to a listening port), and the port of an active open is the
// one the stack's SYN comes from. Only the stack's configuration, from what the capture
// shows, is mtcp's (newEngine).
//
// The replay reads frames, the capture's and the stack's, with gopacket (frame.go), never with
// the stack's own parser, so that a parsing bug cannot hide on both sides of the comparison;
// the frames it makes itself (its ARP replies, the peer's segments it rebuilds) it builds with
// gopacket's SerializeLayers (build.go).
//
// # Replay
//
// Virtual time follows the capture's timestamps, so a 30-minute capture replays in seconds.
// Frames the others sent the host are injected at their instants; the host's own frames are
// what the stack is compared with; frames between other hosts, and of protocols mtcp does not
// have (UDP, IPv6, LLC), are skipped and counted. How the replay decides what the capture
// cannot say:
//
//   - The stack's TCP extensions are the recorded host's, as its SYNs and SYN-ACKs show:
//     timestamps, SACK and ECN each on when the host offered or answered them, off when it
//     never did (the report says which). A stack that spoke timestamps to a peer the host
//     never spoke them with would drop every later segment of it (RFC 7323 3.2).
//   - Sequence numbers: the peer's are used as captured; its acknowledgement numbers and SACK
//     blocks are moved from the recorded host's sequence space to the stack's, and the TS
//     echo of its timestamps from the host's clock to the stack's (both tick in
//     milliseconds), so the stack's RTT samples are its own.
//   - The application behind the stack's socket writes the bytes the recorded host sent, each
//     chunk once it has read what the recorded host had acknowledged when it sent it (the
//     segment's ack number), and not before the chunk's capture time; it shuts down writing
//     when the host sent its FIN, under the same rule, and aborts when the host reset an
//     established connection. It reads everything that comes.
//   - A peer's ACK that acknowledges bytes the stack has not sent yet (it is slower than the
//     recorded host, say with a smaller initial window) acknowledges what the stack has sent,
//     and the rest is acknowledged again, as a pure ACK, one recorded round trip (from the
//     host's SYN to the peer's answer) after the stack sends it: the peer cannot acknowledge
//     what it never received, nor at once, and the stack's RTT estimate stays the network's.
//     That ACK is the peer's as it is by then: at its next sequence number, with its newest
//     TSval, and with the window and SACK blocks of its newest segment injected (a window
//     update, its FIN), which supersede those it was recorded with (a zero window, say). Held
//     ACKs the stack catches up with at once are given back as one, of the newest ack. These
//     are counted as synthesized. An ACK that acknowledges less than the peer did (held, or
//     given back as far as the stack has sent) advertises the peer's right edge, its ack plus
//     its window (scaled as negotiated, rounded up to the scale's unit): the peer had room for
//     what it acknowledged, and a zero window closes where the recorded host stopped.
//   - Segments coalesced by GRO or TSO in the capture (larger than the 1500-byte MTU) are cut
//     into MTU-sized ones before injection.
//   - Checksums of injected frames are corrected when wrong: a capture's checksums are often
//     wrong for reasons that never reached the wire (offload on the capturing host, anonymised
//     addresses); Options.KeepChecksums injects them as captured.
//   - A frame cut short by the snap length whose IPv4 header and TCP fixed header are whole
//     has its payload zero-filled to the length the IP header gives (those bytes are not
//     compared), and when the cut fell inside its TCP options, it keeps those that are whole
//     (and valid), its header shortened to them;
//     otherwise a damaged frame (cut inside its headers, malformed) is injected as captured
//     if it was for the host, so the stack must survive it, and named in the report.
//   - The stack's ARP requests are answered with the MAC the capture shows for the address:
//     its frames' own, else the one frames to it went to (a router's, for a distant host,
//     even one that never answers); they and the host's own requests are not compared,
//     since the stack's ARP cache is not the host's.
//   - A conversation that began before the capture (no SYN seen) is joined mid-stream at the
//     recorded host's first segment in it with data or a FIN, or at the peer's answer to a
//     pure ACK of the host, which tells a keep-alive (see join.go for what is assumed: MSS,
//     window scales); until then the peer's segments are not injected. A capture without a handshake
//     takes the end with the lower port of its first conversation as the server.
//   - Capture artefacts are worked around and reported once each (Report.Artefacts, see
//     artefacts.go): bytes of the host's stream missing from the capture are written by the
//     application all the same (zeros) and not compared; bytes of a peer's stream missing
//     from it are injected as zeros once the recorded host acknowledges them; a frame that
//     repeats the IPv4 datagram just before it within 1 ms is not replayed; a clock that
//     steps back starts an ordered run that follows the one before; IPv4 total length 0
//     (TSO) is the frame's length; what the stack sends after the capture's last record is
//     judged only as far as it answers the recorded host, and the host's last data the stack
//     could send only once acknowledged, when the capture lacks that ACK, is not judged; in a
//     loopback capture (one address at both ends) the ends get addresses and MACs of their
//     own (198.18.0.2 for the end that answered SYNs, 198.18.0.1), told apart by port; a
//     one-sided capture with only what was sent to the host is not comparable, and one with
//     only what the host sent is compared on that, but for the host's segments that answer
//     frames it lacks (an ACK of a SYN-ACK never captured); IEEE 802.3 LLC/SNAP frames are
//     read as Ethernet II; frames to the host's address that went to another MAC (a man in
//     the middle after ARP spoofing) are delivered to the stack all the same, and those a
//     router answered with ICMP Time Exceeded (traceroute's probes) are not; a peer's
//     SYN-ACK captured before the host's SYN is replayed
//     right after it; a SYN on the ports of a conversation the capture shows over (both
//     FINs, or a reset) begins a new one, even with the same ISN.
//   - 802.1Q tags are removed; a host whose MAC is zero or multicast (anonymised captures)
//     keeps its address and gets a MAC of its own; a loopback host gets an address too.
//
// # Comparison
//
// Per TCP conversation, with sequence numbers relative to each side's ISN: the host's SYN,
// SYN-ACK, FIN and RST must be matched by the stack's, with the same control bits (PSH aside;
// a RST and a RST+ACK are the same unless Options.CompareRSTACK) and sequence number, and the
// same ack (or a later one up to what the stack had been given: the peer's FIN may come before
// the stack's own in the replay); its data must be sent by the stack, byte for byte what the
// application wrote, though segmentation may differ; its pure ACKs must be matched by an ack
// at least as far (and the stack never acknowledges more than it was given). With
// Options.CompareWindow and CompareOptions, the windows and the options of the SYN, SYN-ACK,
// FIN and RST segments are compared too (not those of data segments and pure ACKs, whose
// segmentation and timing differ): the windows scaled by the shift each side negotiated
// (RFC 7323 2.2: its own window scale, when both SYNs carried the option; a SYN's window is
// never scaled), the report giving field and shift ("window 262144 (32768 << scale 3),
// recorded 64512 (63 << scale 10)"), since each side scales by its own; the options by their
// kinds, since their values (a window scale) follow each host's buffers and their order each
// implementation's habit. A control segment the stack sends that the host did not, and
// retransmissions beyond the host's, are differences. ARP replies and ICMP messages of the
// host must be matched by the stack's (echo replies with the same id, sequence number and
// data). What has no counterpart within Options.Horizon of virtual time is a difference.
//
// # Report
//
// The report lists each difference with the capture frame, what the recorded host sent and
// what the stack sent (in packetdrill's notation), and ends with what was judged ("judged: 612 of 640 host frames compared, 3 conversations") and the verdict: "equivalent", "different: N differences" or "not comparable: WHY". Sequence numbers
// are relative, as Wireshark shows them: the recorded host's and its peer's to their ISNs as
// the capture shows them, the stack's to its own ISN, so that the recorded host's numbers and
// the stack's count the same bytes alike; a side whose SYN the replay never had (a reset from
// a closed port, a SYN damaged in the capture) counts from its first number seen, less one,
// as Wireshark does, and the conversation's line says so. Options.Absolute shows every number
// as sent instead; no line mixes the two.
//
// The output (Options.Output) is a pcapng of the injected frames and the stack's, on the
// capture's clock: a record injected as captured has the capture's own timestamp, and the
// others (the stack's frames, ACKs the replay gives back later, its ARP answers) the instant
// of virtual time they were made at on the same clock, so that it lines up with the capture
// in Wireshark. Every frame has a comment: an injected one names its capture frame; one of the
// stack's, the capture frames it corresponds to (the recorded segments whose bytes it carries,
// whose ACK it matches, the control segment it pairs with), that it retransmits, or why none
// corresponds ("extra: no recorded frame corresponds", "not compared: sent after the
// capture's end"), and each difference is noted where it shows.
//
// # Interruption and progress
//
// Options.Stop interrupts a replay: it is looked at before each record (and before the output
// is written), and once it is closed Replay returns the report of the records replayed so far,
// marked Interrupted, with no verdict (what the stack had yet to answer is not judged), and
// leaves no output: the temporary file the output is streamed to, beside it, is removed. The
// mtcp-replay command closes it on SIGINT or SIGTERM; it then prints that report, whose last
// line is "interrupted at frame N of M" (N records of M replayed), and exits 130 for SIGINT,
// 143 for SIGTERM. A signal during the first pass stops the replay when that pass is over, at
// frame 0. A second signal stops the command at once, with the output files removed and no
// report. Its other exit statuses are 0 equivalent, 1 different, 2 bad input or usage (and
// damaged frames with Options.StrictInput), 3 not comparable (nothing the recorded host sent
// could be compared: Report.NotComparable says why).
//
// # Every host
//
// ReplayAll (mtcp-replay --all) replays each TCP conversation twice: a replay per host that
// answered a SYN, the stack as its server, and one per host that sent one, the stack as its
// client; the report gives a verdict per conversation and role, and one overall.
//
// The command shows its progress on stderr: a bar on a terminal (for replays that take more
// than half a second), otherwise a line every 5 seconds,
//
//	replaying: 42% (266240/632771 frames), 12 s left
//
// with the time left estimated from the pace so far once there is one; -q shows neither.
// Stdout carries only the report.
package replay
