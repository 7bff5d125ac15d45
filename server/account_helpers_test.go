package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/internal/testsmtp"
)

// onBothEngines runs fn on SQLite and, when SESAME_TEST_POSTGRES_URL is
// set, on a fresh PostgreSQL schema.
func onBothEngines(t *testing.T, fn func(t *testing.T, e *testserver.Env)) {
	t.Helper()
	for _, engine := range []struct {
		name string
		opts testserver.Options
	}{{"sqlite", testserver.Options{}}, {"postgres", testserver.Options{Postgres: true}}} {
		t.Run(engine.name, func(t *testing.T) { fn(t, testserver.New(t, engine.opts)) })
	}
}

// waitMail returns the next message to to whose subject contains subject,
// skipping others.
func waitMail(t testing.TB, e *testserver.Env, to, subject string) testsmtp.Message {
	t.Helper()
	for range 20 {
		if m := e.SMTP.Wait(t, to); strings.Contains(m.Subject, subject) {
			return m
		}
	}
	t.Fatalf("no message %q to %s among the next 20", subject, to)
	return testsmtp.Message{}
}

// me returns GET /api/me for s.
func me(t testing.TB, e *testserver.Env, s testserver.Session) map[string]any {
	t.Helper()
	r := e.Do(t, "GET", "/api/me", nil, testserver.Bearer(s.Access))
	if r.Status != http.StatusOK {
		t.Fatalf("/api/me = %d %s", r.Status, r.Body)
	}
	return r.JSON(t)
}

// makeRecoveryCodes asks for a new set of recovery codes.
func makeRecoveryCodes(t testing.TB, e *testserver.Env, s testserver.Session) []string {
	t.Helper()
	r := e.Do(t, "POST", "/api/me/recovery-codes", nil, testserver.Bearer(s.Access))
	if r.Status != http.StatusOK {
		t.Fatalf("recovery-codes = %d %s", r.Status, r.Body)
	}
	var codes []string
	for _, c := range r.JSON(t)["codes"].([]any) {
		codes = append(codes, c.(string))
	}
	return codes
}

func amrOf(s testserver.Session) string {
	var parts []string
	for _, a := range s.AMR {
		parts = append(parts, a.(string))
	}
	return strings.Join(parts, " ")
}

func activityHas(t testing.TB, e *testserver.Env, s testserver.Session, event string) bool {
	t.Helper()
	r := e.Do(t, "GET", "/api/me/activity", nil, testserver.Bearer(s.Access))
	return r.Status == http.StatusOK && strings.Contains(string(r.Body), `"`+event+`"`)
}

// stale moves the clock past the re-authentication window and returns s
// with a refreshed access token: a live session whose sign-in is old.
func stale(t testing.TB, e *testserver.Env, s testserver.Session) testserver.Session {
	t.Helper()
	e.Clock.Advance(11 * time.Minute)
	r := e.Do(t, "POST", "/api/session/refresh", nil, testserver.Cookie("sesame_refresh", s.Refresh))
	return testserver.SessionOf(t, r)
}

// sessionIDOf reads the sid claim of an access token (no verification:
// the test only needs the id).
func sessionIDOf(t testing.TB, access string) string {
	t.Helper()
	parts := strings.Split(access, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.20q", access)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		SID string `json:"sid"`
	}
	if err != nil || json.Unmarshal(payload, &claims) != nil || claims.SID == "" {
		t.Fatalf("no sid in the access token: %v", err)
	}
	return claims.SID
}
