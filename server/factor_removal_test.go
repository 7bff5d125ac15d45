package server_test

import (
	"net/http"
	"testing"

	"github.com/sesame-auth/sesame/internal/testauthn"
	"github.com/sesame-auth/sesame/internal/testserver"
)

// TestRemovingAPasskeyEndsOtherSessions: a removed passkey may be a lost
// one, so the sessions it could have opened end at once (SECURITY rule 32).
func TestRemovingAPasskeyEndsOtherSessions(t *testing.T) {
	e := testserver.New(t, testserver.Options{})
	_, a := testauthn.SignUp(t, e, "alice@example.com")
	stolen := testauthn.SignIn(t, e, a, "")
	owner := e.SignIn(t, "alice@example.com")
	cred := a.Credentials[0]
	if r := e.Do(t, "DELETE", "/api/me/credentials/"+cred.IDString(), nil, testserver.Bearer(owner.Access)); r.Status != http.StatusNoContent {
		t.Fatalf("remove passkey = %d %s", r.Status, r.Body)
	}
	assertProblem(t, refresh(e, t, stolen.Refresh), http.StatusUnauthorized, "unauthorized")
	testserver.SessionOf(t, refresh(e, t, owner.Refresh))
}
