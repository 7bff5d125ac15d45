package server_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
)

// benchEnv is a Sesame on SQLite whose begin calls stay under the per-IP
// rate limit: every 50 begins the test clock moves on a minute, into a
// fresh window (all requests come from one address).
type benchEnv struct {
	*testserver.Env
	begins int
}

func (e *benchEnv) begin(b *testing.B, path string, body any, headers ...testserver.Header) testauthn.Ceremony {
	if e.begins++; e.begins%50 == 0 {
		e.Clock.Advance(time.Minute)
	}
	return testauthn.Begin(b, e.Env, path, body, headers...)
}

// newBenchUser stores a user directly and mints an access token with a
// fresh auth_time, skipping the email round trip.
func (e *benchEnv) newBenchUser(b *testing.B, i int) (sesame.User, string) {
	ctx := context.Background()
	u, _, err := e.App.DB.EnsureUser(ctx, sesame.User{ID: sesame.NewID(), Email: fmt.Sprintf("bench%d@example.com", i),
		WebAuthnHandle: sesame.RandomBytes(32), CreatedAt: e.Clock.Now()})
	if err != nil {
		b.Fatal(err)
	}
	access, _, err := e.App.Issuer.Access(ctx, u.ID, sesame.NewID(), e.Clock.Now(), []string{"otp"})
	if err != nil {
		b.Fatal(err)
	}
	return u, access
}

// BenchmarkRegistration: register/begin + register/finish through the HTTP
// handlers on SQLite, the authenticator's work included. A new user every
// 4 registrations keeps excludeCredentials short, as it is in life.
func BenchmarkRegistration(b *testing.B) {
	e := &benchEnv{Env: testserver.New(b, testserver.Options{})}
	var access string
	b.ResetTimer()
	for i := range b.N {
		if i%4 == 0 {
			b.StopTimer()
			_, access = e.newBenchUser(b, i)
			b.StartTimer()
		}
		c := e.begin(b, "/api/webauthn/register/begin", nil, testserver.Bearer(access))
		resp, err := testauthn.New(e.PublicURL).Create(c.PublicKey)
		if err != nil {
			b.Fatal(err)
		}
		if r := e.Do(b, "POST", "/api/webauthn/register/finish", testauthn.Finish(c.ID, resp), testserver.Bearer(access)); r.Status != http.StatusCreated {
			b.Fatalf("register finish = %d %s", r.Status, r.Body)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "registrations/s")
}

// BenchmarkPasskeySignIn: login/begin + login/finish (discoverable) through
// the HTTP handlers on SQLite, 64 users taking turns, so that no one user
// piles up thousands of sessions.
func BenchmarkPasskeySignIn(b *testing.B) {
	e := &benchEnv{Env: testserver.New(b, testserver.Options{})}
	auths := make([]*testauthn.Authenticator, 64)
	for i := range auths {
		_, access := e.newBenchUser(b, i)
		auths[i] = testauthn.New(e.PublicURL)
		auths[i].Options.BackupEligible, auths[i].Options.BackupState = true, true
		c := e.begin(b, "/api/webauthn/register/begin", nil, testserver.Bearer(access))
		resp, err := auths[i].Create(c.PublicKey)
		if err != nil {
			b.Fatal(err)
		}
		if r := e.Do(b, "POST", "/api/webauthn/register/finish", testauthn.Finish(c.ID, resp), testserver.Bearer(access)); r.Status != http.StatusCreated {
			b.Fatalf("register finish = %d %s", r.Status, r.Body)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		c := e.begin(b, "/api/webauthn/login/begin", nil)
		resp, err := auths[i%len(auths)].Get(c.PublicKey)
		if err != nil {
			b.Fatal(err)
		}
		if r := e.Do(b, "POST", "/api/webauthn/login/finish", testauthn.Finish(c.ID, resp)); r.Status != http.StatusOK {
			b.Fatalf("login finish = %d %s", r.Status, r.Body)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sign-ins/s")
}
