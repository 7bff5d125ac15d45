// Package testserver runs the whole of Sesame for end-to-end tests: the
// same wiring as cmd/sesame (internal/app) on a real SQLite file (or a
// PostgreSQL schema), with a real in-process SMTP server, a test clock and
// captured logs. Requests go through the Fiber app (app.Test) or, with
// Listen, over a real socket for browsers and the binary's clients.
package testserver

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testkit"

	"github.com/sesame-auth/sesame"

	"github.com/gofiber/fiber/v2"

	"github.com/sesame-auth/sesame/db/dbtest"
	"github.com/sesame-auth/sesame/internal/app"
	"github.com/sesame-auth/sesame/internal/testsmtp"
)

// Options choose the engine and the setup; the zero value is SQLite with
// open sign-up, served through app.Test at http://localhost:8080.
type Options struct {
	Postgres bool   // use a fresh schema on SESAME_TEST_POSTGRES_URL (skips when unset)
	Signup   string // "open" (default) or "closed"
	// Listen serves on a real 127.0.0.1 port; the public URL becomes
	// http://localhost:PORT (WebAuthn needs the host "localhost").
	Listen bool
	// Database overrides the database URL (several Envs on one database).
	Database string
	// Secret overrides the root secret (instances sharing a database).
	Secret string
	// RateLimits is passed on as SESAME_RATE_LIMITS ("off" for benchmarks).
	RateLimits string
	// PublicURL overrides the public URL of a server reached through
	// app.Test, e.g. https://id.example.com to see what TLS changes.
	PublicURL string
	// TrustProxy makes the server take client IPs from X-Forwarded-For, as
	// behind a proxy, so tests can speak for many clients.
	TrustProxy bool
	// SMTP is the relay to send to (several Envs sharing one); nil starts
	// one for this Env.
	SMTP *testsmtp.Server
	// Mail shortens the mail outbox's polling, backoff and lease (fault
	// tests); the zero value is production's.
	Mail MailTiming
	// Outbox runs without SMTP, as a developer does: mail goes to the
	// development outbox served at /dev/outbox.
	Outbox bool
	// ReadTimeout, when set, is the server's read and idle timeout
	// (10 s and 60 s otherwise), for tests of idle connections.
	ReadTimeout time.Duration
}

// Env is one running Sesame.
type Env struct {
	App       *app.App
	Fiber     *fiber.App
	SMTP      *testsmtp.Server
	Clock     *Clock
	PublicURL string
	// BaseURL is where a Listen server answers (same as PublicURL).
	BaseURL string
	// Database and Secret are the Env's, for a second instance or a
	// restart on the same data.
	Database, Secret string
	logs             *testkit.LogBuffer
	secrets          secrets
}

// New starts a Sesame for the test and stops it when the test ends.
func New(t testing.TB, opts Options) *Env {
	t.Helper()
	ctx := context.Background()
	if opts.SMTP == nil {
		opts.SMTP = testsmtp.Start(t)
	}
	e := &Env{SMTP: opts.SMTP, Clock: NewClock(time.Now()), logs: &testkit.LogBuffer{}, PublicURL: "http://localhost:8080"}
	// Registered first, so it runs last: after the server has stopped.
	t.Cleanup(func() {
		if _, bench := t.(*testing.B); bench {
			return // thousands of secrets × a long log: it would dominate the profile; tests check it
		}
		e.secrets.collectMail(e.SMTP)
		e.secrets.check(t, e.Logs())
	})
	if opts.PublicURL != "" {
		e.PublicURL = opts.PublicURL
	}
	var ln net.Listener
	if opts.Listen {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		e.PublicURL = "http://localhost:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
		e.BaseURL = e.PublicURL
	}
	database := opts.Database
	switch {
	case database != "":
	case opts.Postgres:
		base := os.Getenv(dbtest.PostgresEnv)
		if base == "" {
			testkit.Missing(t, "%s not set", dbtest.PostgresEnv)
		}
		database = dbtest.CreateSchema(t, base)
	default:
		database = "sqlite:" + filepath.Join(t.TempDir(), "sesame.db")
	}
	if opts.Secret == "" {
		opts.Secret = base64.StdEncoding.EncodeToString(sesame.RandomBytes(32))
	}
	cfg := app.Config{
		PublicURL:  e.PublicURL,
		Database:   database,
		DataDir:    t.TempDir(),
		Signup:     opts.Signup,
		SMTPURL:    e.SMTP.URL(),
		MailFrom:   "Sesame <no-reply@localhost>",
		Secret:     opts.Secret,
		RateLimits: opts.RateLimits,
	}
	if opts.Outbox {
		cfg.SMTPURL = ""
	}
	if opts.TrustProxy {
		cfg.ProxyHeader, cfg.TrustedProxies = "X-Forwarded-For", []string{"0.0.0.0/0", "::/0"}
	}
	if cfg.Audience == "" {
		cfg.Audience = cfg.PublicURL
	}
	e.Database, e.Secret = database, opts.Secret
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := app.Open(ctx, cfg, log, app.Options{Now: e.Clock.Now, ReadTimeout: opts.ReadTimeout, IdleTimeout: opts.ReadTimeout,
		MailPoll: opts.Mail.Poll, MailBackoff: opts.Mail.Backoff, MailLease: opts.Mail.Lease,
		// Back-channel logout retries come due when a test moves the
		// clock; the outbox is read often enough to see them at once.
		LogoutPoll: 250 * time.Millisecond})
	if err != nil {
		t.Fatalf("app.Open: %v", err)
	}
	e.App, e.Fiber = a, a.Server.App()
	if ln != nil {
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { _ = a.Serve(sctx, ln); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	t.Cleanup(func() { a.Close() })
	return e
}

// MailTiming shortens the mail outbox's timings.
type MailTiming struct {
	Poll, Backoff, Lease time.Duration
}

// FastMail polls every 20 ms and retries after 100 ms (at most 400 ms).
// The lease stays production's: a shorter one would let a slow send on a
// loaded machine be sent twice.
var FastMail = MailTiming{Poll: 20 * time.Millisecond, Backoff: 100 * time.Millisecond}

// Logs returns everything the server logged so far.
func (e *Env) Logs() string { return e.logs.String() }

// Response is an answer to Do.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as an object, failing the test if it is not one.
func (r Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.Body, err)
	}
	return m
}

// Cookie returns the value of the named cookie the response set, or "".
func (r Response) Cookie(name string) string {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// Header is one request header for Do.
type Header struct{ Name, Value string }

// Bearer is an Authorization header.
func Bearer(token string) Header { return H("Authorization", "Bearer "+token) }

// Cookie is a Cookie header.
func Cookie(name, value string) Header { return H("Cookie", name+"="+value) }

// Do sends a request through the Fiber app. body is JSON-encoded unless it
// is a string or []byte, which are sent as they are (with a JSON content
// type unless a header overrides it).
func (e *Env) Do(t testing.TB, method, path string, body any, headers ...Header) Response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		req.Header.Set(h.Name, h.Value)
	}
	res, err := e.Fiber.Test(req, 30_000)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp := Response{Status: res.StatusCode, Header: res.Header, Body: out}
	if b, ok := body.([]byte); ok {
		e.secrets.collectJSON(b)
	} else if b, ok := body.(string); ok {
		e.secrets.collectJSON([]byte(b))
	} else if body != nil {
		b, _ := json.Marshal(body)
		e.secrets.collectJSON(b)
	}
	e.secrets.collectJSON(out)
	e.secrets.add(resp.Cookie("sesame_refresh"))
	for _, h := range headers {
		if h.Name == "Authorization" || h.Name == "Cookie" {
			e.secrets.add(h.Value[strings.IndexByte(h.Value, ' ')+1:])
		}
	}
	return resp
}

// Session is a signed-in user as a client holds it.
type Session struct {
	Access  string
	Refresh string
	UserID  string
	AMR     []any
}

// SessionOf reads a session response, failing the test unless it is one.
func SessionOf(t testing.TB, r Response) Session {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("want a session (200), got %d: %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	s := Session{Refresh: r.Cookie("sesame_refresh")}
	s.Access, _ = m["access_token"].(string)
	s.AMR, _ = m["amr"].([]any)
	if u, ok := m["user"].(map[string]any); ok {
		s.UserID, _ = u["id"].(string)
	}
	if s.Access == "" || s.Refresh == "" || s.UserID == "" {
		t.Fatalf("incomplete session response: %s (refresh cookie %q)", r.Body, s.Refresh)
	}
	return s
}

// StartEmail starts an email flow and returns its id with the code and link
// token of the message that arrived.
func (e *Env) StartEmail(t testing.TB, email string) (flowID, code, linkToken string) {
	t.Helper()
	r := e.Do(t, "POST", "/api/email/start", map[string]string{"email": email})
	if r.Status != http.StatusAccepted {
		t.Fatalf("email start: %d %s", r.Status, r.Body)
	}
	flowID, _ = r.JSON(t)["flow_id"].(string)
	// Notices (a passkey added, a new device) may arrive first: skip them.
	for range 10 {
		m := e.SMTP.Wait(t, email)
		if code := testsmtp.ExtractCode(m.Text); code != "" {
			return flowID, code, testsmtp.ExtractLinkToken(m.Text)
		}
	}
	t.Fatalf("no sign-in message for %s among the next 10", email)
	return "", "", ""
}

// SignIn signs email in (signing up if new) by email code.
func (e *Env) SignIn(t testing.TB, email string) Session {
	t.Helper()
	flowID, code, _ := e.StartEmail(t, email)
	return SessionOf(t, e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": code}))
}

// Clock is the settable clock every Env runs on.
type Clock = testkit.Clock

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return testkit.NewClock(t) }

// H is a request header for Do.
func H(name, value string) Header { return Header{Name: name, Value: value} }
