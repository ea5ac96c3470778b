package fault

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// SpecHelp describes the fault specification ParseSpec reads, for command-line help.
const SpecHelp = "comma-separated faults: loss=P%, dup=P%, reorder=P%, corrupt=P%, " +
	"delay=D (every frame) or delay=D@P% (that share of frames), seed=N, dir=both|in|out; " +
	"e.g. loss=5%,dup=1%,reorder=5%,corrupt=0.5%,delay=5ms,seed=1"

// ParseSpec reads a fault specification such as "loss=5%,dup=1%,reorder=5%,corrupt=0.5%,
// delay=5ms,seed=1" (see SpecHelp): rates are percentages ("5%") or fractions ("0.05"),
// delay is a Go duration, optionally "@rate" for only part of the frames (all of them
// otherwise). The Scheduler that delayed frames need is the caller's to set. An empty spec is
// no fault at all.
func ParseSpec(spec string) (Config, error) {
	var c Config
	seen := map[string]bool{}
	if strings.TrimSpace(spec) == "" {
		return c, nil
	}
	for _, item := range strings.Split(spec, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || val == "" {
			return c, fmt.Errorf("fault spec %q: %q is not key=value (%s)", spec, item, SpecHelp)
		}
		if seen[key] {
			return c, fmt.Errorf("fault spec %q: %s given twice", spec, key)
		}
		seen[key] = true
		var err error
		switch key {
		case "loss", "drop":
			c.Drop, err = parseRate(val)
		case "dup", "duplicate":
			c.Duplicate, err = parseRate(val)
		case "reorder":
			c.Reorder, err = parseRate(val)
		case "corrupt":
			c.Corrupt, err = parseRate(val)
		case "delay":
			d, rate, hasRate := strings.Cut(val, "@")
			c.DelayBy, err = time.ParseDuration(d)
			if err == nil && c.DelayBy <= 0 {
				err = fmt.Errorf("%v is not a positive duration", c.DelayBy)
			}
			c.Delay = 1
			if err == nil && hasRate {
				c.Delay, err = parseRate(rate)
			}
		case "seed":
			c.Seed, err = strconv.ParseUint(val, 10, 64)
		case "dir", "direction":
			switch val {
			case "both":
				c.Direction = Both
			case "in", "inbound":
				c.Direction = Inbound
			case "out", "outbound":
				c.Direction = Outbound
			default:
				err = fmt.Errorf("%q is not both, in or out", val)
			}
		default:
			return c, fmt.Errorf("fault spec %q: unknown fault %q (%s)", spec, key, SpecHelp)
		}
		if err != nil {
			return c, fmt.Errorf("fault spec %q: %s=%s: %v", spec, key, val, err)
		}
	}
	return c, nil
}

// parseRate reads "5%" as 0.05, or a fraction such as "0.05" as itself; it must lie in [0, 1].
func parseRate(s string) (float64, error) {
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a rate such as 5%% or 0.05", s)
	}
	if pct {
		v /= 100
	}
	if math.IsNaN(v) || v < 0 || v > 1 {
		return 0, fmt.Errorf("%s is outside 0..100%%", s)
	}
	return v, nil
}

// String writes c back as a specification ParseSpec reads, listing the faults that are on.
func (c Config) String() string {
	var parts []string
	for _, r := range []struct {
		key  string
		rate float64
	}{{"loss", c.Drop}, {"dup", c.Duplicate}, {"reorder", c.Reorder}, {"corrupt", c.Corrupt}} {
		if r.rate > 0 {
			parts = append(parts, fmt.Sprintf("%s=%.6g%%", r.key, r.rate*100))
		}
	}
	if c.Delay > 0 {
		d := "delay=" + c.DelayBy.String()
		if c.Delay < 1 {
			d += fmt.Sprintf("@%.6g%%", c.Delay*100)
		}
		parts = append(parts, d)
	}
	if c.Direction != Both {
		parts = append(parts, "dir="+c.Direction.String())
	}
	parts = append(parts, fmt.Sprintf("seed=%d", c.Seed))
	return strings.Join(parts, ",")
}
