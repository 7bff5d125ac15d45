package server_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/testserver"
	"github.com/sesame-auth/sesame/internal/testsmtp"
)

// TestDisplayName: PATCH /api/me sets a name of at most 64 characters;
// anything else is refused and changes nothing.
func TestDisplayName(t *testing.T) {
	onBothEngines(t, func(t *testing.T, e *testserver.Env) {
		s := e.SignIn(t, "nora@example.com")
		r := e.Do(t, "PATCH", "/api/me", map[string]string{"name": "  Nora Ōta  "}, testserver.Bearer(s.Access))
		if r.Status != http.StatusOK || r.JSON(t)["user"].(map[string]any)["name"] != "Nora Ōta" {
			t.Fatalf("PATCH /api/me = %d %s", r.Status, r.Body)
		}
		for _, bad := range []any{
			map[string]string{"name": strings.Repeat("é", 65)},
			map[string]string{"name": "Nora\nOta"},
			map[string]string{"name": "Nora\u200bOta"},
			map[string]any{"name": 42},
			map[string]any{},
		} {
			assertProblem(t, e.Do(t, "PATCH", "/api/me", bad, testserver.Bearer(s.Access)), http.StatusBadRequest, "bad_request")
		}
		if got := me(t, e, s)["user"].(map[string]any)["name"]; got != "Nora Ōta" {
			t.Fatalf("name after refusals = %v", got)
		}
		if r := e.Do(t, "PATCH", "/api/me", map[string]string{"name": strings.Repeat("é", 64)}, testserver.Bearer(s.Access)); r.Status != http.StatusOK {
			t.Fatalf("64 characters = %d %s", r.Status, r.Body)
		}
		// A new sign-in's session body names the user too.
		got := e.SignIn(t, "nora@example.com")
		if name := me(t, e, got)["user"].(map[string]any)["name"]; name != strings.Repeat("é", 64) {
			t.Fatalf("name = %v", name)
		}
	})
}

func startEmailChange(t testing.TB, e *testserver.Env, s testserver.Session, email string) testserver.Response {
	t.Helper()
	return e.Do(t, "POST", "/api/me/email/start", map[string]string{"email": email}, testserver.Bearer(s.Access))
}

func verifyEmailChange(t testing.TB, e *testserver.Env, s testserver.Session, flowID, code string) testserver.Response {
	t.Helper()
	return e.Do(t, "POST", "/api/me/email/verify", map[string]string{"flow_id": flowID, "code": code}, testserver.Bearer(s.Access))
}

// TestEmailChange: a code to the new address moves the account; the old
// address is told; sessions stay; the new address signs in to the same
// account.
func TestEmailChange(t *testing.T) {
	onBothEngines(t, func(t *testing.T, e *testserver.Env) {
		s := e.SignIn(t, "old@example.com")
		r := startEmailChange(t, e, s, "New@Example.com")
		if r.Status != http.StatusOK {
			t.Fatalf("email/start = %d %s", r.Status, r.Body)
		}
		flowID := r.JSON(t)["flow_id"].(string)
		code := testsmtp.ExtractCode(waitMail(t, e, "new@example.com", "Confirm your new Sesame email address").Text)
		p := assertProblem(t, verifyEmailChange(t, e, s, flowID, wrongCode(code)), http.StatusBadRequest, "invalid_code")
		if p["attempts_left"] != float64(4) {
			t.Errorf("attempts_left = %v", p["attempts_left"])
		}
		r = verifyEmailChange(t, e, s, flowID, code)
		if r.Status != http.StatusOK || r.JSON(t)["user"].(map[string]any)["email"] != "new@example.com" {
			t.Fatalf("email/verify = %d %s", r.Status, r.Body)
		}
		assertProblem(t, verifyEmailChange(t, e, s, flowID, code), http.StatusGone, "used")
		m := waitMail(t, e, "old@example.com", "email address of your Sesame account was changed")
		if !strings.Contains(m.Text, "When:") {
			t.Errorf("the notice does not say when:\n%s", m.Text)
		}
		// The session stays, and says the new address.
		s = testserver.SessionOf(t, e.Do(t, "POST", "/api/session/refresh", nil, testserver.Cookie("sesame_refresh", s.Refresh)))
		if got := me(t, e, s)["user"].(map[string]any)["email"]; got != "new@example.com" {
			t.Fatalf("email = %v", got)
		}
		if again := e.SignIn(t, "new@example.com"); again.UserID != s.UserID {
			t.Fatalf("the new address signs in to %q; want %q", again.UserID, s.UserID)
		}
	})
}

func wrongCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

// TestEmailChangeRefusals: every bad request is a clear problem and the
// address stays.
func TestEmailChangeRefusals(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "ivy@example.com")
	other := e.SignIn(t, "jon@example.com")
	for _, bad := range []string{"not-an-address", "ivy@[127.0.0.1]", "ivy@192.0.2.1", "Ivy <ivy2@example.com>", "ivy@example.com", ""} {
		assertProblem(t, startEmailChange(t, e, s, bad), http.StatusBadRequest, "bad_request")
	}
	assertProblem(t, startEmailChange(t, e, stale(t, e, s), "ivy2@example.com"), http.StatusForbidden, "reauth_required")
	s, other = e.SignIn(t, "ivy@example.com"), e.SignIn(t, "jon@example.com")
	flowID := startEmailChange(t, e, s, "ivy2@example.com").JSON(t)["flow_id"].(string)
	code := testsmtp.ExtractCode(waitMail(t, e, "ivy2@example.com", "Confirm").Text)
	// Another user cannot use the flow, even with the code.
	assertProblem(t, verifyEmailChange(t, e, other, flowID, code), http.StatusGone, "expired")
	assertProblem(t, verifyEmailChange(t, e, s, flowID, "12a456"), http.StatusBadRequest, "bad_request")
	for range 5 {
		assertProblem(t, verifyEmailChange(t, e, s, flowID, wrongCode(code)), http.StatusBadRequest, "invalid_code")
	}
	assertProblem(t, verifyEmailChange(t, e, s, flowID, code), http.StatusGone, "expired")
	if got := me(t, e, s)["user"].(map[string]any)["email"]; got != "ivy@example.com" {
		t.Fatalf("email = %v after refusals", got)
	}
}

// TestEmailChangeToTakenAddress: the owner of the address is told, the
// person asking gets the usual answer, and no code works.
func TestEmailChangeToTakenAddress(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "kim@example.com")
	e.SignIn(t, "lee@example.com")
	free := startEmailChange(t, e, s, "kim2@example.com")
	taken := startEmailChange(t, e, s, "lee@example.com")
	if taken.Status != free.Status || strings.Join(keys(taken.JSON(t)), ",") != strings.Join(keys(free.JSON(t)), ",") {
		t.Fatalf("taken: %d %s; free: %d %s", taken.Status, taken.Body, free.Status, free.Body)
	}
	m := waitMail(t, e, "lee@example.com", "Someone tried to use this address")
	if testsmtp.ExtractCode(m.Text) != "" {
		t.Fatalf("the owner's mail carries a code:\n%s", m.Text)
	}
	flowID := taken.JSON(t)["flow_id"].(string)
	for _, code := range []string{"000000", "123456", "999999"} {
		assertProblem(t, verifyEmailChange(t, e, s, flowID, code), http.StatusBadRequest, "invalid_code")
	}
	if got := me(t, e, s)["user"].(map[string]any)["email"]; got != "kim@example.com" {
		t.Fatalf("email = %v", got)
	}
}

// TestDeleteAccount: everything that signs the account in goes; the audit
// rows stay under the user id; a device that still holds an access token
// can change nothing; the address gets a last notice.
func TestDeleteAccount(t *testing.T) {
	onBothEngines(t, func(t *testing.T, e *testserver.Env) {
		ctx := context.Background()
		s, cl := signUpWithPassword(t, e, "del@example.com")
		setUpTOTP(t, e, s)
		codes := makeRecoveryCodes(t, e, s)
		device := e.SignIn(t, "del@example.com")
		assertProblem(t, e.Do(t, "DELETE", "/api/me", nil, testserver.Bearer(stale(t, e, s).Access)), http.StatusForbidden, "reauth_required")
		s = e.SignIn(t, "del@example.com")
		if r := e.Do(t, "DELETE", "/api/me", nil, testserver.Bearer(s.Access)); r.Status != http.StatusNoContent {
			t.Fatalf("DELETE /api/me = %d %s", r.Status, r.Body)
		}
		waitMail(t, e, "del@example.com", "Your Sesame account was deleted")
		if _, err := e.App.DB.UserByID(ctx, s.UserID); err == nil {
			t.Error("the user is still there")
		}
		hasPassword, _ := e.App.DB.HasPassword(ctx, s.UserID)
		hasTOTP, _ := e.App.DB.HasTOTP(ctx, s.UserID)
		codesLeft, _ := e.App.DB.RecoveryCodesLeft(ctx, s.UserID)
		if hasPassword || hasTOTP || codesLeft != 0 {
			t.Errorf("left behind: password %v, app %v, %d recovery codes", hasPassword, hasTOTP, codesLeft)
		}
		if sess, err := e.App.DB.SessionByID(ctx, sessionIDOf(t, device.Access)); err == nil {
			t.Errorf("the other device's session is still stored: %+v", sess)
		}
		events, err := e.App.DB.AuditEvents(ctx, s.UserID, 100)
		if err != nil || len(events) == 0 {
			t.Fatalf("audit rows: %d (%v); want them kept", len(events), err)
		}
		for _, ev := range events {
			if strings.Contains(ev.Detail, "del@example.com") {
				t.Errorf("audit row keeps the address: %+v", ev)
			}
		}
		// The other device's access token is still unexpired: it can change
		// nothing (SECURITY rule 52), and its session does not refresh.
		bearer := testserver.Bearer(device.Access)
		for _, req := range []struct{ method, path string }{
			{"POST", "/api/me/totp/begin"}, {"DELETE", "/api/me/totp"}, {"POST", "/api/me/recovery-codes"},
			{"POST", "/api/me/email/start"}, {"DELETE", "/api/me"}, {"POST", "/api/webauthn/register/begin"},
			{"POST", "/api/password/set/begin"},
		} {
			r := e.Do(t, req.method, req.path, map[string]string{"email": "x@example.com"}, bearer)
			assertProblem(t, r, http.StatusUnauthorized, "unauthorized")
		}
		assertProblem(t, e.Do(t, "POST", "/api/session/refresh", nil, testserver.Cookie("sesame_refresh", device.Refresh)), http.StatusUnauthorized, "unauthorized")
		// No way back in with what the account had.
		assertProblem(t, recoverySignIn(t, e, "del@example.com", codes[0]), http.StatusUnauthorized, "invalid_credentials")
		_, loginID, final := scramBegin(t, e, cl)
		assertProblem(t, scramFinish(t, e, loginID, final), http.StatusUnauthorized, "invalid_credentials")
		// The address may sign up again, as a new account.
		e.Clock.Advance(16 * time.Minute) // past the per-address limit of sign-in mail
		if again := e.SignIn(t, "del@example.com"); again.UserID == s.UserID {
			t.Fatal("the deleted account came back")
		}
	})
}

// TestConcurrentDeletes: ten deletes at once delete once and send one
// notice; the others are refused cleanly.
func TestConcurrentDeletes(t *testing.T) {
	onBothEngines(t, func(t *testing.T, e *testserver.Env) {
		s := e.SignIn(t, "twice@example.com")
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[int]int{}
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.Do(t, "DELETE", "/api/me", nil, testserver.Bearer(s.Access))
				mu.Lock()
				statuses[r.Status]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if statuses[http.StatusNoContent] != 1 || statuses[http.StatusUnauthorized] != 9 {
			t.Fatalf("statuses = %v; want one 204 and nine 401", statuses)
		}
		waitMail(t, e, "twice@example.com", "Your Sesame account was deleted")
		e.Clock.Advance(0)
		n := 0
		for _, m := range e.SMTP.Messages() {
			if strings.Contains(m.Subject, "was deleted") {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d deletion notices; want 1", n)
		}
	})
}
