package core_test

import (
	"testing"
	"time"

	"github.com/mtcp-go/mtcp/stack/link/fault"
	"github.com/mtcp-go/mtcp/stack/tcp"
)

// BenchmarkLossyTransfer moves 64 MiB from one core to another in virtual time through the
// seeded fault injector, 5 % of the frames lost in each direction (data and ACKs), 1 ms each
// way, with the loss recovery each sub-benchmark names: SACK with RACK-TLP (the default),
// SACK with RFC 6675's DupThresh alone, and NewReno without SACK. It reports, per transfer,
// the retransmission timeouts, the virtual time it took and the segments sent again; the
// wall-clock ns/op is the simulation's cost, not the protocol's. Run it with -benchtime=1x
// (one transfer per sub-benchmark, under a second of wall time each here).
func BenchmarkLossyTransfer(b *testing.B) {
	const size = 64 << 20
	for _, r := range []struct {
		name string
		cfg  tcp.Config
	}{
		{"sack-rack", tcp.Config{}},
		{"sack-rfc6675", tcp.Config{RACK: tcp.Off}},
		{"newreno", tcp.Config{SACK: tcp.Off}},
	} {
		b.Run(r.name, func(b *testing.B) {
			var rtos, rtx, seconds float64
			for i := range b.N {
				w := newWire2(b, &fault.Config{Seed: uint64(1 + i), Drop: 0.05}, r.cfg)
				d := transfer(b, w, size, 10*time.Hour)
				s := w.cores[0].Stats().TCP
				rtos += float64(s.Timeouts)
				rtx += float64(s.Retransmits)
				seconds += d.Seconds()
			}
			n := float64(b.N)
			b.ReportMetric(rtos/n, "rtos/64MiB")
			b.ReportMetric(seconds/n, "virtual-s/64MiB")
			b.ReportMetric(rtx/n, "retransmits/64MiB")
		})
	}
}
