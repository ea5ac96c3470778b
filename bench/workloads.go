package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mtcp-go/mtcp/stack/link"
	"github.com/mtcp-go/mtcp/stack/link/fault"
	"github.com/mtcp-go/mtcp/stack/link/pipe"
)

// chunk is the size of every write in the bulk workloads.
const chunk = 64 << 10

// ioTimeout bounds every dial and the wait for accepts, so a stuck stack fails the run instead
// of hanging the bench. Reads and writes carry no deadline (a deadline arms a timer per
// connection on both stacks, which would hold memory past the run); the watchdog bounds them.
const ioTimeout = 30 * time.Second

// watchdog closes the stacks of a run that takes longer than limit, which makes every blocked
// call return; the run then reports that it timed out.
type watchdog struct {
	t     *time.Timer
	fired atomic.Bool
	limit time.Duration
}

func newWatchdog(limit time.Duration, closeAll func()) *watchdog {
	w := &watchdog{limit: limit}
	w.t = time.AfterFunc(limit, func() {
		w.fired.Store(true)
		closeAll()
	})
	return w
}

// stop disarms the watchdog and returns err, replaced by a timeout error if the watchdog fired.
func (w *watchdog) stop(err error) error {
	w.t.Stop()
	if w.fired.Load() {
		return fmt.Errorf("timed out after %v (stacks closed)", w.limit)
	}
	return err
}

// guardedPair makes a pair of stacks under a watchdog of limit. finish, deferred by the run,
// disarms the watchdog, closes the pair and returns the run's error, or the watchdog's.
func guardedPair(k kind, wrap func(link.Endpoint) (link.Endpoint, error), limit time.Duration) (p *pair, finish func(error) error, err error) {
	p, err = newPair(k, wrap)
	if err != nil {
		return nil, nil, err
	}
	wd := newWatchdog(limit, p.Close)
	return p, func(err error) error {
		err = wd.stop(err)
		p.Close()
		return err
	}, nil
}

// serverAt returns the server's address at port.
func serverAt(port uint16) netip.AddrPort { return netip.AddrPortFrom(serverAddr.Addr(), port) }

// dial dials with the application's timeout.
func dial(s netStack, addr netip.AddrPort) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	return s.Dial(ctx, addr)
}

// bulk (W1, W1p, W5) opens conns connections and sends total bytes spread over them, in 64 KiB
// writes, from client to server. The clock runs from the first write to the last byte read.
// Work units are GiB; wrap, if set, puts the client's link through a fault injector.
func bulk(k kind, total int64, conns int, wrap func(link.Endpoint) (link.Endpoint, error), limit time.Duration) (s sample) {
	p, finish, err := guardedPair(k, wrap, limit)
	if err != nil {
		return sample{err: err}
	}
	defer func() { s.err = finish(s.err) }()

	ln, err := p.server.Listen(80)
	if err != nil {
		return sample{err: err}
	}
	defer ln.Close()
	per := total / int64(conns)
	read := make(chan error, conns)
	var readers sync.WaitGroup
	defer readers.Wait()
	readers.Go(func() {
		for range conns {
			c, err := ln.Accept()
			if err != nil {
				read <- err
				return
			}
			readers.Go(func() {
				defer c.Close()
				buf := make([]byte, chunk)
				var n int64
				for n < per {
					m, err := c.Read(buf)
					n += int64(m)
					if err != nil {
						read <- fmt.Errorf("read after %d of %d bytes: %w", n, per, err)
						return
					}
				}
				read <- nil
			})
		}
	})
	cs := make([]net.Conn, 0, conns)
	defer func() {
		for _, c := range cs {
			_ = c.Close()
		}
	}()
	for range conns {
		c, err := dial(p.client, serverAt(80))
		if err != nil {
			return sample{err: err}
		}
		cs = append(cs, c)
	}
	before := p.client.Retransmits() + p.server.Retransmits()
	dropsBefore := p.client.RxDrops() + p.server.RxDrops()
	m := startMeter()
	wrote := make(chan error, conns)
	for _, c := range cs {
		go func() {
			buf := make([]byte, chunk)
			for sent := int64(0); sent < per; sent += chunk {
				if _, err := c.Write(buf[:min(chunk, per-sent)]); err != nil {
					wrote <- fmt.Errorf("write after %d of %d bytes: %w", sent, per, err)
					return
				}
			}
			wrote <- nil
		}()
	}
	for range conns {
		if err := <-read; err != nil {
			m.done(&s)
			return sample{err: err}
		}
	}
	m.done(&s)
	for range conns {
		if err := <-wrote; err != nil {
			return sample{err: err}
		}
	}
	s.units = float64(per*int64(conns)) / (1 << 30)
	s.extra = map[string]float64{
		"retransmits": float64(p.client.Retransmits() + p.server.Retransmits() - before),
		"rx drops":    float64(p.client.RxDrops() + p.server.RxDrops() - dropsBefore),
	}
	return s
}

// faulty is W5's link: a fault injector with the given loss rate, and dup and reorder rates,
// seeded, disturbing both directions of the client's link. Both stacks see the same decisions
// for the same sequence of frames.
func faulty(seed uint64, loss, dup, reorder float64) func(link.Endpoint) (link.Endpoint, error) {
	return func(ep link.Endpoint) (link.Endpoint, error) {
		return fault.New(ep, fault.Config{Seed: seed, Drop: loss, Duplicate: dup, Reorder: reorder})
	}
}

// handshakes (W2) opens n connections one after another; on each the client sends 1 byte,
// the server answers 1 byte and closes, the client reads the answer and the end of the stream
// and closes. The server closes first, so TIME-WAIT piles up on its side. Work units are
// connections.
func handshakes(k kind, n int, limit time.Duration) (s sample) {
	p, finish, err := guardedPair(k, nil, limit)
	if err != nil {
		return sample{err: err}
	}
	defer func() { s.err = finish(s.err) }()

	ln, err := p.server.Listen(80)
	if err != nil {
		return sample{err: err}
	}
	var served sync.WaitGroup
	defer served.Wait()
	defer ln.Close()
	served.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			served.Go(func() {
				defer c.Close()
				var one [1]byte
				if _, err := io.ReadFull(c, one[:]); err != nil {
					return
				}
				_, _ = c.Write(one[:])
			})
		}
	})
	m := startMeter()
	done := 0
	err = func() error {
		var one [1]byte
		for i := range n {
			c, err := dial(p.client, serverAt(80))
			if err != nil {
				return fmt.Errorf("connection %d: %w", i+1, err)
			}
			_, err = c.Write([]byte{'?'})
			if err == nil {
				_, err = io.ReadFull(c, one[:])
			}
			if err == nil {
				_, err = c.Read(one[:])
				if errors.Is(err, io.EOF) {
					err = nil
				} else if err == nil {
					err = errors.New("more than 1 byte in the answer")
				}
			}
			_ = c.Close()
			if err != nil {
				return fmt.Errorf("connection %d: %w", i+1, err)
			}
			done++
		}
		return nil
	}()
	m.done(&s)
	s.units = float64(done)
	s.err = err
	return s
}

// idle (W4) opens n connections and leaves them established and idle, then reports the heap
// they take: the live heap after collection minus the heap before the first dial (both stacks
// already running and listening), per endpoint, i.e. divided by 2n since both ends are in this
// process. The connections go to 8 server ports, so that no stack runs out of ephemeral ports
// for one destination before its tables fill. Work units are connections established.
func idle(k kind, n int, limit time.Duration) (s sample) {
	const ports = 8
	p, finish, err := guardedPair(k, nil, limit)
	if err != nil {
		return sample{err: err}
	}
	defer func() { s.err = finish(s.err) }()

	var (
		lns    []net.Listener
		mu     sync.Mutex
		server []net.Conn
	)
	var acceptors sync.WaitGroup
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
		acceptors.Wait()
		for _, c := range server {
			_ = c.Close()
		}
	}()
	for port := range uint16(ports) {
		ln, err := p.server.Listen(80 + port)
		if err != nil {
			return sample{err: err}
		}
		lns = append(lns, ln)
		acceptors.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				server = append(server, c)
				mu.Unlock()
			}
		})
	}
	accepted := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(server)
	}

	baseline := heapAfterGC()
	m := startMeter()
	client := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range client {
			_ = c.Close()
		}
	}()
	for i := range n {
		c, err := dial(p.client, serverAt(80+uint16(i%ports)))
		if err != nil {
			m.done(&s)
			return sample{err: fmt.Errorf("connection %d: %w", i+1, err), units: float64(i)}
		}
		client = append(client, c)
	}
	for deadline := time.Now().Add(ioTimeout); accepted() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			m.done(&s)
			return sample{err: fmt.Errorf("%d of %d connections accepted", accepted(), n)}
		}
	}
	m.done(&s)
	after := heapAfterGC()
	if heapProfile != "" && strings.HasPrefix(k.name, "mtcp") {
		if err := writeHeapProfile(heapProfile); err != nil {
			return sample{err: err}
		}
	}
	s.units = float64(n)
	s.extra = map[string]float64{"B/endpoint": (float64(after) - float64(baseline)) / float64(2*n)}
	return s
}

// echoes (W3) injects n ICMP echo requests into one stack, at most window outstanding, from an
// injector on the other end of its pipe that answers the stack's ARP requests and counts the
// echo replies. Work units are echo replies.
func echoes(k kind, n, window int, limit time.Duration) (s sample) {
	a, b := pipe.New(mtu)
	st, err := k.newStack(a, serverAddr)
	if err != nil {
		return sample{err: err}
	}
	defer st.Close()
	wd := newWatchdog(limit, func() { _ = st.Close() })
	defer func() { s.err = wd.stop(s.err) }()

	inj := newInjector(b, st.MAC(), window)
	// Warm up: one echo answered, so the stack knows the injector's MAC before the clock runs.
	if err := inj.warmUp(); err != nil {
		return sample{err: err}
	}
	m := startMeter()
	err = inj.run(n)
	m.done(&s)
	s.units = float64(inj.replies.Load())
	s.err = err
	return s
}

// roundTrips (W6) sends n requests of 64 bytes on one connection, each after the previous
// answer, and the server echoes them. Work units are round trips; p50 and p99 are in µs.
func roundTrips(k kind, n int, limit time.Duration) (s sample) {
	const size = 64
	p, finish, err := guardedPair(k, nil, limit)
	if err != nil {
		return sample{err: err}
	}
	defer func() { s.err = finish(s.err) }()

	ln, err := p.server.Listen(80)
	if err != nil {
		return sample{err: err}
	}
	defer ln.Close()
	var served sync.WaitGroup
	defer served.Wait()
	served.Go(func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, size)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	})
	c, err := dial(p.client, serverAt(80))
	if err != nil {
		return sample{err: err}
	}
	defer c.Close()
	req := make([]byte, size)
	resp := make([]byte, size)
	lat := make([]time.Duration, 0, n)
	m := startMeter()
	for i := range n {
		t0 := time.Now()
		if _, err = c.Write(req); err == nil {
			_, err = io.ReadFull(c, resp)
		}
		if err != nil {
			err = fmt.Errorf("round trip %d: %w", i+1, err)
			break
		}
		lat = append(lat, time.Since(t0))
	}
	m.done(&s)
	s.units = float64(len(lat))
	s.err = err
	if len(lat) > 0 {
		slices.Sort(lat)
		q := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))]) / 1e3 }
		s.extra = map[string]float64{"p50_us": q(0.50), "p99_us": q(0.99)}
	}
	return s
}

// heapProfile is -memprofile: where W4 writes a heap profile of mtcp's idle connections, once
// they are all established (the last run's is kept).
var heapProfile string

// cpuProfile is -cpuprofile: where the first mtcp run's CPU profile goes.
var cpuProfile string

// startCPUProfile starts the CPU profile for the run about to start if it is the first mtcp
// run and -cpuprofile asks for one; the function it returns stops it and writes the file.
func startCPUProfile(mtcp bool) (stop func() error, err error) {
	if cpuProfile == "" || !mtcp {
		return func() error { return nil }, nil
	}
	f, err := os.Create(cpuProfile)
	if err != nil {
		return nil, err
	}
	cpuProfile = ""
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
