package testauthn

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/sesame-auth/sesame/internal/testserver"
)

// Ceremony is a begin answer: {"ceremony_id", "publicKey"}.
type Ceremony struct {
	ID        string          `json:"ceremony_id"`
	PublicKey json.RawMessage `json:"publicKey"`
}

// Begin posts body to a begin endpoint and returns the ceremony, failing
// the test unless it answers 200.
func Begin(t testing.TB, e *testserver.Env, path string, body any, headers ...testserver.Header) Ceremony {
	t.Helper()
	r := e.Do(t, "POST", path, body, headers...)
	if r.Status != http.StatusOK {
		t.Fatalf("POST %s = %d %s; want 200", path, r.Status, r.Body)
	}
	var c Ceremony
	if err := json.Unmarshal(r.Body, &c); err != nil || c.ID == "" || len(c.PublicKey) == 0 {
		t.Fatalf("POST %s: %s is not a ceremony (%v)", path, r.Body, err)
	}
	return c
}

// Finish is the body of a finish endpoint.
func Finish(ceremonyID string, credential []byte) map[string]any {
	return map[string]any{"ceremony_id": ceremonyID, "credential": json.RawMessage(credential)}
}

// Register adds a new passkey from a to the user signed in with access,
// through /api/webauthn/register/begin and /finish, and returns it; the
// test fails unless the server answers 201.
func Register(t testing.TB, e *testserver.Env, a *Authenticator, access string) *Credential {
	t.Helper()
	c := Begin(t, e, "/api/webauthn/register/begin", map[string]any{}, testserver.Bearer(access))
	resp, err := a.Create(c.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	r := e.Do(t, "POST", "/api/webauthn/register/finish", Finish(c.ID, resp), testserver.Bearer(access))
	if r.Status != http.StatusCreated {
		t.Fatalf("register finish = %d %s; want 201", r.Status, r.Body)
	}
	return a.Credentials[len(a.Credentials)-1]
}

// SignIn signs in with a passkey from a through /api/webauthn/login/begin
// and /finish: discoverably when email is "", else email-first. The test
// fails unless a session comes back.
func SignIn(t testing.TB, e *testserver.Env, a *Authenticator, email string) testserver.Session {
	t.Helper()
	body := map[string]any{}
	if email != "" {
		body["email"] = email
	}
	c := Begin(t, e, "/api/webauthn/login/begin", body)
	resp, err := a.Get(c.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return testserver.SessionOf(t, e.Do(t, "POST", "/api/webauthn/login/finish", Finish(c.ID, resp)))
}

// SignUp creates an account for email by email code, adds a passkey from a
// new authenticator and returns the session and the authenticator.
func SignUp(t testing.TB, e *testserver.Env, email string) (testserver.Session, *Authenticator) {
	t.Helper()
	s := e.SignIn(t, email)
	a := New(e.PublicURL)
	Register(t, e, a, s.Access)
	return s, a
}
