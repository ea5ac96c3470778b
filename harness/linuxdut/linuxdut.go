//go:build linux

package linuxdut

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/internal/netns"
)

// PollInterval is how far past the last instant NextDeadline asks to be woken: how often the
// bench polls the kernel, and so how late, at most, a frame is stamped.
const PollInterval = time.Millisecond

// NamePrefix starts the name of every namespace this package makes: mtcp-dut-<pid>-<n>.
const NamePrefix = "mtcp-dut-"

// Target makes Linux DUTs: a fresh namespace for each.
type Target struct{}

// Name returns "linux".
func (Target) Name() string { return "linux" }

// NewDUT makes a DUT in a new namespace (see New).
func (Target) NewDUT() (harness.DUT, error) {
	d, err := New()
	if err != nil {
		return nil, err
	}
	return d, nil
}

// DUT is the kernel of one namespace behind a TAP device. The bench's calls (DUT, Sockets and
// the other interfaces) come from one goroutine; Release may come from any.
//
// A DUT holds a namespace, an OS thread and descriptors: whoever made it destroys it when the
// case ends (harness.Destroyer: Destroy, or Release for the error). Should a DUT become
// unreachable undestroyed, a cleanup releases it, and ReleaseAll releases every DUT still
// alive, for a command that ends; neither replaces Destroy.
type DUT struct {
	*state
}

// state is a DUT's resources: everything but the DUT itself, so that a cleanup can release
// them once the DUT is unreachable.
type state struct {
	ns     string // the namespace's name in /run/netns
	ipPath string
	nsMade bool
	thread *nsThread
	tap    *os.File
	raw    syscall.RawConn // tap's descriptor, for reads and writes under qmu
	index  int             // the TAP device's interface index in the namespace

	stop       chan struct{} // closed by Release: wakes a waiting Advance or Deliver
	reading    bool          // the reader goroutine was started
	readerDone chan struct{} // closed when it returns

	// qmu guards queue and readErr, shared with the reader goroutine, and makes each read of
	// the device and the queueing of what it read one step.
	qmu   sync.Mutex
	queue []sent
	// readErr is the error that stopped the reader, if not Release.
	readErr error
	buf     []byte // Deliver's read buffer, under qmu

	mu      sync.Mutex // guards what follows against Release
	closed  bool
	out     func([]byte)
	started bool
	t0, w0  time.Time // virtual t0 is wall time w0
	last    time.Time // the latest virtual instant seen
	maxLag  time.Duration
	fds     map[int]*sock

	releaseOnce sync.Once
	releaseErr  error
}

// sent is a frame the kernel sent, with the wall time it is due at: when the reader read it,
// or the instant of the delivery it answers.
type sent struct {
	at    time.Time
	frame []byte
}

var (
	_ harness.DUT         = (*DUT)(nil)
	_ harness.Sockets     = (*DUT)(nil)
	_ harness.Tunable     = (*DUT)(nil)
	_ harness.ConnTable   = (*DUT)(nil)
	_ harness.DropCounter = (*DUT)(nil)
	_ harness.Counters    = (*DUT)(nil)
	_ harness.Destroyer   = (*DUT)(nil)
)

var counter atomic.Uint64

// testHookNew, if set, runs at the end of New with the namespace's name; its error fails New,
// for the test that a failing New removes what it made.
var testHookNew func(ns string) error

// live are the states of the DUTs made and not yet released, for ReleaseAll.
var live = struct {
	sync.Mutex
	m map[*state]bool
}{m: map[*state]bool{}}

// ReleaseAll releases every DUT not yet released, for a command that ends.
func ReleaseAll() error {
	live.Lock()
	all := make([]*state, 0, len(live.m))
	for s := range live.m {
		all = append(all, s)
	}
	live.Unlock()
	var errs []error
	for _, s := range all {
		errs = append(errs, s.Release())
	}
	return errors.Join(errs...)
}

// New makes a namespace, sets up its network at the bench's defaults and starts reading the
// TAP device. It needs root and the ip command; whatever it made is removed if it fails.
func New() (*DUT, error) {
	s, err := newState()
	if err != nil {
		return nil, err
	}
	d := &DUT{s}
	runtime.AddCleanup(d, func(s *state) { _ = s.Release() }, s)
	return d, nil
}

func newState() (d *state, err error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("linuxdut: the linux target needs root (it creates a network namespace and a TAP device)")
	}
	ip, err := lookIP()
	if err != nil {
		return nil, fmt.Errorf("linuxdut: the linux target needs the ip command (iproute2): %w", err)
	}
	d = &state{
		ns:         fmt.Sprintf("%s%d-%d", NamePrefix, os.Getpid(), counter.Add(1)),
		ipPath:     ip,
		stop:       make(chan struct{}),
		readerDone: make(chan struct{}),
		fds:        map[int]*sock{},
	}
	if out, err := exec.Command(ip, "netns", "add", d.ns).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("linuxdut: ip netns add %s: %v: %s", d.ns, err, strings.TrimSpace(string(out)))
	}
	d.nsMade = true
	live.Lock()
	live.m[d] = true
	live.Unlock()
	defer func() {
		if err != nil {
			if rerr := d.Release(); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
	}()
	if d.thread, err = startThread(d.ns); err != nil {
		return d, err
	}
	var dev device
	err = d.thread.do(func() error {
		var err error
		dev, err = setup(harness.DefaultStackMAC, harness.DefaultStackAddr, harness.DefaultGateway)
		return err
	})
	if err != nil {
		return d, err
	}
	d.index = dev.index
	// The descriptor is nonblocking, so os.NewFile puts it in the runtime's poller: a read
	// parks the reader goroutine, and closing it wakes the goroutine.
	d.tap = os.NewFile(uintptr(dev.fd), "/dev/net/tun ("+TapName+" in "+d.ns+")")
	if d.raw, err = d.tap.SyscallConn(); err != nil {
		return d, fmt.Errorf("linuxdut: the TAP device's descriptor: %w", err)
	}
	d.buf = make([]byte, readBufSize)
	d.reading = true
	go d.read()
	if testHookNew != nil {
		if err := testHookNew(d.ns); err != nil {
			return d, err
		}
	}
	return d, nil
}

// Namespace returns the name of the DUT's namespace (an entry of /run/netns until Release).
func (d *state) Namespace() string { return d.ns }

// Name returns "linux".
func (d *state) Name() string { return "linux" }

// MAC returns the TAP device's MAC, harness.DefaultStackMAC.
func (d *state) MAC() net.HardwareAddr { return harness.DefaultStackMAC }

// Addr returns the TAP device's address, harness.DefaultStackAddr.
func (d *state) Addr() netip.Prefix { return harness.DefaultStackAddr }

// SetOutput sets where the frames the kernel sends go.
func (d *state) SetOutput(out func(frame []byte)) {
	d.mu.Lock()
	d.out = out
	d.mu.Unlock()
}

// Deliver waits until now has come on the wall clock and writes frame to the TAP device: the
// kernel receives it. A frame the device refuses (shorter than an Ethernet header) is lost, as
// on a wire.
//
// The kernel handles a frame written to a TAP device before the write returns, and queues on
// the device what it sends in reply (an ARP reply, a SYN-ACK, an ACK, the packets an ARP reply
// releases). Deliver reads those at once and hands them over with everything else read so far,
// at now, as a stack on the bench's clock would.
func (d *state) Deliver(now time.Time, frame []byte) {
	d.waitFor(now)
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	cutoff, out := d.wallOf(now), d.out
	d.qmu.Lock()
	// Control, not Read: the reader goroutine holds the descriptor's read lock while it waits.
	_ = d.raw.Control(func(fd uintptr) {
		if _, err := unix.Write(int(fd), frame); err == nil {
			d.drain(int(fd), cutoff)
		}
	})
	d.handOver(out)
}

// flush hands over, at the current instant, what the kernel sent during a socket call (it
// sends synchronously: connect's SYN, write's data, close's FIN) with everything read so far,
// as a stack on the bench's clock would.
func (d *state) flush() {
	d.mu.Lock()
	if d.closed || !d.started {
		d.mu.Unlock()
		return
	}
	cutoff, out := d.wallOf(d.last), d.out
	d.qmu.Lock()
	_ = d.raw.Control(func(fd uintptr) { d.drain(int(fd), cutoff) })
	d.handOver(out)
}

// drain reads what the device holds, due at the wall time at; d.qmu held.
func (d *state) drain(fd int, at time.Time) {
	for {
		n, err := unix.Read(fd, d.buf)
		if err != nil {
			return
		}
		d.queue = append(d.queue, sent{at: at, frame: append([]byte(nil), d.buf[:n]...)})
	}
}

// handOver gives out every frame read so far (none if out is nil); it is called with d.mu and
// d.qmu held, and releases them before calling out.
func (d *state) handOver(out func([]byte)) {
	var due []sent
	if out != nil {
		due, d.queue = d.queue, nil
	}
	d.qmu.Unlock()
	d.mu.Unlock()
	for _, s := range due {
		out(s.frame)
	}
}

// Advance waits until now has come on the wall clock and hands over, on the calling goroutine,
// what the kernel sent by then: the frames read by the wall time of now.
func (d *state) Advance(now time.Time) {
	d.waitFor(now)
	d.mu.Lock()
	if d.closed || d.out == nil {
		d.mu.Unlock()
		return
	}
	out, cutoff := d.out, d.wallOf(now)
	d.mu.Unlock()
	d.qmu.Lock()
	n := 0
	for n < len(d.queue) && !d.queue[n].at.After(cutoff) {
		n++
	}
	due := d.queue[:n:n]
	d.queue = d.queue[n:]
	d.qmu.Unlock()
	for _, s := range due {
		out(s.frame)
	}
}

// NextDeadline asks to be woken PollInterval after the last instant: the bench polls the
// kernel. Before the clock starts and after Release there is nothing to wake.
func (d *state) NextDeadline() (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || !d.started {
		return time.Time{}, false
	}
	return d.last.Add(PollInterval), true
}

// waitFor pins the clocks at the first call, then sleeps until the wall time of now (at
// once after Release).
func (d *state) waitFor(now time.Time) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	if !d.started {
		d.started, d.t0, d.w0, d.last = true, now, time.Now(), now
	}
	if now.After(d.last) {
		d.last = now
	}
	wake := d.wallOf(now)
	d.mu.Unlock()
	if wait := time.Until(wake); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-d.stop:
			t.Stop()
			return
		}
	}
	if lag := time.Since(wake); lag > 0 {
		d.mu.Lock()
		d.maxLag = max(d.maxLag, lag)
		d.mu.Unlock()
	}
}

// MaxLag returns how late, at worst, the bench came to an instant: how long after the wall
// time of a virtual instant an Advance or Deliver for it went on. Frames the kernel sends are
// stamped up to this much late (or, answering a delivery, the delivery was that late); a lag
// beyond the scripts' tolerance (4 ms by default) makes a run's timing unreliable.
func (d *state) MaxLag() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.maxLag
}

// wallOf is the wall time of virtual instant now; d.mu held, clock started.
func (d *state) wallOf(now time.Time) time.Time { return d.w0.Add(now.Sub(d.t0)) }

// readBufSize holds any frame the TAP device gives (without GSO, at most the MTU and the
// Ethernet header).
const readBufSize = 1 << 16

// read queues every frame the kernel sends, stamped with the wall time it was read, until
// the device is closed.
func (d *state) read() {
	defer close(d.readerDone)
	buf := make([]byte, readBufSize)
	for {
		var rerr error
		err := d.raw.Read(func(fd uintptr) bool {
			d.qmu.Lock()
			defer d.qmu.Unlock()
			n, err := unix.Read(int(fd), buf)
			switch {
			case err == unix.EAGAIN:
				return false // wait until the device is readable
			case err == unix.EINTR:
				return true
			case err != nil:
				rerr = err
				return true
			}
			d.queue = append(d.queue, sent{at: time.Now(), frame: append([]byte(nil), buf[:n]...)})
			return true
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			d.mu.Lock()
			closed := d.closed
			d.mu.Unlock()
			if !closed && !errors.Is(err, os.ErrClosed) {
				d.qmu.Lock()
				d.readErr = err
				d.qmu.Unlock()
			}
			return
		}
	}
}

// Err returns the error that stopped reading the TAP device, if any (nil while it reads, and
// after Release).
func (d *state) Err() error {
	d.qmu.Lock()
	defer d.qmu.Unlock()
	return d.readErr
}

// Destroy is Release for harness.Destroyer, which has no error to return: script.Run and the
// conformance suite destroy the DUTs they make when the case ends.
func (d *state) Destroy() { _ = d.Release() }

// Release closes the sockets and the TAP device, ends the namespace's thread and deletes the
// namespace, which takes every sysctl the case set with it. It may be called more than once,
// and from any goroutine: a bench still running then sees a DUT that sends nothing and waits
// for nothing.
func (d *state) Release() error {
	d.releaseOnce.Do(func() {
		close(d.stop)
		d.mu.Lock()
		d.closed = true
		fds := d.fds
		d.fds = nil
		d.mu.Unlock()
		var errs []error
		for _, s := range fds {
			// No lingering close here: the case is over, and the namespace goes.
			_ = unix.SetsockoptLinger(s.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{})
			_ = unix.Close(s.fd)
		}
		if d.tap != nil {
			if err := d.tap.Close(); err != nil {
				errs = append(errs, fmt.Errorf("linuxdut: closing the TAP device: %w", err))
			}
			if d.reading {
				<-d.readerDone
			}
		}
		if d.thread != nil {
			d.thread.stop()
		}
		if d.nsMade {
			if out, err := exec.Command(d.ipPath, "netns", "del", d.ns).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("linuxdut: ip netns del %s: %v: %s", d.ns, err, strings.TrimSpace(string(out))))
			} else if _, err := os.Lstat(filepath.Join(netns.RunDir, d.ns)); err == nil {
				errs = append(errs, fmt.Errorf("linuxdut: %s is still in %s after ip netns del", d.ns, netns.RunDir))
			}
		}
		live.Lock()
		delete(live.m, d)
		live.Unlock()
		d.releaseErr = errors.Join(errs...)
	})
	return d.releaseErr
}

// lookIP finds ip on PATH or in the usual sbin directories, which are often not on PATH.
func lookIP() (string, error) {
	path, err := exec.LookPath("ip")
	if err == nil {
		return path, nil
	}
	for _, p := range []string{"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"} {
		if fi, serr := os.Stat(p); serr == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", err
}

// ReapOrphans deletes the namespaces this package made in processes that no longer run
// (mtcp-dut-<pid>-<n> in /run/netns whose pid is gone), which a process killed before it
// released its DUTs leaves behind, and returns their names. It touches no other namespace.
func ReapOrphans() ([]string, error) {
	return reap(func(pid int) bool { return unix.Kill(pid, 0) == unix.ESRCH })
}

// reap deletes this package's namespaces whose pid dead says is dead.
func reap(dead func(pid int) bool) ([]string, error) {
	ip, err := lookIP()
	if err != nil {
		return nil, fmt.Errorf("linuxdut: reaping namespaces needs the ip command (iproute2): %w", err)
	}
	entries, err := os.ReadDir(netns.RunDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("linuxdut: %w", err)
	}
	var reaped []string
	var errs []error
	for _, e := range entries {
		pid, ok := pidOf(e.Name())
		if !ok || pid == os.Getpid() || !dead(pid) {
			continue
		}
		if out, err := exec.Command(ip, "netns", "del", e.Name()).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("linuxdut: ip netns del %s: %v: %s", e.Name(), err, strings.TrimSpace(string(out))))
			continue
		}
		reaped = append(reaped, e.Name())
	}
	return reaped, errors.Join(errs...)
}

// pidOf reads the pid in a name this package makes, mtcp-dut-<pid>-<n>.
func pidOf(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, NamePrefix)
	if !ok {
		return 0, false
	}
	p, n, ok := strings.Cut(rest, "-")
	pid, err1 := strconv.Atoi(p)
	_, err2 := strconv.ParseUint(n, 10, 64)
	if !ok || err1 != nil || err2 != nil || pid <= 0 || strconv.Itoa(pid) != p {
		return 0, false
	}
	return pid, true
}

// RealTime reports that the kernel runs on the real clock: the bench bounds a case's time
// (harness.WithTimeLimit).
func (d *state) RealTime() bool { return true }
