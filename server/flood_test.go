package server_test

import (
	"context"
	"net/http"
	"runtime"
	"testing"

	"github.com/sesame-auth/sesame/internal/testkit"
	"github.com/sesame-auth/sesame/internal/testserver"
)

// TestBeginFloodIsBounded fires 20,000 unauthenticated WebAuthn begins
// from one client: the begins served stay at the per-IP cap, nothing is
// stored, memory stays bounded, and another client is still served.
func TestBeginFloodIsBounded(t *testing.T) {
	if testing.Short() {
		testkit.Missing(t, "-short: floods the server")
	}
	e := testserver.New(t, testserver.Options{TrustProxy: true})
	attacker := testserver.H("X-Forwarded-For", "203.0.113.9")
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	served, limited := 0, 0
	for range 20_000 {
		switch r := e.Do(t, "POST", "/api/webauthn/login/begin", nil, attacker); r.Status {
		case http.StatusOK:
			served++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("begin: %d %s", r.Status, r.Body)
		}
	}
	// A sign-in's begin stores nothing (its ceremony is a ticket): the
	// flood leaves no row behind, and at most the cap was served.
	for _, table := range []string{"webauthn_ceremonies", "spent_challenges"} {
		if n, err := e.App.DB.TableRows(context.Background(), table); err != nil || n != 0 {
			t.Fatalf("%s after the flood: %d rows, %v; want none", table, n, err)
		}
	}
	if served > 60 || limited != 20_000-served {
		t.Fatalf("%d begins served, %d limited; want at most the cap of 60 per minute, the rest limited", served, limited)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 64<<20 {
		t.Errorf("heap grew by %d MiB over the flood", grown>>20)
	}
	if r := e.Do(t, "POST", "/api/webauthn/login/begin", nil, testserver.H("X-Forwarded-For", "198.51.100.7")); r.Status != http.StatusOK {
		t.Fatalf("another client during the flood: %d %s", r.Status, r.Body)
	}
}
