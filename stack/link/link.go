// Package link defines Endpoint, the one interface between the stack and whatever carries its
// Ethernet frames, and the helpers shared by its implementations.
//
// Implementations live in sub-packages: pipe (in-process, two ends), callback (user functions,
// for microcontroller-style embedding), tap (a Linux TAP device). Middleware wraps any Endpoint
// and is an Endpoint itself: pcapng records every frame, fault injects seeded faults.
//
// Endpoints do I/O and nothing else: they never parse or answer a frame. The only goroutine in
// this tree is the TAP reader, which turns blocking reads into deliveries.
package link

import (
	"errors"
	"fmt"
)

// EthernetHeaderLen is the length of an Ethernet II header without VLAN tags.
const EthernetHeaderLen = 14

// DefaultMTU is the MTU of an Ethernet link.
const DefaultMTU = 1500

// MinMTU is the smallest MTU a link may have: every IPv4 link must carry 68-byte datagrams
// unfragmented (RFC 791 3.2).
const MinMTU = 68

// MaxMTU is the largest MTU a link may have: the largest IPv4 datagram.
const MaxMTU = 65535

// Endpoint carries Ethernet frames between one stack and a network.
type Endpoint interface {
	// MTU returns the largest IP datagram the link carries; frames are at most MTU()+14 bytes.
	MTU() int
	// WriteFrame sends one Ethernet frame. The endpoint does not keep frame once it returns.
	WriteFrame(frame []byte) error
	// Attach sets the receiver of incoming frames, replacing any earlier one. Frames that
	// arrive while no receiver is attached are dropped and counted by the endpoint.
	Attach(r Receiver)
	// Close releases the link. WriteFrame returns ErrClosed afterwards; Close is idempotent.
	Close() error
}

// Receiver takes the frames an Endpoint receives.
type Receiver interface {
	// DeliverFrame hands over one received frame. The receiver must not keep frame once it
	// returns, and must not write to the same link from inside DeliverFrame when the link
	// delivers synchronously (pipe, callback): queue the answer instead.
	DeliverFrame(frame []byte)
}

// ConcurrentReceiver is a Receiver whose DeliverFrame may run on several goroutines at once and
// never writes to a link: it takes the frame and returns (a stack.Stack copies it into the
// queue its driver works from). A link that delivers synchronously (pipe) calls one directly,
// without serializing its deliveries or queueing frames that arrive during one.
type ConcurrentReceiver interface {
	Receiver
	// ConcurrentDelivery does nothing; it marks the type.
	ConcurrentDelivery()
}

// ReceiverFunc adapts a function to a Receiver.
type ReceiverFunc func(frame []byte)

// DeliverFrame calls f(frame).
func (f ReceiverFunc) DeliverFrame(frame []byte) { f(frame) }

// ErrClosed is returned by operations on a closed endpoint.
var ErrClosed = errors.New("link: endpoint closed")

// ErrFrameSize is wrapped by the error returned for a frame that is shorter than an Ethernet
// header or longer than MTU()+14.
var ErrFrameSize = errors.New("link: bad frame size")

// CheckFrameSize reports whether a frame of n bytes fits a link of the given MTU.
func CheckFrameSize(n, mtu int) error {
	if n < EthernetHeaderLen || n > mtu+EthernetHeaderLen {
		return fmt.Errorf("%w: %d bytes (want %d..%d)", ErrFrameSize, n, EthernetHeaderLen, mtu+EthernetHeaderLen)
	}
	return nil
}
