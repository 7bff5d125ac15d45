package server_test

import (
	"testing"

	"github.com/sesame-auth/sesame/internal/testserver"
)

// assertProblem checks that r is an RFC 9457 problem with status and code,
// and returns its members.
func assertProblem(t testing.TB, r testserver.Response, status int, code string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d; want %d (body %s)", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q; want application/problem+json", ct)
	}
	p := r.JSON(t)
	if p["code"] != code || p["status"] != float64(status) || p["title"] == "" || p["detail"] == "" || p["type"] == "" {
		t.Fatalf("problem = %v; want code %q and status %d with title, detail, type", p, code, status)
	}
	return p
}
