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

// newBenchUser stores a user and a session directly and mints an access
// token with a fresh auth_time, skipping the email round trip.
func (e *benchEnv) newBenchUser(b *testing.B, i int) (sesame.User, string) {
	ctx := context.Background()
	u, _, err := e.App.DB.EnsureUser(ctx, sesame.User{ID: sesame.NewID(), Email: fmt.Sprintf("bench%d@example.com", i),
		WebAuthnHandle: sesame.RandomBytes(32), CreatedAt: e.Clock.Now()})
	if err != nil {
		b.Fatal(err)
	}
	// A real session: the routes that add a passkey want a live one.
	now := e.Clock.Now()
	sess := sesame.Session{ID: sesame.NewID(), UserID: u.ID, CreatedAt: now, LastUsedAt: now,
		ExpiresAt: now.Add(time.Hour), AuthTime: now, AMR: []string{"otp"}}
	if err := e.App.DB.CreateSession(ctx, sess, sesame.RandomBytes(32)); err != nil {
		b.Fatal(err)
	}
	access, _, err := e.App.Issuer.Access(ctx, u.ID, sess.ID, now, sess.AMR)
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
	passkeySignIns(b, e, e.passkeyUsers(b, 64))
}

// BenchmarkPasskeySignInGrowing: 4 users sign in over and over, so each
// piles up b.N/4 sessions, as the same accounts do over a long load run.
// A sign-in whose cost grows with the sessions a user has had shows here
// as ns/op growing with b.N.
func BenchmarkPasskeySignInGrowing(b *testing.B) {
	e := &benchEnv{Env: testserver.New(b, testserver.Options{RateLimits: "off"})}
	passkeySignIns(b, e, e.passkeyUsers(b, 4))
}

// passkeyUsers makes n users, each with a synced passkey.
func (e *benchEnv) passkeyUsers(b *testing.B, n int) []*testauthn.Authenticator {
	auths := make([]*testauthn.Authenticator, n)
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
	return auths
}

// passkeySignIns runs b.N discoverable sign-ins, the users taking turns,
// and reports sign-ins/s and the process's CPU per sign-in.
func passkeySignIns(b *testing.B, e *benchEnv, auths []*testauthn.Authenticator) {
	cpu := startCPU(b)
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
	cpu.report(b)
}
