package server_test

import (
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/sesame-auth/sesame"
	"github.com/sesame-auth/sesame/internal/testauthn"

	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/internal/testsmtp"
)

// BenchmarkEmailCodeSignIn is one complete sign-in by email code through
// the HTTP handlers on SQLite: start, then verify (session written, token
// signed). Waiting for the SMTP delivery is outside the timer.
func BenchmarkEmailCodeSignIn(b *testing.B) {
	e := testserver.New(b, testserver.Options{RateLimits: "off"})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		email := fmt.Sprintf("user%d@example.com", i%50)
		r := e.Do(b, "POST", "/api/email/start", map[string]string{"email": email})
		flowID, _ := r.JSON(b)["flow_id"].(string)
		b.StopTimer()
		code := testsmtp.ExtractCode(e.SMTP.Wait(b, email).Text)
		b.StartTimer()
		if r := e.Do(b, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": code}); r.Status != http.StatusOK {
			b.Fatalf("verify: %d %s", r.Status, r.Body)
		}
	}
}

// BenchmarkRefresh is one refresh-token rotation through the handlers.
func BenchmarkRefresh(b *testing.B) {
	e := testserver.New(b, testserver.Options{RateLimits: "off"})
	s := e.SignIn(b, "bench@example.com")
	cpu := startCPU(b)
	for i := 0; i < b.N; i++ {
		r := e.Do(b, "POST", "/api/session/refresh", nil, testserver.Cookie("sesame_refresh", s.Refresh))
		if r.Status != http.StatusOK {
			b.Fatalf("refresh: %d %s", r.Status, r.Body)
		}
		s.Refresh = r.Cookie("sesame_refresh")
	}
	cpu.report(b)
}

// BenchmarkMe is GET /api/me with token verification.
func BenchmarkMe(b *testing.B) {
	e := testserver.New(b, testserver.Options{RateLimits: "off"})
	s := e.SignIn(b, "bench@example.com")
	cpu := startCPU(b)
	for i := 0; i < b.N; i++ {
		if r := e.Do(b, "GET", "/api/me", nil, testserver.Bearer(s.Access)); r.Status != http.StatusOK {
			b.Fatalf("me: %d", r.Status)
		}
	}
	cpu.report(b)
}

// BenchmarkKnownVsUnknown reports, for each pre-auth endpoint that takes an
// address, the median time of 200 requests for an address with an account
// and 200 for one without (SECURITY rule 35), as known-µs and unknown-µs.
func BenchmarkKnownVsUnknown(b *testing.B) {
	endpoints := []struct {
		name, path string
		body       func(email string) any
	}{
		{"email-start", "/api/email/start", func(email string) any { return map[string]string{"email": email} }},
		{"webauthn-login-begin", "/api/webauthn/login/begin", func(email string) any { return map[string]string{"email": email} }},
		{"password-login-begin", "/api/password/login/begin", func(email string) any {
			return map[string]string{"client_first": "n,,n=" + email + ",r=" + sesame.NewToken()}
		}},
	}
	for _, signup := range []string{"open", "closed"} {
		for _, ep := range endpoints {
			if signup == "closed" && ep.name != "email-start" {
				continue // sign-up only changes what email start does
			}
			b.Run("signup="+signup+"/"+ep.name, func(b *testing.B) {
				// The known account has a passkey and a password; it is
				// made while sign-up is open.
				e := testserver.New(b, testserver.Options{RateLimits: "off"})
				s, _ := testauthn.SignUp(b, e, "known@example.com")
				setPassword(b, e, s, "known@example.com", testPassword)
				if signup == "closed" {
					e = testserver.New(b, testserver.Options{Signup: signup, RateLimits: "off",
						Database: e.App.Config.Database, Secret: e.App.Config.Secret})
				}
				// Interleave the two addresses so warm-up and background mail
				// delivery weigh on both alike.
				time1 := func(email string) time.Duration {
					start := time.Now()
					if r := e.Do(b, "POST", ep.path, ep.body(email)); r.Status >= 300 {
						b.Fatalf("%s: %d %s", ep.path, r.Status, r.Body)
					}
					return time.Since(start)
				}
				var known, unknown float64
				for i := 0; i < b.N; i++ {
					var k, u []time.Duration
					for range 200 {
						k = append(k, time1("known@example.com"))
						u = append(u, time1("unknown@example.com"))
					}
					known, unknown = medianMicros(k), medianMicros(u)
				}
				b.ReportMetric(known, "known-µs")
				b.ReportMetric(unknown, "unknown-µs")
			})
		}
	}
}

func medianMicros(d []time.Duration) float64 {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return float64(d[len(d)/2].Microseconds())
}
