package script

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/harness/linuxabi"
)

// The system calls the runner maps onto the target's socket API, with their argument counts
// (-1: checked by the call's own rule).
var syscallArgs = map[string]int{
	"socket": 3, "bind": 3, "listen": 2, "accept": 3, "accept4": 4, "connect": 3,
	"write": 3, "read": 3, "send": 4, "recv": 4, "sendto": 6, "recvfrom": 6, "sendmsg": 3, "recvmsg": 3,
	"writev": 3, "readv": 3, "shutdown": 2, "close": 1, "setsockopt": 5, "getsockopt": 5, "fcntl": -1,
	"poll": 3, "epoll_create": 1, "epoll_create1": 1, "epoll_ctl": 4, "epoll_wait": 4, "ioctl": 3,
}

// symbols are the names scripts use for constants that are not Linux's (linuxabi.Constant
// has those): FreeBSD's TCP options, numbered as the Sockets interface numbers them, and NULL.
var symbols = map[string]int64{
	"TCP_KEEPINIT": harness.TCP_KEEPINIT, "TCP_NOOPT": harness.TCP_NOOPT,
	"NULL": 0,
}

// symbol returns the value of the constant a script names, with Linux's numbering.
func symbol(name string) (int64, bool) {
	if v, ok := symbols[name]; ok {
		return v, true
	}
	return linuxabi.Constant(name)
}

// unsupportedFlags names, per flag, what a script that uses it needs (Error.Feature).
var unsupportedFlags = []struct {
	flag    int64
	feature string
}{
	{linuxabi.MSG_FASTOPEN, FeatureFastOpen},
	{linuxabi.MSG_ZEROCOPY, "zerocopy (MSG_ZEROCOPY)"},
	{linuxabi.MSG_ERRQUEUE, "the socket error queue (MSG_ERRQUEUE)"},
	{linuxabi.MSG_OOB, "urgent data (MSG_OOB)"},
	{linuxabi.MSG_MORE, "corking (MSG_MORE)"},
	{linuxabi.MSG_EOR, "record boundaries (MSG_EOR)"},
}

// optionFeatures names what a socket option the runner does not map stands for.
var optionFeatures = map[[2]int64]string{
	{linuxabi.SOL_TCP, linuxabi.TCP_FASTOPEN}:           FeatureFastOpen,
	{linuxabi.SOL_TCP, linuxabi.TCP_FASTOPEN_CONNECT}:   FeatureFastOpen,
	{linuxabi.SOL_TCP, linuxabi.TCP_FASTOPEN_KEY}:       FeatureFastOpen,
	{linuxabi.SOL_TCP, linuxabi.TCP_FASTOPEN_NO_COOKIE}: FeatureFastOpen,
	{linuxabi.SOL_TCP, linuxabi.TCP_MD5SIG}:             FeatureMD5,
	{linuxabi.SOL_SOCKET, linuxabi.SO_ZEROCOPY}:         "zerocopy (MSG_ZEROCOPY)",
	{linuxabi.SOL_TCP, linuxabi.TCP_ZEROCOPY_RECEIVE}:   "zerocopy (MSG_ZEROCOPY)",
	{linuxabi.SOL_SOCKET, linuxabi.SO_TIMESTAMPING}:     "socket timestamping (SO_TIMESTAMPING)",
}

// checkFailure is a construct Check rejects.
type checkFailure struct{ err *Error }

// Check reports the first construct of s the runner does not support — a system call it does
// not know, a constant it cannot resolve, a flag it cannot honour — so that no script runs
// half-way. Its errors are *Error, located at the offending text.
func Check(s *Script) (err error) {
	defer func() {
		if v := recover(); v != nil {
			c, ok := v.(checkFailure)
			if !ok {
				panic(v)
			}
			err = c.err
		}
	}()
	for i := range s.Events {
		e := &s.Events[i]
		switch {
		case e.Kind == EventSyscall:
			checkSyscall(s, e)
		}
	}
	return nil
}

func (s *Script) failAt(line, col int, format string, args ...any) {
	panic(checkFailure{&Error{File: s.File, Line: line, Col: col, Msg: fmt.Sprintf(format, args...), Text: s.SourceLine(line)}})
}

// needs rejects a well-formed script for what it needs (Error.Feature).
func (s *Script) needs(line, col int, feature string) {
	panic(checkFailure{&Error{File: s.File, Line: line, Col: col, Msg: "unsupported: needs " + feature, Text: s.SourceLine(line), Feature: feature}})
}

func checkSyscall(s *Script, e *Event) {
	sc := e.Syscall
	want, ok := syscallArgs[sc.Name]
	if !ok {
		s.needs(e.Line, nameCol(s, e), "the system call "+sc.Name)
	}
	if want >= 0 && len(sc.Args) != want {
		s.failAt(e.Line, nameCol(s, e), "%s takes %d arguments, found %d", sc.Name, want, len(sc.Args))
	}
	if sc.Name == "fcntl" && (len(sc.Args) < 2 || len(sc.Args) > 3) {
		s.failAt(e.Line, nameCol(s, e), "fcntl takes 2 or 3 arguments, found %d", len(sc.Args))
	}
	for _, a := range sc.Args {
		checkExpr(s, a)
	}
	if sc.Result.Kind != ExprInt && sc.Result.Kind != ExprEllipsis {
		s.failAt(sc.Result.Line, sc.Result.Col, "the result of %s must be an integer", sc.Name)
	}
	if sc.Errno != "" && linuxabi.ErrnoByName(sc.Errno) == 0 {
		s.failAt(e.Line, nameCol(s, e), "unknown errno %s", sc.Errno)
	}
	a := sc.Args
	switch sc.Name {
	case "socket":
		if d, ok := evalOK(a[0]); ok && d == linuxabi.AF_INET6 {
			s.needs(a[0].Line, a[0].Col, FeatureIPv6)
		}
		if t, ok := evalOK(a[1]); ok && t&^(linuxabi.SOCK_NONBLOCK|linuxabi.SOCK_CLOEXEC) != linuxabi.SOCK_STREAM {
			s.needs(a[1].Line, a[1].Col, "sockets other than SOCK_STREAM (TCP)")
		}
	case "send", "sendto", "recv", "recvfrom":
		checkFlags(s, sc.Name, a[3])
	case "sendmsg", "recvmsg":
		checkFlags(s, sc.Name, a[2])
	case "setsockopt", "getsockopt":
		lvl, ok1 := evalOK(a[1])
		name, ok2 := evalOK(a[2])
		if lvl == linuxabi.IPPROTO_TCP {
			lvl = linuxabi.SOL_TCP // the same number: one key for both names
		}
		switch {
		case !ok1 || !ok2:
			s.failAt(a[2].Line, a[2].Col, "%s needs a known level and option name, found %s", sc.Name, exprText(a[2]))
		case sc.Name == "getsockopt" && lvl == linuxabi.SOL_TCP && name == linuxabi.TCP_INFO:
			if a[3].Kind != ExprStruct && a[3].Kind != ExprEllipsis {
				s.failAt(a[3].Line, a[3].Col, "getsockopt(TCP_INFO) takes the fields to check, {tcpi_state=TCP_ESTABLISHED, ...}, or ...")
			}
		case optionFeatures[[2]int64{lvl, name}] != "":
			s.needs(a[2].Line, a[2].Col, optionFeatures[[2]int64{lvl, name}])
		case !knownOption(lvl, name):
			s.needs(a[2].Line, a[2].Col, "the socket option "+exprText(a[2]))
		}
	case "fcntl":
		if c, ok := evalOK(a[1]); !ok || (c != linuxabi.F_GETFL && c != linuxabi.F_SETFL) {
			s.needs(a[1].Line, a[1].Col, "the fcntl command "+exprText(a[1])+" (the runner maps F_GETFL and F_SETFL)")
		}
	case "ioctl":
		if r, ok := evalOK(a[1]); !ok || (r != linuxabi.SIOCINQ && r != linuxabi.SIOCOUTQ && r != linuxabi.SIOCOUTQNSD) {
			s.needs(a[1].Line, a[1].Col, "the ioctl "+exprText(a[1])+" (the runner maps SIOCINQ, FIONREAD, SIOCOUTQ and SIOCOUTQNSD)")
		}
	case "epoll_ctl":
		if op, ok := evalOK(a[1]); !ok || (op != linuxabi.EPOLL_CTL_ADD && op != linuxabi.EPOLL_CTL_MOD && op != linuxabi.EPOLL_CTL_DEL) {
			s.failAt(a[1].Line, a[1].Col, "epoll_ctl needs EPOLL_CTL_ADD, EPOLL_CTL_MOD or EPOLL_CTL_DEL, found %s", exprText(a[1]))
		}
	case "poll":
		if a[0].Kind != ExprArray {
			s.failAt(a[0].Line, a[0].Col, "poll needs an array of pollfd structs, [{fd=N, events=..., revents=...}]")
		}
	}
	switch sc.Name {
	case "recvmsg", "sendmsg":
		if _, ok := field(a[1], "msg_iov"); !ok {
			s.failAt(a[1].Line, a[1].Col, "%s needs a msghdr with msg_iov, {msg_name(...)=..., msg_iov(1)=[{iov_base=..., iov_len=N}], msg_flags=0}", sc.Name)
		}
		checkMsghdr(s, sc.Name, a[1])
	}
	if n, ok := byteCount(sc); !ok || n < 0 || n > 1<<30 {
		x := countArg(sc)
		s.failAt(x.Line, x.Col, "%s needs a byte count from 0 to 2^30, found %s", sc.Name, exprText(x))
	}
}

// checkFlags rejects the flags of a send or receive call that the runner cannot honour.
func checkFlags(s *Script, name string, x Expr) {
	f, ok := evalOK(x)
	if !ok {
		s.failAt(x.Line, x.Col, "%s needs integer flags, found %s", name, exprText(x))
	}
	for _, u := range unsupportedFlags {
		if f&u.flag != 0 {
			s.needs(x.Line, x.Col, u.feature)
		}
	}
	allowed := int64(linuxabi.MSG_DONTWAIT | linuxabi.MSG_NOSIGNAL)
	if strings.HasPrefix(name, "recv") {
		allowed |= linuxabi.MSG_PEEK | linuxabi.MSG_WAITALL | linuxabi.MSG_TRUNC
	}
	if f&^allowed != 0 {
		s.needs(x.Line, x.Col, fmt.Sprintf("the %s flags %#x", name, f&^allowed))
	}
}

// checkMsghdr rejects a msghdr with control messages (ancillary data), which the runner
// does not model.
func checkMsghdr(s *Script, name string, x Expr) {
	for _, f := range x.Elems {
		if f.Kind == ExprAssign && f.Text == "msg_control" && len(f.Elems) == 1 && f.Elems[0].Kind != ExprEllipsis &&
			!(f.Elems[0].Kind == ExprArray && len(f.Elems[0].Elems) == 0) {
			s.needs(f.Line, f.Col, "control messages (msg_control)")
		}
	}
}

// countArg is the argument that says how many bytes a call moves.
func countArg(sc *Syscall) Expr {
	switch sc.Name {
	case "read", "write", "send", "recv", "sendto", "recvfrom":
		return sc.Args[2]
	case "readv", "writev":
		return sc.Args[1]
	case "recvmsg", "sendmsg":
		return sc.Args[1]
	}
	return Expr{}
}

// byteCount is how many bytes a call moves: its count argument, or the sum of its iovec
// lengths ([{iov_base=..., iov_len=N}, ...], alone or as a msghdr's msg_iov). It is true for
// calls that move no bytes.
func byteCount(sc *Syscall) (int64, bool) {
	switch sc.Name {
	case "read", "write", "send", "recv", "sendto", "recvfrom":
		return evalOK(sc.Args[2])
	case "readv", "writev":
		return iovLen(sc.Args[1])
	case "recvmsg", "sendmsg":
		for _, f := range sc.Args[1].Elems {
			if f.Kind == ExprAssign && f.Text == "msg_iov" && len(f.Elems) == 1 {
				return iovLen(f.Elems[0])
			}
		}
		return 0, false
	}
	return 0, true
}

// iovLen sums the iov_len fields of an iovec array.
func iovLen(x Expr) (int64, bool) {
	if x.Kind != ExprArray {
		return 0, false
	}
	var n int64
	for _, v := range x.Elems {
		got := false
		for _, f := range v.Elems {
			if f.Kind == ExprAssign && f.Text == "iov_len" {
				l, ok := evalOK(f)
				if !ok {
					return 0, false
				}
				n, got = n+l, true
			}
		}
		if !got {
			return 0, false
		}
	}
	return n, true
}

// field returns the value of the field name=... of a struct expression.
func field(x Expr, name string) (Expr, bool) {
	for _, f := range x.Elems {
		if f.Kind == ExprAssign && f.Text == name && len(f.Elems) == 1 {
			return f.Elems[0], true
		}
	}
	return Expr{}, false
}

func knownOption(level, name int64) bool {
	switch level {
	case linuxabi.SOL_SOCKET:
		switch name {
		case linuxabi.SO_REUSEADDR, linuxabi.SO_REUSEPORT, linuxabi.SO_KEEPALIVE, linuxabi.SO_SNDBUF, linuxabi.SO_RCVBUF, linuxabi.SO_ERROR, linuxabi.SO_LINGER:
			return true
		}
	case linuxabi.SOL_TCP:
		switch name {
		case linuxabi.TCP_NODELAY, linuxabi.TCP_KEEPIDLE, linuxabi.TCP_KEEPINTVL, linuxabi.TCP_KEEPCNT, harness.TCP_KEEPINIT,
			harness.TCP_NOOPT, linuxabi.TCP_USER_TIMEOUT, linuxabi.TCP_MAXSEG:
			return true
		}
	}
	return false
}

// nameCol is the column of the system call's name on its line.
func nameCol(s *Script, e *Event) int {
	if i := strings.Index(s.SourceLine(e.Line), e.Syscall.Name+"("); i >= 0 {
		return i + 1
	}
	return e.Col
}

// checkExpr rejects a word that is neither a known constant nor an errno name, and a
// function other than htons, htonl and inet_addr.
func checkExpr(s *Script, x Expr) {
	switch x.Kind {
	case ExprWord:
		_, tcpi := tcpiConstant(x)
		if _, ok := symbol(x.Text); !ok && !tcpi && linuxabi.ErrnoByName(x.Text) == 0 {
			s.needs(x.Line, x.Col, "the constant "+x.Text)
		}
	case ExprCall:
		switch x.Text {
		case "htons", "htonl", "inet_addr":
		case "inet6_addr":
			s.needs(x.Line, x.Col, FeatureIPv6)
		default:
			s.needs(x.Line, x.Col, "the function "+x.Text)
		}
	case ExprAssign:
		for _, e := range x.Elems {
			if e.Kind != ExprWord || x.Text != "sa_family" {
				checkExpr(s, e)
			}
		}
		return
	}
	for _, e := range x.Elems {
		checkExpr(s, e)
	}
}

func exprText(x Expr) string {
	switch x.Kind {
	case ExprWord, ExprCall, ExprAssign:
		return x.Text
	case ExprInt:
		return fmt.Sprint(x.Int)
	}
	return "this argument"
}

// evalOK evaluates an integer expression: a number, a constant, A|B, [N] or htons(N).
func evalOK(x Expr) (int64, bool) {
	switch x.Kind {
	case ExprInt:
		return x.Int, true
	case ExprWord:
		if v, ok := symbol(x.Text); ok {
			return v, true
		}
		if v, ok := tcpiConstant(x); ok {
			return v, true
		}
		if e := linuxabi.ErrnoByName(x.Text); e != 0 {
			return int64(e), true
		}
	case ExprOr:
		var v int64
		for _, e := range x.Elems {
			ev, ok := evalOK(e)
			if !ok {
				return 0, false
			}
			v |= ev
		}
		return v, true
	case ExprArray:
		if len(x.Elems) == 1 {
			return evalOK(x.Elems[0])
		}
	case ExprCall:
		if (x.Text == "htons" || x.Text == "htonl") && len(x.Elems) == 1 {
			return evalOK(x.Elems[0])
		}
	case ExprAssign:
		if len(x.Elems) == 1 {
			return evalOK(x.Elems[0])
		}
	}
	return 0, false
}

// call is a system call in progress: attempt makes one non-blocking try.
type call struct {
	ev      *Event
	start   time.Duration
	end     time.Duration // when HasEndTime: the time it must return
	wake    time.Duration // when non-zero: a timeout (poll, epoll_wait) ends its wait at this script time
	attempt func() (res int64, errno linuxabi.Errno, done bool)
}

func (r *runner) syscall(e *Event, at time.Duration) {
	if c := r.blocked; c != nil {
		r.fail("%s() of line %d is still blocked (a script has one thread for system calls)", c.ev.Syscall.Name, c.ev.Line)
	}
	sc := e.Syscall
	c := &call{ev: e, start: at, attempt: r.compile(sc)}
	if sc.HasEndTime {
		c.end = sc.EndTime
		if e.Time.Kind == TimeRelative {
			// packetdrill adds the same offset to both ends: "+0.1...0.3" starts 0.1 s and
			// ends 0.3 s after the previous line.
			c.end += at - e.Time.Start
		}
	}
	res, errno, done := r.try(c)
	if !done {
		r.blocked = c
		return
	}
	r.returned(c, res, errno)
}

// retryBlocked gives a blocked call another try.
func (r *runner) retryBlocked() {
	c := r.blocked
	if c == nil {
		return
	}
	res, errno, done := r.try(c)
	if !done {
		return
	}
	r.blocked = nil
	saved := r.ev
	r.ev = c.ev
	r.returned(c, res, errno)
	r.ev = saved
}

// try makes one attempt of a call as the bench's Do does: what the stack sends meanwhile is
// taken at once (the ARP requests it makes answered), not at the next line.
func (r *runner) try(c *call) (res int64, errno linuxabi.Errno, done bool) {
	r.trying = c
	defer func() { r.trying = nil }()
	r.b.Do(func() { res, errno, done = c.attempt() })
	return res, errno, done
}

// returned checks a call's result, errno and return time against its line.
func (r *runner) returned(c *call, res int64, errno linuxabi.Errno) {
	sc := c.ev.Syscall
	now := r.b.Elapsed()
	tol := r.s.Tolerance
	got := fmt.Sprintf("%s = %d", sc.Name, res)
	if res < 0 && errno != 0 {
		got += fmt.Sprintf(" %s (%s)", linuxabi.ErrnoName(errno), errno.Error())
	}
	want := fmt.Sprintf("%s = %s", sc.Name, exprResult(sc))
	if !sc.HasEndTime && r.cfg.Strict && now > c.start+tol {
		r.failWith(fmt.Sprintf("%s returns at once", sc.Name), fmt.Sprintf("%s returned at %s s", sc.Name, secs(now)),
			"%s() blocked until %s s; with --strict a call without '...T' must return at once (tolerance %s)", sc.Name, secs(now), tol)
	}
	if sc.HasEndTime && (now < c.end-tol || now > c.end+tol) {
		r.failWith(fmt.Sprintf("%s returns at %s s", sc.Name, secs(c.end)), fmt.Sprintf("%s returned at %s s", sc.Name, secs(now)),
			"%s() returned at %s s, expected at %s s (tolerance %s)", sc.Name, secs(now), secs(c.end), tol)
	}
	isFD := sc.Name == "socket" || sc.Name == "accept" || sc.Name == "accept4" || sc.Name == "epoll_create" || sc.Name == "epoll_create1"
	if sc.Result.Kind == ExprInt {
		switch {
		case isFD && sc.Result.Int >= 0 && res >= 0:
			// packetdrill's CHECK_FD: any descriptor will do; the script's number maps to it.
		case res != sc.Result.Int:
			r.failWith(want, got, "%s() returned %d, expected %d", sc.Name, res, sc.Result.Int)
		case sc.Errno != "" && errno != linuxabi.ErrnoByName(sc.Errno):
			r.failWith(want, got, "%s() failed with %s, expected %s", sc.Name, linuxabi.ErrnoName(errno), sc.Errno)
		}
	}
	if isFD && sc.Result.Kind == ExprInt && res >= 0 {
		r.fds[sc.Result.Int] = int(res)
	}
	if isFD && res >= 0 && res < epollBase {
		r.testFD = int(res)
	}
}

func exprResult(sc *Syscall) string {
	s := "..."
	if sc.Result.Kind == ExprInt {
		s = fmt.Sprint(sc.Result.Int)
	}
	if sc.Errno != "" {
		s += " " + sc.Errno
	}
	return s
}

// fd maps a script descriptor to the target's.
func (r *runner) fd(x Expr) int {
	v, _ := evalOK(x)
	if live, ok := r.fds[v]; ok {
		return live
	}
	return int(v)
}

// errnoResult turns an error from the socket API into a system call's -1 and errno.
func errnoResult(err error) (int64, linuxabi.Errno) {
	if err == nil {
		return 0, 0
	}
	if e, ok := errors.AsType[linuxabi.Errno](err); ok {
		return -1, e
	}
	return -1, linuxabi.EIO
}

func wouldBlock(e linuxabi.Errno) bool {
	return e == linuxabi.EAGAIN || e == linuxabi.EINPROGRESS || e == linuxabi.EALREADY
}

// compile turns a system call line into its attempt function.
func (r *runner) compile(sc *Syscall) func() (int64, linuxabi.Errno, bool) {
	a := sc.Args
	so := r.socks
	if so == nil {
		return func() (int64, linuxabi.Errno, bool) {
			r.fail("the target %s offers no socket API", r.b.DUT().Name())
			return 0, 0, true
		}
	}
	once := func(f func() (int64, linuxabi.Errno)) func() (int64, linuxabi.Errno, bool) {
		return func() (int64, linuxabi.Errno, bool) { res, e := f(); return res, e, true }
	}
	switch sc.Name {
	case "socket":
		return once(func() (int64, linuxabi.Errno) {
			if p, ok := evalOK(a[2]); ok && p != 0 && p != linuxabi.IPPROTO_TCP {
				return -1, linuxabi.EPROTONOSUPPORT // as Linux and FreeBSD for SOCK_STREAM with another protocol
			}
			fd, err := so.Socket()
			if err != nil {
				return errnoResult(err)
			}
			if t, _ := evalOK(a[1]); t&linuxabi.SOCK_NONBLOCK != 0 {
				r.nonblock[fd] = true
			}
			return int64(fd), 0
		})
	case "bind":
		return once(func() (int64, linuxabi.Errno) {
			port, _ := r.sockaddr(a[1], DefaultLocalPort, true)
			if port != 0 {
				r.cur = r.flow(port, DefaultPeerPort)
			}
			return errnoResult(so.Bind(r.fd(a[0]), port))
		})
	case "listen":
		return once(func() (int64, linuxabi.Errno) {
			n, _ := evalOK(a[1])
			return errnoResult(so.Listen(r.fd(a[0]), int(n)))
		})
	case "accept":
		return r.blocking(a[0], func() (int64, linuxabi.Errno) {
			fd, err := so.Accept(r.fd(a[0]))
			if err != nil {
				return errnoResult(err)
			}
			return int64(fd), 0
		})
	case "connect":
		first := true
		return func() (int64, linuxabi.Errno, bool) {
			fd := r.fd(a[0])
			port, addr := r.sockaddr(a[1], DefaultRemotePort, false)
			// The connection becomes the current one when the call is made (not again on the
			// retries of a blocking call); a later connect on the same socket (EALREADY,
			// EISCONN) keeps the flow whose port and ISN were learned.
			if first {
				first = false
				if f := r.fdFlows[fd]; f != nil && f.remote == port {
					r.cur = f
				} else {
					r.cur = &flow{remote: port}
					r.fdFlows[fd] = r.cur
				}
			}
			res, e := errnoResult(so.Connect(fd, netip.AddrPortFrom(addr, port)))
			if !r.nonblock[fd] && wouldBlock(e) {
				return 0, 0, false
			}
			return res, e, true
		}
	case "write", "send", "sendto", "sendmsg", "writev":
		return r.writer(sc)
	case "read", "recv", "recvfrom", "recvmsg", "readv":
		return r.reader(sc)
	case "accept4":
		return r.blocking(a[0], func() (int64, linuxabi.Errno) {
			fd, err := so.Accept(r.fd(a[0]))
			if err != nil {
				return errnoResult(err)
			}
			if fl, _ := evalOK(a[3]); fl&linuxabi.SOCK_NONBLOCK != 0 {
				r.nonblock[fd] = true
			}
			return int64(fd), 0
		})
	case "poll":
		return r.pollCall(sc)
	case "epoll_create", "epoll_create1":
		return once(func() (int64, linuxabi.Errno) {
			fd := epollBase + r.epollsMade
			r.epollsMade++
			r.epolls[fd] = map[int]*epollEntry{}
			return int64(fd), 0
		})
	case "epoll_ctl":
		return once(func() (int64, linuxabi.Errno) { return r.epollCtl(a) })
	case "epoll_wait":
		return r.epollWait(sc)
	case "ioctl":
		return once(func() (int64, linuxabi.Errno) {
			req, _ := evalOK(a[1])
			v, err := so.Ioctl(r.fd(a[0]), int(req))
			if err != nil {
				return errnoResult(err)
			}
			if want, ok := evalOK(a[2]); ok && want != int64(v) {
				r.failWith(fmt.Sprintf("ioctl value %d", want), fmt.Sprintf("ioctl value %d", v),
					"ioctl(%s) gave %d, expected %d", exprText(a[1]), v, want)
			}
			return 0, 0
		})
	case "shutdown":
		return once(func() (int64, linuxabi.Errno) {
			how, _ := evalOK(a[1])
			return errnoResult(so.Shutdown(r.fd(a[0]), int(how)))
		})
	case "close":
		return once(func() (int64, linuxabi.Errno) {
			fd := r.fd(a[0])
			if _, ok := r.epolls[fd]; ok {
				delete(r.epolls, fd)
				return 0, 0
			}
			for _, set := range r.epolls { // a closed descriptor leaves every epoll set, as in Linux
				delete(set, fd)
			}
			delete(r.nonblock, fd)
			delete(r.fdFlows, fd)
			return errnoResult(so.Close(fd))
		})
	case "setsockopt":
		return once(func() (int64, linuxabi.Errno) {
			lvl, _ := evalOK(a[1])
			name, _ := evalOK(a[2])
			return errnoResult(so.SetSockOpt(r.fd(a[0]), int(lvl), int(name), optionValue(a[3])))
		})
	case "getsockopt":
		return once(func() (int64, linuxabi.Errno) {
			lvl, _ := evalOK(a[1])
			name, _ := evalOK(a[2])
			if name == linuxabi.TCP_INFO && (lvl == linuxabi.SOL_TCP || lvl == linuxabi.IPPROTO_TCP) {
				return r.tcpInfo(a[0], a[3])
			}
			v, err := so.GetSockOpt(r.fd(a[0]), int(lvl), int(name))
			if err != nil {
				return errnoResult(err)
			}
			if lvl == linuxabi.SOL_SOCKET && (name == linuxabi.SO_RCVBUF || name == linuxabi.SO_SNDBUF) && r.cfg.Lenient {
				return 0, 0
			}
			want, ok := evalOK(a[3])
			if a[3].Kind == ExprStruct {
				want, ok = int64(optionValue(a[3])), true // a linger struct, as setsockopt reads it
			}
			if ok && want != int64(v) {
				wantText := exprText(valueOf(a[3]))
				if a[3].Kind == ExprStruct {
					wantText = fmt.Sprint(want) // a linger struct: its l_linger, or -1 when off
				}
				r.failWith(fmt.Sprintf("getsockopt value %s", wantText), fmt.Sprintf("getsockopt value %s", optionValueName(name, v)),
					"getsockopt(%s) gave %s, expected %s", exprText(a[2]), optionValueName(name, v), wantText)
			}
			return 0, 0
		})
	case "fcntl":
		return once(func() (int64, linuxabi.Errno) {
			fd := r.fd(a[0])
			if _, err := so.GetSockOpt(fd, linuxabi.SOL_SOCKET, linuxabi.SO_REUSEADDR); errors.Is(err, linuxabi.EBADF) {
				return -1, linuxabi.EBADF
			}
			cmd, _ := evalOK(a[1])
			if cmd == linuxabi.F_GETFL {
				fl := int64(linuxabi.O_RDWR)
				if r.nonblock[fd] {
					fl |= linuxabi.O_NONBLOCK
				}
				return fl, 0
			}
			if len(a) < 3 {
				return -1, linuxabi.EINVAL
			}
			v, _ := evalOK(a[2])
			r.nonblock[fd] = v&linuxabi.O_NONBLOCK != 0
			return 0, 0
		})
	}
	return func() (int64, linuxabi.Errno, bool) {
		r.fail("unsupported: system call %s", sc.Name)
		return 0, 0, true
	}
}

// zeros is what write sends (packetdrill never compares payload bytes); readBuf takes what
// read gets. A call moves at most their size at a time.
var (
	zeros   = make([]byte, 64<<10)
	readBuf = make([]byte, 64<<10)
)

// blocking wraps a call that waits on a blocking socket (EAGAIN) until it can complete.
func (r *runner) blocking(fdArg Expr, f func() (int64, linuxabi.Errno)) func() (int64, linuxabi.Errno, bool) {
	return func() (int64, linuxabi.Errno, bool) {
		res, e := f()
		if wouldBlock(e) && !r.nonblock[r.fd(fdArg)] {
			return 0, 0, false
		}
		return res, e, true
	}
}

// sockaddr reads a sockaddr argument: "..." is the default port of the side (the stack's own
// for bind, the peer's for connect), {sin_port=htons(N), sin_addr=inet_addr("A")} sets them.
// packetdrill's default addresses stand for the stack and the peer.
func (r *runner) sockaddr(x Expr, defPort uint16, local bool) (uint16, netip.Addr) {
	port, addr := defPort, r.fb.peerIP
	if local {
		addr = r.fb.stackIP
	}
	if x.Kind != ExprStruct {
		return port, addr
	}
	for _, e := range x.Elems {
		if e.Kind != ExprAssign || len(e.Elems) != 1 {
			continue
		}
		v := e.Elems[0]
		switch e.Text {
		case "sin_port":
			if p, ok := evalOK(v); ok {
				port = uint16(p)
			}
		case "sin_addr":
			if v.Kind == ExprCall && v.Text == "inet_addr" && len(v.Elems) == 1 {
				if a, err := netip.ParseAddr(v.Elems[0].Text); err == nil {
					switch a {
					case packetdrillRemoteIP:
						a = r.fb.peerIP
					case packetdrillLocalIP:
						a = r.fb.stackIP
					}
					addr = a
				}
			}
		}
	}
	return port, addr
}

// tcpInfo is getsockopt(fd, SOL_TCP, TCP_INFO, {tcpi_state=TCP_ESTABLISHED, ...}, [N]): each
// field the struct names is checked against what the target reports, by Linux's name.
func (r *runner) tcpInfo(fdArg, want Expr) (int64, linuxabi.Errno) {
	info, err := r.socks.TCPInfo(r.fd(fdArg))
	if err != nil {
		return errnoResult(err)
	}
	for _, f := range want.Elems {
		if f.Kind != ExprAssign || len(f.Elems) != 1 || f.Elems[0].Kind == ExprEllipsis {
			continue
		}
		v, ok := evalOK(f.Elems[0])
		got, has := info[f.Text]
		switch {
		case !ok:
			r.fail("getsockopt(TCP_INFO): %s=%s is not a number", f.Text, exprText(f.Elems[0]))
		case !has:
			r.failWith(fmt.Sprintf("%s %s", f.Text, exprText(f.Elems[0])), "(not reported)",
				"getsockopt(TCP_INFO): the target does not report %s", f.Text)
		case ok && got != v:
			r.failWith(fmt.Sprintf("%s %d", f.Text, v), fmt.Sprintf("%s %d", f.Text, got),
				"getsockopt(TCP_INFO) gave %s %d, expected %d", f.Text, got, v)
		}
	}
	return 0, 0
}

// tcpiConstant is the value of a name Python blocks know (TCP_ESTABLISHED, TCPI_OPT_SACK, ...).
func tcpiConstant(x Expr) (int64, bool) {
	if x.Kind == ExprWord {
		for _, c := range tcpiConstants {
			if c.name == x.Text {
				return c.value, true
			}
		}
	}
	return 0, false
}

// valueOf is the value inside [N].
func valueOf(x Expr) Expr {
	if x.Kind == ExprArray && len(x.Elems) == 1 {
		return x.Elems[0]
	}
	return x
}

// optionValue reads setsockopt's value: [N], N, or a linger struct {l_onoff=1, l_linger=N}
// ({onoff=..., linger=...} too), which becomes N when on and -1 when off.
func optionValue(x Expr) int {
	if x.Kind == ExprStruct {
		on, linger := int64(0), int64(0)
		for i, e := range x.Elems {
			v, _ := evalOK(e)
			name := strings.TrimPrefix(e.Text, "l_")
			switch {
			case e.Kind == ExprAssign && name == "onoff", e.Kind != ExprAssign && i == 0:
				on = v
			case e.Kind == ExprAssign && name == "linger", e.Kind != ExprAssign && i == 1:
				linger = v
			}
		}
		if on == 0 {
			return -1
		}
		return int(linger)
	}
	v, _ := evalOK(x)
	return int(v)
}

// optionValueName prints an option's value: SO_ERROR as an errno name.
func optionValueName(name int64, v int) string {
	if name == linuxabi.SO_ERROR && v != 0 {
		return linuxabi.ErrnoName(linuxabi.Errno(v))
	}
	return fmt.Sprint(v)
}
