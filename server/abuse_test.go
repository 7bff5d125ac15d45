package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testserver"
)

func startEmail(e *testserver.Env, t *testing.T, email string, headers ...testserver.Header) testserver.Response {
	t.Helper()
	return e.Do(t, "POST", "/api/email/start", map[string]string{"email": email}, headers...)
}

func TestEmailStartLimitedPerAddress(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			e := testserver.New(t, testserver.Options{Postgres: pg})
			for i := range 3 {
				if r := startEmail(e, t, "alice@example.com"); r.Status != http.StatusAccepted {
					t.Fatalf("start %d: %d %s", i+1, r.Status, r.Body)
				}
			}
			r := startEmail(e, t, "Alice@Example.com") // the same address, written differently
			assertProblem(t, r, http.StatusTooManyRequests, "rate_limited")
			if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
				t.Errorf("Retry-After = %q; want the seconds left in the window", ra)
			}
			// An address without an account is limited the same way.
			for range 3 {
				startEmail(e, t, "nobody@example.com")
			}
			assertProblem(t, startEmail(e, t, "nobody@example.com"), http.StatusTooManyRequests, "rate_limited")
			// The window passes; 10 a day still holds.
			e.Clock.Advance(15 * time.Minute)
			if r := startEmail(e, t, "alice@example.com"); r.Status != http.StatusAccepted {
				t.Fatalf("after the window: %d", r.Status)
			}
		})
	}
}

func TestEmailStartLimitedPerIP(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	for i := range 60 {
		if r := startEmail(e, t, fmt.Sprintf("u%d@example.com", i)); r.Status != http.StatusAccepted {
			t.Fatalf("start %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	assertProblem(t, startEmail(e, t, "one-more@example.com"), http.StatusTooManyRequests, "rate_limited")
}

func TestCodeGuessesLimitedPerIP(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	for i := range 300 {
		r := e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": fmt.Sprint("flow", i), "code": "123456"})
		if r.Status != http.StatusGone {
			t.Fatalf("guess %d: %d", i+1, r.Status)
		}
	}
	assertProblem(t, e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": "x", "code": "123456"}), http.StatusTooManyRequests, "rate_limited")
}

func TestActivityAndNotices(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "alice@example.com")
	// A second sign-in from another device brings a notice.
	flowID, code, _ := e.StartEmail(t, "alice@example.com")
	r := e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": code}, testserver.H("User-Agent", "NewPhone/1.0"))
	testserver.SessionOf(t, r)
	if m := e.SMTP.Wait(t, "alice@example.com"); !strings.Contains(m.Text, "NewPhone/1.0") {
		t.Errorf("new-device notice = %q; want it to name the device", m.Text)
	}
	// A replayed refresh token brings a notice and an audit event.
	next := testserver.SessionOf(t, refresh(e, t, s.Refresh))
	refresh(e, t, s.Refresh)
	if m := e.SMTP.Wait(t, "alice@example.com"); !strings.Contains(strings.ToLower(m.Subject+m.Text), "session") {
		t.Errorf("reuse notice = %q %q", m.Subject, m.Text)
	}
	fresh := e.SignIn(t, "alice@example.com")
	_ = next
	act := e.Do(t, "GET", "/api/me/activity", nil, testserver.Bearer(fresh.Access)).JSON(t)
	events, _ := act["events"].([]any)
	var names []string
	for _, ev := range events {
		names = append(names, ev.(map[string]any)["event"].(string))
	}
	got := strings.Join(names, ",")
	for _, want := range []string{"sign_up", "sign_in", "refresh_reused"} {
		if !strings.Contains(got, want) {
			t.Errorf("activity %q lacks %s", got, want)
		}
	}
}
