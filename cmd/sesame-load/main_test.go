package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/internal/testsmtp"
	"github.com/sesame-auth/sesame/oidc"
)

// testCodes reads codes from the test server's own SMTP server, which the
// tool's sink stands in for against a real deployment.
type testCodes struct {
	smtp *testsmtp.Server
	mu   sync.Mutex
	seen map[string]int // per address: messages already looked at
}

func (c *testCodes) Forget(email string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[email] = c.count(email)
}

func (c *testCodes) count(email string) int {
	n := 0
	for _, m := range c.smtp.Messages() {
		if len(m.To) > 0 && m.To[0] == email {
			n++
		}
	}
	return n
}

func (c *testCodes) Code(ctx context.Context, email string) (string, error) {
	for {
		c.mu.Lock()
		i := 0
		for _, m := range c.smtp.Messages() {
			if len(m.To) == 0 || m.To[0] != email {
				continue
			}
			i++
			if i <= c.seen[email] {
				continue
			}
			c.seen[email] = i
			if testsmtp.ExtractLinkToken(m.Text) != "" {
				c.mu.Unlock()
				return testsmtp.ExtractCode(m.Text), nil
			}
		}
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return "", errNoMail
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestSmoke runs the tool for two seconds against a real server, so that
// it does not rot. Rate limits are on in testserver, so 429s are allowed;
// nothing else is.
func TestSmoke(t *testing.T) {
	e := testserver.New(t, testserver.Options{Listen: true})
	cfg, err := parseFlags([]string{"-url", e.BaseURL, "-users", "2", "-accounts", "3", "-duration", "2s",
		"-progress", "1s", "-mix", "passkey=2,email=1,refresh=4,me=4", "-logout"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	results, err := run(context.Background(), cfg, &testCodes{smtp: e.SMTP, seen: map[string]int{}}, &out)
	t.Logf("\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	byOp := map[string]Result{}
	for _, r := range results {
		byOp[r.Op] = r
		for k := range r.Errors {
			if !strings.HasPrefix(k, "429") {
				t.Errorf("%s: error %q; only 429 (rate limits on) is expected", r.Op, k)
			}
		}
	}
	for _, op := range []string{opSignup, opRegister, opPasskey, opRefresh, opMe, opLogout} {
		if byOp[op].Count == 0 {
			t.Errorf("no %s succeeded", op)
		}
	}
	if byOp[opSignup].Count != 3 || byOp[opRegister].Count != 3 {
		t.Errorf("set-up: %d sign-ups and %d passkeys; want 3 each", byOp[opSignup].Count, byOp[opRegister].Count)
	}
	if !strings.Contains(out.String(), "p99") || strings.Count(out.String(), "errors ") < 1 {
		t.Errorf("no results table or progress line in the output")
	}
}

// TestSmokeOIDC runs the oidc operation for two seconds: complete code
// logins of a trusted app registered as `sesame clients add --json`
// describes it, each one authorize, accept, token and userinfo. Rate
// limits are off, as scripts/load.sh runs the server: on an idle machine
// two users pass the per-IP limit of the OAuth endpoints within the two
// seconds, and every error must count here.
func TestSmokeOIDC(t *testing.T) {
	e := testserver.New(t, testserver.Options{Listen: true, RateLimits: "off"})
	c, secret, err := e.App.OIDC.Register(context.Background(), oidc.NewClient{Name: "load", Trusted: true,
		RedirectURIs: []string{"http://127.0.0.1/sesame-load/callback"}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "client.json")
	b, _ := json.Marshal(map[string]any{"client_id": c.ID, "client_secret": secret, "redirect_uris": c.RedirectURIs})
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := parseFlags([]string{"-url", e.BaseURL, "-mix", "oidc=1"}, &bytes.Buffer{}); err == nil {
		t.Error("-mix oidc=1 without -oidc-client was accepted")
	}
	cfg, err := parseFlags([]string{"-url", e.BaseURL, "-users", "2", "-duration", "2s", "-progress", "0",
		"-mix", "oidc=1", "-oidc-client", file}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	results, err := run(context.Background(), cfg, &testCodes{smtp: e.SMTP, seen: map[string]int{}}, &out)
	t.Logf("\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Op == opOIDC && (r.Count == 0 || r.ErrSum != 0) {
			t.Errorf("oidc: %d logins, errors %v; want some and none failed", r.Count, r.Errors)
		}
	}
}

func TestParseMix(t *testing.T) {
	m, err := parseMix("passkey=1, me=3")
	if err != nil || m.String() != "passkey=25%,me=75%" {
		t.Fatalf(`parseMix("passkey=1, me=3") = %v, %v; want passkey=25%%,me=75%%`, m, err)
	}
	for _, bad := range []string{"", "passkey=0", "login=1", "me=x", "me=-1"} {
		if _, err := parseMix(bad); err == nil {
			t.Errorf("parseMix(%q) succeeded; want an error", bad)
		}
	}
}

func TestQuantile(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i))
	}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50}, {0.95, 95}, {0.99, 99}, {1, 100}, {0, 1}} {
		if got := quantile(lat, tt.q); got != tt.want {
			t.Errorf("quantile(1…100, %v) = %d; want %d", tt.q, got, tt.want)
		}
	}
}

func TestParseProcessMetrics(t *testing.T) {
	text := "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n" +
		"# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 12.5\n" +
		"process_resident_memory_bytes 4.194304e+07\ngo_goroutines 12\n"
	cpu, rss, err := parseProcessMetrics(strings.NewReader(text))
	if err != nil || cpu != 12.5 || rss != 41943040 {
		t.Fatalf("parseProcessMetrics = %v, %v, %v; want 12.5, 41943040", cpu, rss, err)
	}
	if _, _, err := parseProcessMetrics(strings.NewReader("go_goroutines 1\n")); err == nil {
		t.Error("no process metrics: want an error")
	}
}

// TestMinutesSummary: the per-minute summary gives each operation's rate
// minute by minute and the change from the first minute to the last.
func TestMinutesSummary(t *testing.T) {
	rows := []minuteRow{
		{ok: map[string]int{opPasskey: 60000, opMe: 6000}, serverRSS: 40 << 20},
		{ok: map[string]int{opPasskey: 57000, opMe: 6000}, serverRSS: 44 << 20},
		{ok: map[string]int{opPasskey: 54000, opMe: 6000}, serverRSS: 42 << 20},
	}
	var out bytes.Buffer
	printMinutes(&out, rows, []string{opPasskey, opMe})
	for _, want := range []string{"passkey    -10.0%  (per second, minute by minute: 1000 950 900)", "me         +0.0%",
		"server RSS: 40 MiB in minute 1, 42 MiB in the last, at most 44 MiB"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	line := minuteRow{ok: map[string]int{opPasskey: 600}, toolCPU: 300 * time.Millisecond, serverCPU: 1200 * time.Millisecond}.line(0, time.Minute, []string{opPasskey})
	if want := "minute 1:  passkey 10/s  errors 0  CPU per op: server 2.000 ms, load tool 0.500 ms"; line != want {
		t.Errorf("line = %q; want %q", line, want)
	}
}
