package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testserver"
)

// BenchmarkRecoverySignInKnownVsUnknown reports the median time of 200
// wrong recovery codes for an address with an account (and codes) and 200
// for one without (SECURITY rule 35), as known-µs and unknown-µs. Limits
// are off, so the tarpit does not answer first.
func BenchmarkRecoverySignInKnownVsUnknown(b *testing.B) {
	e := testserver.New(b, testserver.Options{RateLimits: "off"})
	s := e.SignIn(b, "known@example.com")
	makeRecoveryCodes(b, e, s)
	time1 := func(email string) time.Duration {
		start := time.Now()
		if r := e.Do(b, "POST", "/api/recovery/signin", map[string]string{"email": email, "code": "aaaaa-bbbbb"}); r.Status != http.StatusUnauthorized {
			b.Fatalf("recovery sign-in: %d %s", r.Status, r.Body)
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
}
