package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/mtcp-go/mtcp/stack/link"
)

// injector is W3's peer: it writes ICMP echo requests to one end of a pipe, keeps at most
// window of them unanswered, counts the echo replies the stack sends back and answers the
// stack's ARP requests for the injector's address. It builds and reads frames by hand (the
// layouts of RFC 826, RFC 791 and RFC 792), outside both stacks.
type injector struct {
	ep       link.Endpoint
	mac      net.HardwareAddr
	stackMAC net.HardwareAddr
	template []byte // an echo request; the sequence number and checksum change per frame

	slots   chan struct{} // one token per echo that may be outstanding
	replies atomic.Uint64
	reply   chan struct{} // signalled on every reply, for the warm-up
}

// echoPayload is the data of each echo request, as ping's default 56 bytes.
const echoPayload = 56

// echoID is the identifier of the injector's echo requests.
const echoID = 0x6d74

func newInjector(ep link.Endpoint, stackMAC net.HardwareAddr, window int) *injector {
	a := injectorAddr.Addr().As4()
	j := &injector{
		ep:       ep,
		mac:      net.HardwareAddr{0x02, 0x00, a[0], a[1], a[2], a[3]},
		stackMAC: stackMAC,
		slots:    make(chan struct{}, window),
		reply:    make(chan struct{}, 1),
	}
	for range window {
		j.slots <- struct{}{}
	}
	j.template = j.echoRequest()
	ep.Attach(link.ReceiverFunc(j.deliver))
	return j
}

// echoRequest builds the template echo request: Ethernet, a 20-byte IPv4 header, ICMP.
func (j *injector) echoRequest() []byte {
	src, dst := injectorAddr.Addr().As4(), serverAddr.Addr().As4()
	f := make([]byte, 14+20+8+echoPayload)
	copy(f[0:6], j.stackMAC)
	copy(f[6:12], j.mac)
	binary.BigEndian.PutUint16(f[12:14], 0x0800)
	ip := f[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:4], uint16(20+8+echoPayload))
	ip[6] = 0x40 // DF
	ip[8] = 64   // TTL
	ip[9] = 1    // ICMP
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	binary.BigEndian.PutUint16(ip[10:12], checksum(ip))
	icmp := f[34:]
	icmp[0] = 8 // echo request
	binary.BigEndian.PutUint16(icmp[4:6], echoID)
	for i := range echoPayload {
		icmp[8+i] = byte(i)
	}
	return f
}

// send writes the echo request with sequence number seq.
func (j *injector) send(seq uint16) error {
	icmp := j.template[34:]
	binary.BigEndian.PutUint16(icmp[6:8], seq)
	icmp[2], icmp[3] = 0, 0
	binary.BigEndian.PutUint16(icmp[2:4], checksum(icmp))
	return j.ep.WriteFrame(j.template)
}

// deliver reads one frame from the stack: an echo reply is counted and frees a slot; an ARP
// request for the injector's address is answered.
func (j *injector) deliver(f []byte) {
	if len(f) < 14 {
		return
	}
	switch binary.BigEndian.Uint16(f[12:14]) {
	case 0x0800:
		if len(f) < 14+20+8 || f[14+9] != 1 {
			return
		}
		hl := int(f[14]&0x0f) * 4
		icmp := f[14+hl:]
		if len(icmp) < 8 || icmp[0] != 0 || binary.BigEndian.Uint16(icmp[4:6]) != echoID {
			return
		}
		j.replies.Add(1)
		select {
		case j.slots <- struct{}{}:
		default:
		}
		select {
		case j.reply <- struct{}{}:
		default:
		}
	case 0x0806:
		arp := f[14:]
		ours := injectorAddr.Addr().As4()
		if len(arp) < 28 || binary.BigEndian.Uint16(arp[6:8]) != 1 || [4]byte(arp[24:28]) != ours {
			return
		}
		r := make([]byte, 14+28)
		copy(r[0:6], arp[8:14])
		copy(r[6:12], j.mac)
		binary.BigEndian.PutUint16(r[12:14], 0x0806)
		ra := r[14:]
		copy(ra[0:6], arp[0:6]) // hardware and protocol types and sizes
		binary.BigEndian.PutUint16(ra[6:8], 2)
		copy(ra[8:14], j.mac)
		copy(ra[14:18], ours[:])
		copy(ra[18:24], arp[8:14])
		copy(ra[24:28], arp[14:18])
		_ = j.ep.WriteFrame(r)
	}
}

// warmUp sends echo requests until one is answered, so the stack has resolved the injector's
// MAC before the measurement.
func (j *injector) warmUp() error {
	for try := range 20 {
		if err := j.send(uint16(0xff00 + try)); err != nil {
			return err
		}
		select {
		case <-j.reply:
			time.Sleep(10 * time.Millisecond) // let late replies to earlier tries arrive
			j.replies.Store(0)
			for len(j.slots) < cap(j.slots) {
				j.slots <- struct{}{}
			}
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("no answer to 20 echo requests")
}

// run sends n echo requests, waiting for a free slot before each, then waits for the replies.
// A reply missing for 2 s fails the run.
func (j *injector) run(n int) error {
	stall := time.NewTimer(0)
	defer stall.Stop()
	sent := 0
	wait := func() error {
		stall.Reset(2 * time.Second)
		select {
		case <-j.slots:
			return nil
		case <-stall.C:
			return fmt.Errorf("stalled: %d of %d echo requests sent, %d replies", sent, n, j.replies.Load())
		}
	}
	for ; sent < n; sent++ {
		if err := wait(); err != nil {
			return err
		}
		if err := j.send(uint16(sent)); err != nil {
			return err
		}
	}
	for range cap(j.slots) {
		if err := wait(); err != nil {
			return err
		}
	}
	return nil
}

// checksum is the Internet checksum (RFC 1071) of b.
func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
