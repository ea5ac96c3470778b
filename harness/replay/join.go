package replay

import (
	"errors"
	"fmt"

	"github.com/gopacket/gopacket/layers"
)

// Conversations that began before the capture (no SYN seen) are joined mid-stream: the
// stack's connection is made ESTABLISHED in the state the capture shows at the first segment
// the recorded host sent in it with data or a FIN, or at the peer's answer to a pure ACK of
// the host (which tells a keep-alive, one below the host's next sequence number, from an ACK)
// (Joiner: mtcp's tcp.Layer.Join), and the replay goes on from there as for any other conversation. Until
// then, the peer's segments are only looked at: its window, newest timestamp and whether it
// speaks SACK.
//
// What a capture without SYNs cannot say is assumed, and the report says so: the MSS is 1460
// (Ethernet's), window scaling is on with shift 14 for the peer's window (the largest: the
// shift it negotiated is in the SYNs the capture lacks, and a window taken too small would
// hold the stack back where the recorded host was not) and shift 7 for the stack's receive
// window, with a receive buffer of the 8 MiB it can advertise (what the peer had in flight
// must fit); timestamps are on when the host's last segment carries them, SACK when
// a segment of either side carried SACK blocks so far.

// joinState is what the replay learns of a conversation before it joins it.
type joinState struct {
	peerWin uint16
	winSeen bool
	peerTS  uint32
	tsSeen  bool
	sack    bool
	hostTS  bool // the host's last segment carried timestamps
	// The host's last segment, a pure ACK, waiting for the peer's answer (joinPending).
	pending                bool
	pendingSeq, pendingAck uint32
	keepAlive              bool // it was a keep-alive
}

// peerSaw notes a peer's segment of a conversation not joined yet.
func (j *joinState) peerSaw(t *layers.TCP) {
	j.peerWin, j.winSeen = t.Window, true
	if v, ok := tsValOf(t.Options); ok {
		j.peerTS, j.tsSeen = v, true
	}
	j.sack = j.sack || hasSACK(t)
}

func hasSACK(t *layers.TCP) bool {
	for _, o := range t.Options {
		if o.OptionType == layers.TCPOptionKindSACK {
			return true
		}
	}
	return false
}

// pendingJoin starts a conversation of the host that began before the capture, to be joined
// at the host's first segment; nil if it is left out (Options.Client: the host seems its
// server, having the lower port, as Wireshark guesses; Options.HostPort).
func (e *engine) pendingJoin(key convKey) *conv {
	if e.opts.HostPort != 0 && key.port != e.opts.HostPort {
		return nil
	}
	client := key.port > key.peer.Port()
	if e.opts.Client && !client {
		return nil
	}
	c := e.newConv(key.port, key.peer, client)
	c.joining = &joinState{}
	return c
}

// join joins the conversation at the host's segment t, and reports whether it did: a reset,
// a SYN or a segment without ACK is no point to join at. A pure ACK without data is not
// either, yet: it may be a keep-alive, whose sequence number is one below the host's next
// (RFC 9293 3.8.4), so the replay waits for the peer's answer (pending), which tells.
func (c *conv) join(t *layers.TCP) bool {
	j := c.joining
	j.sack = j.sack || hasSACK(t)
	_, j.hostTS = tsValOf(t.Options)
	switch {
	case t.RST || t.SYN || !t.ACK:
		return false
	case len(t.Payload) == 0 && !t.FIN:
		j.pending, j.pendingSeq, j.pendingAck = true, t.Seq, t.Ack
		return false
	}
	return c.joinAt(t.Seq, t.Ack)
}

// joinPending joins, at the peer's segment t, a conversation whose host was last seen sending a
// pure ACK (see join): at the sequence number after it if the peer acknowledges one more than
// it carried (it was a keep-alive), else at its own. It reports whether it did; t is then
// replayed as any other segment.
func (c *conv) joinPending(t *layers.TCP) bool {
	j := c.joining
	if !j.pending || t.RST || t.SYN {
		return false
	}
	snd := j.pendingSeq
	if t.ACK && t.Ack == snd+1 {
		snd++
		j.keepAlive = true
	}
	return c.joinAt(snd, j.pendingAck)
}

// joinAt makes the stack's connection ESTABLISHED with the host's next sequence number snd
// and the next it expects of the peer, rcv (Joiner).
func (c *conv) joinAt(snd, rcv uint32) bool {
	j := c.joining
	e := c.e
	st := JoinState{
		Local: c.hostPort, Remote: c.peer,
		SndNxt: snd, RcvNxt: rcv,
		SndWnd: 0xffff << 14, MSS: 1460, SndShift: 14, RcvShift: 7,
		Timestamps: j.hostTS, TSRecent: j.peerTS,
		SACK: j.sack,
		// What the peer had in flight to the host is unknown: a receive buffer as large as
		// shift 7 can advertise, so that none of it falls outside the stack's window.
		ReceiveBuffer: 0xffff << 7,
	}
	if j.winSeen {
		st.SndWnd = uint32(j.peerWin) << 14
	}
	fd, err := -1, errNoJoin
	if e.joiner != nil {
		fd, err = e.joiner.Join(st)
	}
	if err != nil {
		c.joining = nil
		c.stray = true // its segments are skipped from now on
		e.skip("conversations that began before the capture")
		if len(e.rep.NotReplayed) < maxListed {
			e.rep.NotReplayed = append(e.rep.NotReplayed, Skipped{c.name, "it began before the capture, and the stack cannot join it: " + err.Error()})
		}
		return false
	}
	c.joining = nil
	c.joinedAt = e.frame
	c.fd, c.hasFD = fd, true
	// The shift the stack applies to the peer's windows is the one joined with.
	c.newest.shift, c.newest.shiftKnown = uint8(st.SndShift), true
	c.stackPort = c.hostPort
	e.byStack[convKey{c.stackPort, c.peer}] = c
	// Relative numbers count from the state joined at, as Wireshark's from the first seen.
	c.hostISN, c.hostISNOK = snd-1, true
	c.stackISN, c.stackOK = snd-1, true
	c.peerISN, c.peerISNOK = rcv-1, true
	c.peerGiven, c.peerContig = 1, 1
	c.peerAcked, c.peerAckedOK = 1, true
	c.maxAck, c.hasAck = 1, true // the stack holds what the host had acknowledged: the state joined
	if st.Timestamps && j.tsSeen {
		c.peerTS, c.peerTSOK = j.peerTS, true
	}
	keepAlive := ""
	if j.keepAlive {
		keepAlive = ", after a keep-alive of the host"
	}
	c.joinNote = fmt.Sprintf("began before the capture: joined at frame %d%s (sequence numbers relative to it; assumed: MSS 1460, the peer's window scaled by 2^14, the stack's receive buffer 8 MiB; timestamps %s, SACK %s, as the segments so far show)",
		e.frame, keepAlive, onOffWord(st.Timestamps), onOffWord(st.SACK))
	return true
}

// errNoJoin is why a target without Joiner joins no conversation.
var errNoJoin = errors.New("the target cannot take a connection over mid-stream")

func onOffWord(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
