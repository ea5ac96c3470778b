package tcp

import (
	"math"
	"time"
)

// CUBIC (RFC 9438), the default congestion avoidance, as in Linux: after a loss the window
// grows along a cubic function of the time since, W_cubic(t) = C·(t-K)³ + W_max (4.2), fast
// while far below the window of the last loss, flat near it, probing past it; never slower
// than the Reno-friendly estimate W_est of an AIMD with the same β (4.3). Windows are counted
// in segments, as the RFC does. Under CongestionReno none of this runs: RFC 5681's halving
// and one segment per round trip.

const (
	cubicC    = 0.4 // RFC 9438 5: C
	cubicBeta = 0.7 // RFC 9438 4.6: β_cubic
	// cubicAlpha is α_cubic = 3(1-β)/(1+β) (RFC 9438 4.3): the AIMD increase that makes the
	// Reno-friendly estimate as fair to Reno as Reno.
	cubicAlpha = 3 * (1 - cubicBeta) / (1 + cubicBeta)
)

// cubicState is RFC 9438's per-connection state.
type cubicState struct {
	wMax  float64 // W_max: the window, in segments, when the last congestion event came
	k     float64 // K: seconds from the epoch's start until W_cubic reaches W_max again
	epoch instant // t_epoch: when the current congestion avoidance stage began; 0 before
	wEst  float64 // W_est, in segments
}

// cubicState returns the connection's CUBIC state, made if it has none: a connection that
// never leaves slow start never needs it.
func (c *Conn) cubicState() *cubicState {
	if c.cc.cubic == nil {
		c.cc.cubic = new(cubicState)
	}
	return c.cc.cubic
}

// cubicCongestion records a congestion event (RFC 9438 4.6, 4.7): W_max is the window before
// it, lowered further with fast convergence when it is below the previous one, and the next
// congestion avoidance stage starts a new epoch.
func (c *Conn) cubicCongestion() {
	s := c.cubicState()
	w := float64(c.cc.cwnd) / float64(c.smss())
	if w < s.wMax { // fast convergence: release bandwidth to newer flows
		s.wMax = w * (1 + cubicBeta) / 2
	} else {
		s.wMax = w
	}
	s.epoch = 0
}

// cubicIncrease is the congestion avoidance growth for an ACK of acked bytes (RFC 9438 4.2-4.5).
func (c *Conn) cubicIncrease(now time.Time, acked int) int {
	s := c.cubicState()
	mss := float64(c.smss())
	cwnd := float64(c.cc.cwnd) / mss
	if s.epoch == 0 { // the first ACK of this congestion avoidance stage
		s.epoch, s.wEst = c.layer.instant(now), cwnd
		if s.wMax <= cwnd {
			s.k, s.wMax = 0, cwnd
		} else {
			s.k = math.Cbrt((s.wMax - cwnd) / cubicC) // RFC 9438 4.2, equation 2
		}
	}
	rtt := c.rtt.srtt
	t := c.layer.since(now, s.epoch).Seconds()
	target := s.wCubic(t + rtt.Seconds())
	target = min(max(target, cwnd), 1.5*cwnd) // 4.4: at most 1.5 times cwnd per RTT
	// 4.3: the Reno-friendly estimate, α_cubic per RTT until it passes W_max, then Reno's 1.
	alpha := cubicAlpha
	if s.wEst >= s.wMax {
		alpha = 1
	}
	segs := float64(acked) / mss
	s.wEst += alpha * segs / cwnd
	var next float64
	if s.wCubic(t) < s.wEst { // the Reno-friendly region
		next = s.wEst
	} else { // concave or convex region: (target - cwnd) / cwnd per segment acknowledged
		next = cwnd + (target-cwnd)/cwnd*segs
	}
	return max(int(next*mss)-c.cc.cwnd, 0)
}

// wCubic is W_cubic(t), t seconds into the epoch (RFC 9438 4.2, equation 1).
func (s *cubicState) wCubic(t float64) float64 {
	d := t - s.k
	return cubicC*d*d*d + s.wMax
}
