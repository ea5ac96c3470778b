//go:build linux

package linuxdut

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/mtcp-go/mtcp/internal/netns"
)

const (
	threadSelfNS = "/proc/thread-self/ns/net"
	processNS    = "/proc/self/ns/net" // the thread-group leader's: the process's namespace
	initNS       = "/proc/1/ns/net"
)

// nsThread is an OS thread inside the namespace /run/netns/<name>, serving the calls that
// depend on the caller's namespace. Its goroutine locks the thread and never unlocks it: when
// the goroutine returns, the runtime ends the thread instead of reusing it elsewhere.
type nsThread struct {
	name string
	reqs chan func()
	done chan struct{}

	mu      sync.RWMutex // guards stopped against sends on reqs
	stopped bool
}

var errThreadStopped = errors.New("linuxdut: the DUT was released")

// startThread starts the thread and moves it into the namespace. It fails, and the thread ends,
// if the move cannot be verified.
func startThread(name string) (*nsThread, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	t := &nsThread{name: name, reqs: make(chan func()), done: make(chan struct{})}
	entered := make(chan error, 1)
	go t.run(entered, nil)
	if err := <-entered; err != nil {
		<-t.done
		return nil, err
	}
	return t, nil
}

// run is the thread's goroutine: it locks its thread, enters the namespace, reports on
// entered, then serves requests until stop. held, if not nil, is closed once the thread is
// locked.
func (t *nsThread) run(entered chan<- error, held chan<- struct{}) {
	runtime.LockOSThread() // never unlocked but on the main thread: see nsThread
	if held != nil {
		close(held)
	}
	if unix.Gettid() == unix.Getpid() {
		// The process's main thread, whose namespace is the process's (/proc/self/ns/net) and
		// which the runtime never ends: hand over to a goroutine on another thread (it cannot
		// get this one while it is held), then give this one back untouched.
		next := make(chan struct{})
		go t.run(entered, next)
		<-next
		runtime.UnlockOSThread()
		return
	}
	defer close(t.done)
	if err := enter(t.name); err != nil {
		entered <- err
		return
	}
	entered <- nil
	for f := range t.reqs {
		f()
	}
}

// enter moves the calling (locked) thread into /run/netns/<name> and checks that it got there.
func enter(name string) error {
	path := filepath.Join(netns.RunDir, name)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("linuxdut: opening %s: %w", path, err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("linuxdut: entering the namespace %s: %w", name, err)
	}
	return checkThread(name)
}

// checkThread returns nil only if the calling thread is inside /run/netns/<name>, a namespace
// that is neither the process's own nor PID 1's (the root namespace). Everything that creates
// or configures a device, writes a sysctl or makes a socket runs after it, on the same locked
// thread.
func checkThread(name string) error {
	if err := validName(name); err != nil {
		return err
	}
	path := filepath.Join(netns.RunDir, name)
	want, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%w: %v", netns.ErrNotInNamespace, err)
	}
	self, err := os.Stat(threadSelfNS)
	if err != nil {
		return fmt.Errorf("%w: reading the thread's namespace: %v", netns.ErrNotInNamespace, err)
	}
	if !os.SameFile(self, want) {
		return fmt.Errorf("%w: the thread (%s) is not inside %s; refusing to touch a device or sysctl",
			netns.ErrNotInNamespace, threadSelfNS, path)
	}
	if proc, err := os.Stat(processNS); err == nil && os.SameFile(self, proc) {
		return fmt.Errorf("%w: %s is the process's own namespace, not one made for the DUT; refusing",
			netns.ErrNotInNamespace, path)
	}
	if init, err := os.Stat(initNS); err == nil && os.SameFile(self, init) {
		return fmt.Errorf("%w: %s is the root namespace (PID 1's); refusing", netns.ErrNotInNamespace, path)
	}
	return nil
}

// validName accepts the names this package makes, and refuses anything that could name
// another path.
func validName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("linuxdut: invalid namespace name %q", name)
	}
	return nil
}

// do runs f on the thread, after checking again that the thread is inside the namespace.
func (t *nsThread) do(f func() error) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.stopped {
		return errThreadStopped
	}
	res := make(chan error, 1)
	t.reqs <- func() {
		if err := checkThread(t.name); err != nil {
			res <- err
			return
		}
		res <- f()
	}
	return <-res
}

// stop ends the thread; calls after it fail. It may be called twice.
func (t *nsThread) stop() {
	t.mu.Lock()
	if !t.stopped {
		t.stopped = true
		close(t.reqs)
	}
	t.mu.Unlock()
	<-t.done
}
