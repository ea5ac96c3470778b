//go:build linux

package tap

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/songgao/water"
	"golang.org/x/sys/unix"

	"github.com/mtcp-go/mtcp/internal/netns"
	"github.com/mtcp-go/mtcp/stack/link"
)

// vlanTagLen leaves room in the read buffer to notice, and drop, a frame carrying a VLAN tag.
const vlanTagLen = 4

// Endpoint is a link.Endpoint over a TAP device. It is safe for concurrent use. The device
// disappears when the Endpoint is closed.
type Endpoint struct {
	name string
	mtu  int
	// dev is an *os.File underneath. water opens /dev/net/tun with O_NONBLOCK, so os.NewFile
	// registers it with the Go poller: a blocked Read parks there and Close wakes it up.
	dev *water.Interface

	receiver atomic.Pointer[receiverBox]
	counters counters

	mu         sync.Mutex // guards closed against reader start
	closed     atomic.Bool
	started    bool
	readerDone chan struct{}
	readErr    atomic.Pointer[error]
}

var _ link.Endpoint = (*Endpoint)(nil)

type receiverBox struct{ r link.Receiver }

// Open creates and configures the TAP device cfg describes: it checks cfg, refuses unless the
// process is inside the named namespace cfg.NetNS (any named namespace if empty), creates the
// device, disables IPv6 on it, sets its MTU, gives it cfg.HostAddr if set and brings it up.
// Frames are read once a receiver is attached.
func Open(cfg Config) (*Endpoint, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// Check and create on the same thread: a device is created in the calling thread's
	// namespace, and netns.Require checks this thread as well as the process.
	runtime.LockOSThread()
	dev, err := create(cfg)
	runtime.UnlockOSThread()
	if err != nil {
		return nil, err
	}
	if err := configure(cfg); err != nil {
		dev.Close()
		return nil, fmt.Errorf("tap: configuring %s: %w", cfg.Name, err)
	}
	return &Endpoint{
		name:       cfg.Name,
		mtu:        cfg.MTU,
		dev:        dev,
		readerDone: make(chan struct{}),
	}, nil
}

func create(cfg Config) (*water.Interface, error) {
	if err := netns.Require(cfg.NetNS); err != nil {
		return nil, fmt.Errorf("tap: refusing to create %s: %w", cfg.Name, err)
	}
	dev, err := water.New(water.Config{
		DeviceType:             water.TAP,
		PlatformSpecificParams: water.PlatformSpecificParams{Name: cfg.Name},
	})
	if err != nil {
		return nil, fmt.Errorf("tap: creating %s: %w", cfg.Name, err)
	}
	if dev.Name() != cfg.Name {
		dev.Close()
		return nil, fmt.Errorf("tap: asked for device %s, the kernel created %s", cfg.Name, dev.Name())
	}
	return dev, nil
}

// configure sets up the device with ioctls on an AF_INET socket.
func configure(cfg Config) error {
	sysctl := "/proc/sys/net/ipv6/conf/" + cfg.Name + "/disable_ipv6"
	if err := os.WriteFile(sysctl, []byte("1"), 0); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("disabling IPv6: %w", err)
	}

	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(cfg.Name)
	if err != nil {
		return err
	}

	ifr.SetUint32(uint32(cfg.MTU))
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFMTU, ifr); err != nil {
		return fmt.Errorf("setting MTU %d: %w", cfg.MTU, err)
	}

	if cfg.HostAddr.IsValid() {
		addr := cfg.HostAddr.Addr().As4()
		if err := ifr.SetInet4Addr(addr[:]); err != nil {
			return err
		}
		if err := unix.IoctlIfreq(fd, unix.SIOCSIFADDR, ifr); err != nil {
			return fmt.Errorf("setting address %v: %w", cfg.HostAddr.Addr(), err)
		}
		if err := ifr.SetInet4Addr(net.CIDRMask(cfg.HostAddr.Bits(), 32)); err != nil {
			return err
		}
		if err := unix.IoctlIfreq(fd, unix.SIOCSIFNETMASK, ifr); err != nil {
			return fmt.Errorf("setting netmask /%d: %w", cfg.HostAddr.Bits(), err)
		}
	}

	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("reading flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing the link up: %w", err)
	}
	return nil
}

// Name returns the device name.
func (e *Endpoint) Name() string { return e.name }

// MTU returns the device MTU.
func (e *Endpoint) MTU() int { return e.mtu }

// WriteFrame writes one frame to the device. It returns link.ErrClosed after Close and an error
// wrapping link.ErrFrameSize for a bad size.
func (e *Endpoint) WriteFrame(frame []byte) error {
	if e.closed.Load() {
		return link.ErrClosed
	}
	if err := link.CheckFrameSize(len(frame), e.mtu); err != nil {
		return err
	}
	if _, err := e.dev.Write(frame); err != nil {
		if errors.Is(err, os.ErrClosed) {
			return link.ErrClosed
		}
		e.counters.writeErrors.Add(1)
		return fmt.Errorf("tap: writing to %s: %w", e.name, err)
	}
	e.counters.framesOut.Add(1)
	return nil
}

// Attach sets the receiver of the frames read from the device; nil detaches it (frames are then
// read and dropped). The first Attach starts the reader goroutine, which delivers one frame at a
// time from a buffer it reuses.
func (e *Endpoint) Attach(r link.Receiver) {
	if r == nil {
		e.receiver.Store(nil)
	} else {
		e.receiver.Store(&receiverBox{r})
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.started && !e.closed.Load() {
		e.started = true
		go e.read()
	}
}

// Close closes the device, which removes it, and waits for the reader goroutine to return. It
// must not be called from inside the receiver's DeliverFrame, which runs on that goroutine.
// Calls after the first return nil.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	if e.closed.Load() {
		e.mu.Unlock()
		return nil
	}
	e.closed.Store(true)
	started := e.started
	e.mu.Unlock()

	err := e.dev.Close()
	if started {
		<-e.readerDone
	}
	if err != nil {
		return fmt.Errorf("tap: closing %s: %w", e.name, err)
	}
	return nil
}

// Stats returns the endpoint's counters.
func (e *Endpoint) Stats() Stats { return e.counters.stats() }

// Err returns the read error that stopped the reader goroutine, or nil.
func (e *Endpoint) Err() error {
	if p := e.readErr.Load(); p != nil {
		return *p
	}
	return nil
}

// read delivers frames until the device is closed or fails.
func (e *Endpoint) read() {
	defer close(e.readerDone)
	buf := make([]byte, e.mtu+link.EthernetHeaderLen+vlanTagLen)
	for {
		n, err := e.dev.Read(buf)
		if err != nil {
			if e.closed.Load() || errors.Is(err, os.ErrClosed) {
				return
			}
			// EINTR and EAGAIN never get here (the runtime retries them), so the
			// device is gone or broken: stop rather than spin.
			e.counters.readErrors.Add(1)
			err = fmt.Errorf("tap: reading from %s: %w", e.name, err)
			e.readErr.Store(&err)
			return
		}
		if link.CheckFrameSize(n, e.mtu) != nil {
			e.counters.dropped.Add(1)
			continue
		}
		box := e.receiver.Load()
		if box == nil {
			e.counters.dropped.Add(1)
			continue
		}
		box.r.DeliverFrame(buf[:n])
		e.counters.framesIn.Add(1)
	}
}
