// Package script reads and runs mtcp's scenario language: packetdrill's syntax,
// plus a few extensions. Parse turns a script into an AST; Run executes it in
// virtual time against a target behind the harness's DUT and Sockets
// interfaces (a fresh mtcp core by default), judging every packet the target
// sends with gopacket, and returns the first mismatch in packetdrill notation
// with a capture of the run. The runner never reads the clock and never
// executes shell lines: their sysctl assignments set the stack's policy (see
// Policy below) and the rest is reported as skipped. How the runner reads a
// script (sequence numbers, ports, tolerance, blocking calls, strict and
// lenient modes, platforms) is documented in scenarios/README.md.
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
//	+0 `sysctl -w net.inet.tcp.sack.enable=1`                      shell (sysctls applied)
//	+0 %{ assert tcpi_snd_cwnd == 10 }%                            Python (run by python3)
//
// Everything Google's packetdrill grammar accepts parses, and so do the FreeBSD
// fork's additions (tcp-testsuite): structured system-call arguments
// ({msg_iov(1)=[{iov_base=..., iov_len=10}], msg_flags=0}, pollfd, epoll_event,
// cmsg, sock_extended_err; name(LEN)=value is an ExprAssign with Len), IP info
// lists ((ttl 3, tos 0x10), [dscp af41], [ecn ce]), S:E(L)! (the wire's number)
// and ...(L) (any number), TS val ... and ecr N!, S.E flags, and ICMP type and
// code names. Comments are // and /* */; %{ }% blocks and backquoted commands
// may span lines, and a '#' line inside them is theirs. A TCP line with no data
// may give its sequence number alone ("> S 0 win 0"), which packetdrill
// rejects, so no packetdrill script changes meaning.
//
// # Definitions
//
// ParseWith takes packetdrill's -D NAME=VALUE (a bare word NAME reads as VALUE,
// typed as packetdrill's lexer types it; --define=NAME=VALUE in a script does
// the same) and mtcp's -D NAME and -U NAME. #ifdef NAME, #ifndef NAME, #else
// and #endif (nestable) test them. STANDARD is defined exactly when no define
// names a platform (FreeBSD, Linux, NetBSD, OpenBSD), so -D FreeBSD selects the
// FreeBSD branches instead. Names are case-sensitive; CaseWarnings reports a
// define that differs only in case from a name the script tests.
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
// # Running
//
// Sequence numbers map as packetdrill maps them (socket.h): in a line with SYN
// the peer's are absolute and the stack's count from the ISN its SYN line
// names; in a line without SYN both count from their side's ISN. System calls
// run against harness.Sockets: socket, bind, listen, accept, accept4, connect,
// read, write, recv, recvfrom, recvmsg (MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL,
// MSG_TRUNC), send, sendto, sendmsg, readv, writev, shutdown, close, fcntl,
// setsockopt and getsockopt, ioctl (SIOCINQ, FIONREAD, SIOCOUTQ, SIOCOUTQNSD),
// poll and epoll_* (on the target's readiness, in virtual time). Python blocks
// run with python3 after the last line, each with the tcpi_* values of Linux's
// tcp_info as the socket under test had them when its line came.
//
// # Policy
//
// The sysctl assignments of shell lines (`sysctl -w net.inet.tcp.insecure_rst=1`,
// `sysctl -q net.ipv4.tcp_sack=0`, and those of a shell script the line runs)
// go to the target (harness.Tunable): those before the first packet or system
// call before it starts, later ones on the running stack. Config.Platform adds
// the defaults a platform's scripts assume (policy.go). What each maps to in
// mtcp is harness/mtcpdut's table, listed in scenarios/README.md; the Linux
// kernel takes Linux's names as they are.
//
// # Errors
//
// Parse reads the whole script. A malformed one yields a nil *Script and an
// *Error printed as "file:line:col: message" with the source line and a caret.
// A well-formed script that uses what the runner cannot run (UDP, IPv6, TCP
// Fast Open, MD5, GRE, MPLS, PSP, AccECN, SCTP, UDP encapsulation, ...) yields
// an *Error whose Feature names it ("unsupported: needs TCP Fast Open"); a
// malformed line anywhere wins over it. Check (run by Run) does the same for
// the system calls, flags, options and constants the runner cannot map.
package script
