package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// stats records every operation's latency and outcome. Safe for concurrent
// use.
type stats struct {
	mu  sync.Mutex
	ops map[string]*opStats
}

type opStats struct {
	ok       []time.Duration // latencies of the successes
	errors   map[string]int  // "429 rate_limited", "net" → count
	interval int             // completions since the last progress line
	failed   int             // failures since the last progress line
	minute   int             // successes since the last minute line
	mfailed  int             // failures since the last minute line
}

func newStats() *stats { return &stats{ops: map[string]*opStats{}} }

func (s *stats) op(name string) *opStats {
	o := s.ops[name]
	if o == nil {
		o = &opStats{errors: map[string]int{}}
		s.ops[name] = o
	}
	return o
}

// record counts one completed operation: err nil is a success.
func (s *stats) record(name string, d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.op(name)
	o.interval++
	if err == nil {
		o.ok = append(o.ok, d)
		o.minute++
		return
	}
	o.errors[errorKey(err)]++
	o.failed++
	o.mfailed++
}

// window returns, per operation, the successes since the last call, and
// the failures of all operations; then it starts a new window. The
// per-minute lines of -minutes are made from it.
func (s *stats) window() (ok map[string]int, failed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ok = map[string]int{}
	for name, o := range s.ops {
		ok[name] = o.minute
		failed += o.mfailed
		o.minute, o.mfailed = 0, 0
	}
	return ok, failed
}

// progress returns one line on the operations completed since the last
// call, which covered the past interval: the rate of each, and the
// failures among them.
func (s *stats) progress(elapsed, interval time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%6.0fs", elapsed.Seconds())
	errs := 0
	for _, name := range slices.Sorted(maps.Keys(s.ops)) {
		o := s.ops[name]
		if o.interval > 0 {
			fmt.Fprintf(&b, "  %s %.0f/s", name, float64(o.interval)/interval.Seconds())
		}
		errs += o.failed
		o.interval, o.failed = 0, 0
	}
	fmt.Fprintf(&b, "  errors %d", errs)
	return b.String()
}

// Result is one operation's figures over a run; -json writes them.
type Result struct {
	Op      string         `json:"op"`
	Count   int            `json:"count"`
	PerSec  float64        `json:"per_second"`
	P50     time.Duration  `json:"p50_ns"`
	P95     time.Duration  `json:"p95_ns"`
	P99     time.Duration  `json:"p99_ns"`
	Max     time.Duration  `json:"max_ns"`
	Errors  map[string]int `json:"errors,omitempty"`
	ErrSum  int            `json:"error_count"`
	Measure bool           `json:"measured"` // false for set-up operations
}

// results summarises every operation; rates are over elapsed.
func (s *stats) results(elapsed time.Duration, measured func(op string) bool) []Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Result
	for _, name := range slices.Sorted(maps.Keys(s.ops)) {
		o := s.ops[name]
		lat := slices.Clone(o.ok)
		slices.Sort(lat)
		r := Result{Op: name, Count: len(lat), Errors: maps.Clone(o.errors), Measure: measured(name)}
		for _, n := range o.errors {
			r.ErrSum += n
		}
		if elapsed > 0 {
			r.PerSec = float64(len(lat)) / elapsed.Seconds()
		}
		if len(lat) > 0 {
			r.P50, r.P95, r.P99, r.Max = quantile(lat, 0.50), quantile(lat, 0.95), quantile(lat, 0.99), lat[len(lat)-1]
		}
		out = append(out, r)
	}
	return out
}

// quantile returns the q-quantile of sorted latencies (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// printResults writes the table and the errors by status.
func printResults(w io.Writer, rs []Result, elapsed time.Duration) {
	fmt.Fprintf(w, "\n%-10s %9s %10s %9s %9s %9s %9s %7s\n", "operation", "count", "per sec", "p50", "p95", "p99", "max", "errors")
	for _, r := range rs {
		rate := fmt.Sprintf("%.1f", r.PerSec)
		if !r.Measure {
			rate = "(set-up)"
		}
		fmt.Fprintf(w, "%-10s %9d %10s %9s %9s %9s %9s %7d\n", r.Op, r.Count, rate, ms(r.P50), ms(r.P95), ms(r.P99), ms(r.Max), r.ErrSum)
	}
	fmt.Fprintf(w, "measured over %s\n", elapsed.Round(time.Millisecond))
	for _, r := range rs {
		if len(r.Errors) == 0 {
			continue
		}
		keys := slices.Collect(maps.Keys(r.Errors))
		sort.Slice(keys, func(i, j int) bool { return r.Errors[keys[i]] > r.Errors[keys[j]] })
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s ×%d", k, r.Errors[k]))
		}
		fmt.Fprintf(w, "errors in %s: %s\n", r.Op, strings.Join(parts, ", "))
	}
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

func writeJSON(w io.Writer, rs []Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rs)
}
