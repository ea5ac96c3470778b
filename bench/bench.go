package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// config is what the command line chose.
type config struct {
	workloads    []string // workload IDs, in order
	runs         int
	bulkBytes    int64     // W1, W1p
	parallel     []int     // W1p's connection counts
	dials        int       // W2
	echoes       int       // W3
	echoWindow   int       // W3
	idleConns    []int     // W4's connection counts
	faultBytes   int64     // W5
	losses       []float64 // W5's loss rates
	dup, reorder float64   // W5
	seed         uint64    // W5
	roundTrips   int       // W6
	mtcpMaxConns int       // > 0: mtcp's connection table, off its default
	timeout      time.Duration
	json         bool
}

// allWorkloads lists the workloads in the order they run.
var allWorkloads = []string{"W1", "W1p", "W2", "W3", "W4", "W5", "W6"}

// defaultConfig is the full bench.
func defaultConfig() config {
	return config{
		workloads: allWorkloads, runs: 3,
		bulkBytes: 1 << 30, parallel: []int{4, 16},
		dials:  20000,
		echoes: 100000, echoWindow: 256,
		idleConns:  []int{1000, 10000, 50000},
		faultBytes: 256 << 20, losses: []float64{0.01, 0.05}, dup: 0.01, reorder: 0.01, seed: 1,
		roundTrips: 100000,
		timeout:    10 * time.Minute,
	}
}

// shortConfig is the smoke run: every workload, tiny sizes, one run.
func shortConfig() config {
	c := defaultConfig()
	c.runs = 1
	c.bulkBytes = 64 << 20
	c.parallel = []int{4}
	c.dials = 1000
	c.echoes = 10000
	c.idleConns = []int{500}
	c.faultBytes = 8 << 20
	c.roundTrips = 5000
	c.timeout = 20 * time.Second
	return c
}

// benchCase is one row of the report: a workload at one size, run on each stack.
type benchCase struct {
	workload string // W1 ... W6
	name     string // what the row measures
	// unit is the work unit; rate converts a sample to the rate printed, in rateUnit.
	unit     string
	rateUnit string
	rate     func(s sample) float64
	// cpuUnit names CPU per unit; cpuScale converts CPU seconds per unit into it.
	cpuUnit  string
	cpuScale float64
	extras   []string // keys of sample.extra to print
	param    int      // W4's connection count
	run      func(k kind) sample
}

func perSecond(s sample) float64 { return s.units / s.elapsed.Seconds() }

func gbits(s sample) float64 { return s.units * (1 << 30) * 8 / s.elapsed.Seconds() / 1e9 }

// cases expands the chosen workloads into rows.
func (c config) cases() []benchCase {
	var out []benchCase
	bulkCase := func(w, name string, run func(k kind) sample) benchCase {
		return benchCase{workload: w, name: name, unit: "GiB", rateUnit: "Gbit/s", rate: gbits,
			cpuUnit: "cpu-s/GiB", cpuScale: 1, extras: []string{"retransmits", "rx drops"}, run: run}
	}
	for _, w := range c.workloads {
		switch w {
		case "W1":
			out = append(out, bulkCase(w, fmt.Sprintf("bulk %s, 1 conn", size(c.bulkBytes)), func(k kind) sample {
				return bulk(k, c.bulkBytes, 1, nil, c.timeout)
			}))
		case "W1p":
			for _, n := range c.parallel {
				out = append(out, bulkCase(w, fmt.Sprintf("bulk %s, %d conns", size(c.bulkBytes), n), func(k kind) sample {
					return bulk(k, c.bulkBytes, n, nil, c.timeout)
				}))
			}
		case "W2":
			out = append(out, benchCase{workload: w, name: fmt.Sprintf("%d sequential conns, 1 B each way", c.dials),
				unit: "conn", rateUnit: "conn/s", rate: perSecond, cpuUnit: "cpu-µs/conn", cpuScale: 1e6,
				run: func(k kind) sample { return handshakes(k, c.dials, c.timeout) }})
		case "W3":
			out = append(out, benchCase{workload: w, name: fmt.Sprintf("%d ICMP echoes, %d outstanding", c.echoes, c.echoWindow),
				unit: "echo", rateUnit: "echo/s", rate: perSecond, cpuUnit: "cpu-µs/echo", cpuScale: 1e6,
				run: func(k kind) sample { return echoes(k, c.echoes, c.echoWindow, c.timeout) }})
		case "W4":
			for _, n := range c.idleConns {
				out = append(out, benchCase{workload: w, name: fmt.Sprintf("%d idle conns", n), param: n,
					unit: "conn", rateUnit: "conn/s", rate: perSecond, cpuUnit: "cpu-µs/conn", cpuScale: 1e6,
					extras: []string{"B/endpoint"},
					run:    func(k kind) sample { return idle(k, n, c.timeout) }})
			}
		case "W5":
			for _, loss := range c.losses {
				out = append(out, bulkCase(w, fmt.Sprintf("bulk %s, loss %g%%, dup %g%%, reorder %g%%", size(c.faultBytes), loss*100, c.dup*100, c.reorder*100),
					func(k kind) sample {
						return bulk(k, c.faultBytes, 1, faulty(c.seed, loss, c.dup, c.reorder), c.timeout)
					}))
			}
		case "W6":
			out = append(out, benchCase{workload: w, name: fmt.Sprintf("%d round trips of 64 B", c.roundTrips),
				unit: "rt", rateUnit: "rt/s", rate: perSecond, cpuUnit: "cpu-µs/rt", cpuScale: 1e6,
				extras: []string{"p50_us", "p99_us"},
				run:    func(k kind) sample { return roundTrips(k, c.roundTrips, c.timeout) }})
		}
	}
	return out
}

func size(b int64) string {
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", b>>30)
	case b >= 1<<20:
		return fmt.Sprintf("%d MiB", b>>20)
	}
	return fmt.Sprintf("%d KiB", b>>10)
}

// stackResult summarises one stack's runs of one case.
type stackResult struct {
	Stack      string             `json:"stack"`
	NonDefault string             `json:"non_default,omitempty"`
	Runs       int                `json:"runs_ok"`
	Failed     string             `json:"failed,omitempty"` // the first error, if any run failed
	Rate       float64            `json:"rate"`             // medians over the runs that succeeded
	CPU        float64            `json:"cpu_per_unit"`
	Allocs     float64            `json:"allocs_per_unit"`
	PeakHeap   float64            `json:"peak_heap_bytes"`
	Extra      map[string]float64 `json:"extra,omitempty"`

	samples []sample
}

// spread is the minimum, median and maximum of the per-run ratios.
type spread struct {
	Min float64 `json:"min"`
	Med float64 `json:"median"`
	Max float64 `json:"max"`
}

// caseResult is one row of the report.
type caseResult struct {
	Case     string      `json:"case"`
	Unit     string      `json:"unit"`
	RateUnit string      `json:"rate_unit"`
	CPUUnit  string      `json:"cpu_unit"`
	MTCP     stackResult `json:"mtcp"`
	GVisor   stackResult `json:"gvisor"`
	RateR    *spread     `json:"rate_ratio,omitempty"` // mtcp/gVisor, over the runs both finished
	CPUR     *spread     `json:"cpu_ratio,omitempty"`
	AllocsR  *spread     `json:"allocs_ratio,omitempty"`
	// Connections and BytesPerEndpoint (W4) are the case's connection count and mtcp's heap
	// per endpoint at it, a plain number for tools that read one figure per case.
	Connections      int      `json:"connections,omitempty"`
	BytesPerEndpoint *float64 `json:"bytes_per_endpoint,omitempty"`
	bc               benchCase
	ratios           [3][]float64
}

// workloadResult is one element of the -json array.
type workloadResult struct {
	Workload string `json:"workload"`
	// CPURatio is the median over every run pair of every case of mtcp's CPU per unit divided
	// by gVisor's; null when no pair finished on both stacks.
	CPURatio *float64 `json:"cpu_ratio"`
	// BytesPerEndpoint (W4) is mtcp's heap per endpoint at each connection count; a count
	// mtcp failed at is missing. GVisorBytesPerEndpoint is gVisor's.
	BytesPerEndpoint       map[string]float64 `json:"bytes_per_endpoint,omitempty"`
	GVisorBytesPerEndpoint map[string]float64 `json:"gvisor_bytes_per_endpoint,omitempty"`
	Cases                  []*caseResult      `json:"cases"`
}

// run runs the chosen cases, interleaving the stacks (mtcp, gVisor, mtcp, gVisor, ...), and
// writes the report to w; progress goes to progress.
func run(c config, w, progress io.Writer) ([]workloadResult, error) {
	kinds := [2]kind{mtcpKind(c.mtcpMaxConns), gvisorKind()}
	if !c.json {
		printHeader(w, c, kinds)
	}
	var results []workloadResult
	for _, bc := range c.cases() {
		cr := &caseResult{Case: bc.workload + " " + bc.name, Unit: bc.unit, RateUnit: bc.rateUnit, CPUUnit: bc.cpuUnit, bc: bc}
		cr.MTCP.Stack, cr.MTCP.NonDefault = kinds[0].name, kinds[0].nonDefault
		cr.GVisor.Stack = kinds[1].name
		for r := range c.runs {
			var pairOK [2]sample
			for i, k := range kinds {
				res := [2]*stackResult{&cr.MTCP, &cr.GVisor}[i]
				stopProfile, err := startCPUProfile(i == 0)
				if err != nil {
					return nil, err
				}
				s := bc.run(k)
				if err := stopProfile(); err != nil {
					return nil, err
				}
				if s.err == nil && (s.units <= 0 || s.elapsed <= 0) {
					s.err = fmt.Errorf("no work done")
				}
				fmt.Fprintf(progress, "%-40s run %d/%d %-7s %s\n", cr.Case, r+1, c.runs, k.name, brief(bc, s))
				res.samples = append(res.samples, s)
				pairOK[i] = s
			}
			if pairOK[0].err == nil && pairOK[1].err == nil {
				m, g := pairOK[0], pairOK[1]
				cr.ratios[0] = append(cr.ratios[0], bc.rate(m)/bc.rate(g))
				cr.ratios[1] = append(cr.ratios[1], (m.cpu.Seconds()/m.units)/(g.cpu.Seconds()/g.units))
				cr.ratios[2] = append(cr.ratios[2], (float64(m.mallocs)/m.units)/(float64(g.mallocs)/g.units))
			}
		}
		summarise(&cr.MTCP, bc)
		summarise(&cr.GVisor, bc)
		cr.RateR, cr.CPUR, cr.AllocsR = spreadOf(cr.ratios[0]), spreadOf(cr.ratios[1]), spreadOf(cr.ratios[2])
		if len(results) == 0 || results[len(results)-1].Workload != bc.workload {
			results = append(results, workloadResult{Workload: bc.workload})
		}
		wr := &results[len(results)-1]
		wr.Cases = append(wr.Cases, cr)
		if bc.workload == "W4" {
			if wr.BytesPerEndpoint == nil {
				wr.BytesPerEndpoint, wr.GVisorBytesPerEndpoint = map[string]float64{}, map[string]float64{}
			}
			cr.Connections = bc.param
			if cr.MTCP.Runs > 0 {
				b := math.Round(cr.MTCP.Extra["B/endpoint"])
				wr.BytesPerEndpoint[strconv.Itoa(bc.param)], cr.BytesPerEndpoint = b, &b
			}
			if cr.GVisor.Runs > 0 {
				wr.GVisorBytesPerEndpoint[strconv.Itoa(bc.param)] = math.Round(cr.GVisor.Extra["B/endpoint"])
			}
		}
	}
	for i := range results {
		var all []float64
		for _, cr := range results[i].Cases {
			all = append(all, cr.ratios[1]...)
		}
		if s := spreadOf(all); s != nil {
			results[i].CPURatio = &s.Med
		}
	}
	if c.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return results, enc.Encode(results)
	}
	table(w, results)
	return results, nil
}

// brief is one progress line.
func brief(bc benchCase, s sample) string {
	if s.err != nil {
		return "failed: " + s.err.Error()
	}
	return fmt.Sprintf("%.4g %s in %v, %.4g %s", bc.rate(s), bc.rateUnit, s.elapsed.Round(time.Millisecond),
		s.cpu.Seconds()/s.units*bc.cpuScale, bc.cpuUnit)
}

// summarise takes the medians of a stack's successful runs.
func summarise(r *stackResult, bc benchCase) {
	var rate, cpu, allocs, heap []float64
	extra := map[string][]float64{}
	for _, s := range r.samples {
		if s.err != nil {
			if r.Failed == "" {
				r.Failed = s.err.Error()
			}
			continue
		}
		r.Runs++
		rate = append(rate, bc.rate(s))
		cpu = append(cpu, s.cpu.Seconds()/s.units*bc.cpuScale)
		allocs = append(allocs, float64(s.mallocs)/s.units)
		heap = append(heap, float64(s.peakHeap))
		for k, v := range s.extra {
			extra[k] = append(extra[k], v)
		}
	}
	if r.Runs == 0 {
		return
	}
	r.Rate, r.CPU, r.Allocs, r.PeakHeap = median(rate), median(cpu), median(allocs), median(heap)
	r.Extra = map[string]float64{}
	for k, v := range extra {
		r.Extra[k] = median(v)
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func spreadOf(v []float64) *spread {
	if len(v) == 0 {
		return nil
	}
	return &spread{Min: slices.Min(v), Med: median(v), Max: slices.Max(v)}
}

// printHeader prints the machine and both stacks' settings.
func printHeader(w io.Writer, c config, kinds [2]kind) {
	fmt.Fprintf(w, "machine: %s, %d cores, %s, GOMAXPROCS %d, %s/%s\n", cpuModel(), runtime.NumCPU(), runtime.Version(),
		runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "runs: %d per stack per case, interleaved mtcp, gvisor, mtcp, gvisor, ...\n", c.runs)
	fmt.Fprintf(w, "mtcp TCP defaults: %s\n", mtcpDefaults())
	if kinds[0].nonDefault != "" {
		fmt.Fprintf(w, "NON-DEFAULT: %s runs with %s\n", kinds[0].name, kinds[0].nonDefault)
	}
	fmt.Fprintf(w, "gvisor TCP defaults: %s\n", gvisorDefaults())
	fmt.Fprintf(w, "link: in-process pipe, MTU %d; frames cross it as byte slices and are copied into each stack\n\n", mtu)
}

// cpuModel returns the "model name" of the first CPU in /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// table prints the report: per case one line per stack and one of ratios.
func table(w io.Writer, results []workloadResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "case\tstack\trate\tCPU/unit\tallocs/unit\tpeak heap\textra\t")
	for _, wr := range results {
		for _, cr := range wr.Cases {
			for i, r := range []stackResult{cr.MTCP, cr.GVisor} {
				name := ""
				if i == 0 {
					name = cr.Case
				}
				if r.Runs == 0 {
					fmt.Fprintf(tw, "%s\t%s\tfailed: %s\t\t\t\t\t\n", name, r.Stack, r.Failed)
					continue
				}
				var extra []string
				for _, k := range cr.bc.extras {
					if v, ok := r.Extra[k]; ok {
						extra = append(extra, fmt.Sprintf("%s %.4g", k, v))
					}
				}
				if r.Failed != "" {
					extra = append(extra, fmt.Sprintf("(%d runs failed: %s)", len(r.samples)-r.Runs, r.Failed))
				}
				fmt.Fprintf(tw, "%s\t%s\t%.4g %s\t%.4g %s\t%.4g\t%.1f MiB\t%s\t\n", name, r.Stack, r.Rate, cr.RateUnit,
					r.CPU, cr.CPUUnit, r.Allocs, r.PeakHeap/(1<<20), strings.Join(extra, ", "))
			}
			if cr.RateR == nil {
				fmt.Fprintf(tw, "\tmtcp/gvisor\tn/a (no run finished on both)\t\t\t\t\t\n")
			} else {
				f := func(s *spread) string { return fmt.Sprintf("%.3g/%.3g/%.3g", s.Min, s.Med, s.Max) }
				fmt.Fprintf(tw, "\tmtcp/gvisor min/med/max\t%s\t%s\t%s\t\t\t\n", f(cr.RateR), f(cr.CPUR), f(cr.AllocsR))
			}
		}
	}
	tw.Flush()
	for _, wr := range results {
		if wr.Workload != "W4" {
			continue
		}
		fmt.Fprintln(w, "\nW4 heap per endpoint (one side of a connection), by connection count:")
		for _, cr := range wr.Cases {
			f := func(r stackResult) string {
				if r.Runs == 0 {
					return "failed"
				}
				return fmt.Sprintf("%.0f B", r.Extra["B/endpoint"])
			}
			fmt.Fprintf(w, "  %6d conns: %s %s, gvisor %s\n", cr.bc.param, cr.MTCP.Stack, f(cr.MTCP), f(cr.GVisor))
		}
	}
}
