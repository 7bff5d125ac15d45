package server_test

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testserver"
)

func TestSignUpByCode(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "Alice@Example.com")
	if len(s.AMR) != 1 || s.AMR[0] != "otp" {
		t.Errorf("amr = %v; want [otp]", s.AMR)
	}
	me := e.Do(t, "GET", "/api/me", nil, testserver.Bearer(s.Access))
	if me.Status != http.StatusOK {
		t.Fatalf("GET /api/me = %d %s", me.Status, me.Body)
	}
	user := me.JSON(t)["user"].(map[string]any)
	if user["email"] != "alice@example.com" || user["id"] != s.UserID {
		t.Errorf("/api/me user = %v; want alice@example.com, id %s", user, s.UserID)
	}
	// The same address signs in to the same account.
	if again := e.SignIn(t, "alice@example.com"); again.UserID != s.UserID {
		t.Errorf("second sign-in got user %s; want %s", again.UserID, s.UserID)
	}
}

func TestSignUpByLink(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	_, _, token := e.StartEmail(t, "bob@example.com")
	// Following the link (twice, as a mail scanner might) spends nothing.
	for range 2 {
		if r := e.Do(t, "GET", "/auth/link", nil); r.Status != http.StatusOK || r.Header.Get("Referrer-Policy") != "no-referrer" || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("GET /auth/link = %d, Referrer-Policy %q, Cache-Control %q", r.Status, r.Header.Get("Referrer-Policy"), r.Header.Get("Cache-Control"))
		}
	}
	info := e.Do(t, "POST", "/api/email/link/info", map[string]string{"token": token})
	if got := info.JSON(t)["email"]; got != "b***b@example.com" {
		t.Errorf("link info email = %v; want b***b@example.com", got)
	}
	s := testserver.SessionOf(t, e.Do(t, "POST", "/api/email/link", map[string]string{"token": token}))
	if r := e.Do(t, "GET", "/api/me", nil, testserver.Bearer(s.Access)); r.Status != http.StatusOK {
		t.Fatalf("GET /api/me = %d", r.Status)
	}
	again := e.Do(t, "POST", "/api/email/link", map[string]string{"token": token})
	assertProblem(t, again, http.StatusGone, "used")
}

func TestLinkSpentOnceUnderConcurrency(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := map[bool]string{false: "sqlite", true: "postgres"}[pg]
		t.Run(name, func(t *testing.T) {
			e := testserver.New(t, testserver.Options{Postgres: pg})
			_, _, token := e.StartEmail(t, "race@example.com")
			var ok, gone atomic.Int32
			var wg sync.WaitGroup
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					switch r := e.Do(t, "POST", "/api/email/link", map[string]string{"token": token}); r.Status {
					case http.StatusOK:
						ok.Add(1)
					case http.StatusGone:
						gone.Add(1)
					default:
						t.Errorf("concurrent link POST: %d %s", r.Status, r.Body)
					}
				}()
			}
			wg.Wait()
			if ok.Load() != 1 || gone.Load() != 19 {
				t.Fatalf("20 concurrent POSTs: %d signed in, %d gone; want 1 and 19", ok.Load(), gone.Load())
			}
		})
	}
}

func TestWrongCodes(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	flowID, code, token := e.StartEmail(t, "carol@example.com")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for left := 4; left >= 0; left-- {
		r := e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": wrong})
		p := assertProblem(t, r, http.StatusBadRequest, "invalid_code")
		if p["attempts_left"] != float64(left) {
			t.Fatalf("attempts_left = %v; want %d", p["attempts_left"], left)
		}
	}
	// The sixth try fails even with the right code, and the link is dead too.
	assertProblem(t, e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": code}), http.StatusGone, "expired")
	assertProblem(t, e.Do(t, "POST", "/api/email/link", map[string]string{"token": token}), http.StatusGone, "expired")
}

func TestExpiredFlow(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	flowID, code, token := e.StartEmail(t, "dave@example.com")
	e.Clock.Advance(15*time.Minute + time.Second)
	assertProblem(t, e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": code}), http.StatusGone, "expired")
	assertProblem(t, e.Do(t, "POST", "/api/email/link", map[string]string{"token": token}), http.StatusGone, "expired")
}

func TestNewerFlowEndsOlder(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	_, _, oldToken := e.StartEmail(t, "erin@example.com")
	e.Clock.Advance(time.Second)
	flowID, code, _ := e.StartEmail(t, "erin@example.com")
	assertProblem(t, e.Do(t, "POST", "/api/email/link", map[string]string{"token": oldToken}), http.StatusGone, "expired")
	testserver.SessionOf(t, e.Do(t, "POST", "/api/email/verify", map[string]string{"flow_id": flowID, "code": code}))
}
