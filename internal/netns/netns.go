// Package netns enforces the project's rule for anything that touches a TAP device or runs a
// live test: it happens only inside a network namespace created with `ip netns add NAME`, and
// the code checks that it really is inside that namespace before touching a device.
//
// The check compares the process's namespace (/proc/self/ns/net) with the bind mounts that
// `ip netns add` leaves in /run/netns, using os.SameFile. /proc/self names the thread-group
// leader, which is what the rule asks for and what `ip netns exec` sets for the whole process.
// A TAP device, however, is created in the namespace of the calling thread, so the check also
// requires the calling thread (/proc/thread-self/ns/net) to be in the same namespace: a thread
// moved elsewhere with setns(2) makes the check fail rather than pass.
//
// This package only reads /proc and /run/netns. It must never create, enter or change a
// namespace, and never configure a device. Network namespaces are Linux's: on another system
// the package builds, and Current and Require fail, saying so.
package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// RunDir is where `ip netns add` mounts the namespaces it creates.
const RunDir = "/run/netns"

// ErrNotInNamespace is wrapped by every error saying that the process is not inside the
// required named namespace.
var ErrNotInNamespace = errors.New("netns: not inside a named network namespace")

// Hint tells a user how to run a command inside a named namespace.
const Hint = "create and enter one with: ip netns add NAME && ip netns exec NAME <command>"

const (
	selfNS       = "/proc/self/ns/net"
	threadSelfNS = "/proc/thread-self/ns/net"
	initNS       = "/proc/1/ns/net"
)

// Current returns the name of the /run/netns entry that is the current network namespace. It
// returns an error wrapping ErrNotInNamespace when the process is in a namespace that has no
// such entry, the root namespace in particular. If several names refer to the namespace, the
// first in lexical order is returned.
func Current() (string, error) {
	if err := needsLinux(); err != nil {
		return "", err
	}
	self, err := current()
	if err != nil {
		return "", err
	}
	entries, err := os.ReadDir(RunDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("netns: listing %s: %w", RunDir, err)
	}
	for _, e := range entries {
		fi, err := os.Stat(filepath.Join(RunDir, e.Name()))
		if err != nil {
			continue // a stale entry whose namespace is gone
		}
		if os.SameFile(self, fi) {
			return e.Name(), nil
		}
	}
	return "", fmt.Errorf("%w: %s is not any namespace in %s (this looks like the root namespace); %s",
		ErrNotInNamespace, selfNS, RunDir, Hint)
}

// Require returns nil only if the current network namespace is /run/netns/name. With an empty
// name any named namespace will do (see Current). Otherwise the error wraps ErrNotInNamespace
// and says how to get into the namespace.
func Require(name string) error {
	if err := needsLinux(); err != nil {
		return err
	}
	if name == "" {
		_, err := Current()
		return err
	}
	if name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("netns: invalid namespace name %q", name)
	}
	path := filepath.Join(RunDir, name)
	want, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s does not exist; create and enter it with: ip netns add %s && ip netns exec %s <command>",
			ErrNotInNamespace, path, name, name)
	}
	if err != nil {
		return fmt.Errorf("netns: %w", err)
	}
	self, err := current()
	if err != nil {
		return err
	}
	if !os.SameFile(self, want) {
		return fmt.Errorf("%w: the process is not inside %s; run it with: ip netns exec %s <command>",
			ErrNotInNamespace, path, name)
	}
	return nil
}

// needsLinux fails on a system other than Linux, which has no network namespaces: the process
// cannot be inside one.
func needsLinux() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("%w: network namespaces need Linux, and this is %s", ErrNotInNamespace, runtime.GOOS)
	}
	return nil
}

// current returns the namespace of the process, after checking that the calling thread shares
// it and that it is not the namespace of PID 1.
func current() (os.FileInfo, error) {
	self, err := os.Stat(selfNS)
	if err != nil {
		return nil, fmt.Errorf("netns: reading the current namespace: %w", err)
	}
	if thread, err := os.Stat(threadSelfNS); err == nil && !os.SameFile(self, thread) {
		return nil, fmt.Errorf("%w: the calling thread (%s) is not in the process's namespace (%s)",
			ErrNotInNamespace, threadSelfNS, selfNS)
	}
	// Belt and braces: the root namespace could be given a name (ip netns attach). PID 1's
	// namespace is not readable everywhere, so this check only applies where it is.
	if init, err := os.Stat(initNS); err == nil && os.SameFile(self, init) {
		return nil, fmt.Errorf("%w: the process is in the namespace of PID 1 (the root namespace); %s",
			ErrNotInNamespace, Hint)
	}
	return self, nil
}
