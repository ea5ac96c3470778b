package linuxabi_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mtcp-go/mtcp/harness/linuxabi"
)

func TestErrnoNamesAndMessagesAreLinuxs(t *testing.T) {
	for _, c := range []struct {
		e         linuxabi.Errno
		n         uintptr
		name, msg string
	}{
		{linuxabi.EAGAIN, 11, "EAGAIN", "resource temporarily unavailable"},
		{linuxabi.EPIPE, 32, "EPIPE", "broken pipe"},
		{linuxabi.EOPNOTSUPP, 95, "EOPNOTSUPP", "operation not supported"},
		{linuxabi.ECONNRESET, 104, "ECONNRESET", "connection reset by peer"},
		{linuxabi.ETIMEDOUT, 110, "ETIMEDOUT", "connection timed out"},
		{linuxabi.ECONNREFUSED, 111, "ECONNREFUSED", "connection refused"},
		{linuxabi.EINPROGRESS, 115, "EINPROGRESS", "operation now in progress"},
		{linuxabi.EHWPOISON, 133, "EHWPOISON", "memory page has hardware error"},
	} {
		if uintptr(c.e) != c.n || linuxabi.ErrnoName(c.e) != c.name || c.e.Error() != c.msg {
			t.Errorf("%s: %d, %q, %q; want %d, %q, %q", c.name, c.e, linuxabi.ErrnoName(c.e), c.e.Error(), c.n, c.name, c.msg)
		}
		if got := linuxabi.ErrnoByName(c.name); got != c.e {
			t.Errorf("ErrnoByName(%q) = %d, want %d", c.name, got, c.e)
		}
	}
}

func TestErrnoByNameKnowsEveryNameAndTheOtherNames(t *testing.T) {
	named := 0
	for n := range linuxabi.Errno(256) {
		if name := linuxabi.ErrnoName(n); name != "" {
			named++
			if got := linuxabi.ErrnoByName(name); got != n {
				t.Errorf("ErrnoByName(ErrnoName(%d) = %q) = %d", n, name, got)
			}
		}
	}
	if named != 131 { // 1 to 133 but 41 and 58
		t.Errorf("%d errnos have a name, want 131", named)
	}
	for name, want := range map[string]linuxabi.Errno{
		"EWOULDBLOCK": linuxabi.EAGAIN, "EDEADLOCK": linuxabi.EDEADLK, "ENOTSUP": linuxabi.EOPNOTSUPP,
		"EFSCORRUPTED": linuxabi.EUCLEAN, "ENOSUCHERROR": 0, "": 0, "SOL_SOCKET": 0,
	} {
		if got := linuxabi.ErrnoByName(name); got != want {
			t.Errorf("ErrnoByName(%q) = %d, want %d", name, got, want)
		}
	}
}

func TestAnErrnoLinuxDoesNotUseHasANumberForAName(t *testing.T) {
	for _, n := range []linuxabi.Errno{0, 41, 58, 134, 4095} {
		if name := linuxabi.ErrnoName(n); name != "" {
			t.Errorf("ErrnoName(%d) = %q, want \"\"", n, name)
		}
		if got, want := n.Error(), fmt.Sprintf("errno %d", n); got != want {
			t.Errorf("Errno(%d).Error() = %q, want %q", n, got, want)
		}
	}
}

func TestErrnosCompareWithErrorsIs(t *testing.T) {
	err := fmt.Errorf("connect: %w", linuxabi.ECONNREFUSED)
	if !errors.Is(err, linuxabi.ECONNREFUSED) || errors.Is(err, linuxabi.ECONNRESET) {
		t.Errorf("errors.Is on %v: want ECONNREFUSED only", err)
	}
	var e linuxabi.Errno
	if !errors.As(err, &e) || e != linuxabi.ECONNREFUSED {
		t.Errorf("errors.As(%v) = %d, want ECONNREFUSED", err, e)
	}
}

func TestConstantKnowsTheNamesScriptsUse(t *testing.T) {
	for name, want := range map[string]int64{
		"SOL_SOCKET": 1, "SO_REUSEADDR": 2, "SO_LINGER": 13, "TCP_KEEPIDLE": 4, "TCP_USER_TIMEOUT": 18,
		"MSG_PEEK": 2, "O_NONBLOCK": 0x800, "POLLRDHUP": 0x2000, "EPOLLET": 0x80000000,
		"SIOCINQ": 0x541b, "FIONREAD": 0x541b, "SIOCOUTQNSD": 0x894b, "PF_INET": 2,
	} {
		if got, ok := linuxabi.Constant(name); !ok || got != want {
			t.Errorf("Constant(%q) = %#x, %v; want %#x, true", name, got, ok, want)
		}
	}
	for _, name := range []string{"", "NULL", "ECONNREFUSED", "TCP_KEEPINIT", "SO_NOSUCHOPTION"} {
		if v, ok := linuxabi.Constant(name); ok {
			t.Errorf("Constant(%q) = %#x, true; want false", name, v)
		}
	}
}
