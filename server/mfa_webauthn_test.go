package server_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/xdg-go/scram"

	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
)

func TestPasswordThenPasskey(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s, a := testauthn.SignUp(t, e, "alice@example.com")
	cl := setPassword(t, e, s, "alice@example.com", testPassword)

	mfaToken, body := passwordLogin(t, e, cl)
	if methods, _ := body["mfa_methods"].([]any); !slices.Contains(methods, any("webauthn")) {
		t.Fatalf("mfa_methods = %v; want webauthn offered", body["mfa_methods"])
	}
	c := testauthn.Begin(t, e, "/api/mfa/webauthn/begin", map[string]any{"mfa_token": mfaToken})
	resp, err := a.Get(c.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	finish := testauthn.Finish(c.ID, resp)
	finish["mfa_token"] = mfaToken
	got := testserver.SessionOf(t, e.Do(t, "POST", "/api/mfa/webauthn/finish", finish))
	if got.UserID != s.UserID || !slices.Contains(got.AMR, any("pwd")) || !slices.Contains(got.AMR, any("mfa")) ||
		!(slices.Contains(got.AMR, any("hwk")) || slices.Contains(got.AMR, any("swk"))) {
		t.Fatalf("amr = %v; want pwd, hwk or swk, mfa", got.AMR)
	}

	// The token produced a session: it cannot begin or finish again.
	assertProblem(t, e.Do(t, "POST", "/api/mfa/webauthn/begin", map[string]any{"mfa_token": mfaToken}), http.StatusUnauthorized, "unauthorized")
	c2 := testauthn.Begin(t, e, "/api/mfa/webauthn/begin", map[string]any{"mfa_token": mustMFA(t, e, cl)})
	resp2, _ := a.Get(c2.PublicKey)
	replay := testauthn.Finish(c2.ID, resp2)
	replay["mfa_token"] = mfaToken
	assertProblem(t, e.Do(t, "POST", "/api/mfa/webauthn/finish", replay), http.StatusUnauthorized, "unauthorized")
}

func TestMFACeremonyBoundToItsUser(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	sa, a := testauthn.SignUp(t, e, "alice@example.com")
	clA := setPassword(t, e, sa, "alice@example.com", testPassword)
	sb, _ := testauthn.SignUp(t, e, "bob@example.com")
	clB := setPassword(t, e, sb, "bob@example.com", testPassword)

	// Alice's ceremony and assertion, finished with Bob's token.
	c := testauthn.Begin(t, e, "/api/mfa/webauthn/begin", map[string]any{"mfa_token": mustMFA(t, e, clA)})
	resp, _ := a.Get(c.PublicKey)
	body := testauthn.Finish(c.ID, resp)
	body["mfa_token"] = mustMFA(t, e, clB)
	r := e.Do(t, "POST", "/api/mfa/webauthn/finish", body)
	if r.Status < 400 || r.Status >= 500 || r.Cookie("sesame_refresh") != "" {
		t.Fatalf("Bob's token with Alice's ceremony: %d %s; want a 4xx and no session", r.Status, r.Body)
	}
}

func mustMFA(t *testing.T, e *testserver.Env, cl *scram.Client) string {
	t.Helper()
	tok, _ := passwordLogin(t, e, cl)
	return tok
}

func TestPasswordTarpit(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	s := e.SignIn(t, "alice@example.com")
	setPassword(t, e, s, "alice@example.com", testPassword)
	wrong, err := scram.SHA256.NewClient("alice@example.com", "not the password", "")
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		_, loginID, final := scramBegin(t, e, wrong)
		assertProblem(t, scramFinish(t, e, loginID, final), http.StatusUnauthorized, "invalid_credentials")
	}
	conv := wrong.NewConversation()
	first, _ := conv.Step("")
	r := e.Do(t, "POST", "/api/password/login/begin", map[string]string{"client_first": first})
	assertProblem(t, r, http.StatusTooManyRequests, "rate_limited")
	if r.Header.Get("Retry-After") != "30" {
		t.Errorf("Retry-After = %q; want 30", r.Header.Get("Retry-After"))
	}
	// A tarpit, not a lock: after the wait the right password works and
	// resets the count.
	e.Clock.Advance(31 * time.Second)
	right, _ := scram.SHA256.NewClient("alice@example.com", testPassword, "")
	passwordLogin(t, e, right)
	_, loginID, final := scramBegin(t, e, wrong)
	assertProblem(t, scramFinish(t, e, loginID, final), http.StatusUnauthorized, "invalid_credentials")
}
