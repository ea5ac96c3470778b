package stack_test

import (
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/stack"
	"github.com/mtcp-go/mtcp/stack/link/fault"
	"github.com/mtcp-go/mtcp/stack/link/pipe"
	"github.com/mtcp-go/mtcp/stack/tcp"
)

// The benchmarks run two runtime stacks in one process over a pipe (MTU 1500, so MSS 1460),
// on the real clock: what an application embedding the stack would see, minus a real link.

// BenchmarkBulk sends a stream over one connection: b.N chunks of 64 KiB. It reports the
// throughput, the process CPU time per GiB moved (both stacks) and the heap allocations per
// segment (data and ACKs, both directions).
func BenchmarkBulk(b *testing.B) {
	client, server := pair(b, tcp.Config{})
	bulk(b, client, server)
}

// BenchmarkBulkLossy is BenchmarkBulk through the bench's W5 link: the client's side of the
// pipe drops 1 % of the frames, duplicates 1 % and reorders 1 %, both directions (seed 1). The
// stacks run at their defaults.
func BenchmarkBulkLossy(b *testing.B) {
	a, p := pipe.New(1500)
	inj, err := fault.New(a, fault.Config{Seed: 1, Drop: 0.01, Duplicate: 0.01, Reorder: 0.01})
	if err != nil {
		b.Fatal(err)
	}
	client, err := stack.New(stack.Config{Link: inj, Addr: clientPrefix})
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	server, err := stack.New(stack.Config{Link: p, Addr: serverPrefix})
	if err != nil {
		b.Fatal(err)
	}
	defer server.Close()
	bulk(b, client, server)
}

// bulk sends b.N chunks of 64 KiB from client to server over one connection and reports the
// figures of BenchmarkBulk.
func bulk(b *testing.B, client, server *stack.Stack) {
	const chunk = 64 << 10
	cc, sc := connected(b, client, server, 80)
	buf := make([]byte, chunk)
	total := int64(b.N) * chunk
	received := make(chan error, 1)
	b.SetBytes(chunk)
	b.ReportAllocs()

	segsBefore := client.Stats().TCP.SegmentsOut + server.Stats().TCP.SegmentsOut
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	b.ResetTimer()
	start := time.Now()
	cpuStart, cpuOK := processCPU()
	go func() {
		rbuf := make([]byte, chunk)
		var n int64
		for n < total {
			m, err := sc.Read(rbuf)
			n += int64(m)
			if err != nil {
				received <- err
				return
			}
		}
		received <- nil
	}()
	for range b.N {
		if _, err := cc.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-received; err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	cpuEnd, _ := processCPU()
	b.StopTimer()
	if cpuOK {
		// Both stacks, the application goroutines and the GC: the CPU one GiB costs end to end.
		b.ReportMetric((cpuEnd-cpuStart).Seconds()/(float64(total)/(1<<30)), "cpu-s/GiB")
	}
	runtime.ReadMemStats(&ms)
	segs := client.Stats().TCP.SegmentsOut + server.Stats().TCP.SegmentsOut - segsBefore
	b.ReportMetric(float64(ms.Mallocs-mallocs)/float64(segs), "allocs/seg")
	b.ReportMetric(float64(total)*8/elapsed.Seconds()/1e9, "Gbit/s")
}

// BenchmarkHandshake opens a connection, sends a 1-byte request, reads the 1-byte response
// and closes, one connection at a time. It reports connections per second. The server closes
// first, so TIME-WAIT connections pile up on its side (default 2·MSL = 60 s); the table is
// made large enough for them.
func BenchmarkHandshake(b *testing.B) {
	client, server := pair(b, tcp.Config{MaxConnections: 1 << 20})
	ln, err := server.Listen(80)
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					b.Error(err)
				}
				return
			}
			wg.Go(func() {
				defer c.Close()
				var one [1]byte
				if _, err := io.ReadFull(c, one[:]); err != nil {
					b.Error(err)
					return
				}
				_, _ = c.Write(one[:])
			})
		}
	})
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		c, err := dial(client, serverAddr(80))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Write([]byte{'?'}); err != nil {
			b.Fatal(err)
		}
		var one [1]byte
		if _, err := io.ReadFull(c, one[:]); err != nil {
			b.Fatal(err)
		}
		_ = c.Close()
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "conn/s")
}

// BenchmarkIdleConnMemory opens 1000 established, idle connections and reports the heap they
// take: per endpoint (one side of a connection, what gVisor's figure counts) and per
// connection (both sides, since both stacks are in this process).
func BenchmarkIdleConnMemory(b *testing.B) {
	const n = 1000
	var perEndpoint float64
	for range b.N {
		perEndpoint = idleConnHeap(b, n) / (2 * n)
	}
	b.ReportMetric(perEndpoint, "B/endpoint")
	b.ReportMetric(2*perEndpoint, "B/conn")
}

func idleConnHeap(b *testing.B, n int) float64 {
	b.StopTimer()
	client, server := pair(b, tcp.Config{})
	ln, err := server.Listen(80)
	if err != nil {
		b.Fatal(err)
	}
	conns := make([]*stack.Conn, 0, 2*n)
	before := heap()
	b.StartTimer()
	accepted := goDo(func() ([]*stack.Conn, error) {
		var cs []*stack.Conn
		for range n {
			c, err := ln.AcceptTCP()
			if err != nil {
				return cs, err
			}
			cs = append(cs, c)
		}
		return cs, nil
	})
	for range n {
		c, err := dial(client, serverAddr(80))
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
	}
	cs, err := await(b, accepted)
	if err != nil {
		b.Fatal(err)
	}
	conns = append(conns, cs...)
	b.StopTimer()
	after := heap()
	runtime.KeepAlive(conns)
	_ = ln.Close()
	_ = client.Close()
	_ = server.Close()
	b.StartTimer()
	return float64(after) - float64(before)
}

func heap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
