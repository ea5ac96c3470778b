// Package tcp is mtcp's TCP (RFC 9293) in the deterministic core: connection state, segment
// processing, output, timers, passive and active open. Like the rest of the core it never reads
// a clock, sleeps or starts a goroutine: segments and the time come in from the core, segments go
// out through it, and timers live in the core's heap.
//
// Its socket API (Listener, Conn) is non-blocking: Read and Write return ErrWouldBlock instead
// of waiting, and a Conn says when something changed through its notify function. The runtime
// (package stack) builds blocking net.Conn semantics on top; the harness drives it in virtual
// time.
//
// The files follow the concerns of the RFCs: handshake.go opens connections in both directions
// and negotiates the options; rcv.go is RFC 9293 3.10.7's segment processing; snd.go decides
// what to send; sendqueue.go keeps one record per segment in flight; sack.go is RFC 2018 and
// RFC 2883 on both sides; cc.go is congestion control (RFC 5681, RFC 6582, RFC 3042, RFC 5827,
// RFC 6675 and the RFC 3168 response); rtx.go is retransmission timing (RFC 6298, RFC 7323's
// RTTM, RFC 8985's RACK-TLP); timestamps.go, ecn.go and pmtu.go are RFC 7323, RFC 3168 and
// RFC 1191; syncookie.go is RFC 4987's SYN cookies, timewait.go the TIME-WAIT table, and
// reassembly.go the out-of-order queue.
//
// Policy, where the RFCs leave a choice, and cited again at each decision:
//   - Timestamps (RFC 7323), SACK (RFC 2018, RFC 2883 D-SACK, RFC 6675 recovery) and RACK-TLP
//     (RFC 8985) are offered in every SYN and used when the peer agrees; each can be switched
//     off in Config. TSval is a millisecond clock plus a keyed per-connection offset. A non-RST
//     segment without timestamps on a connection that negotiated them is dropped (RFC 7323 3.2
//     SHOULD), unless Config.TolerateMissingTimestamps. A tail loss probe sends the last
//     segment again, not new data (RFC 8985 7.3's SHOULD; Config.TLPNewData restores it): a
//     receiver acknowledges a duplicate at once, a lone new segment only after its delayed ACK.
//   - ECN (RFC 3168) is passive by default, as in Linux: an ECN-setup SYN is answered, the
//     stack never asks.
//   - Path MTU discovery (RFC 1191): DF on every segment; an ICMP fragmentation-needed that
//     quotes a segment in flight lowers the connection's MSS, never below 536 (RFC 1122's
//     576-byte datagram).
//   - RFC 5961 challenge ACKs for in-window RSTs, SYNs in synchronized states and out-of-range
//     ACKs: at most one per 500 ms per connection (shared with the ACKs for out-of-window and
//     PAWS-rejected segments), then a layer-wide budget per second drawn anew between half and
//     1.5 times Config.ChallengeACKs, so the count says nothing of other connections
//     (CVE-2016-5696). Config.RSTChallenge and Config.SYNChallenge turn the first two off:
//     then an in-window RST resets (RFC 9293 alone) and an in-window SYN resets with a RST
//     (RFC 793), as FreeBSD's insecure_rst and insecure_syn.
//   - TS.Recent moves only for a segment whose ACK also passed (RFC 5961 5.2), as in Linux.
//   - RFC 1337: RSTs are ignored in TIME-WAIT. There, data, an old or a future segment draws an
//     ACK at most once per 500 ms (as Linux and FreeBSD); a SYN beyond RCV.NXT (or with a
//     newer TSval, RFC 6191) opens a new incarnation if the listener can take it, and a
//     SYN+FIN only if the listener would take it.
//   - A SYN+FIN is dropped in LISTEN, as Linux; Config.SynFin takes it as a SYN (RFC 9293,
//     FreeBSD's default) or drops it in SYN-SENT too (FreeBSD's drop_synfin).
//   - RFC 6528 initial sequence numbers: a keyed hash of the four-tuple plus a 4 µs clock.
//   - RFC 6298 retransmission: initial RTO 1 s, minimum 200 ms as Linux (RFC 8961 allows it;
//     Config.RTOMin), Karn's rule without timestamps, exponential backoff capped at 60 s, a
//     bounded number of retries, and a user timeout (RFC 5482, Conn.SetUserTimeout).
//   - RFC 5681 slow start and congestion avoidance; with SACK, RFC 6675 recovery with losses
//     found by RACK; without, fast retransmit and NewReno recovery (RFC 6582). A loss takes
//     ssthresh to 0.7 of the flight with an increase of 9/17 segment per round trip (RFC 9438's
//     β and its Reno-friendly α), or RFC 5681's halving with Config.Congestion = CongestionReno.
//   - After a retransmission timeout the SACK marks are forgotten (RFC 2018 8): data the peer
//     reported and then discarded is sent again. Nothing is freed before the cumulative ACK.
//   - Delayed ACK at most 40 ms (Config.DelayedACK) and on every second full segment; immediate
//     ACK for out-of-order data and for the segment that fills a hole, and for the 16 segments
//     after it (quick ACKs, as Linux; Config.QuickACK); Nagle on unless disabled;
//     sender silly-window avoidance as RFC 9293 3.8.6.2.1, with the persist timer as the
//     override timeout.
//   - Each listener keeps at most Config.MaxHalfOpen connections in SYN-RECEIVED; past that it
//     answers SYNs with SYN cookies (RFC 4987 3.6, Linux's layout) and keeps nothing. A
//     half-open connection whose SYN-ACK has no route, or no ARP answer, is freed at once. A
//     full accept queue or connection table drops new SYNs silently (the peer retries).
//   - TIME-WAIT lives in a compact table of its own, not the connection table, bounded by
//     Config.MaxTimeWait; the oldest entry goes first when it is full.
//   - Giving up: zero-window probes left unanswered count like retransmissions (Config.Retries,
//     or the user timeout); a connection the application closed stays in FIN-WAIT-2 for
//     Config.FinTimeout (60 s) at most, then is reset; FIN-WAIT-1, CLOSING and LAST-ACK end with
//     their FIN's retransmissions.
//   - Out-of-order data is held once, in pages, bounded by the receive window and by 1024
//     stretches between holes; past that the highest stretch is given up first.
//   - A connection reset (or timed out) before Accept leaves the accept queue, as in FreeBSD.
//   - Urgent data is delivered in line (RFC 6093).
//   - A segment with a malformed option (a length below 2, past the header, or wrong for a
//     known kind) is dropped: RFC 9293 3.1 (MUST-7) asks that it be handled and suggests a
//     reset, which a forged segment could then cause.
package tcp

import (
	"errors"
	"fmt"
)

// State is a connection state (RFC 9293 3.3.2).
type State uint8

// The eleven states.
const (
	Closed State = iota
	Listen
	SynSent
	SynReceived
	Established
	FinWait1
	FinWait2
	CloseWait
	Closing
	LastAck
	TimeWait
)

var stateNames = [...]string{"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED",
	"FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// synchronized reports whether the state is past the handshake (RFC 9293 3.5.2).
func (s State) synchronized() bool { return s >= Established }

// Errors of the socket API. The runtime wraps them in *net.OpError.
var (
	ErrWouldBlock           = errors.New("tcp: operation would block")
	ErrConnRefused          = errors.New("tcp: connection refused")
	ErrConnReset            = errors.New("tcp: connection reset by peer")
	ErrConnAborted          = errors.New("tcp: connection aborted")
	ErrTimeout        error = timeoutError{}
	ErrHostUnreach          = errors.New("tcp: no route to host")
	ErrClosed               = errors.New("tcp: use of closed connection")
	ErrWriteClosed          = errors.New("tcp: write after CloseWrite")
	ErrAddrInUse            = errors.New("tcp: address already in use")
	ErrNoPorts              = errors.New("tcp: no free ephemeral port")
	ErrTooManyConns         = errors.New("tcp: connection table full")
	ErrInvalidAddress       = errors.New("tcp: invalid address")
)

// timeoutError is ErrTimeout: it says Timeout() like the net package's timeouts, so callers
// that test net.Error.Timeout() see a retransmission timeout as one.
type timeoutError struct{}

func (timeoutError) Error() string   { return "tcp: connection timed out" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return false }
