package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// serverStats are the server's own figures, read from the
// process_cpu_seconds_total and process_resident_memory_bytes series of
// every instance's /metrics and summed.
type serverStats struct {
	cpu time.Duration
	rss float64 // bytes
	ok  bool    // every instance answered
}

// serverStats reads the instances' /metrics.
func (c *client) serverStats(ctx context.Context) serverStats {
	st := serverStats{ok: true}
	for _, base := range c.bases {
		cpu, rss, err := c.metrics(ctx, base)
		if err != nil {
			st.ok = false
			continue
		}
		st.cpu += time.Duration(cpu * float64(time.Second))
		st.rss += rss
	}
	return st
}

func (c *client) metrics(ctx context.Context, base string) (cpu, rss float64, err error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/metrics", nil)
	if err != nil {
		return 0, 0, err
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, 0, &statusError{status: res.StatusCode}
	}
	return parseProcessMetrics(res.Body)
}

// parseProcessMetrics finds the process collector's CPU seconds and
// resident bytes in a Prometheus text exposition.
func parseProcessMetrics(r io.Reader) (cpu, rss float64, err error) {
	found := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "process_cpu_seconds_total":
			cpu, err = strconv.ParseFloat(value, 64)
			found++
		case "process_resident_memory_bytes":
			rss, err = strconv.ParseFloat(value, 64)
			found++
		}
		if err != nil {
			return 0, 0, err
		}
	}
	if found < 2 {
		return 0, 0, fmt.Errorf("no process metrics")
	}
	return cpu, rss, sc.Err()
}

// minuteRow is one minute of a -minutes run.
type minuteRow struct {
	ok        map[string]int // successes per operation
	failed    int
	toolCPU   time.Duration
	serverCPU time.Duration // 0 when /metrics did not answer
	serverRSS float64
}

func (r minuteRow) ops() int {
	n := 0
	for _, k := range r.ok {
		n += k
	}
	return n
}

// perOp is a CPU time per operation of the row, as "0.41 ms".
func perOp(cpu time.Duration, ops int) string {
	if cpu <= 0 || ops == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f ms", float64(cpu)/float64(ops)/float64(time.Millisecond))
}

// line is the row as it is printed when its minute ends.
func (r minuteRow) line(i int, span time.Duration, ops []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "minute %d:", i+1)
	for _, op := range ops {
		if n := r.ok[op]; n > 0 {
			fmt.Fprintf(&b, "  %s %.0f/s", op, float64(n)/span.Seconds())
		}
	}
	fmt.Fprintf(&b, "  errors %d  CPU per op: server %s, load tool %s", r.failed, perOp(r.serverCPU, r.ops()), perOp(r.toolCPU, r.ops()))
	if r.serverRSS > 0 {
		fmt.Fprintf(&b, "  server RSS %.0f MiB", r.serverRSS/(1<<20))
	}
	return b.String()
}

// minutes prints a line per minute until stop closes, and returns the
// rows; the caller prints the summary.
func minutes(ctx context.Context, c *client, st *stats, out io.Writer, stop <-chan struct{}, measured []string) []minuteRow {
	var rows []minuteRow
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	st.window() // set-up does not count
	tool0, srv0 := cpuTime(), c.serverStats(ctx)
	for {
		select {
		case <-stop:
			return rows
		case <-t.C:
		}
		ok, failed := st.window()
		tool1, srv1 := cpuTime(), c.serverStats(ctx)
		row := minuteRow{ok: ok, failed: failed, toolCPU: tool1 - tool0, serverRSS: srv1.rss}
		if srv0.ok && srv1.ok {
			row.serverCPU = srv1.cpu - srv0.cpu
		}
		tool0, srv0 = tool1, srv1
		rows = append(rows, row)
		fmt.Fprintln(out, row.line(len(rows)-1, time.Minute, measured))
	}
}

// printMinutes writes how each operation's rate moved from the first
// minute to the last: the decay the -minutes run is for.
func printMinutes(w io.Writer, rows []minuteRow, measured []string) {
	if len(rows) < 2 {
		return
	}
	first, last := rows[0], rows[len(rows)-1]
	fmt.Fprintf(w, "\nper minute (%d minutes): last minute against the first\n", len(rows))
	for _, op := range measured {
		if first.ok[op] == 0 {
			continue
		}
		var series []string
		for _, r := range rows {
			series = append(series, fmt.Sprintf("%.0f", float64(r.ok[op])/60))
		}
		change := 100 * (float64(last.ok[op]) - float64(first.ok[op])) / float64(first.ok[op])
		fmt.Fprintf(w, "%-10s %+.1f%%  (per second, minute by minute: %s)\n", op, change, strings.Join(series, " "))
	}
	var rss []float64
	for _, r := range rows {
		if r.serverRSS > 0 {
			rss = append(rss, r.serverRSS)
		}
	}
	if len(rss) > 1 {
		fmt.Fprintf(w, "server RSS: %.0f MiB in minute 1, %.0f MiB in the last, at most %.0f MiB\n",
			rss[0]/(1<<20), rss[len(rss)-1]/(1<<20), slices.Max(rss)/(1<<20))
	}
}
