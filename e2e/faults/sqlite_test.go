package faults

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/testserver"
)

// TestSQLiteFullDisk: with the SQLite file capped at its size (a full
// disk), writes answer 503 with Retry-After and change nothing; once space
// is freed, service is normal and the file is sound.
func TestSQLiteFullDisk(t *testing.T) {
	e := testserver.New(t, testserver.Options{RateLimits: "off"})
	ctx := context.Background()
	before := e.SignIn(t, "full@example.com")

	pages, err := e.App.DB.LimitPages(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.App.DB.LimitPages(ctx, pages); err != nil {
		t.Fatal(err)
	}
	// Fill what is left of the last pages until a write needs a new one.
	var full string
	for i := range 5000 {
		address := fmt.Sprintf("filler%d@example.com", i)
		r := e.Do(t, "POST", "/api/email/start", map[string]string{"email": address})
		if r.Status == http.StatusAccepted {
			continue
		}
		if r.Status != http.StatusServiceUnavailable {
			t.Fatalf("start #%d on a full disk: %d %s; want 202 or 503", i, r.Status, r.Body)
		}
		if r.Header.Get("Retry-After") == "" || r.JSON(t)["code"] != "unavailable" {
			t.Errorf("503 without Retry-After or code unavailable: %v %s", r.Header, r.Body)
		}
		full = address
		break
	}
	if full == "" {
		t.Fatal("the capped file never filled up")
	}
	// The failed start left no flow and no mail behind.
	if n := countRows(t, e, `SELECT count(*) FROM email_flows WHERE email = ?`, full); n != 0 {
		t.Errorf("%d email flows for the refused start", n)
	}
	if n := countRows(t, e, `SELECT count(*) FROM mail_outbox WHERE recipient = ?`, full); n != 0 {
		t.Errorf("%d queued mails for the refused start", n)
	}
	// Reads still work: the session from before answers, and a refresh
	// (a write) is refused cleanly.
	if r := e.Do(t, "GET", "/api/me", nil, testserver.Bearer(before.Access)); r.Status != http.StatusOK {
		t.Errorf("/api/me on a full disk: %d %s", r.Status, r.Body)
	}
	for _, r := range []testserver.Response{
		e.Do(t, "POST", "/api/email/start", map[string]string{"email": "more@example.com"}),
		e.Do(t, "POST", "/api/session/refresh", nil, testserver.Cookie("sesame_refresh", before.Refresh)),
	} {
		if r.Status != http.StatusServiceUnavailable && r.Status != http.StatusOK && r.Status != http.StatusAccepted {
			t.Errorf("on a full disk: %d %s; want 503 (or success)", r.Status, r.Body)
		}
	}

	// Space is freed.
	if _, err := e.App.DB.LimitPages(ctx, 1<<30); err != nil {
		t.Fatal(err)
	}
	e.SignIn(t, "after@example.com")
	if r := e.Do(t, "GET", "/api/me", nil, testserver.Bearer(before.Access)); r.Status != http.StatusOK {
		t.Errorf("/api/me after space was freed: %d", r.Status)
	}
	if res, err := e.App.DB.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Errorf("integrity_check = %q, %v; want ok", res, err)
	}
	if strings.Contains(e.Logs(), "level=ERROR msg=\"internal error\"") {
		t.Errorf("internal errors were logged:\n%s", e.Logs())
	}
}

// countRows runs a counting query on e's SQLite file.
func countRows(t *testing.T, e *testserver.Env, query string, args ...any) int {
	t.Helper()
	path := strings.TrimPrefix(e.App.Config.Database, "sqlite:")
	d, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var n int
	if err := d.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
