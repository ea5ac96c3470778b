//go:build linux

package linuxdut

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TapName is the TAP device's name inside the namespace.
const TapName = "tap0"

// benchNet is the only range an address given to the kernel may come from (RFC 2544
// benchmarking space; the project's rule).
var benchNet = netip.MustParsePrefix("198.18.0.0/15")

// device is the TAP device as set up: its descriptor (nonblocking) and interface index.
type device struct {
	fd    int
	index int
}

// setup makes and configures the namespace's network: IPv6 off, lo up, the TAP device with
// its MAC, address and default route. It runs on the namespace's thread (nsThread.do has
// checked the thread is there). On error it closes what it made; the namespace's deletion
// removes the rest.
func setup(mac net.HardwareAddr, addr netip.Prefix, gateway netip.Addr) (dev device, err error) {
	if !addr.Addr().Is4() || !benchNet.Contains(addr.Addr()) || addr.Bits() < benchNet.Bits() {
		return dev, fmt.Errorf("linuxdut: address %v is outside %v: only benchmarking addresses are configured", addr, benchNet)
	}
	if !gateway.Is4() || !benchNet.Contains(gateway) {
		return dev, fmt.Errorf("linuxdut: gateway %v is outside %v", gateway, benchNet)
	}
	if len(mac) != 6 {
		return dev, fmt.Errorf("linuxdut: MAC %v is not an Ethernet address", mac)
	}
	// IPv6 off before the device exists, so that it never gets a link-local address and the
	// kernel sends no router solicitation or MLD report on it.
	for _, conf := range []string{"all", "default"} {
		if err := writeProc("/proc/sys/net/ipv6/conf/"+conf+"/disable_ipv6", "1"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return dev, fmt.Errorf("linuxdut: disabling IPv6: %w", err)
		}
	}
	ctl, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return dev, fmt.Errorf("linuxdut: socket for ioctls: %w", err)
	}
	defer unix.Close(ctl)
	if err := ifUp(ctl, "lo"); err != nil {
		return dev, fmt.Errorf("linuxdut: bringing lo up: %w", err)
	}

	dev.fd, err = unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return dev, fmt.Errorf("linuxdut: opening /dev/net/tun: %w", err)
	}
	defer func() {
		if err != nil {
			unix.Close(dev.fd)
			dev.fd = -1
		}
	}()
	ifr, err := unix.NewIfreq(TapName)
	if err != nil {
		return dev, err
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(dev.fd, unix.TUNSETIFF, ifr); err != nil {
		return dev, fmt.Errorf("linuxdut: creating the TAP device %s: %w", TapName, err)
	}
	if ifr.Name() != TapName {
		return dev, fmt.Errorf("linuxdut: asked for the TAP device %s, the kernel made %s", TapName, ifr.Name())
	}
	if err := writeProc("/proc/sys/net/ipv6/conf/"+TapName+"/disable_ipv6", "1"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return dev, fmt.Errorf("linuxdut: disabling IPv6 on %s: %w", TapName, err)
	}
	if err := setMAC(ctl, TapName, mac); err != nil {
		return dev, fmt.Errorf("linuxdut: setting the MAC of %s to %v: %w", TapName, mac, err)
	}
	if err := setAddr(ctl, TapName, addr); err != nil {
		return dev, fmt.Errorf("linuxdut: giving %s the address %v: %w", TapName, addr, err)
	}
	if err := ifUp(ctl, TapName); err != nil {
		return dev, fmt.Errorf("linuxdut: bringing %s up: %w", TapName, err)
	}
	if ifr, err = unix.NewIfreq(TapName); err != nil {
		return dev, err
	}
	if err := unix.IoctlIfreq(ctl, unix.SIOCGIFINDEX, ifr); err != nil {
		return dev, fmt.Errorf("linuxdut: the index of %s: %w", TapName, err)
	}
	dev.index = int(ifr.Uint32())
	if err := addDefaultRoute(dev.index, gateway); err != nil {
		return dev, fmt.Errorf("linuxdut: default route via %v: %w", gateway, err)
	}
	return dev, nil
}

// writeProc writes one value to a /proc/sys file (which must exist).
func writeProc(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func ifUp(ctl int, name string) error {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(ctl, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(ctl, unix.SIOCSIFFLAGS, ifr)
}

// ifreqHW is struct ifreq with a hardware address (struct sockaddr) in its union.
type ifreqHW struct {
	name   [unix.IFNAMSIZ]byte
	family uint16
	data   [14]byte
	_      [8]byte // the rest of the union (struct ifmap is the largest member)
}

func setMAC(ctl int, name string, mac net.HardwareAddr) error {
	var req ifreqHW
	copy(req.name[:], name)
	req.family = unix.ARPHRD_ETHER
	copy(req.data[:], mac)
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(ctl), unix.SIOCSIFHWADDR, uintptr(unsafe.Pointer(&req)))
	if e != 0 {
		return e
	}
	return nil
}

func setAddr(ctl int, name string, addr netip.Prefix) error {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	a := addr.Addr().As4()
	if err := ifr.SetInet4Addr(a[:]); err != nil {
		return err
	}
	if err := unix.IoctlIfreq(ctl, unix.SIOCSIFADDR, ifr); err != nil {
		return err
	}
	if err := ifr.SetInet4Addr(net.CIDRMask(addr.Bits(), 32)); err != nil {
		return err
	}
	return unix.IoctlIfreq(ctl, unix.SIOCSIFNETMASK, ifr)
}

// addDefaultRoute adds "default via gateway dev <index>" to the main table with one rtnetlink
// request (RTM_NEWROUTE) on a socket of the calling thread's namespace.
func addDefaultRoute(index int, gateway netip.Addr) error {
	s, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	if err := unix.Bind(s, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	ne := binary.NativeEndian
	attr := func(b []byte, typ uint16, data []byte) []byte {
		b = ne.AppendUint16(b, uint16(unix.SizeofRtAttr+len(data)))
		b = ne.AppendUint16(b, typ)
		b = append(b, data...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	gw := gateway.As4()
	msg := make([]byte, unix.SizeofNlMsghdr, 64)
	msg = append(msg, unix.AF_INET, 0, 0, 0, unix.RT_TABLE_MAIN, unix.RTPROT_BOOT, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST)
	msg = ne.AppendUint32(msg, 0) // rtm_flags
	msg = attr(msg, unix.RTA_GATEWAY, gw[:])
	msg = attr(msg, unix.RTA_OIF, ne.AppendUint32(nil, uint32(index)))
	ne.PutUint32(msg[0:], uint32(len(msg)))
	ne.PutUint16(msg[4:], unix.RTM_NEWROUTE)
	ne.PutUint16(msg[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	ne.PutUint32(msg[8:], 1) // sequence number
	if err := unix.Sendto(s, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(s, buf, 0)
	if err != nil {
		return err
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if m.Header.Type == unix.NLMSG_ERROR && len(m.Data) >= 4 {
			if code := int32(ne.Uint32(m.Data)); code != 0 {
				return unix.Errno(-code)
			}
			return nil
		}
	}
	return errors.New("no acknowledgment from rtnetlink")
}
