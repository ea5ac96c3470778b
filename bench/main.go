// Command bench compares mtcp with gVisor's netstack on the same workloads, run through
// net.Conn with the same application code: two stacks of one kind in one process, joined by an
// in-process pipe whose frames are byte slices copied into each stack. `go run .` runs every
// workload at full size; see README.md for the flags, what each workload measures and the
// caveats.
//
// The bench is a module of its own so that mtcp's module never depends on gVisor.
package main

import (
	"flag"
	"fmt"
	"github.com/mtcp-go/mtcp/stack/tcp"
	"os"
	"strconv"
	"strings"
)

func main() {
	c, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if _, err := run(c, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// parseFlags reads the command line into a config.
func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	short := fs.Bool("short", false, "smoke run: tiny sizes, 1 run, every workload (under a minute)")
	workloads := fs.String("w", "", "workloads to run, comma-separated (default all: "+strings.Join(allWorkloads, ",")+")")
	runs := fs.Int("runs", 0, "runs per stack per case (default 3; 1 with -short)")
	bulkMiB := fs.Int64("bulk-mib", 0, "W1/W1p: MiB sent (default 1024)")
	parallel := fs.String("parallel", "", "W1p: connection counts (default 4,16)")
	dials := fs.Int("dials", 0, "W2: sequential connections (default 20000)")
	echoes := fs.Int("echoes", 0, "W3: echo requests (default 100000)")
	window := fs.Int("echo-window", 0, "W3: echo requests outstanding at most (default 256)")
	idle := fs.String("idle", "", "W4: idle connection counts (default 1000,10000,50000)")
	faultMiB := fs.Int64("fault-mib", 0, "W5: MiB sent through the fault link (default 256)")
	losses := fs.String("loss", "", "W5: loss rates in percent (default 1,5)")
	dup := fs.Float64("dup", 1, "W5: duplication rate in percent")
	reorder := fs.Float64("reorder", 1, "W5: reordering rate in percent")
	seed := fs.Uint64("seed", 1, "W5: seed of the fault injector")
	rts := fs.Int("rt", 0, "W6: round trips (default 100000)")
	maxConns := fs.Int("mtcp-max-conns", 0, fmt.Sprintf("NON-DEFAULT: mtcp's tcp.Config.MaxConnections (default: mtcp's own, %d)", tcp.DefaultMaxConnections))
	fs.StringVar(&heapProfile, "memprofile", "", "W4: write a heap profile of mtcp's idle connections to FILE (go tool pprof -sample_index=inuse_space FILE)")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the first mtcp run (the whole process, set-up included) to FILE (go tool pprof -top FILE)")
	timeout := fs.Duration("timeout", 0, "limit on one run of one case on one stack (default 10m; 20s with -short)")
	jsonOut := fs.Bool("json", false, "print a JSON array instead of the table")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	c := defaultConfig()
	if *short {
		c = shortConfig()
	}
	var err error
	if *workloads != "" {
		c.workloads = nil
		for _, w := range strings.Split(*workloads, ",") {
			w = strings.TrimSpace(w)
			if !contains(allWorkloads, w) {
				return c, fmt.Errorf("unknown workload %q (want one of %s)", w, strings.Join(allWorkloads, ","))
			}
			c.workloads = append(c.workloads, w)
		}
	}
	setInt := func(dst *int, v int) {
		if v > 0 {
			*dst = v
		}
	}
	setInt(&c.runs, *runs)
	setInt(&c.dials, *dials)
	setInt(&c.echoes, *echoes)
	setInt(&c.echoWindow, *window)
	setInt(&c.roundTrips, *rts)
	setInt(&c.mtcpMaxConns, *maxConns)
	if *bulkMiB > 0 {
		c.bulkBytes = *bulkMiB << 20
	}
	if *faultMiB > 0 {
		c.faultBytes = *faultMiB << 20
	}
	if *parallel != "" {
		if c.parallel, err = ints(*parallel); err != nil {
			return c, fmt.Errorf("-parallel: %w", err)
		}
	}
	if *idle != "" {
		if c.idleConns, err = ints(*idle); err != nil {
			return c, fmt.Errorf("-idle: %w", err)
		}
	}
	if *losses != "" {
		c.losses = nil
		for _, f := range strings.Split(*losses, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || v < 0 || v > 100 {
				return c, fmt.Errorf("-loss: bad rate %q", f)
			}
			c.losses = append(c.losses, v/100)
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, r := range []struct {
		name string
		v    float64
		dst  *float64
	}{{"dup", *dup, &c.dup}, {"reorder", *reorder, &c.reorder}} {
		if !set[r.name] {
			continue
		}
		if r.v < 0 || r.v > 100 {
			return c, fmt.Errorf("-%s: bad rate %v", r.name, r.v)
		}
		*r.dst = r.v / 100
	}
	c.seed = *seed
	if *timeout > 0 {
		c.timeout = *timeout
	}
	c.json = *jsonOut
	return c, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ints parses a comma-separated list of positive integers.
func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("bad count %q", f)
		}
		out = append(out, v)
	}
	return out, nil
}
