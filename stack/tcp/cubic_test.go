package tcp

import (
	"math"
	"testing"
	"time"
)

// After a loss at a window of 100 segments on a 100 ms path, CUBIC's window comes down to 70,
// climbs back along the cubic curve to 100 at K = cbrt(100·0.3/0.4) ≈ 4.2 s, flat around it,
// then past it (RFC 9438 4.2); Reno, from the same loss, is at 50 plus one segment per round
// trip. (On a short path the Reno-friendly estimate, 4.3, would lead instead.)
func TestCUBICGrowsBackAlongTheCurve(t *testing.T) {
	for _, mode := range []CongestionMode{CongestionCUBIC, CongestionReno} {
		c, h := established(t, 1<<20)
		c.layer.cfg.Congestion = mode
		mss := c.smss()
		c.rtt.srtt, c.rtt.hasSample = 100*time.Millisecond, true
		c.cc.cwnd = 100 * mss
		c.cc.ssthresh = c.lossThreshold(c.cc.cwnd)
		c.cc.cwnd = c.cc.ssthresh
		k := math.Cbrt(100 * (1 - cubicBeta) / cubicC)
		window := func() float64 { return float64(c.cc.cwnd) / float64(mss) }
		if mode == CongestionCUBIC && math.Abs(window()-70) > 0.5 || mode == CongestionReno && math.Abs(window()-50) > 0.5 {
			t.Fatalf("%v: %.1f segments after the loss", mode, window())
		}
		now := h.now
		at := map[string]float64{}
		for rtt := 0; rtt < 100; rtt++ { // 10 s of 100 ms round trips, each acknowledging a window
			before := window()
			for range int(before) {
				c.cc.cwnd += c.avoidanceIncrease(now, mss)
			}
			if window() > 1.5*before+1 {
				t.Fatalf("%v: %.1f to %.1f segments in one round trip", mode, before, window())
			}
			now = now.Add(100 * time.Millisecond)
			switch e := now.Sub(h.now).Seconds(); {
			case math.Abs(e-k) < 0.05:
				at["K"] = window()
			case math.Abs(e-2*k) < 0.05:
				at["2K"] = window()
			}
		}
		t.Logf("%v: %.1f segments at K = %.2f s, %.1f at 2K", mode, at["K"], k, at["2K"])
		switch mode {
		case CongestionCUBIC:
			if math.Abs(at["K"]-100) > 5 || at["2K"] < 110 {
				t.Fatalf("CUBIC: %.1f segments at K (want about 100), %.1f at 2K (want past 110)", at["K"], at["2K"])
			}
		case CongestionReno: // one segment per 100 ms round trip
			want := 50 + k/0.1
			if math.Abs(at["K"]-want) > 0.05*want {
				t.Fatalf("Reno: %.1f segments at K, want about %.0f", at["K"], want)
			}
		}
	}
}
