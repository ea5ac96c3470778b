package script

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/mtcpdut"
)

// Config says how Run runs a script.
type Config struct {
	// Strict fails the script as soon as the stack sends a packet that no outbound line
	// expects. By default, as in packetdrill, such a packet fails only when it is compared
	// with the next outbound line.
	Strict bool
	// Lenient ignores the window, the PSH bit, option values and option order of outbound
	// packets, and the buffer sizes getsockopt reports, so that scripts written against
	// another stack's defaults test the protocol rather than the defaults.
	Lenient bool
	// Target makes the device under test; nil runs a fresh mtcp core (mtcpdut.DefaultConfig).
	// The script's sysctl lines and the platform's defaults go to it if it is a
	// harness.Tunable, and are reported as skipped otherwise.
	Target harness.Target
	// MaxWait bounds how long an outbound line with time '*' waits in virtual time (default
	// 10 minutes).
	MaxWait time.Duration
	// TimeLimit bounds a script's time on a target on the real clock (harness.RealTime): a
	// script that would wait past it stops there, without a verdict (Result.NotRun). 0: none.
	TimeLimit time.Duration
	// Platform ("freebsd", "linux" or "") gives the stack the defaults that platform's
	// scripts assume without setting them (KnownPlatforms; the table is in policy.go), before the
	// script's own sysctl lines apply.
	Platform string
}

// Ports the runner uses when a line names none (packetdrill's defaults for bind and connect).
const (
	DefaultLocalPort  = 8080  // bind(..., ..., ...) binds this port of the stack
	DefaultRemotePort = 8080  // connect(..., ..., ...) connects to this port of the peer
	DefaultPeerPort   = 40000 // the peer's port for connections the peer opens
)

// packetdrill's default addresses, which scripts sometimes spell out in a sockaddr; they stand
// for the stack and the peer.
var (
	packetdrillLocalIP  = netip.MustParseAddr("192.168.0.1")
	packetdrillRemoteIP = netip.MustParseAddr("192.0.2.1")
)

// Result is the outcome of a run.
type Result struct {
	Script *Script
	// Failure is the first mismatch, nil when the script passed.
	Failure *Failure
	// Skipped are the shell and code lines, which are reported, never run, and the sysctl
	// assignments not applied.
	Skipped []Skip
	// Applied are the sysctl assignments that set the stack's policy for the run.
	Applied []Sysctl
	// Elapsed is the virtual time the script took.
	Elapsed time.Duration
	// NotRun says why the script stopped before its end without a verdict (Config.TimeLimit);
	// "" when it ran to its end or failed.
	NotRun   string
	bench    *harness.Bench
	target   string
	platform string
}

// Passed reports whether the script ran to its end without a mismatch.
func (r *Result) Passed() bool { return r.Failure == nil && r.NotRun == "" }

// Frames returns the frames that crossed the link, in order.
func (r *Result) Frames() []*harness.Frame {
	if r.bench == nil {
		return nil
	}
	return r.bench.Frames()
}

// Verdict is "passed" or "FAILED: ..." with the failure.
func (r *Result) Verdict() string {
	switch {
	case r.Failure != nil:
		return "FAILED: " + r.Failure.Error()
	case r.NotRun != "":
		return "not run to its end: " + r.NotRun
	}
	return "passed"
}

// WriteCapture writes the run's frames to a pcapng file at path, the section comment naming
// the script, the target, the verdict, the platform and sysctls that set the stack's policy
// and the lines skipped; each frame carries the script line it belongs to.
func (r *Result) WriteCapture(path string) error {
	if r.bench == nil {
		return errors.New("script: no frames: the run did not start")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\ntarget: %s\nverdict: %s", r.Script.File, r.target, r.Verdict())
	for _, w := range r.Script.Warnings {
		fmt.Fprintf(&b, "\nwarning: line %d: %s", w.Line, w.Msg)
	}
	if r.platform != "" {
		fmt.Fprintf(&b, "\nplatform: %s", r.platform)
	}
	for _, a := range r.Applied {
		fmt.Fprintf(&b, "\nline %d: sysctl applied: %s=%s", a.Line, a.Name, a.Value)
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "\n%s", s)
	}
	return r.bench.WriteCapture(path, b.String())
}

// Skip is a line that was not run.
type Skip struct {
	Line int
	What string // "shell" or "code"
	Text string
}

func (s Skip) String() string {
	switch {
	case s.What == "sysctl" && s.Line == 0: // a platform default
		return "sysctl not applied: " + s.Text
	case s.What == "sysctl":
		return fmt.Sprintf("line %d: sysctl not applied: %s", s.Line, s.Text)
	}
	return fmt.Sprintf("line %d: %s line not run: %s", s.Line, s.What, s.Text)
}

// Failure is the first mismatch of a run, in packetdrill's terms.
type Failure struct {
	File string
	Line int
	// Source is the script line as written.
	Source string
	// At is the virtual time of the mismatch, since the script started.
	At  time.Duration
	Msg string
	// Expected and Actual are packets (or results) in packetdrill notation; either may be "".
	Expected, Actual string
}

// Error renders the failure:
//
//	f.pkt:12: at 1.200000 s: the stack's packet differs: win 5840, want 65535
//	  script:   +0 > S. 0:0(0) ack 1 win 65535 <mss 1460>
//	  expected: 1.200000 > S. 0:0(0) ack 1 win 65535 <mss 1460>
//	  actual:   1.200000 > S. 0:0(0) ack 1 win 5840 <mss 1460,nop,wscale 2>
func (f *Failure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d: at %s s: %s", f.File, f.Line, secs(f.At), f.Msg)
	if f.Source != "" {
		fmt.Fprintf(&b, "\n  script:   %s", strings.TrimSpace(f.Source))
	}
	if f.Expected != "" {
		fmt.Fprintf(&b, "\n  expected: %s", f.Expected)
	}
	if f.Actual != "" {
		fmt.Fprintf(&b, "\n  actual:   %s", f.Actual)
	}
	return b.String()
}

// secs prints a virtual time as packetdrill does: seconds with microseconds.
func secs(d time.Duration) string { return fmt.Sprintf("%.6f", d.Seconds()) }

// Run runs a parsed script against a fresh target in virtual time. It returns an error only
// when the script cannot run at all (a construct the runner does not support, or a target
// that cannot be made); every mismatch is a Result.Failure. Run never runs a script half-way
// because of an unsupported construct: Check runs first.
func Run(s *Script, cfg Config) (*Result, error) {
	if err := Check(s); err != nil {
		return nil, err
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 10 * time.Minute
	}
	sets, skips := leadingShell(s)
	target := cfg.Target
	if target == nil {
		target = mtcpdut.Target{}
	}
	dut, err := target.NewDUT()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.File, err)
	}
	if x, ok := dut.(harness.Destroyer); ok {
		defer x.Destroy()
	}
	var applied []Sysctl
	if t, ok := dut.(harness.Tunable); ok {
		var notApplied []Skip
		applied, notApplied, err = applyPolicy(t, cfg.Platform, sets)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.File, err)
		}
		skips = append(skips, notApplied...)
	} else {
		for _, set := range sets {
			skips = append(skips, Skip{Line: set.Line, What: "sysctl", Text: fmt.Sprintf("%s=%s: the target %s takes no sysctls", set.Name, set.Value, dut.Name())})
		}
	}
	slices.SortStableFunc(skips, func(a, b Skip) int { return a.Line - b.Line })
	r := &runner{s: s, cfg: cfg, res: &Result{Script: s, target: dut.Name(), platform: cfg.Platform, Skipped: skips, Applied: applied}, fds: map[int64]int{}, flows: map[[2]uint16]*flow{}, testFD: -1}
	r.run(dut)
	return r.res, nil
}

// runner runs one script.
type runner struct {
	s     *Script
	cfg   Config
	res   *Result
	b     *harness.Bench
	socks harness.Sockets
	fb    frameBuilder
	ev    *Event        // the event being run
	last  time.Duration // script time of the previous event, for relative times
	flows map[[2]uint16]*flow
	cur   *flow // the connection lines without ports refer to
	// fds maps the script's descriptor numbers to the target's.
	fds      map[int64]int
	nonblock map[int]bool
	fdFlows  map[int]*flow // the connection each connecting socket opened
	blocked  *call         // a blocking call still running
	trying   *call         // the call being attempted
	echoSeq  uint16
	echoes   map[uint32][]byte // the data of each echo request injected, by id<<16 | seq
	// lastARPRequest is the last ARP request injected: an ARP reply answers it.
	lastARPRequest *layers.ARP
	// hosts maps the addresses the script has sent from to the MAC it last used for them.
	hosts map[netip.Addr]string
	// testFD is packetdrill's socket under test, whose TCP_INFO Python blocks see: the target's
	// descriptor last made by socket or accept (-1 before).
	testFD int
	code   []codeBlock // the Python blocks met, run after the last line
	gso    gsoRun      // the segments the outbound line being matched takes after the first
	// started is set at the first packet or system call: shell lines before it set the
	// policy the stack starts with.
	started bool
	// epolls are the epoll instances, by descriptor: each the descriptors registered.
	epolls     map[int]map[int]*epollEntry
	epollsMade int // epoll descriptors are never reused: each is epollBase + its number
}

// abort carries a failure out of the event loop by panic; run recovers it.
type abort struct{ f *Failure }

// notRun carries a stop without a verdict out of the event loop by panic (the time limit).
type notRun struct{ why string }

// fail stops the run with a failure at the current event.
func (r *runner) fail(format string, args ...any) {
	r.failWith("", "", format, args...)
}

func (r *runner) failWith(expected, actual, format string, args ...any) {
	f := &Failure{File: r.s.File, Msg: fmt.Sprintf(format, args...), Expected: expected, Actual: actual}
	if r.b != nil {
		f.At = r.b.Elapsed()
	}
	if r.ev != nil {
		f.Line, f.Source = r.ev.Line, r.s.SourceLine(r.ev.Line)
	}
	panic(abort{f})
}

// benchT is the harness.T of the runner's bench: a bench failure (a bad checksum from the
// stack) becomes the script's failure.
type benchT struct{ r *runner }

func (t benchT) Helper() {}
func (t benchT) Fatalf(format string, args ...any) {
	t.r.fail(format, args...)
}

// Skip stops the run without a verdict: the bench's time limit.
func (t benchT) Skip(args ...any) { panic(notRun{fmt.Sprint(args...)}) }

func (r *runner) run(dut harness.DUT) {
	defer func() {
		if r.b != nil {
			r.res.Elapsed = r.b.Elapsed()
		}
		switch v := recover().(type) {
		case nil:
		case abort:
			r.res.Failure = v.f
		case notRun:
			r.res.NotRun = v.why
		default:
			panic(v)
		}
	}()
	opts := []harness.Option{harness.WithTimeLimit(r.cfg.TimeLimit)}
	if r.speaksARP() {
		opts = append(opts, harness.WithoutARPAnswers())
	}
	r.b = harness.New(benchT{r}, dut, opts...)
	r.res.bench = r.b
	r.socks = r.b.SocketsOf()
	r.fb = frameBuilder{peerMAC: r.b.Peer().MAC, stackMAC: r.b.StackMAC(), peerIP: r.b.Peer().IP, stackIP: r.b.StackIP()}
	r.nonblock, r.fdFlows, r.epolls = map[int]bool{}, map[int]*flow{}, map[int]map[int]*epollEntry{}
	r.hosts = map[netip.Addr]string{r.fb.peerIP: r.fb.peerMAC.String()}
	r.cur = r.flow(DefaultLocalPort, DefaultPeerPort)
	for i := range r.s.Events {
		r.ev = &r.s.Events[i]
		r.event(r.ev)
	}
	r.ev = nil
	r.finish()
}

func (r *runner) speaksARP() bool {
	for _, e := range r.s.Events {
		if e.Kind == EventPacket && e.Packet.Proto == ProtoARP {
			return true
		}
	}
	return false
}

// flow returns the connection with these ports, making it if new.
func (r *runner) flow(local, remote uint16) *flow {
	k := [2]uint16{local, remote}
	if f := r.flows[k]; f != nil {
		return f
	}
	f := &flow{local: local, remote: remote}
	if local != 0 {
		r.flows[k] = f
	}
	return f
}

// when returns the script time of an event (for '*', the current time).
func (r *runner) when(e *Event) time.Duration {
	switch e.Time.Kind {
	case TimeAbsolute:
		return e.Time.Start
	case TimeRelative:
		return r.last + e.Time.Start
	}
	return r.b.Elapsed()
}

func (r *runner) event(e *Event) {
	switch e.Kind {
	case EventShell:
		if e.Time.Kind != TimeNone { // a timed shell line moves the script's clock
			at := r.when(e)
			r.runTo(at)
			r.last = at
		}
		if r.started { // else read before the stack started (leadingShell)
			r.liveShell(e)
		}
		return
	case EventCode:
		if e.Time.Kind == TimeNone { // untimed: when the line comes
			r.codeEvent(e)
			return
		}
	}
	r.started = true
	at := r.when(e)
	if e.Time.Kind == TimeAbsolute && at < r.last {
		r.fail("time goes backward: %s s is before the previous line's %s s", secs(at), secs(r.last))
	}
	switch {
	case e.Kind == EventPacket && e.Packet.Direction == Outbound:
		r.expect(e, at)
		return
	case e.Kind == EventNothing:
		r.nothingUntil(at)
		r.last = at
		return
	}
	r.runTo(at)
	r.last = at
	switch e.Kind {
	case EventPacket:
		r.inject(e.Packet)
	case EventSyscall:
		r.syscall(e, at)
	case EventCode:
		r.codeEvent(e)
	}
	r.retryBlocked() // what this line did may let a blocked call return; what it made the
	// stack send waits for the lines after it (strict mode checks before the next line runs)
}

// runTo moves virtual time to script time t, waking the stack at each of its deadlines on
// the way and giving a blocked call its chance after each.
func (r *runner) runTo(t time.Duration) {
	target := harness.DefaultStart().Add(t)
	for {
		next, ok := r.nextWake()
		if !ok || next.After(target) {
			break
		}
		r.b.RunUntil(next)
		r.poll()
	}
	r.b.RunUntil(target)
	r.poll()
}

// poll retries a blocked call and, in strict mode, fails on a packet no line expects.
func (r *runner) poll() {
	r.retryBlocked()
	if r.cfg.Strict {
		if f := r.b.TryNextWithin(0); f != nil {
			note := describeFrame(f, r.frameFlow(f, r.cur))
			f.Note("expected instead: nothing (--strict: no outbound line expects this packet)")
			r.failWith("", fmt.Sprintf("%s %s", secs(f.Offset), note), "the stack sent a packet no line expects (--strict)")
		}
	}
}

// nextWake is the next time something may happen: the target's next deadline, or the end
// of a blocked call's timeout.
func (r *runner) nextWake() (time.Time, bool) {
	next, ok := r.b.DUT().NextDeadline()
	if c := r.blocked; c != nil && c.wake > 0 {
		w := harness.DefaultStart().Add(c.wake)
		if !ok || w.Before(next) {
			next, ok = w, true
		}
	}
	return next, ok
}

// nextFrame waits until script time hi for the stack's next frame; nil if none comes.
func (r *runner) nextFrame(hi time.Duration) *harness.Frame {
	target := harness.DefaultStart().Add(hi)
	for {
		r.retryBlocked()
		if f := r.b.TryNextWithin(0); f != nil {
			return f
		}
		next, ok := r.nextWake()
		if !ok || next.After(target) {
			break
		}
		r.b.RunUntil(next)
	}
	r.b.RunUntil(target)
	r.retryBlocked()
	return r.b.TryNextWithin(0)
}

// expect matches the stack's next frame with an outbound line due at script time at.
func (r *runner) expect(e *Event, at time.Duration) {
	tol := r.s.Tolerance
	lo, hi := at-tol, at+tol
	switch {
	case e.Time.Kind == TimeAny:
		lo, hi = -1<<62, r.b.Elapsed()+r.cfg.MaxWait // packetdrill: any time, even earlier
	case e.Time.Range:
		end := e.Time.End
		if e.Time.Kind == TimeRelative {
			end += r.last
		}
		hi = end + tol
	}
	when := secs(at)
	switch {
	case e.Time.Kind == TimeAny:
		when = "*"
	case e.Time.Range:
		when = secs(at) + "~" + secs(hi-tol)
	}
	want := r.renderExpected(e.Packet, when)
	f := r.nextFrame(hi)
	if f == nil {
		r.failWith(want, "(nothing)", "expected a packet by %s s; the stack sent nothing", secs(hi))
	}
	fl := r.flowOf(e.Packet, f)
	if e.Packet.Proto == ProtoTCP && f.TCP() != nil && f.IPv4() != nil && r.frameFlow(f, fl) == fl {
		// The stack's TS clock is learned from the line first, so that the frame is shown in
		// the script's clock, on a failure too.
		fl.learnTimestamps(e.Packet.TCP.Options, segOfWire(f.IPv4(), f.TCP(), fl).opts)
	}
	r.gso = r.superSegment(e, f)
	defer func() { r.gso = gsoRun{} }()
	got := fmt.Sprintf("%s %s", secs(f.Offset), describeFrame(f, r.frameFlow(f, fl)))
	if r.gso.frames > 0 {
		got += fmt.Sprintf(" and %d more segments, %d bytes in all (one GSO segment)", r.gso.frames, r.gso.len)
	}
	if f.Offset < lo {
		f.Note("line %d: expected instead: %s (sent %s too early)", e.Line, want, lo-f.Offset)
		r.failWith(want, got, "the stack sent a packet %s too early (tolerance %s)", lo-f.Offset, tol)
	}
	if f.Offset > hi { // a packet already waiting, sent after the line's window
		f.Note("line %d: expected instead: %s (sent %s too late)", e.Line, want, f.Offset-hi)
		r.failWith(want, got, "the stack sent a packet %s too late (tolerance %s)", f.Offset-hi, tol)
	}
	if d := r.matches(e.Packet, f, fl); len(d) > 0 {
		f.Note("line %d: expected instead: %s (%s)", e.Line, want, strings.Join(d, "; "))
		r.failWith(want, got, "the stack's packet differs: %s", strings.Join(d, "; "))
	}
	f.Note("line %d: %s", e.Line, strings.TrimSpace(r.s.SourceLine(e.Line)))
	if e.Time.Kind == TimeAny || e.Time.Range {
		r.last = f.Offset // packetdrill: later relative times count from when it was sent
	} else {
		r.last = at
	}
}

// gsoRun is a run of segments the stack sent back to back that one outbound line matches
// as a single segment: the frames after the first, the bytes of all, and the PSH and FIN
// of the last.
type gsoRun struct {
	frames, len int
	flags       TCPFlags
}

// superSegment joins to f the segments the stack sent at the same moment right after it, when
// the line expects more data than f carries and they make up exactly that much: Linux hands
// packetdrill's tun device GSO super-segments, which a NIC cuts into MSS-sized ones, so its
// scripts expect "> P. 1:10001(10000)" for ten segments sent at once. Only with
// --platform linux: mtcp's own scripts check every segment.
func (r *runner) superSegment(e *Event, f *harness.Frame) gsoRun {
	p := e.Packet
	t := f.TCP()
	if r.cfg.Platform != "linux" || p.Proto != ProtoTCP || t == nil || len(t.Payload) == 0 || len(t.Payload) >= p.TCP.Len {
		return gsoRun{}
	}
	run := gsoRun{len: len(t.Payload)}
	next := t.Seq + uint32(len(t.Payload))
	for _, g := range r.b.Waiting() {
		u := g.TCP()
		if u == nil || g.Offset != f.Offset || u.SrcPort != t.SrcPort || u.DstPort != t.DstPort || u.Seq != next ||
			u.Ack != t.Ack || u.SYN || u.RST || len(u.Payload) == 0 || run.len+len(u.Payload) > p.TCP.Len {
			break
		}
		run.frames++
		run.len += len(u.Payload)
		run.flags = TCPFlags(harness.FlagsOf(u)) & (PSH | FIN)
		next += uint32(len(u.Payload))
		if run.len == p.TCP.Len {
			for i, g := range r.b.Waiting()[:run.frames] {
				g.Note("line %d: segment %d of %d of one GSO segment", e.Line, i+2, run.frames+1)
			}
			r.b.Take(run.frames)
			return run
		}
	}
	return gsoRun{}
}

// renderExpected is an outbound line in packetdrill notation at its time.
func (r *runner) renderExpected(p *Packet, at string) string {
	src := strings.TrimSpace(r.s.SourceLine(r.ev.Line))
	if p.Proto == ProtoTCP {
		s := segOfLine(p)
		return fmt.Sprintf("%s > %s", at, s)
	}
	if i := strings.Index(src, ">"); i >= 0 {
		src = strings.TrimSpace(src[i:])
	}
	return fmt.Sprintf("%s %s", at, src)
}

// flowOf finds the connection an outbound TCP line and frame belong to, learning the stack's
// port and ISN from its SYN or SYN-ACK.
func (r *runner) flowOf(p *Packet, fr *harness.Frame) *flow {
	if p.Proto != ProtoTCP || fr.TCP() == nil {
		return r.cur
	}
	t := fr.TCP()
	fl := r.cur
	if p.Ports {
		fl = r.flow(p.SrcPort, p.DstPort)
		if p.TCP.Flags&SYN != 0 {
			r.cur = fl // a SYN line with ports starts a new current connection, either way
		}
	} else if fl.local == 0 && t.SYN && uint16(t.DstPort) == fl.remote {
		fl.local = uint16(t.SrcPort) // the ephemeral port of an active open
		r.flows[[2]uint16{fl.local, fl.remote}] = fl
	}
	// The first SYN line fixes the ISN; later ones (retransmissions, a SYN-ACK answering a
	// simultaneous open) are checked against it.
	if fl.maybeNew {
		fl.maybeNew = false
		if t.SYN && p.TCP.Flags&SYN != 0 {
			fl.isnKnown = false // a new connection on the same ports: a new ISN
		}
	}
	if !fl.isnKnown && t.SYN && p.TCP.Flags&SYN != 0 && uint16(t.SrcPort) == fl.local && uint16(t.DstPort) == fl.remote {
		fl.isnKnown, fl.scriptISN, fl.liveISN = true, p.TCP.Seq, t.Seq
	}
	return fl
}

// frameFlow is the connection a frame the stack sent belongs to, for showing its sequence
// numbers: fl when the ports match, another known connection, or none (absolute numbers).
func (r *runner) frameFlow(fr *harness.Frame, fl *flow) *flow {
	t := fr.TCP()
	if t == nil {
		return fl
	}
	src, dst := uint16(t.SrcPort), uint16(t.DstPort)
	if fl != nil && fl.local == src && fl.remote == dst {
		return fl
	}
	if f := r.flows[[2]uint16{src, dst}]; f != nil {
		return f
	}
	return &flow{}
}

// matches lists how a frame differs from an outbound line.
func (r *runner) matches(p *Packet, fr *harness.Frame, fl *flow) []string {
	return append(r.addressDiff(p, fr), r.protoDiff(p, fr, fl)...)
}

// addressDiff checks an IPv4 packet's addresses: from the stack, to the peer for a TCP line
// (to any host the script has sent from, for ICMP), and over Ethernet to the MAC that ARP
// last gave for that host (the bench's answers included).
func (r *runner) addressDiff(p *Packet, fr *harness.Frame) []string {
	ip, eth := fr.IPv4(), fr.Ethernet()
	if p.Proto == ProtoARP || ip == nil || eth == nil {
		return nil
	}
	var d []string
	src, _ := netip.AddrFromSlice(ip.SrcIP.To4())
	dst, _ := netip.AddrFromSlice(ip.DstIP.To4())
	mac, known := r.hosts[dst]
	switch {
	case src != r.fb.stackIP:
		d = append(d, fmt.Sprintf("from %v, want from the stack's %v", src, r.fb.stackIP))
	case p.Proto == ProtoTCP && dst != r.fb.peerIP:
		d = append(d, fmt.Sprintf("to %v, want to the peer %v", dst, r.fb.peerIP))
	case !known:
		d = append(d, fmt.Sprintf("to %v, a host the script never sent from", dst))
	}
	if known && mac != "" && eth.DstMAC.String() != mac {
		d = append(d, fmt.Sprintf("Ethernet destination %v, want %v (%v's MAC as ARP last said)", eth.DstMAC, mac, dst))
	}
	if eth.SrcMAC.String() != r.fb.stackMAC.String() {
		d = append(d, fmt.Sprintf("Ethernet source %v, want the stack's %v", eth.SrcMAC, r.fb.stackMAC))
	}
	return d
}

// learnHost notes the address and MAC an injected frame comes from.
func (r *runner) learnHost(frame []byte) {
	pk := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	eth, _ := pk.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if eth == nil {
		return
	}
	var a netip.Addr
	if ip, ok := pk.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		a, _ = netip.AddrFromSlice(ip.SrcIP.To4())
	} else if arp, ok := pk.Layer(layers.LayerTypeARP).(*layers.ARP); ok {
		a, _ = netip.AddrFromSlice(arp.SourceProtAddress)
		r.hosts[a] = net.HardwareAddr(arp.SourceHwAddress).String() // what the stack learns
		return
	}
	// A host known from IP alone: the stack learns MACs from ARP only (RFC 826), so which MAC
	// it uses for it is not checked until ARP says.
	if _, ok := r.hosts[a]; a.IsValid() && !ok {
		r.hosts[a] = ""
	}
}

// protoDiff lists how a frame differs from an outbound line, protocol by protocol.
func (r *runner) protoDiff(p *Packet, fr *harness.Frame, fl *flow) []string {
	switch p.Proto {
	case ProtoTCP:
		t, ip := fr.TCP(), fr.IPv4()
		if t == nil || ip == nil {
			return []string{"not a TCP segment"}
		}
		want, got := segOfLine(p), segOfWire(ip, t, fl)
		if r.gso.frames > 0 {
			got.len, got.flags = r.gso.len, got.flags|r.gso.flags
		}
		switch {
		case p.TCP.AnySeq: // "...(L)": any sequence number
			want.seq = got.seq
		case p.TCP.AbsoluteSeq: // "S:E(L)!": the wire's number
			got.seq = t.Seq
		}
		if ts := tsOption(want.opts); ts != nil && ts.AnyTSVal {
			if g := tsOption(got.opts); g != nil {
				ts.TSVal = g.TSVal
			}
		}
		fl.scriptTS(got.opts)
		d := want.diff(got, r.cfg.Lenient, tsCheck{tick: r.s.TSTick, tolerance: r.s.Tolerance})
		if !p.Ports && (got.srcPort != fl.local || got.dstPort != fl.remote) {
			d = append(d, fmt.Sprintf("ports %d>%d, want %d>%d", got.srcPort, got.dstPort, fl.local, fl.remote))
		}
		return append(d, ipDiff(p.IP, ip)...)
	case ProtoICMP:
		return r.icmpDiff(p, fr)
	case ProtoARP:
		return arpDiff(p.ARP, fr.ARP(), fr.Ethernet(), r.lastARPRequest)
	}
	return []string{"raw frames can only be injected"}
}

func ipDiff(want IPFields, ip *layers.IPv4) []string {
	var d []string
	if want.HasTOS && ip.TOS&^3 != want.TOS&^3 {
		d = append(d, fmt.Sprintf("tos 0x%02x, want 0x%02x", ip.TOS, want.TOS))
	}
	if want.HasTTL && ip.TTL != want.TTL {
		d = append(d, fmt.Sprintf("ttl %d, want %d", ip.TTL, want.TTL))
	}
	return d
}

func (r *runner) icmpDiff(p *Packet, fr *harness.Frame) []string {
	m := fr.ICMPv4()
	if m == nil {
		return []string{"not an ICMP message"}
	}
	ic := p.ICMP
	var d []string
	if m.TypeCode.Type() != ic.Type || m.TypeCode.Code() != ic.Code {
		return []string{fmt.Sprintf("icmp %s, want %s", icmpName(m.TypeCode.Type(), m.TypeCode.Code()), icmpName(ic.Type, ic.Code))}
	}
	if ic.Type == layers.ICMPv4TypeEchoReply && len(r.echoes) > 0 {
		// The reply must carry a request's id, sequence number and data (RFC 792).
		switch req, ok := r.echoes[uint32(m.Id)<<16|uint32(m.Seq)]; {
		case !ok:
			d = append(d, fmt.Sprintf("id %d seq %d answers no echo request the script sent", m.Id, m.Seq))
		case string(m.Payload) != string(req):
			d = append(d, fmt.Sprintf("its %d data bytes are not the %d of request id %d seq %d", len(m.Payload), len(req), m.Id, m.Seq))
		}
	}
	if e := ic.Echoed; e != nil && (ic.Type == layers.ICMPv4TypeEchoReply || ic.Type == layers.ICMPv4TypeEchoRequest) && len(m.Payload) != e.Len {
		d = append(d, fmt.Sprintf("[raw (%d)], want [raw (%d)]", len(m.Payload), e.Len))
	}
	if ic.ID != 0 && m.Id != ic.ID {
		d = append(d, fmt.Sprintf("id %d, want %d", m.Id, ic.ID))
	}
	if ic.HasMTU && m.Seq != ic.MTU {
		d = append(d, fmt.Sprintf("mtu %d, want %d", m.Seq, ic.MTU))
	}
	if e := ic.Echoed; e != nil && ic.Type != layers.ICMPv4TypeEchoReply && ic.Type != layers.ICMPv4TypeEchoRequest {
		want := fmt.Sprintf("[raw (%d)]", e.Len)
		switch e.Proto {
		case "tcp":
			want = fmt.Sprintf("[%d:%d(%d)]", e.Seq, e.End, e.Len)
		case "udp":
			want = fmt.Sprintf("[udp (%d)]", e.Len)
		}
		if got := quotedOf(m.Payload); got != want {
			d = append(d, fmt.Sprintf("quotes %s, want %s", got, want))
		}
	}
	return d
}

func arpDiff(want *ARP, got *layers.ARP, eth *layers.Ethernet, req *layers.ARP) []string {
	if got == nil {
		return []string{"not an ARP packet"}
	}
	var d []string
	if got.Operation != uint16(want.Op) {
		return []string{fmt.Sprintf("ARP operation %d, want %d", got.Operation, want.Op)}
	}
	sender, _ := netip.AddrFromSlice(got.SourceProtAddress)
	if sender != want.SenderIP {
		d = append(d, fmt.Sprintf("sender %v, want %v", sender, want.SenderIP))
	}
	if want.Op == ARPRequest {
		if target, _ := netip.AddrFromSlice(got.DstProtAddress); target != want.TargetIP {
			d = append(d, fmt.Sprintf("who-has %v, want %v", target, want.TargetIP))
		}
	} else if !want.AnyMAC && net.HardwareAddr(got.SourceHwAddress).String() != want.MAC.String() {
		d = append(d, fmt.Sprintf("is-at %v, want %v", net.HardwareAddr(got.SourceHwAddress), want.MAC))
	}
	if want.Op == ARPReply && req != nil {
		// RFC 826: the reply goes to the requester, unicast, and names it as the target.
		reqMAC := net.HardwareAddr(req.SourceHwAddress).String()
		if eth != nil && eth.DstMAC.String() != reqMAC {
			d = append(d, fmt.Sprintf("sent to %v, want unicast to the requester %v", eth.DstMAC, reqMAC))
		}
		if net.HardwareAddr(got.DstHwAddress).String() != reqMAC || !net.IP(got.DstProtAddress).Equal(net.IP(req.SourceProtAddress)) {
			d = append(d, fmt.Sprintf("target %v %v, want the requester %v %v", net.HardwareAddr(got.DstHwAddress), net.IP(got.DstProtAddress), reqMAC, net.IP(req.SourceProtAddress)))
		}
	}
	return d
}

// nothingUntil checks that the stack sends nothing from now until script time t.
func (r *runner) nothingUntil(t time.Duration) {
	if f := r.b.TryNextWithin(0); f != nil {
		f.Note("line %d: expected instead: nothing until %s s", r.ev.Line, secs(t))
		r.failWith(fmt.Sprintf("nothing until %s s", secs(t)), fmt.Sprintf("%s %s", secs(f.Offset), describeFrame(f, r.frameFlow(f, r.cur))), "the stack sent a packet")
	}
	if f := r.nextFrame(t); f != nil {
		f.Note("line %d: expected instead: nothing until %s s", r.ev.Line, secs(t))
		r.failWith(fmt.Sprintf("nothing until %s s", secs(t)), fmt.Sprintf("%s %s", secs(f.Offset), describeFrame(f, r.frameFlow(f, r.cur))), "the stack sent a packet")
	}
	r.b.RunUntil(harness.DefaultStart().Add(t))
}

// inject builds and injects an inbound line.
func (r *runner) inject(p *Packet) {
	var data []byte
	var err error
	fl := r.cur
	switch p.Proto {
	case ProtoTCP:
		if p.Ports {
			fl = r.flow(p.DstPort, p.SrcPort)
		} else if fl.local == 0 {
			r.fail("the stack's port is not known yet: inject after its SYN, or name the ports (1234>8080)")
		}
		if !p.Ports || fl == r.cur || p.TCP.Flags&SYN != 0 {
			r.cur = fl
		}
		if t := p.TCP; t.Flags&SYN != 0 && t.Flags&ACK == 0 {
			if fl.hasPeerSYN && fl.peerSYN != t.Seq {
				fl.maybeNew = true
			}
			fl.peerSYN, fl.hasPeerSYN = t.Seq, true
		}
		fl.learnRemoteISN(p.TCP.Flags, p.TCP.Seq)
		data, err = r.fb.tcp(p, fl)
	case ProtoICMP:
		if p.ICMP.Type == layers.ICMPv4TypeEchoRequest {
			r.echoSeq++
		}
		data, err = r.fb.icmp(p, fl, r.echoSeq)
		if err == nil && p.ICMP.Type == layers.ICMPv4TypeEchoRequest {
			hl, total := 20+len(p.IP.Options), int(binary.BigEndian.Uint16(data[16:]))
			msg := data[14+hl : 14+total] // not the Ethernet padding
			if r.echoes == nil {
				r.echoes = map[uint32][]byte{}
			}
			r.echoes[uint32(binary.BigEndian.Uint16(msg[4:]))<<16|uint32(binary.BigEndian.Uint16(msg[6:]))] = append([]byte(nil), msg[8:]...)
		}
	case ProtoARP:
		data, err = r.fb.arp(p.ARP)
		if err == nil && p.ARP.Op == ARPRequest {
			if a, ok := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default).Layer(layers.LayerTypeARP).(*layers.ARP); ok {
				r.lastARPRequest = a
			}
		}
	case ProtoRaw:
		data = p.Raw
	}
	if err != nil {
		r.fail("building the packet: %v", err)
	}
	r.learnHost(data)
	r.b.Inject(harness.Raw{Data: data, Desc: fmt.Sprintf("line %d: %s", r.ev.Line, strings.TrimSpace(r.s.SourceLine(r.ev.Line)))})
}

// finish ends the run: a call still blocked fails it; in strict mode so does a packet no line
// expected, within the tolerance after the last event.
func (r *runner) finish() {
	if c := r.blocked; c != nil {
		// A call with a timeout or an end time may return after the last line: wait for it.
		until := c.wake
		if c.ev.Syscall.HasEndTime {
			until = max(until, c.end+r.s.Tolerance)
		}
		if until > r.b.Elapsed() {
			r.runTo(until)
		}
	}
	if c := r.blocked; c != nil {
		r.ev = c.ev
		r.fail("%s() was still blocked when the script ended", c.ev.Syscall.Name)
	}
	r.runCode()
	if r.cfg.Strict && len(r.s.Events) > 0 {
		// A packet sent after the last line, within the tolerance, fails there.
		r.ev = &r.s.Events[len(r.s.Events)-1]
		r.runTo(r.b.Elapsed() + r.s.Tolerance)
		r.ev = nil
	}
	for {
		f := r.b.TryNextWithin(0)
		if f == nil {
			break
		}
		f.Note("sent after the last line; no line expects it")
	}
}
