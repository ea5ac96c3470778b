package replay

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/linuxabi"
	"github.com/mtcp-go/mtcp/harness/replay/capture"
	"github.com/mtcp-go/mtcp/stack/clock"
	"github.com/mtcp-go/mtcp/stack/link/pcapng"
	"github.com/mtcp-go/mtcp/stack/tcp"
)

// Options say how to replay.
type Options struct {
	// Host is the host the stack plays; zero: the server of the first TCP handshake (its client
	// with Client), else the host that answered the first ARP or echo request.
	Host netip.Addr
	// HostPort, with Host, limits the TCP conversations replayed to those on this port of it.
	HostPort uint16
	// Client plays the client side: the host is the client of the first TCP handshake when
	// Host is zero, and only the conversations the host began are replayed (those where it
	// answered the SYN are skipped and counted).
	Client bool
	// CompareWindow and CompareOptions also compare the window field and the TCP options of
	// the control segments that correspond one to one (SYN, SYN-ACK, FIN, RST); windows
	// scaled by the shift each side negotiated (RFC 7323), but in SYNs.
	CompareWindow, CompareOptions bool
	// CompareRSTACK tells a reset with ACK from one without; by default a RST and a RST+ACK
	// with the same sequence number are the same.
	CompareRSTACK bool
	// Absolute shows sequence numbers in the report as they were sent, not relative to each
	// side's ISN.
	Absolute bool
	// Output, if set, is where the replay's own pcapng goes: the injected frames and the
	// stack's, each commented with the capture frame it corresponds to and any difference.
	Output string
	// Progress, if set, is called now and then with the records replayed and their total.
	Progress func(done, total int)
	// Stop, if set, interrupts the replay when it is closed: it is looked at before each
	// record and before the output is written. Replay then returns the report of the records
	// replayed so far, marked Interrupted (what the stack had yet to answer is not judged), and
	// writes no output (the temporary file is removed).
	Stop <-chan struct{}
	// KeepChecksums injects frames with the checksums the capture has, right or wrong; by
	// default wrong ones are corrected (see fixChecksums).
	KeepChecksums bool
	// Horizon is how long after the recorded host's packet the stack may send its own before
	// the difference is reported (default 3 s of virtual time).
	Horizon time.Duration
	// StrictInput makes a capture with damaged frames bad input: the verdict is "bad input"
	// and mtcp-replay exits 2 (by default damage is reported and the replay goes on).
	StrictInput bool
	// TCP, if set, configures the stack's TCP instead of the recorded host's SYNs (see
	// tcpConfigLike).
	TCP *tcp.Config
}

// maxFrame is the largest frame the stack's link takes (MTU 1500).
const maxFrame = 14 + 1500

// Replay replays the capture at path: the stack takes the place of one host, the frames of
// the others are injected in virtual time, and what the stack sends is compared with what the
// recorded host sent. An error is bad input (a broken capture, a host that cannot be played)
// or a failure to write the output; differences are in the Report.
func Replay(path string, opts Options) (*Report, error) {
	if opts.Horizon <= 0 {
		opts.Horizon = 3 * time.Second
	}
	open := func() (io.ReadCloser, error) { return os.Open(path) }
	sc, err := scanCapture(open, opts)
	var nc *notComparable
	if errors.As(err, &nc) {
		rep := &Report{Capture: path, Format: sc.format, Records: sc.records, Replayed: sc.records, NotComparable: nc.why, Skipped: map[string]int{}, Absolute: opts.Absolute}
		return rep, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	e, err := newEngine(sc, opts)
	if err != nil {
		return nil, err
	}
	e.rep.Capture = path
	f, err := open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := capture.Open(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	pr := prefetch(r)
	defer pr.Close()
	if err := e.run(pr); err != nil {
		e.out.abandon()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if e.rep.Interrupted || stopped(opts.Stop) {
		e.rep.Interrupted = true
		e.out.abandon()
		return e.rep, nil
	}
	if err := e.out.close(e.rep); err != nil {
		return nil, err
	}
	return e.rep, nil
}

// engine is one replay in progress.
type engine struct {
	opts  Options
	sc    *scan
	rep   *Report
	now   time.Time // virtual time
	frame int       // the capture record being replayed
	d, sd *decoded  // capture frames; the stack's frames
	fb    *frameBuilder
	out   *output

	// The stack (target.go): frames and time, the sockets of the applications behind it, and
	// mid-stream joins (nil: the target has none).
	dut    harness.DUT
	socks  harness.Sockets
	joiner Joiner
	sched  harness.DUT              // dut as advance runs it (schedule)
	stepFn func(now time.Time) bool // advance's step (stepAt), made once
	// changed counts the calls that may have changed the stack: frames delivered, timers due
	// run. An application whose read found nothing reads again once it moved (conv.app).
	changed uint64

	listening map[uint16]int             // the stack's listening sockets, by port
	dialing   map[netip.AddrPort][]*conv // active opens whose SYN the stack has yet to send, by peer, oldest first
	convs     map[convKey]*conv          // by the recorded host's port and the peer
	byStack   map[convKey]*conv          // by the stack's port and the peer
	order     []*conv
	// lastConvKey and lastConv are convOf's cache: the conversation found last, nil when
	// convs changed since.
	lastConvKey convKey
	lastConv    *conv
	// live are the conversations of order that step and expire look at, in the same order:
	// all but those finished and judged (conv.quiet), which would do nothing there, so that
	// a capture of many conversations does not cost each frame a look at every one of them.
	// A conversation a segment concerns again is put back (conv.wake).
	live      []*conv
	fromStack [][]byte // frames the stack sent during the last call into it
	spare     [][]byte // buffers of frames of fromStack taken (stackSent keeps none), to copy the next ones into
	// spareSlabs are slabs of finished conversations, for the next ones (conv.keep).
	spareSlabs [][]byte
	began      map[convKey]bool // conversations that began before the capture, reported once

	arpExp  []*expItem // the recorded host's ARP replies and ICMP messages awaiting the stack's
	icmpExp []*expItem
	stackIC []*expItem // the stack's ICMP messages awaiting a recorded one

	zeroFilled bool // the record being replayed had its payload zero-filled
	// While a record is replayed (record), the frames injected are the record's: the output
	// stamps them with its own timestamp.
	inRecord bool
	recTime  time.Time
	// notPlayed are the conversations Options.Client leaves out: the host answered their SYN.
	notPlayed map[convKey]bool
	readBuf   [16 << 10]byte

	later []laterFrame // frames to inject at a time of their own, in time order

	recent recent                // the datagrams replayed last, to tell the capture's duplicates
	early  map[convKey]heldFrame // peer SYN-ACKs captured before the host's SYN they answer
	again  []heldFrame           // those to replay now, after the SYN
	art    artefacts             // the capture's artefacts found so far
	end    time.Time             // the capture's last record, in virtual time, once the records are replayed
}

// laterFrame is a frame the replay injects when virtual time reaches at, built only then, so
// that it fits what was injected in between.
type laterFrame struct {
	at    time.Time
	build func() []byte
	note  string
}

// injectAt queues the frame build makes for injection at virtual time at (now, if at has
// passed).
func (e *engine) injectAt(at time.Time, build func() []byte, note string) {
	if !at.After(e.now) {
		e.inject(build(), note)
		return
	}
	i := sort.Search(len(e.later), func(i int) bool { return e.later[i].at.After(at) })
	e.later = append(e.later, laterFrame{})
	copy(e.later[i+1:], e.later[i:])
	e.later[i] = laterFrame{at: at, build: build, note: note}
}

type convKey struct {
	port uint16
	peer netip.AddrPort
}

// expItem is a non-TCP packet waiting for its counterpart.
type expItem struct {
	frame int
	at    time.Time
	key   string // what must match: "arp reply to 1.2.3.4", "icmp echo_reply id 1 seq 2 to ..."
	desc  string
	out   *outFrame
	data  []byte // echo data
}

// newEngine makes the engine of a replay against mtcp.
func newEngine(sc *scan, opts Options) (*engine, error) {
	stack, like, err := newStack(sc, opts)
	if err != nil {
		return nil, err
	}
	return newEngineOn(stack, sc, opts, like)
}

// newEngineOn makes the engine of a replay against a target: harness.DUT, harness.Sockets,
// and Joiner if it has it; like says how it was configured, for the report.
func newEngineOn(dut harness.DUT, sc *scan, opts Options, like string) (*engine, error) {
	socks, ok := dut.(harness.Sockets)
	if !ok {
		return nil, fmt.Errorf("the target %s has no sockets to replay TCP conversations on", dut.Name())
	}
	joiner, _ := dut.(Joiner)
	e := &engine{
		opts: opts, sc: sc, now: clock.Epoch, d: newDecoded(), sd: newDecoded(),
		dut: dut, socks: socks, joiner: joiner, changed: 1,
		listening: map[uint16]int{}, dialing: map[netip.AddrPort][]*conv{},
		convs: map[convKey]*conv{}, byStack: map[convKey]*conv{},
		began: map[convKey]bool{}, notPlayed: map[convKey]bool{},
		rep: &Report{Format: sc.format, Host: sc.host, HostMAC: sc.hostMAC, Why: sc.why + like, Records: sc.records, Skipped: map[string]int{},
			Absolute: opts.Absolute, StrictInput: opts.StrictInput},
	}
	var err error
	e.out, err = newOutput(opts.Output, sc)
	if err != nil {
		return nil, err
	}
	e.sched, e.stepFn = &schedule{DUT: dut, later: &e.later}, e.stepAt
	e.dut.SetOutput(func(f []byte) {
		var b []byte
		if n := len(e.spare); n > 0 {
			b, e.spare = e.spare[n-1], e.spare[:n-1]
		}
		e.fromStack = append(e.fromStack, append(b[:0], f...))
	})
	e.dut.Advance(e.now)
	if opts.Client && opts.Host.IsValid() {
		e.rep.Why += "; with --client, only the conversations it began"
	}
	for port := range sc.listen {
		if (opts.HostPort != 0 && port != opts.HostPort) || opts.Client {
			continue // --client: the stack answers no SYN
		}
		if err := e.listen(port); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// listenBacklog is the backlog of the stack's listening sockets, Linux's somaxconn. The replay
// accepts each connection as soon as it is established (acceptOn): none waits long.
const listenBacklog = 4096

// listen opens a listening socket on port of the stack.
func (e *engine) listen(port uint16) error {
	fd, err := e.socks.Socket()
	if err == nil {
		err = e.socks.Bind(fd, port)
	}
	if err == nil {
		err = e.socks.Listen(fd, listenBacklog)
	}
	if err != nil {
		return fmt.Errorf("the stack cannot listen on port %d: %w", port, err)
	}
	e.listening[port] = fd
	return nil
}

// run replays every record.
func (e *engine) run(r recordReader) error {
	last := e.now
	for {
		if e.rep.Replayed%256 == 0 && stopped(e.opts.Stop) { // looked at now and then: it costs a select
			e.interrupted(last)
			return nil
		}
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		e.frame = rec.Number
		e.zeroFilled = false
		at := e.ordered(rec)
		e.advance(at)
		last = at
		e.inRecord, e.recTime = true, rec.Time
		e.record(rec)
		e.inRecord = false
		e.step()
		e.replayHeld(rec.Number)
		e.rep.Replayed++
		if e.opts.Progress != nil && rec.Number%4096 == 0 {
			e.opts.Progress(rec.Number, e.sc.records)
		}
	}
	// Let the stack finish what it was answering, then judge what is left.
	e.unanswered()
	e.frame = 0
	e.end = last
	e.advance(last.Add(e.opts.Horizon))
	e.expire(time.Time{}.Add(1<<62), true)
	e.rep.Elapsed = last.Sub(clock.Epoch)
	if e.sc.oneSided {
		e.artefact("a one-sided capture: it holds IPv4 packets %v sent, none sent to it (one direction of the link only): the stack is compared on what the host sent, with nothing to answer it", e.sc.host)
	}
	e.reportArtefacts()
	if e.rep.Compared == 0 {
		e.rep.NotComparable = e.whyNotComparable()
	}
	sort.SliceStable(e.rep.Differences, func(i, j int) bool { return e.rep.Differences[i].At < e.rep.Differences[j].At })
	for _, c := range e.order {
		e.rep.Conversations = append(e.rep.Conversations, c.summary())
	}
	if e.opts.Progress != nil {
		e.opts.Progress(e.sc.records, e.sc.records)
	}
	return nil
}

// whyNotComparable says why nothing the host sent was compared.
func (e *engine) whyNotComparable() string {
	sk := e.rep.Skipped
	began := sk["conversations that began before the capture"]
	switch {
	case len(e.rep.Damaged) > 0 && len(e.rep.Damaged) >= e.rep.Records:
		return fmt.Sprintf("every frame of the capture is damaged (%s)", plural(len(e.rep.Damaged), "damaged frame", "damaged frames"))
	case e.sc.madeUp:
		return fmt.Sprintf("the capture holds no IPv4 host, nor anything mtcp-replay replays (skipped: %s)", e.rep.skipped())
	case e.rep.HostFrames == 0:
		return fmt.Sprintf("the capture holds no frame %v sent (a one-sided capture: only what was sent to it)", e.sc.host)
	case e.opts.Client && len(e.order) == 0:
		return fmt.Sprintf("with --client, %v began no TCP conversation in the capture", e.sc.host)
	case began > 0 && len(e.order) == 0:
		return fmt.Sprintf("%s of %v began before the capture and could not be joined", plural(began, "TCP conversation", "TCP conversations"), e.sc.host)
	case len(e.rep.Damaged) > 0 && len(e.rep.Damaged) >= e.rep.HostFrames:
		return fmt.Sprintf("the frames %v sent are damaged (%s)", e.sc.host, plural(len(e.rep.Damaged), "damaged frame", "damaged frames"))
	}
	return ""
}

// advance runs the stack's timers up to t, one deadline at a time (harness.RunDeadlines), and
// injects the frames queued for a time by then, taking what the stack sends. The frames queued
// are deadlines too (schedule): at each instant, the stack's timers due run first, then the
// frame queued for it goes in.
func (e *engine) advance(t time.Time) {
	e.now = harness.RunDeadlines(e.sched, e.now, t, e.stepFn)
}

// stepAt is advance's step at each instant.
func (e *engine) stepAt(now time.Time) (stop bool) {
	e.now = now
	if next, ok := e.dut.NextDeadline(); ok && !next.After(now) {
		e.changed++ // timers are due: the stack may change
	}
	e.dut.Advance(now)
	if len(e.later) > 0 && !e.later[0].at.After(now) {
		l := e.later[0]
		e.later = e.later[1:]
		e.inject(l.build(), l.note)
	}
	e.step()
	e.expire(now, false)
	return false
}

// schedule is the stack as advance runs it through time: its deadlines are the stack's and
// the instants of the frames queued for a time of their own (injectAt), whichever comes first.
type schedule struct {
	harness.DUT
	later *[]laterFrame
}

func (s *schedule) NextDeadline() (time.Time, bool) {
	next, ok := s.DUT.NextDeadline()
	if l := *s.later; len(l) > 0 && (!ok || l[0].at.Before(next)) {
		return l[0].at, true
	}
	return next, ok
}

// step takes what the stack sent and lets the applications behind its sockets act, until
// nothing more happens.
func (e *engine) step() {
	for range 64 {
		acted := false
		for _, c := range e.live {
			if c.app() {
				acted = true
			}
		}
		if len(e.fromStack) == 0 && !acted {
			return
		}
		for len(e.fromStack) > 0 {
			f := e.fromStack[0]
			e.fromStack[0] = nil
			e.fromStack = e.fromStack[1:]
			e.stackSent(f)
			if len(e.spare) < 64 {
				e.spare = append(e.spare, f) // stackSent keeps nothing of it: the output copies
			}
		}
	}
}

// inject hands a frame to the stack now and records it.
func (e *engine) inject(f []byte, comments ...string) {
	if len(f) >= 6 && !bytes.Equal(e.sc.stackMAC, e.sc.hostMAC) && bytes.Equal(f[:6], e.sc.hostMAC) {
		f = append([]byte(nil), f...)
		copy(f, e.sc.stackMAC) // the host's MAC could not be the stack's: it has one of its own
	}
	e.rep.Injected++
	if e.out.w != nil {
		stamp := e.out.captureTime(e.now)
		if e.inRecord {
			stamp = e.recTime // the record's own timestamp, even where the capture's clock stepped back
		}
		e.out.add(e.now, stamp, pcapng.Inbound, f, comments...)
	}
	e.dut.Deliver(e.now, f)
	e.changed++
	if len(e.listening) > 0 {
		e.acceptOn(f)
	}
}

// acceptOn accepts the connection the TCP segment f, just injected, established on a listening
// socket of the stack, if it did: the connection is the segment's, its port and peer are the
// segment's (harness.Sockets names no descriptor's ends). The replay accepts after every
// segment it injects to a listening port, so a connection never waits to be told from another.
// A frame without a TCP header (an IPv4 fragment past the first) completes no handshake here:
// fragments go in as captured, their acks not rebased onto the stack's sequence numbers.
func (e *engine) acceptOn(f []byte) {
	ipHdr, seg, ok := tcpOffsets(f)
	if !ok || binary.BigEndian.Uint16(f[12:14]) != uint16(layers.EthernetTypeIPv4) || ipHdr[9] != uint8(layers.IPProtocolTCP) ||
		binary.BigEndian.Uint16(ipHdr[6:])&0x1fff != 0 || seg[13]&flACK == 0 {
		return
	}
	port := binary.BigEndian.Uint16(seg[2:])
	lfd, ok := e.listening[port]
	if !ok {
		return
	}
	if ev, err := e.socks.Poll(lfd); err != nil || ev&linuxabi.POLLIN == 0 {
		return
	}
	peer := netip.AddrPortFrom(netip.AddrFrom4([4]byte(ipHdr[12:16])), binary.BigEndian.Uint16(seg[0:2]))
	for {
		fd, err := e.socks.Accept(lfd)
		if err != nil {
			return
		}
		e.accepted(fd, port, peer)
	}
}

// skip counts a record that is not replayed.
func (e *engine) skip(why string) { e.rep.Skipped[why]++ }

// record handles one capture record: injected if the stack's peers sent it to the host,
// compared if the host sent it, skipped otherwise.
func (e *engine) record(rec *capture.Record) {
	if skip, damage := e.sc.frames.toEthernet(rec); skip != "" { // other link types: see link.go
		if damage != "" {
			e.damaged(damage)
		}
		e.skip(skip)
		return
	}
	data := rec.Data
	if len(data) < 14 {
		e.damaged(fmt.Sprintf("%d bytes, shorter than an Ethernet header (cut short by the snap length)", len(data)))
		e.skip("shorter than an Ethernet header")
		return
	}
	data, tagged, snap := untag(data)
	if tagged {
		e.rep.Untagged++
	}
	if snap {
		e.art.snap++
	}
	data = e.sc.unloop(data)
	if e.duplicate(data, rec) {
		e.skip("duplicate frames (capture artefact)")
		return
	}
	data = e.tsoLength(data)
	d := e.d
	d.decode(data)
	cut := ""
	if rec.CapLen < rec.OrigLen {
		data, cut = e.snapped(data, rec)
		if cut == "" {
			d.decode(data)
		}
	}
	et := layers.EthernetType(binary.BigEndian.Uint16(data[12:14]))
	switch {
	case et == layers.EthernetTypeARP:
		e.arpRecord(data, cut)
	case et == layers.EthernetTypeIPv4:
		e.ipRecord(data, cut)
	case et < 0x0600:
		e.skip("IEEE 802.3 (LLC) frames")
	default:
		e.skip(fmt.Sprintf("EtherType %s", et))
	}
}

// snapped looks at a frame cut short by the snap length. When only Ethernet padding is
// missing, the frame is whole. When its IPv4 header and TCP fixed header are whole, it is
// replayed as fillSnapped rebuilds it, so the conversation goes on (the bytes it lacked are
// not compared). Otherwise cut says what is wrong, and the frame is damaged.
func (e *engine) snapped(data []byte, rec *capture.Record) ([]byte, string) {
	cut := fmt.Sprintf("cut short by the snap length: %d of %d bytes captured", rec.CapLen, rec.OrigLen)
	if !e.d.hasIP || binary.BigEndian.Uint16(data[12:14]) != uint16(layers.EthernetTypeIPv4) {
		return data, cut
	}
	if total := int(binary.BigEndian.Uint16(data[16:18])); total <= len(data)-14 {
		return data, "" // only padding was cut
	}
	full, how := fillSnapped(data)
	if full == nil {
		return data, cut
	}
	e.damaged(cut + ": " + how)
	e.zeroFilled = true
	return full, ""
}

// fillSnapped rebuilds a TCP segment cut short by the snap length whose IPv4 header and TCP
// fixed header are whole: the payload is zero-filled to the length the IPv4 header gives, and
// when the cut fell inside the TCP options, the segment keeps the options that are whole (the
// header shortened to them, padded). It returns nil when the frame cannot be rebuilt, and how
// it was otherwise.
func fillSnapped(data []byte) ([]byte, string) {
	if len(data) < 14+20 {
		return nil, ""
	}
	ip := data[14:]
	hl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if ip[9] != 6 || hl < 20 || len(ip) < hl+20 || total < hl+20 || total > 65535 || binary.BigEndian.Uint16(ip[6:])&0x1fff != 0 {
		return nil, ""
	}
	off := int(ip[hl+12]>>4) * 4
	if off < 20 || total < hl+off {
		return nil, ""
	}
	payload := total - hl - off
	if hl+off <= len(ip) {
		full := make([]byte, 14+total)
		copy(full, data)
		return full, fmt.Sprintf("payload zero-filled to its %d bytes (not compared)", payload)
	}
	// Cut inside the options: keep those that are whole.
	have := ip[hl+20:]
	keep, names := 0, []string{}
	for keep < len(have) {
		k := have[keep]
		if k == 0 {
			break
		}
		if k == 1 {
			keep++
			continue
		}
		if keep+1 >= len(have) || have[keep+1] < 2 || keep+int(have[keep+1]) > len(have) || optionLengthFault(k, have[keep:keep+int(have[keep+1])]) != "" {
			break // cut, or not what its RFC says: the options from here on are left out
		}
		names = append(names, optionName(k))
		keep += int(have[keep+1])
	}
	newOff := 20 + (keep+3)/4*4
	full := make([]byte, 14+hl+newOff+payload)
	copy(full, data[:14+hl+20+keep]) // the rest: end-of-list padding, then the zero-filled payload
	binary.BigEndian.PutUint16(full[14+2:], uint16(hl+newOff+payload))
	full[14+hl+12] = byte(newOff/4)<<4 | full[14+hl+12]&0x0f
	whole := "none of its options"
	if len(names) > 0 {
		whole = "its whole options (" + strings.Join(names, ",") + ")"
	}
	how := "cut inside its TCP options: replayed from its fixed header with " + whole
	if payload > 0 {
		how += fmt.Sprintf(", payload zero-filled to its %d bytes (not compared)", payload)
	}
	return full, how
}

// optionName names a TCP option kind as the report does (optionString adds the values of
// mss and wscale).
func optionName(k byte) string {
	switch k {
	case 0:
		return "eol"
	case 1:
		return "nop"
	case 2:
		return "mss"
	case 3:
		return "wscale"
	case 4:
		return "sackOK"
	case 5:
		return "sack"
	case 8:
		return "TS"
	}
	return fmt.Sprintf("kind %d", k)
}

func (e *engine) damaged(what string) {
	e.rep.Damaged = append(e.rep.Damaged, Damage{Frame: e.frame, What: what})
}

func (e *engine) note() string {
	if e.out.w == nil {
		return "" // no output to comment (-o): not worth a Sprintf per frame
	}
	if e.zeroFilled {
		return fmt.Sprintf("capture frame %d (payload cut by the snap length: zero-filled)", e.frame)
	}
	return fmt.Sprintf("capture frame %d", e.frame)
}

// arpRecord replays an ARP frame: to the host, injected; from the host, a reply is compared.
func (e *engine) arpRecord(data []byte, cut string) {
	d := e.d
	if !d.hasARP {
		e.damaged("ARP: " + errText(d.err, cut))
		e.countFromHost(data)
		if isFor(data, e.sc.hostMAC) {
			e.inject(data, e.note(), "damaged: injected as captured")
		} else {
			e.skip("damaged, not for the host")
		}
		return
	}
	sender, _ := netip.AddrFromSlice(d.arp.SourceProtAddress)
	target, _ := netip.AddrFromSlice(d.arp.DstProtAddress)
	switch {
	case sender == e.sc.host && d.arp.Operation == layers.ARPReply:
		e.rep.HostFrames++
		e.rep.Compared++
		e.arpExp = append(e.arpExp, &expItem{frame: e.frame, at: e.now, key: "arp reply to " + target.String(),
			desc: fmt.Sprintf("arp reply %v is-at %v", sender, net.HardwareAddr(d.arp.SourceHwAddress))})
		e.matchARP()
	case sender == e.sc.host:
		e.rep.HostFrames++
		e.skip("ARP requests of the host (its cache is not the stack's)")
	case target == e.sc.host || (d.arp.Operation == layers.ARPReply && isFor(data, e.sc.hostMAC)):
		e.inject(data, e.note())
	default:
		e.skip("between other hosts")
	}
}

// countFromHost counts a damaged frame the host's MAC sent among the host's frames: one
// that could not be compared.
func (e *engine) countFromHost(frame []byte) {
	if len(frame) >= 12 && bytes.Equal(frame[6:12], e.sc.hostMAC) {
		e.rep.HostFrames++
	}
}

func isFor(frame []byte, mac net.HardwareAddr) bool {
	return len(frame) >= 6 && (bytes.Equal(frame[:6], mac) || bytes.Equal(frame[:6], layers.EthernetBroadcast))
}

func errText(err error, cut string) string {
	s := "malformed"
	if err != nil {
		s = err.Error()
	}
	if cut != "" {
		s += "; " + cut
	}
	return s
}

// ipRecord replays an IPv4 frame.
func (e *engine) ipRecord(data []byte, cut string) {
	d := e.d
	if !d.hasIP {
		// A header gopacket cannot take apart: inject it if it is for the host, so the stack
		// must survive it too.
		e.damaged("IPv4: " + errText(d.err, cut))
		e.countFromHost(data)
		if isFor(data, e.sc.hostMAC) {
			e.inject(data, e.note(), "damaged: injected as captured")
		} else {
			e.skip("damaged, not for the host")
		}
		return
	}
	src, dst := d.srcIP(), d.dstIP()
	switch {
	case dst == e.sc.host && len(e.sc.expired) > 0 && e.sc.expired[datagramOf(data[14:])]:
		// A router answered it with Time Exceeded (a traceroute's probe): it never came.
		e.expiredOnTheWay()
	case dst == e.sc.host: // first: a packet from the host to itself (loopback) is injected
		e.toHost(e.toHostMAC(data), cut)
	case src == e.sc.host:
		e.rep.HostFrames++
		e.fromHost(data, cut)
	default:
		e.skip("between other hosts")
	}
}

// toHost injects what a peer sent the host.
func (e *engine) toHost(data []byte, cut string) {
	d := e.d
	damaged := cut != "" || (d.err != nil && !d.hasTCP && !d.hasICMP)
	if _, seg, ok := tcpOffsets(data); ok && d.hasTCP && !damaged {
		if fault := optionsFault(seg); fault != "" {
			e.damaged(fault)
			e.inject(data, e.note(), "damaged: injected as captured")
			return
		}
	}
	switch {
	case d.ip.Protocol == layers.IPProtocolTCP && d.hasTCP && !damaged && e.leftOut(uint16(d.tcp.DstPort), netip.AddrPortFrom(d.srcIP(), uint16(d.tcp.SrcPort)), d.tcp.SYN && !d.tcp.ACK, false):
	case d.ip.Protocol == layers.IPProtocolTCP && d.hasTCP && !damaged:
		e.tcpToHost(data)
		e.peerSYN()
	case d.ip.Protocol == layers.IPProtocolTCP || d.ip.Protocol == layers.IPProtocolICMPv4:
		if damaged || d.err != nil {
			e.damaged(fmt.Sprintf("%s: %s", d.ip.Protocol, errText(d.err, cut)))
			e.inject(data, e.note(), "damaged: injected as captured")
			return
		}
		if len(data) > maxFrame {
			e.skip("larger than the link's MTU (ICMP)")
			return
		}
		f := append([]byte(nil), data...)
		notes := []string{e.note()}
		if e.fixChecksums(f) {
			notes = append(notes, "checksum corrected (wrong in the capture)")
		}
		e.inject(f, notes...)
	default:
		e.skip(fmt.Sprintf("%s (mtcp has no %s)", d.ip.Protocol, d.ip.Protocol))
	}
}

// fixChecksums recomputes the IPv4 header checksum and, for ICMP, the message's, of a frame
// about to be injected, unless KeepChecksums. A capture's checksums are often wrong for
// reasons that never reached the wire (checksum offload on the capturing host, anonymised
// addresses), and the stack drops such frames. It reports whether one was wrong.
func (e *engine) fixChecksums(f []byte) bool {
	if e.opts.KeepChecksums || len(f) < 34 {
		return false
	}
	ip := f[14:]
	hl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if hl < 20 || hl > len(ip) || total < hl || total > len(ip) {
		return false
	}
	old := binary.BigEndian.Uint16(ip[10:])
	harness.SetIPv4Checksum(ip[:hl])
	fixed := old != binary.BigEndian.Uint16(ip[10:])
	if ip[9] == 1 && total >= hl+4 && binary.BigEndian.Uint16(ip[6:])&0x3fff == 0 { // ICMP, unfragmented
		m := ip[hl:total]
		oldM := binary.BigEndian.Uint16(m[2:])
		harness.SetICMPChecksum(m)
		fixed = fixed || oldM != binary.BigEndian.Uint16(m[2:])
	}
	if fixed {
		e.rep.ChecksumsFixed++
	}
	return fixed
}

// fromHost takes what the recorded host sent: the expectation for the stack.
func (e *engine) fromHost(data []byte, cut string) {
	d := e.d
	switch {
	case d.hasTCP && cut == "" && e.leftOut(uint16(d.tcp.SrcPort), netip.AddrPortFrom(d.dstIP(), uint16(d.tcp.DstPort)), d.tcp.SYN && d.tcp.ACK, d.tcp.SYN && !d.tcp.ACK):
	case d.hasTCP && cut == "":
		e.tcpFromHost(data)
	case d.hasICMP && d.icmp.TypeCode.Type() == layers.ICMPv4TypeEchoRequest:
		e.skip("echo requests of the host (the stack sends none of its own)")
	case d.hasICMP:
		e.rep.Compared++
		m := &d.icmp
		item := &expItem{frame: e.frame, at: e.now, key: icmpKey(m, d.dstIP()), desc: icmpDesc(m)}
		if m.TypeCode.Type() == layers.ICMPv4TypeEchoReply {
			item.data = append([]byte(nil), m.Payload...)
		}
		e.icmpExp = append(e.icmpExp, item)
		e.matchICMP()
	case d.ip.Protocol == layers.IPProtocolTCP:
		e.damaged("TCP from the host: " + errText(d.err, cut))
		e.skip("damaged, from the host")
	default:
		e.skip(fmt.Sprintf("%s from the host (not compared)", d.ip.Protocol))
	}
}

func icmpKey(m *layers.ICMPv4, dst netip.Addr) string {
	t := m.TypeCode.Type()
	if t == layers.ICMPv4TypeEchoReply || t == layers.ICMPv4TypeEchoRequest {
		return fmt.Sprintf("%v id %d seq %d to %v", m.TypeCode, m.Id, m.Seq, dst)
	}
	return fmt.Sprintf("%v to %v", m.TypeCode, dst)
}

func icmpDesc(m *layers.ICMPv4) string {
	t := m.TypeCode.Type()
	if t == layers.ICMPv4TypeEchoReply || t == layers.ICMPv4TypeEchoRequest {
		return fmt.Sprintf("icmp %v id %d seq %d, %d data bytes", m.TypeCode, m.Id, m.Seq, len(m.Payload))
	}
	return fmt.Sprintf("icmp %v", m.TypeCode)
}

// stackSent handles one frame the stack sent.
func (e *engine) stackSent(f []byte) {
	of := e.out.add(e.now, e.out.captureTime(e.now), pcapng.Outbound, f)
	d := e.sd
	d.decode(f)
	switch {
	case d.hasARP && d.arp.Operation == layers.ARPRequest:
		target, _ := netip.AddrFromSlice(d.arp.DstProtAddress)
		mac := e.sc.macs[target]
		if mac == nil {
			of.note("the stack asks for %v, which the capture never shows: no answer", target)
			return
		}
		of.note("the stack resolves %v (not compared: the stack's ARP cache is not the host's)", target)
		note := fmt.Sprintf("mtcp-replay answers for %v with the MAC the capture shows", target)
		if bytes.Equal(mac, make([]byte, 6)) {
			// An anonymised capture: a MAC no host can have. Any other will do.
			a := target.As4()
			mac = net.HardwareAddr{0x02, 0x00, a[0], a[1], a[2], a[3]}
			note = fmt.Sprintf("mtcp-replay answers for %v with %v (the capture shows it with MAC 00:00:00:00:00:00)", target, mac)
		}
		e.inject(e.builder().arpReply(mac, target, e.sc.stackMAC, e.sc.stackAddr), note)
	case d.hasARP:
		target, _ := netip.AddrFromSlice(d.arp.DstProtAddress)
		e.stackIC = append(e.stackIC, &expItem{at: e.now, key: "arp reply to " + target.String(), out: of,
			desc: fmt.Sprintf("arp reply %v is-at %v", e.sc.host, net.HardwareAddr(d.arp.SourceHwAddress))})
		e.matchARP()
	case d.hasTCP:
		peer := netip.AddrPortFrom(d.dstIP(), uint16(d.tcp.DstPort))
		c := e.byStack[convKey{uint16(d.tcp.SrcPort), peer}]
		if d.tcp.SYN && !d.tcp.ACK {
			c = e.connecting(uint16(d.tcp.SrcPort), peer, d.tcp.Seq, c)
		}
		if c == nil {
			c = e.strayConv(uint16(d.tcp.SrcPort), peer)
		}
		c.stackSegment(&d.tcp, of)
	case d.hasICMP:
		item := &expItem{at: e.now, key: icmpKey(&d.icmp, d.dstIP()), desc: icmpDesc(&d.icmp), out: of}
		if d.icmp.TypeCode.Type() == layers.ICMPv4TypeEchoReply {
			item.data = append([]byte(nil), d.icmp.Payload...)
		}
		e.stackIC = append(e.stackIC, item)
		e.matchICMP()
	default:
		of.note("not compared")
	}
}

// matchARP and matchICMP pair the stack's ARP replies and ICMP messages with the host's.
func (e *engine) matchARP()  { e.matchItems(&e.arpExp, "arp reply") }
func (e *engine) matchICMP() { e.matchItems(&e.icmpExp, "icmp") }

func (e *engine) matchItems(exp *[]*expItem, kind string) {
	for i := 0; i < len(*exp); i++ {
		x := (*exp)[i]
		for j, s := range e.stackIC {
			if s.key != x.key {
				continue
			}
			s.out.corresponds(x.frame)
			if x.data != nil && !bytes.Equal(x.data, s.data) {
				e.diff(Difference{Frame: x.frame, At: x.at.Sub(clock.Epoch), Recorded: x.desc, Stack: s.desc, What: "the echo reply's data differs"}, s.out)
			}
			*exp = append((*exp)[:i], (*exp)[i+1:]...)
			e.stackIC = append(e.stackIC[:j], e.stackIC[j+1:]...)
			i--
			break
		}
	}
}

// diff records a difference, and notes it on the stack's frame if there is one.
func (e *engine) diff(d Difference, of *outFrame) {
	if len(e.rep.Differences) < maxKept {
		e.rep.Differences = append(e.rep.Differences, d)
	} else {
		e.rep.MoreDifferences++
	}
	where := ""
	if d.Frame > 0 {
		where = fmt.Sprintf(" at capture frame %d", d.Frame)
	}
	// A difference about no segment of either side (retransmission counts, an ACK never given
	// back) says so in What alone: no "recorded: nothing; stack: nothing".
	none := d.Recorded == "" && d.Stack == ""
	switch {
	case of != nil && none:
		of.note("DIFFERENT%s: %s", where, d.What)
	case of != nil:
		of.note("DIFFERENT: %s (recorded: %s)", d.What, orNothing(d.Recorded))
	case none:
		e.out.noteLast("DIFFERENT%s: %s", where, d.What)
	default:
		e.out.noteLast("DIFFERENT%s: %s (recorded: %s; stack: %s)", where, d.What, orNothing(d.Recorded), orNothing(d.Stack))
	}
}

// leftOut says whether a TCP segment belongs to a conversation Options.Client leaves out
// (the host answered its SYN), counting it skipped: opening is a segment that shows it (the
// peer's SYN, or the host's SYN-ACK), begins the host's SYN (a conversation it begins on the
// same ports is played); port is the host's, peer the other end.
func (e *engine) leftOut(port uint16, peer netip.AddrPort, opening, begins bool) bool {
	if !e.opts.Client {
		return false
	}
	key := convKey{port, peer}
	switch {
	case begins:
		delete(e.notPlayed, key)
		return false
	case opening && !e.notPlayed[key]:
		if c := e.convs[key]; c != nil && c.client {
			return false // a simultaneous open: the host began it too
		}
		e.notPlayed[key] = true
		e.skip("conversations the host answered (--client plays those it began)")
		return true
	case e.notPlayed[key]:
		e.skip("segments of conversations the host answered (--client)")
		return true
	}
	return false
}

func orNothing(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

// expire reports what waited longer than the horizon for its counterpart (everything, at
// the end).
func (e *engine) expire(now time.Time, all bool) {
	h := e.opts.Horizon
	late := func(at time.Time) bool { return all || now.Sub(at) > h }
	e.arpExp = e.expireItems(e.arpExp, late)
	e.icmpExp = e.expireItems(e.icmpExp, late)
	stack := e.stackIC[:0]
	for _, s := range e.stackIC {
		if !late(s.at) {
			stack = append(stack, s)
			continue
		}
		e.diff(Difference{At: s.at.Sub(clock.Epoch), Stack: s.desc, What: "the stack sent this, the recorded host did not"}, s.out)
	}
	e.stackIC = stack
	if all {
		for _, c := range e.order {
			c.expire(now, all)
		}
	} else {
		live := e.live[:0]
		for _, c := range e.live {
			c.expire(now, all)
			if c.quiet() {
				c.isLive = false // done and judged: nothing for step or expire until woken
				continue
			}
			live = append(live, c)
		}
		clear(e.live[len(live):])
		e.live = live
	}
	e.out.flushBefore(now.Add(-2 * h))
}

// expireItems reports the items that waited too long (they are in time order: only the head
// can be late) and returns the others.
func (e *engine) expireItems(items []*expItem, late func(time.Time) bool) []*expItem {
	n := 0
	for ; n < len(items) && late(items[n].at); n++ {
		x := items[n]
		e.diff(Difference{Frame: x.frame, At: x.at.Sub(clock.Epoch), Recorded: x.desc, What: "the recorded host answered, the stack did not"}, nil)
	}
	return items[n:]
}
