// Command sesame-load drives a running Sesame deployment with concurrent
// virtual users and reports per-operation throughput and latency.
//
// Each virtual user signs up by email code (reading the code from an SMTP
// sink the tool runs: start the server with SESAME_SMTP_URL pointing at
// -smtp-listen, and SESAME_RATE_LIMITS=off), registers a passkey with a
// software authenticator, then loops a weighted mix of complete passkey
// sign-ins, email-code sign-ins, refreshes, /api/me calls and complete
// OpenID Connect code logins of an app (-oidc-client) for -duration
// (or -minutes, with a line per minute and the change from the first
// minute to the last, to show decay). A progress line comes every
// -progress; at the end, a table of count, rate, p50/p95/p99/max latency
// and errors by status per operation, and the CPU per operation of the
// server (from its /metrics) beside the load tool's own.
//
//	sesame-load -url http://localhost:8080 -users 32 -duration 30s -mix passkey=1
//
// Several comma-separated -url values spread every user's requests over
// the instances in turn. See docs/performance.md; `make load` runs it
// against a local server.
package main

import (
	"context"
	crand "crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// config is what the flags set.
type config struct {
	URLs       []string
	Users      int
	Accounts   int // accounts in all, shared out among the users; at least Users
	Duration   time.Duration
	Mix        mix
	SMTPListen string
	Progress   time.Duration
	Timeout    time.Duration
	JSON       string  // file for the results as JSON; "" for none
	Rate       float64 // operations per second over all users; 0: as fast as they go
	Logout     bool    // end an account's previous session when it signs in again
	Minutes    int     // run this many minutes, printing each minute's rates; 0: -duration
	OIDCClient string  // file with `sesame clients add --json` output, for the oidc operation
	CPUProfile string  // file for a CPU profile of the tool itself over the measured run; "" for none
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if os.Getenv("GOGC") == "" {
		// The heap is small and short-lived: collect it less often, for
		// the tool's CPU.
		debug.SetGCPercent(400)
	}
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "sesame-load:", err)
		}
		os.Exit(2)
	}
	sink, err := listenSink(cfg.SMTPListen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sesame-load: SMTP sink:", err)
		os.Exit(1)
	}
	defer sink.Close()
	fmt.Fprintf(os.Stderr, "SMTP sink on %s: start the server with SESAME_SMTP_URL=smtp://%s\n", sink.Addr(), sink.Addr())
	results, err := run(ctx, cfg, sink, os.Stdout)
	if err == nil && cfg.JSON != "" {
		err = writeJSONFile(cfg.JSON, results)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sesame-load:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("sesame-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	urls := fs.String("url", "http://localhost:8080", "base URL of the server; several, comma-separated, to spread the load")
	users := fs.Int("users", 16, "concurrent virtual users")
	accounts := fs.Int("accounts", 0, "accounts to sign up, shared out among the users (default: one per user)")
	duration := fs.Duration("duration", 30*time.Second, "how long to run the mix, after set-up")
	mixFlag := fs.String("mix", "passkey=4,email=1,refresh=10,me=25", "weights of the operations: passkey, email, refresh, me, oidc")
	oidcClient := fs.String("oidc-client", "", "for the oidc operation: a file holding the --json output of `sesame clients add --trusted` (scripts/load.sh makes one)")
	smtpListen := fs.String("smtp-listen", "127.0.0.1:2525", "address of the SMTP sink that reads the codes (the server's SESAME_SMTP_URL)")
	progress := fs.Duration("progress", 5*time.Second, "interval between progress lines; 0: none")
	timeout := fs.Duration("timeout", 10*time.Second, "timeout of each request and of each wait for mail")
	jsonOut := fs.String("json", "", "also write the results to this file as JSON")
	logout := fs.Bool("logout", false, "end an account's previous session when it signs in again (keeps sessions per account flat on long runs)")
	minutesFlag := fs.Int("minutes", 0, "run this many minutes instead of -duration, with a line per minute and the change from the first minute to the last")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the load tool itself, over the measured run, to this file (go tool pprof)")
	rate := fs.Float64("rate", 0, "operations per second in all, paced evenly over the users (for latency at a given load); 0: as fast as they go")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg := config{Users: *users, Accounts: max(*accounts, *users), Duration: *duration, SMTPListen: *smtpListen,
		Progress: *progress, Timeout: *timeout, JSON: *jsonOut, Rate: *rate, Logout: *logout, Minutes: *minutesFlag,
		OIDCClient: *oidcClient, CPUProfile: *cpuProfile}
	if cfg.Minutes > 0 {
		cfg.Duration = time.Duration(cfg.Minutes) * time.Minute
	}
	for _, u := range strings.Split(*urls, ",") {
		if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
			cfg.URLs = append(cfg.URLs, u)
		}
	}
	if len(cfg.URLs) == 0 || cfg.Users < 1 || cfg.Duration <= 0 || cfg.Rate < 0 {
		return cfg, errors.New("want at least one -url, -users ≥ 1, a positive -duration and a -rate ≥ 0")
	}
	var err error
	if cfg.Mix, err = parseMix(*mixFlag); err != nil {
		return cfg, err
	}
	if slices.Contains(cfg.Mix.ops, opOIDC) && cfg.OIDCClient == "" {
		return cfg, errNoOIDCClient
	}
	return cfg, nil
}

// run signs the users up, runs the mix for cfg.Duration, prints the
// results to out and returns them.
func run(ctx context.Context, cfg config, codes codes, out io.Writer) ([]Result, error) {
	c, err := newClient(cfg.URLs, cfg.Users+8, cfg.Timeout)
	if err != nil {
		return nil, err
	}
	origin, err := c.publicURL(ctx)
	if err != nil {
		return nil, err
	}
	var app *oidcClient
	if cfg.OIDCClient != "" {
		if app, err = readOIDCClient(cfg.OIDCClient); err != nil {
			return nil, err
		}
	}
	runID := make([]byte, 4)
	_, _ = crand.Read(runID)
	st := newStats()
	users := make([]*vu, cfg.Users)
	for i := range users {
		users[i] = &vu{c: c, codes: codes, stats: st, origin: origin, timeout: cfg.Timeout, logout: cfg.Logout, app: app,
			rng: rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))}
	}
	for n := range cfg.Accounts {
		u := users[n%cfg.Users]
		u.accounts = append(u.accounts, &account{email: fmt.Sprintf("load-%x-%d@example.com", runID, n)})
	}

	pace := "as fast as they go"
	if cfg.Rate > 0 {
		pace = fmt.Sprintf("%.0f ops/s in all", cfg.Rate)
	}
	fmt.Fprintf(out, "sesame-load: %d users (%s), %d accounts, mix %s, %s against %s (public URL %s)\n",
		cfg.Users, pace, cfg.Accounts, cfg.Mix, cfg.Duration, strings.Join(cfg.URLs, ", "), origin)
	setupStart := time.Now()
	ready := make([]bool, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := u.setup(ctx); err != nil {
				fmt.Fprintf(out, "user %d: set-up failed: %v\n", i, err)
				return
			}
			ready[i] = true
		}()
	}
	wg.Wait()
	n := 0
	for _, ok := range ready {
		if ok {
			n++
		}
	}
	if n == 0 {
		return st.results(0, func(string) bool { return false }), errors.New("no user finished set-up")
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	fmt.Fprintf(out, "set-up: %d of %d users ready in %s\n", n, len(users), time.Since(setupStart).Round(time.Millisecond))

	if cfg.CPUProfile != "" {
		stopProfile, err := startCPUProfile(cfg.CPUProfile)
		if err != nil {
			return nil, err
		}
		defer stopProfile()
	}
	cpu0, srv0 := cpuTime(), c.serverStats(ctx)
	measured := slices.DeleteFunc(slices.Clone(mixOps), func(op string) bool { return !slices.Contains(cfg.Mix.ops, op) })
	if cfg.Logout {
		measured = append(measured, opLogout)
	}
	var rows []minuteRow
	stopMinutes, minutesDone := make(chan struct{}), make(chan struct{})
	if cfg.Minutes > 0 {
		go func() { defer close(minutesDone); rows = minutes(ctx, c, st, out, stopMinutes, measured) }()
	} else {
		close(minutesDone)
	}
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	start := time.Now()
	stopProgress := make(chan struct{})
	var pwg sync.WaitGroup
	if cfg.Progress > 0 {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			t := time.NewTicker(cfg.Progress)
			defer t.Stop()
			st.progress(0, cfg.Progress) // reset the interval counts after set-up
			for {
				select {
				case <-stopProgress:
					return
				case <-t.C:
					fmt.Fprintln(out, st.progress(time.Since(start), cfg.Progress))
				}
			}
		}()
	}
	for i, u := range users {
		if !ready[i] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var every time.Duration
			if cfg.Rate > 0 {
				every = time.Duration(float64(n) / cfg.Rate * float64(time.Second))
			}
			u.loop(runCtx, cfg.Mix, every)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu, srv1 := cpuTime()-cpu0, c.serverStats(ctx)
	close(stopProgress)
	close(stopMinutes)
	pwg.Wait()
	<-minutesDone

	results := st.results(elapsed, func(op string) bool { return op == opLogout || slices.Contains(mixOps, op) })
	printResults(out, results, elapsed)
	printMinutes(out, rows, measured)
	ops := 0
	for _, r := range results {
		if r.Measure {
			ops += r.Count + r.ErrSum
		}
	}
	fmt.Fprintf(out, "load tool CPU: %.1f s over %.1f s (%.0f%% of %d cores)\n",
		cpu.Seconds(), elapsed.Seconds(), 100*cpu.Seconds()/elapsed.Seconds()/float64(runtime.NumCPU()), runtime.NumCPU())
	server := "- (its /metrics did not answer)"
	if srv0.ok && srv1.ok {
		server = perOp(srv1.cpu-srv0.cpu, ops)
	}
	fmt.Fprintf(out, "CPU per operation (%d operations): server %s, load tool %s\n", ops, server, perOp(cpu, ops))
	return results, ctx.Err()
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startCPUProfile profiles the tool's own CPU into name until the
// returned func is called.
func startCPUProfile(name string) (stop func(), err error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func writeJSONFile(name string, rs []Result) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := writeJSON(f, rs); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// mix is the weight of each operation.
type mix struct {
	ops     []string
	weights []float64 // cumulative
}

// parseMix reads "passkey=4,email=1,refresh=10,me=25"; operations left out
// weigh 0.
func parseMix(s string) (mix, error) {
	var m mix
	total := 0.0
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		name, w, ok := strings.Cut(part, "=")
		weight, err := strconv.ParseFloat(w, 64)
		if !ok || err != nil || weight < 0 || !slices.Contains(mixOps, name) {
			return m, fmt.Errorf("mix %q: want name=weight,… with names %s", s, strings.Join(mixOps, ", "))
		}
		if weight == 0 {
			continue
		}
		total += weight
		m.ops = append(m.ops, name)
		m.weights = append(m.weights, total)
	}
	if total == 0 {
		return m, fmt.Errorf("mix %q: no operation has a weight", s)
	}
	for i := range m.weights {
		m.weights[i] /= total
	}
	return m, nil
}

func (m mix) pick(r *rand.Rand) string {
	x := r.Float64()
	for i, w := range m.weights {
		if x < w {
			return m.ops[i]
		}
	}
	return m.ops[len(m.ops)-1]
}

func (m mix) String() string {
	var parts []string
	prev := 0.0
	for i, op := range m.ops {
		parts = append(parts, fmt.Sprintf("%s=%.0f%%", op, 100*(m.weights[i]-prev)))
		prev = m.weights[i]
	}
	return strings.Join(parts, ",")
}
