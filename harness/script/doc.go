// Package script reads and runs mtcp's scenario language: packetdrill's syntax,
// plus a few extensions. Parse turns a script into an AST; Run executes it in
// virtual time against a target behind the harness's DUT and Sockets
// interfaces (a fresh mtcp core by default), judging every packet the target
// sends with gopacket, and returns the first mismatch in packetdrill notation
// with a capture of the run. The runner never reads the clock and never
// executes shell lines: they are reported as skipped. How the runner reads a
// script (relative sequence numbers, ports, tolerance, blocking calls, strict
// and lenient modes) is documented in scenarios/README.md.
//
// # packetdrill syntax
//
// Option lines come first (--tolerance_usecs=N, --ip_version=ipv4; others are
// kept in Script.Options and reported in Script.Warnings). Each event starts
// with a time: "1.5" (absolute), "+0.1" (relative), "*" (any), "T~T" or
// "+T~+T" (a window); "*" and windows are for outbound packets only. Events are
//
//	0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3                  system call
//	+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
//	+0 > S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0>   outbound TCP
//	+.1 < S. 0:0(0) ack 1 win 5792 <mss 1460,nop,wscale 7>       inbound TCP
//	+0 < [ect0] . 1:1001(1000) ack 1 win 257                       IP info
//	+0 < icmp unreachable frag_needed mtu 1200 [1:1461(1460)]      ICMP
//	+0 `sysctl -w net.inet.tcp.sack.enable=1`                      shell (never run)
//
// Comments are // and /* */. The FreeBSD fork's #ifdef NAME, #ifndef NAME,
// #else and #endif lines select lines by the defines given to Parse.
// A TCP line with no data may give its sequence number alone ("> S 0 win 0"),
// which packetdrill rejects, so no packetdrill script changes meaning.
//
// # Extensions
//
// Each is a form packetdrill rejects with a syntax error:
//
//	< arp request who-has 198.18.0.2 tell 198.18.0.1     ARP, either direction
//	> arp reply 198.18.0.2 is-at *                        '*': any MAC (outbound)
//	< arp reply 198.18.0.1 is-at 02:00:00:00:00:01
//	< raw 0x0200000000010200...                           a whole Ethernet frame in
//	< raw "02 00 00 00 00 01 ..."                         (hex; spaces and ':' allowed)
//	< . 1:1(0) ack 1 win 100 bad_checksum                 wrong TCP/ICMP checksum
//	< . 1:1(0) ack 1 win 100 bad_ip_checksum              wrong IPv4 header checksum
//	< . 1:1(0) ack 1 win 100 ttl 1 ip_id 7                IPv4 TTL and identification
//	< . 1:1(0) ack 1 win 100 ip_options 0x01010100        IPv4 options (hex, 4n bytes)
//	< P. 1:9(8) ack 1 win 100 fragment offset 0 more      an IPv4 fragment (offset in bytes)
//	+3 > nothing                                          the stack sends nothing until then
//
// The trailing attributes (bad_checksum, bad_ip_checksum, ttl, ip_id,
// ip_options, fragment) follow the TCP options or the ICMP line, in any order,
// on inbound packets only.
//
// # Errors
//
// A malformed script yields a nil *Script and an *Error printed as
// "file:line:col: message" with the source line and a caret; an unsupported
// construct says "unsupported: ...".
package script
