// Package linuxdut is the Linux kernel as a device under test (--target linux): the kernel's
// TCP/IP stack, in a network namespace of its own, on the far side of a TAP device whose near
// side is the bench. It implements the target-neutral interfaces of package harness (DUT,
// Sockets, Tunable, ConnTable, DropCounter, Counters) with the kernel's own means: the frames
// the bench delivers are written to the TAP device, the frames the kernel sends are read from
// it, the socket API is real sockets, sysctls are /proc/sys, the connection table is
// /proc/net/tcp and the counters the kernel's SNMP counters.
//
// # The namespace
//
// Each DUT lives in a fresh network namespace, mtcp-dut-<pid>-<n>, made with `ip netns add`
// and deleted with `ip netns del` by Destroy or Release (also when New fails half-way). The
// process itself never leaves its namespace: one OS thread per DUT, locked to a goroutine and
// never unlocked (so the runtime ends it when the goroutine ends; never the main thread, whose
// namespace is the process's), enters the namespace with setns(2) and does everything that
// depends on the caller's namespace: it writes sysctls, creates the TAP device and the
// sockets, configures the device and reads /proc/thread-self/net. Before each of these it
// checks that it really is inside /run/netns/<name> (os.SameFile of /proc/thread-self/ns/net
// and /run/netns/<name>, and neither the process's nor PID 1's namespace), and refuses
// otherwise. The namespace gets IPv6 disabled (so the kernel sends no router solicitation or
// MLD report on the TAP device), lo up, and one TAP device, tap0, with the bench's defaults:
// MAC harness.DefaultStackMAC, address harness.DefaultStackAddr (198.18.0.2/24) and a default
// route via harness.DefaultGateway. Only addresses in 198.18.0.0/15 are ever configured.
//
// Deleting the namespace after a case undoes every sysctl the case set: a sysctl written here
// is the namespace's own (net.ipv4.tcp_* are per namespace), and the next DUT starts afresh
// in a new namespace, with the kernel's defaults (for a few settings, such as tcp_rmem,
// tcp_wmem and the congestion control, the kernel copies the host's values into a new
// namespace).
//
// A DUT is a harness.Destroyer: script.Run and the conformance suite destroy the DUTs they make
// when the case ends (Release does the same and returns the error). A DUT left undestroyed is
// released by a cleanup once the garbage collector finds it unreachable, and ReleaseAll
// releases those still alive (for a command that ends). A process killed before it destroyed
// its DUTs leaves their namespaces in /run/netns: ReapOrphans deletes them.
//
// # Time
//
// The kernel runs on the real clock, the bench on a virtual one. The first Advance or Deliver
// pins virtual time t0 to wall time w0; from then on virtual time t is wall time w0+(t-t0).
// Advance(t) waits until that wall time and hands the bench, on the calling goroutine, the
// frames a reader goroutine has read from the TAP device by then (a frame read after the wall
// time of t waits for a later Advance, so a bench running late does not stamp frames early).
// NextDeadline reports the last instant plus PollInterval (1 ms), so the bench polls: frames
// the kernel sends on its own (its timers) are stamped with the bench's time within about a
// millisecond, well inside packetdrill's default tolerance of 4 ms. Deliver(t) waits likewise
// and writes the frame. The kernel handles a frame written to a TAP device before the write
// returns, and has queued its answers by then (an ARP reply, a SYN-ACK, the packets an ARP
// reply releases): Deliver reads them at once and hands them over at t, and so do the socket
// calls that make the kernel send (connect, write, read, shutdown, close, setsockopt), so that
// an answer comes at the instant of its cause, as from a stack on the bench's clock. A
// script's virtual minutes are real minutes here. MaxLag says how late the bench came to its
// instants: on a busy machine, a lag beyond the tolerance makes a run's timing unreliable.
//
// # Sockets
//
// The socket API hands out small descriptors, the lowest free one from 3, each mapped to a
// real nonblocking socket made inside the namespace. Every call is the kernel's, and so are
// the errno values (those of nonblocking sockets: connect gives EINPROGRESS, EALREADY while
// the handshake runs, then 0 once, then EISCONN), but for FreeBSD's TCP_KEEPINIT and
// TCP_NOOPT, which Linux lacks (ENOPROTOOPT). The host's errnos become linuxabi.Errno values,
// by name (the same numbers on x86 and arm); options and flags, Linux's numbers already, go to
// the kernel as they are. Write uses MSG_NOSIGNAL: a write on a reset
// connection fails with EPIPE rather than raising SIGPIPE. A close that the kernel would block
// (SO_LINGER with a positive time) returns at once and completes in the background, since the
// bench cannot move while a call blocks. TCPInfo reports every field of struct tcp_info that
// the kernel filled in, by Linux's names (tcpi_state, tcpi_snd_wscale, tcpi_rto, ...).
//
// # Tables and counters
//
// Conns reads /proc/net/tcp, Drops and Counter read /proc/net/snmp, /proc/net/netstat and the
// TAP device's statistics, all from inside the namespace (Drops says which counters it sums).
//
// Root is required (a namespace and a TAP device), and so is the ip command (iproute2);
// without either, New says so. On another system than Linux the package builds, and New and
// Target.NewDUT fail with an error that says the target needs Linux.
//
// The tests need both too; without them they are skipped, or fail when CI is "true".
// TestCorpusAgainstLinux runs the scenario corpus against the kernel, each script in its own
// namespace, several at a time, and logs each verdict:
//
//	sudo go test ./harness/linuxdut -run Corpus -v
//	sudo LINUXDUT_CORPUS_MAX=10m go test ./harness/linuxdut -run Corpus -v -timeout 30m
//
// A script whose script time (real time here) exceeds LINUXDUT_CORPUS_MAX (61.5 s by
// default) runs up to that limit and stops there without a verdict, counted apart.
package linuxdut
