package script

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/mtcp-go/mtcp/harness/linuxabi"
)

// The data calls, poll and epoll, as packetdrill runs them against a kernel: a call on a
// blocking socket waits (in virtual time) until it can complete, one on a non-blocking socket
// or with MSG_DONTWAIT fails with EAGAIN, and poll and epoll_wait wait up to their timeout.

// attemptFunc makes one non-blocking try of a call; done is false while it must wait.
type attemptFunc = func() (res int64, errno linuxabi.Errno, done bool)

// flagsOf is the flags argument of a send or receive call (0 for read, write, readv, writev).
func flagsOf(sc *Syscall) int64 {
	switch sc.Name {
	case "send", "recv", "sendto", "recvfrom", "sendmsg", "recvmsg":
		var x Expr
		switch sc.Name {
		case "sendmsg", "recvmsg":
			x = sc.Args[2]
		default:
			x = sc.Args[3]
		}
		f, _ := evalOK(x)
		return f
	}
	return 0
}

// isNull reports a NULL buffer argument: the call fails with EFAULT, as the kernel's copy
// from or to user memory does.
func isNull(x Expr) bool { return x.Kind == ExprWord && x.Text == "NULL" }

// writer sends a call's byte count: on a blocking socket until all of it is queued, on a
// non-blocking one what fits.
func (r *runner) writer(sc *Syscall) attemptFunc {
	fdArg := sc.Args[0]
	n, _ := byteCount(sc)
	dontwait := flagsOf(sc)&linuxabi.MSG_DONTWAIT != 0
	written := int64(0)
	return func() (int64, linuxabi.Errno, bool) {
		fd := r.fd(fdArg)
		if n > 0 && isNull(sc.Args[1]) {
			return -1, linuxabi.EFAULT, true
		}
		nb := r.nonblock[fd] || dontwait
		for written < n {
			k, err := r.socks.Write(fd, zeros[:min(n-written, int64(len(zeros)))])
			if err != nil {
				res, e := errnoResult(err)
				switch {
				case written > 0 && (wouldBlock(e) && nb || !wouldBlock(e)):
					return written, 0, true
				case wouldBlock(e) && !nb:
					return 0, 0, false
				}
				return res, e, true
			}
			written += int64(k)
			if nb && int64(k) < min(n-written+int64(k), int64(len(zeros))) {
				break // the send buffer is full: a non-blocking write takes what fit
			}
		}
		return written, 0, true
	}
}

// reader receives up to a call's byte count, with its flags: MSG_PEEK and MSG_TRUNC go to the
// target; MSG_WAITALL waits for the whole count (or the end of the stream, or an error) on a
// blocking socket; MSG_DONTWAIT makes this call non-blocking.
func (r *runner) reader(sc *Syscall) attemptFunc {
	fdArg := sc.Args[0]
	n, _ := byteCount(sc)
	flags := flagsOf(sc)
	waitall := flags&linuxabi.MSG_WAITALL != 0 && flags&linuxabi.MSG_PEEK == 0
	got := int64(0)
	return func() (int64, linuxabi.Errno, bool) {
		fd := r.fd(fdArg)
		if n > 0 && isNull(sc.Args[1]) {
			return -1, linuxabi.EFAULT, true
		}
		nb := r.nonblock[fd] || flags&linuxabi.MSG_DONTWAIT != 0
		for {
			buf := readBuf[:min(n-got, int64(len(readBuf)))]
			if flags&linuxabi.MSG_PEEK != 0 {
				buf = r.peekBuffer(fd, n)
			}
			k, err := r.socks.Recv(fd, buf, int(flags&(linuxabi.MSG_PEEK|linuxabi.MSG_TRUNC)))
			if err != nil {
				res, e := errnoResult(err)
				switch {
				case wouldBlock(e) && !nb && (got == 0 || waitall):
					return 0, 0, false
				case got > 0: // what came before the error; the error is for the next call
					return got, 0, true
				}
				return res, e, true
			}
			got += int64(k)
			switch {
			case k == 0 || got >= n || flags&linuxabi.MSG_PEEK != 0:
				return got, 0, true
			case k == len(buf): // a whole chunk: one read takes all that is there
			case !waitall || nb:
				return got, 0, true
			}
		}
	}
}

// peekBuffer is a buffer for a MSG_PEEK of up to n bytes: as large as what is there to
// read, which one peek must show at once.
func (r *runner) peekBuffer(fd int, n int64) []byte {
	unread, err := r.socks.Ioctl(fd, linuxabi.SIOCINQ)
	size := min(n, int64(max(unread, 1)))
	if err != nil || size <= int64(len(readBuf)) {
		return readBuf[:min(size, int64(len(readBuf)))]
	}
	return make([]byte, size)
}

// waitUntil makes the blocked call wake at script time t (a poll or epoll_wait timeout).
func (r *runner) waitUntil(t time.Duration) {
	if c := r.trying; c != nil {
		c.wake = t
	}
}

// timeoutOf reads a poll or epoll_wait timeout in milliseconds: a negative one, or one past
// an int's range, is forever.
func timeoutOf(x Expr) (time.Duration, bool) {
	ms, _ := evalOK(x)
	if ms < 0 || ms > math.MaxInt32 {
		return 0, false
	}
	return time.Duration(ms) * time.Millisecond, true
}

// pollfd is one element of poll's array.
type pollfd struct {
	fd              Expr
	events, revents int64
	hasRevents      bool
}

// poll waits until one of its first nfds descriptors has an event it asks for (or POLLERR,
// POLLHUP, POLLNVAL, which need not be asked) or its timeout passes, and checks the revents
// the script expects. A negative descriptor is left out, as poll(2) does.
func (r *runner) pollCall(sc *Syscall) attemptFunc {
	var fds []pollfd
	elems := sc.Args[0].Elems
	if nfds, ok := evalOK(sc.Args[1]); ok && nfds >= 0 && nfds < int64(len(elems)) {
		elems = elems[:nfds]
	}
	for _, el := range elems {
		var p pollfd
		if v, ok := field(el, "fd"); ok {
			p.fd = v
		}
		if v, ok := field(el, "events"); ok {
			p.events, _ = evalOK(v)
		}
		if v, ok := field(el, "revents"); ok {
			p.revents, p.hasRevents = evalOK(v)
		}
		fds = append(fds, p)
	}
	timeout, bounded := timeoutOf(sc.Args[2])
	start := time.Duration(-1)
	return func() (int64, linuxabi.Errno, bool) {
		now := r.b.Elapsed()
		if start < 0 {
			start = now
		}
		ready := int64(0)
		got := make([]int64, len(fds))
		for i, p := range fds {
			if v, _ := evalOK(p.fd); v < 0 {
				continue
			}
			ev, err := r.socks.Poll(r.fd(p.fd))
			if err != nil {
				ev = linuxabi.POLLNVAL
			}
			got[i] = int64(ev) & (p.events | linuxabi.POLLERR | linuxabi.POLLHUP | linuxabi.POLLNVAL)
			if got[i] != 0 {
				ready++
			}
		}
		if ready == 0 && (!bounded || now < start+timeout) {
			if bounded {
				r.waitUntil(start + timeout)
			}
			return 0, 0, false
		}
		for i, p := range fds {
			if p.hasRevents && got[i] != p.revents {
				r.failWith(fmt.Sprintf("revents %s", pollNames(p.revents)), fmt.Sprintf("revents %s", pollNames(got[i])),
					"poll() gave revents %s for fd %s, expected %s", pollNames(got[i]), exprText(p.fd), pollNames(p.revents))
			}
		}
		return ready, 0, true
	}
}

// pollNames renders poll events as the script writes them.
func pollNames(ev int64) string {
	if ev == 0 {
		return "0"
	}
	s := ""
	for _, n := range []string{"POLLIN", "POLLPRI", "POLLOUT", "POLLERR", "POLLHUP", "POLLNVAL", "POLLRDNORM", "POLLWRNORM", "POLLRDHUP"} {
		if v, _ := linuxabi.Constant(n); ev&v != 0 {
			if s != "" {
				s += "|"
			}
			s += n
			ev &^= v
		}
	}
	if ev != 0 {
		s += fmt.Sprintf("|%#x", ev)
	}
	return s
}

// epoll instances are descriptors of the runner's own, from epollBase, far above the
// target's.
const epollBase = 1 << 20

// epollEntry is a descriptor registered with an epoll instance.
type epollEntry struct {
	events   int64
	disabled bool // EPOLLONESHOT, after it was reported, until EPOLL_CTL_MOD
}

// epollCtl registers, changes or removes a descriptor: epoll_ctl(EPFD, OP, FD, {events=E, fd=N}).
func (r *runner) epollCtl(a []Expr) (int64, linuxabi.Errno) {
	epfd, fd := r.fd(a[0]), r.fd(a[2])
	set, ok := r.epolls[epfd]
	switch {
	case !ok:
		return r.notEpoll(epfd)
	case fd == epfd:
		return -1, linuxabi.EINVAL
	}
	if _, err := r.socks.Poll(fd); err != nil {
		return errnoResult(err)
	}
	op, _ := evalOK(a[1])
	ev := int64(0)
	if v, ok := field(a[3], "events"); ok {
		ev, _ = evalOK(v)
	}
	_, exists := set[fd]
	switch {
	case op == linuxabi.EPOLL_CTL_ADD && exists:
		return -1, linuxabi.EEXIST
	case op != linuxabi.EPOLL_CTL_ADD && !exists:
		return -1, linuxabi.ENOENT
	case op == linuxabi.EPOLL_CTL_DEL:
		delete(set, fd)
	default:
		set[fd] = &epollEntry{events: ev}
	}
	return 0, 0
}

// notEpoll is the error of an epoll call on a descriptor that is no epoll instance: EINVAL for
// another open one, EBADF for none, as Linux.
func (r *runner) notEpoll(fd int) (int64, linuxabi.Errno) {
	if _, err := r.socks.Poll(fd); err == nil {
		return -1, linuxabi.EINVAL
	}
	return -1, linuxabi.EBADF
}

// epollWait waits for the registered descriptors as poll does and checks the first event
// against the script's {events=E, fd=N}. Edge-triggered registrations (EPOLLET) are reported
// as level-triggered ones; EPOLLONESHOT disables a descriptor once reported.
func (r *runner) epollWait(sc *Syscall) attemptFunc {
	a := sc.Args
	timeout, bounded := timeoutOf(a[3])
	maxEvents, _ := evalOK(a[2])
	start := time.Duration(-1)
	return func() (int64, linuxabi.Errno, bool) {
		set, ok := r.epolls[r.fd(a[0])]
		switch {
		case !ok:
			res, e := r.notEpoll(r.fd(a[0]))
			return res, e, true
		case maxEvents <= 0:
			return -1, linuxabi.EINVAL, true
		}
		now := r.b.Elapsed()
		if start < 0 {
			start = now
		}
		type event struct {
			fd int
			ev int64
		}
		var ready []event
		for _, fd := range slices.Sorted(maps.Keys(set)) {
			e := set[fd]
			if e.disabled {
				continue
			}
			ev, err := r.socks.Poll(fd)
			if err != nil {
				continue
			}
			if got := int64(ev) & (e.events | linuxabi.EPOLLERR | linuxabi.EPOLLHUP); got != 0 {
				ready = append(ready, event{fd, got})
			}
		}
		if len(ready) == 0 && (!bounded || now < start+timeout) {
			if bounded {
				r.waitUntil(start + timeout)
			}
			return 0, 0, false
		}
		ready = ready[:min(int64(len(ready)), maxEvents)]
		if len(ready) > 0 {
			if v, ok := field(a[1], "events"); ok {
				if want, _ := evalOK(v); want != ready[0].ev {
					r.failWith(fmt.Sprintf("events %#x", want), fmt.Sprintf("events %#x", ready[0].ev),
						"epoll_wait() gave events %#x, expected %#x", ready[0].ev, want)
				}
			}
		}
		for _, e := range ready {
			if set[e.fd].events&linuxabi.EPOLLONESHOT != 0 {
				set[e.fd].disabled = true
			}
		}
		return int64(len(ready)), 0, true
	}
}
